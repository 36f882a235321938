//! Batched appends: exactly once per event, gapless chains, under concurrency.

use std::collections::HashSet;

use crate::helpers::*;

#[tokio::test]
async fn appending_a_batch_twice_records_each_event_once_and_counts_the_duplicates() {
    for fixture in both().await {
        let store = &fixture.store;
        let mut batch: Vec<_> = (0..10).map(|i| entry(if i % 2 == 0 { "alice" } else { "bob" }, "t1", i)).collect();
        batch.push(batch[3].clone()); // repeated within the batch

        let first = store.append(batch.clone(), at(100)).await.expect("append");
        let again = store.append(batch, at(200)).await.expect("append again");

        assert_eq!((first.recorded.len(), first.duplicates), (10, 1), "{:?}", store.backend());
        assert_eq!((again.recorded.len(), again.duplicates), (0, 11));
        let report = store.verify_all().await.expect("verify");
        assert!(report.ok, "{report:?}");
        assert_eq!((report.chains_checked, report.entries_checked), (2, 10));
    }
}

#[tokio::test]
async fn unknown_types_are_kept_with_their_raw_payload_and_flagged() {
    for fixture in both().await {
        let store = &fixture.store;
        let mut unknown = entry("alice", "t1", 1);
        unknown.event_type = "task.archived".into();
        unknown.known_type = false;
        unknown.payload = r#"{"archived_by":"alice","whatever":[1,2]}"#.into();
        store.append(vec![unknown.clone()], at(1)).await.expect("append");

        let history = store.task_history(Some("alice"), "t1").await.expect("history");
        assert_eq!(history.len(), 1);
        assert_eq!(history[0].entry.event, unknown, "{:?}", store.backend());
    }
}

#[tokio::test]
async fn concurrent_batches_for_one_user_build_one_gapless_chain() {
    for fixture in both().await {
        let store = fixture.store.clone();
        let batches: Vec<Vec<_>> =
            (0..8).map(|b| (0..25).map(|i| entry("alice", &format!("task-{b}"), b * 100 + i)).collect()).collect();
        let writers: Vec<_> = batches
            .into_iter()
            .map(|batch| {
                let store = store.clone();
                tokio::spawn(async move { store.append(batch, chrono::Utc::now()).await })
            })
            .collect();
        for writer in writers {
            writer.await.expect("no panic").expect("append");
        }

        let report = store.verify_user("alice").await.expect("verify");
        assert!(report.ok, "{:?}: {report:?}", store.backend());
        assert_eq!(report.entries_checked, 200);
        // Each batch's entries are contiguous and in order within the chain.
        let mut seqs = HashSet::new();
        for task in 0..8 {
            let history = store.task_history(Some("alice"), &format!("task-{task}")).await.expect("history");
            let task_seqs: Vec<i64> = history.iter().map(|e| e.entry.link.seq).collect();
            assert!(task_seqs.windows(2).all(|w| w[1] == w[0] + 1), "batch {task} is one run: {task_seqs:?}");
            seqs.extend(task_seqs);
        }
        assert_eq!(seqs, (1..=200).collect());
    }
}

#[tokio::test]
async fn a_batch_the_database_refuses_fails_only_its_own_caller_while_concurrent_batches_are_recorded() {
    let fixture = postgres().await;
    let store = fixture.store.clone();
    // A large batch first, so the next ones queue behind it and share a transaction.
    let first: Vec<_> = (0..400).map(|i| entry(&format!("user-{}", i % 50), "t0", i)).collect();
    let good: Vec<_> = (0..5).map(|i| entry("alice", "t1", 1_000 + i)).collect();
    let mut bad: Vec<_> = (0..5).map(|i| entry("bob", "t2", 2_000 + i)).collect();
    bad[2].payload = "{\"nul\":\"\0\"}".into(); // PostgreSQL refuses NUL in text (SQLSTATE 22021)

    let appends = [first, good, bad].map(|batch| {
        let store = store.clone();
        tokio::spawn(async move { store.append(batch, chrono::Utc::now()).await })
    });
    let [first, good, bad] = appends;

    assert_eq!(first.await.expect("no panic").expect("first batch").recorded.len(), 400);
    assert_eq!(good.await.expect("no panic").expect("good batch").recorded.len(), 5);
    let refused = bad.await.expect("no panic").expect_err("the NUL is refused");
    assert!(refused.to_string().contains("0x00") || refused.to_string().contains("22021"), "{refused}");
    let report = store.verify_all().await.expect("verify");
    assert!(report.ok, "{report:?}");
    assert_eq!(report.entries_checked, 405, "nothing of the refused batch is recorded");
}
