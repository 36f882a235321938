//! Supervised background jobs: what a service runs beside its HTTP server and its consumer
//! (an outbox relay, a retention schedule), each under a name, restarted when it fails,
//! visible in `/readyz` while down, stopped within the grace period at shutdown.
//!
//! # Decisions
//! - **A job is a factory** ([`Job::new`]): each run gets a fresh future from it, so a job that
//!   failed starts again from a clean state. A run is expected to last until its
//!   [`CancellationToken`] is cancelled.
//! - **Failure** is anything else: the run returned an error, returned `Ok` before shutdown, or
//!   panicked (caught through its `JoinHandle`, the panic message logged). The job is restarted
//!   after a delay from [`Backoff`], and `/readyz` carries the condition `job <name>` naming
//!   the failure meanwhile; `taskstream_job_restarts_total{job, reason}` counts restarts.
//! - **Recovery**: the condition clears once the restarted run has stayed up for
//!   [`RestartPolicy::healthy_after`] (5 s by default), not at the moment of the restart. A job
//!   that fails again right away (its database is still down) would otherwise flip readiness
//!   back to green between two crashes, and an operator, or a load balancer, would see a flapping
//!   service that looks healthy half of the time. A run that lasted that long also starts the
//!   backoff over, so a job that fails once a day restarts at once rather than after the delay
//!   of its last crash loop.
//! - **Shutdown**: every run's token is cancelled with the service's; runs get the grace period
//!   (`consumer.shutdown_grace_ms`, the one the consumer has too) to return, and a run still
//!   going after it is aborted with a warning, so shutdown always ends.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::task::{AbortHandle, JoinError, JoinHandle, JoinSet};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::consumer::Backoff;
use crate::health::Health;
use crate::metrics::JOB_RESTARTS;

type Factory = Box<dyn FnMut(CancellationToken) -> BoxFuture<'static, anyhow::Result<()>> + Send>;

/// A named background job: a factory of runs, each lasting until its token is cancelled.
pub struct Job {
    name: String,
    /// In a mutex only so that `Job` (and a [`crate::service::Service`] holding jobs) is
    /// `Sync` while factories need only be `Send`; the supervisor reaches it with `get_mut`.
    factory: Mutex<Factory>,
    policy: RestartPolicy,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job").field("name", &self.name).field("policy", &self.policy).finish_non_exhaustive()
    }
}

