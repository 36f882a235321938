//! Acceptance 4: the service, a real process, is killed (SIGKILL) while delivering 200
//! reminders and started again: every reminder is delivered, each `webhook-id` arrives at least
//! once, and only reminders that were in flight at the kill may arrive twice.

use std::collections::HashMap;
use std::process::Stdio;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;
use tokio::process::{Child, Command};

use crate::helpers::*;
use crate::receivers::Receiver;

const REMINDERS: usize = 200;

/// The built `notification` binary on `port`, configured by environment variables.
fn start(topics: &Topics, database: &str, group: &str, port: u16, mail: &std::path::Path) -> Child {
    let config = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    Command::new(env!("CARGO_BIN_EXE_notification"))
        .env("APP_CONFIG_DIR", config)
        .env("APP_ENVIRONMENT", "local")
        .env("APP__HTTP__PORT", port.to_string())
        .env("APP__KAFKA__BOOTSTRAP_SERVERS", kafka().bootstrap_servers)
        .env("APP__DATABASE__URL", database)
        .env("APP__TOPICS__REMINDERS__NAME", &topics.reminders)
        .env("APP__TOPICS__REMINDERS__PARTITIONS", "3")
        .env("APP__TOPICS__TASK_EVENTS__NAME", &topics.task_events)
        .env("APP__TOPICS__TASK_EVENTS__PARTITIONS", "3")
        .env("APP__CONSUMER__GROUP_ID", group)
        .env("APP__CONSUMER__CAUGHT_UP_INTERVAL_MS", "100")
        .env("APP__AUTH__HS256_SECRET", service_runtime::auth::testing::SECRET)
        .env("APP__AUTH__ISSUER", service_runtime::auth::testing::ISSUER)
        .env("APP__AUTH__AUDIENCE", "notification")
        .env("APP__NOTIFICATION__LEASE_SECONDS", "3")
        .env("APP__NOTIFICATION__RECHECK_MS", "500")
        .env("APP__NOTIFICATION__MAX_IN_FLIGHT", "16")
        .env("APP__NOTIFICATION__EMAIL__FILE_DIR", mail)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("the notification binary starts")
}

async fn ready(port: u16) {
    let client = reqwest::Client::new();
    eventually("the process ready", || async {
        client.get(format!("http://127.0.0.1:{port}/readyz")).send().await.is_ok_and(|r| r.status().is_success())
    })
    .await;
}

async fn count(database: &str, sql: &str) -> i64 {
    let mut db = connect(database).await;
    sqlx::query_scalar(sql).fetch_one(&mut db).await.expect("count")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_sigkill_mid_delivery_every_reminder_is_delivered_and_only_those_in_flight_twice() {
    let topics = Topics::new();
    let database = fresh_database().await;
    let group = unique("notification");
    let mail = tempfile::tempdir().expect("a mail directory");
    // Each answer takes 100 ms and 16 deliveries run at once: 200 take over a second.
    let receiver = Receiver::start_slow(vec![], Duration::from_millis(100)).await;
    let port = service_runtime::testing::free_port().expect("a port");
    let mut first = start(&topics, &database, &group, port, mail.path());
    ready(port).await;
    let client = reqwest::Client::new();
    let created = client
        .post(format!("http://127.0.0.1:{port}/v1/webhook-endpoints"))
        .bearer_auth(token("alice"))
        .json(&json!({ "url": receiver.url() }))
        .send()
        .await
        .expect("create the endpoint");
    assert_eq!(created.status(), StatusCode::CREATED);
    let tasks = spawn_task_api(&topics).await;
    let at = in_seconds(10);
    for chunk in (0..REMINDERS).collect::<Vec<_>>().chunks(20) {
        let creates = chunk.iter().map(|i| {
            let due = at + chrono::TimeDelta::milliseconds(10 * *i as i64);
            let body = json!({ "title": format!("reminder {i}"), "reminders": [{ "at": due.to_rfc3339() }] });
            tasks.call(Method::POST, "/v1/tasks", "alice", Some(body), 201)
        });
        futures::future::join_all(creates).await;
    }
    assert!(chrono::Utc::now() < at, "the reminders were created before their time");

    eventually("deliveries under way", || async { receiver.received().len() >= 40 }).await;
    first.start_kill().expect("SIGKILL");
    first.wait().await.expect("killed");
    let in_flight = count(&database, "SELECT COUNT(*) FROM schedule WHERE state = 'delivering'").await;
    let second_port = service_runtime::testing::free_port().expect("a port");
    let mut second = start(&topics, &database, &group, second_port, mail.path());
    ready(second_port).await;

    eventually("all 200 sent", || async {
        count(&database, "SELECT COUNT(*) FROM schedule WHERE state = 'sent'").await == REMINDERS as i64
    })
    .await;
    let mut arrivals: HashMap<String, usize> = HashMap::new();
    for received in receiver.received() {
        *arrivals.entry(received.header("webhook-id")).or_default() += 1;
    }
    let twice = arrivals.values().filter(|n| **n > 1).count();
    println!("SIGKILL mid-delivery: {in_flight} reminders in flight at the kill, {twice} webhook-ids arrived twice");
    assert_eq!(arrivals.len(), REMINDERS, "every webhook-id arrived");
    assert!(twice as i64 <= in_flight, "{twice} arrived twice, but only {in_flight} were in flight");
    assert_eq!(count(&database, "SELECT COUNT(*) FROM inbox").await, REMINDERS as i64);
    eventually("each reminder announced", || async {
        let announced: std::collections::HashSet<_> =
            sent_events(&topics.reminders).await.into_iter().map(|(r, _)| r).collect();
        announced.len() == REMINDERS
    })
    .await;

    second.start_kill().expect("stop");
    second.wait().await.expect("stopped");
    tasks.shutdown().await;
}
