//! task-api's outbox (`storage::OUTBOX`) over the shared `service_runtime::outbox`: its
//! migrations create the table the relay reads, `Tx::enqueue` writes it and notifies
//! `task_outbox`, a repeated event id is a conflict. The outbox's own behaviour (order,
//! marking, pruning, statistics, the relay) is tested in service-runtime's `outbox` tests.

use std::time::Duration;

use sqlx::postgres::PgListener;
use task_api::storage::{OUTBOX, StorageError, Store};

use crate::helpers::{enqueue, event, on_both_backends, on_postgres, outbox};

on_both_backends!(
    events_enqueued_by_a_task_transaction_are_pending_in_the_relays_outbox,
    an_event_id_enqueued_twice_is_a_conflict
);

async fn events_enqueued_by_a_task_transaction_are_pending_in_the_relays_outbox(store: Store) {
    let events = [event("task-a", 0), event("task-a", 1)];

    enqueue(&store, &events).await;

    let pending = outbox(&store).pending(100).await.expect("pending");
    let read: Vec<_> = pending.into_iter().map(|row| row.event).collect();
    assert_eq!(read, events);
}

async fn an_event_id_enqueued_twice_is_a_conflict(store: Store) {
    let once = event("a", 0);
    enqueue(&store, std::slice::from_ref(&once)).await;

    let mut tx = store.begin().await.expect("begin");
    let again = tx.enqueue(std::slice::from_ref(&once)).await;
    tx.rollback().await.expect("rollback");

    assert!(matches!(again, Err(StorageError::Conflict)), "{again:?}");
    assert_eq!(outbox(&store).stats().await.expect("stats").backlog, 1);
}

#[tokio::test]
async fn enqueue_notifies_task_outbox_when_the_transaction_commits_on_postgres() {
    on_postgres(|store: Store| async move {
        let pool = store.pool().as_postgres().expect("PostgreSQL pool").clone();
        let mut listener = PgListener::connect_with(&pool).await.expect("listener");
        listener.listen("task_outbox").await.expect("listen");

        enqueue(&store, &[event("a", 0)]).await;

        let notification =
            tokio::time::timeout(Duration::from_secs(10), listener.recv()).await.expect("notified in time");
        assert_eq!(notification.expect("notification").channel(), OUTBOX.channel());
    })
    .await;
}
