//! Layered settings: built-in defaults → `config/base.yaml` → `config/{APP_ENVIRONMENT}.yaml`
//! → environment variables `APP__SECTION__KEY` (double underscores nest).
//!
//! The directory is `APP_CONFIG_DIR` (default `config`, relative to the working directory);
//! `APP_ENVIRONMENT` defaults to `local`. Missing files are skipped, so a container can be
//! configured by environment alone. librdkafka settings keep librdkafka's names and units.

use std::collections::BTreeMap;
use std::path::PathBuf;

use config::{Config, Environment, File};
use secrecy::SecretString;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::Error;
use event_schema::topics;

/// Loads `T` from the layers above; `defaults` (dotted keys, e.g. `consumer.group_id`) are the
/// service's built-in defaults, beneath everything else.
///
/// Environment values are strings that `config` converts when a field asks for a number or a
/// boolean; `#[serde(flatten)]` would bypass that conversion, so a service loads
/// [`BaseSettings`] and its own sections as separate calls rather than flattening one into
/// the other.
pub fn load<T: DeserializeOwned>(defaults: &[(&str, &str)]) -> Result<T, Error> {
    let dir = PathBuf::from(std::env::var("APP_CONFIG_DIR").unwrap_or_else(|_| "config".into()));
    let environment = std::env::var("APP_ENVIRONMENT").unwrap_or_else(|_| "local".into());
    load_from(defaults, &dir, &environment, None)
}

/// [`load`] with explicit inputs; `variables` replaces the process environment (tests).
pub fn load_from<T: DeserializeOwned>(
    defaults: &[(&str, &str)],
    dir: &std::path::Path,
    environment: &str,
    variables: Option<std::collections::HashMap<String, String>>,
) -> Result<T, Error> {
    let mut builder = Config::builder();
    // Every key of a nested table needs its default at this layer: serde's defaults apply
    // only to a table missing as a whole, so one variable such as
    // `APP__TOPICS__TASK_EVENTS__NAME` would otherwise leave that topic's other keys missing.
    for spec in &topics::EVENT_TOPICS {
        let section = format!("topics.{}", spec.name.replace('-', "_"));
        builder = builder
            .set_default(format!("{section}.name"), spec.name)?
            .set_default(format!("{section}.partitions"), i64::from(spec.partitions))?
            .set_default(format!("{section}.retention_ms"), spec.retention_ms)?;
    }
    for (key, value) in defaults {
        builder = builder.set_default(*key, *value)?;
    }
    builder
        .add_source(File::from(dir.join("base.yaml")).required(false))
        .add_source(File::from(dir.join(format!("{environment}.yaml"))).required(false))
        // Values stay strings until a typed field asks for a number or a boolean, so a password
        // such as `00123` is never turned into `123`.
        .add_source(Environment::with_prefix("APP").prefix_separator("__").separator("__").source(variables))
        .build()
        .and_then(Config::try_deserialize)
        .map_err(Error::Settings)
}

/// Settings every service shares (top-level sections `http`, `kafka`, `producer`, `consumer`,
/// `topics`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct BaseSettings {
    /// The HTTP listener (API and/or `/healthz`, `/readyz`, `/metrics`).
    pub http: HttpSettings,
    /// How to reach the brokers.
    pub kafka: KafkaSettings,
    /// Producer tuning.
    pub producer: ProducerSettings,
    /// Consumer tuning (ignored by services that do not consume).
    pub consumer: ConsumerSettings,
    /// Topic names, partitions, retention.
    pub topics: TopicSettings,
}

/// The HTTP listener.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct HttpSettings {
    /// Address to bind.
    pub host: String,
    /// Port to bind; 0 picks a free one (tests).
    pub port: u16,
    /// A client must send a request's headers within this time, or the connection is closed.
    /// It also bounds a connection that sends nothing and an idle keep-alive connection.
    pub header_read_timeout_ms: u64,
    /// From a request's headers to its response's head (reading the body included): past it
    /// the client gets 408. Streams (server-sent events) are bounded by their own lifetime.
    pub request_timeout_ms: u64,
    /// After SIGTERM, how long open connections may finish their requests before they are
    /// closed. Keep it below the consumers' `consumer.shutdown_grace_ms` and Kubernetes'
    /// `terminationGracePeriodSeconds`.
    pub shutdown_grace_ms: u64,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            host: "0.0.0.0".into(),
            port: 8080,
            header_read_timeout_ms: 10_000,
            request_timeout_ms: 30_000,
            shutdown_grace_ms: 10_000,
        }
    }
}

