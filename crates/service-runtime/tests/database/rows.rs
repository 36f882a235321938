//! `Row` getters and the `fetch_*` / `rollback` of `Pool` and `Tx`, on both backends.

use chrono::{DateTime, Utc};
use serde_json::json;
use service_runtime::database::{Arg, Backend, Migrations, Pool, Sql};
use uuid::Uuid;

use crate::helpers::{TestDb, on_both_backends};

/// One column per stored type; `big` is the key.
const TYPES: Migrations = Migrations {
    table: "_runtime_test_migrations",
    postgres: &[(
        1,
        "types",
        "CREATE TABLE types (small SMALLINT, int INTEGER, big BIGINT PRIMARY KEY, t TEXT, u UUID, b BYTEA, \
         j JSONB, jt TEXT, at TIMESTAMPTZ, flag BOOLEAN)",
    )],
    sqlite: &[(
        1,
        "types",
        "CREATE TABLE types (small INTEGER, int INTEGER, big INTEGER PRIMARY KEY, t TEXT, u BLOB, b BLOB, \
         j TEXT, jt TEXT, at INTEGER, flag INTEGER)",
    )],
};

fn instant() -> DateTime<Utc> {
    DateTime::from_timestamp_micros(1_767_225_600_123_456).expect("a valid instant")
}

async fn insert(pool: &Pool, big: i64, full: bool) {
    let mut sql = Sql::new(pool.backend(), "INSERT INTO types (small, int, big, t, u, b, j, jt, at, flag) VALUES ");
    let value = json!({"a": [1, "two"]});
    sql.bind_list(if full {
        [
            Arg::Int(-7),
            Arg::Int(70_000),
            Arg::Int(big),
            Arg::OptText(Some("héllo".into())),
            Arg::OptUuid(Some(Uuid::from_u128(42))),
            Arg::Bytes(vec![0, 1, 255]),
            Arg::Json(value.clone()),
            Arg::OptText(Some(value.to_string())),
            Arg::OptTime(Some(instant())),
            Arg::Bool(true),
        ]
    } else {
        [
            Arg::OptInt(None),
            Arg::OptInt(None),
            Arg::Int(big),
            Arg::OptText(None),
            Arg::OptUuid(None),
            Arg::Bytes(Vec::new()),
            Arg::Json(json!(null)),
            Arg::OptText(None),
            Arg::OptTime(None),
            Arg::Bool(false),
        ]
    });
    pool.execute(sql).await.expect("insert");
}

fn select(backend: Backend, big: i64) -> Sql {
    let mut sql = Sql::new(backend, "SELECT * FROM types WHERE big = ");
    sql.bind(Arg::Int(big));
    sql
}

async fn every_getter_reads_back_what_arg_wrote(db: TestDb) {
    let pool = db.pool(&TYPES).await.expect("connect");
    insert(&pool, 1 << 40, true).await;

    let row = pool.fetch_one(select(pool.backend(), 1 << 40)).await.expect("the row");

    assert_eq!(row.i64("small").expect("small"), -7);
    assert_eq!(row.i64("int").expect("int"), 70_000);
    assert_eq!(row.int::<i32>("int").expect("int as i32"), 70_000);
    assert!(row.int::<i16>("int").is_err(), "70,000 does not fit an i16");
    assert_eq!(row.i64("big").expect("big"), 1 << 40);
    assert_eq!(row.text("t").expect("t"), "héllo");
    assert_eq!(row.uuid("u").expect("u"), Uuid::from_u128(42));
    assert_eq!(row.bytes("b").expect("b"), vec![0, 1, 255]);
    assert_eq!(row.json("j").expect("j"), json!({"a": [1, "two"]}));
    assert_eq!(row.json("jt").expect("jt"), json!({"a": [1, "two"]}));
    assert_eq!(row.instant("at").expect("at"), instant());
    assert!(row.bool("flag").expect("flag"));
    pool.close().await;
    db.drop_database().await;
}

async fn nulls_are_none_for_opt_getters_and_an_error_naming_the_column_otherwise(db: TestDb) {
    let pool = db.pool(&TYPES).await.expect("connect");
    insert(&pool, 2, false).await;

    let row = pool.fetch_one(select(pool.backend(), 2)).await.expect("the row");

    assert_eq!(row.opt_i64("small").expect("small"), None);
    assert_eq!(row.opt_i64("int").expect("int"), None);
    assert_eq!(row.opt_text("t").expect("t"), None);
    assert_eq!(row.opt_uuid("u").expect("u"), None);
    assert_eq!(row.opt_json("jt").expect("jt"), None);
    assert_eq!(row.opt_instant("at").expect("at"), None);
    let error = row.instant("at").expect_err("NULL is no instant").to_string();
    assert!(error.contains("\"at\""), "{error}");
    let error = row.text("t").expect_err("NULL is no text").to_string();
    assert!(error.contains("\"t\""), "{error}");
    pool.close().await;
    db.drop_database().await;
}

async fn fetch_optional_finds_nothing_and_fetch_one_says_row_not_found(db: TestDb) {
    let pool = db.pool(&TYPES).await.expect("connect");

    assert!(pool.fetch_optional(select(pool.backend(), 3)).await.expect("query").is_none());
    assert!(matches!(pool.fetch_one(select(pool.backend(), 3)).await, Err(sqlx::Error::RowNotFound)));
    assert!(pool.fetch_all(select(pool.backend(), 3)).await.expect("query").is_empty());
    pool.close().await;
    db.drop_database().await;
}

async fn a_transaction_sees_its_own_rows_and_a_rollback_discards_them(db: TestDb) {
    let pool = db.pool(&TYPES).await.expect("connect");
    let mut tx = pool.begin().await.expect("begin");
    let mut sql = Sql::new(tx.backend(), "INSERT INTO types (big, flag) VALUES ");
    sql.bind_list([Arg::Int(4), Arg::Bool(true)]);
    tx.execute(sql).await.expect("insert");

    let inside = tx.fetch_all(select(tx.backend(), 4)).await.expect("read in the transaction");
    tx.rollback().await.expect("rollback");

    assert_eq!(inside.len(), 1);
    assert!(pool.fetch_optional(select(pool.backend(), 4)).await.expect("read").is_none());
    pool.close().await;
    db.drop_database().await;
}

on_both_backends!(
    every_getter_reads_back_what_arg_wrote,
    nulls_are_none_for_opt_getters_and_an_error_naming_the_column_otherwise,
    fetch_optional_finds_nothing_and_fetch_one_says_row_not_found,
    a_transaction_sees_its_own_rows_and_a_rollback_discards_them,
);
