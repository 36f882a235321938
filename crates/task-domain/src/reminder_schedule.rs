//! When a task's reminders fire ([`effective_reminders`]) and which `reminder.scheduled` /
//! `reminder.cancelled` events a change of the task calls for ([`reminder_events`]).

use chrono::{DateTime, SecondsFormat, Utc};
use event_schema::{CancelReason, ReminderCancelled, ReminderScheduled, TaskStatus};
use uuid::Uuid;

use crate::reminder::Reminder;
use crate::task::Task;

/// One reminder of a task, at the instant it fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReminderInstant {
    /// Stable id: see [`reminder_id`].
    pub reminder_id: Uuid,
    /// When it fires.
    pub remind_at: DateTime<Utc>,
    /// The rule that produced it.
    pub rule: Reminder,
}

/// The id of the reminder that `rule` produces for task `task_id` at `remind_at`: a UUIDv5
/// in the namespace of the task id, over `"{canonical rule}@{instant}"` (the instant in
/// RFC 3339 UTC with microseconds). The same task, rule and instant always give the same
/// id, so repeated events schedule nothing twice, and a changed instant is a new reminder.
pub fn reminder_id(task_id: Uuid, rule: &Reminder, remind_at: DateTime<Utc>) -> Uuid {
    let name = format!("{}@{}", rule.canonical(), remind_at.to_rfc3339_opts(SecondsFormat::Micros, true));
    Uuid::new_v5(&task_id, name.as_bytes())
}

/// The task's active reminders, earliest first: `before_due` rules at `due_at` minus the
/// offset (days counted in the task's time zone), `at` rules at their instant. Past instants
/// are included (see [`reminder_events`]). A completed task has none.
pub fn effective_reminders(task: &Task) -> Vec<ReminderInstant> {
    if task.status() == TaskStatus::Completed {
        return Vec::new();
    }
    let mut instants: Vec<_> = task
        .reminders()
        .iter()
        .filter_map(|rule| {
            let remind_at = rule.instant(task.due_at(), task.time_zone())?;
            Some(ReminderInstant { reminder_id: reminder_id(task.id(), rule, remind_at), remind_at, rule: *rule })
        })
        .collect();
    instants.sort_by_key(|i| (i.remind_at, i.reminder_id));
    instants
}

/// The reminder events one change of a task calls for: publish the cancellations first,
/// then the schedules.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReminderEvents {
    /// `reminder.cancelled` payloads.
    pub cancelled: Vec<ReminderCancelled>,
    /// `reminder.scheduled` payloads.
    pub scheduled: Vec<ReminderScheduled>,
}

impl ReminderEvents {
    /// Whether the change calls for no reminder event.
    pub fn is_empty(&self) -> bool {
        self.cancelled.is_empty() && self.scheduled.is_empty()
    }
}

