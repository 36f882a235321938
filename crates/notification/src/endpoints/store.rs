//! [`Store`]: the users' channel settings and webhook endpoints, on either backend through
//! one code path (`service_runtime::database`).

use std::time::Duration;

use chrono::{DateTime, Utc};
use service_runtime::database::{Arg, Pool, Row, Sql};
use uuid::Uuid;

use crate::channels::signing::Secret;

/// This module's PostgreSQL migrations (numbered from 100; the service's others are below 100),
/// for the service's [`service_runtime::database::Migrations`].
pub const MIGRATIONS_POSTGRES: [(i64, &str, &str); 1] =
    [(100, "channel settings", include_str!("../../migrations/postgres/0100_channel_settings.sql"))];
/// This module's SQLite migrations, likewise.
pub const MIGRATIONS_SQLITE: [(i64, &str, &str); 1] =
    [(100, "channel settings", include_str!("../../migrations/sqlite/0100_channel_settings.sql"))];

const ENDPOINT_COLUMNS: &str = "id, user_id, url, description, enabled, disabled_reason, disabled_at, created_at, \
                                updated_at, previous_secret_expires_at";

/// A user's channel settings (defaults when they never set any).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UserSettings {
    /// Where reminders are mailed.
    pub email_address: Option<String>,
    /// Whether they are mailed.
    pub email_enabled: bool,
    /// When they were last changed; `None` if never.
    pub updated_at: Option<DateTime<Utc>>,
}

/// A webhook endpoint as its owner sees it (never its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Its id.
    pub id: Uuid,
    /// Its owner.
    pub user_id: String,
    /// Where deliveries are posted.
    pub url: String,
    /// The owner's note.
    pub description: String,
    /// Whether deliveries go to it.
    pub enabled: bool,
    /// Why it is disabled (by its owner, or after its receiver answered 410).
    pub disabled_reason: Option<String>,
    /// When it was disabled.
    pub disabled_at: Option<DateTime<Utc>>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// Until when the secret replaced by the last rotation still signs, if it does.
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
}

/// What a delivery needs of an endpoint.
#[derive(Debug, Clone)]
pub struct DeliveryEndpoint {
    /// Its owner.
    pub user_id: String,
    /// Where to post.
    pub url: String,
    /// Whether to post at all.
    pub enabled: bool,
    /// Why not.
    pub disabled_reason: Option<String>,
    /// The current secret, then the previous one while its rotation grace lasts.
    pub secrets: Vec<Secret>,
}

/// A change to an endpoint (`None`: unchanged).
#[derive(Debug, Clone, Default)]
pub struct EndpointChange {
    /// A new URL (already checked).
    pub url: Option<String>,
    /// A new description.
    pub description: Option<String>,
    /// Enable (clears the reason) or disable (with the reason).
    pub enabled: Option<(bool, Option<String>)>,
}

/// The settings and endpoints tables. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pool: Pool,
    rotation_grace: Duration,
}

impl Store {
    /// The store on `pool` (migrated with [`MIGRATIONS_POSTGRES`] / [`MIGRATIONS_SQLITE`]);
    /// a rotated secret keeps signing for `rotation_grace`.
    pub fn new(pool: Pool, rotation_grace: Duration) -> Self {
        Self { pool, rotation_grace }
    }

    fn sql(&self, text: &str) -> Sql {
        Sql::new(self.pool.backend(), text)
    }

    /// The user's settings.
    pub async fn settings(&self, user_id: &str) -> Result<UserSettings, sqlx::Error> {
        let mut sql =
            self.sql("SELECT email_address, email_enabled, updated_at FROM notification_settings WHERE user_id = ");
        sql.bind(Arg::Text(user_id.to_owned()));
        Ok(self.pool.fetch_optional(sql).await?.map(|row| read_settings(&row)).transpose()?.unwrap_or_default())
    }

    /// Replaces the user's settings.
    pub async fn put_settings(
        &self,
        user_id: &str,
        email_address: Option<String>,
        email_enabled: bool,
    ) -> Result<UserSettings, sqlx::Error> {
        let mut sql =
            self.sql("INSERT INTO notification_settings (user_id, email_address, email_enabled, updated_at) VALUES ");
        sql.bind_list([
            Arg::Text(user_id.to_owned()),
            Arg::OptText(email_address),
            Arg::Bool(email_enabled),
            Arg::Time(Utc::now()),
        ]);
        sql.push(
            " ON CONFLICT (user_id) DO UPDATE SET email_address = excluded.email_address, \
             email_enabled = excluded.email_enabled, updated_at = excluded.updated_at \
             RETURNING email_address, email_enabled, updated_at",
        );
        read_settings(&self.pool.fetch_one(sql).await?)
    }

