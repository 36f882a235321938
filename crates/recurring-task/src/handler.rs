//! [`RecurringHandler`]: what the consumer does with each event of `task-events`.

use event_schema::{EventData, TaskCompleted};
use service_runtime::consumer::{Handler, HandlerError, InboundMessage};
use task_domain::NextOccurrence;

use crate::metrics::{DUPLICATES_AVOIDED, EVENTS_IGNORED, OCCURRENCES_SKIPPED, SERIES_ENDED, SUCCESSORS_CREATED};
use crate::task_api::{Created, TaskApi};

/// Creates the successor of every completed occurrence of a recurring task; ignores (and
/// counts) every other event.
///
/// - A record that is not a CloudEvents envelope, or a known type whose data breaks the
///   contract, is permanent: the runtime dead-letters it to `recurring-task.dlq` with the
///   reason. So is a recurrence the domain cannot evaluate, and a 4xx of task-api other than
///   401 (its problem document is the reason).
/// - task-api unreachable, timing out, or answering 5xx, 408, 429 or 401 is transient: the
///   runtime retries the event with backoff, never skips it, and `/readyz` names the partition
///   and the error meanwhile.
/// - Idempotent: task-api answers a successor that already exists with that task (counted as
///   a duplicate avoided), so redeliveries, replays and a completion repeated after a reopen
///   create nothing new.
#[derive(Debug, Clone)]
pub struct RecurringHandler {
    task_api: TaskApi,
}

/// What handling one event came to (returned for tests and logs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Not a `task.completed` event, or the task does not recur.
    Ignored,
    /// The series ended with the completed occurrence.
    Ended,
    /// The successor was created or already existed.
    Successor(Created),
}

impl RecurringHandler {
    /// A handler creating successors through `task_api`.
    pub fn new(task_api: TaskApi) -> Self {
        Self { task_api }
    }

    /// Handles one record: see the type's docs.
    pub async fn process(&self, message: &InboundMessage) -> Result<Outcome, HandlerError> {
        let event = event_schema::decode(message.payload()).map_err(HandlerError::permanent)?;
        let EventData::TaskCompleted(TaskCompleted { task }) = &event.data else {
            metrics::counter!(EVENTS_IGNORED, "reason" => "other_type").increment(1);
            return Ok(Outcome::Ignored);
        };
        let successor = match task_domain::next_occurrence(task).map_err(HandlerError::permanent)? {
            NextOccurrence::NotRecurring => {
                metrics::counter!(EVENTS_IGNORED, "reason" => "not_recurring").increment(1);
                return Ok(Outcome::Ignored);
            }
            NextOccurrence::Ended => {
                metrics::counter!(SERIES_ENDED).increment(1);
                tracing::info!(task_id = %task.id, series_id = ?task.series_id, "the series ended with this occurrence");
                return Ok(Outcome::Ended);
            }
            NextOccurrence::Create(successor) => successor,
        };
        let created =
            self.task_api.create(&event.meta.userid, event.meta.traceparent.as_deref(), &successor).await.map_err(
                |error| {
                    if error.is_transient() { HandlerError::transient(error) } else { HandlerError::permanent(error) }
                },
            )?;
        // Counted once the successor exists, so a retried or replayed completion does not count
        // its skipped occurrences again (its answer is a duplicate then).
        match created {
            Created::New(id) => {
                metrics::counter!(SUCCESSORS_CREATED).increment(1);
                if successor.skipped > 0 {
                    metrics::counter!(OCCURRENCES_SKIPPED).increment(u64::from(successor.skipped));
                }
                tracing::info!(completed = %task.id, successor = %id, series_id = %successor.series.id,
                    due_at = ?successor.task.due_at, skipped = successor.skipped, "created the next occurrence");
            }
            Created::Existing(id) => {
                metrics::counter!(DUPLICATES_AVOIDED).increment(1);
                tracing::info!(completed = %task.id, successor = %id, series_id = %successor.series.id,
                    "the next occurrence already exists");
            }
        }
        Ok(Outcome::Successor(created))
    }
}

