//! The handlers.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use chrono::Utc;
use service_runtime::auth::Caller;
use service_runtime::problem::ApiError;
use uuid::Uuid;

use super::ApiState;
use super::view::{
    DeliveryView, NotificationDetail, NotificationPage, NotificationView, SnoozeRequest, SnoozedView, UnreadCount,
};
use crate::store::{InboxQuery, SnoozeError};

/// Most notifications one page holds.
pub(super) const MAX_LIMIT: u32 = 200;
const DEFAULT_LIMIT: u32 = 50;

/// A database error as a problem: 503 when retrying may help, else 500 (logged).
fn storage(error: sqlx::Error) -> ApiError {
    if service_runtime::database::is_transient(&error) {
        tracing::warn!(error = %error, "notification database unavailable");
        ApiError::unavailable("the notification database is unavailable; retry later")
    } else {
        ApiError::internal(error)
    }
}

/// A notification id from the path; anything else is no notification of the caller's.
fn notification_id(raw: &str) -> Result<Uuid, ApiError> {
    Uuid::parse_str(raw).map_err(|_| ApiError::not_found())
}

/// `GET /v1/notifications`: the caller's notifications, newest first.
#[utoipa::path(
    get,
    path = "/v1/notifications",
    tag = "notifications",
    params(
        ("unread" = Option<bool>, Query, description = "`true`: only those not read yet."),
        ("limit" = Option<u32>, Query, description = "1 to 200; 50 by default.", minimum = 1, maximum = 200),
        ("cursor" = Option<String>, Query, description = "The previous page's `next_cursor`."),
    ),
    responses(
        (status = 200, description = "A page, newest first.", body = NotificationPage),
        (status = 401, response = super::openapi::Unauthorized),
        (status = 422, response = super::openapi::UnprocessableEntity),
        (status = 503, response = super::openapi::ServiceUnavailable),
    )
)]
pub(super) async fn list(
    State(state): State<ApiState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<NotificationPage>, ApiError> {
    let mut query = InboxQuery { user_id: caller.user_id, unread_only: false, limit: DEFAULT_LIMIT, before: None };
    for (name, value) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        match name.as_ref() {
            "unread" => {
                query.unread_only = match value.as_ref() {
                    "true" => true,
                    "false" => false,
                    _ => return Err(ApiError::invalid_field("unread", "format", "must be true or false")),
                }
            }
            "limit" => {
                query.limit = value.parse().ok().filter(|n| (1..=MAX_LIMIT).contains(n)).ok_or_else(|| {
                    ApiError::invalid_field("limit", "range", format!("must be a whole number from 1 to {MAX_LIMIT}"))
                })?;
            }
            "cursor" => {
                query.before =
                    Some(Uuid::parse_str(&value).map_err(|_| {
                        ApiError::invalid_field("cursor", "format", "is not a cursor this service issued")
                    })?);
            }
            other => {
                return Err(ApiError::invalid_field(other, "unknown", "is not a parameter of this operation"));
            }
        }
    }
    let page = state.store.inbox(&query).await.map_err(storage)?;
    Ok(Json(NotificationPage {
        items: page.items.into_iter().map(NotificationView::from).collect(),
        next_cursor: page.next.map(|id| id.to_string()),
    }))
}

/// `GET /v1/notifications/unread-count`.
#[utoipa::path(
    get,
    path = "/v1/notifications/unread-count",
    tag = "notifications",
    responses(
        (status = 200, description = "How many are not read yet.", body = UnreadCount),
        (status = 401, response = super::openapi::Unauthorized),
        (status = 503, response = super::openapi::ServiceUnavailable),
    )
)]
pub(super) async fn unread_count(State(state): State<ApiState>, caller: Caller) -> Result<Json<UnreadCount>, ApiError> {
    let unread = state.store.unread_count(&caller.user_id).await.map_err(storage)?;
    Ok(Json(UnreadCount { unread }))
}

/// `GET /v1/notifications/{id}`.
#[utoipa::path(
    get,
    path = "/v1/notifications/{id}",
    tag = "notifications",
    params(("id" = Uuid, Path, description = "The notification.")),
    responses(
        (status = 200, description = "The notification and each target's delivery.", body = NotificationDetail),
        (status = 401, response = super::openapi::Unauthorized),
        (status = 404, response = super::openapi::NotFound),
        (status = 503, response = super::openapi::ServiceUnavailable),
    )
)]
pub(super) async fn get(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<NotificationDetail>, ApiError> {
    let id = notification_id(&id)?;
    let (item, deliveries) =
        state.store.notification(&caller.user_id, id).await.map_err(storage)?.ok_or_else(ApiError::not_found)?;
    Ok(Json(NotificationDetail {
        notification: item.into(),
        deliveries: deliveries.into_iter().map(DeliveryView::from).collect(),
    }))
}

/// `POST /v1/notifications/{id}/read`.
#[utoipa::path(
    post,
    path = "/v1/notifications/{id}/read",
    tag = "notifications",
    params(("id" = Uuid, Path, description = "The notification.")),
    responses(
        (status = 200, description = "Marked read (the first read time is kept).", body = NotificationView),
        (status = 401, response = super::openapi::Unauthorized),
        (status = 404, response = super::openapi::NotFound),
        (status = 503, response = super::openapi::ServiceUnavailable),
    )
)]
pub(super) async fn read(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<NotificationView>, ApiError> {
    let id = notification_id(&id)?;
    let item = state.store.mark_read(&caller.user_id, id, Utc::now()).await.map_err(storage)?;
    item.map(|i| Json(NotificationView::from(i))).ok_or_else(ApiError::not_found)
}

/// `POST /v1/notifications/{id}/snooze`.
#[utoipa::path(
    post,
    path = "/v1/notifications/{id}/snooze",
    tag = "notifications",
    params(("id" = Uuid, Path, description = "The notification.")),
    request_body(content = SnoozeRequest, description = "Exactly one of `until` and `for`."),
    responses(
        (status = 202, description = "One more delivery is scheduled.", body = SnoozedView),
        (status = 400, response = super::openapi::BadRequest),
        (status = 401, response = super::openapi::Unauthorized),
        (status = 404, response = super::openapi::NotFound),
        (status = 409, response = super::openapi::Conflict),
        (status = 422, response = super::openapi::UnprocessableEntity),
        (status = 503, response = super::openapi::ServiceUnavailable),
    )
)]
pub(super) async fn snooze(
    State(state): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<SnoozedView>), ApiError> {
    let id = notification_id(&id)?;
    let request: SnoozeRequest = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("the body is not a snooze request: {e}")))?;
    let now = Utc::now();
    let until = crate::snooze::fire_at(request.until.as_deref(), request.r#for.as_deref(), now)
        .map_err(|e| ApiError::invalid_field(e.field, e.rule, e.message))?;
    let snoozed = state.store.snooze(&caller.user_id, id, until, now).await.map_err(|error| match error {
        SnoozeError::NotFound => ApiError::not_found(),
        SnoozeError::Conflict(detail) => ApiError::conflict(detail),
        SnoozeError::Database(error) => storage(error),
    })?;
    state.wake.notify_one();
    Ok((StatusCode::ACCEPTED, Json(SnoozedView::from(snoozed))))
}
