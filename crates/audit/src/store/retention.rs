//! Retention: the only deletion there is.

use chrono::{DateTime, Utc};
use service_runtime::database::{Arg, Backend, Sql, Tx};

use super::{AuditStore, micros};

/// What a retention run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetentionOutcome {
    /// Entries deleted.
    pub deleted: u64,
    /// Chains that lost entries.
    pub chains: u64,
}

impl AuditStore {
    /// Deletes every entry recorded before `cutoff`, chain by chain (one transaction each),
    /// and moves each chain's anchor to its last deleted entry so that the rest still
    /// verifies. Recording times never decrease along a chain, so the deleted entries are
    /// always a prefix of it. The run is recorded in `audit_retention_runs`.
    #[tracing::instrument(skip_all, fields(%cutoff), err(level = "debug"))]
    pub async fn delete_recorded_before(&self, cutoff: DateTime<Utc>) -> Result<RetentionOutcome, sqlx::Error> {
        let cutoff = micros(cutoff);
        let mut sql = Sql::new(
            self.backend(),
            "SELECT user_id, MAX(chain_seq) AS last_seq FROM audit_events WHERE recorded_at < ",
        );
        sql.bind(Arg::Time(cutoff)).push(" GROUP BY user_id ORDER BY user_id");
        let chains: Vec<(String, i64)> = self
            .pool
            .fetch_all(sql)
            .await?
            .iter()
            .map(|r| Ok((r.text("user_id")?, r.i64("last_seq")?)))
            .collect::<Result<_, sqlx::Error>>()?;
        let mut outcome = RetentionOutcome::default();
        for (user, last_seq) in chains {
            let mut tx = self.pool.begin().await?;
            let deleted = cut_chain(&mut tx, &user, last_seq).await?;
            tx.commit().await?;
            outcome.deleted += deleted;
            outcome.chains += u64::from(deleted > 0);
        }
        let mut run = Sql::new(self.backend(), "INSERT INTO audit_retention_runs (ran_at, cutoff, deleted) VALUES ");
        run.bind_list([
            Arg::Time(micros(Utc::now())),
            Arg::Time(cutoff),
            Arg::Int(i64::try_from(outcome.deleted).unwrap_or(i64::MAX)),
        ]);
        self.pool.execute(run).await?;
        Ok(outcome)
    }
}

/// Deletes `user`'s entries up to `last_seq` and anchors the chain at that entry.
async fn cut_chain(tx: &mut Tx, user: &str, last_seq: i64) -> Result<u64, sqlx::Error> {
    let backend = tx.backend();
    let mut lock = Sql::new(backend, "SELECT anchor_seq FROM audit_chain_heads WHERE user_id = ");
    lock.bind(Arg::Text(user.to_owned()));
    if backend == Backend::Postgres {
        lock.push(" FOR UPDATE");
    }
    let anchor = tx.fetch_one(lock).await?.i64("anchor_seq")?;
    if anchor >= last_seq {
        return Ok(0); // another replica's run cut this chain first
    }
    let mut hash = Sql::new(backend, "SELECT hash FROM audit_events WHERE user_id = ");
    hash.bind(Arg::Text(user.to_owned())).push(" AND chain_seq = ").bind(Arg::Int(last_seq));
    let hash = tx.fetch_one(hash).await?.text("hash")?;
    let mut delete = Sql::new(backend, "DELETE FROM audit_events WHERE user_id = ");
    delete.bind(Arg::Text(user.to_owned())).push(" AND chain_seq <= ").bind(Arg::Int(last_seq));
    let deleted = tx.execute(delete).await?;
    let mut anchor = Sql::new(backend, "UPDATE audit_chain_heads SET anchor_seq = ");
    anchor.bind(Arg::Int(last_seq)).push(", anchor_hash = ").bind(Arg::Text(hash));
    anchor.push(" WHERE user_id = ").bind(Arg::Text(user.to_owned()));
    tx.execute(anchor).await?;
    Ok(deleted)
}
