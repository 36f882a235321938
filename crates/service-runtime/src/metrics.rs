//! The process-wide Prometheus recorder and the names of the runtime's metrics.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Always 1; labels `service` and `version` say what runs.
pub const BUILD_INFO: &str = "taskstream_build_info";
/// Messages whose handler succeeded. Labels: `group`, `topic`, `event_type`.
///
/// `event_type` is a type of the contract's catalogue ([`event_schema::EventType`]) or
/// `unknown`: never the wire value of a type the contract does not know, which any producer
/// could vary without bound.
pub const MESSAGES_HANDLED: &str = "taskstream_consumer_messages_handled_total";
/// Handler failures, each attempt. Labels: `group`, `topic`, `event_type`, `kind`
/// (`transient` | `permanent`).
pub const MESSAGES_FAILED: &str = "taskstream_consumer_messages_failed_total";
/// Messages published to the dead-letter topic. Labels: `group`, `topic`, `event_type`.
pub const MESSAGES_DEAD_LETTERED: &str = "taskstream_consumer_messages_dead_lettered_total";
/// Handler latency in seconds. Labels: `group`, `event_type`.
pub const HANDLER_DURATION: &str = "taskstream_consumer_handler_duration_seconds";
/// Duration of [`crate::consumer::Handler::handle_batch`] calls in seconds. Label: `group`.
pub const BATCH_DURATION: &str = "taskstream_consumer_batch_duration_seconds";
/// Messages per successful batch. Label: `group`.
pub const BATCH_SIZE: &str = "taskstream_consumer_batch_size";
/// Messages behind the partition's high watermark. Labels: `group`, `topic`, `partition`.
pub const CONSUMER_LAG: &str = "taskstream_consumer_lag";
/// Partitions currently paused because their handler is behind. Label: `group`.
pub const PAUSED_PARTITIONS: &str = "taskstream_consumer_paused_partitions";
/// Restarts of a supervised background job ([`crate::jobs`]). Labels: `job`, `reason`
/// (`error` | `returned` | `panic`).
pub const JOB_RESTARTS: &str = "taskstream_job_restarts_total";
/// Records produced. Labels: `topic`, `outcome` (`ok` | `error`).
pub const RECORDS_PRODUCED: &str = "taskstream_producer_records_total";

/// Installs the recorder once per process and returns its handle (for `/metrics`).
pub fn recorder() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Suffix("_seconds".into()),
                    &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0],
                )
                .expect("bucket list is not empty")
                .set_buckets_for_metric(
                    Matcher::Full(BATCH_SIZE.into()),
                    &[1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0],
                )
                .expect("bucket list is not empty");
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            // Another recorder may already be installed (a test harness); ours still renders
            // whatever is recorded through it.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}
