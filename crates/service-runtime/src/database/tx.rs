//! [`Tx`]: a transaction of either backend.

use sqlx::{Postgres, Sqlite, Transaction};

use super::exec::{lite, pg};
use super::pool::Backend;
use super::row::Row;
use super::sql::Sql;

/// An open transaction of either backend; dropping it without [`Tx::commit`] rolls it back.
#[derive(Debug)]
pub enum Tx {
    /// PostgreSQL.
    Postgres(Transaction<'static, Postgres>),
    /// SQLite (holding the write lock).
    Sqlite(Transaction<'static, Sqlite>),
}

impl Tx {
    /// The backend.
    pub fn backend(&self) -> Backend {
        match self {
            Self::Postgres(_) => Backend::Postgres,
            Self::Sqlite(_) => Backend::Sqlite,
        }
    }

    /// Runs a statement; returns the rows affected.
    pub async fn execute(&mut self, sql: Sql) -> Result<u64, sqlx::Error> {
        match self {
            Self::Postgres(tx) => pg::execute(&mut **tx, sql).await,
            Self::Sqlite(tx) => lite::execute(&mut **tx, sql).await,
        }
    }

    /// Runs a query; returns every row.
    pub async fn fetch_all(&mut self, sql: Sql) -> Result<Vec<Row>, sqlx::Error> {
        match self {
            Self::Postgres(tx) => pg::fetch_all(&mut **tx, sql).await,
            Self::Sqlite(tx) => lite::fetch_all(&mut **tx, sql).await,
        }
    }

    /// Runs a query; returns its first row, if any.
    pub async fn fetch_optional(&mut self, sql: Sql) -> Result<Option<Row>, sqlx::Error> {
        match self {
            Self::Postgres(tx) => pg::fetch_optional(&mut **tx, sql).await,
            Self::Sqlite(tx) => lite::fetch_optional(&mut **tx, sql).await,
        }
    }

    /// Runs a query; returns its first row, or [`sqlx::Error::RowNotFound`].
    pub async fn fetch_one(&mut self, sql: Sql) -> Result<Row, sqlx::Error> {
        self.fetch_optional(sql).await?.ok_or(sqlx::Error::RowNotFound)
    }

    /// Commits.
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Self::Postgres(tx) => tx.commit().await,
            Self::Sqlite(tx) => tx.commit().await,
        }
    }

    /// Rolls back (what dropping the transaction does too, but here a failure is reported).
    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        match self {
            Self::Postgres(tx) => tx.rollback().await,
            Self::Sqlite(tx) => tx.rollback().await,
        }
    }
}
