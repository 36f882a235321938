//! The recurring-task service end to end, against the real broker, PostgreSQL and task-api
//! (in-process, on a fresh database): completions made through task-api become successors
//! exactly once, on the right schedule, through redeliveries, replays, a killed consumer and
//! a task-api outage; malformed events are dead-lettered.
//!
//! The broker's address comes from `KAFKA_BOOTSTRAP_SERVERS` (default `127.0.0.1:9092`),
//! PostgreSQL's from `DATABASE_URL`; `make test` provides both. Every test has its own topics,
//! consumer group and database.

mod crash;
mod delivery;
mod helpers;
mod offsets;
mod outage;
mod proxy;
mod schedules;
mod successors;
