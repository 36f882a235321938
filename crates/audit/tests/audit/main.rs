//! The audit service end to end, against the real broker and PostgreSQL: events made through
//! task-api (or produced directly) are recorded once, verified, queried, dead-lettered.
//!
//! The broker's address comes from `KAFKA_BOOTSTRAP_SERVERS` (default `127.0.0.1:9092`),
//! PostgreSQL's from `DATABASE_URL`; `make test` provides both. Every test has its own
//! topics, consumer group and database.

mod chain;
mod dlq_replay;
mod helpers;
mod queries;
mod recording;
