//! [`Tx`]: a transaction of either backend (`service_runtime::database::Tx` under task-api's own
//! methods), and the task writes made in one.
//!
//! Dropping a `Tx` without [`Tx::commit`] rolls it back.

use service_runtime::database::{Arg, Backend, Row, Sql, Tx as Inner};
use service_runtime::outbox::{self, OutboxEvent};
use task_domain::Task;
use uuid::Uuid;

use super::list::{fold, priority_rank, status_name};
use super::{OUTBOX, StorageError, rows};

/// An open transaction.
#[derive(Debug)]
pub struct Tx {
    inner: Inner,
}

impl Tx {
    pub(super) fn new(inner: Inner) -> Self {
        Self { inner }
    }

    /// The backend.
    pub fn backend(&self) -> Backend {
        self.inner.backend()
    }

    /// The owner's task `id`, locked until the transaction ends: a concurrent
    /// `get_for_update` of the same task waits here, so read-modify-write cycles on one
    /// task happen one after the other. PostgreSQL: `SELECT … FOR UPDATE`. SQLite: the
    /// transaction already holds the database's write lock (see [`Store::begin`]).
    ///
    /// [`Store::begin`]: super::Store::begin
    #[tracing::instrument(skip_all, fields(%id), err(level = "debug"))]
    pub async fn get_for_update(&mut self, owner: &str, id: Uuid) -> Result<Option<Task>, StorageError> {
        let mut sql = Sql::new(self.backend(), "SELECT owner, id, snapshot FROM tasks WHERE owner = ");
        sql.bind(Arg::Text(owner.to_owned())).push(" AND id = ").bind(Arg::Uuid(id));
        if self.backend() == Backend::Postgres {
            sql.push(" FOR UPDATE");
        }
        Ok(self.fetch_tasks(sql).await?.pop())
    }

    /// Stores a new task (owned by `task.owner()`). [`StorageError::Conflict`] when its id
    /// exists.
    #[tracing::instrument(skip_all, fields(id = %task.id()), err(level = "debug"))]
    pub async fn insert_task(&mut self, task: &Task) -> Result<(), StorageError> {
        let mut sql = Sql::new(
            self.backend(),
            "INSERT INTO tasks (status, priority_rank, title_fold, description_fold, due_at, series_id, \
             occurrence_at, follows, created_at, updated_at, version, snapshot, id, owner) VALUES ",
        );
        sql.bind_list(
            task_columns(task)?.into_iter().chain([Arg::Uuid(task.id()), Arg::Text(task.owner().to_owned())]),
        );
        self.execute(sql).await?;
        self.insert_tags(task).await
    }

    /// Stores a new task of a series unless its occurrence has a task already: `None` when
    /// stored; otherwise the owner's task of the same series with the same `occurrence_at`
    /// or the same `follows` (and nothing is stored). The unique indexes of migration 2
    /// decide, so two concurrent inserts of one occurrence store one task: on PostgreSQL the
    /// second waits for the first to commit, then finds its row. [`StorageError::Conflict`]
    /// when the colliding row is not the owner's (or the id exists).
    #[tracing::instrument(skip_all, fields(id = %task.id()), err(level = "debug"))]
    pub async fn insert_occurrence(&mut self, task: &Task) -> Result<Option<Task>, StorageError> {
        let mut sql = Sql::new(
            self.backend(),
            "INSERT INTO tasks (status, priority_rank, title_fold, description_fold, due_at, series_id, \
             occurrence_at, follows, created_at, updated_at, version, snapshot, id, owner) VALUES ",
        );
        sql.bind_list(
            task_columns(task)?.into_iter().chain([Arg::Uuid(task.id()), Arg::Text(task.owner().to_owned())]),
        );
        sql.push(" ON CONFLICT DO NOTHING");
        if self.execute(sql).await? == 1 {
            self.insert_tags(task).await?;
            return Ok(None);
        }
        let mut sql = Sql::new(self.backend(), "SELECT owner, id, snapshot FROM tasks WHERE series_id = ");
        sql.bind(Arg::OptUuid(task.series_id()))
            .push(" AND (occurrence_at = ")
            .bind(Arg::OptTime(task.occurrence_at()));
        sql.push(" OR follows = ").bind(Arg::OptTime(task.follows())).push(") ORDER BY occurrence_at LIMIT 1");
        match self.fetch_tasks(sql).await?.pop() {
            Some(existing) if existing.owner() == task.owner() => Ok(Some(existing)),
            _ => Err(StorageError::Conflict),
        }
    }

