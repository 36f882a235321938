//! Connecting: the URL's scheme picks the backend; SQLite files are created; bad URLs and
//! unreachable servers are reported with the right class.

use serde_json::json;
use task_api::storage::{Backend, DatabaseSettings, StorageError, Store};

use crate::helpers::{insert, on_both_backends, task};

on_both_backends!(a_connected_store_answers_pings_and_names_its_backend);

async fn a_connected_store_answers_pings_and_names_its_backend(store: Store) {
    store.ping().await.expect("ping");

    match store.backend() {
        Backend::Postgres => assert!(store.pool().as_postgres().is_some()),
        Backend::Sqlite => assert!(store.pool().as_postgres().is_none()),
    }
}

#[tokio::test]
async fn a_missing_sqlite_file_is_created_with_its_directories_and_reopened_with_its_data() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("a").join("b").join("tasks.db");
    let settings =
        DatabaseSettings { url: format!("sqlite://{}", path.display()), max_connections: 2, ..Default::default() };
    let kept = task("alice", &json!({"title": "kept"}));

    let store = Store::connect(&settings).await.expect("connect");
    insert(&store, std::slice::from_ref(&kept)).await;
    store.close().await;
    let reopened = Store::connect(&settings).await.expect("reconnect (migrations already applied)");

    assert!(path.exists());
    assert_eq!(reopened.get("alice", kept.id()).await.expect("get"), Some(kept));
    reopened.close().await;
}

#[tokio::test]
async fn an_in_memory_sqlite_database_keeps_its_data_while_the_store_lives() {
    let settings = DatabaseSettings { url: "sqlite::memory:".into(), max_connections: 10, ..Default::default() };
    let kept = task("alice", &json!({"title": "kept"}));

    let store = Store::connect(&settings).await.expect("connect");
    insert(&store, std::slice::from_ref(&kept)).await;

    assert_eq!(store.get("alice", kept.id()).await.expect("get"), Some(kept));
    store.close().await;
}

#[tokio::test]
async fn an_unsupported_url_scheme_is_refused_as_a_permanent_error() {
    let settings = DatabaseSettings { url: "mysql://localhost/tasks".into(), max_connections: 1, ..Default::default() };

    let refused = Store::connect(&settings).await;

    assert!(matches!(&refused, Err(StorageError::Other(_))), "{refused:?}");
    assert!(!refused.is_err_and(|e| e.is_transient()));
}

#[tokio::test]
async fn an_unreachable_postgres_server_is_unavailable_and_transient() {
    // Port 1 on the loopback interface: nothing listens there, connections are refused.
    let settings = DatabaseSettings {
        url: "postgres://postgres@127.0.0.1:1/postgres".into(),
        max_connections: 1,
        ..Default::default()
    };

    let refused = Store::connect(&settings).await;

    assert!(refused.as_ref().is_err_and(StorageError::is_transient), "{refused:?}");
}