    /// The user's endpoints, oldest first.
    pub async fn endpoints(&self, user_id: &str) -> Result<Vec<Endpoint>, sqlx::Error> {
        let mut sql = self.sql(&format!("SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE user_id = "));
        sql.bind(Arg::Text(user_id.to_owned())).push(" ORDER BY created_at, id");
        self.pool.fetch_all(sql).await?.iter().map(read_endpoint).collect()
    }

    /// How many endpoints the user has.
    pub async fn count_endpoints(&self, user_id: &str) -> Result<i64, sqlx::Error> {
        let mut sql = self.sql("SELECT COUNT(*) AS n FROM webhook_endpoints WHERE user_id = ");
        sql.bind(Arg::Text(user_id.to_owned()));
        self.pool.fetch_one(sql).await?.i64("n")
    }

    /// The user's endpoint `id`; `None` if it does not exist or is someone else's.
    pub async fn endpoint(&self, user_id: &str, id: Uuid) -> Result<Option<Endpoint>, sqlx::Error> {
        let mut sql = self.sql(&format!("SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = "));
        sql.bind(Arg::Uuid(id)).push(" AND user_id = ").bind(Arg::Text(user_id.to_owned()));
        self.pool.fetch_optional(sql).await?.as_ref().map(read_endpoint).transpose()
    }

    /// Creates an enabled endpoint signing with `secret`.
    pub async fn create_endpoint(
        &self,
        user_id: &str,
        url: &str,
        description: &str,
        secret: &Secret,
    ) -> Result<Endpoint, sqlx::Error> {
        let now = Utc::now();
        let mut sql = self.sql(
            "INSERT INTO webhook_endpoints (id, user_id, url, description, secret, enabled, created_at, updated_at) \
             VALUES ",
        );
        sql.bind_list([
            Arg::Uuid(Uuid::now_v7()),
            Arg::Text(user_id.to_owned()),
            Arg::Text(url.to_owned()),
            Arg::Text(description.to_owned()),
            Arg::Bytes(secret.bytes().to_vec()),
            Arg::Bool(true),
            Arg::Time(now),
            Arg::Time(now),
        ]);
        sql.push(&format!(" RETURNING {ENDPOINT_COLUMNS}"));
        read_endpoint(&self.pool.fetch_one(sql).await?)
    }

    /// Applies `change` to the user's endpoint `id`; `None` if it is not theirs.
    pub async fn update_endpoint(
        &self,
        user_id: &str,
        id: Uuid,
        change: EndpointChange,
    ) -> Result<Option<Endpoint>, sqlx::Error> {
        let now = Utc::now();
        let mut sql = self.sql("UPDATE webhook_endpoints SET updated_at = ");
        sql.bind(Arg::Time(now));
        if let Some(url) = change.url {
            sql.push(", url = ").bind(Arg::Text(url));
        }
        if let Some(description) = change.description {
            sql.push(", description = ").bind(Arg::Text(description));
        }
        match change.enabled {
            Some((true, _)) => {
                sql.push(", enabled = ").bind(Arg::Bool(true)).push(", disabled_reason = NULL, disabled_at = NULL");
            }
            Some((false, reason)) => {
                sql.push(", enabled = ").bind(Arg::Bool(false));
                sql.push(", disabled_reason = ").bind(Arg::OptText(reason));
                // Disabling a disabled endpoint keeps the time it was first disabled.
                sql.push(", disabled_at = COALESCE(disabled_at, ").bind(Arg::Time(now)).push(")");
            }
            None => {}
        }
        sql.push(" WHERE id = ").bind(Arg::Uuid(id)).push(" AND user_id = ").bind(Arg::Text(user_id.to_owned()));
        sql.push(&format!(" RETURNING {ENDPOINT_COLUMNS}"));
        self.pool.fetch_optional(sql).await?.as_ref().map(read_endpoint).transpose()
    }

