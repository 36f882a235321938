//! Logging and tracing set-up, and trace context across HTTP and Kafka.
//!
//! Logs always go to stdout ([`init`]). Traces are exported over OTLP only when an endpoint
//! is set (`OTEL_EXPORTER_OTLP_ENDPOINT`; off by default): every `tracing` span at an enabled
//! level then becomes an OpenTelemetry span of the service (`service.name` = the service's
//! name), sent in batches from a thread of the exporter's own. One request is one trace from
//! task-api through Kafka into every consumer:
//!
//! ```text
//! HTTP request (task-api, parent: the caller's `traceparent` header, if any)
//!  └─ outbox relay: send <topic>      (parent: the event's `traceparent`, i.e. the request span)
//!      └─ consumer: process <topic>   (parent: the record's `traceparent` header, i.e. the send span)
//! ```
//!
//! The event's envelope keeps the request span's `traceparent` (its CloudEvents extension,
//! written in the writer's transaction and immutable afterwards); the relay adds a Kafka header
//! `traceparent` naming its send span, which consumers prefer, falling back to the envelope's
//! (records from a producer that sets no header, or exported with traces off). With traces off
//! no header is added and the envelope carries the caller's `traceparent` (or a new trace), as
//! before. See docs/observability.md.
//!
//! # Layout
//! - this file: [`init`], [`init_with`], [`flush`], [`TelemetrySettings`].
//! - `export`: the OTLP/HTTP exporter and tracer provider.
//! - [`propagation`]: `traceparent` in and out of spans, and where a record carries it.
//! - [`spans`]: the spans of the chain: an HTTP request (axum middleware), an outbox send, a
//!   consumed record.

mod export;
pub mod propagation;
pub mod spans;

use std::io::IsTerminal;
use std::sync::OnceLock;

use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::{EnvFilter, fmt, prelude::*};

/// The standard variable naming the OTLP/HTTP endpoint (`http://collector:4318`); traces go to
/// `<endpoint>/v1/traces`. Unset or empty: no traces are exported.
pub const OTLP_ENDPOINT_VAR: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
/// The standard variable with the sampling ratio of new traces (0.0 to 1.0; default 1.0).
/// Parent-based: a trace continued from a caller keeps the caller's decision.
pub const SAMPLER_ARG_VAR: &str = "OTEL_TRACES_SAMPLER_ARG";
/// The standard switch that turns the SDK off (`true`) whatever the endpoint says.
pub const SDK_DISABLED_VAR: &str = "OTEL_SDK_DISABLED";

/// The provider [`init_with`] installed, for [`flush`].
static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();

/// Where traces go. The standard OpenTelemetry variables set it ([`TelemetrySettings::from_env`]),
/// not the `APP__…` settings: collectors and operators (the OpenTelemetry Operator injects
/// them) already speak them, and every service's `main` reads them the same way.
#[derive(Debug, Clone, PartialEq)]
pub struct TelemetrySettings {
    /// OTLP/HTTP base URL (`/v1/traces` is appended); `None`: traces are not exported.
    pub otlp_endpoint: Option<String>,
    /// Share of new traces recorded, 0.0 to 1.0 (parent-based: continued traces follow the
    /// caller's sampled flag).
    pub sampling_ratio: f64,
}

impl Default for TelemetrySettings {
    fn default() -> Self {
        Self { otlp_endpoint: None, sampling_ratio: 1.0 }
    }
}

impl TelemetrySettings {
    /// From `OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_TRACES_SAMPLER_ARG` and `OTEL_SDK_DISABLED`.
    /// (The exporter itself also honours `OTEL_EXPORTER_OTLP_HEADERS` and
    /// `OTEL_EXPORTER_OTLP_TIMEOUT`.)
    pub fn from_env() -> Self {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    fn from_vars(var: impl Fn(&str) -> Option<String>) -> Self {
        let disabled = var(SDK_DISABLED_VAR).is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
        let otlp_endpoint = var(OTLP_ENDPOINT_VAR).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty() && !disabled);
        let sampling_ratio = var(SAMPLER_ARG_VAR)
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|r| (0.0..=1.0).contains(r))
            .unwrap_or(1.0);
        Self { otlp_endpoint, sampling_ratio }
    }
}

