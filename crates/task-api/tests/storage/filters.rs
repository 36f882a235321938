//! Every list filter, alone and combined; the results are sorted by title for readability.

use event_schema::{Priority, TaskStatus};
use serde_json::json;
use task_api::storage::{ListQuery, SortField, SortKey, Store, TagsMatch};

use crate::helpers::{at, insert, on_both_backends, task, titles};

on_both_backends!(
    the_status_filter_lists_open_or_completed_tasks,
    the_priority_filter_takes_one_or_several_priorities,
    the_any_tag_filter_lists_tasks_with_at_least_one_of_the_tags,
    the_all_tag_filter_lists_tasks_with_every_one_of_the_tags,
    q_finds_a_substring_of_the_title_or_the_description_in_any_case,
    due_after_and_due_before_bound_the_due_date_from_inclusive_to_exclusive,
    overdue_lists_open_tasks_due_before_the_instant,
    the_series_filter_lists_only_that_series,
    filters_combine_with_and,
);

fn by_title() -> ListQuery {
    ListQuery { sort: vec![SortKey { field: SortField::Title, descending: false }], limit: 200, ..ListQuery::default() }
}

async fn the_status_filter_lists_open_or_completed_tasks(store: Store) {
    let mut done = task("alice", &json!({"title": "done"}));
    done.complete(at("2026-02-02T00:00:00Z"));
    insert(&store, &[task("alice", &json!({"title": "open"})), done]).await;

    let open = ListQuery { status: Some(TaskStatus::Open), ..by_title() };
    let completed = ListQuery { status: Some(TaskStatus::Completed), ..by_title() };

    assert_eq!(titles(&store, "alice", &open).await, ["open"]);
    assert_eq!(titles(&store, "alice", &completed).await, ["done"]);
    assert_eq!(titles(&store, "alice", &by_title()).await, ["done", "open"]);
}

async fn the_priority_filter_takes_one_or_several_priorities(store: Store) {
    let tasks: Vec<_> = ["none", "low", "medium", "high", "urgent"]
        .into_iter()
        .map(|p| task("alice", &json!({"title": p, "priority": p})))
        .collect();
    insert(&store, &tasks).await;

    let high = ListQuery { priorities: vec![Priority::High], ..by_title() };
    let extremes = ListQuery { priorities: vec![Priority::None, Priority::Urgent], ..by_title() };

    assert_eq!(titles(&store, "alice", &high).await, ["high"]);
    assert_eq!(titles(&store, "alice", &extremes).await, ["none", "urgent"]);
}

async fn the_any_tag_filter_lists_tasks_with_at_least_one_of_the_tags(store: Store) {
    insert(
        &store,
        &[
            task("alice", &json!({"title": "home", "tags": ["home"]})),
            task("alice", &json!({"title": "work", "tags": ["work"]})),
            task("alice", &json!({"title": "both", "tags": ["work", "home"]})),
            task("alice", &json!({"title": "untagged"})),
        ],
    )
    .await;

    let home_or_work =
        ListQuery { tags: vec!["HOME".into(), " work ".into()], tags_match: TagsMatch::Any, ..by_title() };
    let work = ListQuery { tags: vec!["work".into()], tags_match: TagsMatch::Any, ..by_title() };

    assert_eq!(titles(&store, "alice", &home_or_work).await, ["both", "home", "work"]);
    assert_eq!(titles(&store, "alice", &work).await, ["both", "work"]);
}

async fn the_all_tag_filter_lists_tasks_with_every_one_of_the_tags(store: Store) {
    insert(
        &store,
        &[
            task("alice", &json!({"title": "home", "tags": ["home"]})),
            task("alice", &json!({"title": "both", "tags": ["work", "home"]})),
            task("alice", &json!({"title": "three", "tags": ["home", "urgent", "work"]})),
        ],
    )
    .await;

    let home_and_work =
        ListQuery { tags: vec!["home".into(), "Work".into(), "work".into()], tags_match: TagsMatch::All, ..by_title() };

    assert_eq!(titles(&store, "alice", &home_and_work).await, ["both", "three"]);
}

async fn q_finds_a_substring_of_the_title_or_the_description_in_any_case(store: Store) {
    insert(
        &store,
        &[
            task("alice", &json!({"title": "Buy MILK"})),
            task("alice", &json!({"title": "Call", "description": "the Dentist about the milkshake"})),
            task("alice", &json!({"title": "Ärger mit Öl"})),
            task("alice", &json!({"title": "100% done_"})),
            task("alice", &json!({"title": "Unrelated", "description": "nothing"})),
        ],
    )
    .await;

    let q = |q: &str| ListQuery { q: Some(q.to_owned()), ..by_title() };

    assert_eq!(titles(&store, "alice", &q("milk")).await, ["Buy MILK", "Call"]);
    assert_eq!(titles(&store, "alice", &q("DENTIST")).await, ["Call"]);
    assert_eq!(titles(&store, "alice", &q("äRGER")).await, ["Ärger mit Öl"], "Unicode case folding");
    assert_eq!(titles(&store, "alice", &q("0% d")).await, ["100% done_"], "no LIKE wildcards");
    assert!(titles(&store, "alice", &q("%")).await.len() == 1, "% is literal");
    assert!(titles(&store, "alice", &q("_")).await.len() == 1, "_ is literal");
    assert!(titles(&store, "alice", &q("absent")).await.is_empty());
}

