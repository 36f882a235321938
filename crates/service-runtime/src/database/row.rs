//! [`InstantRow`]: reading an instant from a row of either backend, so that one generic
//! function can decode a table's rows for both.

use chrono::{DateTime, Utc};
use sqlx::Row as _;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;

use super::sql::from_micros;

/// What differs between the backends' rows: how instants are stored (`timestamptz`, or
/// INTEGER microseconds). Every other column type reads alike through [`sqlx::Row::try_get`].
pub trait InstantRow: sqlx::Row {
    /// The instant in `column`, or `None` when it is NULL.
    fn instant(&self, column: &str) -> Result<Option<DateTime<Utc>>, sqlx::Error>;

    /// The instant in `column`, which must not be NULL.
    fn required_instant(&self, column: &str) -> Result<DateTime<Utc>, sqlx::Error> {
        self.instant(column)?.ok_or_else(|| sqlx::Error::Decode(format!("{column} is NULL").into()))
    }
}

impl InstantRow for PgRow {
    fn instant(&self, column: &str) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
        self.try_get(column)
    }
}

impl InstantRow for SqliteRow {
    fn instant(&self, column: &str) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
        let micros: Option<i64> = self.try_get(column)?;
        micros.map(|m| from_micros(m).map_err(|e| sqlx::Error::Decode(Box::new(e)))).transpose()
    }
}
