//! One task per occurrence of a recurring series: `Tx::insert_occurrence` stores a successor
//! once, whatever repeats it, and answers a repeat with the task already stored.

use std::sync::Arc;

use serde_json::json;
use task_api::storage::{ListQuery, Store};
use task_domain::{NextOccurrence, SeriesPosition, Successor, Task, next_occurrence};
use tokio::sync::Barrier;
use uuid::Uuid;

use crate::helpers::{
    at, everything, insert, now, on_both_backends, on_postgres, task, until_a_session_waits_for_a_lock,
};

on_both_backends!(
    a_second_task_for_a_stored_occurrence_is_not_stored_and_the_first_is_returned,
    a_second_successor_of_the_same_predecessor_is_not_stored_even_for_another_occurrence,
    the_next_occurrence_of_the_series_is_stored_beside_the_first,
    an_occurrence_stored_by_another_owner_is_a_conflict,
);

/// A daily series' first task, stored and completed at `completed_at`, and the successor
/// its completion asks for.
async fn completed_first(store: &Store, owner: &str, completed_at: &str) -> (Task, Successor) {
    let mut first = task(
        owner,
        &json!({
            "title": "Stand-up", "due_at": "2026-03-02T09:00:00Z", "recurrence": {"rrule": "FREQ=DAILY"}
        }),
    );
    insert(store, std::slice::from_ref(&first)).await;
    first.complete(at(completed_at));
    let NextOccurrence::Create(successor) = next_occurrence(&first.snapshot()).expect("valid") else {
        panic!("a daily task has a successor")
    };
    (first, successor)
}

/// A new task (a fresh id) for `successor` at `series`, owned by `owner`.
fn successor_task(owner: &str, successor: &Successor, series: SeriesPosition) -> Task {
    Task::create_in_series(successor.task.validate().expect("valid"), owner, now(), series).expect("valid position")
}

/// Stores `task` with `insert_occurrence` in a committed transaction; what it answered.
async fn insert_occurrence(store: &Store, task: &Task) -> Option<Task> {
    let mut tx = store.begin().await.expect("begin");
    let existing = tx.insert_occurrence(task).await.expect("insert occurrence");
    tx.commit().await.expect("commit");
    existing
}

async fn series_ids(store: &Store, owner: &str, series_id: Uuid) -> Vec<Uuid> {
    let query = ListQuery { series_id: Some(series_id), ..everything() };
    store.list(owner, &query).await.expect("list").items.iter().map(Task::id).collect()
}

async fn a_second_task_for_a_stored_occurrence_is_not_stored_and_the_first_is_returned(store: Store) {
    let (first, successor) = completed_first(&store, "alice", "2026-03-02T10:00:00Z").await;
    let original = successor_task("alice", &successor, successor.series);
    let repeat = successor_task("alice", &successor, successor.series);

    let stored = insert_occurrence(&store, &original).await;
    let answered = insert_occurrence(&store, &repeat).await;

    assert_eq!(stored, None, "the first is stored");
    assert_eq!(answered, Some(original.clone()), "the repeat is answered with the stored one");
    assert_eq!(series_ids(&store, "alice", first.id()).await.len(), 2, "the first task and one successor");
    assert_eq!(store.get("alice", repeat.id()).await.expect("get"), None);
}

async fn a_second_successor_of_the_same_predecessor_is_not_stored_even_for_another_occurrence(store: Store) {
    // A completion-anchored successor's occurrence depends on when the task was completed:
    // complete, reopen and complete again later asks for another occurrence, same `follows`.
    let (first, successor) = completed_first(&store, "alice", "2026-03-02T10:00:00Z").await;
    let original = successor_task("alice", &successor, successor.series);
    let later = SeriesPosition { occurrence_at: at("2026-03-04T09:00:00Z"), occurrence_number: 3, ..successor.series };
    let mut body = successor.clone();
    body.task.due_at = Some(later.occurrence_at);
    let again = successor_task("alice", &body, later);

    insert_occurrence(&store, &original).await;
    let answered = insert_occurrence(&store, &again).await;

    assert_eq!(answered.map(|t| t.id()), Some(original.id()));
    assert_eq!(series_ids(&store, "alice", first.id()).await.len(), 2);
}

async fn the_next_occurrence_of_the_series_is_stored_beside_the_first(store: Store) {
    let (first, successor) = completed_first(&store, "alice", "2026-03-02T10:00:00Z").await;
    let mut second = successor_task("alice", &successor, successor.series);
    insert_occurrence(&store, &second).await;
    second.complete(at("2026-03-03T10:00:00Z"));
    let NextOccurrence::Create(third) = next_occurrence(&second.snapshot()).expect("valid") else {
        panic!("a daily task has a successor")
    };

    let stored = insert_occurrence(&store, &successor_task("alice", &third, third.series)).await;

    assert_eq!(stored, None);
    assert_eq!(series_ids(&store, "alice", first.id()).await.len(), 3);
}

async fn an_occurrence_stored_by_another_owner_is_a_conflict(store: Store) {
    let (_, successor) = completed_first(&store, "alice", "2026-03-02T10:00:00Z").await;
    insert_occurrence(&store, &successor_task("alice", &successor, successor.series)).await;

    let mut tx = store.begin().await.expect("begin");
    let result = tx.insert_occurrence(&successor_task("mallory", &successor, successor.series)).await;

    assert!(matches!(result, Err(task_api::storage::StorageError::Conflict)), "{result:?}");
}

#[tokio::test]
async fn concurrent_inserts_of_one_occurrence_store_one_task_and_answer_the_others_with_it() {
    on_postgres(|store: Store| async move {
        const WRITERS: usize = 8;
        let (first, successor) = completed_first(&store, "alice", "2026-03-02T10:00:00Z").await;
        // The first writer holds its insert uncommitted until the others wait behind it.
        let holder = successor_task("alice", &successor, successor.series);
        let mut held = store.begin().await.expect("begin");
        assert_eq!(held.insert_occurrence(&holder).await.expect("insert"), None);
        let start = Arc::new(Barrier::new(WRITERS));
        let writers: Vec<_> = (0..WRITERS)
            .map(|_| {
                let (store, start, task) =
                    (store.clone(), start.clone(), successor_task("alice", &successor, successor.series));
                tokio::spawn(async move {
                    start.wait().await;
                    insert_occurrence(&store, &task).await
                })
            })
            .collect();
        until_a_session_waits_for_a_lock(&store).await;

        held.commit().await.expect("commit");
        let answers = futures::future::join_all(writers).await;

        for answer in answers {
            assert_eq!(answer.expect("writer finished").map(|t| t.id()), Some(holder.id()));
        }
        assert_eq!(series_ids(&store, "alice", first.id()).await.len(), 2, "the first task and one successor");
    })
    .await;
}
