//! The spans that make one request one trace: the HTTP request, the outbox send, the consumed
//! record. Names and attributes follow OpenTelemetry's HTTP and messaging conventions
//! (`otel.name` and `otel.kind` are read by the `tracing` layer).

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument as _;

use super::propagation::{self, TRACEPARENT};
use crate::consumer::InboundMessage;

/// axum middleware: each request runs in a server span `METHOD /route` whose parent is the
/// request's `traceparent` header (a new trace without one). Add it with
/// `Router::route_layer(axum::middleware::from_fn(spans::http_request))`, so the route
/// template (not the path, which holds ids) names the span.
pub async fn http_request(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str).to_owned();
    let span = tracing::info_span!(
        "http_request",
        otel.name = %format_args!("{method} {route}"),
        otel.kind = "server",
        http.request.method = %method,
        http.route = %route,
        http.response.status_code = tracing::field::Empty,
    );
    let parent = request.headers().get(TRACEPARENT).and_then(|v| v.to_str().ok());
    propagation::set_parent(&span, parent);
    let response = next.run(request).instrument(span.clone()).await;
    span.record("http.response.status_code", response.status().as_u16());
    response
}

/// The producer span of publishing outbox row `seq` to `topic`, a child of the trace context
/// stored with the event (`stored`, the writer's request span).
pub fn outbox_send(topic: &str, seq: i64, stored: Option<&str>) -> tracing::Span {
    let span = tracing::info_span!(
        "outbox_send",
        otel.name = %format_args!("send {topic}"),
        otel.kind = "producer",
        messaging.system = "kafka",
        messaging.operation.type = "send",
        messaging.destination.name = %topic,
        outbox.seq = seq,
    );
    propagation::set_parent(&span, stored);
    span
}

/// The consumer span of handling `message` in `group`, a child of the trace context the
/// record carries ([`propagation::of_record`]). It covers every attempt, dead-lettering
/// included.
pub fn consume(message: &InboundMessage, group: &str) -> tracing::Span {
    let span = tracing::info_span!(
        "consume",
        otel.name = %format_args!("process {}", message.topic),
        otel.kind = "consumer",
        messaging.system = "kafka",
        messaging.operation.type = "process",
        messaging.destination.name = %message.topic,
        messaging.destination.partition.id = message.partition,
        messaging.kafka.offset = message.offset,
        messaging.consumer.group.name = %group,
    );
    let carried = propagation::of_record(message.header(TRACEPARENT), message.payload());
    propagation::set_parent(&span, carried.as_deref());
    span
}
