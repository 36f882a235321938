//! The audit service's own metrics (the runtime adds consumer lag, handling and dead letters).

/// Entries recorded. Label: `event_type` (a known type, or `unknown`).
pub const RECORDED: &str = "taskstream_audit_events_recorded_total";
/// Events skipped because they were already recorded (redeliveries, replays).
pub const DUPLICATES: &str = "taskstream_audit_duplicates_skipped_total";
/// Entries recorded with a type (or version) this build does not know (each is logged with
/// its type).
pub const UNKNOWN_TYPES: &str = "taskstream_audit_unknown_types_total";
/// Entries deleted by retention.
pub const RETENTION_DELETED: &str = "taskstream_audit_retention_deleted_total";
/// Retention runs. Label: `outcome` (`ok` | `error`).
pub const RETENTION_RUNS: &str = "taskstream_audit_retention_runs_total";
/// Chain verifications. Label: `outcome` (`ok` | `broken` | `error`).
pub const VERIFICATIONS: &str = "taskstream_audit_verifications_total";
