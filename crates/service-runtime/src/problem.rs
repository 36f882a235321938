//! Errors as RFC 9457 problem details: one [`ApiError`] that every handler of every service
//! returns, answered as `application/problem+json` ([`ProblemDetails`]), so that clients read
//! every service's errors the same way.
//!
//! # Decisions
//! - **`type`**: `about:blank` (with the status's reason phrase as `title`, as RFC 9457
//!   §4.2.1 asks) when the status says everything: 400, 401, 403, 404, 409, 500, 503. A
//!   `https://taskstream.dev/problems/…` URI when the problem has its own meaning or
//!   extension members clients act on: [`VALIDATION_TYPE`] (422 with `errors`),
//!   [`IDEMPOTENCY_KEY_REUSED_TYPE`] (422 with `errors`) and [`VERSION_MISMATCH_TYPE`] (412
//!   with `current_version`). The URIs are identifiers; they need not resolve.
//! - **`detail`** is always present and written for people; clients branch on `type`,
//!   `status`, `errors[].rule` and the `WWW-Authenticate` challenge, never on `detail`.
//! - **`errors`** (422 only) lists every invalid field as a [`ProblemFieldError`] `{ "field",
//!   "rule", "message" }`, in the order they were found. This module knows no service's
//!   domain: `rule` is a plain `snake_case` string, and a service converts its own validation
//!   errors (task-api maps task-domain's `ValidationErrors` with `api::problem::invalid`:
//!   both types are other crates', so the orphan rules allow no `From` impl). A header is named by
//!   its header name: a reused `Idempotency-Key` is `{ "field": "Idempotency-Key", "rule":
//!   "idempotency_key_reused" }`.
//! - **404** reads the same whether the resource does not exist or belongs to someone else,
//!   so its answer reveals nothing about other users' tasks.
//! - **500** carries an opaque detail; the full error chain is logged (`error = ?e`) when
//!   the response is built, once per failed request. **503** carries `Retry-After`.
//! - `?` on an [`anyhow::Error`] or an [`AuthError`] converts to the matching problem (500,
//!   401/403), and on a `Vec<ProblemFieldError>` to a 422.

