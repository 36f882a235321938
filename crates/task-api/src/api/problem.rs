//! The domain's validation errors as the shared RFC 9457 problems of
//! [`service_runtime::problem`]: a [`ValidationErrors`] answers 422 listing each
//! [`FieldError`] as a [`ProblemFieldError`] (its [`Rule`] by its wire name).
//!
//! A function, not `From` impls: both sides are other crates' types (task-domain's and
//! service-runtime's), which the orphan rules forbid converting here, and neither of those
//! crates should know the other. Handlers write `.map_err(invalid)?`.
//!
//! [`Rule`]: task_domain::Rule

use service_runtime::problem::{ApiError, ProblemFieldError};
use task_domain::{FieldError, ValidationErrors};

/// 422 listing every invalid field, in order.
pub(crate) fn invalid(errors: ValidationErrors) -> ApiError {
    ApiError::validation(errors.into_iter().map(problem_field))
}

fn problem_field(error: FieldError) -> ProblemFieldError {
    ProblemFieldError::new(error.field, error.rule.as_str(), error.message)
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;

    use super::*;
    use task_domain::Rule;

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
