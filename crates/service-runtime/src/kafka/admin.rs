//! Creating the topics a service needs at start-up (brokers here do not auto-create them).

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;

use crate::Error;
use crate::health::Health;
use crate::kafka::client::{AUTH_CONDITION, RuntimeContext, client_config};
use crate::settings::{KafkaSettings, TopicConfig, TopicSettings};
use rdkafka::producer::{BaseProducer, Producer as _};
use rdkafka::util::Timeout;

/// A topic to create if it is missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicPlan {
    /// Name.
    pub name: String,
    /// Partitions.
    pub partitions: i32,
    /// Replication factor.
    pub replication_factor: i32,
    /// `retention.ms`.
    pub retention_ms: i64,
}

impl TopicPlan {
    fn from_config(topic: &TopicConfig, replication_factor: i32) -> Self {
        Self {
            name: topic.name.clone(),
            partitions: topic.partitions,
            replication_factor,
            retention_ms: topic.retention_ms,
        }
    }
}

/// The event topics plus, for a consumer, its dead-letter topic.
pub fn service_topics(topics: &TopicSettings, dead_letter_topic: Option<&str>) -> Vec<TopicPlan> {
    let mut plans = vec![
        TopicPlan::from_config(&topics.task_events, topics.replication_factor),
        TopicPlan::from_config(&topics.reminders, topics.replication_factor),
    ];
    if let Some(name) = dead_letter_topic {
        plans.push(TopicPlan {
            name: name.to_owned(),
            partitions: topics.dead_letter_partitions,
            replication_factor: topics.replication_factor,
            retention_ms: topics.dead_letter_retention_ms,
        });
    }
    plans
}

/// Creates each planned topic that does not exist yet; existing topics are left as they are
/// (a partition count that differs is logged, never changed: that would move keys).
#[tracing::instrument(skip_all, fields(topics = plans.len()), err)]
pub async fn ensure_topics(kafka: &KafkaSettings, plans: &[TopicPlan], timeout: Duration) -> Result<(), Error> {
    check_access(kafka, timeout).await?;
    let admin: AdminClient<RuntimeContext> = client_config(kafka, "taskstream-admin")?
        .create_with_context(RuntimeContext::new(Health::new(), None))
        .map_err(Error::kafka("creating the Kafka admin client"))?;
    let retention: Vec<String> = plans.iter().map(|p| p.retention_ms.to_string()).collect();
    let new_topics: Vec<NewTopic<'_>> = plans
        .iter()
        .zip(&retention)
        .map(|(plan, retention)| {
            NewTopic::new(&plan.name, plan.partitions, TopicReplication::Fixed(plan.replication_factor))
                .set("retention.ms", retention)
        })
        .collect();
    let options = AdminOptions::new().request_timeout(Some(timeout)).operation_timeout(Some(timeout));
    let results = admin.create_topics(&new_topics, &options).await.map_err(Error::kafka("creating topics"))?;
    for result in results {
        match result {
            Ok(name) => tracing::info!(topic = %name, "topic created"),
            Err((name, RDKafkaErrorCode::TopicAlreadyExists)) => tracing::debug!(topic = %name, "topic exists"),
            Err((name, code)) => {
                return Err(Error::Kafka {
                    context: format!("creating topic {name}"),
                    source: KafkaError::AdminOp(code),
                });
            }
        }
    }
    Ok(())
}

/// Asks the brokers for metadata and, when that fails, says why: a refused login becomes
/// [`Error::Authentication`] with librdkafka's reason instead of a bare timeout.
#[tracing::instrument(skip_all, err)]
pub async fn check_access(kafka: &KafkaSettings, timeout: Duration) -> Result<(), Error> {
    let health = Health::new();
    // A plain producer handle: unlike the admin client, polling it serves librdkafka's error
    // events, which carry the authentication failure.
    let client: BaseProducer<RuntimeContext> = client_config(kafka, "taskstream-admin")?
        .create_with_context(RuntimeContext::new(health.clone(), None))
        .map_err(Error::kafka("creating a Kafka client"))?;
    let bootstrap = kafka.bootstrap_servers.clone();
    tokio::task::spawn_blocking(move || {
        let Err(source) = client.client().fetch_metadata(None, Timeout::After(timeout)) else {
            return Ok(());
        };
        client.poll(Duration::from_millis(200));
        Err(match health.conditions().remove(AUTH_CONDITION) {
            Some(reason) => Error::Authentication { context: "connecting to Kafka".into(), reason },
            None => Error::Kafka { context: format!("connecting to Kafka at {bootstrap}"), source },
        })
    })
    .await
    .unwrap_or_else(|join| Err(Error::InvalidSettings(format!("access check panicked: {join}"))))
}
