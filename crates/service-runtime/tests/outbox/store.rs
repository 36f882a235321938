//! The outbox table on both backends: pending in seq order after commit, marked published,
//! pruned, measured; a repeated event id refused; PostgreSQL notified on commit only.

use std::time::Duration;

use chrono::{DateTime, SubsecRound as _, TimeDelta, Utc};
use service_runtime::database::{Arg, Backend, Sql};
use service_runtime::outbox::{self, Outbox, OutboxEvent, OutboxRow};
use sqlx::postgres::PgListener;
use uuid::Uuid;

use crate::helpers::{TestDb, on_both_backends};
use crate::support::{FIRST, enqueue, event, pool};

on_both_backends!(
    committed_events_are_pending_in_seq_order_with_every_field,
    pending_returns_at_most_the_limit_oldest_first,
    marking_events_published_removes_them_from_pending,
    pruning_deletes_only_published_rows_older_than_the_cutoff,
    stats_count_the_backlog_and_report_the_oldest_unpublished_event,
    an_event_id_enqueued_twice_is_a_unique_violation_and_enqueues_nothing,
);

const TOPIC: &str = "taskstream.test-events.v1";

fn ids(rows: &[OutboxRow]) -> Vec<Uuid> {
    rows.iter().map(|r| r.event.event_id).collect()
}

fn event_ids(events: &[OutboxEvent]) -> Vec<Uuid> {
    events.iter().map(|e| e.event_id).collect()
}

/// The current time as the outbox keeps it.
fn wall_clock() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

async fn committed_events_are_pending_in_seq_order_with_every_field(db: TestDb) {
    let pool = pool(&db).await;
    let outbox = Outbox::new(pool.clone(), FIRST);
    let first: Vec<_> = (0..3).map(|n| event(TOPIC, "task-a", n)).collect();
    let second: Vec<_> = (3..5).map(|n| event(TOPIC, "task-b", n)).collect();
    let before = wall_clock();

    enqueue(&pool, &FIRST, &first).await;
    enqueue(&pool, &FIRST, &second).await;
    let pending = outbox.pending(100).await.expect("pending");

    let after = wall_clock();
    assert_eq!(ids(&pending), [event_ids(&first), event_ids(&second)].concat());
    assert!(pending.windows(2).all(|w| w[0].seq < w[1].seq), "seq increases");
    assert_eq!(pending[4].event, second[1], "every field read back");
    assert!(pending.iter().all(|r| before <= r.created_at && r.created_at <= after), "{pending:?}");
    db.drop_database().await;
}

async fn pending_returns_at_most_the_limit_oldest_first(db: TestDb) {
    let pool = pool(&db).await;
    let events: Vec<_> = (0..5).map(|n| event(TOPIC, "task-a", n)).collect();
    enqueue(&pool, &FIRST, &events).await;

    let pending = Outbox::new(pool, FIRST).pending(2).await.expect("pending");

    assert_eq!(ids(&pending), event_ids(&events[..2]));
    db.drop_database().await;
}

async fn marking_events_published_removes_them_from_pending(db: TestDb) {
    let pool = pool(&db).await;
    let outbox = Outbox::new(pool.clone(), FIRST);
    let events: Vec<_> = (0..4).map(|n| event(TOPIC, "task-a", n)).collect();
    enqueue(&pool, &FIRST, &events).await;
    let pending = outbox.pending(100).await.expect("pending");

    let published: Vec<i64> = pending[..2].iter().map(|r| r.seq).collect();
    outbox.mark_published(&published, wall_clock()).await.expect("mark");
    outbox.mark_published(&published, wall_clock()).await.expect("marking twice is harmless");
    outbox.mark_published(&[], wall_clock()).await.expect("marking nothing is harmless");

    assert_eq!(ids(&outbox.pending(100).await.expect("pending")), event_ids(&events[2..]));
    db.drop_database().await;
}

async fn pruning_deletes_only_published_rows_older_than_the_cutoff(db: TestDb) {
    let pool = pool(&db).await;
    let outbox = Outbox::new(pool.clone(), FIRST);
    let events: Vec<_> = (0..3).map(|n| event(TOPIC, "task-a", n)).collect();
    enqueue(&pool, &FIRST, &events).await;
    let seqs: Vec<i64> = outbox.pending(100).await.expect("pending").iter().map(|r| r.seq).collect();
    let now = wall_clock();
    outbox.mark_published(&seqs[..1], now - TimeDelta::hours(2)).await.expect("mark old");
    outbox.mark_published(&seqs[1..2], now).await.expect("mark recent");

    let pruned = outbox.prune(now - TimeDelta::hours(1)).await.expect("prune");
    let pruned_later = outbox.prune(now + TimeDelta::hours(1)).await.expect("prune");

    assert_eq!(pruned, 1, "only the row published two hours ago");
    assert_eq!(pruned_later, 1, "the recently published row, kept by the first prune");
    assert_eq!(ids(&outbox.pending(100).await.expect("pending")), event_ids(&events[2..]), "unpublished kept");
    assert_eq!(outbox.stats().await.expect("stats").backlog, 1);
    db.drop_database().await;
}