/// `security.protocol`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SecurityProtocol {
    /// No TLS, no authentication (local development only).
    #[default]
    Plaintext,
    /// SASL authentication without TLS.
    SaslPlaintext,
    /// SASL authentication over TLS (production).
    SaslSsl,
}

impl SecurityProtocol {
    /// librdkafka's name.
    pub fn as_str(self) -> &'static str {
        match self {
            SecurityProtocol::Plaintext => "plaintext",
            SecurityProtocol::SaslPlaintext => "sasl_plaintext",
            SecurityProtocol::SaslSsl => "sasl_ssl",
        }
    }

    /// Whether SASL credentials are needed.
    pub fn uses_sasl(self) -> bool {
        !matches!(self, SecurityProtocol::Plaintext)
    }
}

/// `sasl.mechanism`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub enum SaslMechanism {
    /// SCRAM with SHA-256.
    #[serde(rename = "SCRAM-SHA-256")]
    ScramSha256,
    /// SCRAM with SHA-512 (Strimzi's `scram-sha-512` users).
    #[default]
    #[serde(rename = "SCRAM-SHA-512")]
    ScramSha512,
}

impl SaslMechanism {
    /// librdkafka's name.
    pub fn as_str(self) -> &'static str {
        match self {
            SaslMechanism::ScramSha256 => "SCRAM-SHA-256",
            SaslMechanism::ScramSha512 => "SCRAM-SHA-512",
        }
    }
}

/// How to reach and authenticate to the brokers.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct KafkaSettings {
    /// `bootstrap.servers`, comma-separated `host:port`.
    pub bootstrap_servers: String,
    /// `client.id`; the service name when empty.
    pub client_id: String,
    /// `security.protocol`.
    pub security_protocol: SecurityProtocol,
    /// `sasl.mechanism` (with a SASL protocol).
    pub sasl_mechanism: SaslMechanism,
    /// `sasl.username`.
    pub username: Option<String>,
    /// `sasl.password`; never printed by `Debug`.
    pub password: Option<SecretString>,
    /// `ssl.ca.location`: PEM file of the CA that signed the brokers' certificates.
    pub ca_file: Option<PathBuf>,
    /// Extra librdkafka properties by their own names, applied last (for tuning not modelled here).
    pub librdkafka: BTreeMap<String, String>,
}

impl Default for KafkaSettings {
    fn default() -> Self {
        Self {
            // 127.0.0.1, not localhost: the local broker advertises the IPv4 address.
            bootstrap_servers: "127.0.0.1:9092".into(),
            client_id: String::new(),
            security_protocol: SecurityProtocol::Plaintext,
            sasl_mechanism: SaslMechanism::ScramSha512,
            username: None,
            password: None,
            ca_file: None,
            librdkafka: BTreeMap::new(),
        }
    }
}

/// Producer tuning.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct ProducerSettings {
    /// `compression.type`: lz4 is cheap on CPU and shrinks JSON well.
    pub compression_type: String,
    /// `linger.ms`: a few ms of batching costs little latency and saves many requests.
    pub linger_ms: u32,
    /// `message.timeout.ms`: how long a send may take, retries included, before it fails.
    pub message_timeout_ms: u32,
}

impl Default for ProducerSettings {
    fn default() -> Self {
        Self { compression_type: "lz4".into(), linger_ms: 5, message_timeout_ms: 30_000 }
    }
}

