//! Tamper evidence through the running service.

use serde_json::Value;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chain_verifies_and_a_payload_changed_in_the_database_is_reported_at_exactly_that_row() {
    let topics = Topics::new();
    let audit = spawn_audit(&topics, &fresh_database().await, &unique("audit")).await;
    let producer = producer();
    for _ in 0..6 {
        let task = uuid::Uuid::now_v7();
        for user in ["alice", "bob"] {
            produce(&producer, &topics.reminders, &task.to_string(), &reminder_sent(user, task)).await;
        }
    }
    eventually("the 12 events recorded", || async { audit.rows().await == 12 }).await;
    let clean = audit.json("/v1/audit/verify", &admin_token("root")).await;
    assert_eq!(
        (clean["ok"].as_bool(), clean["chains_checked"].as_u64(), clean["entries_checked"].as_u64()),
        (Some(true), Some(2), Some(12)),
        "{clean}"
    );

    // Someone with database access edits alice's fourth entry (the trigger must be disabled
    // first: the table refuses updates).
    let victim: (uuid::Uuid, i64) = {
        use sqlx::Connection as _;
        let mut db = sqlx::PgConnection::connect(&audit.database_url).await.expect("connect");
        let update = sqlx::query("UPDATE audit_events SET payload = '{}' WHERE user_id = 'alice' AND chain_seq = 4")
            .execute(&mut db)
            .await;
        assert!(update.is_err(), "the append-only trigger refuses updates");
        sqlx::query("ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only")
            .execute(&mut db)
            .await
            .expect("disable");
        sqlx::query("UPDATE audit_events SET payload = '{\"channels\":[]}' WHERE user_id = 'alice' AND chain_seq = 4")
            .execute(&mut db)
            .await
            .expect("tamper");
        sqlx::query_as("SELECT event_id, chain_seq FROM audit_events WHERE user_id = 'alice' AND chain_seq = 4")
            .fetch_one(&mut db)
            .await
            .expect("victim")
    };

    let report = audit.json("/v1/audit/verify", &admin_token("root")).await;
    assert_eq!(report["ok"], false);
    let broken: Vec<&Value> =
        report["chains"].as_array().expect("chains").iter().filter(|c| !c["broken"].is_null()).collect();
    assert_eq!(broken.len(), 1, "only alice's chain is broken: {report}");
    assert_eq!(broken[0]["broken"]["user_id"], "alice");
    assert_eq!(broken[0]["broken"]["seq"], victim.1);
    assert_eq!(broken[0]["broken"]["event_id"], victim.0.to_string());
    assert_eq!(broken[0]["entries_checked"], 3, "the three entries before it still verify");

    // Alice can verify her own chain; bob's is intact.
    let own = audit.json("/v1/audit/verify", &token("alice")).await;
    assert_eq!((own["ok"].as_bool(), own["chains_checked"].as_u64()), (Some(false), Some(1)));
    let bobs = audit.json("/v1/audit/verify", &token("bob")).await;
    assert_eq!(bobs["ok"], true);
    audit.shutdown().await;
}