async fn stats_count_the_backlog_and_report_the_oldest_unpublished_event(db: TestDb) {
    let pool = pool(&db).await;
    let outbox = Outbox::new(pool.clone(), FIRST);
    let empty = outbox.stats().await.expect("stats");
    let before_first = wall_clock();
    enqueue(&pool, &FIRST, &[event(TOPIC, "a", 0), event(TOPIC, "a", 1)]).await;
    let after_first = wall_clock();
    let before_second = wall_clock();
    enqueue(&pool, &FIRST, &[event(TOPIC, "b", 2)]).await;

    let three = outbox.stats().await.expect("stats");
    let first_seqs: Vec<i64> = outbox.pending(2).await.expect("pending").iter().map(|r| r.seq).collect();
    outbox.mark_published(&first_seqs, wall_clock()).await.expect("mark");
    let one = outbox.stats().await.expect("stats");

    assert_eq!((empty.backlog, empty.oldest_unpublished_at), (0, None));
    assert_eq!(three.backlog, 3);
    let oldest = three.oldest_unpublished_at.expect("oldest");
    assert!(before_first <= oldest && oldest <= after_first, "{oldest} outside the first enqueue");
    assert_eq!(one.backlog, 1);
    assert!(one.oldest_unpublished_at.expect("oldest") >= before_second);
    db.drop_database().await;
}

async fn an_event_id_enqueued_twice_is_a_unique_violation_and_enqueues_nothing(db: TestDb) {
    let pool = pool(&db).await;
    let once = event(TOPIC, "a", 0);
    enqueue(&pool, &FIRST, std::slice::from_ref(&once)).await;

    let mut tx = pool.begin().await.expect("begin");
    let again = outbox::enqueue(&mut tx, &FIRST, &[event(TOPIC, "a", 1), once.clone()]).await;
    tx.rollback().await.expect("rollback");

    let unique_violation = matches!(&again, Err(sqlx::Error::Database(e)) if e.is_unique_violation());
    assert!(unique_violation, "{again:?}");
    assert_eq!(Outbox::new(pool, FIRST).stats().await.expect("stats").backlog, 1);
    db.drop_database().await;
}

#[tokio::test]
async fn enqueue_notifies_the_configs_channel_when_the_transaction_commits_and_not_when_it_rolls_back() {
    let db = TestDb::postgres().await;
    let pool = pool(&db).await;
    let mut listener = PgListener::connect_with(pool.as_postgres().expect("PostgreSQL")).await.expect("listener");
    listener.listen(FIRST.channel()).await.expect("listen");

    let mut rolled_back = pool.begin().await.expect("begin");
    outbox::enqueue(&mut rolled_back, &FIRST, &[event(TOPIC, "a", 0)]).await.expect("enqueue");
    rolled_back.rollback().await.expect("rollback");
    let mut open = pool.begin().await.expect("begin");
    outbox::enqueue(&mut open, &FIRST, &[event(TOPIC, "a", 1)]).await.expect("enqueue");
    // Notifications arrive in commit order: a marker sent now comes first unless the rollback
    // or the open transaction notified already (no waiting for something not to happen).
    let mut marker = Sql::new(Backend::Postgres, "SELECT pg_notify(");
    marker.bind(Arg::Text(FIRST.channel().to_owned())).push(", 'marker')");
    pool.execute(marker).await.expect("marker");
    let first = tokio::time::timeout(Duration::from_secs(10), listener.recv()).await;
    open.commit().await.expect("commit");
    let after_commit = tokio::time::timeout(Duration::from_secs(10), listener.recv()).await;

    let first = first.expect("the marker in time").expect("notification");
    assert_eq!(first.payload(), "marker", "nothing is notified before the commit, nor by the rollback");
    let notification = after_commit.expect("notified in time").expect("notification");
    assert_eq!((notification.channel(), notification.payload()), (FIRST.channel(), ""));
    db.drop_database().await;
}
