//! The query API: bearer tokens verified exactly as task-api does ([`service_runtime::auth`]),
//! errors as RFC 9457 problems ([`service_runtime::problem`]).
//!
//! Routes:
//! - `GET /v1/audit`: entries, newest first (`order=asc` for oldest first); filters `task_id`,
//!   `type`, `from` (inclusive), `to` (exclusive) on the event's time, `user_id` (administrators
//!   only); `limit` (1–500, default 50) and `cursor` (from `next_cursor`).
//! - `GET /v1/audit/tasks/{task_id}`: a task's whole history, oldest first; 404 when the
//!   caller can see no entry of it.
//! - `GET /v1/audit/export`: NDJSON (`application/x-ndjson`), one entry per line, oldest first,
//!   streamed page by page; same filters as the list except the cursor.
//! - `GET /v1/audit/verify`: recomputes the caller's chain (administrators: `user_id=…`, or
//!   every chain without it) and reports the first broken link of each.
//!
//! Isolation: a caller sees only entries of their own `user_id` (the token's `sub`, or the
//! `act_for` user of a service token); a token whose `roles` include `admin` sees everyone's.
//! Asking for another user's entries without the role is 403.
//!
//! # Layout
//! - `params`: query strings → [`crate::store::AuditQuery`], each problem naming its parameter.
//! - `view`: [`EntryView`], the JSON shape of an entry.
//! - `routes`: the handlers.

mod params;
mod routes;
mod view;

use axum::Router;
use axum::extract::FromRef;
use axum::routing::get;
use service_runtime::auth::Verifier;

pub use view::{ChainView, EntryPage, EntryView, TaskHistory};

use crate::store::AuditStore;

/// What every handler shares. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ApiState {
    /// The audit database.
    pub store: AuditStore,
    /// Verifies bearer tokens.
    pub verifier: Verifier,
}

impl FromRef<ApiState> for Verifier {
    fn from_ref(state: &ApiState) -> Self {
        state.verifier.clone()
    }
}

/// The API's routes.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/v1/audit", get(routes::list))
        .route("/v1/audit/tasks/{task_id}", get(routes::task_history))
        .route("/v1/audit/export", get(routes::export))
        .route("/v1/audit/verify", get(routes::verify))
        .with_state(state)
}