/// Consumer tuning.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct ConsumerSettings {
    /// `group.id`; each service has its own default.
    pub group_id: String,
    /// Dead-letter topic; `<group_id>.dlq` when empty.
    pub dead_letter_topic: String,
    /// At most this many handler calls run at once (each partition handles its messages in order).
    pub max_concurrency: usize,
    /// Most messages of one partition handed to [`crate::consumer::Handler::handle_batch`] at
    /// once. A batch is whatever is already waiting, so at low load batches are single
    /// messages and latency does not grow. 1 (the default) hands over one message at a time.
    pub max_batch: usize,
    /// A partition is paused when this many bytes of its messages wait to be handled, and
    /// resumed when half have been. Keep it several times `max.partition.fetch.bytes` (1 MiB):
    /// one fetch response must not trip it, or every batch is paused, dropped and re-fetched.
    pub partition_buffer_bytes: usize,
    /// First delay before retrying a transient failure.
    pub retry_initial_ms: u64,
    /// Longest delay between retries.
    pub retry_max_ms: u64,
    /// Time allowed, after SIGTERM, to finish in-flight messages and commit. Keep it below
    /// Kubernetes' `terminationGracePeriodSeconds` (30 s by default).
    pub shutdown_grace_ms: u64,
    /// `session.timeout.ms`: how fast a dead member is noticed.
    pub session_timeout_ms: u32,
    /// `heartbeat.interval.ms`: about a third of the session timeout, or less.
    pub heartbeat_interval_ms: u32,
    /// `max.poll.interval.ms`: the runtime polls continuously (slow handlers pause their
    /// partition instead of blocking the poll loop), so this only catches a wedged process.
    pub max_poll_interval_ms: u32,
    /// `auto.commit.interval.ms`: how often stored offsets are committed.
    pub auto_commit_interval_ms: u32,
    /// `fetch.wait.max.ms`: how long the broker may hold a fetch that found no new records.
    /// Apache Kafka answers a waiting fetch as soon as records arrive, so the wait costs no
    /// latency there and librdkafka's 500 ms keeps idle consumers cheap. The local broker
    /// (nisshi) does not: it re-reads the partitions with halving sleeps (after 1/2, 3/4, …
    /// of the wait), so a record produced to an idle topic is delivered up to half this long
    /// later; `config/local.yaml` lowers it (see docs/local-broker.md).
    pub fetch_wait_max_ms: u32,
    /// `statistics.interval.ms`: how often consumer lag is refreshed in `/metrics`.
    pub statistics_interval_ms: u32,
    /// `auto.offset.reset` for a group without committed offsets.
    pub auto_offset_reset: String,
    /// How often each assigned partition whose records are all handled is checked against the
    /// partition's end, and reported to [`crate::consumer::Handler::caught_up`]; 0 (the
    /// default) never checks. Each check asks the broker for the partition's end (one
    /// ListOffsets request per idle partition).
    pub caught_up_interval_ms: u64,
}

impl Default for ConsumerSettings {
    fn default() -> Self {
        Self {
            group_id: String::new(),
            dead_letter_topic: String::new(),
            max_concurrency: 16,
            max_batch: 1,
            partition_buffer_bytes: 8 * 1024 * 1024,
            retry_initial_ms: 200,
            retry_max_ms: 30_000,
            shutdown_grace_ms: 20_000,
            session_timeout_ms: 45_000,
            heartbeat_interval_ms: 3_000,
            max_poll_interval_ms: 300_000,
            auto_commit_interval_ms: 1_000,
            fetch_wait_max_ms: 500,
            statistics_interval_ms: 5_000,
            auto_offset_reset: "earliest".into(),
            caught_up_interval_ms: 0,
        }
    }
}

impl ConsumerSettings {
    /// The dead-letter topic of this group.
    pub fn dead_letter_topic(&self) -> String {
        if self.dead_letter_topic.is_empty() {
            topics::dead_letter_topic(&self.group_id)
        } else {
            self.dead_letter_topic.clone()
        }
    }
}

/// One topic's name, partitions and retention.
#[derive(Debug, Clone, Deserialize)]
pub struct TopicConfig {
    /// Topic name.
    pub name: String,
    /// Partitions when the service creates it.
    pub partitions: i32,
    /// `retention.ms` when the service creates it.
    pub retention_ms: i64,
}

impl From<&topics::TopicSpec> for TopicConfig {
    fn from(spec: &topics::TopicSpec) -> Self {
        Self { name: spec.name.into(), partitions: spec.partitions, retention_ms: spec.retention_ms }
    }
}

/// The topics a service uses and whether it creates missing ones at start-up.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct TopicSettings {
    /// `task-events`.
    pub task_events: TopicConfig,
    /// `reminders`.
    pub reminders: TopicConfig,
    /// Partitions of the service's dead-letter topic.
    pub dead_letter_partitions: i32,
    /// Retention of the service's dead-letter topic.
    pub dead_letter_retention_ms: i64,
    /// Replication factor of created topics (1 for a single local broker; 3 in production).
    pub replication_factor: i32,
    /// Create missing topics at start-up. Off where topics are managed elsewhere (Strimzi).
    pub create_missing: bool,
}