/// Installs the global subscriber with the settings of the standard variables
/// ([`TelemetrySettings::from_env`]). See [`init_with`].
pub fn init(service: &str) {
    init_with(service, &TelemetrySettings::from_env());
}

/// Installs the global subscriber: filter from `RUST_LOG` (default `info`), JSON lines when
/// stdout is not a terminal (containers, CI), human-readable otherwise; and, when
/// `settings.otlp_endpoint` is set, span export over OTLP/HTTP as `service`. Calling it again
/// is a no-op (the first call's subscriber stays), so tests may call it freely.
///
/// Spans are exported only at the levels the filter enables: the spans of the chain are at
/// `info`.
pub fn init_with(service: &str, settings: &TelemetrySettings) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,librdkafka=warn,rdkafka=warn"));
    let provider = settings.otlp_endpoint.as_deref().map(|endpoint| export::provider(service, endpoint, settings));
    let (provider, refused) = match provider {
        Some(Ok(provider)) => (Some(provider), None),
        Some(Err(error)) => (None, Some(error)),
        None => (None, None),
    };
    let traces = provider.as_ref().map(|p| tracing_opentelemetry::layer().with_tracer(export::tracer(p, service)));
    let registry = tracing_subscriber::registry().with(filter).with(traces);
    let result = if std::io::stdout().is_terminal() {
        registry.with(fmt::layer().with_target(true)).try_init()
    } else {
        registry.with(fmt::layer().json().flatten_event(true).with_current_span(true)).try_init()
    };
    match (result, provider) {
        (Ok(()), provider) => {
            let exporting = provider.is_some();
            if let Some(provider) = provider {
                let _ = PROVIDER.set(provider);
            }
            tracing::info!(service, version = env!("CARGO_PKG_VERSION"), traces = exporting, "telemetry initialised");
            if let Some(error) = refused {
                tracing::warn!(error = %error, "traces are not exported: the OTLP exporter could not be built");
            }
        }
        // Another subscriber was installed first: this provider would never see a span.
        (Err(_), Some(provider)) => drop(provider.shutdown()),
        (Err(_), None) => {}
    }
}

/// Exports the spans that ended so far (at most 5 s; the batch processor's bound), so that a
/// stopping service does not lose its last batch. A no-op when traces are off. Every service
/// calls it when its serving loop ends; a provider is never shut down by one service, since
/// tests run several in one process.
pub async fn flush() {
    let Some(provider) = PROVIDER.get().cloned() else { return };
    match tokio::task::spawn_blocking(move || provider.force_flush()).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => tracing::warn!(error = %error, "spans still unexported at exit"),
        Err(error) => tracing::warn!(error = %error, "flushing spans failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(vars: &[(&str, &str)]) -> TelemetrySettings {
        TelemetrySettings::from_vars(|name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned()))
    }

    #[test]
    fn traces_are_off_unless_an_endpoint_is_set() {
        assert_eq!(settings(&[]), TelemetrySettings::default());
        assert_eq!(settings(&[(OTLP_ENDPOINT_VAR, " ")]).otlp_endpoint, None);
        assert_eq!(
            settings(&[(OTLP_ENDPOINT_VAR, "http://collector:4318")]).otlp_endpoint.as_deref(),
            Some("http://collector:4318")
        );
        assert_eq!(
            settings(&[(OTLP_ENDPOINT_VAR, "http://collector:4318"), (SDK_DISABLED_VAR, "TRUE")]).otlp_endpoint,
            None
        );
    }

    #[test]
    fn the_sampling_ratio_defaults_to_everything_and_ignores_nonsense() {
        assert_eq!(settings(&[(SAMPLER_ARG_VAR, "0.25")]).sampling_ratio, 0.25);
        for bad in ["1.5", "-0.1", "half"] {
            assert_eq!(settings(&[(SAMPLER_ARG_VAR, bad)]).sampling_ratio, 1.0, "{bad}");
        }
    }
}
