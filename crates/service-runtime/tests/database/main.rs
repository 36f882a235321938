//! Integration tests of `service_runtime::database` against a real PostgreSQL (`DATABASE_URL`,
//! default `postgres://postgres@127.0.0.1:5432/postgres`) and SQLite.

mod helpers;
mod migrations;
mod nodelay;
mod rows;
mod sessions;
