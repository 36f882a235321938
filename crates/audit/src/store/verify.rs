//! Recomputing chains from the stored rows.

use serde::Serialize;
use service_runtime::database::{Arg, Pool, Sql};

use super::AuditStore;
use super::query::fetch;
use super::rows::{self, ENTRY_COLUMNS, HEAD_COLUMNS, Head};
use crate::chain::{ChainReport, Verifier};

/// Rows read per round trip while verifying.
const PAGE: i64 = 1_000;

/// The outcome of verifying one chain or all of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// Whether every chain verified.
    pub ok: bool,
    /// Chains checked.
    pub chains_checked: u64,
    /// Entries that verified.
    pub entries_checked: u64,
    /// Per chain: the first broken link, if any, and the head hash.
    pub chains: Vec<ChainReport>,
}

impl VerifyReport {
    fn from_chains(chains: Vec<ChainReport>) -> Self {
        Self {
            ok: chains.iter().all(|c| c.broken.is_none()),
            chains_checked: chains.len() as u64,
            entries_checked: chains.iter().map(|c| c.entries_checked).sum(),
            chains,
        }
    }
}

impl AuditStore {
    /// Verifies `user_id`'s chain (an empty report when the user has none).
    #[tracing::instrument(skip_all, fields(user_id), err(level = "debug"))]
    pub async fn verify_user(&self, user_id: &str) -> Result<VerifyReport, sqlx::Error> {
        let mut sql =
            Sql::new(self.backend(), &format!("SELECT {HEAD_COLUMNS} FROM audit_chain_heads WHERE user_id = "));
        sql.bind(Arg::Text(user_id.to_owned()));
        let mut chains = Vec::new();
        for head in heads(&self.pool, sql).await? {
            chains.push(self.verify_chain(&head).await?);
        }
        Ok(VerifyReport::from_chains(chains))
    }

    /// Verifies every chain, in user order.
    #[tracing::instrument(skip_all, err(level = "debug"))]
    pub async fn verify_all(&self) -> Result<VerifyReport, sqlx::Error> {
        let mut chains = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut sql = Sql::new(self.backend(), &format!("SELECT {HEAD_COLUMNS} FROM audit_chain_heads"));
            if let Some(user) = &after {
                sql.push(" WHERE user_id > ").bind(Arg::Text(user.clone()));
            }
            sql.push(" ORDER BY user_id LIMIT ").bind(Arg::Int(PAGE));
            let page = heads(&self.pool, sql).await?;
            let Some(last) = page.last() else { break };
            after = Some(last.user_id.clone());
            for head in &page {
                chains.push(self.verify_chain(head).await?);
            }
        }
        Ok(VerifyReport::from_chains(chains))
    }

    /// Checks the chain's entries from its anchor up to the head read before (entries appended
    /// meanwhile are left for the next run). A chain found broken is checked once more if
    /// retention moved its anchor meanwhile (its deletions are not tampering).
    async fn verify_chain(&self, head: &Head) -> Result<ChainReport, sqlx::Error> {
        let report = self.check_chain(head).await?;
        if report.broken.is_none() {
            return Ok(report);
        }
        let mut sql =
            Sql::new(self.backend(), &format!("SELECT {HEAD_COLUMNS} FROM audit_chain_heads WHERE user_id = "));
        sql.bind(Arg::Text(head.user_id.clone()));
        let report = match heads(&self.pool, sql).await?.pop() {
            Some(now) if now.anchor != head.anchor => self.check_chain(&now).await?,
            _ => report,
        };
        if let Some(broken) = &report.broken {
            tracing::warn!(user_id = %broken.user_id, seq = broken.seq, event_id = ?broken.event_id,
                reason = %broken.reason, "audit chain broken");
        }
        Ok(report)
    }

    async fn check_chain(&self, head: &Head) -> Result<ChainReport, sqlx::Error> {
        let mut verifier = Verifier::new(head.user_id.clone(), head.anchor.clone());
        let mut after = head.anchor.seq;
        'pages: while after < head.last.seq {
            let mut sql =
                Sql::new(self.backend(), &format!("SELECT {ENTRY_COLUMNS} FROM audit_events WHERE user_id = "));
            sql.bind(Arg::Text(head.user_id.clone()));
            sql.push(" AND chain_seq > ").bind(Arg::Int(after));
            sql.push(" AND chain_seq <= ").bind(Arg::Int(head.last.seq));
            sql.push(" ORDER BY chain_seq LIMIT ").bind(Arg::Int(PAGE));
            let page = fetch(&self.pool, sql).await?;
            let Some(last) = page.last() else { break };
            after = last.entry.link.seq;
            for stored in &page {
                if !verifier.check(&stored.entry) {
                    break 'pages;
                }
            }
        }
        let report = verifier.finish(&head.last);
        Ok(report)
    }
}

async fn heads(pool: &Pool, sql: Sql) -> Result<Vec<Head>, sqlx::Error> {
    pool.fetch_all(sql).await?.iter().map(rows::head).collect()
}
