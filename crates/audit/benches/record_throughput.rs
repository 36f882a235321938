//! Throughput of the audit service's recording against the real broker: a topic is pre-filled
//! with `BENCH_MESSAGES` CloudEvents records (default 100,000; `reminder.sent` events of ~10,000
//! tasks of ~1,000 users, keyed by task id) over 6 partitions, then read from the beginning:
//! - by a bare librdkafka consumer that does nothing with the records (the ceiling);
//! - by `ConsumerRuntime` running [`AuditHandler`] with the audit's consumer settings (batches of
//!   up to 500) into a fresh PostgreSQL database, progress counted in `audit_events`; then every
//!   chain is verified, since a fast trail that recorded garbage is worth nothing;
//! - the same into SQLite (the embedded default) in a temporary directory (`BENCH_SQLITE=0`
//!   skips it).
//!
//! Prints the rates, the audit/bare ratio and the batch sizes the runtime reached (from its own
//! `taskstream_consumer_batch_*` metrics). Run with `make bench-audit` (starts the local broker;
//! PostgreSQL from `DATABASE_URL`). Numbers are printed, never asserted. `RUST_LOG=warn` shows the
//! runtime's logs; `BENCH_MAX_BATCH` overrides the batch limit.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use audit::handler::AuditHandler;
use audit::store::AuditStore;
use service_runtime::CancellationToken;
use service_runtime::consumer::ConsumerRuntime;
use service_runtime::database::{DatabaseSettings, Pool, Sql};
use service_runtime::health::Health;
use service_runtime::kafka::Producer;
use service_runtime::metrics::{BATCH_DURATION, BATCH_SIZE};
use service_runtime::settings::{ConsumerSettings, KafkaSettings, ProducerSettings};
use uuid::Uuid;

const PARTITIONS: i32 = 6;
const USERS: usize = 1_000;
const TASKS: usize = 10_000;
/// As the audit's built-in default (`consumer.max_batch` in `audit::DEFAULTS` and base.yaml);
/// `BENCH_MAX_BATCH` tries another.
const MAX_BATCH: usize = 500;
/// How often the recorded rows are counted.
const POLL: Duration = Duration::from_millis(100);
const DEADLINE: Duration = Duration::from_secs(15 * 60);
/// No new row for this long means something is wrong (dead letters, a wedged consumer).
const STALL: Duration = Duration::from_secs(120);

fn kafka_settings() -> KafkaSettings {
    KafkaSettings {
        bootstrap_servers: std::env::var("KAFKA_BOOTSTRAP_SERVERS").unwrap_or_else(|_| "127.0.0.1:9092".into()),
        ..Default::default()
    }
}

/// The `n`th record: a `reminder.sent` event of one of [`TASKS`] tasks, each owned by one of
/// [`USERS`] users, so consecutive records of a partition touch many chains (as in production).
fn record(n: usize, tasks: &[Uuid]) -> anyhow::Result<(String, Vec<u8>)> {
    // A fixed permutation of the tasks (7,919 is prime, coprime with 10,000): spread, repeatable.
    let t = (n * 7_919) % tasks.len();
    let (task, user) = (tasks[t], format!("user-{:04}", t % USERS));
    let now = chrono::Utc::now();
    let data = event_schema::ReminderSent {
        reminder_id: Uuid::now_v7(),
        task_id: task,
        remind_at: now,
        sent_at: now,
        channels: vec!["email".into(), "webhook".into()],
    };
    let sequence = (n / tasks.len() + 1) as i64;
    let value =
        event_schema::Envelope::new("/taskstream/notification", task.to_string(), user, sequence, data).to_json()?;
    Ok((task.to_string(), value))
}

/// Produces `messages` records; returns the time taken and the mean record size.
async fn prefill(topic: &str, messages: usize) -> anyhow::Result<(Duration, usize)> {
    let tasks: Vec<Uuid> = (0..TASKS.min(messages.max(1))).map(|_| Uuid::now_v7()).collect();
    let records = (0..messages).map(|n| record(n, &tasks)).collect::<anyhow::Result<Vec<_>>>()?;
    let bytes: usize = records.iter().map(|(_, value)| value.len()).sum();
    let elapsed = service_runtime::testing::prefill(&kafka_settings(), topic, PARTITIONS, &records).await?;
    Ok((elapsed, bytes / messages.max(1)))
}

