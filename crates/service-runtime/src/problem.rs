//! Errors as RFC 9457 problem details: one [`ApiError`] that every handler of every service
//! returns, answered as `application/problem+json` ([`ProblemDetails`]), so that clients read
//! every service's errors the same way.
//!
//! # Decisions
//! - **`type`**: `about:blank` (with the status's reason phrase as `title`, as RFC 9457
//!   §4.2.1 asks) when the status says everything: 400, 401, 403, 404, 409, 500, 503. A
//!   `https://taskstream.dev/problems/…` URI when the problem has its own meaning or
//!   extension members clients act on: [`VALIDATION_TYPE`] (422 with `errors`) here, and a
//!   service's own types (task-api's reused idempotency key and version mismatch), which it
//!   builds as a [`ProblemDetails`] with [`ProblemDetails::typed`] and answers with
//!   [`ApiError::typed`]. The URIs are identifiers; they need not resolve.
//! - **`detail`** is always present and written for people; clients branch on `type`,
//!   `status`, `errors[].rule` and the `WWW-Authenticate` challenge, never on `detail`.
//! - **`errors`** (422 only) lists every invalid field as a [`ProblemFieldError`] `{ "field",
//!   "rule", "message" }`, in the order they were found. This module knows no service's
//!   domain: `rule` is a plain `snake_case` string, and a service converts its own validation
//!   errors (task-api maps task-domain's `ValidationErrors` with `api::problem::invalid`:
//!   both types are other crates', so the orphan rules allow no `From` impl). A header is named by
//!   its header name: a reused `Idempotency-Key` is `{ "field": "Idempotency-Key", "rule":
//!   "idempotency_key_reused" }`.
//! - **Extension members** of a service's own types ([`ProblemDetails::extensions`], e.g.
//!   task-api's `current_version`) sit at the top level of the object, as RFC 9457 §3.2 has
//!   them.
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
    /// A problem type of a service's own, answered as given (its `status` is the response's).
    #[error("{}: {}", .0.title, .0.detail)]
    Typed(Box<ProblemDetails>),
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

    /// A service's own problem type, answered with `problem` as the body and its `status`
    /// (500 if that is not an error status).
    pub fn typed(problem: ProblemDetails) -> Self {
        Self::Typed(Box::new(problem))
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
            Self::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(AuthError::Forbidden(_)) | Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::Typed(problem) => StatusCode::from_u16(problem.status)
                .ok()
                .filter(|s| s.is_client_error() || s.is_server_error())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
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
            extensions: serde_json::Map::new(),
        };
        match self {
            Self::Validation(errors) => {
                ProblemDetails::typed(status, VALIDATION_TYPE, "Invalid request", validation_detail(errors.len()))
                    .with_errors(errors.clone())
            }
            Self::Typed(problem) => ProblemDetails { status: status.as_u16(), ..(**problem).clone() },
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
    /// Extension members of the problem's type (RFC 9457 §3.2), at the top level of the
    /// object: e.g. task-api's `current_version` of a 412.
    #[serde(flatten)]
    pub extensions: serde_json::Map<String, serde_json::Value>,
}

impl ProblemDetails {
    /// A problem of a service's own `problem_type` (a `https://taskstream.dev/problems/…`
    /// URI), with its `title` (the same for every occurrence of the type) and this
    /// occurrence's `detail`.
    pub fn typed(
        status: StatusCode,
        problem_type: impl Into<String>,
        title: impl Into<String>,
        detail: impl Into<String>,
    ) -> Self {
        Self {
            problem_type: problem_type.into(),
            title: title.into(),
            status: status.as_u16(),
            detail: detail.into(),
            errors: None,
            extensions: serde_json::Map::new(),
        }
    }

    /// With `errors` naming the fields (or headers) at fault.
    pub fn with_errors(mut self, errors: Vec<ProblemFieldError>) -> Self {
        self.errors = Some(errors);
        self
    }

    /// With the extension member `name` (never one of the standard members).
    pub fn with_extension(mut self, name: impl Into<String>, value: impl Into<serde_json::Value>) -> Self {
        self.extensions.insert(name.into(), value.into());
        self
    }
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
    async fn a_service_typed_problem_answers_its_status_with_its_errors_and_extension_members() {
        let problem = ProblemDetails::typed(
            StatusCode::PRECONDITION_FAILED,
            "https://taskstream.dev/problems/example",
            "Example",
            "The resource is at version 7.",
        )
        .with_errors(vec![ProblemFieldError::new("If-Match", "stale", "names version 6")])
        .with_extension("current_version", 7);

        let (status, _, body) = render(ApiError::typed(problem)).await;

        assert_eq!(status, StatusCode::PRECONDITION_FAILED);
        assert_eq!(
            body,
            json!({
                "type": "https://taskstream.dev/problems/example",
                "title": "Example",
                "status": 412,
                "detail": "The resource is at version 7.",
                "errors": [{ "field": "If-Match", "rule": "stale", "message": "names version 6" }],
                "current_version": 7,
            })
        );
    }

    #[test]
    fn a_typed_problem_without_an_error_status_answers_500() {
        let problem = ProblemDetails::typed(StatusCode::OK, "https://taskstream.dev/problems/example", "Example", "no");
        let error = ApiError::typed(problem);
        assert_eq!(error.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(error.problem().status, 500, "the body says what the response does");
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
