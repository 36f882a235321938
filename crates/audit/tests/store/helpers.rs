//! A fresh store of either backend, and entries to append.

use std::time::Duration;

use audit::entry::{NewEntry, SourcePosition};
use audit::store::AuditStore;
use chrono::{DateTime, TimeZone as _, Utc};
use service_runtime::database::DatabaseSettings;

/// A fresh store, and the directory that holds a SQLite file (kept alive with it).
pub(crate) struct Fixture {
    pub(crate) store: AuditStore,
    _dir: Option<tempfile::TempDir>,
}

pub(crate) async fn postgres() -> Fixture {
    let admin = std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let url = service_runtime::testing::fresh_postgres_database(&admin, "audit_store").await.expect("PostgreSQL");
    connect(url, None).await
}

pub(crate) async fn sqlite() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("audit.db").display());
    connect(url, Some(dir)).await
}

async fn connect(url: String, dir: Option<tempfile::TempDir>) -> Fixture {
    let settings = DatabaseSettings { url, max_connections: 5, ..Default::default() };
    let store = AuditStore::connect(&settings, Duration::from_secs(5)).await.expect("connect");
    Fixture { store, _dir: dir }
}

/// Both backends, for tests that must hold on each.
pub(crate) async fn both() -> [Fixture; 2] {
    [postgres().await, sqlite().await]
}

pub(crate) fn at(seconds: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_900_000_000 + seconds, 0).single().expect("valid")
}

/// An entry of `user`'s task `task`, at offset `offset`.
pub(crate) fn entry(user: &str, task: &str, offset: i64) -> NewEntry {
    NewEntry {
        event_id: uuid::Uuid::now_v7(),
        event_type: "task.updated".into(),
        known_type: true,
        subject: task.into(),
        user_id: user.into(),
        actor: user.into(),
        occurred_at: at(offset),
        source: SourcePosition { topic: "task-events".into(), partition: 0, offset },
        correlation_id: Some(format!("req-{offset}")),
        payload: format!(r#"{{"offset":{offset}}}"#),
        changes: None,
    }
}
