//! Turning a committed change of a task into its outbox rows: the `task.*` event on
//! `task-events` and the `reminder.*` events on `reminders`, in that order, all with the task's
//! new version as `sequence` and the request's trace context.

use chrono::{DateTime, Utc};
use event_schema::{
    CONTENT_TYPE, Envelope, EventPayload, FieldChange, TaskCompleted, TaskCreated, TaskDeleted, TaskReopened,
    TaskUpdated,
};
use service_runtime::outbox::OutboxEvent;
use task_domain::{Task, reminder_events};
use uuid::Uuid;

/// The CloudEvents `source` of every task-api event.
pub const SOURCE: &str = "/taskstream/task-api";

/// What the request contributes to each event's envelope.
#[derive(Debug, Clone, Default)]
pub struct EventContext {
    /// A service acting for the owner (`service:recurring-task`); `None` when the owner acted.
    pub actor: Option<String>,
    /// W3C `traceparent` of the request.
    pub traceparent: Option<String>,
    /// The request id, grouping every event of one request.
    pub correlation_id: Option<String>,
}

/// Topic names (configurable per deployment).
#[derive(Debug, Clone)]
pub struct Topics {
    /// `task-events`.
    pub task_events: String,
    /// `reminders`.
    pub reminders: String,
}

/// A change of one task.
#[derive(Debug)]
pub enum Change<'a> {
    /// Created.
    Created(&'a Task),
    /// Fields changed.
    Updated {
        /// Before.
        before: &'a Task,
        /// After.
        after: &'a Task,
        /// The changed fields.
        changes: Vec<FieldChange>,
    },
    /// Completed.
    Completed {
        /// Before.
        before: &'a Task,
        /// After.
        after: &'a Task,
    },
    /// Reopened.
    Reopened {
        /// Before.
        before: &'a Task,
        /// After.
        after: &'a Task,
    },
    /// Deleted at the given instant.
    Deleted(&'a Task, DateTime<Utc>),
}

/// The outbox rows for `change`.
pub fn outbox_events(
    change: Change<'_>,
    context: &EventContext,
    topics: &Topics,
) -> Result<Vec<OutboxEvent>, serde_json::Error> {
    let (before, after, task_event) = match change {
        Change::Created(task) => {
            (None, Some(task), envelope(task, task.version(), TaskCreated { task: task.snapshot() }, context)?)
        }
        Change::Updated { before, after, changes } => {
            let data = TaskUpdated { task: after.snapshot(), changes };
            (Some(before), Some(after), envelope(after, after.version(), data, context)?)
        }
        Change::Completed { before, after } => (
            Some(before),
            Some(after),
            envelope(after, after.version(), TaskCompleted { task: after.snapshot() }, context)?,
        ),
        Change::Reopened { before, after } => (
            Some(before),
            Some(after),
            envelope(after, after.version(), TaskReopened { task: after.snapshot() }, context)?,
        ),
        Change::Deleted(task, at) => {
            // Deleting is a change too: it gets the next version.
            let mut snapshot = task.snapshot();
            snapshot.version += 1;
            snapshot.updated_at = at;
            let version = snapshot.version;
            (Some(task), None, envelope(task, version, TaskDeleted { task: snapshot, deleted_at: at }, context)?)
        }
    };
    let sequence = task_event.0.sequence;
    let cause = task_event.0.id;
    let owner = before.or(after).map(Task::owner).unwrap_or_default().to_owned();
    let task_id = before.or(after).map(Task::id).unwrap_or_default();
    let mut rows = vec![row(task_event, &topics.task_events)];
    let reminders = reminder_events(before, after);
    for data in reminders.cancelled {
        rows.push(row(reminder(task_id, &owner, sequence, cause, data, context)?, &topics.reminders));
    }
    for data in reminders.scheduled {
        rows.push(row(reminder(task_id, &owner, sequence, cause, data, context)?, &topics.reminders));
    }
    Ok(rows)
}

type Encoded = (event_schema::EventMetadata, Vec<u8>);

fn envelope<P: EventPayload>(
    task: &Task,
    sequence: i64,
    data: P,
    context: &EventContext,
) -> Result<Encoded, serde_json::Error> {
    let mut envelope = Envelope::new(SOURCE, task.id().to_string(), task.owner(), sequence, data);
    decorate(&mut envelope.meta, context);
    let bytes = envelope.to_json()?;
    Ok((envelope.meta, bytes))
}

fn reminder<P: EventPayload>(
    task_id: Uuid,
    owner: &str,
    sequence: i64,
    cause: Uuid,
    data: P,
    context: &EventContext,
) -> Result<Encoded, serde_json::Error> {
    let mut envelope = Envelope::new(SOURCE, task_id.to_string(), owner, sequence, data);
    decorate(&mut envelope.meta, context);
    envelope.meta.causationid = Some(cause.to_string());
    let bytes = envelope.to_json()?;
    Ok((envelope.meta, bytes))
}

fn decorate(meta: &mut event_schema::EventMetadata, context: &EventContext) {
    meta.actor.clone_from(&context.actor);
    meta.traceparent.clone_from(&context.traceparent);
    meta.correlationid.clone_from(&context.correlation_id);
}

fn row((meta, payload): Encoded, topic: &str) -> OutboxEvent {
    OutboxEvent {
        event_id: meta.id,
        event_type: meta.event_type,
        topic: topic.to_owned(),
        key: meta.subject,
        payload,
        headers: vec![("content-type".to_owned(), CONTENT_TYPE.to_owned())],
    }
}
