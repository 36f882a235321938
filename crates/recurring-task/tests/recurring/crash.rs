//! The consumer's process killed with SIGKILL mid-way (no shutdown, no final commit) and
//! started again: every completion gets exactly one successor.

use std::collections::HashMap;
use std::process::Stdio;
use std::time::Duration;

use futures::StreamExt as _;
use tokio::process::{Child, Command};

use crate::helpers::*;

const TASKS: usize = 500;

/// The built `recurring-task` binary on `stack`, calling task-api at `task_api`, configured by
/// environment alone (no config directory); its log goes to `log`.
async fn start_binary(stack: &Stack, task_api: &str, log: &std::path::Path) -> (Child, u16) {
    let port = service_runtime::testing::free_port().expect("a free port");
    let log = std::fs::OpenOptions::new().create(true).append(true).open(log).expect("log file");
    let mut command = Command::new(env!("CARGO_BIN_EXE_recurring-task"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("APP") {
            command.env_remove(name);
        }
    }
    let settings = [
        ("APP_CONFIG_DIR", std::env::temp_dir().join(unique("no-config")).to_string_lossy().into_owned()),
        ("APP_ENVIRONMENT", "test".into()),
        ("APP__HTTP__HOST", "127.0.0.1".into()),
        ("APP__HTTP__PORT", port.to_string()),
        ("APP__KAFKA__BOOTSTRAP_SERVERS", kafka().bootstrap_servers),
        ("APP__TOPICS__TASK_EVENTS__NAME", stack.task_events.clone()),
        ("APP__TOPICS__TASK_EVENTS__PARTITIONS", PARTITIONS.to_string()),
        ("APP__TOPICS__REMINDERS__NAME", stack.reminders.clone()),
        ("APP__TOPICS__REMINDERS__PARTITIONS", "1".into()),
        ("APP__CONSUMER__GROUP_ID", stack.group.clone()),
        ("APP__CONSUMER__SESSION_TIMEOUT_MS", "6000".into()),
        ("APP__CONSUMER__HEARTBEAT_INTERVAL_MS", "500".into()),
        ("APP__CONSUMER__FETCH_WAIT_MAX_MS", "50".into()),
        ("APP__TASK_API__BASE_URL", task_api.into()),
        ("APP__TASK_API__TOKEN__DEVELOPMENT__HS256_SECRET", service_runtime::auth::testing::SECRET.into()),
        ("APP__TASK_API__TOKEN__DEVELOPMENT__ISSUER", service_runtime::auth::testing::ISSUER.into()),
        ("APP__TASK_API__TOKEN__DEVELOPMENT__AUDIENCE", "task-api".into()),
        ("RUST_LOG", "info,librdkafka=warn,rdkafka=warn".into()),
    ];
    let child = command
        .envs(settings)
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log file"))
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .expect("start recurring-task");
    let ready = format!("http://127.0.0.1:{port}/readyz");
    let client = reqwest::Client::new();
    eventually("the recurring-task process is ready", || async {
        client.get(&ready).send().await.is_ok_and(|r| r.status().is_success())
    })
    .await;
    (child, port)
}

/// How many of `user`'s tasks are successors (every task beyond the [`TASKS`] first ones).
async fn successors(api: &TaskApi, user: &str) -> usize {
    api.tasks(user, "").await.len().saturating_sub(TASKS)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_consumer_killed_while_500_recurring_tasks_are_completed_and_restarted_creates_exactly_500_successors() {
    let stack = Stack::new();
    let api = spawn_task_api(&stack, &fresh_database().await, 0).await;
    let user = unique("ivan");
    let due = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
    let ids: Vec<String> = futures::stream::iter(0..TASKS)
        .map(|i| {
            let (api, user, due) = (&api, &user, &due);
            async move {
                let task = api.create(user, recurring(&format!("Habit {i}"), due, "UTC", "FREQ=DAILY")).await;
                text(&task, "id").to_owned()
            }
        })
        .buffer_unordered(8)
        .collect()
        .await;
    let log = std::env::temp_dir().join(format!("{}.log", stack.group));
    let (mut child, _) = start_binary(&stack, &api.base, &log).await;

    // Completed one at a time while the consumer works through them, so it is killed mid-way.
    let completing = async {
        for id in &ids {
            api.complete(&user, id).await;
        }
    };
    let killing = async {
        eventually("the first 50 successors", || async { successors(&api, &user).await >= 50 }).await;
        child.start_kill().expect("SIGKILL");
        let status = child.wait().await.expect("the killed process");
        assert_eq!(std::os::unix::process::ExitStatusExt::signal(&status), Some(9), "killed by SIGKILL");
    };
    tokio::join!(completing, killing);
    let after_kill = successors(&api, &user).await;
    assert!(after_kill < TASKS, "killed before it was done ({after_kill} successors)");

    let (mut child, _) = start_binary(&stack, &api.base, &log).await;
    eventually("500 successors", || async { successors(&api, &user).await >= TASKS }).await;
    wait_until_consumed(&stack, &api).await;

    let tasks = api.tasks(&user, "").await;
    assert_eq!(tasks.len(), 2 * TASKS, "exactly {TASKS} successors");
    let mut per_series: HashMap<&str, usize> = HashMap::new();
    for task in &tasks {
        *per_series.entry(text(task, "series_id")).or_default() += 1;
    }
    assert_eq!(per_series.len(), TASKS);
    assert!(per_series.values().all(|&n| n == 2), "one successor in every series");
    assert_eq!(api.tasks(&user, "status=open").await.len(), TASKS, "every successor open");
    child.start_kill().expect("stop recurring-task");
    let _ = tokio::time::timeout(Duration::from_secs(10), child.wait()).await;
    let _ = std::fs::remove_file(&log);
    api.shutdown().await;
}
