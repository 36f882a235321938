//! What a pooled connection cannot be left holding: a transaction after a cancelled `begin`, a
//! lock wait or a statement beyond the session limits; and SQLite writers that queue without
//! starving readers.

use std::time::Duration;

use service_runtime::database::{DatabaseSettings, Pool, Sql, is_transient};
use sqlx::Connection as _;

use crate::helpers::{NONE, TestDb, admin_url};

/// The sessions of `database` that are inside a transaction with nothing running.
async fn idle_in_transaction(database: &str) -> i64 {
    let mut admin = sqlx::PgConnection::connect(&admin_url()).await.expect("admin connection");
    let count = sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 \
         AND state IN ('idle in transaction', 'idle in transaction (aborted)')",
    )
    .bind(database)
    .fetch_one(&mut admin)
    .await
    .expect("pg_stat_activity");
    let _ = admin.close().await;
    count
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_begin_dropped_while_begin_is_on_the_wire_leaves_no_transaction_open_on_a_pooled_connection() {
    let db = TestDb::postgres().await;
    let name = db.url.rsplit('/').next().expect("database name").to_owned();
    let url = service_runtime::testing::slow_postgres_proxy(&db.url, Duration::from_millis(200)).await.expect("proxy");
    let settings = DatabaseSettings { url, max_connections: 2, ..Default::default() };
    let pool = Pool::connect(&settings, &NONE).await.expect("connect");

    // Taking a pooled connection costs one delayed round trip (sqlx pings it), BEGIN another:
    // dropped after one and a half, `begin` is always waiting for BEGIN's answer.
    for _ in 0..3 {
        let begin = tokio::time::timeout(Duration::from_millis(300), pool.begin()).await;
        assert!(begin.is_err(), "BEGIN's answer is held back for longer than the caller waits");
    }
    // Once every connection is back in the pool, the abandoned BEGINs have been answered and
    // what they left behind is final: a leaked transaction would stay open until
    // idle_in_transaction_session_timeout (60 s); a rollback in flight ends within a delay.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let pg = pool.as_postgres().expect("a PostgreSQL pool");
    while pg.num_idle() < pg.size() as usize && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(pg.num_idle(), pg.size() as usize, "every connection came back to the pool");
    let mut open = idle_in_transaction(&name).await;
    while open > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        open = idle_in_transaction(&name).await;
    }

    assert_eq!(open, 0, "sessions left idle in a transaction");
    pool.close().await;
    db.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statement_waiting_on_a_lock_fails_transiently_after_the_lock_timeout() {
    let db = TestDb::postgres().await;
    let settings = DatabaseSettings { url: db.url.clone(), lock_timeout_ms: 200, ..Default::default() };
    let pool = Pool::connect(&settings, &NONE).await.expect("connect");
    pool.execute(Sql::new(pool.backend(), "CREATE TABLE held (id INT PRIMARY KEY)")).await.expect("table");
    pool.execute(Sql::new(pool.backend(), "INSERT INTO held VALUES (1)")).await.expect("row");
    let mut holder = pool.begin().await.expect("begin");
    holder.execute(Sql::new(pool.backend(), "SELECT id FROM held FOR UPDATE")).await.expect("lock the row");

    let waited = tokio::time::timeout(
        Duration::from_secs(10),
        pool.execute(Sql::new(pool.backend(), "UPDATE held SET id = 2 WHERE id = 1")),
    )
    .await
    .expect("the lock wait ends long before the test's deadline");

    let error = waited.expect_err("the lock was never granted");
    assert!(is_transient(&error), "{error:?}");
    let code = error.as_database_error().and_then(|e| e.code()).map(|c| c.into_owned());
    assert_eq!(code.as_deref(), Some("55P03"), "lock_not_available");
    holder.rollback().await.expect("rollback");
    pool.close().await;
    db.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statement_running_past_the_statement_timeout_is_cancelled_transiently() {
    let db = TestDb::postgres().await;
    let settings = DatabaseSettings { url: db.url.clone(), statement_timeout_ms: 200, ..Default::default() };
    let pool = Pool::connect(&settings, &NONE).await.expect("connect");

    let error = pool.execute(Sql::new(pool.backend(), "SELECT pg_sleep(5)")).await.expect_err("cancelled");

    assert!(is_transient(&error), "{error:?}");
    let code = error.as_database_error().and_then(|e| e.code()).map(|c| c.into_owned());
    assert_eq!(code.as_deref(), Some("57014"), "query_canceled");
    pool.close().await;
    db.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_writers_queue_for_the_writer_while_reads_keep_being_answered() {
    let db = TestDb::sqlite();
    let settings = DatabaseSettings { url: db.url.clone(), max_connections: 2, ..Default::default() };
    let pool = Pool::connect(&settings, &NONE).await.expect("connect");
    pool.execute(Sql::new(pool.backend(), "CREATE TABLE items (n INTEGER NOT NULL)")).await.expect("table");
    let mut first = pool.begin().await.expect("the first writer");
    first.execute(Sql::new(pool.backend(), "INSERT INTO items VALUES (0)")).await.expect("insert");
    // More writers than the pool has connections, all waiting for `first`.
    let writers: Vec<_> = (1..=8)
        .map(|n| {
            let pool = pool.clone();
            tokio::spawn(async move {
                let mut tx = pool.begin().await?;
                let mut insert = Sql::new(pool.backend(), "INSERT INTO items VALUES (");
                insert.bind(service_runtime::database::Arg::Int(n)).push(")");
                tx.execute(insert).await?;
                tx.commit().await
            })
        })
        .collect();
    tokio::task::yield_now().await;

    // Waiting writers hold no reader connection: a read is answered while they queue (before
    // the queue, each waited in SQLite's busy handler on a pooled connection, and a read
    // found none free for the 5 s acquire timeout).
    let read =
        tokio::time::timeout(Duration::from_secs(3), pool.fetch_all(Sql::new(pool.backend(), "SELECT n FROM items")))
            .await
            .expect("a read is answered while writers queue")
            .expect("read");
    assert!(read.is_empty(), "the open transaction's row is not visible yet");
    first.commit().await.expect("commit");
    for writer in writers {
        writer.await.expect("no panic").expect("every queued write commits, none fails busy");
    }
    let rows = pool.fetch_all(Sql::new(pool.backend(), "SELECT n FROM items")).await.expect("read");
    assert_eq!(rows.len(), 9);
    pool.close().await;
}
