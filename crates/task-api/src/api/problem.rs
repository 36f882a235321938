//! task-api's problems, on top of the shared RFC 9457 ones of [`service_runtime::problem`],
//! which knows no task-api type:
//! - the domain's validation errors: [`invalid`] answers 422 listing each [`FieldError`] of a
//!   [`ValidationErrors`] as a [`ProblemFieldError`] (its [`Rule`] by its wire name);
//! - task-api's own problem types: a reused `Idempotency-Key` ([`idempotency_key_reused`],
//!   422 naming the header in `errors`) and a stale `If-Match` ([`version_mismatch`], 412 with
//!   `current_version`).
//!
//! A function, not `From` impls: both sides are other crates' types (task-domain's and
//! service-runtime's), which the orphan rules forbid converting here, and neither of those
//! crates should know the other. Handlers write `.map_err(invalid)?`.
//!
//! [`Rule`]: task_domain::Rule

use axum::http::StatusCode;
use service_runtime::problem::{ApiError, ProblemDetails, ProblemFieldError};

use task_domain::{FieldError, ValidationErrors};

/// `type` of a 422 for an `Idempotency-Key` already used with a different request.
pub const IDEMPOTENCY_KEY_REUSED_TYPE: &str = "https://taskstream.dev/problems/idempotency-key-reused";
/// `type` of a 412: the resource's version is not the one in `If-Match`; `current_version`
/// holds the current one.
pub const VERSION_MISMATCH_TYPE: &str = "https://taskstream.dev/problems/version-mismatch";
/// The `rule` of the `errors` entry for a reused `Idempotency-Key`.
pub const IDEMPOTENCY_KEY_REUSED_RULE: &str = "idempotency_key_reused";
/// The idempotency header's name, as the `field` of its `errors` entry.
pub const IDEMPOTENCY_KEY_HEADER: &str = "Idempotency-Key";

/// 422: the `Idempotency-Key` was used before with a different request; `errors` names the
/// header (`{ "field": "Idempotency-Key", "rule": "idempotency_key_reused" }`).
pub fn idempotency_key_reused() -> ApiError {
    ApiError::typed(
        ProblemDetails::typed(
            StatusCode::UNPROCESSABLE_ENTITY,
            IDEMPOTENCY_KEY_REUSED_TYPE,
            "Idempotency key reused",
            "This Idempotency-Key was already used with a different request; use a new key for a new request.",
        )
        .with_errors(vec![ProblemFieldError::new(
            IDEMPOTENCY_KEY_HEADER,
            IDEMPOTENCY_KEY_REUSED_RULE,
            "was already used with a different request",
        )]),
    )
}

/// 412: the client's `If-Match` is stale; `current_version` tells it the current version.
pub fn version_mismatch(current_version: i64) -> ApiError {
    ApiError::typed(
        ProblemDetails::typed(
            StatusCode::PRECONDITION_FAILED,
            VERSION_MISMATCH_TYPE,
            "Version mismatch",
            format!("The resource has changed: its current version is {current_version}."),
        )
        .with_extension("current_version", current_version),
    )
}

/// 422 listing every invalid field, in order.
pub(crate) fn invalid(errors: ValidationErrors) -> ApiError {
    ApiError::validation(errors.into_iter().map(problem_field))
}

fn problem_field(error: FieldError) -> ProblemFieldError {
    ProblemFieldError::new(error.field, error.rule.as_str(), error.message)
}

#[cfg(test)]
mod tests {
    use axum::response::IntoResponse as _;
    use serde_json::{Value, json};

    use super::*;
    use task_domain::Rule;

    /// The body and status as a client receives them.
    async fn answer(error: ApiError) -> (StatusCode, Value) {
        let response = error.into_response();
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 64 * 1024).await.expect("a body");
        (status, serde_json::from_slice(&body).expect("JSON"))
    }

    #[tokio::test]
    async fn a_stale_version_answers_412_with_the_current_version() {
        let (status, body) = answer(version_mismatch(7)).await;

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
    async fn a_reused_idempotency_key_answers_422_naming_the_header() {
        let (status, body) = answer(idempotency_key_reused()).await;

        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            body,
            json!({
                "type": "https://taskstream.dev/problems/idempotency-key-reused",
                "title": "Idempotency key reused",
                "status": 422,
                "detail": "This Idempotency-Key was already used with a different request; use a new key for a new request.",
                "errors": [{
                    "field": "Idempotency-Key",
                    "rule": "idempotency_key_reused",
                    "message": "was already used with a different request",
                }],
            })
        );
    }

    /// The mapping only: how a problem renders is service_runtime::problem's own test.
    #[test]
    fn validation_errors_become_a_422_naming_every_field_with_its_rule() {
        let errors = ValidationErrors::from(vec![
            FieldError::new("title", Rule::MaxLength, "must be at most 200 characters (got 201)"),
            FieldError::new("tags[3]", Rule::Duplicate, "repeats tags[1]"),
        ]);

        let error = invalid(errors);

        assert_eq!(error.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let fields: Vec<(String, String, String)> =
            error.problem().errors.unwrap_or_default().into_iter().map(|e| (e.field, e.rule, e.message)).collect();
        assert_eq!(
            fields,
            [
                ("title".into(), "max_length".into(), "must be at most 200 characters (got 201)".into()),
                ("tags[3]".into(), "duplicate".into(), "repeats tags[1]".into()),
            ]
        );
    }
}
