//! The OpenAPI description of these routes: [`EndpointsApi`], which the service's document
//! merges (`utoipa::openapi::OpenApi::merge`), and the schemas of the request bodies.
//!
//! The bodies are read field by field by `input` (every invalid field named), not by a derived
//! `Deserialize`, so their schemas are these documentation-only types, kept beside the reader.

use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use super::routes;

/// The settings and endpoint operations and their schemas.
#[derive(Debug, OpenApi)]
#[openapi(
    paths(
        routes::get_settings,
        routes::put_settings,
        routes::list,
        routes::create,
        routes::get,
        routes::update,
        routes::delete,
        routes::rotate_secret,
    ),
    tags(
        (name = "notification-settings", description = "The caller's channel settings (email)."),
        (name = "webhook-endpoints", description = "The caller's webhook endpoints (Standard Webhooks; see docs/webhooks.md). \
                                                    Another user's endpoint answers 404."),
    ),
)]
pub struct EndpointsApi;

/// `PUT /v1/notification-settings`. Unknown fields are refused.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = NotificationSettingsRequest)]
pub struct SettingsRequest {
    /// Where to mail reminders; `null` or absent for nowhere. At most 254 characters.
    #[schema(example = "alice@example.com", max_length = 254)]
    email_address: Option<String>,
    /// Whether to mail reminders; `true` needs an `email_address`.
    email_enabled: bool,
}

/// `POST /v1/webhook-endpoints`. Unknown fields are refused.
#[derive(Debug, Serialize, ToSchema)]
pub struct NewEndpointRequest {
    /// `https://…` (in production; `http` only where `notification.webhook.allow_http` is set),
    /// without credentials or fragment, whose host resolves to public addresses only (unless
    /// `notification.webhook.allow_private`). At most 2048 characters.
    #[schema(example = "https://example.com/hooks/taskstream", max_length = 2048)]
    url: String,
    /// A note for the owner. At most 500 characters.
    #[schema(max_length = 500)]
    description: Option<String>,
}

/// `PATCH /v1/webhook-endpoints/{id}`: the fields to change. Unknown fields are refused.
#[derive(Debug, Serialize, ToSchema)]
pub struct EndpointPatchRequest {
    /// A new URL, checked as when creating.
    #[schema(max_length = 2048)]
    url: Option<String>,
    /// A new note.
    #[schema(max_length = 500)]
    description: Option<String>,
    /// `false` disables the endpoint, `true` enables it again (clearing the reason).
    enabled: Option<bool>,
    /// Why it is disabled; only with `enabled: false`.
    #[schema(max_length = 500)]
    disabled_reason: Option<String>,
}

/// An RFC 9457 problem (`application/problem+json`), as every taskstream service answers errors.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = NotificationProblem)]
pub struct Problem {
    /// `about:blank` or a `https://taskstream.dev/problems/…` type.
    #[serde(rename = "type")]
    problem_type: String,
    title: String,
    status: u16,
    /// For people; branch on `type`, `status` and `errors[].rule`.
    detail: String,
    /// 422 only: each invalid field.
    errors: Option<Vec<FieldProblem>>,
}

/// One invalid field of a 422.
#[derive(Debug, Serialize, ToSchema)]
pub struct FieldProblem {
    /// The field (`url`, `email_address`, …).
    field: String,
    /// The rule broken (`required`, `destination_refused`, …).
    rule: String,
    message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_lists_every_settings_and_endpoint_operation() {
        let document = serde_json::to_value(EndpointsApi::openapi()).expect("JSON");

        let paths = document["paths"].as_object().expect("paths");
        assert!(paths["/v1/notification-settings"]["put"].is_object());
        assert!(paths["/v1/webhook-endpoints"]["post"].is_object());
        assert!(paths["/v1/webhook-endpoints/{id}"]["patch"].is_object());
        assert!(paths["/v1/webhook-endpoints/{id}/rotate-secret"]["post"].is_object());
        assert!(document["components"]["schemas"]["EndpointWithSecret"].is_object());
    }
}
