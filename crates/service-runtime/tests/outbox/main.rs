//! Integration tests of `service_runtime::outbox`: its table on both backends (a fresh
//! PostgreSQL database per test on `DATABASE_URL`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`, and a fresh SQLite file), and the relay
//! against the real broker (`KAFKA_BOOTSTRAP_SERVERS`, default `127.0.0.1:9092`, or a broker
//! process of the test's own where it is stopped and restarted). Every test has its own topic.

// The database tests' helpers (a fresh database per test), shared; not all are used here.
#[allow(dead_code)]
#[path = "../database/helpers.rs"]
mod helpers;

mod isolation;
mod relay;
mod store;
mod support;
