//! Keyset pagination: every task exactly once in order, stable while tasks are inserted,
//! cursors bound to their sort.

use std::collections::HashSet;

use chrono::TimeDelta;
use serde_json::json;
use task_api::storage::{Cursor, CursorError, ListQuery, SortField, SortKey, StorageError, Store};
use task_domain::Task;
use uuid::Uuid;

use crate::helpers::{all_pages, at, insert, on_both_backends, task_at};

on_both_backends!(
    paging_through_every_sort_returns_each_task_once_in_the_full_order,
    pages_are_stable_under_concurrent_inserts,
    the_last_page_has_no_cursor_even_when_it_is_full,
    the_page_size_is_clamped_to_1_through_200,
    a_cursor_used_with_a_different_sort_is_rejected,
    paging_with_filters_keeps_to_the_filtered_tasks,
);

fn key(field: SortField, descending: bool) -> SortKey {
    SortKey { field, descending }
}

/// 13 tasks with repeated priorities, due dates (some missing), titles and creation times,
/// so every sort has ties to break.
fn varied_tasks(owner: &str) -> Vec<Task> {
    let priorities = ["none", "low", "high", "urgent", "medium"];
    let start = at("2026-01-01T00:00:00Z");
    (0..13)
        .map(|i| {
            let mut body = json!({
                "title": format!("{} task", ["Gamma", "alpha", "beta"][i % 3]),
                "priority": priorities[i % 5],
            });
            if i % 4 != 0 {
                body["due_at"] = json!(format!("2026-03-0{}T00:00:00Z", 1 + i % 3));
            }
            task_at(owner, &body, start + TimeDelta::minutes(i64::try_from(i % 6).expect("small")))
        })
        .collect()
}

fn sorts() -> Vec<Vec<SortKey>> {
    use SortField::{CreatedAt, DueAt, Priority, Title, UpdatedAt};
    vec![
        vec![],
        vec![key(DueAt, false)],
        vec![key(DueAt, true)],
        vec![key(Priority, true), key(DueAt, false)],
        vec![key(DueAt, true), key(Priority, false), key(Title, true)],
        vec![key(Title, false), key(CreatedAt, true)],
        vec![key(UpdatedAt, true)],
    ]
}

async fn paging_through_every_sort_returns_each_task_once_in_the_full_order(store: Store) {
    insert(&store, &varied_tasks("alice")).await;

    for sort in sorts() {
        let full = store.list("alice", &ListQuery { sort: sort.clone(), limit: 200, ..ListQuery::default() }).await;
        let full: Vec<Uuid> = full.expect("list").items.iter().map(Task::id).collect();

        let pages =
            all_pages(&store, "alice", &ListQuery { sort: sort.clone(), limit: 4, ..ListQuery::default() }).await;

        assert_eq!(full.len(), 13);
        assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [4, 4, 4, 1], "sort {sort:?}");
        assert_eq!(pages.concat(), full, "sort {sort:?}");
    }
}

async fn pages_are_stable_under_concurrent_inserts(store: Store) {
    insert(&store, &varied_tasks("alice")).await;
    let sort = vec![key(SortField::DueAt, false), key(SortField::Priority, true)];
    let query = ListQuery { sort: sort.clone(), limit: 4, ..ListQuery::default() };
    let before: Vec<Uuid> = store
        .list("alice", &ListQuery { limit: 200, ..query.clone() })
        .await
        .expect("list")
        .items
        .iter()
        .map(Task::id)
        .collect();

    let first = store.list("alice", &query).await.expect("first page");
    // Tasks that sort before, among and after the rest: due earlier, equal, later, undated.
    let newcomers: Vec<Task> = ["2026-01-01T00:00:00Z", "2026-03-02T00:00:00Z", "2026-12-01T00:00:00Z", ""]
        .into_iter()
        .map(|due| {
            let mut body = json!({"title": "newcomer", "priority": "medium"});
            if !due.is_empty() {
                body["due_at"] = json!(due);
            }
            task_at("alice", &body, at("2026-01-05T00:00:00Z"))
        })
        .collect();
    insert(&store, &newcomers).await;
    let rest = all_pages(&store, "alice", &ListQuery { cursor: first.next_cursor.clone(), ..query }).await;

    let seen: Vec<Uuid> = first.items.iter().map(Task::id).chain(rest.concat()).collect();
    let pre_existing: Vec<Uuid> = seen.iter().copied().filter(|id| before.contains(id)).collect();
    assert_eq!(pre_existing, before, "no pre-existing task skipped, repeated or reordered");
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), seen.len(), "no task repeated");
    let new_ids: HashSet<Uuid> = newcomers.iter().map(Task::id).collect();
    assert!(
        seen.iter().filter(|id| new_ids.contains(id)).count() >= 2,
        "newcomers sorting after the cursor show up on later pages"
    );
}

