//! The schema migrations of each backend, embedded in the binary (see
//! [`service_runtime::database::Migrations`]), and the outbox table they create. Add a migration
//! by adding a file and a line below.

use service_runtime::database::Migrations;
use service_runtime::outbox::OutboxConfig;

/// The tasks database's migrations.
pub(super) const MIGRATIONS: Migrations = Migrations {
    // sqlx's default name: databases created before services had their own tables keep working.
    table: "_sqlx_migrations",
    postgres: &[
        (1, "tasks", include_str!("../../migrations/postgres/0001_tasks.sql")),
        (2, "series occurrences", include_str!("../../migrations/postgres/0002_series_occurrences.sql")),
    ],
    sqlite: &[
        (1, "tasks", include_str!("../../migrations/sqlite/0001_tasks.sql")),
        (2, "series occurrences", include_str!("../../migrations/sqlite/0002_series_occurrences.sql")),
    ],
};

/// task-api's outbox: the `outbox` table (created by migration 1), notified on `task_outbox`,
/// published by the relay holding the advisory lock "tsoutbox" (in ASCII). The names and the key
/// are those of databases already deployed: changing them would orphan their pending rows or let
/// an old and a new replica publish at once.
pub const OUTBOX: OutboxConfig = OutboxConfig::new("outbox", "task_outbox", 0x7473_6f75_7462_6f78);

#[cfg(test)]
mod tests {
    use service_runtime::database::Backend;
    use service_runtime::outbox::migration_creates;

    use super::*;

    #[test]
    fn the_migrations_create_the_outbox_table_the_shared_relay_reads_on_both_backends() {
        for (backend, files) in [(Backend::Postgres, MIGRATIONS.postgres), (Backend::Sqlite, MIGRATIONS.sqlite)] {
            let schema: String = files.iter().map(|(_, _, sql)| *sql).collect();

            assert!(migration_creates(&schema, backend, &OUTBOX), "{backend:?}: the outbox table's shape changed");
        }
    }
}
