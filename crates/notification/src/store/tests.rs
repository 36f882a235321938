//! The store's statements on both backends: SQLite in a temporary file, PostgreSQL on
//! `DATABASE_URL` (a fresh database per test).

use chrono::{DateTime, TimeDelta, Utc};
use service_runtime::database::{DatabaseSettings, Pool};
use uuid::Uuid;

use super::*;

const TOPIC: &str = "reminders";

async fn sqlite() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("notification.db").display());
    let settings = DatabaseSettings { url, ..Default::default() };
    (Store::new(Pool::connect(&settings, &MIGRATIONS).await.expect("sqlite")), dir)
}

async fn postgres() -> Store {
    let admin = std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let url = service_runtime::testing::fresh_postgres_database(&admin, "notification_store").await.expect("postgres");
    let settings = DatabaseSettings { url, ..Default::default() };
    Store::new(Pool::connect(&settings, &MIGRATIONS).await.expect("postgres"))
}

fn scheduled(reminder_id: Uuid, sequence: i64, at: DateTime<Utc>) -> ReminderChange {
    ReminderChange {
        reminder_id,
        task_id: Uuid::now_v7(),
        user_id: "alice".into(),
        sequence,
        partition: 0,
        remind_at: at,
        scheduled: Some(("Water the plants".into(), None)),
    }
}

fn cancelled(change: &ReminderChange, sequence: i64) -> ReminderChange {
    ReminderChange { sequence, scheduled: None, ..change.clone() }
}

async fn apply_all(store: &Store, changes: &[ReminderChange]) -> Vec<bool> {
    let mut tx = store.pool().begin().await.expect("begin");
    let mut applied = Vec::new();
    for change in changes {
        applied.push(apply(&mut tx, change, Utc::now()).await.expect("apply"));
    }
    tx.commit().await.expect("commit");
    applied
}

fn params(now: DateTime<Utc>) -> ClaimParams<'static> {
    ClaimParams {
        owner: "replica-a",
        topic: TOPIC,
        now,
        lease: TimeDelta::seconds(30),
        max_lateness: TimeDelta::hours(24),
        late_after: TimeDelta::seconds(60),
        limit: 100,
    }
}

async fn state(store: &Store, id: Uuid) -> EntryState {
    store.entry(id).await.expect("entry").expect("exists").state
}

async fn events_apply_in_sequence_order_and_a_replay_resurrects_nothing(store: Store) {
    let id = Uuid::now_v7();
    let first = scheduled(id, 1, Utc::now());

    let applied =
        apply_all(&store, &[first.clone(), cancelled(&first, 2), first.clone(), scheduled(id, 2, first.remind_at)])
            .await;

    assert_eq!(applied, [true, true, false, false], "only events above the stored sequence apply");
    assert_eq!(state(&store, id).await, EntryState::Cancelled);
    // The task reopened (a newer version): scheduled again.
    assert_eq!(apply_all(&store, &[scheduled(id, 3, first.remind_at)]).await, [true]);
    assert_eq!(state(&store, id).await, EntryState::Scheduled);
    // A cancellation of an unknown reminder leaves a tombstone older events cannot pass.
    let unknown = scheduled(Uuid::now_v7(), 4, Utc::now());
    assert_eq!(apply_all(&store, &[cancelled(&unknown, 5), unknown.clone()]).await, [true, false]);
    assert_eq!(state(&store, unknown.reminder_id).await, EntryState::Cancelled);
}

async fn a_due_entry_is_claimed_only_once_its_partition_is_handled_up_to_its_time(store: Store) {
    let now = Utc::now();
    let due = scheduled(Uuid::now_v7(), 1, now - TimeDelta::seconds(1));
    let stale = scheduled(Uuid::now_v7(), 1, now - TimeDelta::days(2));
    apply_all(&store, &[due.clone(), stale.clone()]).await;

    let claimed = store.claim(&params(now)).await.expect("claim");
    assert_eq!(
        claimed.iter().map(|c| (c.entry.reminder_id, c.entry.state)).collect::<Vec<_>>(),
        [(stale.reminder_id, EntryState::Expired)],
        "the due one is held, the stale one expires"
    );
    assert_eq!(store.held(TOPIC, now, TimeDelta::hours(24)).await.expect("held"), 1);

    let mut tx = store.pool().begin().await.expect("begin");
    record_handled(&mut tx, TOPIC, 0, 2, Some(now - TimeDelta::seconds(5)), now).await.expect("progress");
    tx.commit().await.expect("commit");
    assert!(
        store.claim(&params(now)).await.expect("claim").is_empty(),
        "a record older than the entry vouches for nothing"
    );
    store.record_caught_up(TOPIC, 0, 2, now, now).await.expect("caught up");

    let claimed = store.claim(&params(now)).await.expect("claim");
    assert_eq!(claimed.len(), 1);
    assert_eq!((claimed[0].entry.reminder_id, claimed[0].entry.state), (due.reminder_id, EntryState::Delivering));
    assert!(store.claim(&params(now)).await.expect("claim").is_empty(), "leased: not claimed again");
    let later = params(now + TimeDelta::seconds(31));
    assert_eq!(store.claim(&later).await.expect("claim").len(), 1, "an ended lease is taken over");
    assert_eq!(store.held(TOPIC, now, TimeDelta::hours(24)).await.expect("held"), 0);
}

#[tokio::test]
async fn sqlite_events_apply_in_sequence_order_and_a_replay_resurrects_nothing() {
    let (store, _dir) = sqlite().await;
    events_apply_in_sequence_order_and_a_replay_resurrects_nothing(store).await;
}

#[tokio::test]
async fn postgres_events_apply_in_sequence_order_and_a_replay_resurrects_nothing() {
    events_apply_in_sequence_order_and_a_replay_resurrects_nothing(postgres().await).await;
}

#[tokio::test]
async fn sqlite_a_due_entry_is_claimed_only_once_its_partition_is_handled_up_to_its_time() {
    let (store, _dir) = sqlite().await;
    a_due_entry_is_claimed_only_once_its_partition_is_handled_up_to_its_time(store).await;
}

#[tokio::test]
async fn postgres_a_due_entry_is_claimed_only_once_its_partition_is_handled_up_to_its_time() {
    a_due_entry_is_claimed_only_once_its_partition_is_handled_up_to_its_time(postgres().await).await;
}
