//! Transactions: all or nothing, invisible until committed.

use serde_json::json;
use task_api::storage::Store;

use crate::helpers::{event, everything, on_both_backends, outbox, task, titles};

on_both_backends!(
    a_rolled_back_transaction_leaves_no_task_and_no_outbox_row,
    a_dropped_transaction_leaves_no_task_and_no_outbox_row,
    uncommitted_changes_are_invisible_until_commit,
);

async fn a_rolled_back_transaction_leaves_no_task_and_no_outbox_row(store: Store) {
    let new = task("alice", &json!({"title": "Never", "tags": ["t"]}));

    let mut tx = store.begin().await.expect("begin");
    tx.insert_task(&new).await.expect("insert");
    tx.enqueue(&[event(&new.id().to_string(), 1)]).await.expect("enqueue");
    tx.rollback().await.expect("rollback");

    assert_eq!(store.get("alice", new.id()).await.expect("get"), None);
    assert!(titles(&store, "alice", &everything()).await.is_empty());
    assert!(outbox(&store).pending(100).await.expect("pending").is_empty());
    assert_eq!(outbox(&store).stats().await.expect("stats").backlog, 0);
}

async fn a_dropped_transaction_leaves_no_task_and_no_outbox_row(store: Store) {
    let new = task("alice", &json!({"title": "Abandoned"}));

    {
        let mut tx = store.begin().await.expect("begin");
        tx.insert_task(&new).await.expect("insert");
        tx.enqueue(&[event(&new.id().to_string(), 1)]).await.expect("enqueue");
    }
    // The next transaction proves the write lock (SQLite) and row locks were released.
    let other = task("alice", &json!({"title": "Next"}));
    let mut tx = store.begin().await.expect("begin after a dropped transaction");
    tx.insert_task(&other).await.expect("insert");
    tx.commit().await.expect("commit");

    assert_eq!(store.get("alice", new.id()).await.expect("get"), None);
    assert_eq!(titles(&store, "alice", &everything()).await, ["Next"]);
    assert!(outbox(&store).pending(100).await.expect("pending").is_empty());
}

async fn uncommitted_changes_are_invisible_until_commit(store: Store) {
    let new = task("alice", &json!({"title": "Soon"}));
    let mut tx = store.begin().await.expect("begin");
    tx.insert_task(&new).await.expect("insert");
    tx.enqueue(&[event(&new.id().to_string(), 1)]).await.expect("enqueue");

    let before_commit = store.get("alice", new.id()).await.expect("get");
    let pending_before_commit = outbox(&store).pending(100).await.expect("pending");
    tx.commit().await.expect("commit");

    assert_eq!(before_commit, None);
    assert!(pending_before_commit.is_empty());
    assert_eq!(store.get("alice", new.id()).await.expect("get"), Some(new));
    assert_eq!(outbox(&store).pending(100).await.expect("pending").len(), 1);
}