impl Default for TopicSettings {
    fn default() -> Self {
        let [task_events, reminders] = &topics::EVENT_TOPICS;
        Self {
            task_events: task_events.into(),
            reminders: reminders.into(),
            dead_letter_partitions: topics::DEAD_LETTER_PARTITIONS,
            dead_letter_retention_ms: topics::DEAD_LETTER_RETENTION_MS,
            replication_factor: 1,
            create_missing: true,
        }
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn debug_output_never_contains_the_kafka_password() {
        let kafka = KafkaSettings { password: Some(SecretString::from("hunter2")), ..Default::default() };
        let printed = format!("{kafka:?}");
        assert!(!printed.contains("hunter2"), "{printed}");
        assert_eq!(kafka.password.as_ref().map(|p| p.expose_secret().to_owned()), Some("hunter2".into()));
    }

    #[test]
    fn layers_apply_in_order_defaults_files_environment() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("base.yaml"), "http:\n  port: 9000\nconsumer:\n  group_id: from-base\n")
            .expect("base");
        std::fs::write(dir.path().join("staging.yaml"), "http:\n  port: 9001\n").expect("env file");
        let variables = [
            ("APP__KAFKA__BOOTSTRAP_SERVERS", "kafka-0:9093"),
            ("APP__KAFKA__PASSWORD", "00123"),
            ("APP__CONSUMER__MAX_CONCURRENCY", "3"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let s: BaseSettings = load_from(
            &[("consumer.group_id", "built-in"), ("http.host", "127.0.0.9")],
            dir.path(),
            "staging",
            Some(variables),
        )
        .expect("loads");
        assert_eq!(s.http.host, "127.0.0.9", "built-in default");
        assert_eq!(s.consumer.group_id, "from-base", "base.yaml over defaults");
        assert_eq!(s.http.port, 9001, "<environment>.yaml over base.yaml");
        assert_eq!(s.kafka.bootstrap_servers, "kafka-0:9093", "variables over files");
        assert_eq!(s.consumer.max_concurrency, 3, "numbers parse from variables");
        assert_eq!(s.kafka.password.as_ref().map(|p| p.expose_secret().to_owned()).as_deref(), Some("00123"));
        assert_eq!(s.consumer.session_timeout_ms, 45_000, "unset keys keep their defaults");
    }

    #[test]
    fn one_variable_overrides_one_key_of_a_topic_and_the_others_keep_their_defaults() {
        let dir = tempfile::tempdir().expect("tempdir");
        let variables =
            [("APP__TOPICS__TASK_EVENTS__NAME", "x")].into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect();

        let s: BaseSettings = load_from(&[], dir.path(), "local", Some(variables)).expect("loads");

        assert_eq!(s.topics.task_events.name, "x");
        assert_eq!(s.topics.task_events.partitions, 6);
        assert_eq!(s.topics.task_events.retention_ms, topics::EVENT_TOPICS[0].retention_ms);
        assert_eq!((s.topics.reminders.name.as_str(), s.topics.reminders.partitions), ("reminders", 3));
    }

    #[test]
    fn the_fetch_wait_defaults_to_librdkafkas_500_ms_and_a_config_file_lowers_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(ConsumerSettings::default().fetch_wait_max_ms, 500);
        std::fs::write(dir.path().join("local.yaml"), "consumer:\n  fetch_wait_max_ms: 50\n").expect("file");

        let s: BaseSettings = load_from(&[], dir.path(), "local", Some(Default::default())).expect("loads");

        assert_eq!(s.consumer.fetch_wait_max_ms, 50);
    }

    #[test]
    fn dead_letter_topic_defaults_to_the_group_name() {
        let consumer = ConsumerSettings { group_id: "audit".into(), ..Default::default() };
        assert_eq!(consumer.dead_letter_topic(), "audit.dlq");
    }

    #[test]
    fn security_names_parse_as_operators_write_them() {
        let kafka: KafkaSettings = serde_json::from_value(serde_json::json!({
            "security_protocol": "SASL_SSL", "sasl_mechanism": "SCRAM-SHA-256"
        }))
        .expect("parses");
        assert_eq!(kafka.security_protocol, SecurityProtocol::SaslSsl);
        assert_eq!(kafka.sasl_mechanism.as_str(), "SCRAM-SHA-256");
    }

    #[test]
    fn topic_defaults_come_from_the_catalogue() {
        let t = TopicSettings::default();
        assert_eq!((t.task_events.name.as_str(), t.task_events.partitions), ("task-events", 6));
        assert_eq!((t.reminders.name.as_str(), t.reminders.partitions), ("reminders", 3));
        assert_eq!(t.dead_letter_retention_ms, 30 * 24 * 3600 * 1000);
    }
}
