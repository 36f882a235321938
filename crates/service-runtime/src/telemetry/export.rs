//! The OTLP/HTTP exporter (protobuf) and the tracer provider behind the `tracing` layer.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{ExporterBuildError, Protocol, SpanExporter, WithExportConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{Sampler, SdkTracer, SdkTracerProvider};

use super::TelemetrySettings;

/// The OTLP/HTTP path of traces under the endpoint (as `OTEL_EXPORTER_OTLP_ENDPOINT` means it).
const TRACES_PATH: &str = "/v1/traces";

/// A provider exporting `service`'s spans to `endpoint` in batches (every 5 s or 512 spans,
/// from the batch processor's own thread, so exporting never blocks a runtime worker).
pub(super) fn provider(
    service: &str,
    endpoint: &str,
    settings: &TelemetrySettings,
) -> Result<SdkTracerProvider, ExporterBuildError> {
    let exporter = SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(traces_url(endpoint))
        .build()?;
    let sampler = Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(settings.sampling_ratio)));
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_sampler(sampler)
        .with_resource(Resource::builder().with_service_name(service.to_owned()).build())
        .build())
}

/// The tracer the `tracing` layer records with.
pub(super) fn tracer(provider: &SdkTracerProvider, service: &str) -> SdkTracer {
    provider.tracer(service.to_owned())
}

fn traces_url(endpoint: &str) -> String {
    format!("{}{TRACES_PATH}", endpoint.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traces_go_to_the_v1_traces_path_of_the_endpoint() {
        assert_eq!(traces_url("http://collector:4318"), "http://collector:4318/v1/traces");
        assert_eq!(traces_url("http://collector:4318/"), "http://collector:4318/v1/traces");
    }
}
