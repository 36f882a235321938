//! Writes that finish whatever the client does.
//!
//! axum drops a handler's future when its client disconnects, and the server's request
//! timeout drops it too. A write dropped halfway would stop between two statements of its
//! transaction: the transaction is then rolled back only when its connection is next used,
//! after whatever statement was in flight has ended, and a write dropped at the wrong moment
//! could leave its connection inside a transaction (see
//! `service_runtime::database::Pool::begin`). So every write handler runs its whole
//! transaction (begin → changes → outbox → commit) in a task of its own and only waits for
//! it: a dropped handler stops waiting, the write still commits or rolls back, and its events
//! are still published. A client that goes away cannot tell which happened; it retries with
//! the same `Idempotency-Key` (creates) or `If-Match` (changes).

use std::future::Future;

use service_runtime::problem::ApiError;
use tracing::Instrument as _;

/// Runs `write` to completion in a task of its own (in the request's span) and waits for its
/// result; dropping the returned future does not stop `write`. A write that fails after its
/// client went away is logged here (a server error as a warning), since no response will carry
/// (and log) the error.
pub(crate) async fn detached<T>(
    write: impl Future<Output = Result<T, ApiError>> + Send + 'static,
) -> Result<T, ApiError>
where
    T: Send + 'static,
{
    let (result_tx, result_rx) = tokio::sync::oneshot::channel();
    tokio::spawn(
        async move {
            match result_tx.send(write.await) {
                Err(Err(error)) if error.status().is_server_error() => {
                    tracing::warn!(error = %error, "a write failed after its client went away");
                }
                Err(Err(error)) => tracing::debug!(error = %error, "a write was refused after its client went away"),
                _ => {}
            }
        }
        .in_current_span(),
    );
    result_rx
        .await
        .unwrap_or_else(|_| Err(ApiError::internal(anyhow::anyhow!("the write's task ended without a result"))))
}
