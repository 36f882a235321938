//! The outbox relay: publishes committed outbox rows to Kafka in commit order per task.