impl Job {
    /// A job called `name` (in logs, `/readyz` and metric labels: a fixed name such as
    /// `outbox-relay`, never data); `factory` starts one run, which should return only once
    /// its token is cancelled.
    pub fn new<F, Fut>(name: impl Into<String>, mut factory: F) -> Self
    where
        F: FnMut(CancellationToken) -> Fut + Send + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        Self {
            name: name.into(),
            factory: Mutex::new(Box::new(move |token| Box::pin(factory(token)))),
            policy: RestartPolicy::default(),
        }
    }

    /// Restarts with `policy` instead of the default one.
    pub fn with_policy(mut self, policy: RestartPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// How a failed job is restarted.
#[derive(Debug, Clone, Copy)]
pub struct RestartPolicy {
    /// Delay before each restart, growing while the job keeps failing.
    pub backoff: Backoff,
    /// A restarted run that has stayed up this long is healthy: its `/readyz` condition clears
    /// and the backoff starts over.
    pub healthy_after: Duration,
}

impl Default for RestartPolicy {
    fn default() -> Self {
        Self {
            backoff: Backoff { initial: Duration::from_secs(1), max: Duration::from_secs(60) },
            healthy_after: Duration::from_secs(5),
        }
    }
}

/// Jobs being supervised. Dropping it (the service's future dropped without a shutdown)
/// aborts the supervisions and their runs, so no job outlives its service.
#[derive(Debug)]
pub(crate) struct Supervisor {
    tasks: JoinSet<()>,
}

impl Supervisor {
    /// Starts every job. Their runs stop when `shutdown` is cancelled, within `grace`.
    pub(crate) fn start(jobs: Vec<Job>, health: &Health, shutdown: &CancellationToken, grace: Duration) -> Self {
        let mut tasks = JoinSet::new();
        for job in jobs {
            tasks.spawn(supervise(job, health.clone(), shutdown.clone(), grace));
        }
        Self { tasks }
    }

    /// Waits until every job has stopped (bounded: each supervision ends within the grace
    /// period after shutdown).
    pub(crate) async fn stopped(mut self) {
        while let Some(result) = self.tasks.join_next().await {
            if let Err(error) = result {
                tracing::error!(error = %error, "a job supervisor failed");
            }
        }
    }
}

/// Aborts a run when its supervision ends, however it ends.
struct AbortOnDrop(AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// How a run ended.
enum Ended {
    /// Returned (`Ok` or not) once shutdown had begun, or was aborted after the grace period.
    Stopped,
    /// Failed before shutdown: the reason label and the description.
    Failed(&'static str, String),
}

/// One job's supervision: its runs, one after the other, until shutdown.
struct Supervision {
    name: String,
    condition: String,
    health: Health,
    shutdown: CancellationToken,
    grace: Duration,
    /// Whether the job's condition is raised.
    down: bool,
}

async fn supervise(mut job: Job, health: Health, shutdown: CancellationToken, grace: Duration) {
    let mut supervision = Supervision {
        condition: format!("job {}", job.name),
        name: job.name.clone(),
        health,
        shutdown,
        grace,
        down: false,
    };
    let policy = job.policy;
    let mut attempt: u32 = 0;
    loop {
        let started = Instant::now();
        let ended = match start_run(&mut job, &supervision.shutdown) {
            Ok(run) => supervision.watch(run, policy.healthy_after).await,
            Err(message) => Ended::Failed("panic", format!("panicked while starting: {message}")),
        };
        let Ended::Failed(reason, description) = ended else { break };
        attempt = if started.elapsed() >= policy.healthy_after { 1 } else { attempt + 1 };
        let delay = policy.backoff.delay(attempt, &mut rand::rng());
        if !supervision.failed(reason, &description, attempt, delay).await {
            break;
        }
    }
    // A job that is down at shutdown stays out of /readyz's way while the process exits.
    supervision.health.clear(&supervision.condition);
    tracing::info!(job = %supervision.name, "job stopped");
}

/// Calls the factory (a panic there counts as a failed run) and spawns the run.
fn start_run(job: &mut Job, shutdown: &CancellationToken) -> Result<JoinHandle<anyhow::Result<()>>, String> {
    let token = shutdown.child_token();
    let factory = job.factory.get_mut().unwrap_or_else(PoisonError::into_inner);
    let future = std::panic::catch_unwind(AssertUnwindSafe(|| factory(token))).map_err(panic_message)?;
    Ok(tokio::spawn(future))
}

impl Supervision {
    /// Waits for a run to end; clears the job's condition once the run has been up for
    /// `healthy_after`; at shutdown, waits the grace period for the run, then aborts it.
    async fn watch(&mut self, mut run: JoinHandle<anyhow::Result<()>>, healthy_after: Duration) -> Ended {
        let _abort = AbortOnDrop(run.abort_handle());
        let healthy_at = tokio::time::sleep(healthy_after);
        tokio::pin!(healthy_at);
        let result = loop {
            tokio::select! {
                result = &mut run => break result,
                () = &mut healthy_at, if self.down => {
                    self.down = false;
                    self.health.clear(&self.condition);
                    tracing::info!(job = %self.name, "job healthy again");
                }
                () = self.shutdown.cancelled() => match tokio::time::timeout(self.grace, &mut run).await {
                    Ok(result) => break result,
                    Err(_) => {
                        tracing::warn!(job = %self.name, grace = ?self.grace,
                            "job ignored shutdown for the grace period; aborting it");
                        // Aborted as `_abort` drops; not awaited: a run stuck in blocking code
                        // would not notice.
                        return Ended::Stopped;
                    }
                },
            }
        };
        if self.shutdown.is_cancelled() {
            if let Ok(Err(error)) | Err(error) = result.map_err(anyhow::Error::from) {
                tracing::warn!(job = %self.name, error = ?error, "job failed while stopping");
            }
            return Ended::Stopped;
        }
        match result {
            Ok(Ok(())) => Ended::Failed("returned", "stopped before shutdown".into()),
            Ok(Err(error)) => Ended::Failed("error", format!("failed: {error:#}")),
            Err(error) => joined_failure(error),
        }
    }

    /// Reports a failed run, waits `delay`, and counts the restart; `false` if shutdown
    /// came first.
    async fn failed(&mut self, reason: &'static str, description: &str, attempt: u32, delay: Duration) -> bool {
        tracing::error!(job = %self.name, reason, error = %description, attempt,
            restart_in_ms = delay.as_millis() as u64, "job failed; restarting");
        self.health.raise(&self.condition, format!("{description}; restarting (attempt {attempt})"));
        self.down = true;
        tokio::select! {
            () = self.shutdown.cancelled() => return false,
            () = tokio::time::sleep(delay) => {}
        }
        metrics::counter!(JOB_RESTARTS, "job" => self.name.clone(), "reason" => reason).increment(1);
        tracing::info!(job = %self.name, attempt, "job restarting");
        true
    }
}

fn joined_failure(error: JoinError) -> Ended {
    if error.is_panic() {
        Ended::Failed("panic", format!("panicked: {}", panic_message(error.into_panic())))
    } else {
        // Only the runtime shutting down cancels a run this module did not abort.
        Ended::Stopped
    }
}

/// The message of a panic payload (`panic!` with a literal or a formatted string).
fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(message) => *message,
        Err(payload) => match payload.downcast::<&'static str>() {
            Ok(message) => (*message).to_owned(),
            Err(_) => "a panic without a message".to_owned(),
        },
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    const FAST: RestartPolicy = RestartPolicy {
        backoff: Backoff { initial: Duration::from_millis(10), max: Duration::from_millis(50) },
        healthy_after: Duration::from_millis(200),
    };

    async fn eventually(what: &str, mut condition: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !condition() {
            assert!(Instant::now() < deadline, "timed out waiting for: {what}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    #[tokio::test]
    async fn a_job_that_returns_before_shutdown_is_restarted_and_down_until_a_run_stays_up() {
        let runs = Arc::new(AtomicUsize::new(0));
        let counted = runs.clone();
        let job = Job::new("early", move |stop: CancellationToken| {
            let run = counted.fetch_add(1, Ordering::SeqCst);
            async move {
                if run < 2 {
                    return Ok(());
                }
                stop.cancelled().await;
                Ok(())
            }
        })
        .with_policy(FAST);
        let (health, shutdown) = (Health::new(), CancellationToken::new());

        let supervisor = Supervisor::start(vec![job], &health, &shutdown, Duration::from_secs(1));

        eventually("a third run", || runs.load(Ordering::SeqCst) == 3).await;
        let conditions = health.conditions();
        assert!(conditions["job early"].contains("stopped before shutdown"), "{conditions:?}");
        eventually("the condition clears", || health.conditions().is_empty()).await;
        shutdown.cancel();
        supervisor.stopped().await;
        assert_eq!(runs.load(Ordering::SeqCst), 3, "nothing restarts at shutdown");
    }

    #[tokio::test]
    async fn a_factory_that_panics_counts_as_a_failed_run_and_is_retried() {
        let runs = Arc::new(AtomicUsize::new(0));
        let counted = runs.clone();
        let job = Job::new("fragile", move |stop: CancellationToken| {
            assert!(counted.fetch_add(1, Ordering::SeqCst) > 0, "not configured yet");
            async move {
                stop.cancelled().await;
                Ok(())
            }
        })
        .with_policy(FAST);
        let (health, shutdown) = (Health::new(), CancellationToken::new());

        let supervisor = Supervisor::start(vec![job], &health, &shutdown, Duration::from_secs(1));

        eventually("a second run", || runs.load(Ordering::SeqCst) == 2).await;
        eventually("the condition clears", || health.conditions().is_empty()).await;
        shutdown.cancel();
        supervisor.stopped().await;
    }

    #[tokio::test]
    async fn an_error_at_shutdown_is_not_a_failure_and_nothing_restarts() {
        let runs = Arc::new(AtomicUsize::new(0));
        let counted = runs.clone();
        let job = Job::new("grumpy", move |stop: CancellationToken| {
            counted.fetch_add(1, Ordering::SeqCst);
            async move {
                stop.cancelled().await;
                anyhow::bail!("interrupted")
            }
        })
        .with_policy(FAST);
        let (health, shutdown) = (Health::new(), CancellationToken::new());
        let supervisor = Supervisor::start(vec![job], &health, &shutdown, Duration::from_secs(1));
        eventually("a run", || runs.load(Ordering::SeqCst) == 1).await;

        shutdown.cancel();
        supervisor.stopped().await;

        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert!(health.conditions().is_empty());
    }

    #[tokio::test]
    async fn a_run_that_ignores_shutdown_is_aborted_after_the_grace_period() {
        struct Dropped(Arc<AtomicUsize>);
        impl Drop for Dropped {
            fn drop(&mut self) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let dropped = Arc::new(AtomicUsize::new(0));
        let flag = dropped.clone();
        let job = Job::new("stubborn", move |_ignored: CancellationToken| {
            let guard = Dropped(flag.clone());
            async move {
                let _guard = guard;
                std::future::pending::<anyhow::Result<()>>().await
            }
        });
        let (health, shutdown) = (Health::new(), CancellationToken::new());
        let grace = Duration::from_millis(300);
        let supervisor = Supervisor::start(vec![job], &health, &shutdown, grace);
        tokio::task::yield_now().await;

        let stopping = Instant::now();
        shutdown.cancel();
        supervisor.stopped().await;

        let took = stopping.elapsed();
        assert!(
            took >= grace && took < grace * 3,
            "stopped after the grace period, not before or much later: {took:?}"
        );
        eventually("the run is dropped", || dropped.load(Ordering::SeqCst) == 1).await;
    }

    #[test]
    fn panic_messages_are_read_from_literal_and_formatted_panics() {
        let literal = std::panic::catch_unwind(|| panic!("literal")).expect_err("panics");
        let formatted = std::panic::catch_unwind(|| panic!("formatted {}", 7)).expect_err("panics");
        assert_eq!(panic_message(literal), "literal");
        assert_eq!(panic_message(formatted), "formatted 7");
    }
}
