//! librdkafka configuration shared by producers, consumers and admin clients, and the
//! client context that turns librdkafka's callbacks into logs, metrics and readiness.

use std::sync::Arc;

use rdkafka::ClientConfig;
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::KafkaError;
use rdkafka::statistics::Statistics;
use rdkafka::types::RDKafkaErrorCode;
use secrecy::ExposeSecret;

use crate::Error;
use crate::health::Health;
use crate::metrics::CONSUMER_LAG;
use crate::settings::KafkaSettings;

/// Readiness condition raised while the brokers refuse our credentials.
pub(crate) const AUTH_CONDITION: &str = "kafka authentication";

/// The connection and security part of every client's configuration.
pub fn client_config(kafka: &KafkaSettings, client_id: &str) -> Result<ClientConfig, Error> {
    let mut config = ClientConfig::new();
    let client_id = if kafka.client_id.is_empty() { client_id } else { &kafka.client_id };
    config
        .set("bootstrap.servers", &kafka.bootstrap_servers)
        .set("client.id", client_id)
        .set("security.protocol", kafka.security_protocol.as_str())
        .set_log_level(RDKafkaLogLevel::Warning);
    if kafka.security_protocol.uses_sasl() {
        let (Some(username), Some(password)) = (&kafka.username, &kafka.password) else {
            return Err(Error::InvalidSettings(format!(
                "kafka.security_protocol {:?} needs kafka.username and kafka.password",
                kafka.security_protocol
            )));
        };
        config
            .set("sasl.mechanism", kafka.sasl_mechanism.as_str())
            .set("sasl.username", username)
            .set("sasl.password", password.expose_secret());
    }
    if let Some(ca) = &kafka.ca_file {
        config.set("ssl.ca.location", ca.to_string_lossy());
    }
    for (key, value) in &kafka.librdkafka {
        config.set(key, value);
    }
    Ok(config)
}

/// Client context of every client the runtime creates: logs librdkafka errors with their
/// reason, raises a readiness condition on authentication failures, and publishes consumer
/// lag from librdkafka's statistics.
#[derive(Clone, Debug)]
pub struct RuntimeContext {
    pub(crate) health: Health,
    pub(crate) group: Option<Arc<str>>,
}

impl RuntimeContext {
    /// A context reporting into `health`; `group` labels consumer lag.
    pub fn new(health: Health, group: Option<&str>) -> Self {
        Self { health, group: group.map(Arc::from) }
    }
}

impl RuntimeContext {
    pub(crate) fn on_error(&self, error: &KafkaError, reason: &str) {
        if error.rdkafka_error_code() == Some(RDKafkaErrorCode::Authentication) {
            tracing::error!(error = %error, reason, "kafka authentication failed: check kafka.username, kafka.password and kafka.sasl_mechanism");
            self.health.raise(AUTH_CONDITION, reason.to_owned());
        } else {
            tracing::error!(error = %error, reason, "kafka client error");
        }
    }

    pub(crate) fn on_stats(&self, statistics: &Statistics) {
        let Some(group) = &self.group else { return };
        for (topic, t) in &statistics.topics {
            for (partition, p) in &t.partitions {
                // Partition -1 is librdkafka's internal "unassigned" bucket; lag -1 is unknown.
                if *partition < 0 || p.consumer_lag < 0 {
                    continue;
                }
                metrics::gauge!(CONSUMER_LAG, "group" => group.to_string(), "topic" => topic.clone(),
                    "partition" => partition.to_string())
                .set(p.consumer_lag as f64);
            }
        }
    }
}

/// Lets a plain `BaseProducer` carry the context (the access check); deliveries are not
/// tracked through it.
impl rdkafka::producer::ProducerContext for RuntimeContext {
    type DeliveryOpaque = ();

    fn delivery(&self, _: &rdkafka::message::DeliveryResult<'_>, _: Self::DeliveryOpaque) {}
}

impl ClientContext for RuntimeContext {
    fn error(&self, error: KafkaError, reason: &str) {
        self.on_error(&error, reason);
    }

    fn stats(&self, statistics: Statistics) {
        self.on_stats(&statistics);
    }
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use super::*;
    use crate::settings::SecurityProtocol;

    #[test]
    fn sasl_without_credentials_is_rejected_with_the_missing_setting_named() {
        let kafka = KafkaSettings { security_protocol: SecurityProtocol::SaslSsl, ..Default::default() };
        let err = client_config(&kafka, "t").expect_err("needs credentials");
        assert!(err.to_string().contains("kafka.username"), "{err}");
    }

    #[test]
    fn sasl_ssl_sets_mechanism_credentials_and_ca() {
        let kafka = KafkaSettings {
            security_protocol: SecurityProtocol::SaslSsl,
            username: Some("audit".into()),
            password: Some(SecretString::from("s3cret")),
            ca_file: Some("/etc/kafka/ca.crt".into()),
            ..Default::default()
        };
        let config = client_config(&kafka, "audit").expect("valid");
        assert_eq!(config.get("security.protocol"), Some("sasl_ssl"));
        assert_eq!(config.get("sasl.mechanism"), Some("SCRAM-SHA-512"));
        assert_eq!(config.get("sasl.username"), Some("audit"));
        assert_eq!(config.get("ssl.ca.location"), Some("/etc/kafka/ca.crt"));
    }

    #[test]
    fn extra_librdkafka_properties_override_defaults() {
        let mut kafka = KafkaSettings::default();
        kafka.librdkafka.insert("client.id".into(), "custom".into());
        let config = client_config(&kafka, "audit").expect("valid");
        assert_eq!(config.get("client.id"), Some("custom"));
    }
}
