//! Per-user channel settings and webhook endpoints: their store and their routes
//! (`/v1/notification-settings`, `/v1/webhook-endpoints…`), verified with the same bearer
//! tokens as every taskstream API. A user sees and changes only their own.
//!
//! # Layout
//! - this file: [`EndpointsState`] and [`router`].
//! - `store`: [`Store`]: the `notification_settings` and `webhook_endpoints` tables (both
//!   backends), and this module's migrations ([`MIGRATIONS_POSTGRES`], [`MIGRATIONS_SQLITE`]).
//! - `input`: the request bodies, read field by field (422 naming each invalid field).
//! - `routes`: the handlers.
//! - `openapi`: [`EndpointsApi`], the operations' OpenAPI description, for the service's
//!   document to merge.
//!
//! # Decisions
//! - **Secrets are shown once** (the answer to creation and rotation) and never listed; the
//!   service keeps them to sign (HMAC needs the key itself).
//! - **The destination guard runs at creation and on a changed URL** (a clear 422 naming
//!   `url`), and again at every delivery (DNS may have changed since).
//! - **Users only**: a service token acting for a user (`X-On-Behalf-Of`, `act_for`) gets 403
//!   here. The on-behalf scope is about tasks; an endpoint of its choosing would let a service
//!   receive the user's reminders.
//! - **A 410 from the receiver disables the endpoint** with the reason; the owner enables it
//!   again with `PATCH {"enabled": true}`.

mod input;
pub mod openapi;
mod routes;
mod store;

use axum::Router;
use axum::extract::FromRef;
use axum::routing::{get, post};
use service_runtime::auth::Verifier;

pub use openapi::EndpointsApi;
pub use store::{
    DeliveryEndpoint, Endpoint, EndpointChange, MIGRATIONS_POSTGRES, MIGRATIONS_SQLITE, Store, UserSettings,
};

use crate::channels::Channels;
use crate::channels::guard::Guard;

/// What the routes share. Cheap to clone.
#[derive(Debug, Clone)]
pub struct EndpointsState {
    /// The settings and endpoints.
    pub store: Store,
    /// Verifies bearer tokens.
    pub verifier: Verifier,
    /// Checks endpoint URLs.
    pub guard: Guard,
    /// At most this many endpoints per user.
    pub max_endpoints: u32,
}

impl EndpointsState {
    /// The state of the routes over the channels' store and settings.
    pub fn new(channels: &Channels, verifier: Verifier) -> Self {
        let webhook = &channels.settings().webhook;
        Self {
            store: channels.store().clone(),
            verifier,
            guard: Guard { allow_http: webhook.allow_http, allow_private: webhook.allow_private },
            max_endpoints: webhook.max_endpoints_per_user,
        }
    }
}

impl FromRef<EndpointsState> for Verifier {
    fn from_ref(state: &EndpointsState) -> Self {
        state.verifier.clone()
    }
}

/// The settings and endpoint routes, for the service's router to merge.
pub fn router(state: EndpointsState) -> Router {
    Router::new()
        .route("/v1/notification-settings", get(routes::get_settings).put(routes::put_settings))
        .route("/v1/webhook-endpoints", get(routes::list).post(routes::create))
        .route("/v1/webhook-endpoints/{id}", get(routes::get).patch(routes::update).delete(routes::delete))
        .route("/v1/webhook-endpoints/{id}/rotate-secret", post(routes::rotate_secret))
        .with_state(state)
}
