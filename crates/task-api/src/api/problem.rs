//! The domain's validation errors as the shared RFC 9457 problems of
//! [`service_runtime::problem`], which knows no task-api type: a [`ValidationErrors`] answers
//! 422 listing each [`FieldError`] as a [`ProblemFieldError`] (its [`Rule`] by its wire name),
//! so `?` on a domain result works in every handler.
//!
//! [`Rule`]: crate::domain::Rule

use service_runtime::problem::{ApiError, ProblemFieldError};

use crate::domain::{FieldError, ValidationErrors};

impl From<ValidationErrors> for ApiError {
    fn from(errors: ValidationErrors) -> Self {
        ApiError::validation(errors)
    }
}

impl From<FieldError> for ProblemFieldError {
    fn from(error: FieldError) -> Self {
        ProblemFieldError::new(error.field, error.rule.as_str(), error.message)
    }
}

#[cfg(test)]
mod tests {
    use axum::body::to_bytes;
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    use serde_json::{Value, json};

    use super::*;
    use crate::domain::Rule;

    #[tokio::test]
    async fn validation_errors_answer_422_listing_every_field_with_its_rule() {
        let errors = ValidationErrors::from(vec![
            FieldError::new("title", Rule::MaxLength, "must be at most 200 characters (got 201)"),
            FieldError::new("tags[3]", Rule::Duplicate, "repeats tags[1]"),
        ]);

        let response = ApiError::from(errors).into_response();

        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body = to_bytes(response.into_body(), 64 * 1024).await.expect("a body");
        let body: Value = serde_json::from_slice(&body).expect("JSON");
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
}
