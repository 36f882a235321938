//! Clients that go away mid-request, or are cut off by the request timeout, leave no
//! transaction open and no event unpublished, and the service still stops promptly.
//!
//! Deterministic cancellation: the service talks to PostgreSQL through a proxy that holds every
//! reply back for 40 ms, and its request timeout is 100 ms, so every write is cut off somewhere
//! in its conversation with the database (BEGIN included) on top of what the clients do.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use sqlx::Connection as _;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::helpers::*;

const CLIENTS: usize = 200;
const BODY: &[u8] = br#"{"title":"written by a client that went away"}"#;
/// How long the effects may take to settle (every abandoned write finishing, the relay
/// publishing); the test polls and moves on as soon as they have.
const PATIENCE: Duration = Duration::from_secs(30);

/// Where a client hangs up.
#[derive(Debug, Clone, Copy)]
enum HangUp {
    /// Half way through the body.
    MidBody,
    /// Right after the last byte of the request.
    AfterSending,
    /// A while after sending (while the write runs).
    AfterWaiting(Duration),
    /// Once the first bytes of the response arrived.
    MidResponse,
}

async fn client(port: u16, token: String, hang_up: HangUp) {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)).await else { return };
    let head = format!(
        "POST /v1/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        BODY.len()
    );
    if stream.write_all(head.as_bytes()).await.is_err() {
        return;
    }
    let body = match hang_up {
        HangUp::MidBody => &BODY[..BODY.len() / 2],
        _ => BODY,
    };
    if stream.write_all(body).await.is_err() {
        return;
    }
    match hang_up {
        HangUp::MidBody | HangUp::AfterSending => {}
        HangUp::AfterWaiting(wait) => tokio::time::sleep(wait).await,
        HangUp::MidResponse => {
            let mut first = [0u8; 8];
            let _ = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut first)).await;
        }
    }
    drop(stream);
}

/// Counts on the test database, read directly (not through the slow proxy).
async fn count(database_url: &str, sql: &str) -> i64 {
    let mut connection = sqlx::PgConnection::connect(database_url).await.expect("a direct connection");
    let count = sqlx::query_scalar(sql).fetch_one(&mut connection).await.expect("count");
    let _ = connection.close().await;
    count
}

/// Sessions of the test database inside a transaction with nothing running.
async fn open_transactions(database_url: &str) -> i64 {
    count(
        database_url,
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() \
         AND state IN ('idle in transaction', 'idle in transaction (aborted)')",
    )
    .await
}

/// Polls `read` until it returns `want` or PATIENCE has passed; the last value read.
async fn settle<F, Fut>(want: i64, mut read: F) -> i64
where
    F: FnMut() -> Fut,
    Fut: Future<Output = i64>,
{
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let value = read().await;
        if value == want || tokio::time::Instant::now() >= deadline {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_that_hang_up_mid_request_leave_no_open_transaction_no_unpublished_event_and_a_prompt_stop() {
    let database_url = fresh_database().await;
    let slow =
        service_runtime::testing::slow_postgres_proxy(&database_url, Duration::from_millis(40)).await.expect("proxy");
    let options = Options { database_url: Some(slow), topics: None, bootstrap: None };
    let app = spawn_tweaked(options, |settings| settings.base.http.request_timeout_ms = 100).await;
    app.ready().await;
    let mut rng = StdRng::seed_from_u64(9);
    let token = token("dora");

    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let hang_up = match rng.random_range(0..4) {
                0 => HangUp::MidBody,
                1 => HangUp::AfterSending,
                2 => HangUp::AfterWaiting(Duration::from_millis(rng.random_range(0..300))),
                _ => HangUp::MidResponse,
            };
            tokio::spawn(client(app.port(), token.clone(), hang_up))
        })
        .collect();
    for client in clients {
        client.await.expect("client");
    }

    let open = settle(0, || open_transactions(&database_url)).await;
    assert_eq!(open, 0, "sessions left idle in a transaction");
    let backlog = settle(0, || count(&database_url, "SELECT count(*) FROM outbox WHERE published_at IS NULL")).await;
    assert_eq!(backlog, 0, "outbox rows never published");
    let tasks = count(&database_url, "SELECT count(*) FROM tasks").await;
    assert!(tasks > 0, "writes whose requests were cut off still commit");
    let events = read_events(&app.task_events, tasks as usize).await;
    assert!(events.iter().all(|(_, e)| e["type"] == "task.created"));
    assert_eq!(record_count(&app.task_events).await, tasks, "each committed task's event, once");
    tokio::time::timeout(Duration::from_secs(20), app.shutdown()).await.expect("the service stops promptly");
    assert_eq!(open_transactions(&database_url).await, 0, "nothing left open at exit");
}
