//! Latency of task-api's `POST /v1/tasks`, in process (`task_api::Application` on port 0 with
//! the real broker): N concurrent HTTP clients (keep-alive connections) each create tasks one
//! after the other; every request's time from send to the full response is recorded.
//!
//! Configurations, each at concurrency 1 and 16:
//! - SQLite (the embedded default of `make run`): a file in a temporary directory;
//! - PostgreSQL over TCP (`127.0.0.1:5432`, or `DATABASE_URL`'s server);
//! - PostgreSQL over its Unix socket (`BENCH_PG_SOCKET`, default `/var/run/postgresql`;
//!   skipped when the socket is not there).
//!
//! Prints p50, p99 and max per configuration, the tail ratio p99/p50, and TCP/socket for each
//! concurrency. Numbers are printed, never asserted. `cargo bench -p task-api --bench
//! create_latency` runs `BENCH_REQUESTS` (default 3,000) per configuration; `cargo test
//! --all-targets` runs this binary without `--bench`, and then a small pass (200) only checks
//! that the benchmark still works. `RUST_LOG=warn` shows the service's logs.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use service_runtime::settings::{BaseSettings, HttpSettings, KafkaSettings, TopicConfig, TopicSettings};
use service_runtime::testing::Running;
use task_api::storage::DatabaseSettings;
use task_api::{Application, Settings, TaskApiSettings};
use uuid::Uuid;

const AUDIENCE: &str = "task-api";
const CONCURRENCY: [usize; 2] = [1, 16];
/// Requests sent before measuring, per run (at least 4 per client): connections opened,
/// statements prepared.
const WARM_UP: usize = 50;

fn admin_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn bootstrap() -> String {
    std::env::var("KAFKA_BOOTSTRAP_SERVERS").unwrap_or_else(|_| "127.0.0.1:9092".into())
}

/// task-api on port 0 against `database_url`, with fresh topics.
async fn start(database_url: String) -> anyhow::Result<Running> {
    let suffix = Uuid::now_v7().simple();
    let base = BaseSettings {
        http: HttpSettings { host: "127.0.0.1".into(), port: 0, ..HttpSettings::default() },
        kafka: KafkaSettings { bootstrap_servers: bootstrap(), ..Default::default() },
        topics: TopicSettings {
            task_events: TopicConfig {
                name: format!("bench-task-events-{suffix}"),
                partitions: 3,
                retention_ms: 3_600_000,
            },
            reminders: TopicConfig {
                name: format!("bench-reminders-{suffix}"),
                partitions: 1,
                retention_ms: 3_600_000,
            },
            ..Default::default()
        },
        ..Default::default()
    };
    let app = TaskApiSettings {
        database: DatabaseSettings { url: database_url, ..Default::default() },
        auth: service_runtime::auth::testing::settings(AUDIENCE),
        ..Default::default()
    };
    let application = Application::build(Settings { base, app }).await.context("while building task-api")?;
    let running = Running::spawn(application.port(), |stop| application.run_until_stopped(stop));
    running.ready(Duration::from_secs(60)).await;
    Ok(running)
}

/// Sends `count` creates over `clients` (one keep-alive connection each, all busy at once);
/// every latency, unsorted.
async fn drive(base: &str, clients: &[reqwest::Client], count: usize) -> anyhow::Result<Vec<Duration>> {
    let remaining = Arc::new(AtomicUsize::new(count));
    let workers = clients.iter().enumerate().map(|(c, client)| {
        let remaining = remaining.clone();
        let client = client.clone();
        let url = format!("{base}/v1/tasks");
        let token = service_runtime::auth::testing::token(AUDIENCE, &format!("bench-{c}"), serde_json::Map::new());
        tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut n = 0;
            while remaining.fetch_update(Ordering::AcqRel, Ordering::Acquire, |r| r.checked_sub(1)).is_ok() {
                n += 1;
                let body = serde_json::json!({"title": format!("bench task {n}"), "tags": ["bench"]});
                let started = Instant::now();
                let response = client.post(&url).bearer_auth(&token).json(&body).send().await?;
                let status = response.status();
                response.bytes().await?;
                latencies.push(started.elapsed());
                anyhow::ensure!(status == 201, "a create answered {status}");
            }
            anyhow::Ok(latencies)
        })
    });
    let mut all = Vec::with_capacity(count);
    for worker in futures::future::join_all(workers).await {
        all.extend(worker.context("a client panicked")??);
    }
    Ok(all)
}

/// p50, p99 and max of a run.
#[derive(Debug, Clone, Copy)]
struct Summary {
    p50: Duration,
    p99: Duration,
    max: Duration,
}