async fn the_last_page_has_no_cursor_even_when_it_is_full(store: Store) {
    insert(&store, &varied_tasks("alice")[..4]).await;

    let one_page = store.list("alice", &ListQuery { limit: 4, ..ListQuery::default() }).await.expect("list");
    let pages = all_pages(&store, "alice", &ListQuery { limit: 2, ..ListQuery::default() }).await;

    assert_eq!(one_page.items.len(), 4);
    assert_eq!(one_page.next_cursor, None);
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [2, 2]);
}

async fn the_page_size_is_clamped_to_1_through_200(store: Store) {
    let many: Vec<Task> =
        (0..205).map(|i| task_at("alice", &json!({"title": format!("t{i}")}), at("2026-01-01T00:00:00Z"))).collect();
    insert(&store, &many).await;

    let zero = store.list("alice", &ListQuery { limit: 0, ..ListQuery::default() }).await.expect("list");
    let huge = store.list("alice", &ListQuery { limit: 10_000, ..ListQuery::default() }).await.expect("list");

    assert_eq!(zero.items.len(), 1);
    assert_eq!(huge.items.len(), 200);
    assert!(huge.next_cursor.is_some());
}

async fn a_cursor_used_with_a_different_sort_is_rejected(store: Store) {
    insert(&store, &varied_tasks("alice")).await;
    let by_due = vec![key(SortField::DueAt, false)];
    let page = store.list("alice", &ListQuery { sort: by_due.clone(), limit: 2, ..ListQuery::default() }).await;
    let cursor = Cursor::decode(&page.expect("list").next_cursor.expect("more pages").encode()).expect("decode");

    let reversed = vec![key(SortField::DueAt, true)];
    let refused = store
        .list("alice", &ListQuery { sort: reversed.clone(), cursor: Some(cursor.clone()), ..ListQuery::default() })
        .await;
    let unsorted = store.list("alice", &ListQuery { cursor: Some(cursor.clone()), ..ListQuery::default() }).await;

    assert!(matches!(refused, Err(StorageError::InvalidCursor(CursorError::SortMismatch))), "{refused:?}");
    assert!(matches!(unsorted, Err(StorageError::InvalidCursor(CursorError::SortMismatch))), "{unsorted:?}");
    assert_eq!(cursor.check_sort(&reversed), Err(CursorError::SortMismatch));
    assert_eq!(Cursor::decode_for(&cursor.encode(), &by_due), Ok(cursor));
    assert_eq!(Cursor::decode("bm90IGEgY3Vyc29y"), Err(CursorError::Malformed));
}

async fn paging_with_filters_keeps_to_the_filtered_tasks(store: Store) {
    let tasks = varied_tasks("alice");
    insert(&store, &tasks).await;
    insert(&store, &varied_tasks("bob")).await;
    let query = ListQuery {
        q: Some("TASK".into()),
        due_after: Some(at("2026-03-02T00:00:00Z")),
        sort: vec![key(SortField::Title, false), key(SortField::DueAt, true)],
        limit: 2,
        ..ListQuery::default()
    };

    let pages = all_pages(&store, "alice", &query).await;

    let expected: HashSet<Uuid> =
        tasks.iter().filter(|t| t.due_at().is_some_and(|d| d >= at("2026-03-02T00:00:00Z"))).map(Task::id).collect();
    let seen: Vec<Uuid> = pages.concat();
    assert_eq!(seen.len(), expected.len());
    assert_eq!(seen.into_iter().collect::<HashSet<_>>(), expected);
}
