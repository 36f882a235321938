//! The in-process wake-up from the write path to the relay.

use std::sync::Arc;

use tokio::sync::Notify;

/// Woken after a transaction that enqueued events commits. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct OutboxSignal(Arc<Notify>);

impl OutboxSignal {
    /// Tells the relay there is something to publish. A wake-up sent while the relay is busy is
    /// kept (one permit), so it is never lost.
    pub fn notify(&self) {
        self.0.notify_one();
    }

    /// Waits for the next wake-up.
    pub async fn notified(&self) {
        self.0.notified().await;
    }
}
