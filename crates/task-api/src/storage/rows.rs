//! Reading rows back: a task row into a domain [`Task`] (through [`Task::restore`], so a
//! row that no longer makes a valid task is reported as corrupt, never returned).

use service_runtime::database::Row;
use task_domain::Task;

use super::StorageError;

/// A `SELECT owner, id, snapshot` row.
pub(super) fn task(row: &Row) -> Result<Task, StorageError> {
    let id = row.uuid("id")?;
    let corrupt = |e: &dyn std::fmt::Display| StorageError::Corrupt(format!("task {id}: unreadable snapshot: {e}"));
    let snapshot: event_schema::TaskSnapshot =
        serde_json::from_value(row.json("snapshot").map_err(|e| corrupt(&e))?).map_err(|e| corrupt(&e))?;
    if snapshot.id != id {
        return Err(StorageError::Corrupt(format!("task {id}: the snapshot is of task {}", snapshot.id)));
    }
    Task::restore(row.text("owner")?, snapshot).map_err(|errors| StorageError::Corrupt(format!("task {id}: {errors}")))
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
