//! task-api end to end: the service on port 0 against a fresh PostgreSQL database, fresh topics
//! and the real broker (`KAFKA_BOOTSTRAP_SERVERS`, `DATABASE_URL`).

mod crud;
mod disconnects;
mod events_stream;
mod helpers;
mod limits;
mod on_behalf;
mod outbox;
mod series;
mod sqlite_writes;
