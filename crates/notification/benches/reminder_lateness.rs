//! Firing lateness under load, against the real broker and PostgreSQL: the notification service
//! runs in this process (port 0, a fresh database from `DATABASE_URL`, topics and group of its
//! own, the scheduler's and the caught-up interval's production defaults), and `reminder.scheduled`
//! events for 10,000 reminders due within one minute are produced straight to its topic (each
//! task its own key, so the three partitions share them). Every reminder is then waited for in
//! the inbox.
//!
//! Prints the lateness (inbox `fired_at` minus the reminder's time) p50, p99 and max, the
//! reminders missed (not delivered within a minute after the last was due) and doubled
//! (claimed more than once). Goal: p99 under 1 s, none missed or doubled. Never asserted.
//! `cargo bench` (`make bench-notification`) runs 10,000 over 60 s; a plain run (`cargo test`)
//! 50 over 5 s, only to check that the benchmark still works.

use std::time::Duration;

use anyhow::Context as _;
use chrono::{DateTime, SubsecRound as _, TimeDelta, Utc};
use event_schema::{Envelope, ReminderRule, ReminderScheduled};
use notification::{Application, NotificationSettings, Settings};
use service_runtime::database::DatabaseSettings;
use service_runtime::health::Health;
use service_runtime::kafka::{OutboundRecord, Producer};
use service_runtime::settings::{
    BaseSettings, ConsumerSettings, HttpSettings, KafkaSettings, ProducerSettings, TopicConfig, TopicSettings,
};
use service_runtime::testing::Running;
use sqlx::Connection as _;
use uuid::Uuid;

fn kafka() -> KafkaSettings {
    KafkaSettings {
        bootstrap_servers: std::env::var("KAFKA_BOOTSTRAP_SERVERS").unwrap_or_else(|_| "127.0.0.1:9092".into()),
        ..Default::default()
    }
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", Uuid::now_v7().simple())
}

fn settings(database: &str, reminders: &str) -> Settings {
    let base = BaseSettings {
        http: HttpSettings { host: "127.0.0.1".into(), port: 0, ..HttpSettings::default() },
        kafka: kafka(),
        topics: TopicSettings {
            task_events: TopicConfig { name: unique("task-events"), partitions: 3, retention_ms: 3_600_000 },
            reminders: TopicConfig { name: reminders.to_owned(), partitions: 3, retention_ms: 3_600_000 },
            ..Default::default()
        },
        producer: ProducerSettings::default(),
        consumer: ConsumerSettings {
            group_id: unique("notification-bench"),
            max_batch: 100,
            session_timeout_ms: 6_000,
            heartbeat_interval_ms: 500,
            // As config/local.yaml: nisshi answers waiting fetches only when it re-polls.
            fetch_wait_max_ms: 50,
            caught_up_interval_ms: 250,
            ..Default::default()
        },
    };
    let app = NotificationSettings {
        // The service's built-in pool size (settings.rs DEFAULTS).
        database: DatabaseSettings { url: database.to_owned(), max_connections: 24, ..Default::default() },
        auth: service_runtime::auth::testing::settings("notification"),
        ..Default::default()
    };
    Settings { base, app }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let bench = std::env::args().any(|a| a == "--bench");
    let (count, window) = if bench { (10_000_usize, 60_i64) } else { (50, 5) };
    let admin = std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let database = service_runtime::testing::fresh_postgres_database(&admin, "notification_bench").await?;
    let reminders = unique("reminders");
    let application = Application::build(settings(&database, &reminders)).await.context("notification")?;
    let running = Running::spawn(application.port(), |stop| application.run_until_stopped(stop));
    running.ready(Duration::from_secs(30)).await;

    let producer = Producer::new(&kafka(), &ProducerSettings::default(), "notification-bench", Health::new())
        .context("producer")?;
    // Far enough ahead that every event is consumed before the first is due.
    let first: DateTime<Utc> = (Utc::now() + TimeDelta::seconds(if bench { 20 } else { 5 })).trunc_subsecs(3);
    let step = TimeDelta::microseconds(window * 1_000_000 / count as i64);
    let events: Vec<(String, Vec<u8>)> = (0..count)
        .map(|i| {
            let task = Uuid::now_v7();
            let at = first + step * i as i32;
            let data = ReminderScheduled {
                reminder_id: Uuid::now_v7(),
                task_id: task,
                remind_at: at,
                due_at: None,
                title: format!("reminder {i}"),
                rule: ReminderRule::At { at },
            };
            let envelope = Envelope::new("/bench", task.to_string(), format!("user-{}", i % 100), 1, data);
            (task.to_string(), envelope.to_json().unwrap_or_default())
        })
        .collect();
    for chunk in events.chunks(500) {
        let sends = chunk.iter().map(|(key, value)| {
            producer.send(OutboundRecord {
                topic: &reminders,
                key: Some(key.as_bytes()),
                payload: value,
                headers: vec![],
            })
        });
        for sent in futures::future::join_all(sends).await {
            sent.context("producing")?;
        }
    }
    let produced = Utc::now();
    println!(
        "{count} reminders due from {first} over {window} s (all produced {:.1} s before the first)",
        (first - produced).as_seconds_f64()
    );

    let mut db = sqlx::PgConnection::connect(&database).await?;
    let deadline = first + TimeDelta::seconds(window + 60);
    loop {
        let delivered: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM inbox").fetch_one(&mut db).await?;
        if delivered as usize >= count || Utc::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let lateness: Vec<f64> =
        sqlx::query_scalar("SELECT EXTRACT(EPOCH FROM (fired_at - remind_at))::float8 FROM inbox ORDER BY 1")
            .fetch_all(&mut db)
            .await?;
    let doubled: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM schedule WHERE attempts > 1").fetch_one(&mut db).await?;
    println!(
        "lateness p50 {:.3} s, p99 {:.3} s, max {:.3} s; missed {}, doubled {}",
        percentile(&lateness, 0.50),
        percentile(&lateness, 0.99),
        lateness.last().copied().unwrap_or(f64::NAN),
        count - lateness.len(),
        doubled
    );
    running.shutdown().await;
    Ok(())
}
