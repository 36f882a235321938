//! [`Migrations`]: a service's embedded migrations, and the runner that applies them.
//!
//! sqlx 0.8's migrator always records into `_sqlx_migrations`; services that share a database
//! need a table each (each numbers its migrations from 1), so the runner is ours. It keeps
//! sqlx's table layout and checksums (SHA-384 of the file), so a database migrated by sqlx's
//! own migrator (0.9 with a table name of our choosing) and one migrated here are
//! interchangeable.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use sqlx::migrate::{MigrateError, Migration, MigrationType};

use super::pool::{Backend, Pool};
use super::sql::{Arg, Sql};
use super::tx::Tx;

/// A service's migrations: `(version, description, SQL)` per file, for each backend.
///
/// `sqlx::migrate!` needs sqlx's `macros` feature, which the workspace leaves off; embed the
/// files with `include_str!` instead. Versions, descriptions and checksums are the ones
/// `migrate!` would compute from the file names and contents.
#[derive(Debug, Clone, Copy)]
pub struct Migrations {
    /// The table that records which migrations ran. Each service has its own, so that
    /// services may share one database (each numbers its migrations from 1). A fixed
    /// identifier written in the source (it is spliced into SQL).
    pub table: &'static str,
    /// The files of `migrations/postgres`.
    pub postgres: &'static [(i64, &'static str, &'static str)],
    /// The files of `migrations/sqlite`.
    pub sqlite: &'static [(i64, &'static str, &'static str)],
}

impl Migrations {
    /// Applies the migrations not yet recorded in [`Migrations::table`], in version order, in
    /// one transaction. Fails without applying anything when a recorded migration is unknown,
    /// was changed since it ran (checksum), or failed halfway (sqlx's "dirty" flag).
    ///
    /// Concurrent runners (replicas starting together) queue: PostgreSQL on an advisory lock
    /// named after the table, SQLite on the write lock [`Pool::begin`] takes.
    ///
    /// On PostgreSQL the transaction runs under `statement_timeout` (`None`: no limit) instead
    /// of the sessions' shorter one: a migration may rebuild a large table. Lock waits keep the
    /// sessions' `lock_timeout`, so a migration never queues every other query behind a lock
    /// it cannot get (it fails, transiently, and start-up retries it).
    pub(super) async fn run(&self, pool: &Pool, statement_timeout: Option<Duration>) -> Result<(), sqlx::Error> {
        let backend = pool.backend();
        let files = match backend {
            Backend::Postgres => self.postgres,
            Backend::Sqlite => self.sqlite,
        };
        let mut tx = pool.begin().await?;
        if backend == Backend::Postgres {
            // SET takes no bind parameters; the value is a number formatted here.
            let ms = statement_timeout.map_or(0, |t| t.as_millis());
            tx.execute(Sql::new(backend, &format!("SET LOCAL statement_timeout = {ms}"))).await?;
            let mut lock = Sql::new(backend, "SELECT pg_advisory_xact_lock(");
            lock.bind(Arg::Int(lock_key(self.table))).push(")");
            tx.execute(lock).await?;
        }
        let (installed_on, checksum) = match backend {
            Backend::Postgres => ("TIMESTAMPTZ NOT NULL DEFAULT now()", "BYTEA"),
            Backend::Sqlite => ("TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP", "BLOB"),
        };
        let table = self.table;
        tx.execute(Sql::new(
            backend,
            &format!(
                "CREATE TABLE IF NOT EXISTS {table} (version BIGINT PRIMARY KEY, description TEXT NOT NULL, \
                 installed_on {installed_on}, success BOOLEAN NOT NULL, checksum {checksum} NOT NULL, \
                 execution_time BIGINT NOT NULL)"
            ),
        ))
        .await?;
        let known: BTreeMap<i64, Migration> = files
            .iter()
            .map(|&(version, description, sql)| {
                (version, Migration::new(version, description.into(), MigrationType::Simple, sql.into(), false))
            })
            .collect();
        let mut applied = BTreeMap::new();
        let select = Sql::new(backend, &format!("SELECT version, success, checksum FROM {table} ORDER BY version"));
        for row in tx.fetch_all(select).await? {
            let version = row.i64("version")?;
            if !row.bool("success")? {
                return Err(migrate_error(MigrateError::Dirty(version)));
            }
            let Some(migration) = known.get(&version) else {
                return Err(migrate_error(MigrateError::VersionMissing(version)));
            };
            if *migration.checksum != row.bytes("checksum")? {
                return Err(migrate_error(MigrateError::VersionMismatch(version)));
            }
            applied.insert(version, ());
        }
        for (version, migration) in known.iter().filter(|(v, _)| !applied.contains_key(*v)) {
            let started = Instant::now();
            apply(&mut tx, &migration.sql).await?;
            let mut record = Sql::new(
                backend,
                &format!("INSERT INTO {table} (version, description, success, checksum, execution_time) VALUES "),
            );
            record.bind_list([
                Arg::Int(*version),
                Arg::Text(migration.description.to_string()),
                Arg::Bool(true),
                Arg::Bytes(migration.checksum.to_vec()),
                Arg::Int(i64::try_from(started.elapsed().as_nanos()).unwrap_or(i64::MAX)),
            ]);
            tx.execute(record).await?;
            tracing::info!(table, version, description = %migration.description, "migration applied");
        }
        tx.commit().await
    }
}

/// Runs a migration file: several statements, so through the simple query protocol.
async fn apply(tx: &mut Tx, sql: &str) -> Result<(), sqlx::Error> {
    match tx {
        Tx::Postgres(tx) => sqlx::raw_sql(sql).execute(&mut **tx).await.map(drop),
        Tx::Sqlite(tx) => sqlx::raw_sql(sql).execute(&mut **tx).await.map(drop),
    }
}

fn migrate_error(error: MigrateError) -> sqlx::Error {
    sqlx::Error::Migrate(Box::new(error))
}

/// The PostgreSQL advisory lock key of a migrations table: FNV-1a of its name, so services
/// sharing a database migrate their own tables independently.
fn lock_key(table: &str) -> i64 {
    let hash = table
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3));
    i64::from_ne_bytes(hash.to_ne_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_migrations_table_has_its_own_stable_lock_key() {
        assert_eq!(lock_key("_audit_migrations"), lock_key("_audit_migrations"));
        assert_ne!(lock_key("_audit_migrations"), lock_key("_sqlx_migrations"));
    }
}
