//! What completing a recurring task leads to: [`next_occurrence`], a pure function of the
//! snapshot a `task.completed` event carries, so that the recurring-task service (and its
//! tests) can compute the successor without a clock or storage. The semantics are written
//! down in `docs/recurrence.md`; each has a test below.

use event_schema::{RecurrenceAnchor, ReminderRule, SeriesPosition, TaskSnapshot};
use serde_json::{Value, json};

use crate::error::ValidationErrors;
use crate::input::NewTask;
use crate::task::Task;

/// What completing a task leads to.
#[derive(Debug, Clone, PartialEq)]
#[allow(
    clippy::large_enum_variant,
    reason = "one value per completed task, matched at once; the recurring-task service builds on this shape"
)]
pub enum NextOccurrence {
    /// Create this successor (the body of `POST /v1/tasks`, with `series` set).
    Create(Successor),
    /// The series ended (`COUNT` reached, `UNTIL` passed, or no occurrence within the horizon).
    Ended,
    /// The task has no recurrence, no `due_at`, or is not completed: nothing to do.
    NotRecurring,
}

/// The next task of a series.
#[derive(Debug, Clone, PartialEq)]
pub struct Successor {
    /// Title, description, priority, tags, time zone and recurrence copied; `due_at` the next
    /// occurrence; `before_due` reminders unchanged (they follow the new `due_at`), `at`
    /// reminders shifted by as much as `due_at` moved.
    pub task: NewTask,
    /// The successor's place in the series.
    pub series: SeriesPosition,
    /// Occurrences that were already due at completion and were skipped (anchor `due`).
    pub skipped: u32,
}

impl Successor {
    /// The JSON body of `POST /v1/tasks` that creates the successor.
    pub fn body(&self) -> Value {
        let t = &self.task;
        json!({
            "title": t.title,
            "description": t.description,
            "priority": t.priority,
            "tags": t.tags,
            "due_at": t.due_at,
            "time_zone": t.time_zone,
            "reminders": t.reminders,
            "recurrence": t.recurrence,
            "series": self.series,
        })
    }
}

/// From the snapshot carried by a `task.completed` event (status completed, `completed_at`
/// set). An error means the snapshot is not a valid task (it names the fields); retrying
/// cannot help.
///
/// - anchor `due`: the successor is the first occurrence of the rule (started at
///   `series_start`) strictly after both the completed occurrence and the completion;
///   occurrences in between are skipped and counted in [`Successor::skipped`], and its
///   `occurrence_number` counts them too, so `COUNT` is never exceeded;
/// - anchor `completion`: the schedule restarts on the local day of the completion at the
///   due time of day; the successor is its first occurrence after the completion, its
///   `series_start` that restart point, and its number one more than the completed one's
///   (so `COUNT=n` still means n tasks);
/// - a snapshot without `series_start` (written before these fields existed) is read as
///   occurrence 1 of a series starting at its `occurrence_at` (or `due_at`).
pub fn next_occurrence(completed: &TaskSnapshot) -> Result<NextOccurrence, ValidationErrors> {
    let task = Task::restore(String::new(), completed.clone())?;
    Ok(successor_of(&task))
}

fn successor_of(task: &Task) -> NextOccurrence {
    let (Some(rule), Some(due_at), Some(completed_at)) = (task.recurrence(), task.due_at(), task.completed_at()) else {
        return NextOccurrence::NotRecurring;
    };
    let zone = task.time_zone();
    let occurrence_at = task.occurrence_at().unwrap_or(due_at);
    let start = task.series_start().unwrap_or(occurrence_at);
    let number = task.occurrence_number().unwrap_or(1);
    let next = match rule.anchor() {
        RecurrenceAnchor::Due => rule
            .next_numbered_after(start, zone, occurrence_at.max(completed_at))
            .map(|(n, at)| (start, n, at, n.saturating_sub(number).saturating_sub(1))),
        RecurrenceAnchor::Completion => {
            let n = number.saturating_add(1);
            let restart = task.restart_at(completed_at, due_at);
            rule.count()
                .is_none_or(|count| n <= count)
                .then(|| rule.next_after_uncounted(restart, zone, restart.max(completed_at)))
                .flatten()
                .map(|at| (restart, n, at, 0))
        }
    };
    let Some((start, occurrence_number, at, skipped)) = next else { return NextOccurrence::Ended };
    let shift = at - due_at;
    let reminders = task
        .reminders()
        .to_wire()
        .into_iter()
        .map(|r| match r {
            ReminderRule::At { at } => ReminderRule::At { at: at + shift },
            before_due => before_due,
        })
        .collect();
    NextOccurrence::Create(Successor {
        task: NewTask {
            title: task.title().as_str().to_owned(),
            description: task.description().map(|d| d.as_str().to_owned()),
            priority: task.priority(),
            tags: task.tags().as_slice().to_vec(),
            due_at: Some(at),
            time_zone: Some(zone.name().to_owned()),
            reminders,
            recurrence: Some(rule.into()),
        },
        series: SeriesPosition {
            id: task.series_id().unwrap_or(task.id()),
            start,
            occurrence_at: at,
            occurrence_number,
            follows: Some(occurrence_at),
        },
        skipped,
    })
}

#[cfg(test)]
mod tests;
