//! Idempotency keys: a stored response per owner and key, never two.

use task_api::storage::{Backend, StorageError, Store, StoredResponse};

use crate::helpers::{on_both_backends, until_a_session_waits_for_a_lock, wall_clock};

on_both_backends!(
    a_stored_response_is_returned_for_its_owner_and_key_only,
    storing_a_response_under_a_used_key_is_a_conflict_and_the_first_response_stays,
    a_concurrent_put_of_the_same_key_is_a_conflict_once_the_first_commits,
);

fn response(status: u16, body: &str) -> StoredResponse {
    StoredResponse {
        request_hash: format!("sha256:{body}"),
        status,
        body: body.as_bytes().to_vec(),
        location: Some("/v1/tasks/0192".to_owned()),
        created_at: wall_clock(),
    }
}

async fn a_stored_response_is_returned_for_its_owner_and_key_only(store: Store) {
    let stored = response(201, r#"{"id":1}"#);
    let mut tx = store.begin().await.expect("begin");
    tx.idempotency_put("alice", "key-1", &stored).await.expect("put");
    tx.commit().await.expect("commit");

    let mut tx = store.begin().await.expect("begin");
    let same = tx.idempotency_get("alice", "key-1").await.expect("get");
    let other_owner = tx.idempotency_get("bob", "key-1").await.expect("get");
    let other_key = tx.idempotency_get("alice", "key-2").await.expect("get");
    tx.rollback().await.expect("rollback");

    assert_eq!(same, Some(stored));
    assert_eq!(other_owner, None);
    assert_eq!(other_key, None);
}

async fn storing_a_response_under_a_used_key_is_a_conflict_and_the_first_response_stays(store: Store) {
    let first = response(201, "first");
    let mut tx = store.begin().await.expect("begin");
    tx.idempotency_put("alice", "key-1", &first).await.expect("put");
    tx.commit().await.expect("commit");

    let mut tx = store.begin().await.expect("begin");
    let again = tx.idempotency_put("alice", "key-1", &response(200, "second")).await;
    // The transaction is still usable after the conflict.
    let seen = tx.idempotency_get("alice", "key-1").await.expect("get after the conflict");
    let bobs = tx.idempotency_put("bob", "key-1", &response(201, "bob's")).await;
    tx.commit().await.expect("commit");

    assert!(matches!(again, Err(StorageError::Conflict)), "{again:?}");
    assert_eq!(seen, Some(first));
    assert!(bobs.is_ok(), "keys are per owner: {bobs:?}");
}

async fn a_concurrent_put_of_the_same_key_is_a_conflict_once_the_first_commits(store: Store) {
    let first = response(201, "first");
    let mut tx1 = store.begin().await.expect("begin");
    tx1.idempotency_put("alice", "key-1", &first).await.expect("put");

    let racer = tokio::spawn({
        let store = store.clone();
        async move {
            // SQLite: waits in `begin` for tx1's write lock; PostgreSQL: waits in the insert.
            let mut tx2 = store.begin().await.expect("begin");
            let outcome = tx2.idempotency_put("alice", "key-1", &response(201, "second")).await;
            tx2.rollback().await.expect("rollback");
            outcome
        }
    });
    if store.backend() == Backend::Postgres {
        until_a_session_waits_for_a_lock(&store).await;
    }
    tx1.commit().await.expect("commit");
    let second = racer.await.expect("racer finished");

    assert!(matches!(second, Err(StorageError::Conflict)), "{second:?}");
    let mut tx = store.begin().await.expect("begin");
    assert_eq!(tx.idempotency_get("alice", "key-1").await.expect("get"), Some(first));
    tx.rollback().await.expect("rollback");
}
