//! What every handler shares.

use axum::extract::FromRef;
use service_runtime::CancellationToken;
use service_runtime::auth::Verifier;
use service_runtime::outbox::OutboxSignal;
use service_runtime::settings::KafkaSettings;

use crate::events::Topics;
use crate::storage::Store;

/// Shared by every handler. Cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The tasks database.
    pub store: Store,
    /// Verifies bearer tokens.
    pub verifier: Verifier,
    /// Wakes the outbox relay after a commit.
    pub signal: OutboxSignal,
    /// Where events go.
    pub topics: Topics,
    /// The broker connection (with its security settings), for the event stream's consumers.
    pub kafka: KafkaSettings,
    /// Cancelled when the service stops: open event streams end, so that the server can drain.
    pub shutdown: CancellationToken,
}

impl FromRef<AppState> for Verifier {
    fn from_ref(state: &AppState) -> Self {
        state.verifier.clone()
    }
}
