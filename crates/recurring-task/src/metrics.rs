//! The recurring-task service's own metrics (the runtime adds consumer lag, handling and dead
//! letters; the client logs its retries).

/// Successors created in task-api (answered 201 to a first request).
pub const SUCCESSORS_CREATED: &str = "taskstream_recurring_successors_created_total";
/// Completions whose successor already existed (task-api answered with the existing task, or
/// replayed its first answer to the same `Idempotency-Key`): redeliveries, replays, and a
/// completion repeated after a reopen.
pub const DUPLICATES_AVOIDED: &str = "taskstream_recurring_duplicates_avoided_total";
/// Completions of a series' last occurrence (`COUNT` reached, `UNTIL` passed, or no occurrence
/// left before year 10000): no successor.
pub const SERIES_ENDED: &str = "taskstream_recurring_series_ended_total";
/// Occurrences passed over because they were already in the past when the previous one was
/// completed (anchor `due`: a daily task completed three days late skips two).
pub const OCCURRENCES_SKIPPED: &str = "taskstream_recurring_occurrences_skipped_total";
/// Events this service does not act on. Label `reason`: `other_type` (anything but
/// `task.completed`, or a type this build does not know) or `not_recurring` (a completed task
/// without a recurrence).
pub const EVENTS_IGNORED: &str = "taskstream_recurring_events_ignored_total";
