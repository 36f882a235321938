//! Creates the next occurrence of a recurring task (RFC 5545 RRULE, time-zone aware) when
//! one is completed, exactly once even if events are redelivered.
//!
//! Status: skeleton ([`service_runtime::skeleton`]): it loads its settings, creates its topics,
//! serves `/healthz`, `/readyz` and `/metrics`, and shuts down cleanly. It deliberately joins no
//! consumer group yet.

/// Service name: client id, logs, metrics.
pub const SERVICE: &str = "recurring-task";

/// Built-in defaults, beneath `config/*.yaml` and the environment.
pub const DEFAULTS: &[(&str, &str)] = &[("consumer.group_id", "recurring-task")];
