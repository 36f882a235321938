//! The handlers: a user reads and changes only their own settings and endpoints (another
//! user's endpoint answers 404, as a missing one does).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::header::LOCATION;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Serialize;
use service_runtime::auth::{Actor, Caller};
use service_runtime::problem::ApiError;
use utoipa::ToSchema;
use uuid::Uuid;

use super::EndpointsState;
use super::input;
use super::openapi::{EndpointPatchRequest, NewEndpointRequest, Problem, SettingsRequest};
use super::store::{Endpoint, EndpointChange, UserSettings};
use crate::channels::signing::Secret;

/// The reason recorded when the owner disables an endpoint without giving one.
const DISABLED_BY_OWNER: &str = "disabled by its owner";

/// A user's channel settings.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SettingsBody {
    /// Where reminders are mailed; `null` if nowhere.
    #[schema(example = "alice@example.com")]
    email_address: Option<String>,
    /// Whether reminders are mailed.
    email_enabled: bool,
    /// When the settings last changed; `null` if never set.
    updated_at: Option<DateTime<Utc>>,
}

impl From<UserSettings> for SettingsBody {
    fn from(s: UserSettings) -> Self {
        Self { email_address: s.email_address, email_enabled: s.email_enabled, updated_at: s.updated_at }
    }
}

/// A webhook endpoint (its secret is shown only when created or rotated).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EndpointBody {
    id: Uuid,
    /// Where deliveries are posted.
    #[schema(example = "https://example.com/hooks/taskstream")]
    url: String,
    /// The owner's note.
    description: String,
    /// Whether deliveries go to it.
    enabled: bool,
    /// Why it is disabled: by its owner, or `the receiver answered 410 Gone`.
    disabled_reason: Option<String>,
    /// When it was disabled.
    disabled_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    /// Until when the secret replaced by the last rotation still signs (each message then
    /// carries two signatures); `null` when only the current secret signs.
    previous_secret_expires_at: Option<DateTime<Utc>>,
}

impl From<Endpoint> for EndpointBody {
    fn from(e: Endpoint) -> Self {
        let previous = e.previous_secret_expires_at.filter(|expires| *expires > Utc::now());
        Self {
            id: e.id,
            url: e.url,
            description: e.description,
            enabled: e.enabled,
            disabled_reason: e.disabled_reason,
            disabled_at: e.disabled_at,
            created_at: e.created_at,
            updated_at: e.updated_at,
            previous_secret_expires_at: previous,
        }
    }
}

/// An endpoint with its new secret: the only time the secret is shown.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EndpointWithSecret {
    #[serde(flatten)]
    endpoint: EndpointBody,
    /// `whsec_` + base64 of the key: verify `webhook-signature` with it. Shown once.
    #[schema(example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]
    secret: String,
}

/// A list of endpoints.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EndpointList {
    /// Oldest first.
    items: Vec<EndpointBody>,
}

fn storage(error: sqlx::Error) -> ApiError {
    if service_runtime::database::is_transient(&error) {
        tracing::warn!(error = ?error, "database unavailable");
        ApiError::unavailable("the database is unavailable; try again shortly")
    } else {
        ApiError::internal(error)
    }
}

/// The user, when they call for themselves. A service acting for a user (which the shared
/// verifier admits for the task API's `tasks:write_on_behalf`) may not read or change where that
/// user's reminders go: that scope is about tasks, and an endpoint would let it receive them.
fn own(caller: &Caller) -> Result<&str, ApiError> {
    match caller.actor {
        Actor::User(_) => Ok(&caller.user_id),
        Actor::Service(_) => Err(ApiError::forbidden("only the user themselves manages their notification channels")),
    }
}

/// An endpoint id from the path; one that is no UUID names no endpoint (404).
fn endpoint_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::not_found())
}

/// Refuses a URL the destination guard refuses, naming `url`.
async fn checked_url(state: &EndpointsState, url: &str) -> Result<String, ApiError> {
    state
        .guard
        .check_destination(url)
        .await
        .map(|_| url.to_owned())
        .map_err(|refused| ApiError::invalid_field("url", "destination_refused", refused.to_string()))
}

