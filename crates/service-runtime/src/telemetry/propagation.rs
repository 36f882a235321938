//! W3C `traceparent` in and out of `tracing` spans, and where a Kafka record carries it.
//!
//! With traces off (no OpenTelemetry layer installed) a span has no trace context: reading
//! one gives `None` and setting a parent does nothing, so callers keep what they did before.

use std::collections::HashMap;

use opentelemetry::Context;
use opentelemetry::propagation::TextMapPropagator as _;
use opentelemetry::trace::TraceContextExt as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// The W3C Trace Context header, as HTTP and Kafka headers and the CloudEvents extension
/// attribute name it.
pub const TRACEPARENT: &str = "traceparent";

/// Makes `span` a child of `traceparent` (a root of a new trace when `None` or malformed, not
/// a child of whatever span happens to be current: a long-lived loop's span, say). Call it
/// right after creating the span, before it is entered; a no-op when traces are off.
pub fn set_parent(span: &tracing::Span, traceparent: Option<&str>) {
    // Ignored: traces are off (no layer), the span is disabled, or it has started already.
    let _ = span.set_parent(context(traceparent));
}

/// The OpenTelemetry context that `traceparent` names (an empty one when `None` or malformed).
pub fn context(traceparent: Option<&str>) -> Context {
    let Some(value) = traceparent else { return Context::new() };
    let carrier = HashMap::from([(TRACEPARENT.to_owned(), value.to_owned())]);
    TraceContextPropagator::new().extract(&carrier)
}

/// The `traceparent` naming `span` (its trace, its own span id), or `None` when traces are off
/// (or the span is disabled).
pub fn traceparent(span: &tracing::Span) -> Option<String> {
    let context = span.context();
    if !context.span().span_context().is_valid() {
        return None;
    }
    let mut carrier = HashMap::new();
    TraceContextPropagator::new().inject_context(&context, &mut carrier);
    carrier.remove(TRACEPARENT)
}

/// The trace context a record carries: its `traceparent` header, else the `traceparent`
/// extension attribute of its CloudEvent (JSON, structured mode).
pub fn of_record<'a>(header: Option<&'a [u8]>, payload: &'a [u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Peek<'a> {
        #[serde(borrow)]
        traceparent: Option<std::borrow::Cow<'a, str>>,
    }
    header.and_then(|h| std::str::from_utf8(h).ok()).map(str::to_owned).or_else(|| {
        serde_json::from_slice::<Peek<'_>>(payload).ok().and_then(|peek| peek.traceparent).map(|t| t.into_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn a_record_header_wins_over_the_envelope_attribute() {
        let payload = br#"{"id":"x","traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}"#;

        assert_eq!(of_record(Some(PARENT.as_bytes()), payload).as_deref(), Some(PARENT));
        assert_eq!(
            of_record(None, payload).as_deref(),
            Some("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
        );
        assert_eq!(of_record(None, b"not json"), None);
        assert_eq!(of_record(None, br#"{"id":"x"}"#), None);
    }

    #[test]
    fn a_traceparent_names_its_remote_span_and_garbage_names_none() {
        let context = context(Some(PARENT));
        let span = context.span();
        let span_context = span.span_context();

        assert!(span_context.is_remote());
        assert_eq!(format!("{:032x}", span_context.trace_id()), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(format!("{:016x}", span_context.span_id()), "00f067aa0ba902b7");
        assert!(!super::context(Some("garbage")).span().span_context().is_valid());
    }

    #[test]
    fn with_the_tracing_layer_a_span_continues_its_parents_trace_with_an_id_of_its_own() {
        use opentelemetry::trace::TracerProvider as _;
        use tracing_subscriber::prelude::*;

        // A provider without an exporter: spans get contexts, nothing is sent.
        let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder().build();
        let subscriber =
            tracing_subscriber::registry().with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
        let (child, root) = tracing::subscriber::with_default(subscriber, || {
            let child = tracing::info_span!("child");
            set_parent(&child, Some(PARENT));
            let root = tracing::info_span!("root");
            set_parent(&root, Some("garbage"));
            (traceparent(&child), traceparent(&root))
        });

        let child = child.expect("a traceparent");
        assert!(child.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"), "{child}");
        assert!(child.ends_with("-01"), "sampled, as the parent: {child}");
        assert_ne!(child, PARENT, "a span id of its own");
        let root = root.expect("a traceparent");
        assert!(!root.contains("4bf92f3577b34da6a3ce929d0e0e4736"), "a new trace: {root}");
    }

    #[test]
    fn without_the_tracing_layer_a_span_has_no_traceparent() {
        let span = tracing::info_span!("untraced");

        set_parent(&span, Some(PARENT));

        assert_eq!(traceparent(&span), None);
    }
}
