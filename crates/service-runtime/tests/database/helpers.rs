//! A fresh database per test, of either backend.

use service_runtime::database::{DatabaseSettings, Migrations, Pool};
use sqlx::Connection as _;

/// The PostgreSQL server of the tests (TCP, trust authentication).
pub(crate) fn admin_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// No migrations: a table `_runtime_test_migrations` and nothing else.
pub(crate) const NONE: Migrations = Migrations { table: "_runtime_test_migrations", postgres: &[], sqlite: &[] };

/// A test database, dropped (PostgreSQL) or deleted (SQLite) with this value.
pub(crate) struct TestDb {
    /// Its URL.
    pub(crate) url: String,
    name: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    /// An empty PostgreSQL database of its own.
    pub(crate) async fn postgres() -> Self {
        let url = service_runtime::testing::fresh_postgres_database(&admin_url(), "runtime_test")
            .await
            .expect("PostgreSQL on DATABASE_URL");
        let name = url.rsplit('/').next().map(str::to_owned);
        Self { url, name, _dir: None }
    }

    /// An empty SQLite file in a temporary directory.
    pub(crate) fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = format!("sqlite://{}", dir.path().join("test.db").display());
        Self { url, name: None, _dir: Some(dir) }
    }

    /// A pool on it, migrated with `migrations`.
    pub(crate) async fn pool(&self, migrations: &Migrations) -> Result<Pool, sqlx::Error> {
        Pool::connect(&DatabaseSettings { url: self.url.clone(), max_connections: 4, ..Default::default() }, migrations)
            .await
    }

    /// Drops the PostgreSQL database (best effort: a leftover one is harmless).
    pub(crate) async fn drop_database(self) {
        let Some(name) = &self.name else { return };
        if let Ok(mut admin) = sqlx::PgConnection::connect(&admin_url()).await {
            let _ = sqlx::query(&format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#)).execute(&mut admin).await;
            let _ = admin.close().await;
        }
    }
}

/// For each `async fn name(db: TestDb)`, a module `name` with the tests `postgres` and `sqlite`.
macro_rules! on_both_backends {
    ($($test:ident),+ $(,)?) => {$(
        mod $test {
            #[tokio::test]
            async fn postgres() {
                super::$test(crate::helpers::TestDb::postgres().await).await;
            }

            #[tokio::test]
            async fn sqlite() {
                super::$test(crate::helpers::TestDb::sqlite()).await;
            }
        }
    )+};
}
pub(crate) use on_both_backends;
