//! The relay against the real broker: every committed row is published once, in per-key
//! order, and marked; a rolled-back transaction publishes nothing; a broker outage loses
//! nothing; two relays on one PostgreSQL database publish each row once, and a standby takes
//! over; a row no retry can publish stops the relay with an error.

use service_runtime::database::{Arg, Sql};
use service_runtime::outbox::{self, Outbox, RELAY_CONDITION, RelayError};
use service_runtime::testing::{LocalBroker, free_port};

use crate::helpers::{TestDb, on_both_backends};
use crate::support::{FIRST, Running, bootstrap, count, enqueue, event, eventually, per_key, pool, read, topic};

on_both_backends!(
    every_committed_row_is_published_once_in_per_key_order_and_marked_published,
    a_rolled_back_transaction_publishes_nothing,
    a_row_that_cannot_be_read_stops_the_relay_with_an_error_and_raises_its_condition,
);

async fn every_committed_row_is_published_once_in_per_key_order_and_marked_published(db: TestDb) {
    let pool = pool(&db).await;
    let topic = topic(&bootstrap()).await;
    // Before the relay starts (a backlog) and after (woken by the signal), interleaved keys.
    for n in 0..5 {
        enqueue(&pool, &FIRST, &[event(&topic, "a", n), event(&topic, "b", n), event(&topic, "c", n)]).await;
    }
    let relay = Running::start(&pool, FIRST, &bootstrap());
    for n in 5..10 {
        enqueue(&pool, &FIRST, &[event(&topic, "a", n), event(&topic, "b", n)]).await;
        enqueue(&pool, &FIRST, &[event(&topic, "c", n)]).await;
        relay.signal.notify();
    }

    let records = read(&bootstrap(), &topic, 30).await;

    assert_eq!(count(&bootstrap(), &topic).await, 30, "each row once");
    let in_order: Vec<usize> = (0..10).collect();
    assert!(per_key(&records).values().all(|ns| *ns == in_order), "{:?}", per_key(&records));
    let outbox = Outbox::new(pool.clone(), FIRST);
    eventually("every row is marked published", || async { outbox.stats().await.expect("stats").backlog == 0 }).await;
    relay.stop().await.expect("stops cleanly");
    db.drop_database().await;
}

async fn a_rolled_back_transaction_publishes_nothing(db: TestDb) {
    let pool = pool(&db).await;
    let topic = topic(&bootstrap()).await;
    let relay = Running::start(&pool, FIRST, &bootstrap());

    let mut tx = pool.begin().await.expect("begin");
    outbox::enqueue(&mut tx, &FIRST, &[event(&topic, "a", 0)]).await.expect("enqueue");
    tx.rollback().await.expect("rollback");
    let dropped = {
        let mut tx = pool.begin().await.expect("begin");
        outbox::enqueue(&mut tx, &FIRST, &[event(&topic, "a", 1)]).await
    };
    dropped.expect("enqueued, then dropped without a commit");
    enqueue(&pool, &FIRST, &[event(&topic, "a", 2)]).await;
    relay.signal.notify();

    // The committed event comes after the others in seq order: once it is published, the
    // others would have been.
    let records = read(&bootstrap(), &topic, 1).await;
    eventually("the committed row is marked", || async {
        Outbox::new(pool.clone(), FIRST).stats().await.expect("stats").backlog == 0
    })
    .await;

    assert_eq!(records, [("a".to_owned(), 2)]);
    assert_eq!(count(&bootstrap(), &topic).await, 1, "nothing else was published");
    relay.stop().await.expect("stops cleanly");
    db.drop_database().await;
}

