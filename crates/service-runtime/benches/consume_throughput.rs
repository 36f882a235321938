//! Throughput of the consumer runtime against the real broker: a topic is pre-filled with
//! `BENCH_MESSAGES` records (default 100,000) over 6 partitions, then read twice from the
//! beginning: by a bare librdkafka consumer that does nothing with the records (the ceiling),
//! and by `ConsumerRuntime` with a handler that only counts (the runtime's own overhead:
//! per-partition workers, offset storing, metrics). Prints both rates and their ratio.
//!
//! Run with `make bench` (starts the local broker). Numbers are printed, never asserted.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use service_runtime::CancellationToken;
use service_runtime::consumer::{ConsumerRuntime, Handler, HandlerError, InboundMessage};
use service_runtime::health::Health;
use service_runtime::kafka::Producer;
use service_runtime::settings::{ConsumerSettings, KafkaSettings, ProducerSettings};

const PARTITIONS: i32 = 6;

#[derive(Clone, Default)]
struct Count(Arc<AtomicUsize>);

impl Handler for Count {
    async fn handle(&self, _: &InboundMessage) -> Result<(), HandlerError> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

fn kafka_settings() -> KafkaSettings {
    KafkaSettings {
        bootstrap_servers: std::env::var("KAFKA_BOOTSTRAP_SERVERS").unwrap_or_else(|_| "127.0.0.1:9092".into()),
        ..Default::default()
    }
}

async fn prefill(topic: &str, messages: usize) -> anyhow::Result<Duration> {
    let value =
        serde_json::json!({"type": "task.updated", "data": {"title": "x".repeat(200)}}).to_string().into_bytes();
    let records: Vec<(String, Vec<u8>)> =
        (0..messages).map(|i| (format!("task-{}", i % 1000), value.clone())).collect();
    Ok(service_runtime::testing::prefill(&kafka_settings(), topic, PARTITIONS, &records).await?)
}

async fn runtime(topic: &str, messages: usize) -> anyhow::Result<Duration> {
    let settings = ConsumerSettings {
        group_id: format!("{topic}-runtime"),
        session_timeout_ms: 6_000,
        heartbeat_interval_ms: 500,
        ..Default::default()
    };
    let count = Count::default();
    let producer = Producer::new(&kafka_settings(), &ProducerSettings::default(), "bench", Health::new())?;
    let runtime = ConsumerRuntime::new(&kafka_settings(), &settings, &[topic], count.clone(), producer, Health::new())?;
    let stop = CancellationToken::new();
    let task = tokio::spawn(runtime.run(stop.clone()));
    let mut started = None;
    let deadline = Instant::now() + Duration::from_secs(600);
    while count.0.load(Ordering::Relaxed) < messages {
        if count.0.load(Ordering::Relaxed) > 0 {
            started.get_or_insert_with(Instant::now);
        }
        anyhow::ensure!(Instant::now() < deadline, "runtime did not finish within 10 minutes");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let elapsed = started.map(|s| s.elapsed()).unwrap_or_default();
    stop.cancel();
    task.await??;
    Ok(elapsed)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` (`make test`) runs this binary
    // without it, and then a small run only checks that the benchmark still works.
    let default = if std::env::args().any(|a| a == "--bench") { 100_000 } else { 2_000 };
    let messages: usize = std::env::var("BENCH_MESSAGES").ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    let topic = format!("bench-{}", uuid::Uuid::now_v7().simple());
    let produce = prefill(&topic, messages).await?;
    let bare = service_runtime::testing::consume_and_discard(&kafka_settings(), &topic, messages).await?;
    let runtime = runtime(&topic, messages).await?;
    let rate = |d: Duration| messages as f64 / d.as_secs_f64().max(f64::EPSILON);
    println!("consume_throughput: {messages} records of ~250 bytes over {PARTITIONS} partitions");
    println!("  produce (idempotent, acks=all) {:>10.0} records/s", rate(produce));
    println!("  bare consumer, no work         {:>10.0} records/s", rate(bare));
    println!("  ConsumerRuntime, counting      {:>10.0} records/s", rate(runtime));
    println!("  runtime / bare                 {:>10.2}", rate(runtime) / rate(bare));
    Ok(())
}
