//! The HTTP API: `/v1/tasks` and its sub-resources, behind bearer-token authentication.
//!
//! # Layout
//! - `state`: [`AppState`], what every handler shares.
//! - `input`: reading task request bodies ([`FromJson`]) into the domain's validated forms.
//! - [`problem`]: the domain's validation errors as shared RFC 9457 problems (422), and
//!   task-api's own problem types (reused idempotency key, version mismatch).
//! - `request`: request context (trace context, request id), `If-Match`, `Idempotency-Key`.
//! - `query`: parsing the list query string into a [`crate::storage::ListQuery`].
//! - `tasks`: the handlers, but for `create`: `POST /v1/tasks` (idempotency keys, series
//!   successors).
//! - `write`: [`write::detached`], which every write handler runs its transaction in, so
//!   that a client that disconnects (or times out) cannot leave a write half-done.
//! - `evaluate`: recurrence-rule evaluation off the async workers, a few at a time.
//! - `events_stream`: `GET /v1/events`, the caller's events as Server-Sent Events.
//! - `openapi`: the OpenAPI document ([`document`]), served at `/openapi.json` without a token.

mod create;
mod evaluate;
mod events_stream;
mod input;
mod openapi;
pub mod problem;
mod query;
mod request;
mod state;
mod tasks;
mod write;

use axum::Router;
use axum::routing::{get, post};

pub use input::{FromJson, NewTaskOnBehalf};
pub use openapi::document;
pub use state::AppState;

/// The API routes (the operational routes are added by `service-runtime`).
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/v1/tasks", post(create::create).get(tasks::list))
        .route("/v1/tasks/{id}", get(tasks::get).patch(tasks::update).delete(tasks::delete))
        .route("/v1/tasks/{id}/complete", post(tasks::complete))
        .route("/v1/tasks/{id}/reopen", post(tasks::reopen))
        .route("/v1/events", get(events_stream::stream))
        .route("/openapi.json", get(openapi::serve))
        // Each request in a span continuing the caller's trace; its events carry that span's
        // `traceparent` (see `request::event_context`).
        .route_layer(axum::middleware::from_fn(service_runtime::telemetry::spans::http_request))
        .with_state(state)
}
