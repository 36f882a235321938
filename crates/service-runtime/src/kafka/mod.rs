//! Kafka clients: configuration, the idempotent producer, topic creation, the client context.

mod admin;
mod client;
mod producer;

pub use admin::{TopicPlan, check_access, ensure_topics, service_topics};
pub use client::{RuntimeContext, client_config};
pub use producer::{Delivery, OutboundRecord, Producer};
/// librdkafka's error, as returned by [`Producer::send`].
pub use rdkafka::error::KafkaError;
