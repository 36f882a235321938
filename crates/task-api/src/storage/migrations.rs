//! The schema migrations of each backend, embedded in the binary (see
//! [`service_runtime::database::Migrations`]). Add a migration by adding a file and a line below.

use service_runtime::database::Migrations;

/// The tasks database's migrations.
pub(super) const MIGRATIONS: Migrations = Migrations {
    // sqlx's default name: databases created before services had their own tables keep working.
    table: "_sqlx_migrations",
    postgres: &[(1, "tasks", include_str!("../../migrations/postgres/0001_tasks.sql"))],
    sqlite: &[(1, "tasks", include_str!("../../migrations/sqlite/0001_tasks.sql"))],
};
