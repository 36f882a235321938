//! Concurrent writers: read-modify-write cycles on one task happen in turn and all succeed;
//! SQLite writers queue for the write lock instead of failing with SQLITE_BUSY.

use std::sync::Arc;

use chrono::TimeDelta;
use serde_json::json;
use task_api::storage::Store;
use task_domain::Task;
use tokio::sync::Barrier;

use crate::helpers::{
    event, insert, now, on_both_backends, on_postgres, outbox, patched, task, until_a_session_waits_for_a_lock,
};

on_both_backends!(
    concurrent_read_modify_writes_of_one_task_all_succeed_in_turn,
    concurrent_writers_of_different_tasks_all_succeed,
);

/// One read-modify-write cycle: lock, change the title to `title`, update at the version
/// read, enqueue, commit. Returns the version it wrote.
async fn rename(store: &Store, original: &Task, title: &str) -> i64 {
    let mut tx = store.begin().await.expect("begin");
    let current = tx.get_for_update("alice", original.id()).await.expect("get for update").expect("exists");
    let changed = patched(&current, &json!({"title": title}), now() + TimeDelta::seconds(current.version()));
    assert!(tx.update_task(&changed, current.version()).await.expect("update"), "{title}: optimistic check failed");
    tx.enqueue(&[event(&original.id().to_string(), 0)]).await.expect("enqueue");
    tx.commit().await.expect("commit");
    changed.version()
}

async fn concurrent_read_modify_writes_of_one_task_all_succeed_in_turn(store: Store) {
    const WRITERS: usize = 8;
    let original = task("alice", &json!({"title": "contended"}));
    insert(&store, std::slice::from_ref(&original)).await;
    let start = Arc::new(Barrier::new(WRITERS));

    let writers = (0..WRITERS).map(|i| {
        let (store, original, start) = (store.clone(), original.clone(), start.clone());
        tokio::spawn(async move {
            start.wait().await;
            rename(&store, &original, &format!("writer {i}")).await
        })
    });
    let mut written: Vec<i64> =
        futures::future::join_all(writers).await.into_iter().map(|joined| joined.expect("writer finished")).collect();

    written.sort_unstable();
    let expected: Vec<i64> = (2..).take(WRITERS).collect();
    assert_eq!(written, expected, "each writer saw its predecessor's version");
    let stored = store.get("alice", original.id()).await.expect("get").expect("exists");
    assert_eq!(stored.version(), 1 + i64::try_from(WRITERS).expect("small"));
    assert_eq!(outbox(&store).stats().await.expect("stats").backlog, i64::try_from(WRITERS).expect("small"));
}

async fn concurrent_writers_of_different_tasks_all_succeed(store: Store) {
    const WRITERS: usize = 16;
    let start = Arc::new(Barrier::new(WRITERS));

    let writers = (0..WRITERS).map(|i| {
        let (store, start) = (store.clone(), start.clone());
        tokio::spawn(async move {
            start.wait().await;
            let new = task("alice", &json!({"title": format!("task {i}"), "tags": ["bulk"]}));
            let mut tx = store.begin().await.expect("begin");
            tx.insert_task(&new).await.expect("insert");
            tx.enqueue(&[event(&new.id().to_string(), i)]).await.expect("enqueue");
            tx.commit().await.expect("commit");
        })
    });
    for joined in futures::future::join_all(writers).await {
        joined.expect("writer finished without an error");
    }

    let listed = store.list("alice", &crate::helpers::everything()).await.expect("list");
    assert_eq!(listed.items.len(), WRITERS);
    assert_eq!(outbox(&store).pending(100).await.expect("pending").len(), WRITERS);
}

/// The brief's race, made deterministic: the second transaction is seen waiting for the
/// first's row lock before the first commits.
#[tokio::test]
async fn a_second_get_for_update_waits_for_the_first_commit_and_then_sees_its_version_on_postgres() {
    on_postgres(|store: Store| async move {
        let original = task("alice", &json!({"title": "v1"}));
        insert(&store, std::slice::from_ref(&original)).await;
        let mut first = store.begin().await.expect("begin");
        let read_by_first = first.get_for_update("alice", original.id()).await.expect("lock").expect("exists");

        let second = tokio::spawn({
            let (store, original) = (store.clone(), original.clone());
            async move { rename(&store, &original, "second").await }
        });
        until_a_session_waits_for_a_lock(&store).await;
        let changed = patched(&read_by_first, &json!({"title": "first"}), now());
        assert!(first.update_task(&changed, read_by_first.version()).await.expect("update"));
        first.commit().await.expect("commit");
        let written_by_second = second.await.expect("second finished");

        assert_eq!(written_by_second, 3, "the second built on the first's version 2");
        let stored = store.get("alice", original.id()).await.expect("get").expect("exists");
        assert_eq!((stored.title().as_str(), stored.version()), ("second", original.version() + 2));
    })
    .await;
}
