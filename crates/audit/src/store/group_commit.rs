//! Group commit: the appends of one process share transactions instead of queueing for the
//! chain-head locks one transaction at a time.
//!
//! Why: the consumer runtime hands each partition's batches to the store concurrently, and
//! because records are keyed by task, every batch touches hundreds of users' chains. Their
//! transactions therefore serialise on the chain heads anyway (each waits for the locks the
//! previous one holds, and on SQLite for the single write lock, which is polled with sleeps of
//! up to 100 ms); each also pays the fixed cost of locking and moving hundreds of heads and of
//! a commit. Here, while one transaction runs, the batches that arrive wait in a queue, and
//! the next transaction records all of them (up to [`MAX_EVENTS`]) one after the other: the
//! same result as appending them in turn, with one lock round, one head update and one commit.
//!
//! - **Order and strictness are unchanged**: every batch is recorded under the locks of all
//!   the heads it touches, with its entries contiguous and in its order; batches of other
//!   processes (replicas) still serialise on the head locks as before.
//! - **All or nothing per caller**: if a shared transaction fails, each of its batches is
//!   retried alone, so a caller gets its own batch's error (a record the database refuses
//!   must not fail another partition's batch) and never a half-recorded batch.
//! - **Not cancelled with a caller**: the transactions run in a task of their own, so a caller
//!   that gives up (shutdown, a revoked partition) cannot abandon the batches of the others.
//!   If that task dies, the waiting callers get an error and retry, and the next caller starts
//!   a new one.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use service_runtime::database::Pool;
use tokio::sync::oneshot;

use super::append::{AppendOutcome, Batch, KnownHeads, record};

/// Most events recorded in one shared transaction (a single batch may be larger): bounds
/// how long the heads stay locked for the batches of other replicas.
const MAX_EVENTS: usize = 5_000;

/// The queue of batches waiting for the next transaction. Cheap to share (`Arc`).
#[derive(Debug, Default)]
pub(super) struct GroupCommit {
    state: Mutex<State>,
    /// Lent to the recording task while it runs (lost, harmlessly, if it dies).
    known: Mutex<KnownHeads>,
}

#[derive(Debug, Default)]
struct State {
    waiting: Vec<Request>,
    /// Whether a task is recording (it takes what waits before it stops).
    recording: bool,
}

#[derive(Debug)]
struct Request {
    batch: Batch,
    reply: oneshot::Sender<Result<AppendOutcome, sqlx::Error>>,
}

impl GroupCommit {
    /// Records `batch` in the next transaction; its outcome, or the error of its own attempt.
    pub(super) async fn append(self: &Arc<Self>, pool: &Pool, batch: Batch) -> Result<AppendOutcome, sqlx::Error> {
        let (reply, outcome) = oneshot::channel();
        let start = {
            let mut state = self.lock();
            state.waiting.push(Request { batch, reply });
            !std::mem::replace(&mut state.recording, true)
        };
        if start {
            let (this, pool) = (self.clone(), pool.clone());
            tokio::spawn(async move { this.record_waiting(pool).await });
        }
        // A dropped reply means the recording task died: nothing of this batch was committed
        // by it (replies are sent after the commit), so retrying is safe.
        outcome.await.map_err(|_| sqlx::Error::WorkerCrashed)?
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is consistent between statements: a panic elsewhere cannot corrupt it.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records what waits, round after round, until nothing does.
    async fn record_waiting(self: Arc<Self>, pool: Pool) {
        let mut stopping = Stopping { group: &self, done: false };
        let mut known = std::mem::take(&mut *self.known.lock().unwrap_or_else(PoisonError::into_inner));
        loop {
            let requests = {
                let mut state = self.lock();
                if state.waiting.is_empty() {
                    // Under the same lock as the check: a batch queued after it starts a new task.
                    state.recording = false;
                    stopping.done = true;
                    *self.known.lock().unwrap_or_else(PoisonError::into_inner) = known;
                    return;
                }
                take_round(&mut state.waiting)
            };
            record_round(&pool, requests, &mut known).await;
        }
    }
}

/// Clears the state if the recording task ends other than by running out of work (a panic,
/// or its runtime shutting down): the callers still waiting get an error instead of waiting
/// for ever, and the next caller starts a new task.
struct Stopping<'a> {
    group: &'a GroupCommit,
    done: bool,
}

impl Drop for Stopping<'_> {
    fn drop(&mut self) {
        if !self.done {
            let mut state = self.group.lock();
            state.waiting.clear();
            state.recording = false;
        }
    }
}

/// The oldest waiting requests, up to [`MAX_EVENTS`] events (at least one request).
fn take_round(waiting: &mut Vec<Request>) -> Vec<Request> {
    let mut events = 0;
    let take = waiting
        .iter()
        .position(|r| {
            events += r.batch.len();
            events > MAX_EVENTS
        })
        .unwrap_or(waiting.len())
        .max(1);
    waiting.drain(..take).collect()
}

/// One transaction for all `requests`; if it fails, one each, so each gets its own result.
async fn record_round(pool: &Pool, requests: Vec<Request>, known: &mut KnownHeads) {
    let (batches, replies): (Vec<Batch>, Vec<_>) = requests.into_iter().map(|r| (r.batch, r.reply)).unzip();
    match record(pool, &batches, known).await {
        Ok(outcomes) => {
            for (reply, outcome) in replies.into_iter().zip(outcomes) {
                // A caller that gave up no longer listens; its batch is recorded all the same.
                let _ = reply.send(Ok(outcome));
            }
        }
        Err(error) if batches.len() == 1 => {
            if let Some(reply) = replies.into_iter().next() {
                let _ = reply.send(Err(error));
            }
        }
        Err(error) => {
            tracing::debug!(error = %error, batches = batches.len(), "shared append failed; recording its batches one by one");
            for (batch, reply) in batches.iter().zip(replies) {
                let result =
                    record(pool, std::slice::from_ref(batch), known).await.map(|mut outcomes| outcomes.remove(0));
                let _ = reply.send(result);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(events: usize) -> (Request, oneshot::Receiver<Result<AppendOutcome, sqlx::Error>>) {
        let entry = crate::entry::NewEntry {
            event_id: uuid::Uuid::nil(),
            event_type: "t".into(),
            known_type: true,
            subject: "s".into(),
            user_id: "u".into(),
            actor: "u".into(),
            occurred_at: chrono::Utc::now(),
            source: crate::entry::SourcePosition { topic: "t".into(), partition: 0, offset: 0 },
            correlation_id: None,
            payload: "{}".into(),
            changes: None,
        };
        let (reply, rx) = oneshot::channel();
        (Request { batch: Batch { events: vec![entry; events], now: chrono::Utc::now() }, reply }, rx)
    }

    #[test]
    fn a_round_takes_the_oldest_batches_up_to_the_event_limit_and_always_at_least_one() {
        let mut waiting: Vec<Request> = [2_000, 2_000, 2_000, 10].into_iter().map(|n| request(n).0).collect();
        let round = take_round(&mut waiting);
        assert_eq!(round.iter().map(|r| r.batch.len()).collect::<Vec<_>>(), [2_000, 2_000]);
        assert_eq!(waiting.len(), 2);

        let mut huge = vec![request(MAX_EVENTS + 1).0, request(1).0];
        assert_eq!(take_round(&mut huge).len(), 1, "a batch over the limit still goes, alone");
    }
}