async fn a_row_that_cannot_be_read_stops_the_relay_with_an_error_and_raises_its_condition(db: TestDb) {
    let pool = pool(&db).await;
    let topic = topic(&bootstrap()).await;
    enqueue(&pool, &FIRST, &[event(&topic, "a", 0)]).await;
    let mut corrupt = Sql::new(pool.backend(), "UPDATE first_outbox SET headers = ");
    corrupt.bind(Arg::Text("not JSON".to_owned()));
    pool.execute(corrupt).await.expect("corrupt the row");

    let relay = Running::start(&pool, FIRST, &bootstrap());
    let health = relay.health.clone();
    let result = relay.finished().await;

    assert!(matches!(&result, Err(error @ RelayError::Database(_)) if !error.is_transient()), "{result:?}");
    let conditions = health.conditions();
    assert!(conditions.get(RELAY_CONDITION).is_some_and(|reason| reason.contains("headers")), "{conditions:?}");
    assert_eq!(count(&bootstrap(), &topic).await, 0);
    db.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_enqueued_while_the_broker_is_down_are_all_published_once_after_it_returns() {
    let db = TestDb::postgres().await;
    let pool = pool(&db).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port().expect("port");
    let broker = LocalBroker::start(dir.path(), port, &[]).expect("broker");
    let topic = topic(&broker.bootstrap()).await;
    let relay = Running::start(&pool, FIRST, &broker.bootstrap());
    enqueue(&pool, &FIRST, &[event(&topic, "a", 0)]).await;
    assert_eq!(read(&broker.bootstrap(), &topic, 1).await, [("a".to_owned(), 0)]);
    broker.stop();

    for n in 1..=40 {
        enqueue(&pool, &FIRST, &[event(&topic, &format!("k{}", n % 4), n)]).await;
    }
    let health = relay.health.clone();
    eventually("publishing fails and /readyz says so", || async { health.conditions().contains_key(RELAY_CONDITION) })
        .await;
    let _broker = LocalBroker::start(dir.path(), port, &[]).expect("the broker restarts over the same data");
    let records = read(&format!("127.0.0.1:{port}"), &topic, 41).await;

    assert_eq!(count(&format!("127.0.0.1:{port}"), &topic).await, 41, "each row once");
    for (key, ns) in per_key(&records) {
        assert!(ns.windows(2).all(|w| w[0] < w[1]), "{key}: {ns:?} out of order");
    }
    eventually("the condition clears", || async { !health.conditions().contains_key(RELAY_CONDITION) }).await;
    relay.stop().await.expect("stops cleanly");
    db.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_relays_on_one_postgres_database_publish_each_row_once_and_a_standby_takes_over() {
    let db = TestDb::postgres().await;
    let (one, two) = (pool(&db).await, pool(&db).await);
    let topic = topic(&bootstrap()).await;
    let first = Running::start(&one, FIRST, &bootstrap());
    let second = Running::start(&two, FIRST, &bootstrap());
    for n in 0..60 {
        let (pool, relay) = if n % 2 == 0 { (&one, &first) } else { (&two, &second) };
        enqueue(pool, &FIRST, &[event(&topic, &format!("k{}", n % 3), n)]).await;
        relay.signal.notify();
    }
    read(&bootstrap(), &topic, 60).await;
    let both_running = count(&bootstrap(), &topic).await;
    first.stop().await.expect("stops cleanly");
    second.stop().await.expect("stops cleanly");

    let leader = Running::start(&one, FIRST, &bootstrap());
    eventually("the first relay leads", || async { leaders(&one).await == 1 }).await;
    let standby = Running::start(&two, FIRST, &bootstrap());
    leader.stop().await.expect("stops cleanly");
    for n in 60..70 {
        enqueue(&one, &FIRST, &[event(&topic, &format!("k{}", n % 3), n)]).await;
    }
    let records = read(&bootstrap(), &topic, 70).await;

    assert_eq!(both_running, 60, "each row published once, not twice");
    assert_eq!(count(&bootstrap(), &topic).await, 70, "the standby took over and published the rest, once");
    for (key, ns) in per_key(&records) {
        assert!(ns.windows(2).all(|w| w[0] < w[1]), "{key}: {ns:?} out of order");
    }
    standby.stop().await.expect("stops cleanly");
    db.drop_database().await;
}

/// How many sessions hold an advisory lock in `pool`'s database.
async fn leaders(pool: &service_runtime::database::Pool) -> i64 {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND granted \
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .fetch_one(pool.as_postgres().expect("PostgreSQL"))
    .await
    .expect("read pg_locks")
}
