//! The idempotent producer every service uses (events, dead letters).

use std::time::Duration;

use futures::future::BoxFuture;
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer as _};
use rdkafka::util::Timeout;

use crate::Error;
use crate::health::{Health, Probe};
use crate::kafka::client::{AUTH_CONDITION, RuntimeContext, client_config};
use crate::metrics::RECORDS_PRODUCED;
use crate::settings::{KafkaSettings, ProducerSettings};

/// Where a record landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivery {
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
}

/// A record to produce.
#[derive(Debug, Clone)]
pub struct OutboundRecord<'a> {
    /// Topic.
    pub topic: &'a str,
    /// Key (decides the partition, and so the order).
    pub key: Option<&'a [u8]>,
    /// Value.
    pub payload: &'a [u8],
    /// Headers (a `None` value is a null header).
    pub headers: Vec<(&'a str, Option<&'a [u8]>)>,
}

/// An idempotent producer (`enable.idempotence`, `acks=all`): a retried send never writes a
/// duplicate, and records of one partition keep their order. Cheap to clone.
#[derive(Clone)]
pub struct Producer {
    inner: FutureProducer<RuntimeContext>,
    timeout: Duration,
    health: Health,
}

impl std::fmt::Debug for Producer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Producer").field("timeout", &self.timeout).finish_non_exhaustive()
    }
}

impl Producer {
    /// Creates the producer. Connecting happens in the background; sends wait for it.
    pub fn new(
        kafka: &KafkaSettings,
        settings: &ProducerSettings,
        client_id: &str,
        health: Health,
    ) -> Result<Self, Error> {
        let mut config = client_config(kafka, client_id)?;
        config
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("compression.type", &settings.compression_type)
            .set("linger.ms", settings.linger_ms.to_string())
            .set("message.timeout.ms", settings.message_timeout_ms.to_string());
        let inner = config
            .create_with_context(RuntimeContext::new(health.clone(), None))
            .map_err(Error::kafka("creating the Kafka producer"))?;
        Ok(Self { inner, timeout: Duration::from_millis(u64::from(settings.message_timeout_ms)), health })
    }

    /// Sends a record and waits, without blocking a thread, until the broker acknowledged it
    /// (`acks=all`) or `message.timeout.ms` passed. A full local queue is waited out, not failed.
    pub async fn send(&self, record: OutboundRecord<'_>) -> Result<Delivery, KafkaError> {
        let mut headers = OwnedHeaders::new_with_capacity(record.headers.len());
        for (key, value) in &record.headers {
            headers = headers.insert(Header { key, value: *value });
        }
        let mut future = FutureRecord::to(record.topic).payload(record.payload).headers(headers);
        if let Some(key) = record.key {
            future = future.key(key);
        }
        let result = self.inner.send(future, Timeout::After(self.timeout)).await;
        let outcome = if result.is_ok() { "ok" } else { "error" };
        metrics::counter!(RECORDS_PRODUCED, "topic" => record.topic.to_owned(), "outcome" => outcome).increment(1);
        result
            .map(|delivery| Delivery { partition: delivery.partition, offset: delivery.offset })
            .map_err(|(error, _)| error)
    }

    /// Waits up to `timeout` for outstanding records (call before exit).
    pub async fn flush(&self, timeout: Duration) -> Result<(), KafkaError> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || inner.flush(Timeout::After(timeout)))
            .await
            .unwrap_or(Err(KafkaError::Canceled))
    }

    /// Asks a broker for cluster metadata: succeeds only if one is reachable and accepts us.
    pub async fn ping(&self, timeout: Duration) -> Result<(), KafkaError> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || inner.client().fetch_metadata(None, Timeout::After(timeout)).map(|_| ()))
            .await
            .unwrap_or(Err(KafkaError::Canceled))
    }
}

impl Producer {
    /// The topics among `names` that the brokers do not know.
    pub async fn missing_topics(&self, names: &[String], timeout: Duration) -> Result<Vec<String>, KafkaError> {
        let inner = self.inner.clone();
        let names = names.to_vec();
        tokio::task::spawn_blocking(move || {
            let metadata = inner.client().fetch_metadata(None, Timeout::After(timeout))?;
            let known: std::collections::HashSet<&str> =
                metadata.topics().iter().filter(|t| t.error().is_none()).map(|t| t.name()).collect();
            Ok(names.into_iter().filter(|n| !known.contains(n.as_str())).collect())
        })
        .await
        .unwrap_or(Err(KafkaError::Canceled))
    }
}

/// The broker probe behind `/readyz`. A successful round trip also clears an authentication
/// failure seen earlier (a broker that restarted before its users were loaded, say).
impl Probe for Producer {
    fn check(&self) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            self.ping(Duration::from_secs(2)).await.map_err(|e| e.to_string())?;
            self.health.clear(AUTH_CONDITION);
            Ok(())
        })
    }
}
