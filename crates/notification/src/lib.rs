//! Keeps a durable schedule of due-date reminders and delivers each, once, on time.
//!
//! Status: skeleton ([`service_runtime::skeleton`]): it loads its settings, creates its topics,
//! serves `/healthz`, `/readyz` and `/metrics`, and shuts down cleanly. It deliberately joins no
//! consumer group yet.

/// Service name: client id, logs, metrics.
pub const SERVICE: &str = "notification";

/// Built-in defaults, beneath `config/*.yaml` and the environment.
pub const DEFAULTS: &[(&str, &str)] = &[("consumer.group_id", "notification")];
pub mod channels;
pub mod endpoints;
