//! Latency of the event path on an idle system, against the real broker:
//! - **raw**: a plain librdkafka producer and consumer on a fresh topic; one record at a time,
//!   from the send to its arrival at the consumer (what the broker itself costs);
//! - **API → audit row**: task-api and audit running in this process (port 0, fresh PostgreSQL
//!   databases from `DATABASE_URL`, topics and group of their own), tasks created one at a time
//!   through HTTP; from task-api's response to the moment the task's row is in the audit store
//!   (polled every millisecond, within a deadline).
//!
//! The raw consumer lets the broker hold a fetch for at most 10 ms, so its round trip is what the
//! broker itself costs; it is also measured with librdkafka's default wait (500 ms), for
//! reference. audit uses the `consumer.fetch_wait_max_ms` of its `config/local.yaml` (what
//! `make run` uses; `BENCH_FETCH_WAIT_MS` overrides it).
//! Prints p50/p99 of each and the ratio of the p99s. `cargo bench` measures 200 of each; a plain
//! run (`cargo test`) 10, only to check that the benchmark still works. Never asserted.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use rdkafka::Message as _;
use rdkafka::consumer::{Consumer as _, StreamConsumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use service_runtime::settings::{BaseSettings, HttpSettings, KafkaSettings, TopicConfig, TopicSettings};
use service_runtime::testing::Running;
use uuid::Uuid;

/// How long one event may take before the run is declared broken.
const DEADLINE: Duration = Duration::from_secs(30);
/// A pause between samples, so each measures an idle system.
const IDLE: Duration = Duration::from_millis(50);
/// librdkafka's default `fetch.wait.max.ms`.
const LIBRDKAFKA_DEFAULT_WAIT_MS: u32 = 500;
/// The raw consumer's `fetch.wait.max.ms` (`BENCH_RAW_FETCH_WAIT_MS`): short, so the raw round
/// trip shows what the broker itself costs, not how long it lets a fetch wait.
const RAW_WAIT_MS: u32 = 10;

fn kafka() -> KafkaSettings {
    KafkaSettings {
        bootstrap_servers: std::env::var("KAFKA_BOOTSTRAP_SERVERS").unwrap_or_else(|_| "127.0.0.1:9092".into()),
        ..Default::default()
    }
}

fn admin_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", Uuid::now_v7().simple())
}

/// audit's settings as `make run` loads them (defaults, `config/base.yaml`, `config/local.yaml`).
fn local_settings() -> anyhow::Result<BaseSettings> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    Ok(service_runtime::settings::load_from(
        &[("consumer.group_id", "audit")],
        &dir,
        "local",
        Some(Default::default()),
    )?)
}

/// p50 and p99 of `samples` (sorted in place).
fn percentiles(samples: &mut [Duration]) -> (Duration, Duration) {
    samples.sort();
    let at = |p: f64| samples[((samples.len() as f64 * p).ceil() as usize).clamp(1, samples.len()) - 1];
    (at(0.50), at(0.99))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1_000.0
}

/// Produces `count` records one at a time to a fresh topic; the time from each send to its
/// arrival at a consumer with `fetch.wait.max.ms = wait_ms`.
async fn raw_round_trips(count: usize, wait_ms: u32) -> anyhow::Result<Vec<Duration>> {
    let topic = unique("bench-latency-raw");
    let plan = service_runtime::kafka::TopicPlan {
        name: topic.clone(),
        partitions: 1,
        replication_factor: 1,
        retention_ms: 3_600_000,
    };
    service_runtime::kafka::ensure_topics(&kafka(), &[plan], Duration::from_secs(10)).await?;
    let producer: FutureProducer = service_runtime::kafka::client_config(&kafka(), "bench-latency")?.create()?;
    let consumer: StreamConsumer = service_runtime::kafka::client_config(&kafka(), "bench-latency")?
        .set("group.id", unique("bench-latency"))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", wait_ms.to_string())
        .create()?;
    consumer.subscribe(&[&topic])?;
    // A first record, consumed before measuring: the consumer has joined and fetches.
    let mut samples = Vec::with_capacity(count);
    for n in 0..=count {
        let sent = Instant::now();
        let key = n.to_string();
        producer
            .send(FutureRecord::to(&topic).key(&key).payload(key.as_bytes()), Duration::from_secs(5))
            .await
            .map_err(|(error, _)| error)?;
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            match tokio::time::timeout_at(deadline, consumer.recv()).await.context("no record within the deadline")? {
                Ok(message) if message.key() == Some(key.as_bytes()) => break,
                Ok(_) => {}
                // Reported while the consumer joins (e.g. metadata not there yet); it retries.
                Err(error) => eprintln!("raw consumer: {error}"),
            }
        }
        if n > 0 {
            samples.push(sent.elapsed());
        }
        tokio::time::sleep(IDLE).await;
    }
    Ok(samples)
}

