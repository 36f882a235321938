//! Shared test plumbing: a fresh database per test on either backend, task builders, listing
//! shortcuts, deadline-bounded polling.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use chrono::{DateTime, SubsecRound as _, Utc};
use futures::FutureExt as _;
use serde_json::Value;
use service_runtime::outbox::{Outbox, OutboxEvent};
use sqlx::{Connection as _, PgConnection};
use task_api::api::FromJson as _;
use task_api::storage::{Backend, DatabaseSettings, ListQuery, OUTBOX, Store};
use task_domain::{NewTask, Task, TaskPatch};
use uuid::Uuid;

/// Generates, for each `async fn name(store: Store)`, a module `name` with the tests
/// `postgres` and `sqlite`, each running it against a fresh database of that backend.
macro_rules! on_both_backends {
    ($($test:ident),+ $(,)?) => {$(
        mod $test {
            #[tokio::test]
            async fn postgres() {
                $crate::helpers::on_postgres(super::$test).await;
            }

            #[tokio::test]
            async fn sqlite() {
                $crate::helpers::on_sqlite(super::$test).await;
            }
        }
    )+};
}
pub(crate) use on_both_backends;

/// The server used for test databases.
pub(crate) fn admin_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// Runs `test` against a store on a new PostgreSQL database, dropped afterwards (also when
/// the test fails).
pub(crate) async fn on_postgres<F, Fut>(test: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()>,
{
    let admin_url = admin_url();
    let url =
        service_runtime::testing::fresh_postgres_database(&admin_url, "test").await.expect("create the test database");
    let name = url.rsplit('/').next().unwrap_or_default().split('?').next().unwrap_or_default().to_owned();
    let mut admin = PgConnection::connect(&admin_url).await.expect("connect to the PostgreSQL test server");
    let settings = DatabaseSettings { url, max_connections: 10, ..Default::default() };
    let store = Store::connect(&settings).await.expect("connect the store");
    assert_eq!(store.backend(), Backend::Postgres);

    let outcome = AssertUnwindSafe(test(store.clone())).catch_unwind().await;

    store.close().await;
    // Best effort: a leftover test database is harmless.
    let _ = sqlx::query(&format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#)).execute(&mut admin).await;
    let _ = admin.close().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// Runs `test` against a store on a new SQLite file in a temporary directory (in a
/// subdirectory that does not exist yet, as on a first start).
pub(crate) async fn on_sqlite<F, Fut>(test: F)
where
    F: FnOnce(Store) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("data").join("tasks.db");
    let settings =
        DatabaseSettings { url: format!("sqlite://{}", path.display()), max_connections: 10, ..Default::default() };
    let store = Store::connect(&settings).await.expect("connect the store");
    assert_eq!(store.backend(), Backend::Sqlite);

    let outcome = AssertUnwindSafe(test(store.clone())).catch_unwind().await;

    store.close().await;
    drop(dir);
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// An instant from RFC 3339.
pub(crate) fn at(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339).expect("RFC 3339 instant").to_utc()
}

/// The clock of the tests' tasks (with microseconds, which must survive storage).
pub(crate) fn now() -> DateTime<Utc> {
    at("2026-02-01T12:00:00.654321Z")
}

/// The current time as storage keeps it.
pub(crate) fn wall_clock() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// A task of `owner` created at `created_at` from a `POST` body.
pub(crate) fn task_at(owner: &str, body: &Value, created_at: DateTime<Utc>) -> Task {
    Task::create(NewTask::from_json(body).expect("valid task body"), owner, created_at)
}

/// A task of `owner` created at [`now`] from a `POST` body.
pub(crate) fn task(owner: &str, body: &Value) -> Task {
    task_at(owner, body, now())
}

/// `task` changed by a `PATCH` body at `when`.
pub(crate) fn patched(task: &Task, body: &Value, when: DateTime<Utc>) -> Task {
    let mut next = task.clone();
    let changes = next.apply(TaskPatch::from_json(body).expect("valid patch"), when).expect("applicable patch");
    assert!(!changes.is_empty(), "the patch must change something");
    next
}

/// Stores the tasks, in one committed transaction.
pub(crate) async fn insert(store: &Store, tasks: &[Task]) {
    let mut tx = store.begin().await.expect("begin");
    for task in tasks {
        tx.insert_task(task).await.expect("insert task");
    }
    tx.commit().await.expect("commit");
}

/// An outbox event for task `key`, numbered `n` in its payload.
pub(crate) fn event(key: &str, n: usize) -> OutboxEvent {
    OutboxEvent {
        event_id: Uuid::now_v7(),
        event_type: "task.updated".to_owned(),
        topic: "taskstream.task-events.v1".to_owned(),
        key: key.to_owned(),
        payload: format!(r#"{{"n":{n}}}"#).into_bytes(),
        headers: vec![("ce_type".to_owned(), "task.updated".to_owned()), ("n".to_owned(), n.to_string())],
    }
}

/// Enqueues `events` in one committed transaction.
pub(crate) async fn enqueue(store: &Store, events: &[OutboxEvent]) {
    let mut tx = store.begin().await.expect("begin");
    tx.enqueue(events).await.expect("enqueue");
    tx.commit().await.expect("commit");
}

/// task-api's outbox in the store's database, as the relay reads it.
pub(crate) fn outbox(store: &Store) -> Outbox {
    Outbox::new(store.pool().clone(), OUTBOX)
}

/// A query for everything on one page of 200, sorted by id.
pub(crate) fn everything() -> ListQuery {
    ListQuery { limit: 200, ..ListQuery::default() }
}

/// The titles of the first page `query` lists for `owner`.
pub(crate) async fn titles(store: &Store, owner: &str, query: &ListQuery) -> Vec<String> {
    let page = store.list(owner, query).await.expect("list");
    page.items.iter().map(|t| t.title().as_str().to_owned()).collect()
}

/// Every page of `query`, following the cursors to the end: the ids of each page.
pub(crate) async fn all_pages(store: &Store, owner: &str, query: &ListQuery) -> Vec<Vec<Uuid>> {
    let mut query = query.clone();
    let mut pages = Vec::new();
    loop {
        let page = store.list(owner, &query).await.expect("list a page");
        pages.push(page.items.iter().map(Task::id).collect());
        match page.next_cursor {
            // Through the wire form, as a client would send it back.
            Some(cursor) => {
                query.cursor = Some(task_api::storage::Cursor::decode(&cursor.encode()).expect("own cursor"));
            }
            None => return pages,
        }
        assert!(pages.len() <= 100, "the cursors never end");
    }
}

/// Polls `condition` until it holds, failing after ten seconds.
pub(crate) async fn eventually<F, Fut>(what: &str, condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    service_runtime::testing::eventually(Duration::from_secs(10), what, condition).await;
}

/// Waits until some session of the test database is blocked on a lock (PostgreSQL only):
/// proof that a concurrent transaction is queued behind the caller's.
pub(crate) async fn until_a_session_waits_for_a_lock(store: &Store) {
    let pool = store.pool().as_postgres().expect("PostgreSQL").clone();
    eventually("another session waits for a lock", || {
        let pool = pool.clone();
        async move {
            let waiting: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
            )
            .fetch_one(&pool)
            .await
            .expect("read pg_stat_activity");
            waiting > 0
        }
    })
    .await;
}