use axum::http::header::{CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::auth::AuthError;

/// The media type of every error response (RFC 9457 §3).
pub const PROBLEM_JSON: &str = "application/problem+json";
/// `type` of a problem that the status code fully describes.
pub const BLANK_TYPE: &str = "about:blank";
/// `type` of a 422 whose `errors` lists the invalid fields of the request.
pub const VALIDATION_TYPE: &str = "https://taskstream.dev/problems/validation";
/// `type` of a 422 for an `Idempotency-Key` already used with a different request.
pub const IDEMPOTENCY_KEY_REUSED_TYPE: &str = "https://taskstream.dev/problems/idempotency-key-reused";
/// `type` of a 412: the resource's version is not the one in `If-Match`; `current_version`
/// holds the current one.
pub const VERSION_MISMATCH_TYPE: &str = "https://taskstream.dev/problems/version-mismatch";
/// The `rule` of the `errors` entry for a reused `Idempotency-Key`.
pub const IDEMPOTENCY_KEY_REUSED_RULE: &str = "idempotency_key_reused";
/// The idempotency header's name, as the `field` of its `errors` entry.
pub const IDEMPOTENCY_KEY_HEADER: &str = "Idempotency-Key";
/// `Retry-After` of a 503, in seconds: long enough for a database failover to start.
pub const RETRY_AFTER_SECONDS: u64 = 5;

const OPAQUE_INTERNAL_DETAIL: &str = "An unexpected error occurred. It has been logged.";

/// Everything a handler can answer instead of success. Build it with the constructors
/// (`ApiError::not_found()`, …) or by `?`; it becomes the response with [`IntoResponse`].
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 422: invalid fields, each named in `errors` (never empty when built by
    /// [`ApiError::validation`] from at least one error).
    #[error("invalid request: {}", field_list(.0))]
    Validation(Vec<ProblemFieldError>),
    /// 400: a request that cannot be read at all (not JSON, a bad header).
    #[error("bad request: {0}")]
    BadRequest(String),
    /// 401 with a `WWW-Authenticate` challenge, or 403 for [`AuthError::Forbidden`].
    #[error("{0}")]
    Unauthorized(AuthError),
    /// 403: authenticated, not allowed.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// 404, also for another user's resource.
    #[error("not found")]
    NotFound,
    /// 409: the request contradicts the resource's current state.
    #[error("conflict: {0}")]
    Conflict(String),
    /// 412: `If-Match` names another version than the current one.
    #[error("precondition failed: the current version is {current_version}")]
    PreconditionFailed {
        /// The resource's current version.
        current_version: i64,
    },
    /// 422: the `Idempotency-Key` was used before with a different request.
    #[error("the Idempotency-Key was already used with a different request")]
    IdempotencyMismatch,
    /// 503 with `Retry-After`: a dependency is down; retrying later may succeed.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// 500 with an opaque detail; the error chain is logged.
    #[error("internal error: {0:#}")]
    Internal(anyhow::Error),
}

impl ApiError {
    /// 422 listing every invalid field, in order: [`ProblemFieldError`]s, or a service's own
    /// field errors that convert into them.
    pub fn validation(errors: impl IntoIterator<Item = impl Into<ProblemFieldError>>) -> Self {
        Self::Validation(errors.into_iter().map(Into::into).collect())
    }

    /// 422 for a single invalid field (or header): `rule` in `snake_case`, `message` for
    /// people.
    pub fn invalid_field(field: impl Into<String>, rule: impl Into<String>, message: impl Into<String>) -> Self {
        Self::validation([ProblemFieldError::new(field, rule, message)])
    }

    /// 400 with `detail` for the client.
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::BadRequest(detail.into())
    }

    /// 401 with the RFC 6750 challenge; 403 (`insufficient_scope`) for
    /// [`AuthError::Forbidden`], whose token is valid but may not do this.
    pub fn unauthorized(error: AuthError) -> Self {
        Self::Unauthorized(error)
    }

    /// 403 with `detail` for the client.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::Forbidden(detail.into())
    }

    /// 404, also the answer for another user's resource, so that its existence is not
    /// revealed.
    pub fn not_found() -> Self {
        Self::NotFound
    }

    /// 409 with `detail` for the client.
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::Conflict(detail.into())
    }

    /// 412: the client's `If-Match` is stale; the body tells it the current version.
    pub fn precondition_failed(current_version: i64) -> Self {
        Self::PreconditionFailed { current_version }
    }

    /// 422: the `Idempotency-Key` was used before with a different request.
    pub fn idempotency_mismatch() -> Self {
        Self::IdempotencyMismatch
    }

    /// 503 with `Retry-After: 5`; `detail` is shown to the client (and logged).
    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::Unavailable(detail.into())
    }

    /// 500: the client sees an opaque detail; the full chain is logged with the response.
    /// Takes any error type (`sqlx::Error`, …) or an [`anyhow::Error`] with its context; a
    /// `Box<dyn Error + Send + Sync>` converts with [`anyhow::Error::from_boxed`].
    pub fn internal(error: impl Into<anyhow::Error>) -> Self {
        Self::Internal(error.into())
    }

    /// The response status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Validation(_) | Self::IdempotencyMismatch => StatusCode::UNPROCESSABLE_ENTITY,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(AuthError::Forbidden(_)) | Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PreconditionFailed { .. } => StatusCode::PRECONDITION_FAILED,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The response body.
    pub fn problem(&self) -> ProblemDetails {
        let status = self.status();
        let blank = |detail: String| ProblemDetails {
            problem_type: BLANK_TYPE.to_owned(),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail,
            errors: None,
            current_version: None,
        };
        let typed = |problem_type: &str, title: &str, detail: String| ProblemDetails {
            problem_type: problem_type.to_owned(),
            title: title.to_owned(),
            ..blank(detail)
        };
        match self {
            Self::Validation(errors) => ProblemDetails {
                errors: Some(errors.clone()),
                ..typed(VALIDATION_TYPE, "Invalid request", validation_detail(errors.len()))
            },
            Self::IdempotencyMismatch => ProblemDetails {
                errors: Some(vec![ProblemFieldError {
                    field: IDEMPOTENCY_KEY_HEADER.to_owned(),
                    rule: IDEMPOTENCY_KEY_REUSED_RULE.to_owned(),
                    message: "was already used with a different request".to_owned(),
                }]),
                ..typed(
                    IDEMPOTENCY_KEY_REUSED_TYPE,
                    "Idempotency key reused",
                    "This Idempotency-Key was already used with a different request; use a new key for a new request."
                        .to_owned(),
                )
            },
            Self::PreconditionFailed { current_version } => ProblemDetails {
                current_version: Some(*current_version),
                ..typed(
                    VERSION_MISMATCH_TYPE,
                    "Version mismatch",
                    format!("The resource has changed: its current version is {current_version}."),
                )
            },
            Self::BadRequest(detail) | Self::Forbidden(detail) | Self::Conflict(detail) | Self::Unavailable(detail) => {
                blank(detail.clone())
            }
            Self::Unauthorized(error) => blank(error.to_string()),
            Self::NotFound => blank("The requested resource does not exist.".to_owned()),
            Self::Internal(_) => blank(OPAQUE_INTERNAL_DETAIL.to_owned()),
        }
    }
}