/// One audit run: how long recording took, the verification, and the batches reached.
struct AuditRun {
    elapsed: Duration,
    verified: audit::store::VerifyReport,
    verify_time: Duration,
    batches: Batches,
}

async fn record_all(topic: &str, messages: usize, url: String, label: &str) -> anyhow::Result<AuditRun> {
    let metrics = service_runtime::metrics::recorder();
    let store = AuditStore::connect(&DatabaseSettings { url, ..Default::default() }, Duration::from_secs(10))
        .await
        .with_context(|| format!("while connecting to the {label} database"))?;
    let group = format!("{topic}-audit-{label}");
    let settings = ConsumerSettings {
        group_id: group.clone(),
        max_batch: std::env::var("BENCH_MAX_BATCH").ok().and_then(|v| v.parse().ok()).unwrap_or(MAX_BATCH),
        session_timeout_ms: 6_000,
        heartbeat_interval_ms: 500,
        ..Default::default()
    };
    let producer = Producer::new(&kafka_settings(), &ProducerSettings::default(), "bench", Health::new())?;
    let handler = AuditHandler::new(store.clone());
    let runtime = ConsumerRuntime::new(&kafka_settings(), &settings, &[topic], handler, producer, Health::new())?;
    let stop = CancellationToken::new();
    let task = tokio::spawn(runtime.run(stop.clone()));

    let deadline = Instant::now() + DEADLINE;
    let (mut started, mut last_change, mut last_rows) = (None, Instant::now(), 0);
    let rows = loop {
        let rows = count_rows(store.pool(), messages).await.context("while counting audit_events")?;
        if rows > 0 {
            started.get_or_insert_with(Instant::now);
        }
        if rows >= messages {
            break rows;
        }
        if rows != last_rows {
            (last_rows, last_change) = (rows, Instant::now());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "{label}: only {rows} of {messages} events recorded within {DEADLINE:?}"
        );
        anyhow::ensure!(
            last_change.elapsed() < STALL,
            "{label}: stuck at {rows} of {messages} events for {STALL:?} (dead letters in {group}.dlq? RUST_LOG=warn shows why)"
        );
        tokio::time::sleep(POLL).await;
    };
    let elapsed = started.map(|s| s.elapsed()).unwrap_or_default();
    stop.cancel();
    task.await??;
    anyhow::ensure!(rows == messages, "{label}: {rows} rows for {messages} events: some were recorded twice");

    let verifying = Instant::now();
    let verified = store.verify_all().await.context("while verifying the chains")?;
    let verify_time = verifying.elapsed();
    store.close().await;
    Ok(AuditRun { elapsed, verified, verify_time, batches: Batches::read(&metrics.render(), &group) })
}

/// Drops the database `url` names (a plain name: `fresh_postgres_database` made it).
async fn drop_database(admin: &str, url: &str) -> anyhow::Result<()> {
    use sqlx::Connection as _;
    let name = url.rsplit('/').next().unwrap_or_default();
    anyhow::ensure!(!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'), "{name:?}");
    let mut admin = sqlx::PgConnection::connect(admin).await?;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name}")).execute(&mut admin).await?;
    Ok(())
}

/// Rows recorded so far. `COUNT(*)` scans the whole table, and ten times a second that took
/// a noticeable share of the database's time from the run being measured: the highest `id`
/// (one index probe) is an upper bound of the count (ids are never reused), so the exact count
/// runs only once that bound says every row may be there.
async fn count_rows(pool: &Pool, expected: usize) -> Result<usize, sqlx::Error> {
    let top = pool.fetch_one(Sql::new(pool.backend(), "SELECT COALESCE(MAX(id), 0) AS n FROM audit_events")).await?;
    let top: usize = top.int("n")?;
    if top < expected {
        return Ok(top);
    }
    let row = pool.fetch_one(Sql::new(pool.backend(), "SELECT COUNT(*) AS n FROM audit_events")).await?;
    row.int("n")
}