/// The reminder events for a change from `before` to `after`: `None` before a creation,
/// `None` after a deletion.
///
/// - A reminder active before and not after is cancelled: `task_deleted` on deletion,
///   `task_completed` on completion, otherwise `rescheduled` when its rule is still on the
///   task (the due date or time zone moved it) and `removed` when the rule is gone.
/// - A reminder active after and not before is scheduled: on creation, on a new rule or
///   instant, and on reopening (every instant, past ones too).
/// - A reminder active on both sides is scheduled again, with the same id, when the title or
///   `due_at` changed, so that its message is current: `reminder.scheduled` is an upsert
///   keyed by `reminder_id`.
///
/// Past instants are scheduled like future ones: whether a late reminder is still worth
/// sending is the notification service's decision (it knows its own delivery lag);
/// task-api does not read a clock here.
pub fn reminder_events(before: Option<&Task>, after: Option<&Task>) -> ReminderEvents {
    let old = before.map(effective_reminders).unwrap_or_default();
    let new = after.map(effective_reminders).unwrap_or_default();
    let mut events = ReminderEvents::default();

    if let Some(before) = before {
        let reason_for_all = match after {
            None => Some(CancelReason::TaskDeleted),
            Some(after) if after.status() == TaskStatus::Completed => Some(CancelReason::TaskCompleted),
            Some(_) => None,
        };
        for gone in old.iter().filter(|o| !new.iter().any(|n| n.reminder_id == o.reminder_id)) {
            let reason = reason_for_all.unwrap_or_else(|| {
                let kept = after.is_some_and(|a| a.reminders().iter().any(|r| *r == gone.rule));
                if kept { CancelReason::Rescheduled } else { CancelReason::Removed }
            });
            events.cancelled.push(ReminderCancelled {
                reminder_id: gone.reminder_id,
                task_id: before.id(),
                remind_at: gone.remind_at,
                reason,
            });
        }
    }

    if let Some(after) = after {
        let text_changed = before.is_some_and(|b| b.title() != after.title() || b.due_at() != after.due_at());
        for instant in new.iter().filter(|n| text_changed || !old.iter().any(|o| o.reminder_id == n.reminder_id)) {
            events.scheduled.push(ReminderScheduled {
                reminder_id: instant.reminder_id,
                task_id: after.id(),
                remind_at: instant.remind_at,
                due_at: after.due_at(),
                title: after.title().as_str().to_owned(),
                rule: (&instant.rule).into(),
            });
        }
    }
    events
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::testing::{now, task, utc, valid_patch};

    fn patched(task: &Task, body: &Value) -> Task {
        let mut next = task.clone();
        next.apply(valid_patch(body), now()).expect("applies");
        next
    }

    fn with_reminders() -> Task {
        task(&json!({
            "title": "Dentist",
            "due_at": "2026-03-02T09:00:00Z",
            "reminders": [{"before_due": "PT1H"}, {"at": "2026-03-01T18:00:00Z"}]
        }))
    }

    fn reasons(events: &ReminderEvents) -> Vec<(DateTime<Utc>, CancelReason)> {
        events.cancelled.iter().map(|c| (c.remind_at, c.reason)).collect()
    }

    fn scheduled_at(events: &ReminderEvents) -> Vec<DateTime<Utc>> {
        events.scheduled.iter().map(|s| s.remind_at).collect()
    }

    #[test]
    fn effective_reminders_are_the_due_time_minus_the_offset_and_the_fixed_instants_earliest_first() {
        let instants = effective_reminders(&with_reminders());

        let at: Vec<_> = instants.iter().map(|i| i.remind_at).collect();
        assert_eq!(at, [utc("2026-03-01T18:00:00Z"), utc("2026-03-02T08:00:00Z")]);
    }

    #[test]
    fn a_completed_task_has_no_active_reminders() {
        let mut task = with_reminders();
        task.complete(now());

        assert_eq!(effective_reminders(&task), []);
    }

    #[test]
    fn reminder_ids_are_deterministic_and_differ_by_task_rule_and_instant() {
        let task_id = Uuid::now_v7();
        let rule = Reminder::At(utc("2026-03-01T18:00:00Z"));
        let at = utc("2026-03-01T18:00:00Z");

        let id = reminder_id(task_id, &rule, at);

        assert_eq!(id, reminder_id(task_id, &rule, at));
        assert_eq!(id.get_version_num(), 5);
        assert_ne!(id, reminder_id(Uuid::now_v7(), &rule, at));
        assert_ne!(id, reminder_id(task_id, &rule, utc("2026-03-01T18:00:01Z")));
        let other_rule = effective_reminders(&with_reminders())[1].rule;
        assert_ne!(id, reminder_id(task_id, &other_rule, at));
    }

    #[test]
    fn the_same_task_gives_the_same_reminder_ids_every_time() {
        let task = with_reminders();

        assert_eq!(effective_reminders(&task), effective_reminders(&task.clone()));
    }

    #[test]
    fn creating_a_task_schedules_each_reminder_with_the_message_text() {
        let task = with_reminders();

        let events = reminder_events(None, Some(&task));

        assert_eq!(events.cancelled, []);
        assert_eq!(scheduled_at(&events), [utc("2026-03-01T18:00:00Z"), utc("2026-03-02T08:00:00Z")]);
        assert!(events.scheduled.iter().all(|s| s.title == "Dentist" && s.due_at == task.due_at()));
        assert_eq!(json!(events.scheduled[1].rule), json!({"before_due": "PT1H"}));
    }

    #[test]
    fn moving_the_due_date_reschedules_before_due_reminders_and_refreshes_the_others() {
        let before = with_reminders();
        let after = patched(&before, &json!({"due_at": "2026-03-03T09:00:00Z"}));

        let events = reminder_events(Some(&before), Some(&after));

        assert_eq!(reasons(&events), [(utc("2026-03-02T08:00:00Z"), CancelReason::Rescheduled)]);
        // The `at` reminder keeps its id and is scheduled again with the new due date.
        assert_eq!(scheduled_at(&events), [utc("2026-03-01T18:00:00Z"), utc("2026-03-03T08:00:00Z")]);
        assert_eq!(events.scheduled[0].reminder_id, effective_reminders(&before)[0].reminder_id);
    }

    #[test]
    fn removing_a_rule_cancels_its_reminder_as_removed_and_schedules_nothing() {
        let before = with_reminders();
        let after = patched(&before, &json!({"reminders": [{"at": "2026-03-01T18:00:00Z"}]}));

        let events = reminder_events(Some(&before), Some(&after));

        assert_eq!(reasons(&events), [(utc("2026-03-02T08:00:00Z"), CancelReason::Removed)]);
        assert_eq!(events.scheduled, []);
    }

    #[test]
    fn a_change_that_touches_no_reminder_publishes_nothing() {
        let before = with_reminders();
        let after = patched(&before, &json!({"priority": "high", "tags": ["health"]}));

        assert!(reminder_events(Some(&before), Some(&after)).is_empty());
    }

    #[test]
    fn completing_a_task_cancels_every_reminder_as_task_completed() {
        let before = with_reminders();
        let mut after = before.clone();
        after.complete(now());

        let events = reminder_events(Some(&before), Some(&after));

        assert_eq!(events.cancelled.len(), 2);
        assert!(events.cancelled.iter().all(|c| c.reason == CancelReason::TaskCompleted && c.task_id == before.id()));
        assert_eq!(events.scheduled, []);
    }

    #[test]
    fn deleting_a_task_cancels_every_reminder_as_task_deleted() {
        let task = with_reminders();

        let events = reminder_events(Some(&task), None);

        assert_eq!(events.cancelled.len(), 2);
        assert!(events.cancelled.iter().all(|c| c.reason == CancelReason::TaskDeleted));
    }

    #[test]
    fn deleting_a_completed_task_cancels_nothing_more() {
        let mut task = with_reminders();
        task.complete(now());

        assert!(reminder_events(Some(&task), None).is_empty());
    }

    #[test]
    fn reopening_a_task_schedules_every_instant_again_with_the_same_ids() {
        let open = with_reminders();
        let mut completed = open.clone();
        completed.complete(now());
        let mut reopened = completed.clone();
        reopened.reopen(now());

        let events = reminder_events(Some(&completed), Some(&reopened));

        let ids: Vec<_> = events.scheduled.iter().map(|s| s.reminder_id).collect();
        let original: Vec<_> = effective_reminders(&open).iter().map(|i| i.reminder_id).collect();
        assert_eq!(ids, original);
        assert_eq!(events.cancelled, []);
    }

    #[test]
    fn changing_the_time_zone_reschedules_day_based_reminders_only() {
        let before = task(&json!({
            "title": "t",
            "due_at": "2026-03-30T07:00:00Z",
            "time_zone": "UTC",
            "reminders": [{"before_due": "P2D"}, {"before_due": "PT1H"}]
        }));
        let after = patched(&before, &json!({"time_zone": "Europe/Berlin"}));

        let events = reminder_events(Some(&before), Some(&after));

        // Two days before 09:00 CEST on the 30th is 09:00 CET on the 28th: 08:00Z, not 07:00Z.
        assert_eq!(reasons(&events), [(utc("2026-03-28T07:00:00Z"), CancelReason::Rescheduled)]);
        assert_eq!(scheduled_at(&events), [utc("2026-03-28T08:00:00Z")]);
    }
}