    /// Replaces the stored task with `task` if the stored version is `expected_version`
    /// (optimistic check). `false`, and nothing changed, when the versions differ or the task
    /// does not exist for `task.owner()`.
    #[tracing::instrument(skip_all, fields(id = %task.id(), expected_version), err(level = "debug"))]
    pub async fn update_task(&mut self, task: &Task, expected_version: i64) -> Result<bool, StorageError> {
        let mut sql = Sql::new(self.backend(), "UPDATE tasks SET ");
        let names = [
            "status",
            "priority_rank",
            "title_fold",
            "description_fold",
            "due_at",
            "series_id",
            "occurrence_at",
            "follows",
            "created_at",
            "updated_at",
            "version",
            "snapshot",
        ];
        for (i, (name, arg)) in names.into_iter().zip(task_columns(task)?).enumerate() {
            sql.push(if i == 0 { "" } else { ", " }).push(name).push(" = ").bind(arg);
        }
        sql.push(" WHERE id = ").bind(Arg::Uuid(task.id()));
        sql.push(" AND owner = ").bind(Arg::Text(task.owner().to_owned()));
        sql.push(" AND version = ").bind(Arg::Int(expected_version));
        if self.execute(sql).await? == 0 {
            return Ok(false);
        }
        let mut sql = Sql::new(self.backend(), "DELETE FROM task_tags WHERE task_id = ");
        sql.bind(Arg::Uuid(task.id()));
        self.execute(sql).await?;
        self.insert_tags(task).await?;
        Ok(true)
    }

    /// Deletes the owner's task `id` (and its tags). `false` when there is none.
    #[tracing::instrument(skip_all, fields(%id), err(level = "debug"))]
    pub async fn delete_task(&mut self, owner: &str, id: Uuid) -> Result<bool, StorageError> {
        let mut sql = Sql::new(self.backend(), "DELETE FROM tasks WHERE owner = ");
        sql.bind(Arg::Text(owner.to_owned())).push(" AND id = ").bind(Arg::Uuid(id));
        Ok(self.execute(sql).await? > 0)
    }

    /// Adds events to task-api's outbox ([`OUTBOX`]), pending once the transaction commits
    /// (see [`outbox::enqueue`]; on PostgreSQL the commit also notifies the relays). An event
    /// id already enqueued is a [`StorageError::Conflict`].
    pub async fn enqueue(&mut self, events: &[OutboxEvent]) -> Result<(), StorageError> {
        Ok(outbox::enqueue(&mut self.inner, &OUTBOX, events).await?)
    }

    /// Makes the transaction's changes permanent (and, on PostgreSQL, delivers its
    /// notifications).
    #[tracing::instrument(skip_all, err(level = "debug"))]
    pub async fn commit(self) -> Result<(), StorageError> {
        Ok(self.inner.commit().await?)
    }

    /// Discards the transaction's changes.
    #[tracing::instrument(skip_all, err(level = "debug"))]
    pub async fn rollback(self) -> Result<(), StorageError> {
        Ok(self.inner.rollback().await?)
    }

    async fn insert_tags(&mut self, task: &Task) -> Result<(), StorageError> {
        if task.tags().is_empty() {
            return Ok(());
        }
        let mut sql = Sql::new(self.backend(), "INSERT INTO task_tags (task_id, tag) VALUES ");
        for (i, tag) in task.tags().iter().enumerate() {
            sql.push(if i == 0 { "" } else { ", " });
            sql.bind_list([Arg::Uuid(task.id()), Arg::Text(tag.to_owned())]);
        }
        self.execute(sql).await.map(drop)
    }

    /// Runs a statement; returns the rows affected.
    pub(super) async fn execute(&mut self, sql: Sql) -> Result<u64, StorageError> {
        Ok(self.inner.execute(sql).await?)
    }

    /// Runs a query; returns its first row, if any.
    pub(super) async fn fetch_optional(&mut self, sql: Sql) -> Result<Option<Row>, StorageError> {
        Ok(self.inner.fetch_optional(sql).await?)
    }

    async fn fetch_tasks(&mut self, sql: Sql) -> Result<Vec<Task>, StorageError> {
        self.inner.fetch_all(sql).await?.iter().map(rows::task).collect()
    }
}

/// The task's column values, in the order of `insert_task` and `update_task` (id and owner
/// excluded): the copies of the fields lists filter and sort on, then the snapshot.
fn task_columns(task: &Task) -> Result<[Arg; 12], StorageError> {
    let snapshot = serde_json::to_value(task.snapshot())
        .map_err(|e| StorageError::Corrupt(format!("task {}: cannot serialise the snapshot: {e}", task.id())))?;
    Ok([
        Arg::Text(status_name(task.status()).to_owned()),
        Arg::Int(priority_rank(task.priority())),
        Arg::Text(fold(task.title().as_str())),
        Arg::OptText(task.description().map(|d| fold(d.as_str()))),
        Arg::OptTime(task.due_at()),
        Arg::OptUuid(task.series_id()),
        Arg::OptTime(task.occurrence_at()),
        Arg::OptTime(task.follows()),
        Arg::Time(task.created_at()),
        Arg::Time(task.updated_at()),
        Arg::Int(task.version()),
        Arg::Json(snapshot),
    ])
}
