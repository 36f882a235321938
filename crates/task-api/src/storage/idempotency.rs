//! Idempotency keys: the response to a request with an `Idempotency-Key`, stored in the
//! transaction that made the change, so a retry gets the same answer without a second change.

use chrono::{DateTime, SubsecRound as _, Utc};
use sqlx::Row as _;

use super::StorageError;
use super::tx::Tx;
use service_runtime::database::Tx as Inner;
use service_runtime::database::{Arg, Sql, from_micros};

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

const SELECT: &str =
    "SELECT request_hash, status, body, location, created_at FROM idempotency_keys WHERE owner = $1 AND key = $2";

impl Tx {
    /// The response stored for the owner's `key`, if any.
    #[tracing::instrument(skip_all, err(level = "debug"))]
    pub async fn idempotency_get(&mut self, owner: &str, key: &str) -> Result<Option<StoredResponse>, StorageError> {
        let args = [Arg::Text(owner.to_owned()), Arg::Text(key.to_owned())];
        match &mut self.inner {
            Inner::Postgres(tx) => {
                let Some(row) = service_runtime::database::postgres(SELECT, args).fetch_optional(&mut **tx).await?
                else {
                    return Ok(None);
                };
                let status: i32 = row.try_get("status")?;
                Ok(Some(StoredResponse {
                    request_hash: row.try_get("request_hash")?,
                    status: status_code(status)?,
                    body: row.try_get("body")?,
                    location: row.try_get("location")?,
                    created_at: row.try_get("created_at")?,
                }))
            }
            Inner::Sqlite(tx) => {
                let Some(row) = service_runtime::database::sqlite(SELECT, args).fetch_optional(&mut **tx).await? else {
                    return Ok(None);
                };
                let status: i64 = row.try_get("status")?;
                Ok(Some(StoredResponse {
                    request_hash: row.try_get("request_hash")?,
                    status: status_code(status)?,
                    body: row.try_get("body")?,
                    location: row.try_get("location")?,
                    created_at: from_micros(row.try_get("created_at")?)?,
                }))
            }
        }
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

fn status_code(status: impl Into<i64>) -> Result<u16, StorageError> {
    let status = status.into();
    u16::try_from(status).map_err(|_| StorageError::Corrupt(format!("stored HTTP status {status} is out of range")))
}
