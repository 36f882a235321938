//! Tasks: stored and read back unchanged, scoped by owner, updated only at the expected
//! version, deleted.

use serde_json::json;
use task_api::storage::{ListQuery, StorageError, Store, TagsMatch};
use task_domain::Task;

use crate::helpers::{at, everything, insert, now, on_both_backends, patched, task, titles};

on_both_backends!(
    a_task_round_trips_through_insert_and_get_unchanged,
    a_completed_task_round_trips_with_its_completion_time,
    another_owner_cannot_get_list_update_or_delete_a_task,
    an_update_with_a_stale_version_returns_false_and_changes_nothing,
    an_update_at_the_current_version_replaces_the_task_and_its_tags,
    deleting_a_task_removes_it_and_a_second_delete_finds_nothing,
    inserting_a_task_id_twice_is_a_conflict,
);

async fn a_task_round_trips_through_insert_and_get_unchanged(store: Store) {
    let original = task(
        "alice",
        &json!({
            "title": "Quarterly report",
            "description": "Numbers for Q1 — and the outlook",
            "priority": "high",
            "tags": ["Work", "finance"],
            "due_at": "2026-03-02T08:00:00.123456Z",
            "time_zone": "Europe/Berlin",
            "reminders": [{"before_due": "PT15M"}, {"at": "2026-03-01T18:00:00Z"}],
            "recurrence": {"rrule": "FREQ=WEEKLY;BYDAY=MO", "anchor": "due"}
        }),
    );

    insert(&store, std::slice::from_ref(&original)).await;
    let stored = store.get("alice", original.id()).await.expect("get");

    assert_eq!(stored, Some(original.clone()));
    let stored = stored.expect("stored");
    assert_eq!(stored.created_at(), now(), "microseconds kept");
    assert_eq!(stored.due_at(), Some(at("2026-03-02T08:00:00.123456Z")));
    assert_eq!(stored.series_id(), Some(original.id()));
}

async fn a_completed_task_round_trips_with_its_completion_time(store: Store) {
    let mut original = task("alice", &json!({"title": "Done soon"}));
    original.complete(at("2026-02-03T10:11:12.000001Z"));

    insert(&store, std::slice::from_ref(&original)).await;

    assert_eq!(store.get("alice", original.id()).await.expect("get"), Some(original));
}

async fn another_owner_cannot_get_list_update_or_delete_a_task(store: Store) {
    let original = task("alice", &json!({"title": "Private", "tags": ["secret"]}));
    insert(&store, std::slice::from_ref(&original)).await;
    // The same task as bob would write it.
    let hijacked =
        patched(&Task::restore("bob", original.snapshot()).expect("restorable"), &json!({"title": "Mine now"}), now());

    let got = store.get("bob", original.id()).await.expect("get");
    let listed = titles(&store, "bob", &everything()).await;
    let by_tag = ListQuery { tags: vec!["secret".into()], tags_match: TagsMatch::Any, ..everything() };
    let listed_by_tag = titles(&store, "bob", &by_tag).await;
    let mut tx = store.begin().await.expect("begin");
    let locked = tx.get_for_update("bob", original.id()).await.expect("get for update");
    let updated = tx.update_task(&hijacked, original.version()).await.expect("update");
    let deleted = tx.delete_task("bob", original.id()).await.expect("delete");
    tx.commit().await.expect("commit");

    assert_eq!(got, None);
    assert!(listed.is_empty(), "{listed:?}");
    assert!(listed_by_tag.is_empty(), "{listed_by_tag:?}");
    assert_eq!(locked, None);
    assert!(!updated, "bob updated alice's task");
    assert!(!deleted, "bob deleted alice's task");
    assert_eq!(store.get("alice", original.id()).await.expect("get"), Some(original));
}

async fn an_update_with_a_stale_version_returns_false_and_changes_nothing(store: Store) {
    let original = task("alice", &json!({"title": "v1", "tags": ["a"]}));
    insert(&store, std::slice::from_ref(&original)).await;
    let changed = patched(&original, &json!({"title": "v2", "tags": ["b"]}), at("2026-02-02T00:00:00Z"));

    let mut tx = store.begin().await.expect("begin");
    let with_an_older_version = tx.update_task(&changed, original.version() - 1).await.expect("update");
    let with_a_newer_version = tx.update_task(&changed, original.version() + 1).await.expect("update");
    tx.commit().await.expect("commit");

    assert!(!with_an_older_version);
    assert!(!with_a_newer_version);
    assert_eq!(store.get("alice", original.id()).await.expect("get"), Some(original));
    let tagged_b = ListQuery { tags: vec!["b".into()], ..everything() };
    assert!(titles(&store, "alice", &tagged_b).await.is_empty(), "tags unchanged too");
}

async fn an_update_at_the_current_version_replaces_the_task_and_its_tags(store: Store) {
    let original = task("alice", &json!({"title": "v1", "tags": ["a", "b"], "priority": "low"}));
    insert(&store, std::slice::from_ref(&original)).await;
    let changed = patched(
        &original,
        &json!({"title": "v2", "tags": ["b", "c"], "priority": "urgent", "due_at": "2026-04-01T00:00:00Z"}),
        at("2026-02-02T00:00:00.000007Z"),
    );

    let mut tx = store.begin().await.expect("begin");
    let updated = tx.update_task(&changed, original.version()).await.expect("update");
    tx.commit().await.expect("commit");

    assert!(updated);
    let stored = store.get("alice", original.id()).await.expect("get");
    assert_eq!(stored, Some(changed.clone()));
    assert_eq!(changed.version(), original.version() + 1);
    let tagged = |tag: &str| ListQuery { tags: vec![tag.into()], ..everything() };
    assert!(titles(&store, "alice", &tagged("a")).await.is_empty(), "old tag removed");
    assert_eq!(titles(&store, "alice", &tagged("b")).await, ["v2"]);
    assert_eq!(titles(&store, "alice", &tagged("c")).await, ["v2"]);
}

async fn deleting_a_task_removes_it_and_a_second_delete_finds_nothing(store: Store) {
    let doomed = task("alice", &json!({"title": "Doomed", "tags": ["x"]}));
    let kept = task("alice", &json!({"title": "Kept", "tags": ["x"]}));
    insert(&store, &[doomed.clone(), kept.clone()]).await;

    let mut tx = store.begin().await.expect("begin");
    let first = tx.delete_task("alice", doomed.id()).await.expect("delete");
    let second = tx.delete_task("alice", doomed.id()).await.expect("delete again");
    tx.commit().await.expect("commit");

    assert!(first);
    assert!(!second);
    assert_eq!(store.get("alice", doomed.id()).await.expect("get"), None);
    let tagged = ListQuery { tags: vec!["x".into()], ..everything() };
    assert_eq!(titles(&store, "alice", &tagged).await, ["Kept"]);
}

async fn inserting_a_task_id_twice_is_a_conflict(store: Store) {
    let original = task("alice", &json!({"title": "Once"}));
    insert(&store, std::slice::from_ref(&original)).await;

    let mut tx = store.begin().await.expect("begin");
    let again = tx.insert_task(&original).await;
    tx.rollback().await.expect("rollback");

    assert!(matches!(again, Err(StorageError::Conflict)), "{again:?}");
}
