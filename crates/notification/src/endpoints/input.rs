//! Request bodies of the settings and endpoint routes, read field by field so that every
//! invalid field is named in the 422 (RFC 9457 `errors`), unknown fields included.

use serde_json::{Map, Value};
use service_runtime::problem::{ApiError, ProblemFieldError};

/// The longest endpoint URL accepted.
pub(crate) const MAX_URL_LENGTH: usize = 2048;
/// The longest description (or disabling reason) accepted, in characters.
pub(crate) const MAX_TEXT_LENGTH: usize = 500;
/// The longest email address accepted (RFC 5321's path limit).
pub(crate) const MAX_EMAIL_LENGTH: usize = 254;

/// `PUT /v1/notification-settings`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SettingsInput {
    /// The address (checked), or none.
    pub(crate) email_address: Option<String>,
    /// Whether to mail reminders.
    pub(crate) email_enabled: bool,
}

/// `POST /v1/webhook-endpoints` (the URL is checked by the guard afterwards).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NewEndpointInput {
    /// Where to post.
    pub(crate) url: String,
    /// A note.
    pub(crate) description: String,
}

/// `PATCH /v1/webhook-endpoints/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct EndpointPatchInput {
    /// A new URL.
    pub(crate) url: Option<String>,
    /// A new description.
    pub(crate) description: Option<String>,
    /// Enable or disable.
    pub(crate) enabled: Option<bool>,
    /// Why it is disabled (only with `enabled: false`).
    pub(crate) disabled_reason: Option<String>,
}

/// Collects the errors of one body.
struct Reader {
    object: Map<String, Value>,
    errors: Vec<ProblemFieldError>,
}

impl Reader {
    fn new(body: &[u8], known: &[&str]) -> Result<Self, ApiError> {
        let value: Value =
            serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("the body is not JSON: {e}")))?;
        let Value::Object(object) = value else {
            return Err(ApiError::invalid_field("", "type", "must be a JSON object"));
        };
        let errors = object
            .keys()
            .filter(|key| !known.contains(&key.as_str()))
            .map(|key| ProblemFieldError::new(key.clone(), "unknown_field", "is not a field of this request"))
            .collect();
        Ok(Self { object, errors })
    }

    fn fail(&mut self, field: &str, rule: &str, message: impl Into<String>) {
        self.errors.push(ProblemFieldError::new(field, rule, message));
    }

    /// A string field: `None` when absent; `required` makes absence (or null) an error.
    fn text(&mut self, field: &str, required: bool, nullable: bool, max: usize) -> Option<Option<String>> {
        match self.object.get(field) {
            None if required => {
                self.fail(field, "required", "is required");
                None
            }
            None => None,
            Some(Value::Null) if nullable => Some(None),
            Some(Value::String(text)) if text.chars().count() > max => {
                self.fail(field, "too_long", format!("must be at most {max} characters"));
                None
            }
            Some(Value::String(text)) => Some(Some(text.trim().to_owned())),
            Some(_) => {
                let expected = if nullable { "must be a string or null" } else { "must be a string" };
                self.fail(field, "type", expected);
                None
            }
        }
    }

    fn boolean(&mut self, field: &str, required: bool) -> Option<bool> {
        match self.object.get(field) {
            None if required => {
                self.fail(field, "required", "is required");
                None
            }
            None => None,
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => {
                self.fail(field, "type", "must be true or false");
                None
            }
        }
    }

    fn finish<T>(self, value: T) -> Result<T, ApiError> {
        if self.errors.is_empty() { Ok(value) } else { Err(ApiError::validation(self.errors)) }
    }
}

/// Reads a settings body.
pub(crate) fn settings(body: &[u8]) -> Result<SettingsInput, ApiError> {
    let mut reader = Reader::new(body, &["email_address", "email_enabled"])?;
    let address = reader.text("email_address", false, true, MAX_EMAIL_LENGTH).flatten();
    let address = address.filter(|a| !a.is_empty());
    if let Some(address) = &address
        && address.parse::<lettre::Address>().is_err()
    {
        reader.fail("email_address", "email", "must be an email address (name@domain)");
    }
    let enabled = reader.boolean("email_enabled", true);
    if enabled == Some(true) && address.is_none() && !reader.errors.iter().any(|e| e.field == "email_address") {
        reader.fail("email_enabled", "requires_email_address", "can only be true with an email_address");
    }
    reader.finish(SettingsInput { email_address: address, email_enabled: enabled.unwrap_or(false) })
}

/// Reads a new endpoint's body.
pub(crate) fn new_endpoint(body: &[u8]) -> Result<NewEndpointInput, ApiError> {
    let mut reader = Reader::new(body, &["url", "description"])?;
    let url = reader.text("url", true, false, MAX_URL_LENGTH).flatten().unwrap_or_default();
    let description = reader.text("description", false, true, MAX_TEXT_LENGTH).flatten().unwrap_or_default();
    reader.finish(NewEndpointInput { url, description })
}

/// Reads an endpoint patch.
pub(crate) fn endpoint_patch(body: &[u8]) -> Result<EndpointPatchInput, ApiError> {
    let mut reader = Reader::new(body, &["url", "description", "enabled", "disabled_reason"])?;
    let url = reader.text("url", false, false, MAX_URL_LENGTH).flatten();
    let description = reader.text("description", false, true, MAX_TEXT_LENGTH).map(Option::unwrap_or_default);
    let enabled = reader.boolean("enabled", false);
    let disabled_reason = reader.text("disabled_reason", false, true, MAX_TEXT_LENGTH).flatten();
    if disabled_reason.is_some() && enabled != Some(false) {
        reader.fail("disabled_reason", "requires_disabling", "can only be given with \"enabled\": false");
    }
    reader.finish(EndpointPatchInput { url, description, enabled, disabled_reason })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(error: ApiError) -> Vec<(String, String)> {
        match error {
            ApiError::Validation(errors) => errors.into_iter().map(|e| (e.field, e.rule)).collect(),
            other => panic!("not a validation error: {other}"),
        }
    }

    #[test]
    fn settings_name_every_invalid_field() {
        let error = settings(br#"{"email_address": "nope", "email_enabled": "yes", "extra": 1}"#).expect_err("invalid");

        assert_eq!(
            fields(error),
            [
                ("extra".into(), "unknown_field".into()),
                ("email_address".into(), "email".into()),
                ("email_enabled".into(), "type".into())
            ]
        );
    }

    #[test]
    fn enabling_email_without_an_address_is_refused_naming_email_enabled() {
        let error = settings(br#"{"email_enabled": true}"#).expect_err("invalid");

        assert_eq!(fields(error), [("email_enabled".into(), "requires_email_address".into())]);
    }

    #[test]
    fn a_valid_settings_body_is_read() {
        let input = settings(br#"{"email_address": " alice@example.com ", "email_enabled": true}"#).expect("valid");

        assert_eq!(input, SettingsInput { email_address: Some("alice@example.com".into()), email_enabled: true });
    }

    #[test]
    fn a_new_endpoint_needs_a_url_and_a_patch_reason_needs_disabling() {
        assert_eq!(
            fields(new_endpoint(br#"{"description": "x"}"#).expect_err("invalid")),
            [("url".into(), "required".into())]
        );
        assert_eq!(
            fields(endpoint_patch(br#"{"disabled_reason": "x"}"#).expect_err("invalid")),
            [("disabled_reason".into(), "requires_disabling".into())]
        );
    }
}