async fn due_after_and_due_before_bound_the_due_date_from_inclusive_to_exclusive(store: Store) {
    insert(
        &store,
        &[
            task("alice", &json!({"title": "a-jan", "due_at": "2026-01-15T00:00:00Z"})),
            task("alice", &json!({"title": "b-feb", "due_at": "2026-02-01T00:00:00Z"})),
            task("alice", &json!({"title": "c-feb-end", "due_at": "2026-02-28T23:59:59.999999Z"})),
            task("alice", &json!({"title": "d-mar", "due_at": "2026-03-01T00:00:00Z"})),
            task("alice", &json!({"title": "e-undated"})),
        ],
    )
    .await;

    let february = ListQuery {
        due_after: Some(at("2026-02-01T00:00:00Z")),
        due_before: Some(at("2026-03-01T00:00:00Z")),
        ..by_title()
    };
    let before_february = ListQuery { due_before: Some(at("2026-02-01T00:00:00Z")), ..by_title() };
    let from_february = ListQuery { due_after: Some(at("2026-02-01T00:00:00Z")), ..by_title() };

    assert_eq!(titles(&store, "alice", &february).await, ["b-feb", "c-feb-end"]);
    assert_eq!(titles(&store, "alice", &before_february).await, ["a-jan"]);
    assert_eq!(titles(&store, "alice", &from_february).await, ["b-feb", "c-feb-end", "d-mar"]);
}

async fn overdue_lists_open_tasks_due_before_the_instant(store: Store) {
    let mut done_late = task("alice", &json!({"title": "done late", "due_at": "2026-01-01T00:00:00Z"}));
    done_late.complete(at("2026-01-05T00:00:00Z"));
    insert(
        &store,
        &[
            task("alice", &json!({"title": "late", "due_at": "2026-01-01T00:00:00Z"})),
            task("alice", &json!({"title": "due now", "due_at": "2026-02-01T12:00:00Z"})),
            task("alice", &json!({"title": "future", "due_at": "2026-03-01T00:00:00Z"})),
            task("alice", &json!({"title": "undated"})),
            done_late,
        ],
    )
    .await;

    let overdue = ListQuery { overdue_at: Some(at("2026-02-01T12:00:00Z")), ..by_title() };

    assert_eq!(titles(&store, "alice", &overdue).await, ["late"]);
}

async fn the_series_filter_lists_only_that_series(store: Store) {
    let recurring = task(
        "alice",
        &json!({"title": "stand-up", "due_at": "2026-02-02T09:00:00Z", "recurrence": {"rrule": "FREQ=DAILY"}}),
    );
    let other = task(
        "alice",
        &json!({"title": "review", "due_at": "2026-02-02T09:00:00Z", "recurrence": {"rrule": "FREQ=WEEKLY"}}),
    );
    insert(&store, &[recurring.clone(), other, task("alice", &json!({"title": "once"}))]).await;

    let series = ListQuery { series_id: recurring.series_id(), ..by_title() };

    assert!(series.series_id.is_some());
    assert_eq!(titles(&store, "alice", &series).await, ["stand-up"]);
}

async fn filters_combine_with_and(store: Store) {
    insert(
        &store,
        &[
            task("alice", &json!({"title": "match", "priority": "high", "tags": ["work"], "due_at": "2026-02-10T00:00:00Z"})),
            task("alice", &json!({"title": "wrong tag", "priority": "high", "tags": ["home"], "due_at": "2026-02-10T00:00:00Z"})),
            task("alice", &json!({"title": "wrong priority", "priority": "low", "tags": ["work"], "due_at": "2026-02-10T00:00:00Z"})),
            task("alice", &json!({"title": "too late", "priority": "high", "tags": ["work"], "due_at": "2026-04-10T00:00:00Z"})),
        ],
    )
    .await;

    let query = ListQuery {
        status: Some(TaskStatus::Open),
        priorities: vec![Priority::High],
        tags: vec!["work".into()],
        due_before: Some(at("2026-03-01T00:00:00Z")),
        q: Some("MAT".into()),
        ..by_title()
    };

    assert_eq!(titles(&store, "alice", &query).await, ["match"]);
}
