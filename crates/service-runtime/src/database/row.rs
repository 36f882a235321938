//! [`Row`]: a row of either backend, read through typed getters that hide how each backend
//! stores a type, so one decoder per table serves both.

use std::fmt;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::error::UnexpectedNullError;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{Column as _, Postgres, Row as _, Sqlite, TypeInfo as _};
use uuid::Uuid;

use super::Backend;
use super::sql::from_micros;

/// A row read by [`Pool`](super::Pool) or [`Tx`](super::Tx) `fetch_*`. Columns are named;
/// every getter reads a type the way [`Arg`](super::Arg) writes it on that backend:
///
/// | getter | PostgreSQL | SQLite |
/// | --- | --- | --- |
/// | [`Row::text`] | `text` | TEXT |
/// | [`Row::i64`] | `smallint`, `integer`, `bigint` | INTEGER |
/// | [`Row::bool`] | `boolean` | INTEGER 0/1 |
/// | [`Row::uuid`] | `uuid` | 16-byte BLOB |
/// | [`Row::bytes`] | `bytea` | BLOB |
/// | [`Row::json`] | `jsonb`, `json` or `text` | TEXT |
/// | [`Row::instant`] | `timestamptz` | INTEGER microseconds |
///
/// The `opt_` getters return `None` for NULL; the others fail on NULL with an error naming
/// the column. Errors are [`sqlx::Error::ColumnDecode`] (or [`sqlx::Error::ColumnNotFound`]).
pub enum Row {
    /// A PostgreSQL row.
    Postgres(PgRow),
    /// A SQLite row.
    Sqlite(SqliteRow),
}

impl fmt::Debug for Row {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let columns: Vec<&str> = match self {
            Self::Postgres(row) => row.columns().iter().map(|c| c.name()).collect(),
            Self::Sqlite(row) => row.columns().iter().map(|c| c.name()).collect(),
        };
        f.debug_struct("Row").field("backend", &self.backend()).field("columns", &columns).finish()
    }
}

impl Row {
    /// The backend it was read from.
    pub fn backend(&self) -> Backend {
        match self {
            Self::Postgres(_) => Backend::Postgres,
            Self::Sqlite(_) => Backend::Sqlite,
        }
    }

    /// Text.
    pub fn text(&self, column: &str) -> Result<String, sqlx::Error> {
        required(column, self.opt_text(column)?)
    }

    /// Text or NULL.
    pub fn opt_text(&self, column: &str) -> Result<Option<String>, sqlx::Error> {
        self.common(column)
    }

    /// An integer of any width.
    pub fn i64(&self, column: &str) -> Result<i64, sqlx::Error> {
        required(column, self.opt_i64(column)?)
    }

    /// An integer of any width, or NULL.
    pub fn opt_i64(&self, column: &str) -> Result<Option<i64>, sqlx::Error> {
        match self {
            // PostgreSQL decodes each width only as its own Rust type.
            Self::Postgres(row) => match row.try_column(column)?.type_info().name() {
                "INT2" => Ok(row.try_get::<Option<i16>, _>(column)?.map(i64::from)),
                "INT4" => Ok(row.try_get::<Option<i32>, _>(column)?.map(i64::from)),
                _ => row.try_get(column),
            },
            Self::Sqlite(row) => row.try_get(column),
        }
    }

    /// An integer that must fit `T` (e.g. `i32`, `u16`); a stored value out of its range is
    /// an error naming the column.
    pub fn int<T: TryFrom<i64>>(&self, column: &str) -> Result<T, sqlx::Error>
    where
        T::Error: std::error::Error + Send + Sync + 'static,
    {
        T::try_from(self.i64(column)?).map_err(|e| decode_error(column, e))
    }

    /// A Boolean.
    pub fn bool(&self, column: &str) -> Result<bool, sqlx::Error> {
        required(column, self.common(column)?)
    }

    /// A UUID.
    pub fn uuid(&self, column: &str) -> Result<Uuid, sqlx::Error> {
        required(column, self.opt_uuid(column)?)
    }

    /// A UUID or NULL.
    pub fn opt_uuid(&self, column: &str) -> Result<Option<Uuid>, sqlx::Error> {
        self.common(column)
    }

    /// Bytes.
    pub fn bytes(&self, column: &str) -> Result<Vec<u8>, sqlx::Error> {
        required(column, self.common(column)?)
    }

    /// A JSON document (`jsonb`/`json`, or JSON text on either backend). Text that is not
    /// JSON is an error naming the column.
    pub fn json(&self, column: &str) -> Result<Value, sqlx::Error> {
        required(column, self.opt_json(column)?)
    }

    /// A JSON document or NULL.
    pub fn opt_json(&self, column: &str) -> Result<Option<Value>, sqlx::Error> {
        if let Self::Postgres(row) = self
            && matches!(row.try_column(column)?.type_info().name(), "JSON" | "JSONB")
        {
            return Ok(row.try_get::<Option<sqlx::types::Json<Value>>, _>(column)?.map(|json| json.0));
        }
        self.opt_text(column)?.map(|text| serde_json::from_str(&text).map_err(|e| decode_error(column, e))).transpose()
    }

    /// An instant, to the microsecond.
    pub fn instant(&self, column: &str) -> Result<DateTime<Utc>, sqlx::Error> {
        required(column, self.opt_instant(column)?)
    }

    /// An instant or NULL.
    pub fn opt_instant(&self, column: &str) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
        match self {
            Self::Postgres(row) => row.try_get(column),
            Self::Sqlite(row) => row
                .try_get::<Option<i64>, _>(column)?
                .map(|micros| from_micros(micros).map_err(|e| decode_error(column, e)))
                .transpose(),
        }
    }

    /// A column both backends decode as `T` (text, Booleans, UUIDs, bytes).
    fn common<T>(&self, column: &str) -> Result<T, sqlx::Error>
    where
        T: for<'r> sqlx::Decode<'r, Postgres>
            + sqlx::Type<Postgres>
            + for<'r> sqlx::Decode<'r, Sqlite>
            + sqlx::Type<Sqlite>,
    {
        match self {
            Self::Postgres(row) => row.try_get(column),
            Self::Sqlite(row) => row.try_get(column),
        }
    }
}

/// The value, or an error naming the column when it is NULL.
fn required<T>(column: &str, value: Option<T>) -> Result<T, sqlx::Error> {
    value.ok_or_else(|| decode_error(column, UnexpectedNullError))
}

fn decode_error(column: &str, source: impl std::error::Error + Send + Sync + 'static) -> sqlx::Error {
    sqlx::Error::ColumnDecode { index: format!("{column:?}"), source: Box::new(source) }
}
