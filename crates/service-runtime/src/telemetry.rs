//! Logging and tracing set-up.

use std::io::IsTerminal;

use tracing_subscriber::{EnvFilter, fmt, prelude::*};

/// Installs the global subscriber: filter from `RUST_LOG` (default `info`), JSON lines when
/// stdout is not a terminal (containers, CI), human-readable otherwise. Calling it again is a
/// no-op, so tests may call it freely.
pub fn init(service: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,librdkafka=warn,rdkafka=warn"));
    let registry = tracing_subscriber::registry().with(filter);
    let result = if std::io::stdout().is_terminal() {
        registry.with(fmt::layer().with_target(true)).try_init()
    } else {
        registry.with(fmt::layer().json().flatten_event(true).with_current_span(true)).try_init()
    };
    if result.is_ok() {
        tracing::info!(service, version = env!("CARGO_PKG_VERSION"), "telemetry initialised");
    }
}
