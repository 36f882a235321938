//! `audit dlq replay` (the real binary) after the database refused an event: the dead letter
//! is recorded once after the fix, and replaying it again adds nothing.

use std::process::Command;

use crate::helpers::*;
use crate::recording::committed_total;

/// The database refuses mallory's events with a data exception (SQLSTATE class 22), which the
/// audit treats as permanent: the event is dead-lettered.
const REFUSE_MALLORY: &str = "
    CREATE FUNCTION refuse_mallory() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NEW.user_id = 'mallory' THEN
            RAISE EXCEPTION 'mallory refused for the test' USING ERRCODE = '22023';
        END IF;
        RETURN NEW;
    END $$;
    CREATE TRIGGER refuse_mallory BEFORE INSERT ON audit_events
        FOR EACH ROW EXECUTE FUNCTION refuse_mallory();";

async fn execute(database_url: &str, sql: &str) {
    use sqlx::Connection as _;
    let mut db = sqlx::PgConnection::connect(database_url).await.expect("connect");
    sqlx::raw_sql(sql).execute(&mut db).await.expect("execute");
}

async fn rows_of(database_url: &str, user: &str) -> i64 {
    use sqlx::Connection as _;
    let mut db = sqlx::PgConnection::connect(database_url).await.expect("connect");
    sqlx::query_scalar("SELECT COUNT(*) FROM audit_events WHERE user_id = $1")
        .bind(user)
        .fetch_one(&mut db)
        .await
        .expect("count")
}

/// Runs `audit dlq <args>` for `group` against the test broker; returns its stdout.
fn audit_dlq(group: &str, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_audit"))
        .arg("dlq")
        .args(args)
        .env("APP_CONFIG_DIR", concat!(env!("CARGO_MANIFEST_DIR"), "/config"))
        .env("APP_ENVIRONMENT", "local")
        .env("APP__KAFKA__BOOTSTRAP_SERVERS", bootstrap())
        .env("APP__CONSUMER__GROUP_ID", group)
        .output()
        .expect("run the audit binary");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "audit dlq {args:?}: {stdout}{}", String::from_utf8_lossy(&output.stderr));
    stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_the_database_refused_is_recorded_once_after_the_fix_and_a_second_replay_adds_nothing() {
    let topics = Topics::new();
    let database = fresh_database().await;
    let group = unique("audit");
    let audit = spawn_audit(&topics, &database, &group).await;
    execute(&database, REFUSE_MALLORY).await;
    let producer = producer();
    let task = uuid::Uuid::now_v7();
    for user in ["alice", "mallory", "alice"] {
        produce(&producer, &topics.reminders, &task.to_string(), &reminder_sent(user, task)).await;
    }
    eventually("alice's events recorded past the refused one", || async { audit.rows().await == 2 }).await;
    let listed = audit_dlq(&group, &["list"]);
    assert!(listed.contains("mallory refused for the test"), "{listed}");
    assert!(listed.contains("1 dead letter(s)"), "{listed}");

    execute(&database, "DROP TRIGGER refuse_mallory ON audit_events").await;
    let first = audit_dlq(&group, &["replay", "--all"]);
    assert!(first.contains("1 of 1 dead letter(s) replayed"), "{first}");
    eventually("mallory's event recorded after the replay", || async { rows_of(&database, "mallory").await == 1 })
        .await;

    let second = audit_dlq(&group, &["replay", "--all"]);
    assert!(second.contains("1 of 1 dead letter(s) replayed"), "{second}");
    eventually("the second replay consumed", || async { committed_total(&group, &topics).await == 5 }).await;
    assert_eq!(rows_of(&database, "mallory").await, 1, "recorded once");
    assert_eq!(audit.rows().await, 3);
    let report = audit.json("/v1/audit/verify", &admin_token("root")).await;
    assert_eq!(report["ok"], true, "{report}");
    audit.shutdown().await;
}