    /// Deletes the user's endpoint `id`; whether it existed.
    pub async fn delete_endpoint(&self, user_id: &str, id: Uuid) -> Result<bool, sqlx::Error> {
        let mut sql = self.sql("DELETE FROM webhook_endpoints WHERE id = ");
        sql.bind(Arg::Uuid(id)).push(" AND user_id = ").bind(Arg::Text(user_id.to_owned()));
        Ok(self.pool.execute(sql).await? > 0)
    }

    /// Makes `secret` the endpoint's secret; the one it replaces keeps signing for the rotation
    /// grace. `None` if the endpoint is not the user's.
    pub async fn rotate_secret(
        &self,
        user_id: &str,
        id: Uuid,
        secret: &Secret,
    ) -> Result<Option<Endpoint>, sqlx::Error> {
        let now = Utc::now();
        let expires = chrono::Duration::from_std(self.rotation_grace)
            .ok()
            .and_then(|grace| now.checked_add_signed(grace))
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        let mut sql = self.sql("UPDATE webhook_endpoints SET previous_secret = secret, secret = ");
        sql.bind(Arg::Bytes(secret.bytes().to_vec()));
        sql.push(", previous_secret_expires_at = ").bind(Arg::Time(expires));
        sql.push(", updated_at = ").bind(Arg::Time(now));
        sql.push(" WHERE id = ").bind(Arg::Uuid(id)).push(" AND user_id = ").bind(Arg::Text(user_id.to_owned()));
        sql.push(&format!(" RETURNING {ENDPOINT_COLUMNS}"));
        self.pool.fetch_optional(sql).await?.as_ref().map(read_endpoint).transpose()
    }

    /// The endpoint as a delivery needs it, whoever owns it; `None` if it was deleted.
    pub async fn delivery_endpoint(&self, id: Uuid) -> Result<Option<DeliveryEndpoint>, sqlx::Error> {
        let mut sql = self.sql(
            "SELECT user_id, url, enabled, disabled_reason, secret, previous_secret_expires_at, \
             COALESCE(previous_secret, secret) AS previous_secret \
             FROM webhook_endpoints WHERE id = ",
        );
        sql.bind(Arg::Uuid(id));
        let Some(row) = self.pool.fetch_optional(sql).await? else { return Ok(None) };
        let mut secrets = vec![Secret::from_bytes(row.bytes("secret")?)];
        // A previous secret exists exactly when its expiry is set (`rotate_secret`).
        if row.opt_instant("previous_secret_expires_at")?.is_some_and(|expires| expires > Utc::now()) {
            secrets.push(Secret::from_bytes(row.bytes("previous_secret")?));
        }
        Ok(Some(DeliveryEndpoint {
            user_id: row.text("user_id")?,
            url: row.text("url")?,
            enabled: row.bool("enabled")?,
            disabled_reason: row.opt_text("disabled_reason")?,
            secrets,
        }))
    }

    /// Disables the endpoint with `reason` (after its receiver answered 410); whether it was
    /// enabled until now.
    pub async fn disable(&self, id: Uuid, reason: &str) -> Result<bool, sqlx::Error> {
        let now = Utc::now();
        let mut sql = self.sql("UPDATE webhook_endpoints SET enabled = ");
        sql.bind(Arg::Bool(false)).push(", disabled_reason = ").bind(Arg::Text(reason.to_owned()));
        sql.push(", disabled_at = ").bind(Arg::Time(now)).push(", updated_at = ").bind(Arg::Time(now));
        sql.push(" WHERE id = ").bind(Arg::Uuid(id)).push(" AND enabled = ").bind(Arg::Bool(true));
        Ok(self.pool.execute(sql).await? > 0)
    }
}

fn read_settings(row: &Row) -> Result<UserSettings, sqlx::Error> {
    Ok(UserSettings {
        email_address: row.opt_text("email_address")?,
        email_enabled: row.bool("email_enabled")?,
        updated_at: Some(row.instant("updated_at")?),
    })
}

fn read_endpoint(row: &Row) -> Result<Endpoint, sqlx::Error> {
    Ok(Endpoint {
        id: row.uuid("id")?,
        user_id: row.text("user_id")?,
        url: row.text("url")?,
        description: row.text("description")?,
        enabled: row.bool("enabled")?,
        disabled_reason: row.opt_text("disabled_reason")?,
        disabled_at: row.opt_instant("disabled_at")?,
        created_at: row.instant("created_at")?,
        updated_at: row.instant("updated_at")?,
        previous_secret_expires_at: row.opt_instant("previous_secret_expires_at")?,
    })
}