/// task-api and audit on topics of their own; `count` tasks created one at a time, each timed
/// from task-api's response to its row in the audit store.
async fn api_to_audit_row(count: usize, wait_ms: u32) -> anyhow::Result<Vec<Duration>> {
    let local = local_settings()?;
    let topics = TopicSettings {
        task_events: TopicConfig { name: unique("bench-task-events"), partitions: 6, retention_ms: 3_600_000 },
        reminders: TopicConfig { name: unique("bench-reminders"), partitions: 3, retention_ms: 3_600_000 },
        ..Default::default()
    };
    let mut consumer = local.consumer.clone();
    consumer.group_id = unique("bench-latency-audit");
    consumer.fetch_wait_max_ms = wait_ms;
    let base = BaseSettings {
        http: HttpSettings { host: "127.0.0.1".into(), port: 0, ..HttpSettings::default() },
        kafka: kafka(),
        topics,
        consumer,
        producer: local.producer.clone(),
    };
    let database = |url| service_runtime::database::DatabaseSettings { url, ..Default::default() };

    let audit_url = service_runtime::testing::fresh_postgres_database(&admin_url(), "audit_bench").await?;
    let api_url = service_runtime::testing::fresh_postgres_database(&admin_url(), "task_api_bench").await?;
    let audit_settings = audit::Settings {
        base: base.clone(),
        app: audit::AuditSettings {
            database: database(audit_url.clone()),
            auth: service_runtime::auth::testing::settings("audit"),
            ..Default::default()
        },
    };
    let audit = audit::Application::build(audit_settings).await?;
    let store = audit.store().clone();
    let audit = Running::spawn(audit.port(), |stop| audit.run_until_stopped(stop));

    let api_settings = task_api::Settings {
        base: BaseSettings { consumer: Default::default(), ..base },
        app: task_api::TaskApiSettings {
            database: database(api_url.clone()),
            auth: service_runtime::auth::testing::settings("task-api"),
            ..Default::default()
        },
    };
    let api = task_api::Application::build(api_settings).await?;
    let api = Running::spawn(api.port(), |stop| api.run_until_stopped(stop));
    api.ready(DEADLINE).await;
    audit.ready(DEADLINE).await;

    let client = reqwest::Client::new();
    let token = service_runtime::auth::testing::token("task-api", "bench-user", serde_json::Map::new());
    let mut samples = Vec::with_capacity(count);
    // The first task waits for the consumer group to form: not measured.
    for n in 0..=count {
        let response = client
            .post(format!("{}/v1/tasks", api.base_url()))
            .bearer_auth(&token)
            .json(&serde_json::json!({ "title": format!("latency {n}") }))
            .send()
            .await?;
        let answered = Instant::now();
        anyhow::ensure!(response.status() == 201, "creating a task: {}", response.status());
        let task: serde_json::Value = response.json().await?;
        let id = task["id"].as_str().context("the task has an id")?.to_owned();
        let deadline = answered + DEADLINE;
        loop {
            let mut sql = service_runtime::database::Sql::new(
                store.backend(),
                "SELECT COUNT(*) AS n FROM audit_events WHERE subject = ",
            );
            sql.bind(service_runtime::database::Arg::Text(id.clone()));
            if store.pool().fetch_one(sql).await?.int::<i64>("n")? > 0 {
                break;
            }
            anyhow::ensure!(Instant::now() < deadline, "task {id} had no audit row within {DEADLINE:?}");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        if n > 0 {
            samples.push(answered.elapsed());
        }
        tokio::time::sleep(IDLE).await;
    }
    api.shutdown().await;
    audit.shutdown().await;
    store.close().await;
    // Kept when the run fails, for a look.
    for url in [audit_url, api_url] {
        drop_database(&url).await.context("while dropping a benchmark database")?;
    }
    Ok(samples)
}

/// Drops the database `url` names (a plain name: `fresh_postgres_database` made it).
async fn drop_database(url: &str) -> anyhow::Result<()> {
    use sqlx::Connection as _;
    let name = url.rsplit('/').next().unwrap_or_default();
    anyhow::ensure!(!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'), "{name:?}");
    let mut admin = sqlx::PgConnection::connect(&admin_url()).await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut admin).await?;
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if std::env::var_os("RUST_LOG").is_some() {
        service_runtime::telemetry::init("audit-bench");
    }
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs a short pass.
    let count = if std::env::args().any(|a| a == "--bench") { 200 } else { 10 };
    let count: usize = std::env::var("BENCH_SAMPLES").ok().and_then(|v| v.parse().ok()).unwrap_or(count);
    let wait_ms = match std::env::var("BENCH_FETCH_WAIT_MS").ok().and_then(|v| v.parse().ok()) {
        Some(ms) => ms,
        None => local_settings()?.consumer.fetch_wait_max_ms,
    };

    let raw_wait = std::env::var("BENCH_RAW_FETCH_WAIT_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(RAW_WAIT_MS);
    let mut raw = raw_round_trips(count, raw_wait).await.context("while measuring raw round trips")?;
    let mut raw_default =
        raw_round_trips(count, LIBRDKAFKA_DEFAULT_WAIT_MS).await.context("while measuring raw round trips")?;
    let mut audit = api_to_audit_row(count, wait_ms).await.context("while measuring API to audit row")?;

    let (raw50, raw99) = percentiles(&mut raw);
    let (def50, def99) = percentiles(&mut raw_default);
    let (audit50, audit99) = percentiles(&mut audit);
    println!(
        "event_latency: {count} events each, one at a time on an idle system; audit's fetch.wait.max.ms {wait_ms}"
    );
    println!("  raw, fetch.wait.max.ms {raw_wait:<4}        p50 {:>7.1} ms   p99 {:>7.1} ms", ms(raw50), ms(raw99));
    println!(
        "  raw, fetch.wait.max.ms {LIBRDKAFKA_DEFAULT_WAIT_MS:<4}        p50 {:>7.1} ms   p99 {:>7.1} ms",
        ms(def50),
        ms(def99)
    );
    println!("  task-api response -> audit row     p50 {:>7.1} ms   p99 {:>7.1} ms", ms(audit50), ms(audit99));
    println!(
        "  audit / raw (p99)                  {:>7.1}",
        audit99.as_secs_f64() / raw99.as_secs_f64().max(f64::EPSILON)
    );
    Ok(())
}
