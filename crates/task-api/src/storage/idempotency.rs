//! Idempotency keys: the response to a request with an `Idempotency-Key`, stored in the
//! transaction that made the change, so a retry gets the same answer without a second change.

use chrono::{DateTime, SubsecRound as _, Utc};

use super::StorageError;
use super::tx::Tx;
use service_runtime::database::{Arg, Sql};

/// A stored response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    /// Hash of the request it answered (a retry with another body is an error, not a replay).
    pub request_hash: String,
    /// HTTP status.
    pub status: u16,
    /// Response body.
    pub body: Vec<u8>,
    /// `Location` header, if any.
    pub location: Option<String>,
    /// When it was stored.
    pub created_at: DateTime<Utc>,
}

impl Tx {
    /// The response stored for the owner's `key`, if any.
    #[tracing::instrument(skip_all, err(level = "debug"))]
    pub async fn idempotency_get(&mut self, owner: &str, key: &str) -> Result<Option<StoredResponse>, StorageError> {
        let mut sql = Sql::new(
            self.backend(),
            "SELECT request_hash, status, body, location, created_at FROM idempotency_keys WHERE owner = ",
        );
        sql.bind(Arg::Text(owner.to_owned())).push(" AND key = ").bind(Arg::Text(key.to_owned()));
        let Some(row) = self.fetch_optional(sql).await? else { return Ok(None) };
        let status = row.i64("status")?;
        Ok(Some(StoredResponse {
            request_hash: row.text("request_hash")?,
            status: u16::try_from(status)
                .map_err(|_| StorageError::Corrupt(format!("stored HTTP status {status} is out of range")))?,
            body: row.bytes("body")?,
            location: row.opt_text("location")?,
            created_at: row.instant("created_at")?,
        }))
    }

    /// Stores the response for the owner's `key`. [`StorageError::Conflict`] when the key
    /// is already stored, including by a concurrent transaction that commits first (this
    /// one waits for it); the transaction stays usable either way.
    #[tracing::instrument(skip_all, err(level = "debug"))]
    pub async fn idempotency_put(
        &mut self,
        owner: &str,
        key: &str,
        response: &StoredResponse,
    ) -> Result<(), StorageError> {
        let mut sql = Sql::new(
            self.backend(),
            "INSERT INTO idempotency_keys (owner, key, request_hash, status, body, location, created_at) VALUES ",
        );
        sql.bind_list([
            Arg::Text(owner.to_owned()),
            Arg::Text(key.to_owned()),
            Arg::Text(response.request_hash.clone()),
            Arg::Int(i64::from(response.status)),
            Arg::Bytes(response.body.clone()),
            Arg::OptText(response.location.clone()),
            Arg::Time(response.created_at.trunc_subsecs(6)),
        ]);
        // DO NOTHING rather than an error: a failed statement would abort a PostgreSQL
        // transaction, and the caller may want to read the winner's response in it.
        sql.push(" ON CONFLICT (owner, key) DO NOTHING");
        if self.execute(sql).await? == 0 { Err(StorageError::Conflict) } else { Ok(()) }
    }
}