impl Summary {
    fn of(mut latencies: Vec<Duration>) -> Self {
        latencies.sort();
        let at = |q: f64| latencies[((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len()) - 1];
        Self { p50: at(0.50), p99: at(0.99), max: at(1.0) }
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1_000.0
}

/// Runs every concurrency against one service; (concurrency, summary) per run.
async fn measure(name: &str, database_url: String, requests: usize) -> anyhow::Result<Vec<(usize, Summary)>> {
    let running = start(database_url).await.with_context(|| format!("while starting task-api on {name}"))?;
    let mut results = Vec::new();
    for concurrency in CONCURRENCY {
        // Connections are opened while warming up, as a load generator opens them before it
        // measures (a new connection's first request pays for setting it up).
        let clients: Vec<_> = (0..concurrency).map(|_| reqwest::Client::new()).collect();
        drive(&running.base_url(), &clients, WARM_UP.max(4 * concurrency))
            .await
            .with_context(|| format!("warming up {name}"))?;
        let started = Instant::now();
        let latencies = drive(&running.base_url(), &clients, requests).await.with_context(|| format!("on {name}"))?;
        let elapsed = started.elapsed();
        let summary = Summary::of(latencies);
        println!(
            "  {name:<22} c={concurrency:<3} p50 {:>7.2} ms  p99 {:>8.2} ms  max {:>8.2} ms  p99/p50 {:>6.1}  {:>7.0} creates/s",
            ms(summary.p50),
            ms(summary.p99),
            ms(summary.max),
            ms(summary.p99) / ms(summary.p50).max(f64::EPSILON),
            requests as f64 / elapsed.as_secs_f64().max(f64::EPSILON),
        );
        results.push((concurrency, summary));
    }
    running.shutdown().await;
    Ok(results)
}

async fn drop_database(admin: &str, url: &str) {
    use sqlx::Connection as _;
    let Some(name) = url.rsplit('/').next().and_then(|n| n.split('?').next()) else { return };
    if let Ok(mut connection) = sqlx::PgConnection::connect(admin).await {
        let _ =
            sqlx::query(&format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#)).execute(&mut connection).await;
        let _ = connection.close().await;
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if std::env::var_os("RUST_LOG").is_some() {
        service_runtime::telemetry::init("task-api-bench");
    }
    let default = if std::env::args().any(|a| a == "--bench") { 3_000 } else { 200 };
    let requests: usize = std::env::var("BENCH_REQUESTS").ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    let socket_dir = std::env::var("BENCH_PG_SOCKET").unwrap_or_else(|_| "/var/run/postgresql".into());
    let admin = admin_url();
    println!("create_latency: POST /v1/tasks, {requests} requests per run after {WARM_UP} to warm up");

    let dir = tempfile::tempdir()?;
    let sqlite_url = format!("sqlite://{}", dir.path().join("tasks.db").display());
    measure("SQLite (file)", sqlite_url, requests).await?;

    let tcp_url = service_runtime::testing::fresh_postgres_database(&admin, "task_api_bench")
        .await
        .context("while creating a PostgreSQL database on DATABASE_URL")?;
    let tcp = measure("PostgreSQL (TCP)", tcp_url.clone(), requests).await?;
    drop_database(&admin, &tcp_url).await;

    if !std::path::Path::new(&socket_dir).join(".s.PGSQL.5432").exists() {
        println!("  PostgreSQL (socket): skipped, no socket in {socket_dir} (BENCH_PG_SOCKET)");
        return Ok(());
    }
    let socket_db = service_runtime::testing::fresh_postgres_database(&admin, "task_api_bench")
        .await
        .context("while creating a PostgreSQL database on DATABASE_URL")?;
    let name = socket_db.rsplit('/').next().unwrap_or_default().to_owned();
    // The socket directory as the URL's host, percent-encoded (sqlx reads a host that starts
    // with `/` as a socket directory; `postgres://user@/db?host=…` has an empty host, which
    // sqlx 0.8 refuses).
    let socket_url = format!("postgres://postgres@{}/{name}", socket_dir.replace('/', "%2F"));
    let socket = measure("PostgreSQL (socket)", socket_url, requests).await?;
    drop_database(&admin, &socket_db).await;

    for ((clients, tcp), (_, socket)) in tcp.iter().zip(&socket) {
        println!(
            "  TCP/socket             c={clients:<3} p50 {:>5.2}  p99 {:>5.2}",
            ms(tcp.p50) / ms(socket.p50).max(f64::EPSILON),
            ms(tcp.p99) / ms(socket.p99).max(f64::EPSILON),
        );
    }
    Ok(())
}