/// `title: message; tags[3]: message`, for logs and `Display`.
fn field_list(errors: &[ProblemFieldError]) -> String {
    errors.iter().map(ProblemFieldError::to_string).collect::<Vec<_>>().join("; ")
}

fn validation_detail(count: usize) -> String {
    match count {
        1 => "The request has 1 invalid field; see `errors`.".to_owned(),
        n => format!("The request has {n} invalid fields; see `errors`."),
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            Self::Internal(error) => tracing::error!(error = ?error, "request failed with an internal error"),
            Self::Unavailable(detail) => tracing::warn!(detail = %detail, "request failed: unavailable"),
            _ => {}
        }
        let status = self.status();
        let body = match serde_json::to_vec(&self.problem()) {
            Ok(body) => body,
            Err(error) => {
                // Cannot happen (plain strings and numbers); never answer without a status.
                tracing::error!(error = ?error, "cannot serialise a problem");
                return status.into_response();
            }
        };
        let mut response = (status, [(CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON))], body).into_response();
        match &self {
            Self::Unauthorized(error) => {
                if let Ok(challenge) = HeaderValue::try_from(error.challenge()) {
                    response.headers_mut().insert(WWW_AUTHENTICATE, challenge);
                }
            }
            Self::Unavailable(_) => {
                response.headers_mut().insert(RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
            }
            _ => {}
        }
        response
    }
}

impl From<Vec<ProblemFieldError>> for ApiError {
    fn from(errors: Vec<ProblemFieldError>) -> Self {
        Self::Validation(errors)
    }
}

impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        Self::Unauthorized(error)
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(error: anyhow::Error) -> Self {
        Self::Internal(error)
    }
}

/// An RFC 9457 problem details object, as every error response carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProblemDetails {
    /// A URI naming the problem type; `about:blank` when the status says it all.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// A short summary of the type (the status's reason phrase for `about:blank`).
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What happened this time, for people.
    pub detail: String,
    /// 422 only: every invalid field, in the order found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<ProblemFieldError>>,
    /// 412 only: the resource's current version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_version: Option<i64>,
}

/// One entry of a 422's `errors`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ProblemFieldError {
    /// Path of the field in the body (`title`, `tags[3]`, `reminders[0].before_due`; empty
    /// for the body itself), or a header name (`Idempotency-Key`).
    pub field: String,
    /// The rule broken, in `snake_case` (`max_length`, `idempotency_key_reused`, …).
    pub rule: String,
    /// A sentence for people.
    pub message: String,
}

impl ProblemFieldError {
    /// The error at `field` (a body path or a header name): `rule` in `snake_case`, `message`
    /// for people.
    pub fn new(field: impl Into<String>, rule: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), rule: rule.into(), message: message.into() }
    }
}

#[cfg(test)]
mod tests {
    use axum::body::to_bytes;
    use serde_json::{Value, json};

    use super::*;

    async fn render(error: ApiError) -> (StatusCode, Response<()>, Value) {
        let response = error.into_response();
        let status = response.status();
        let (parts, body) = response.into_parts();
        let body = to_bytes(body, 64 * 1024).await.expect("a body");
        assert_eq!(parts.headers[CONTENT_TYPE], PROBLEM_JSON);
        (status, Response::from_parts(parts, ()), serde_json::from_slice(&body).expect("JSON"))
    }