/// The runtime's batch metrics of one group (multi-message batches only: a lone waiting
/// message goes to `handle`, not `handle_batch`).
#[derive(Debug, Default)]
struct Batches {
    count: f64,
    messages: f64,
    seconds: f64,
}

impl Batches {
    fn read(rendered: &str, group: &str) -> Self {
        let value = |name: &str| {
            let label = format!("group=\"{group}\"");
            rendered
                .lines()
                .filter(|line| line.starts_with(name) && line[name.len()..].starts_with('{') && line.contains(&label))
                .find_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
                .unwrap_or_default()
        };
        Self {
            count: value(&format!("{BATCH_SIZE}_count")),
            messages: value(&format!("{BATCH_SIZE}_sum")),
            seconds: value(&format!("{BATCH_DURATION}_sum")),
        }
    }
}

fn print_audit(name: &str, run: &AuditRun, messages: usize, bare_rate: f64) {
    let rate = messages as f64 / run.elapsed.as_secs_f64().max(f64::EPSILON);
    let b = &run.batches;
    let per = |x: f64| if b.count > 0.0 { x / b.count } else { 0.0 };
    println!("  {:<31}{rate:>10.0} events/s", format!("audit, {name}"));
    println!("  {:<31}{:>10.2}", format!("audit ({name}) / bare"), rate / bare_rate);
    println!(
        "    batches: {:.0} of {:.1} events on average ({:.0} events alone), {:.1} ms per batch",
        b.count,
        per(b.messages),
        messages as f64 - b.messages,
        per(b.seconds) * 1_000.0
    );
    println!(
        "    verify_all: {} ({} chains, {} entries checked) in {:.1} s",
        if run.verified.ok { "ok" } else { "BROKEN" },
        run.verified.chains_checked,
        run.verified.entries_checked,
        run.verify_time.as_secs_f64()
    );
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if std::env::var_os("RUST_LOG").is_some() {
        service_runtime::telemetry::init("audit-bench");
    }
    // `cargo bench` passes `--bench`; `cargo test --all-targets` (`make test`) runs this binary
    // without it, and then a small run only checks that the benchmark still works.
    let default = if std::env::args().any(|a| a == "--bench") { 100_000 } else { 2_000 };
    let messages: usize = std::env::var("BENCH_MESSAGES").ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    let sqlite = std::env::var("BENCH_SQLITE").map_or(true, |v| v != "0");
    let admin = std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let topic = format!("bench-audit-{}", Uuid::now_v7().simple());

    let (produce, size) = prefill(&topic, messages).await.context("while pre-filling the topic")?;
    let bare = service_runtime::testing::consume_and_discard(&kafka_settings(), &topic, messages)
        .await
        .context("while reading with the bare consumer")?;
    let url = service_runtime::testing::fresh_postgres_database(&admin, "audit_bench")
        .await
        .context("while creating a PostgreSQL database on DATABASE_URL")?;
    let postgres = record_all(&topic, messages, url.clone(), "postgres").await?;
    // Kept when the run fails, for a look; dropped once it succeeded (100,000 rows each run).
    drop_database(&admin, &url).await.context("while dropping the benchmark database")?;
    let sqlite = if sqlite {
        let dir = tempfile::tempdir()?;
        let url = format!("sqlite://{}", dir.path().join("audit.db").display());
        Some(record_all(&topic, messages, url, "sqlite").await?)
    } else {
        None
    };

    let rate = |d: Duration| messages as f64 / d.as_secs_f64().max(f64::EPSILON);
    println!(
        "record_throughput: {messages} reminder.sent events of ~{size} bytes over {PARTITIONS} partitions, \
         {} tasks of {USERS} users",
        TASKS.min(messages)
    );
    println!("  produce (idempotent, acks=all) {:>10.0} events/s", rate(produce));
    println!("  bare consumer, no work         {:>10.0} events/s", rate(bare));
    print_audit("PostgreSQL", &postgres, messages, rate(bare));
    if let Some(sqlite) = &sqlite {
        print_audit("SQLite", sqlite, messages, rate(bare));
    }
    let broken = [Some(&postgres), sqlite.as_ref()].into_iter().flatten().any(|run| !run.verified.ok);
    anyhow::ensure!(!broken, "a chain did not verify: the recorded trail is wrong");
    Ok(())
}
