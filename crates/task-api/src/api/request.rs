//! Per-request context taken from headers.

use axum::http::HeaderMap;
use rand::Rng;
use service_runtime::auth::{Actor, Caller};
use service_runtime::problem::ApiError;
use service_runtime::telemetry::propagation;
use task_domain::{FieldError, Rule, ValidationErrors};
use uuid::Uuid;

use crate::api::problem::invalid;
use crate::events::EventContext;

/// The request id header, echoed in responses and used as the events' correlation id.
pub(crate) const REQUEST_ID: &str = "x-request-id";

/// The event context of a request: its actor, W3C trace context and request id.
///
/// The trace context is the request span's (`telemetry::spans::http_request`, a child of the
/// caller's `traceparent`) when traces are exported; otherwise the caller's `traceparent` as
/// sent, or a new trace when it sent none or a malformed one.
pub(crate) fn event_context(caller: &Caller, headers: &HeaderMap) -> EventContext {
    let traceparent = propagation::traceparent(&tracing::Span::current()).unwrap_or_else(|| {
        headers
            .get(propagation::TRACEPARENT)
            .and_then(|v| v.to_str().ok())
            .filter(|v| valid_traceparent(v))
            .map(str::to_owned)
            .unwrap_or_else(new_traceparent)
    });
    let correlation_id = headers
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 200)
        .map(str::to_owned)
        .unwrap_or_else(|| Uuid::now_v7().to_string());
    let actor = match &caller.actor {
        Actor::Service(name) => Some(name.clone()),
        Actor::User(_) => None,
    };
    EventContext { actor, traceparent: Some(traceparent), correlation_id: Some(correlation_id) }
}

/// `version-traceid-parentid-flags`, lower-case hex, not all zeros.
fn valid_traceparent(value: &str) -> bool {
    let parts: Vec<&str> = value.split('-').collect();
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    parts.len() == 4
        && hex(parts[0], 2)
        && parts[0] != "ff"
        && hex(parts[1], 32)
        && parts[1].bytes().any(|b| b != b'0')
        && hex(parts[2], 16)
        && parts[2].bytes().any(|b| b != b'0')
        && hex(parts[3], 2)
}

fn new_traceparent() -> String {
    let mut rng = rand::rng();
    let trace: u128 = rng.random_range(1..=u128::MAX);
    let span: u64 = rng.random_range(1..=u64::MAX);
    format!("00-{trace:032x}-{span:016x}-01")
}

/// `If-Match: "3"` (or `3`, or `W/"3"`): the version the client last saw.
pub(crate) fn if_match(headers: &HeaderMap) -> Result<Option<i64>, ApiError> {
    let Some(value) = headers.get("if-match") else { return Ok(None) };
    let text = value.to_str().unwrap_or_default().trim();
    let text = text.strip_prefix("W/").unwrap_or(text).trim_matches('"');
    text.parse::<i64>()
        .map(Some)
        .map_err(|_| header_error("If-Match", Rule::Format, "must be the task's ETag, e.g. \"3\""))
}

/// `Idempotency-Key`: 1 to 200 visible ASCII characters.
pub(crate) fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else { return Ok(None) };
    match value.to_str() {
        Ok(key) if !key.is_empty() && key.len() <= 200 && key.bytes().all(|b| b.is_ascii_graphic()) => {
            Ok(Some(key.to_owned()))
        }
        _ => Err(header_error("Idempotency-Key", Rule::Format, "must be 1 to 200 visible ASCII characters")),
    }
}

fn header_error(field: &str, rule: Rule, message: &str) -> ApiError {
    invalid(ValidationErrors::from(FieldError::new(field, rule, message)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceparent_is_kept_when_valid_and_replaced_when_not() {
        assert!(valid_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
        assert!(!valid_traceparent("00-00000000000000000000000000000000-00f067aa0ba902b7-01"));
        assert!(!valid_traceparent("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"));
        assert!(!valid_traceparent("garbage"));
        assert!(valid_traceparent(&new_traceparent()));
    }

    #[test]
    fn if_match_accepts_quoted_bare_and_weak_versions() {
        for value in ["\"3\"", "3", "W/\"3\""] {
            let mut headers = HeaderMap::new();
            headers.insert("if-match", value.parse().expect("header"));
            assert_eq!(if_match(&headers).ok().flatten(), Some(3), "{value}");
        }
    }
}
