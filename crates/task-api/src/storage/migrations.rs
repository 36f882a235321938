//! The schema migrations of each backend, embedded in the binary.
//!
//! `sqlx::migrate!` needs sqlx's `macros` feature, which the workspace leaves off (no query
//! macros, so no database is needed at build time); the files are embedded with
//! `include_str!` instead. Versions, descriptions and checksums are the ones `migrate!`
//! would compute from the file names and contents, so switching to it later is seamless.
//! Add a migration by adding a file and a line below.

use sqlx::SqlSafeStr as _;
use sqlx::migrate::{Migration, MigrationType, Migrator};

/// `(version, description, SQL)` per file of `migrations/postgres`.
const POSTGRES: &[(i64, &str, &str)] = &[(1, "tasks", include_str!("../../migrations/postgres/0001_tasks.sql"))];

/// `(version, description, SQL)` per file of `migrations/sqlite`.
const SQLITE: &[(i64, &str, &str)] = &[(1, "tasks", include_str!("../../migrations/sqlite/0001_tasks.sql"))];

/// The PostgreSQL migrations.
pub(super) fn postgres() -> Migrator {
    migrator(POSTGRES)
}

/// The SQLite migrations.
pub(super) fn sqlite() -> Migrator {
    migrator(SQLITE)
}

fn migrator(files: &'static [(i64, &'static str, &'static str)]) -> Migrator {
    Migrator::with_migrations(
        files
            .iter()
            .map(|&(version, description, sql)| {
                Migration::new(version, description.into(), MigrationType::Simple, sql.into_sql_str(), false)
            })
            .collect(),
    )
}
