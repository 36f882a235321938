//! Retention deletes exactly the entries recorded before the cutoff; the rest still verifies.

use crate::helpers::*;

#[tokio::test]
async fn retention_deletes_exactly_the_entries_older_than_the_window_and_the_rest_still_verifies() {
    for fixture in both().await {
        let store = &fixture.store;
        let old: Vec<_> = (0..6).map(|i| entry(if i < 4 { "alice" } else { "bob" }, "t1", i)).collect();
        let new: Vec<_> = (10..15).map(|i| entry(if i < 13 { "alice" } else { "carol" }, "t2", i)).collect();
        store.append(old.clone(), at(1_000)).await.expect("append old");
        store.append(new.clone(), at(2_000)).await.expect("append new");

        let outcome = store.delete_recorded_before(at(1_500)).await.expect("retention");

        assert_eq!((outcome.deleted, outcome.chains), (6, 2), "{:?}", store.backend());
        let remaining = store.list(&audit::store::AuditQuery { limit: 500, ..Default::default() }).await.expect("list");
        let mut remaining: Vec<_> = remaining.items.iter().map(|e| e.entry.event.event_id).collect();
        let mut expected: Vec<_> = new.iter().map(|e| e.event_id).collect();
        remaining.sort();
        expected.sort();
        assert_eq!(remaining, expected, "exactly the old entries are gone");
        let report = store.verify_all().await.expect("verify");
        assert!(report.ok, "{:?}: {report:?}", store.backend());
        assert_eq!(report.entries_checked, 5);

        // Appending continues the chain after retention, and a second run deletes nothing.
        store.append(vec![entry("alice", "t3", 20)], at(3_000)).await.expect("append");
        assert_eq!(store.delete_recorded_before(at(1_500)).await.expect("retention").deleted, 0);
        assert!(store.verify_all().await.expect("verify").ok);
    }
}
