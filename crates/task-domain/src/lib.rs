//! The task domain, shared by every service that reasons about tasks: valid values, the
//! [`Task`] entity, its next occurrence and its reminder schedule. Pure: no database, HTTP,
//! Kafka or async runtime, and no clock (callers pass `now`). task-api builds on it, and the
//! notification and recurring-task consumers can compute recurrences, time-zone arithmetic
//! and reminder instants with it without depending on task-api.
//!
//! Parse, don't validate: each field is a newtype with a private value and a `parse`
//! constructor ([`Title`], [`Description`], [`Tags`], [`TimeZone`], [`ReminderOffset`],
//! [`Reminders`], [`RecurrenceRule`]); once built it is valid everywhere. A task's fields in
//! wire form ([`NewTask`], [`TaskPatch`]) validate into [`ValidNewTask`] and
//! [`ValidTaskPatch`], reporting *every* invalid field as a [`FieldError`] (`field` path,
//! `rule`, `message`), which an HTTP layer turns into an RFC 9457 422. Reading a JSON body
//! (unknown fields, wrong types) is that layer's job, not this crate's.
//!
//! # Layout
//! - `error`: [`Rule`], [`Violation`], [`FieldError`], [`ValidationErrors`].
//! - `instant`: [`parse_instant`], [`check_instant`]: instants within years 1 to 9999 in UTC.
//! - `text`: [`Title`], [`Description`].
//! - `tags`: [`Tags`].
//! - `time_zone`: [`TimeZone`].
//! - `reminder`: [`ReminderOffset`], [`Reminder`], [`Reminders`].
//! - `recurrence`: [`RecurrenceRule`], next-occurrence computation and its work budget
//!   ([`Work`]; the day screen that runs before the `rrule` iterator is `recurrence::screen`).
//! - `input`: a task's fields before validation ([`NewTask`], [`TaskPatch`]), their validated
//!   forms and the rules across fields.
//! - `task`: the [`Task`] entity: create, restore, apply a patch, complete, reopen, snapshot;
//!   `task::series` its position in a recurring series.
//! - `successor`: [`next_occurrence`]: what completing a recurring task leads to.
//! - `reminder_schedule`: [`effective_reminders`], [`reminder_id`], [`reminder_events`].
//!
//! # Decisions
//! - **Lengths** count characters (Unicode scalar values), not bytes. Titles are trimmed and
//!   may not contain control characters; descriptions are kept as written but may not
//!   contain NUL (PostgreSQL text cannot hold it).
//! - **Tags** are trimmed and lower-cased; two tags equal after that are an error naming the
//!   second (`tags[2]`, rule `duplicate`), not merged silently. Order is kept.
//! - **Unknown fields** in a body are errors (`unknown_field`), reported with all the
//!   others in the 422 rather than rejected first; server-set fields (`id`, `status`,
//!   `version`, …) get `read_only` instead. A field with the wrong JSON type (`type`) is not
//!   checked further, so it never shows a second, misleading error.
//! - **`null`** clears `description`, `due_at` and `recurrence` in a PATCH (and means absent
//!   in a POST). For the other fields `null` is an error (`not_nullable`): `"none"`, `[]`
//!   and `"UTC"` reset them. Absent means unchanged; see [`TaskPatch`].
//! - **Instants** are kept to the microsecond (what PostgreSQL stores), so a task and its
//!   reminder ids survive a round trip through storage unchanged, and must lie within years
//!   1 to 9999 once converted to UTC (`9999-12-31T23:59:59-14:00` is refused: in UTC it is
//!   in the year 10000, which RFC 3339 cannot write). Computed instants stay in that range
//!   too: a `before_due` reminder that would fire before year 1 is a validation error, and
//!   an occurrence after 9999 counts as none. See [`parse_instant`].
//! - **`before_due`** takes `PnW` or `PnDTnHnMnS`, positive, at most 366 days, stored in a
//!   canonical form (`PT90M` → `PT1H30M`). Days are nominal, as in RFC 5545: `P1D` before
//!   09:00 is 09:00 the day before in the task's time zone, across DST changes too. Years
//!   and months are refused. See [`ReminderOffset`].
//! - **Duplicate reminders** (equal after canonicalising) are an error: they would share an
//!   id.
//! - **Recurrence** accepts `HOURLY` or coarser and refuses `MINUTELY`, `SECONDLY`,
//!   `BYMINUTE` and `BYSECOND` (occurrences at least an hour apart), accepts `COUNT` and
//!   `UNTIL` (which must be UTC), caps the rule at 500 characters, and requires an occurrence
//!   after `due_at` within 10 years unless `UNTIL` has ended the series. DTSTART is the
//!   series' start (`series_start`) in the task's time zone, so `COUNT` is counted from the
//!   first task of the series; `anchor` defaults to `due`. Occurrences are expanded in
//!   wall-clock time and read as instants by RFC 5545's rules (a time in a spring gap moves
//!   forward by the gap, a repeated autumn time is the first); see `docs/recurrence.md`. Empty parts
//!   (`FREQ=DAILY;;;`) are refused. Evaluation has a work budget: a screen of at most
//!   [`RecurrenceRule::SCREEN_DAYS`] calendar days refuses rules that cannot occur in the
//!   window before the `rrule` crate's iterator runs (it would otherwise walk thousands of
//!   empty periods). See [`RecurrenceRule`].
//! - **Series**: a task created (or patched) with a recurrence and in no series starts one:
//!   `series_id` = its id, `occurrence_at` = `series_start` = its `due_at`,
//!   `occurrence_number` = 1. A successor joins one with [`Task::create_in_series`].
//!   Changing the recurrence or the time zone restarts the position at the task; moving a
//!   later occurrence's `due_at` keeps its slot (`occurrence_at`); removing the recurrence
//!   ends the series and keeps the position as a record.
//! - **Changes**: [`Task::apply`] reports changed fields in snapshot order with their JSON
//!   values; a patch that changes nothing returns no changes and does not bump `version`.
//! - **Reminder ids** are UUIDv5 in the task id's namespace over `"{rule}@{instant}"`.
//! - **Reminder events**: cancellations carry `task_completed`, `task_deleted`,
//!   `rescheduled` (the rule remains, its instant moved) or `removed`. Reopening schedules
//!   every effective instant, past ones included: whether a late reminder is still sent is
//!   the notification service's decision. A title or `due_at` change re-sends
//!   `reminder.scheduled` for unchanged reminders (same id) so their message is current, so
//!   consumers treat it as an upsert by `reminder_id`. Completed tasks have no active
//!   reminders.

mod error;
mod input;
mod instant;
mod recurrence;
mod reminder;
mod reminder_schedule;
mod successor;
mod tags;
mod task;
#[cfg(test)]
mod testing;
mod text;
mod time_zone;

pub use error::{FieldError, Rule, ValidationErrors, Violation};
pub use event_schema::SeriesPosition;
pub use input::{NewTask, TaskPatch, ValidNewTask, ValidTaskPatch};
pub use instant::{MAX_INSTANT, MIN_INSTANT, check_instant, parse_instant};
pub use recurrence::{RecurrenceRule, Work};
pub use reminder::{Reminder, ReminderOffset, Reminders};
pub use reminder_schedule::{ReminderEvents, ReminderInstant, effective_reminders, reminder_events, reminder_id};
pub use successor::{NextOccurrence, Successor, next_occurrence};
pub use tags::Tags;
pub use task::Task;
pub use text::{Description, Title};
pub use time_zone::TimeZone;
