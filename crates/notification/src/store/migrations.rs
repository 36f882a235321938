//! The schema migrations of each backend, embedded in the binary (see
//! [`service_runtime::database::Migrations`]), and the outbox table they create. Migrations
//! 0001–0099 are the schedule's, 0100 on the channels' (`crate::channels`, `crate::endpoints`).

use service_runtime::database::Migrations;
use service_runtime::outbox::OutboxConfig;

use crate::endpoints::{MIGRATIONS_POSTGRES, MIGRATIONS_SQLITE};

/// The notification database's migrations, recorded in their own table so that the service
/// may share a database with others.
pub const MIGRATIONS: Migrations = Migrations {
    table: "_notification_migrations",
    postgres: &[(1, "schedule", include_str!("../../migrations/postgres/0001_schedule.sql")), MIGRATIONS_POSTGRES[0]],
    sqlite: &[(1, "schedule", include_str!("../../migrations/sqlite/0001_schedule.sql")), MIGRATIONS_SQLITE[0]],
};

/// The outbox of `reminder.sent`: table `notification_outbox` (migration 1), notified on
/// `notification_outbox`, published by the relay holding the advisory lock "ntoutbox".
pub const OUTBOX: OutboxConfig = OutboxConfig::new("notification_outbox", "notification_outbox", 0x6e74_6f75_7462_6f78);

#[cfg(test)]
mod tests {
    use service_runtime::database::Backend;
    use service_runtime::outbox::migration_creates;

    use super::*;

    #[test]
    fn the_service_runs_every_migration_of_the_channels_after_its_own() {
        assert!(MIGRATIONS.postgres.ends_with(&MIGRATIONS_POSTGRES), "add the new channel migration here");
        assert!(MIGRATIONS.sqlite.ends_with(&MIGRATIONS_SQLITE), "add the new channel migration here");
    }

    #[test]
    fn the_migrations_create_the_outbox_table_the_shared_relay_reads_on_both_backends() {
        for (backend, files) in [(Backend::Postgres, MIGRATIONS.postgres), (Backend::Sqlite, MIGRATIONS.sqlite)] {
            let schema: String = files.iter().map(|(_, _, sql)| *sql).collect();

            assert!(migration_creates(&schema, backend, &OUTBOX), "{backend:?}: the outbox table's shape changed");
        }
    }
}
