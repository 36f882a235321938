//! Recurrence-rule evaluation off the async workers.
//!
//! Checking a recurrence runs the `rrule` crate synchronously. The domain bounds that work
//! (a day screen refuses rules that cannot match before the crate's iterator runs, see
//! `task_domain::RecurrenceRule`), but what is left can still take milliseconds of CPU, and
//! on the async workers a burst of such requests would stall every other request on the
//! same worker. So requests whose validation evaluates a rule run it with
//! [`off_request_thread`]: on tokio's blocking pool, at most [`PERMITS`] at a time, so a burst
//! queues behind them rather than taking every core; a request that cannot start within
//! [`PATIENCE`] answers 503 (with `Retry-After`). Requests that evaluate no rule never wait.

use std::time::Duration;

use serde_json::Value;
use service_runtime::problem::ApiError;
use task_domain::{Task, ValidTaskPatch};
use tokio::sync::Semaphore;

/// How many evaluations run at once: the local machine and a small pod have two cores, and
/// ordinary requests should keep at least one.
pub(crate) const PERMITS: usize = 1;

/// How long a request waits for its turn before answering 503.
pub(crate) const PATIENCE: Duration = Duration::from_secs(5);

static EVALUATIONS: Semaphore = Semaphore::const_new(PERMITS);

/// Runs `work` on the blocking pool once a permit is free.
pub(crate) async fn off_request_thread<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    let permit = tokio::time::timeout(PATIENCE, EVALUATIONS.acquire())
        .await
        .map_err(|_| ApiError::unavailable("too many recurrence rules are being checked at once; retry"))?
        .map_err(ApiError::internal)?;
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        work()
    })
    .await
    .map_err(ApiError::internal)
}

/// Whether reading a `POST` body evaluates a recurrence (it has one that is not `null`).
pub(crate) fn new_task_evaluates_a_rule(body: &Value) -> bool {
    body.get("recurrence").is_some_and(|r| !r.is_null())
}

/// Whether applying `patch` to `task` evaluates a recurrence: the result has one, and the
/// patch changes it or what it depends on (`due_at`, `time_zone`).
pub(crate) fn patch_evaluates_a_rule(task: &Task, patch: &ValidTaskPatch) -> bool {
    let recurring = match &patch.recurrence {
        Some(recurrence) => recurrence.is_some(),
        None => task.recurrence().is_some(),
    };
    recurring && (patch.recurrence.is_some() || patch.due_at.is_some() || patch.time_zone.is_some())
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;

    /// On a runtime with one worker: if the work ran on it, the signal could only be sent
    /// after the work gave up waiting for it.
    #[tokio::test(flavor = "current_thread")]
    async fn evaluation_runs_off_the_request_thread_so_other_requests_proceed() {
        let (signal, wait) = mpsc::channel::<()>();
        let evaluation = tokio::spawn(off_request_thread(move || wait.recv_timeout(Duration::from_secs(5)).is_ok()));
        tokio::task::yield_now().await; // let the evaluation start

        signal.send(()).expect("the evaluation is still waiting");

        assert!(evaluation.await.expect("joined").expect("evaluated"), "the evaluation saw the signal");
    }

    #[test]
    fn only_bodies_and_patches_that_touch_a_recurrence_are_sent_off_thread() {
        assert!(new_task_evaluates_a_rule(&serde_json::json!({"recurrence": {"rrule": "FREQ=DAILY"}})));
        assert!(!new_task_evaluates_a_rule(&serde_json::json!({"title": "t", "recurrence": null})));
    }
}
