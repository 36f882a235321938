//! Two services' outboxes in one database (different tables, channels and lock keys): neither
//! sees, is notified of, nor publishes the other's rows, and both relays lead at once.

use std::time::Duration;

use service_runtime::outbox::{Outbox, OutboxRow};
use sqlx::postgres::PgListener;

use crate::helpers::{TestDb, on_both_backends};
use crate::support::{FIRST, Running, SECOND, bootstrap, count, enqueue, event, eventually, pool, read, topic};

on_both_backends!(two_outboxes_in_one_database_hold_mark_and_prune_only_their_own_rows);

fn keys(rows: &[OutboxRow]) -> Vec<&str> {
    rows.iter().map(|r| r.event.key.as_str()).collect()
}

async fn two_outboxes_in_one_database_hold_mark_and_prune_only_their_own_rows(db: TestDb) {
    let pool = pool(&db).await;
    let (first, second) = (Outbox::new(pool.clone(), FIRST), Outbox::new(pool.clone(), SECOND));
    enqueue(&pool, &FIRST, &[event("t", "first-1", 0), event("t", "first-2", 0)]).await;
    enqueue(&pool, &SECOND, &[event("t", "second-1", 0)]).await;

    let first_pending = first.pending(100).await.expect("pending");
    let second_pending = second.pending(100).await.expect("pending");
    let seqs: Vec<i64> = first_pending.iter().map(|r| r.seq).collect();
    first.mark_published(&seqs, chrono::Utc::now()).await.expect("mark");
    let pruned = first.prune(chrono::Utc::now() + chrono::TimeDelta::hours(1)).await.expect("prune");

    assert_eq!(keys(&first_pending), ["first-1", "first-2"]);
    assert_eq!(keys(&second_pending), ["second-1"]);
    assert_eq!(pruned, 2);
    assert_eq!(first.stats().await.expect("stats").backlog, 0);
    assert_eq!(keys(&second.pending(100).await.expect("pending")), ["second-1"], "untouched by the other's marking");
    db.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_outboxes_in_one_postgres_database_notify_their_own_channels_and_their_relays_publish_only_their_own_rows()
{
    let db = TestDb::postgres().await;
    let pool = pool(&db).await;
    let (first_topic, second_topic) = (topic(&bootstrap()).await, topic(&bootstrap()).await);
    let mut listener = PgListener::connect_with(pool.as_postgres().expect("PostgreSQL")).await.expect("listener");
    listener.listen_all([FIRST.channel(), SECOND.channel()]).await.expect("listen");
    let first_relay = Running::start(&pool, FIRST, &bootstrap());

    enqueue(&pool, &FIRST, &[event(&first_topic, "a", 0)]).await;
    enqueue(&pool, &SECOND, &[event(&second_topic, "b", 0)]).await;
    let mut channels = Vec::new();
    for _ in 0..2 {
        let notification = tokio::time::timeout(Duration::from_secs(10), listener.recv()).await.expect("in time");
        channels.push(notification.expect("notification").channel().to_owned());
    }
    let published_by_first = read(&bootstrap(), &first_topic, 1).await;
    let second = Outbox::new(pool.clone(), SECOND);
    eventually("the first relay has marked its row", || async {
        Outbox::new(pool.clone(), FIRST).stats().await.expect("stats").backlog == 0
    })
    .await;
    let second_backlog = second.stats().await.expect("stats").backlog;
    // The second relay leads too (its own lock) and publishes what the first left.
    let second_relay = Running::start(&pool, SECOND, &bootstrap());
    let published_by_second = read(&bootstrap(), &second_topic, 1).await;

    assert_eq!(channels, [FIRST.channel(), SECOND.channel()]);
    assert_eq!(published_by_first, [("a".to_owned(), 0)]);
    assert_eq!(second_backlog, 1, "the first relay left the second outbox's row alone");
    assert_eq!(published_by_second, [("b".to_owned(), 0)]);
    assert_eq!((count(&bootstrap(), &first_topic).await, count(&bootstrap(), &second_topic).await), (1, 1));
    first_relay.stop().await.expect("stops cleanly");
    second_relay.stop().await.expect("stops cleanly");
    db.drop_database().await;
}
