//! The audit store on both backends: PostgreSQL (`DATABASE_URL`, a fresh database per test)
//! and SQLite (a file in a temporary directory).

mod append;
mod helpers;
mod retention;
