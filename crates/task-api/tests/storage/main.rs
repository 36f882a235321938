//! Storage integration tests. Every test of the shared suite runs twice, against a fresh
//! PostgreSQL database (`DATABASE_URL`, default `postgres://postgres@127.0.0.1:5432/postgres`,
//! used to create and drop `test_<uuid>` databases) and against a fresh SQLite file.

mod helpers;

mod concurrency;
mod connect;
mod filters;
mod idempotency;
mod outbox;
mod pagination;
mod series;
mod sorting;
mod tasks;
mod transactions;
