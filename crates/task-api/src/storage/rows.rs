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
