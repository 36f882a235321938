//! The migration runner: once per version, a table per service, changed files refused, and no
//! default database.

use service_runtime::database::{Arg, DatabaseSettings, Migrations, Pool, Sql};

use crate::helpers::{TestDb, on_both_backends};

const TASKS: Migrations = Migrations {
    table: "_tasks_test_migrations",
    postgres: &[(1, "one", "CREATE TABLE one (n BIGINT); INSERT INTO one VALUES (1);")],
    sqlite: &[(1, "one", "CREATE TABLE one (n INTEGER); INSERT INTO one VALUES (1);")],
};

/// Another service's migrations, also numbered from 1, in the same database.
const OTHER: Migrations = Migrations {
    table: "_other_test_migrations",
    postgres: &[(1, "two", "CREATE TABLE two (n BIGINT)")],
    sqlite: &[(1, "two", "CREATE TABLE two (n INTEGER)")],
};

/// [`TASKS`] with its first file changed after it ran.
const CHANGED: Migrations = Migrations {
    table: "_tasks_test_migrations",
    postgres: &[(1, "one", "CREATE TABLE one (n BIGINT);")],
    sqlite: &[(1, "one", "CREATE TABLE one (n INTEGER);")],
};

async fn count(pool: &Pool, table: &str) -> i64 {
    let sql = Sql::new(pool.backend(), &format!("SELECT COUNT(*) AS n FROM {table}"));
    pool.fetch_one(sql).await.expect("count").i64("n").expect("n")
}

async fn migrations_run_once_each_service_in_its_own_table(db: TestDb) {
    let first = db.pool(&TASKS).await.expect("first start");
    first.close().await;

    let again = db.pool(&TASKS).await.expect("second start");
    let other = db.pool(&OTHER).await.expect("another service on the same database");

    assert_eq!(count(&again, "one").await, 1, "the migration ran once");
    assert_eq!(count(&again, "_tasks_test_migrations").await, 1);
    assert_eq!(count(&other, "_other_test_migrations").await, 1);
    let mut sql = Sql::new(again.backend(), "SELECT description FROM _other_test_migrations WHERE version = ");
    sql.bind(Arg::Int(1));
    assert_eq!(again.fetch_one(sql).await.expect("row").text("description").expect("text"), "two");
    again.close().await;
    other.close().await;
    db.drop_database().await;
}

async fn a_migration_changed_after_it_ran_is_refused(db: TestDb) {
    db.pool(&TASKS).await.expect("first start").close().await;

    let error = db.pool(&CHANGED).await.expect_err("a changed migration");

    assert!(
        matches!(&error, sqlx::Error::Migrate(e) if matches!(**e, sqlx::migrate::MigrateError::VersionMismatch(1))),
        "{error:?}"
    );
    db.drop_database().await;
}

#[tokio::test]
async fn a_missing_database_url_is_refused_naming_the_setting() {
    let error = Pool::connect(&DatabaseSettings::default(), &TASKS).await.expect_err("no URL");

    assert!(error.to_string().contains("database.url"), "{error}");
}

on_both_backends!(migrations_run_once_each_service_in_its_own_table, a_migration_changed_after_it_ran_is_refused);
