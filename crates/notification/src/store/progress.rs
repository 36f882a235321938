//! How far the consumer has handled each partition of `reminders`, as the scheduler needs it
//! to never fire a reminder whose cancellation may still be unconsumed. Written by whichever
//! replica owns the partition: after each handled batch (in the batch's transaction) and on
//! each caught-up report of the consumer runtime. Both only move forward.

use chrono::{DateTime, Utc};
use service_runtime::database::{Arg, Backend, Tx};

use super::{Store, sql};

/// The later of two instants, in SQL.
fn later(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => "GREATEST",
        Backend::Sqlite => "MAX",
    }
}

/// Records, in the batch's transaction, that the records of `partition` below `next_offset`
/// are handled, the last of them stamped `last_record_at` by the broker.
pub(crate) async fn record_handled(
    tx: &mut Tx,
    topic: &str,
    partition: i32,
    next_offset: i64,
    last_record_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let backend = tx.backend();
    let later = later(backend);
    let text = format!(
        "INSERT INTO consumer_progress (topic, source_partition, next_offset, last_record_at, caught_up_at, updated_at) \
         VALUES (?, ?, ?, ?, NULL, ?) \
         ON CONFLICT (topic, source_partition) DO UPDATE SET \
           next_offset = {later}(consumer_progress.next_offset, excluded.next_offset), \
           last_record_at = CASE WHEN consumer_progress.last_record_at IS NULL THEN excluded.last_record_at \
             WHEN excluded.last_record_at IS NULL THEN consumer_progress.last_record_at \
             ELSE {later}(consumer_progress.last_record_at, excluded.last_record_at) END, \
           updated_at = excluded.updated_at"
    );
    let statement = sql(
        backend,
        &text,
        [
            Arg::Text(topic.into()),
            Arg::Int(i64::from(partition)),
            Arg::Int(next_offset),
            Arg::OptTime(last_record_at),
            Arg::Time(now),
        ],
    );
    tx.execute(statement).await?;
    Ok(())
}

impl Store {
    /// Records that every record `partition` held at `checked_at` is handled (up to
    /// `end_offset`).
    pub(crate) async fn record_caught_up(
        &self,
        topic: &str,
        partition: i32,
        end_offset: i64,
        checked_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        let backend = self.backend();
        let later = later(backend);
        let text = format!(
            "INSERT INTO consumer_progress (topic, source_partition, next_offset, last_record_at, caught_up_at, updated_at) \
             VALUES (?, ?, ?, NULL, ?, ?) \
             ON CONFLICT (topic, source_partition) DO UPDATE SET \
               next_offset = {later}(consumer_progress.next_offset, excluded.next_offset), \
               caught_up_at = CASE WHEN consumer_progress.caught_up_at IS NULL THEN excluded.caught_up_at \
                 ELSE {later}(consumer_progress.caught_up_at, excluded.caught_up_at) END, \
               updated_at = excluded.updated_at"
        );
        let statement = sql(
            backend,
            &text,
            [
                Arg::Text(topic.into()),
                Arg::Int(i64::from(partition)),
                Arg::Int(end_offset),
                Arg::Time(checked_at),
                Arg::Time(now),
            ],
        );
        let mut tx = self.pool.begin().await?;
        tx.execute(statement).await?;
        tx.commit().await
    }
}
