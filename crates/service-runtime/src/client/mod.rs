//! Service-to-service HTTP calls: a [`ServiceClient`] for one called service, with the calling
//! service's own bearer token from a [`TokenSource`], acting for a user per request
//! ([`ServiceRequest::on_behalf_of`]), carrying the W3C trace context, and retrying what is
//! safe to retry.
//!
//! ```no_run
//! # async fn example(settings: &service_runtime::client::ClientSettings) -> Result<(), service_runtime::client::ClientError> {
//! use service_runtime::client::ServiceClient;
//!
//! let task_api = ServiceClient::new(settings)?; // once, at startup
//! let task: serde_json::Value = task_api
//!     .post("/v1/tasks")
//!     .on_behalf_of("alice")
//!     .idempotency_key("next-occurrence-of-0191…")
//!     .traceparent(Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"))
//!     .json(&serde_json::json!({ "title": "Water the plants" }))
//!     .send_json()
//!     .await?;
//! # Ok(()) }
//! ```
//!
//! # Layout
//! - `settings`: [`ClientSettings`] (base URL, timeouts, [`RetrySettings`], [`TokenSettings`]).
//! - `service_client`: [`ServiceClient`] and [`ServiceRequest`]: headers, token, retries.
//! - `token`: [`TokenSource`]: development, client-credentials and file tokens.
//! - `retry`: which requests and failures are retried, `Retry-After`.
//! - `trace`: [`TraceParent`].
//! - `http`: the underlying `reqwest::Client` (timeouts, CAs, no redirects).
//! - `error`: [`ClientError`], [`TokenError`].
//!
//! # Decisions
//! - **Retries** only of requests that are safe to repeat: GET, HEAD, PUT, DELETE (OPTIONS,
//!   TRACE), or any method with an `Idempotency-Key`; a bare POST or PATCH is sent once,
//!   because a timeout does not tell whether it took effect. Retried failures: no connection,
//!   a timeout (connect or request), and 429, 502, 503, 504. Never another 4xx, nor 500. At
//!   most [`RetrySettings::max_attempts`] attempts, spaced by the consumer's
//!   [`crate::consumer::Backoff`] (exponential, jittered) or by the answer's `Retry-After`
//!   (seconds or an HTTP date); a `Retry-After` beyond [`RetrySettings::max_retry_after_ms`]
//!   ends the retries instead of being cut short. Each attempt has the request timeout.
//! - **401**: the token source forgets the refused token and the request is sent once more
//!   with a new one (also a POST: the refused request did nothing). A second 401 is the
//!   error.
//! - **Errors**: an answer of 400 or more is [`ClientError::Status`] (with the start of its
//!   body); [`ClientError::is_transient`] tells a consumer whether to retry the message or
//!   dead-letter it. Redirects are not followed.
//! - **Trace context**: every call carries a `traceparent`: a child (same trace id and flags,
//!   a new parent id) of the one the caller passes, else a new sampled trace.
//! - **Secrets**: tokens and client secrets are [`secrecy::SecretString`]s, the
//!   `Authorization` header is marked sensitive, and no log line carries either: `Debug` of
//!   settings, token sources and clients shows `[REDACTED]`.
//! - **TLS** is the system OpenSSL's (native-tls), with the system's CAs plus
//!   [`ClientSettings::ca_file`].

mod error;
mod http;
mod retry;
mod service_client;
mod settings;
mod token;
mod trace;

pub use error::{ClientError, TokenError};
pub use retry::IDEMPOTENCY_KEY;
pub use service_client::{ServiceClient, ServiceRequest};
pub use settings::{
    ClientAuthMethod, ClientCredentialsSettings, ClientSettings, DevelopmentTokenSettings, FileTokenSettings,
    RetrySettings, TokenSettings, TokenSourceKind,
};
pub use token::TokenSource;
pub use trace::TraceParent;

#[cfg(test)]
mod tests;
