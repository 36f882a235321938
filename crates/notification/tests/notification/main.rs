//! Integration tests of the notification service against the real broker and PostgreSQL, with
//! task-api in-process producing the `reminder.*` events.
//!
//! The broker's address comes from `KAFKA_BOOTSTRAP_SERVERS` (default `127.0.0.1:9092`),
//! PostgreSQL's from `DATABASE_URL`; every test uses its own topics, group and databases.

mod cancellation;
mod crash;
mod dead_letters;
mod end_to_end;
mod firing;
mod helpers;
mod hold;
mod inbox;
mod receivers;
mod replay;
mod replicas;
mod retries;
