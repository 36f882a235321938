//! Backend-neutral SQL: statement text with `$n` placeholders (PostgreSQL's; SQLite accepts
//! them too) plus typed arguments, bound the way each backend stores the type. Instants are
//! `timestamptz` in PostgreSQL and INTEGER microseconds since the epoch in SQLite; UUIDs are
//! `uuid` and 16-byte BLOBs.

use chrono::{DateTime, Utc};
use sqlx::postgres::PgArguments;
use sqlx::query::Query;
use sqlx::sqlite::SqliteArguments;
use sqlx::{Postgres, Sqlite};
use uuid::Uuid;

use super::Backend;

/// One bind argument.
#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    /// TEXT.
    Text(String),
    /// TEXT or NULL.
    OptText(Option<String>),
    /// BIGINT / INTEGER.
    Int(i64),
    /// BIGINT / INTEGER or NULL.
    OptInt(Option<i64>),
    /// `uuid` in PostgreSQL, a 16-byte BLOB in SQLite (ordered like PostgreSQL's).
    Uuid(Uuid),
    /// A UUID or NULL.
    OptUuid(Option<Uuid>),
    /// An instant: `timestamptz` in PostgreSQL, INTEGER microseconds in SQLite.
    Time(DateTime<Utc>),
    /// An instant or NULL.
    OptTime(Option<DateTime<Utc>>),
    /// BYTEA / BLOB.
    Bytes(Vec<u8>),
    /// A Boolean: `boolean` in PostgreSQL, INTEGER 0/1 in SQLite.
    Bool(bool),
    /// JSON: `jsonb` in PostgreSQL, TEXT in SQLite.
    Json(serde_json::Value),
}

/// A statement being built: text and arguments, numbered as they are added. Run it with
/// [`Pool`](super::Pool) or [`Tx`](super::Tx) (`execute`, `fetch_all`, `fetch_optional`,
/// `fetch_one`).
///
/// Only ever [`Sql::push`] fixed fragments written in the source, and bind every value.
#[derive(Debug)]
pub struct Sql {
    backend: Backend,
    text: String,
    args: Vec<Arg>,
}

impl Sql {
    /// A statement for `backend` starting with `text`.
    pub fn new(backend: Backend, text: &str) -> Self {
        Self { backend, text: text.to_owned(), args: Vec::new() }
    }

    /// The backend it is written for.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Appends SQL text. Only ever fixed text written in the source: values go through
    /// [`Sql::bind`].
    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder for `arg`.
    pub fn bind(&mut self, arg: Arg) -> &mut Self {
        self.args.push(arg);
        self.text.push('$');
        self.text.push_str(&self.args.len().to_string());
        self
    }

    /// Appends `(p1, p2, …)` for the arguments.
    pub fn bind_list(&mut self, args: impl IntoIterator<Item = Arg>) -> &mut Self {
        self.push("(");
        for (i, arg) in args.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.bind(arg);
        }
        self.push(")")
    }

    /// The statement text so far.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The text and the arguments, to bind with [`postgres`] or [`sqlite`].
    pub fn into_parts(self) -> (String, Vec<Arg>) {
        (self.text, self.args)
    }
}

/// A PostgreSQL query with `args` bound.
pub fn postgres(text: &str, args: impl IntoIterator<Item = Arg>) -> Query<'_, Postgres, PgArguments> {
    args.into_iter().fold(sqlx::query(text), |q, arg| match arg {
        Arg::Text(v) => q.bind(v),
        Arg::OptText(v) => q.bind(v),
        Arg::Int(v) => q.bind(v),
        Arg::OptInt(v) => q.bind(v),
        Arg::Bool(v) => q.bind(v),
        Arg::Uuid(v) => q.bind(v),
        Arg::OptUuid(v) => q.bind(v),
        Arg::Time(v) => q.bind(v),
        Arg::OptTime(v) => q.bind(v),
        Arg::Bytes(v) => q.bind(v),
        Arg::Json(v) => q.bind(sqlx::types::Json(v)),
    })
}

/// A SQLite query with `args` bound.
pub fn sqlite(text: &str, args: impl IntoIterator<Item = Arg>) -> Query<'_, Sqlite, SqliteArguments<'_>> {
    args.into_iter().fold(sqlx::query(text), |q, arg| match arg {
        Arg::Text(v) => q.bind(v),
        Arg::OptText(v) => q.bind(v),
        Arg::Int(v) => q.bind(v),
        Arg::OptInt(v) => q.bind(v),
        Arg::Bool(v) => q.bind(v),
        Arg::Uuid(v) => q.bind(v),
        Arg::OptUuid(v) => q.bind(v),
        Arg::Time(v) => q.bind(micros(v)),
        Arg::OptTime(v) => q.bind(v.map(micros)),
        Arg::Bytes(v) => q.bind(v),
        Arg::Json(v) => q.bind(v.to_string()),
    })
}

/// An instant as SQLite stores it: microseconds since the Unix epoch.
pub fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

/// The instant SQLite stored as microseconds.
pub fn from_micros(micros: i64) -> Result<DateTime<Utc>, InvalidInstant> {
    DateTime::from_timestamp_micros(micros).ok_or(InvalidInstant(micros))
}

/// A stored microsecond count that is no representable instant (a corrupt row).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{0} µs is not a representable instant")]
pub struct InvalidInstant(pub i64);