impl Handler for RecurringHandler {
    async fn handle(&self, message: &InboundMessage) -> Result<(), HandlerError> {
        self.process(message).await.map(drop)
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};
    use event_schema::{
        Envelope, EventPayload, Priority, Recurrence, RecurrenceAnchor, TaskCreated, TaskSnapshot, TaskStatus,
    };
    use service_runtime::client::{ClientSettings, DevelopmentTokenSettings, TokenSettings};
    use uuid::Uuid;

    use super::*;

    /// A handler whose task-api is never reached: the paths tested here make no call.
    fn handler() -> RecurringHandler {
        let settings = ClientSettings {
            base_url: "http://127.0.0.1:9".into(),
            token: TokenSettings {
                development: DevelopmentTokenSettings {
                    service: "recurring-task".into(),
                    hs256_secret: Some("a-development-secret-of-32-bytes-or-more".into()),
                    ..Default::default()
                },
                ..Default::default()
            },
            ..Default::default()
        };
        RecurringHandler::new(TaskApi::new(&settings).expect("client"))
    }

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().expect("an instant")
    }

    /// A daily task due 2030-01-07 09:00 UTC, completed on time; `rrule` `None`: not recurring.
    fn completed(rrule: Option<&str>) -> TaskSnapshot {
        let id = Uuid::now_v7();
        let due = at("2030-01-07T09:00:00Z");
        TaskSnapshot {
            id,
            title: "Water the plants".into(),
            description: None,
            status: TaskStatus::Completed,
            completed_at: Some(at("2030-01-07T08:00:00Z")),
            priority: Priority::None,
            tags: vec![],
            due_at: Some(due),
            time_zone: "UTC".into(),
            reminders: vec![],
            recurrence: rrule.map(|rrule| Recurrence { rrule: rrule.into(), anchor: RecurrenceAnchor::Due }),
            series_id: rrule.map(|_| id),
            occurrence_at: rrule.map(|_| due),
            series_start: rrule.map(|_| due),
            occurrence_number: rrule.map(|_| 1),
            follows: None,
            created_at: at("2030-01-01T00:00:00Z"),
            updated_at: at("2030-01-07T08:00:00Z"),
            version: 2,
        }
    }

    fn message<P: EventPayload + serde::Serialize>(payload: P, task: &TaskSnapshot) -> InboundMessage {
        let envelope = Envelope::new("/taskstream/task-api", task.id.to_string(), "alice", task.version, payload);
        InboundMessage::with_payload("task-events", 0, 7, envelope.to_json().expect("json"))
    }

    #[tokio::test]
    async fn events_other_than_a_completion_are_ignored() {
        let task = completed(Some("FREQ=DAILY"));
        let created = message(TaskCreated { task: task.clone() }, &task);

        assert_eq!(handler().process(&created).await.expect("handled"), Outcome::Ignored);
    }

    #[tokio::test]
    async fn completing_a_task_without_a_recurrence_is_ignored() {
        let task = completed(None);

        assert_eq!(
            handler().process(&message(TaskCompleted { task: task.clone() }, &task)).await.expect("handled"),
            Outcome::Ignored
        );
    }

    #[tokio::test]
    async fn completing_the_last_occurrence_of_a_series_ends_it_without_calling_task_api() {
        let task = completed(Some("FREQ=DAILY;COUNT=1"));

        let outcome = handler().process(&message(TaskCompleted { task: task.clone() }, &task)).await;

        assert_eq!(outcome.expect("handled"), Outcome::Ended);
    }

    #[tokio::test]
    async fn a_record_that_is_not_an_event_is_a_permanent_failure() {
        let garbage = InboundMessage::with_payload("task-events", 0, 8, "{\"specversion\": \"1.0\", oops");

        let error = handler().process(&garbage).await.expect_err("refused");

        assert!(matches!(error, HandlerError::Permanent(_)), "{error}");
        assert!(error.reason().contains("not a CloudEvents JSON envelope"), "{}", error.reason());
    }
}
