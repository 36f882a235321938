//! The inbox API: bearer tokens verified exactly as task-api does ([`service_runtime::auth`]),
//! errors as RFC 9457 problems ([`service_runtime::problem`]); a caller sees and changes only
//! their own notifications (another user's answers 404).
//!
//! Routes:
//! - `GET /v1/notifications`: newest first; `unread=true` for the unread ones only, `limit`
//!   (1–200, default 50), `cursor` (a page's `next_cursor`).
//! - `GET /v1/notifications/unread-count`: `{"unread": n}`.
//! - `GET /v1/notifications/{id}`: one notification with its deliveries (each target's state,
//!   attempts, last error, next retry).
//! - `POST /v1/notifications/{id}/read`: marks it read; answers the notification.
//! - `POST /v1/notifications/{id}/snooze`: `{"until": <RFC 3339>}` or `{"for": "PT10M"}`:
//!   schedules one more delivery of the reminder (the next generation); 202.
//! - `GET /openapi.json`: the OpenAPI document (no token).
//!
//! # Layout
//! - `view`: the JSON shapes.
//! - `routes`: the handlers.
//! - `openapi`: the OpenAPI document.

mod openapi;
mod routes;
mod view;

use std::sync::Arc;

use axum::Router;
use axum::extract::FromRef;
use axum::routing::{get, post};
use service_runtime::auth::Verifier;
use tokio::sync::Notify;

pub use openapi::document;
pub use view::{
    DeliveryView, NotificationDetail, NotificationPage, NotificationView, SnoozeRequest, SnoozedView, UnreadCount,
};

use crate::store::Store;

/// What every handler shares. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ApiState {
    /// The notification database.
    pub store: Store,
    /// Verifies bearer tokens.
    pub verifier: Verifier,
    /// Wakes the scheduler (a snooze may be due before its next wake-up).
    pub wake: Arc<Notify>,
}

impl FromRef<ApiState> for Verifier {
    fn from_ref(state: &ApiState) -> Self {
        state.verifier.clone()
    }
}

/// The API's routes.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/v1/notifications", get(routes::list))
        .route("/v1/notifications/unread-count", get(routes::unread_count))
        .route("/v1/notifications/{id}", get(routes::get))
        .route("/v1/notifications/{id}/read", post(routes::read))
        .route("/v1/notifications/{id}/snooze", post(routes::snooze))
        .route("/openapi.json", get(openapi::serve))
        .with_state(state)
}
