//! Sorting: several keys each in its own direction, priority by rank, undated tasks last,
//! titles case-insensitively, id as the final tiebreaker.

use serde_json::json;
use task_api::storage::{ListQuery, SortField, SortKey, Store};

use crate::helpers::{at, insert, on_both_backends, patched, task, task_at, titles};

on_both_backends!(
    sorting_by_several_keys_honours_the_direction_of_each,
    priority_sorts_by_rank_not_alphabetically,
    tasks_without_a_due_date_come_last_in_both_directions,
    titles_sort_case_insensitively,
    creation_and_change_times_sort_in_either_direction,
    ties_are_broken_by_id_and_no_sort_means_by_id,
);

fn asc(field: SortField) -> SortKey {
    SortKey { field, descending: false }
}

fn desc(field: SortField) -> SortKey {
    SortKey { field, descending: true }
}

fn sorted(sort: Vec<SortKey>) -> ListQuery {
    ListQuery { sort, limit: 200, ..ListQuery::default() }
}

async fn sorting_by_several_keys_honours_the_direction_of_each(store: Store) {
    insert(
        &store,
        &[
            task("alice", &json!({"title": "high-late", "priority": "high", "due_at": "2026-03-01T00:00:00Z"})),
            task("alice", &json!({"title": "low-early", "priority": "low", "due_at": "2026-01-01T00:00:00Z"})),
            task("alice", &json!({"title": "high-early", "priority": "high", "due_at": "2026-01-01T00:00:00Z"})),
            task("alice", &json!({"title": "high-undated", "priority": "high"})),
            task("alice", &json!({"title": "low-late", "priority": "low", "due_at": "2026-03-01T00:00:00Z"})),
        ],
    )
    .await;

    let priority_down_due_up = sorted(vec![desc(SortField::Priority), asc(SortField::DueAt)]);
    let due_down_priority_up = sorted(vec![desc(SortField::DueAt), asc(SortField::Priority)]);

    assert_eq!(
        titles(&store, "alice", &priority_down_due_up).await,
        ["high-early", "high-late", "high-undated", "low-early", "low-late"]
    );
    assert_eq!(
        titles(&store, "alice", &due_down_priority_up).await,
        ["low-late", "high-late", "low-early", "high-early", "high-undated"]
    );
}

async fn priority_sorts_by_rank_not_alphabetically(store: Store) {
    let tasks: Vec<_> = ["medium", "urgent", "none", "high", "low"]
        .into_iter()
        .map(|p| task("alice", &json!({"title": p, "priority": p})))
        .collect();
    insert(&store, &tasks).await;

    assert_eq!(
        titles(&store, "alice", &sorted(vec![asc(SortField::Priority)])).await,
        ["none", "low", "medium", "high", "urgent"]
    );
    assert_eq!(
        titles(&store, "alice", &sorted(vec![desc(SortField::Priority)])).await,
        ["urgent", "high", "medium", "low", "none"]
    );
}

async fn tasks_without_a_due_date_come_last_in_both_directions(store: Store) {
    insert(
        &store,
        &[
            task("alice", &json!({"title": "undated-1"})),
            task("alice", &json!({"title": "feb", "due_at": "2026-02-01T00:00:00Z"})),
            task("alice", &json!({"title": "undated-2"})),
            task("alice", &json!({"title": "jan", "due_at": "2026-01-01T00:00:00.000001Z"})),
        ],
    )
    .await;

    assert_eq!(
        titles(&store, "alice", &sorted(vec![asc(SortField::DueAt)])).await,
        ["jan", "feb", "undated-1", "undated-2"]
    );
    assert_eq!(
        titles(&store, "alice", &sorted(vec![desc(SortField::DueAt)])).await,
        ["feb", "jan", "undated-1", "undated-2"]
    );
}

async fn titles_sort_case_insensitively(store: Store) {
    let tasks: Vec<_> =
        ["banana", "Apple", "cherry", "apricot"].into_iter().map(|t| task("alice", &json!({"title": t}))).collect();
    insert(&store, &tasks).await;

    assert_eq!(
        titles(&store, "alice", &sorted(vec![asc(SortField::Title)])).await,
        ["Apple", "apricot", "banana", "cherry"]
    );
    assert_eq!(
        titles(&store, "alice", &sorted(vec![desc(SortField::Title)])).await,
        ["cherry", "banana", "apricot", "Apple"]
    );
}

async fn creation_and_change_times_sort_in_either_direction(store: Store) {
    let first = task_at("alice", &json!({"title": "first"}), at("2026-01-01T00:00:00Z"));
    let second = task_at("alice", &json!({"title": "second"}), at("2026-01-02T00:00:00Z"));
    let third = task_at("alice", &json!({"title": "third"}), at("2026-01-03T00:00:00Z"));
    insert(&store, &[third.clone(), first.clone(), second.clone()]).await;
    // The first task changes last.
    let mut tx = store.begin().await.expect("begin");
    let touched = patched(&first, &json!({"priority": "low"}), at("2026-01-10T00:00:00Z"));
    assert!(tx.update_task(&touched, first.version()).await.expect("update"));
    tx.commit().await.expect("commit");

    assert_eq!(titles(&store, "alice", &sorted(vec![asc(SortField::CreatedAt)])).await, ["first", "second", "third"]);
    assert_eq!(titles(&store, "alice", &sorted(vec![desc(SortField::CreatedAt)])).await, ["third", "second", "first"]);
    assert_eq!(titles(&store, "alice", &sorted(vec![desc(SortField::UpdatedAt)])).await, ["first", "third", "second"]);
    assert_eq!(titles(&store, "alice", &sorted(vec![asc(SortField::UpdatedAt)])).await, ["second", "third", "first"]);
}

async fn ties_are_broken_by_id_and_no_sort_means_by_id(store: Store) {
    // Created in this order, so their UUIDv7 ids ascend in this order.
    let tasks: Vec<_> =
        ["one", "two", "three", "four"].into_iter().map(|t| task("alice", &json!({"title": t}))).collect();
    let mut reversed = tasks.clone();
    reversed.reverse();
    insert(&store, &reversed).await;

    let mut by_id: Vec<_> = tasks.iter().map(|t| (t.id(), t.title().as_str().to_owned())).collect();
    by_id.sort();
    let expected: Vec<String> = by_id.into_iter().map(|(_, title)| title).collect();

    assert_eq!(titles(&store, "alice", &sorted(vec![])).await, expected);
    assert_eq!(titles(&store, "alice", &sorted(vec![desc(SortField::Priority)])).await, expected, "all equal");
    assert_eq!(titles(&store, "alice", &sorted(vec![asc(SortField::DueAt)])).await, expected, "all undated");
}
