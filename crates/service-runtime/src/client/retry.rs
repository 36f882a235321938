//! Which failed requests are tried again, and after how long.

use std::time::{Duration, SystemTime};

use chrono::DateTime;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{Method, StatusCode};

/// The request header that makes any method safe to repeat (the server answers a repeat with
/// the first answer; task-api does for `POST /v1/tasks`).
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// Whether sending the request twice has the effect of sending it once: GET, HEAD, PUT,
/// DELETE (RFC 9110 §9.2.2; OPTIONS and TRACE too), or any method with an `Idempotency-Key`.
/// POST and PATCH without a key are never repeated: a timeout does not say whether the first
/// one took effect.
pub(crate) fn is_idempotent(method: &Method, headers: &HeaderMap) -> bool {
    method.is_idempotent() || headers.contains_key(IDEMPOTENCY_KEY)
}

/// Statuses that say "not now" rather than "not this": 429, 502, 503, 504. Other 5xx (500)
/// usually repeat themselves, and no other 4xx changes by sending the same request again.
pub(crate) fn is_retryable_status(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::TOO_MANY_REQUESTS
            | StatusCode::BAD_GATEWAY
            | StatusCode::SERVICE_UNAVAILABLE
            | StatusCode::GATEWAY_TIMEOUT
    )
}

/// The wait a response's `Retry-After` asks for (RFC 9110 §10.2.3): delay-seconds, or an
/// HTTP-date (a date in the past asks for none). `None` when absent or unreadable.
pub(crate) fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    // IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) is an RFC 2822 date with zone `GMT`.
    let at = SystemTime::from(DateTime::parse_from_rfc2822(value).ok()?);
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    fn headers(retry_after: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_str(retry_after).expect("a header value"));
        headers
    }

    #[test]
    fn safe_methods_and_keyed_requests_are_idempotent_and_bare_posts_are_not() {
        let none = HeaderMap::new();
        let keyed = {
            let mut h = HeaderMap::new();
            h.insert(IDEMPOTENCY_KEY, HeaderValue::from_static("k-1"));
            h
        };

        for method in [Method::GET, Method::HEAD, Method::PUT, Method::DELETE] {
            assert!(is_idempotent(&method, &none), "{method}");
        }
        assert!(!is_idempotent(&Method::POST, &none));
        assert!(!is_idempotent(&Method::PATCH, &none));
        assert!(is_idempotent(&Method::POST, &keyed));
        assert!(is_idempotent(&Method::PATCH, &keyed));
    }

    #[test]
    fn only_429_502_503_and_504_are_retried() {
        let retried: Vec<u16> = (400..=599)
            .filter_map(|code| StatusCode::from_u16(code).ok())
            .filter(|s| is_retryable_status(*s))
            .map(|s| s.as_u16())
            .collect();

        assert_eq!(retried, [429, 502, 503, 504]);
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = SystemTime::from(DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").expect("instant"));

        assert_eq!(retry_after(&headers("7"), now), Some(Duration::from_secs(7)));
        assert_eq!(retry_after(&headers("Thu, 01 Jan 2026 00:00:30 GMT"), now), Some(Duration::from_secs(30)));
        assert_eq!(retry_after(&headers("Wed, 31 Dec 2025 23:00:00 GMT"), now), Some(Duration::ZERO));
        assert_eq!(retry_after(&headers("soon"), now), None);
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }
}
