//! Reading rows back: a task row into a domain [`Task`] (through [`Task::restore`], so a
//! row that no longer makes a valid task is reported as corrupt, never returned).

use event_schema::TaskSnapshot;
use sqlx::Row as _;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use task_domain::Task;
use uuid::Uuid;

use super::StorageError;

/// A `SELECT owner, id, snapshot` row from PostgreSQL.
pub(super) fn task_from_pg(row: &PgRow) -> Result<Task, StorageError> {
    let owner: String = row.try_get("owner")?;
    let id: Uuid = row.try_get("id")?;
    let snapshot: sqlx::types::Json<serde_json::Value> = row.try_get("snapshot")?;
    restore(owner, id, serde_json::from_value(snapshot.0))
}

/// A `SELECT owner, id, snapshot` row from SQLite.
pub(super) fn task_from_sqlite(row: &SqliteRow) -> Result<Task, StorageError> {
    let owner: String = row.try_get("owner")?;
    let id: Uuid = row.try_get("id")?;
    let snapshot: String = row.try_get("snapshot")?;
    restore(owner, id, serde_json::from_str(&snapshot))
}

fn restore(owner: String, id: Uuid, snapshot: serde_json::Result<TaskSnapshot>) -> Result<Task, StorageError> {
    let snapshot = snapshot.map_err(|e| StorageError::Corrupt(format!("task {id}: unreadable snapshot: {e}")))?;
    if snapshot.id != id {
        return Err(StorageError::Corrupt(format!("task {id}: the snapshot is of task {}", snapshot.id)));
    }
    Task::restore(owner, snapshot).map_err(|errors| StorageError::Corrupt(format!("task {id}: {errors}")))
}

/// Headers as stored: a JSON array of `[name, value]` pairs.
pub(super) fn headers_to_json(headers: &[(String, String)]) -> String {
    // A list of string pairs always serialises.
    serde_json::to_string(headers).unwrap_or_else(|_| "[]".to_owned())
}

/// Headers read back.
pub(super) fn headers_from_json(seq: i64, json: &str) -> Result<Vec<(String, String)>, StorageError> {
    serde_json::from_str(json).map_err(|e| StorageError::Corrupt(format!("outbox row {seq}: unreadable headers: {e}")))
}