    #[tokio::test]
    async fn validation_errors_answer_422_listing_every_field() {
        let errors = vec![
            ProblemFieldError::new("title", "max_length", "must be at most 200 characters (got 201)"),
            ProblemFieldError::new("tags[3]", "duplicate", "repeats tags[1]"),
        ];

        let (status, _, body) = render(ApiError::validation(errors)).await;

        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            body,
            json!({
                "type": "https://taskstream.dev/problems/validation",
                "title": "Invalid request",
                "status": 422,
                "detail": "The request has 2 invalid fields; see `errors`.",
                "errors": [
                    { "field": "title", "rule": "max_length", "message": "must be at most 200 characters (got 201)" },
                    { "field": "tags[3]", "rule": "duplicate", "message": "repeats tags[1]" },
                ],
            })
        );
    }

    #[tokio::test]
    async fn a_single_invalid_field_answers_422_in_the_singular() {
        let error = ApiError::invalid_field("from", "format", "must be an RFC 3339 instant");
        assert_eq!(error.to_string(), "invalid request: from: must be an RFC 3339 instant");

        let (status, _, body) = render(error).await;

        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["detail"], "The request has 1 invalid field; see `errors`.");
        assert_eq!(
            body["errors"],
            json!([{ "field": "from", "rule": "format", "message": "must be an RFC 3339 instant" }])
        );
    }

    #[tokio::test]
    async fn not_found_answers_404_about_blank() {
        let (status, _, body) = render(ApiError::not_found()).await;

        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(
            body,
            json!({
                "type": "about:blank",
                "title": "Not Found",
                "status": 404,
                "detail": "The requested resource does not exist.",
            })
        );
    }

    #[tokio::test]
    async fn a_stale_version_answers_412_with_the_current_version() {
        let (status, _, body) = render(ApiError::precondition_failed(7)).await;

        assert_eq!(status, StatusCode::PRECONDITION_FAILED);
        assert_eq!(
            body,
            json!({
                "type": "https://taskstream.dev/problems/version-mismatch",
                "title": "Version mismatch",
                "status": 412,
                "detail": "The resource has changed: its current version is 7.",
                "current_version": 7,
            })
        );
    }

    #[tokio::test]
    async fn an_internal_error_answers_500_without_revealing_the_cause() {
        let error = anyhow::anyhow!("password authentication failed for user tasks").context("while loading task 42");

        let (status, _, body) = render(ApiError::internal(error)).await;

        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            body,
            json!({
                "type": "about:blank",
                "title": "Internal Server Error",
                "status": 500,
                "detail": "An unexpected error occurred. It has been logged.",
            })
        );
    }

    #[tokio::test]
    async fn a_reused_idempotency_key_answers_422_naming_the_header() {
        let (status, _, body) = render(ApiError::idempotency_mismatch()).await;

        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(body["type"], IDEMPOTENCY_KEY_REUSED_TYPE);
        assert_eq!(
            body["errors"],
            json!([{
                "field": "Idempotency-Key",
                "rule": "idempotency_key_reused",
                "message": "was already used with a different request",
            }])
        );
    }

    #[tokio::test]
    async fn an_auth_error_answers_401_with_a_challenge_and_forbidden_answers_403() {
        let (status, response, body) = render(ApiError::unauthorized(AuthError::BadSignature)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            response.headers()[WWW_AUTHENTICATE],
            r#"Bearer realm="taskstream", error="invalid_token", error_description="bad_signature""#
        );
        assert_eq!(body["detail"], "the bearer token's signature does not verify");

        let (status, _, body) = render(AuthError::Forbidden("no scope".into()).into()).await;
        assert_eq!((status, &body["detail"]), (StatusCode::FORBIDDEN, &json!("no scope")));
    }

    #[tokio::test]
    async fn unavailable_answers_503_with_retry_after() {
        let (status, response, body) = render(ApiError::unavailable("The database is unreachable.")).await;

        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[RETRY_AFTER], "5");
        assert_eq!(body["detail"], "The database is unreachable.");
    }

    #[test]
    fn plain_statuses_use_about_blank_and_their_reason_phrase() {
        for (error, title) in [
            (ApiError::bad_request("not JSON"), "Bad Request"),
            (ApiError::forbidden("admins only"), "Forbidden"),
            (ApiError::conflict("already completed"), "Conflict"),
        ] {
            let problem = error.problem();
            assert_eq!((problem.problem_type.as_str(), problem.title.as_str()), (BLANK_TYPE, title));
        }
    }
}