#[utoipa::path(
    get,
    path = "/v1/notification-settings",
    tag = "notification-settings",
    operation_id = "getNotificationSettings",
    summary = "Read the caller's channel settings",
    responses(
        (status = 200, description = "The settings (defaults if never set).", body = SettingsBody),
        (status = 401, description = "No or an invalid bearer token.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A service token: only the user manages their channels.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable.", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub(super) async fn get_settings(
    State(state): State<EndpointsState>,
    caller: Caller,
) -> Result<Json<SettingsBody>, ApiError> {
    let user = own(&caller)?;
    Ok(Json(state.store.settings(user).await.map_err(storage)?.into()))
}

#[utoipa::path(
    put,
    path = "/v1/notification-settings",
    tag = "notification-settings",
    operation_id = "putNotificationSettings",
    summary = "Replace the caller's channel settings",
    description = "`email_enabled: true` needs an `email_address`. The in-app inbox is always on.",
    request_body(content = SettingsRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The new settings.", body = SettingsBody),
        (status = 400, description = "The body is not JSON.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No or an invalid bearer token.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A service token: only the user manages their channels.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, each named in `errors`.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable.", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub(super) async fn put_settings(
    State(state): State<EndpointsState>,
    caller: Caller,
    body: Bytes,
) -> Result<Json<SettingsBody>, ApiError> {
    let user = own(&caller)?;
    let input = input::settings(&body)?;
    let settings = state.store.put_settings(user, input.email_address, input.email_enabled).await.map_err(storage)?;
    Ok(Json(settings.into()))
}

#[utoipa::path(
    get,
    path = "/v1/webhook-endpoints",
    tag = "webhook-endpoints",
    operation_id = "listWebhookEndpoints",
    summary = "List the caller's webhook endpoints",
    responses(
        (status = 200, description = "The caller's endpoints, oldest first.", body = EndpointList),
        (status = 401, description = "No or an invalid bearer token.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A service token: only the user manages their channels.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable.", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub(super) async fn list(State(state): State<EndpointsState>, caller: Caller) -> Result<Json<EndpointList>, ApiError> {
    let user = own(&caller)?;
    let endpoints = state.store.endpoints(user).await.map_err(storage)?;
    Ok(Json(EndpointList { items: endpoints.into_iter().map(Into::into).collect() }))
}

#[utoipa::path(
    post,
    path = "/v1/webhook-endpoints",
    tag = "webhook-endpoints",
    operation_id = "createWebhookEndpoint",
    summary = "Add a webhook endpoint",
    description = "Answers 201 with the endpoint and its signing `secret`, shown this once. In production the \
                   URL must be `https` and its host must resolve to public addresses only.",
    request_body(content = NewEndpointRequest, content_type = "application/json"),
    responses(
        (status = 201, description = "Created.", body = EndpointWithSecret,
         headers(("Location" = String, description = "`/v1/webhook-endpoints/{id}`"))),
        (status = 400, description = "The body is not JSON.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No or an invalid bearer token.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A service token: only the user manages their channels.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The caller has the most endpoints allowed.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields (a refused `url` is `destination_refused`).", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable.", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub(super) async fn create(
    State(state): State<EndpointsState>,
    caller: Caller,
    body: Bytes,
) -> Result<Response, ApiError> {
    let user = own(&caller)?;
    let input = input::new_endpoint(&body)?;
    let url = checked_url(&state, &input.url).await?;
    let count = state.store.count_endpoints(user).await.map_err(storage)?;
    if count >= i64::from(state.max_endpoints) {
        return Err(ApiError::conflict(format!("a user may have at most {} webhook endpoints", state.max_endpoints)));
    }
    let secret = Secret::generate();
    let endpoint = state.store.create_endpoint(user, &url, &input.description, &secret).await.map_err(storage)?;
    let location = format!("/v1/webhook-endpoints/{}", endpoint.id);
    let body = EndpointWithSecret { endpoint: endpoint.into(), secret: secret.encode() };
    Ok((StatusCode::CREATED, [(LOCATION, location)], Json(body)).into_response())
}

#[utoipa::path(
    get,
    path = "/v1/webhook-endpoints/{id}",
    tag = "webhook-endpoints",
    operation_id = "getWebhookEndpoint",
    summary = "Read a webhook endpoint",
    params(("id" = Uuid, Path, description = "The endpoint.")),
    responses(
        (status = 200, description = "The endpoint.", body = EndpointBody),
        (status = 401, description = "No or an invalid bearer token.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A service token: only the user manages their channels.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such endpoint of the caller's.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable.", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub(super) async fn get(
    State(state): State<EndpointsState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<EndpointBody>, ApiError> {
    let user = own(&caller)?;
    let endpoint = state.store.endpoint(user, endpoint_id(&id)?).await.map_err(storage)?;
    Ok(Json(endpoint.ok_or_else(ApiError::not_found)?.into()))
}

#[utoipa::path(
    patch,
    path = "/v1/webhook-endpoints/{id}",
    tag = "webhook-endpoints",
    operation_id = "updateWebhookEndpoint",
    summary = "Change a webhook endpoint",
    description = "Change its `url` or `description`, disable it (`enabled: false`, with an optional \
                   `disabled_reason`) or enable it again (after a 410, once the receiver is back).",
    params(("id" = Uuid, Path, description = "The endpoint.")),
    request_body(content = EndpointPatchRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The changed endpoint.", body = EndpointBody),
        (status = 400, description = "The body is not JSON.", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No or an invalid bearer token.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A service token: only the user manages their channels.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such endpoint of the caller's.", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, each named in `errors`.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable.", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub(super) async fn update(
    State(state): State<EndpointsState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<EndpointBody>, ApiError> {
    let user = own(&caller)?;
    let id = endpoint_id(&id)?;
    let patch = input::endpoint_patch(&body)?;
    let url = match patch.url {
        Some(url) => Some(checked_url(&state, &url).await?),
        None => None,
    };
    let enabled = patch.enabled.map(|enabled| {
        (enabled, (!enabled).then(|| patch.disabled_reason.unwrap_or_else(|| DISABLED_BY_OWNER.into())))
    });
    let change = EndpointChange { url, description: patch.description, enabled };
    let endpoint = state.store.update_endpoint(user, id, change).await.map_err(storage)?;
    Ok(Json(endpoint.ok_or_else(ApiError::not_found)?.into()))
}

#[utoipa::path(
    delete,
    path = "/v1/webhook-endpoints/{id}",
    tag = "webhook-endpoints",
    operation_id = "deleteWebhookEndpoint",
    summary = "Delete a webhook endpoint",
    description = "Nothing more is delivered to it, including retries already scheduled.",
    params(("id" = Uuid, Path, description = "The endpoint.")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 401, description = "No or an invalid bearer token.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A service token: only the user manages their channels.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such endpoint of the caller's.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable.", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub(super) async fn delete(
    State(state): State<EndpointsState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let user = own(&caller)?;
    let deleted = state.store.delete_endpoint(user, endpoint_id(&id)?).await.map_err(storage)?;
    if deleted { Ok(StatusCode::NO_CONTENT) } else { Err(ApiError::not_found()) }
}

#[utoipa::path(
    post,
    path = "/v1/webhook-endpoints/{id}/rotate-secret",
    tag = "webhook-endpoints",
    operation_id = "rotateWebhookEndpointSecret",
    summary = "Replace an endpoint's signing secret",
    description = "Answers the new `secret`, shown this once. The previous secret keeps signing for 24 hours \
                   (configurable): meanwhile each message carries a signature with each secret, so the \
                   receiver can switch without losing a message.",
    params(("id" = Uuid, Path, description = "The endpoint.")),
    responses(
        (status = 200, description = "The endpoint and its new secret.", body = EndpointWithSecret),
        (status = 401, description = "No or an invalid bearer token.", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "A service token: only the user manages their channels.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such endpoint of the caller's.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable.", body = Problem, content_type = "application/problem+json"),
    ),
)]
pub(super) async fn rotate_secret(
    State(state): State<EndpointsState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<EndpointWithSecret>, ApiError> {
    let user = own(&caller)?;
    let secret = Secret::generate();
    let endpoint = state.store.rotate_secret(user, endpoint_id(&id)?, &secret).await.map_err(storage)?;
    let endpoint = endpoint.ok_or_else(ApiError::not_found)?;
    Ok(Json(EndpointWithSecret { endpoint: endpoint.into(), secret: secret.encode() }))
}
