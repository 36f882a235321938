//! The consumer's client context: partition bookkeeping on rebalance, commit on revoke.

use std::collections::HashMap;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use rdkafka::client::ClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::{KafkaError, KafkaResult};
use rdkafka::statistics::Statistics;
use rdkafka::topic_partition_list::TopicPartitionList;
use rdkafka::types::RDKafkaErrorCode;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::consumer::InboundMessage;
use crate::kafka::RuntimeContext;

/// A topic and partition.
pub(crate) type TopicPartition = (String, i32);

/// The worker that handles one assigned partition.
#[derive(Debug)]
pub(crate) struct Worker {
    pub(crate) tx: mpsc::UnboundedSender<InboundMessage>,
    /// Bytes of messages sent to the worker and not yet handled.
    pub(crate) queued: Arc<AtomicUsize>,
    pub(crate) paused: bool,
    pub(crate) cancel: CancellationToken,
    pub(crate) join: JoinHandle<()>,
}

/// Workers of assigned partitions, and workers of revoked partitions still finishing their
/// in-flight message (a re-assigned partition's new worker waits for its predecessor, so one
/// partition never has two handlers running at once).
#[derive(Debug, Default)]
pub(crate) struct Assignment {
    workers: Mutex<HashMap<TopicPartition, Worker>>,
    retiring: Mutex<HashMap<TopicPartition, JoinHandle<()>>>,
}

impl Assignment {
    pub(crate) fn workers(&self) -> MutexGuard<'_, HashMap<TopicPartition, Worker>> {
        self.workers.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn take_retiring(&self, tp: &TopicPartition) -> Option<JoinHandle<()>> {
        self.retiring.lock().unwrap_or_else(PoisonError::into_inner).remove(tp)
    }

    /// Stops the workers of revoked partitions: each finishes its in-flight message (whose
    /// offset is then not stored: the partition's new owner handles it again) and drops the rest.
    fn revoke(&self, tpl: &TopicPartitionList) {
        let mut workers = self.workers();
        let mut retiring = self.retiring.lock().unwrap_or_else(PoisonError::into_inner);
        for element in tpl.elements() {
            let tp = (element.topic().to_owned(), element.partition());
            if let Some(worker) = workers.remove(&tp) {
                worker.cancel.cancel();
                retiring.insert(tp, worker.join);
            }
        }
        retiring.retain(|_, join| !join.is_finished());
    }

    /// Every worker's join handle, assigned or retiring (for shutdown).
    pub(crate) fn drain(&self) -> Vec<JoinHandle<()>> {
        let mut handles: Vec<JoinHandle<()>> = self.workers().drain().map(|(_, w)| w.join).collect();
        handles.extend(self.retiring.lock().unwrap_or_else(PoisonError::into_inner).drain().map(|(_, j)| j));
        handles
    }
}

/// The consumer's context.
#[derive(Debug)]
pub(crate) struct ConsumerCtx {
    pub(crate) runtime: RuntimeContext,
    pub(crate) assignment: Arc<Assignment>,
}

impl ClientContext for ConsumerCtx {
    fn error(&self, error: KafkaError, reason: &str) {
        self.runtime.on_error(&error, reason);
    }

    fn stats(&self, statistics: Statistics) {
        self.runtime.on_stats(&statistics);
    }
}

fn describe(tpl: &TopicPartitionList) -> String {
    tpl.elements().iter().map(|e| format!("{}/{}", e.topic(), e.partition())).collect::<Vec<_>>().join(",")
}

impl ConsumerContext for ConsumerCtx {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Revoke(tpl) => {
                tracing::info!(partitions = %describe(tpl), "partitions revoked");
                self.assignment.revoke(tpl);
                // Commit what was stored before the partitions move, so the next owner resumes
                // exactly after the last handled message.
                match consumer.commit_consumer_state(CommitMode::Sync) {
                    Ok(()) => {}
                    Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => {}
                    Err(error) => tracing::warn!(error = %error, "commit on revoke failed"),
                }
            }
            Rebalance::Assign(tpl) => tracing::info!(partitions = %describe(tpl), "partitions assigned"),
            Rebalance::Error(error) => tracing::error!(error = %error, "rebalance error"),
        }
    }

    fn commit_callback(&self, result: KafkaResult<()>, offsets: &TopicPartitionList) {
        match result {
            Ok(()) => tracing::debug!(offsets = %describe(offsets), "offsets committed"),
            Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => {}
            Err(error) => tracing::warn!(error = %error, "offset commit failed; will retry"),
        }
    }
}
