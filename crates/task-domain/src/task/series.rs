//! A task's position in its recurring series: starting a series, joining one as a successor,
//! and restarting the position when a patch changes what the schedule depends on. The rules
//! are written down in `docs/recurrence.md`.

use chrono::{DateTime, SubsecRound, Utc};
use event_schema::SeriesPosition;

use super::Task;
use crate::error::{FieldError, Rule, ValidationErrors};
use crate::input::ValidNewTask;
use crate::instant::check_instant;

impl Task {
    /// A new open task that joins an existing series at `series` (a successor, created by
    /// the recurring-task service). Like [`Task::create`], plus the position's rules: the
    /// task needs a recurrence and `due_at == series.occurrence_at`, the number is at least 1
    /// and within the rule's `COUNT`, the start is not after the occurrence, and the
    /// predecessor (`follows`) is before it. Errors name `series` or `series.<field>`.
    pub fn create_in_series(
        new: ValidNewTask,
        owner: impl Into<String>,
        now: DateTime<Utc>,
        series: SeriesPosition,
    ) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let mut instant = |field: &str, t: DateTime<Utc>| match check_instant(t) {
            Ok(t) => Some(t),
            Err(v) => {
                errors.push(v.at(format!("series.{field}")));
                None
            }
        };
        let start = instant("start", series.start);
        let occurrence_at = instant("occurrence_at", series.occurrence_at);
        let follows = series.follows.and_then(|f| instant("follows", f));
        match &new.recurrence {
            None => {
                errors.push(FieldError::new("series", Rule::RequiresRecurrence, "needs the task to have a recurrence"))
            }
            Some(rule) => {
                if rule.count().is_some_and(|count| series.occurrence_number > count) {
                    errors.push(FieldError::new(
                        "series.occurrence_number",
                        Rule::Range,
                        format!("is beyond the rule's COUNT ({})", rule.count().unwrap_or_default()),
                    ));
                }
            }
        }
        if series.occurrence_number == 0 {
            errors.push(FieldError::new("series.occurrence_number", Rule::Range, "must be at least 1"));
        }
        if let Some(occurrence_at) = occurrence_at {
            if new.due_at != Some(occurrence_at) {
                errors.push(FieldError::new("series.occurrence_at", Rule::Inconsistent, "must equal due_at"));
            }
            if start.is_some_and(|start| start > occurrence_at) {
                errors.push(FieldError::new("series.start", Rule::Range, "must not be after occurrence_at"));
            }
            if follows.is_some_and(|follows| follows >= occurrence_at) {
                errors.push(FieldError::new("series.follows", Rule::Range, "must be before occurrence_at"));
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let mut task = Self::create(new, owner, now);
        task.series_id = Some(series.id);
        task.occurrence_at = occurrence_at;
        task.series_start = start;
        task.occurrence_number = Some(series.occurrence_number);
        task.follows = follows;
        Ok(task)
    }

    /// Where the task stands in its series, if it is in one.
    pub fn series_position(&self) -> Option<SeriesPosition> {
        Some(SeriesPosition {
            id: self.series_id?,
            start: self.series_start.or(self.occurrence_at)?,
            occurrence_at: self.occurrence_at?,
            occurrence_number: self.occurrence_number.unwrap_or(1),
            follows: self.follows,
        })
    }

    /// A recurring task that is in no series starts its own, as its first occurrence.
    pub(super) fn join_series(&mut self) {
        if self.recurrence.is_some() && self.series_id.is_none() {
            self.series_id = Some(self.id);
            self.follows = None;
            self.restart_series();
        }
    }

    /// After a patch (`before` is the task as it was): a task given a recurrence starts a
    /// series; a change of the recurrence or the time zone restarts the series' position at
    /// this task, as does moving the `due_at` of a series' first task (whose `due_at` is
    /// the schedule's start). Moving the `due_at` of a later occurrence moves that task only:
    /// `occurrence_at` keeps its slot on the schedule. Removing the recurrence ends the
    /// series and keeps the position fields as a record.
    pub(super) fn place_in_series(&mut self, before: &Task) {
        if self.recurrence.is_none() {
            return;
        }
        if self.series_id.is_none() {
            self.join_series();
            return;
        }
        let schedule_changed = self.recurrence != before.recurrence || self.time_zone != before.time_zone;
        let first_moved = self.due_at != before.due_at && self.follows.is_none();
        if schedule_changed || first_moved {
            self.restart_series();
        }
    }

    /// This task becomes occurrence 1 of the schedule starting at its `due_at`.
    fn restart_series(&mut self) {
        self.occurrence_at = self.due_at;
        self.series_start = self.due_at;
        self.occurrence_number = Some(1);
    }

    /// Where a completion-anchored schedule restarts: the local day of `completed_at`, at the
    /// wall-clock time of `due_at`, in the task's time zone (a time in a DST gap moves
    /// forward by the gap, see [`TimeZone::instant_of`](crate::TimeZone::instant_of)).
    pub(crate) fn restart_at(&self, completed_at: DateTime<Utc>, due_at: DateTime<Utc>) -> DateTime<Utc> {
        let tz = self.time_zone.tz();
        let local = completed_at.with_timezone(&tz).date_naive().and_time(due_at.with_timezone(&tz).time());
        self.time_zone.instant_of(local).trunc_subsecs(6)
    }
}
