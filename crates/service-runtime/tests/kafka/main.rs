//! Integration tests of the shared runtime against a real Kafka-protocol broker.
//!
//! The broker's address comes from `KAFKA_BOOTSTRAP_SERVERS` (default `127.0.0.1:9092`);
//! `make test` starts the local broker first. Every test uses its own topics and groups.

mod batches;
mod broker_differences;
mod caught_up;
mod consume;
mod dlq;
mod helpers;
mod jobs;
mod labels;
mod security;
mod service;
mod topics;
