//! The outbox: pending in seq order after commit, marked published, pruned, measured.

use std::time::Duration;

use chrono::TimeDelta;
use sqlx::postgres::PgListener;
use task_api::storage::{NewOutboxEvent, OUTBOX_CHANNEL, OutboxRow, StorageError, Store};

use crate::helpers::{enqueue, event, on_both_backends, on_postgres, wall_clock};

on_both_backends!(
    committed_events_are_pending_in_seq_order_with_every_field,
    pending_returns_at_most_the_limit_oldest_first,
    marking_events_published_removes_them_from_pending,
    pruning_deletes_only_published_rows_older_than_the_cutoff,
    stats_count_the_backlog_and_report_the_oldest_unpublished_event,
    an_event_id_enqueued_twice_is_a_conflict,
);

fn ids(rows: &[OutboxRow]) -> Vec<uuid::Uuid> {
    rows.iter().map(|r| r.event_id).collect()
}

fn event_ids(events: &[NewOutboxEvent]) -> Vec<uuid::Uuid> {
    events.iter().map(|e| e.event_id).collect()
}

async fn committed_events_are_pending_in_seq_order_with_every_field(store: Store) {
    let first: Vec<_> = (0..3).map(|n| event("task-a", n)).collect();
    let second: Vec<_> = (3..5).map(|n| event("task-b", n)).collect();
    let before = wall_clock();

    enqueue(&store, &first).await;
    enqueue(&store, &second).await;
    let pending = store.outbox_pending(100).await.expect("pending");

    let after = wall_clock();
    assert_eq!(ids(&pending), [event_ids(&first), event_ids(&second)].concat());
    assert!(pending.windows(2).all(|w| w[0].seq < w[1].seq), "seq increases");
    let row = &pending[4];
    let sent = &second[1];
    assert_eq!(
        (&row.event_type, &row.topic, &row.key, &row.payload, &row.headers),
        (&sent.event_type, &sent.topic, &sent.key, &sent.payload, &sent.headers)
    );
    assert!(pending.iter().all(|r| before <= r.created_at && r.created_at <= after), "{pending:?}");
}

async fn pending_returns_at_most_the_limit_oldest_first(store: Store) {
    let events: Vec<_> = (0..5).map(|n| event("task-a", n)).collect();
    enqueue(&store, &events).await;

    let pending = store.outbox_pending(2).await.expect("pending");

    assert_eq!(ids(&pending), event_ids(&events[..2]));
}

async fn marking_events_published_removes_them_from_pending(store: Store) {
    let events: Vec<_> = (0..4).map(|n| event("task-a", n)).collect();
    enqueue(&store, &events).await;
    let pending = store.outbox_pending(100).await.expect("pending");

    let published: Vec<i64> = pending[..2].iter().map(|r| r.seq).collect();
    store.outbox_mark_published(&published, wall_clock()).await.expect("mark");
    store.outbox_mark_published(&published, wall_clock()).await.expect("marking twice is harmless");
    store.outbox_mark_published(&[], wall_clock()).await.expect("marking nothing is harmless");

    assert_eq!(ids(&store.outbox_pending(100).await.expect("pending")), event_ids(&events[2..]));
}

async fn pruning_deletes_only_published_rows_older_than_the_cutoff(store: Store) {
    let events: Vec<_> = (0..3).map(|n| event("task-a", n)).collect();
    enqueue(&store, &events).await;
    let seqs: Vec<i64> = store.outbox_pending(100).await.expect("pending").iter().map(|r| r.seq).collect();
    let now = wall_clock();
    store.outbox_mark_published(&seqs[..1], now - TimeDelta::hours(2)).await.expect("mark old");
    store.outbox_mark_published(&seqs[1..2], now).await.expect("mark recent");

    let pruned = store.outbox_prune(now - TimeDelta::hours(1)).await.expect("prune");
    let pruned_later = store.outbox_prune(now + TimeDelta::hours(1)).await.expect("prune");

    assert_eq!(pruned, 1, "only the row published two hours ago");
    assert_eq!(pruned_later, 1, "the recently published row, kept by the first prune");
    assert_eq!(ids(&store.outbox_pending(100).await.expect("pending")), event_ids(&events[2..]), "unpublished kept");
    assert_eq!(store.outbox_stats().await.expect("stats").backlog, 1);
}

async fn stats_count_the_backlog_and_report_the_oldest_unpublished_event(store: Store) {
    let empty = store.outbox_stats().await.expect("stats");
    let before_first = wall_clock();
    enqueue(&store, &[event("a", 0), event("a", 1)]).await;
    let after_first = wall_clock();
    let before_second = wall_clock();
    enqueue(&store, &[event("b", 2)]).await;

    let three = store.outbox_stats().await.expect("stats");
    let first_seqs: Vec<i64> = store.outbox_pending(2).await.expect("pending").iter().map(|r| r.seq).collect();
    store.outbox_mark_published(&first_seqs, wall_clock()).await.expect("mark");
    let one = store.outbox_stats().await.expect("stats");

    assert_eq!((empty.backlog, empty.oldest_unpublished_at), (0, None));
    assert_eq!(three.backlog, 3);
    let oldest = three.oldest_unpublished_at.expect("oldest");
    assert!(before_first <= oldest && oldest <= after_first, "{oldest} outside the first enqueue");
    assert_eq!(one.backlog, 1);
    assert!(one.oldest_unpublished_at.expect("oldest") >= before_second);
}

async fn an_event_id_enqueued_twice_is_a_conflict(store: Store) {
    let once = event("a", 0);
    enqueue(&store, std::slice::from_ref(&once)).await;

    let mut tx = store.begin().await.expect("begin");
    let again = tx.enqueue(std::slice::from_ref(&once)).await;
    tx.rollback().await.expect("rollback");

    assert!(matches!(again, Err(StorageError::Conflict)), "{again:?}");
    assert_eq!(store.outbox_stats().await.expect("stats").backlog, 1);
}

#[tokio::test]
async fn enqueue_notifies_the_outbox_channel_when_the_transaction_commits_on_postgres() {
    on_postgres(|store: Store| async move {
        let pool = store.pg_pool().expect("PostgreSQL pool").clone();
        let mut listener = PgListener::connect_with(&pool).await.expect("listener");
        listener.listen(OUTBOX_CHANNEL).await.expect("listen");

        enqueue(&store, &[event("a", 0)]).await;

        let notification =
            tokio::time::timeout(Duration::from_secs(10), listener.recv()).await.expect("notified in time");
        assert_eq!(notification.expect("notification").channel(), OUTBOX_CHANNEL);
    })
    .await;
}
