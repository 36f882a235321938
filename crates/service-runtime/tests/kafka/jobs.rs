//! Supervised background jobs of a running service: a failed job shows in `/readyz` by name,
//! restarts, and recovers; shutdown stops even a job that ignores it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use service_runtime::CancellationToken;
use service_runtime::consumer::Backoff;
use service_runtime::jobs::{Job, RestartPolicy};
use service_runtime::service::Service;
use service_runtime::testing::Running;

use crate::helpers::{eventually, metrics_text, readyz, service_settings, unique};

/// Restarts within a fraction of a second; healthy after a second up.
const FAST: RestartPolicy = RestartPolicy {
    backoff: Backoff { initial: Duration::from_millis(100), max: Duration::from_millis(500) },
    healthy_after: Duration::from_secs(1),
};

#[derive(Clone, Copy, Debug)]
enum Failure {
    Error,
    Panic,
}

/// A job whose first run fails (as `failure` says) once `fail` is cancelled; later runs last
/// until shutdown. Counts its runs.
fn flaky_job(name: &str, failure: Failure, fail: CancellationToken, runs: Arc<AtomicUsize>) -> Job {
    Job::new(name, move |stop: CancellationToken| {
        let first = runs.fetch_add(1, Ordering::SeqCst) == 0;
        let fail = fail.clone();
        async move {
            if first {
                tokio::select! {
                    () = stop.cancelled() => return Ok(()),
                    () = fail.cancelled() => {}
                }
                match failure {
                    Failure::Error => anyhow::bail!("lost the database connection"),
                    Failure::Panic => panic!("the cursor went backwards"),
                }
            }
            stop.cancelled().await;
            Ok(())
        }
    })
    .with_policy(FAST)
}

/// Whether the report lists `check` as failing with a detail containing `detail`.
fn failing_check(report: &serde_json::Value, check: &str, detail: &str) -> bool {
    report["checks"].as_array().is_some_and(|checks| {
        checks
            .iter()
            .any(|c| c["name"] == check && c["ok"] == false && c["detail"].as_str().is_some_and(|d| d.contains(detail)))
    })
}

async fn a_failed_job_is_reported_restarted_and_recovers(failure: Failure, name: &str, expected_detail: &str) {
    let mut service = Service::build("jobs-test", service_settings(&unique("jobs"))).await.expect("build");
    let (fail, runs) = (CancellationToken::new(), Arc::new(AtomicUsize::new(0)));
    service.add_job(flaky_job(name, failure, fail.clone(), runs.clone()));
    let running = Running::spawn(service.port(), |stop| service.run_without_consumer(Router::new(), false, stop));
    let (client, base) = (reqwest::Client::new(), running.base_url());
    running.ready(Duration::from_secs(30)).await;
    assert_eq!(runs.load(Ordering::SeqCst), 1, "the job runs from the start");

    fail.cancel();

    let condition = format!("job {name}");
    eventually(Duration::from_secs(10), "/readyz answers 503 naming the job", || async {
        readyz(&client, &base)
            .await
            .is_some_and(|(status, report)| status == 503 && failing_check(&report, &condition, expected_detail))
    })
    .await;
    eventually(Duration::from_secs(10), "the job is restarted", || async { runs.load(Ordering::SeqCst) == 2 }).await;
    eventually(Duration::from_secs(10), "/readyz recovers once the restarted job stayed up", || async {
        readyz(&client, &base).await.is_some_and(|(status, _)| status == 200)
    })
    .await;
    let reason = match failure {
        Failure::Error => "error",
        Failure::Panic => "panic",
    };
    let metrics = metrics_text(&client, &base).await;
    assert!(
        metrics.lines().any(|line| line.starts_with("taskstream_job_restarts_total{")
            && line.contains(&format!("job=\"{name}\""))
            && line.contains(&format!("reason=\"{reason}\""))
            && line.ends_with(" 1")),
        "one restart counted: {metrics}"
    );
    running.shutdown().await;
    assert_eq!(runs.load(Ordering::SeqCst), 2, "no restart at shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_that_returns_an_error_makes_readyz_503_naming_it_then_restarts_and_recovers() {
    a_failed_job_is_reported_restarted_and_recovers(Failure::Error, "failing", "lost the database connection").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_that_panics_makes_readyz_503_with_the_panic_message_then_restarts_and_recovers() {
    a_failed_job_is_reported_restarted_and_recovers(Failure::Panic, "panicking", "panicked: the cursor went backwards")
        .await;
}

/// Sets its flag when dropped (when the job's future is dropped, aborted or not).
struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_aborts_a_job_that_ignores_it_once_the_grace_period_is_over() {
    let grace = Duration::from_millis(1_000);
    let mut settings = service_settings(&unique("stubborn"));
    settings.consumer.shutdown_grace_ms = grace.as_millis() as u64;
    let mut service = Service::build("jobs-test", settings).await.expect("build");
    let (started, dropped) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)));
    let (started_flag, dropped_flag) = (started.clone(), dropped.clone());
    service.add_job(Job::new("stubborn", move |_ignored: CancellationToken| {
        let guard = DropFlag(dropped_flag.clone());
        started_flag.store(true, Ordering::SeqCst);
        async move {
            let _guard = guard;
            std::future::pending::<()>().await;
            Ok(())
        }
    }));
    let running = Running::spawn(service.port(), |stop| service.run_without_consumer(Router::new(), false, stop));
    running.ready(Duration::from_secs(30)).await;
    assert!(started.load(Ordering::SeqCst), "the job runs");

    let stopping = Instant::now();
    running.shutdown().await;
    let took = stopping.elapsed();

    assert!(took >= grace, "the job was given the grace period, not aborted at once ({took:?})");
    assert!(took < grace + Duration::from_secs(5), "shutdown ended soon after the grace period ({took:?})");
    eventually(Duration::from_secs(5), "the job's run is aborted (its future dropped)", || async {
        dropped.load(Ordering::SeqCst)
    })
    .await;
}
