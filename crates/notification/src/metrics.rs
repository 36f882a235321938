//! The notification service's metric names (Prometheus, on `/metrics`).

/// Gauge: entries waiting to fire.
pub const SCHEDULED: &str = "taskstream_notification_scheduled";
/// Gauge: due entries held back because their partition is not handled up to their time.
pub const HELD: &str = "taskstream_notification_held";
/// Histogram: seconds between an entry's time and its firing.
pub const LATENESS: &str = "taskstream_notification_firing_lateness_seconds";
/// Counter: deliveries by `channel` (`inbox`, `email`, `webhook`) and `outcome` (`delivered`,
/// `retry`, `failed`, `disabled`).
pub const DELIVERIES: &str = "taskstream_notification_deliveries_total";
/// Counter: attempts scheduled again after a failure, by `channel`.
pub const RETRIES: &str = "taskstream_notification_retries_total";
/// Counter: entries recorded as expired instead of delivered (later than max lateness).
pub const EXPIRED: &str = "taskstream_notification_expired_total";
/// Counter: entries claimed again: a retry was due, or their owner's lease ended (it died
/// mid-delivery) and another replica took them over.
pub const RECLAIMED: &str = "taskstream_notification_reclaimed_total";
/// Counter: `reminder.*` events by `event_type` and `outcome` (`applied`, `stale`).
pub const EVENTS_APPLIED: &str = "taskstream_notification_events_total";
