//! Delivery channels: one attempt to hand one reminder to one of the user's targets (an email
//! address, a webhook endpoint). The dispatcher (scheduling, delivery records, retries,
//! the inbox) is the caller; this module owns how a target is reached.
//!
//! # Layout
//! - this file: the seam the dispatcher uses: [`Message`], [`Target`], [`Attempt`],
//!   [`Channels`].
//! - `settings`: [`ChannelSettings`], [`WebhookSettings`], [`EmailSettings`].
//! - `retry`: the retry schedule with jitter, and `Retry-After`.
//! - `signing`: Standard Webhooks ids, secrets and signatures.
//! - `guard`: the destination guard (scheme, addresses after DNS resolution).
//! - `webhook`: one webhook attempt: payload, headers, how an answer is classified.
//! - `email`: one email attempt: the multipart mail, its stable `Message-ID`, the transports.
//! - `error`: [`ChannelError`].
//!
//! # Decisions
//! - **Idempotency keys depend only on (reminder, generation, target)**: the `webhook-id` and
//!   the mail's `Message-ID` are UUIDv5 of those, so a second attempt (after a failure or a
//!   crash between sending and recording) carries the same key and receivers can drop it.
//! - **One attempt per call**: [`Channels::deliver`] never retries by itself and never
//!   sleeps; it answers what happened and, for [`Attempt::Retry`], how soon the receiver
//!   asked to be tried again. The caller owns the schedule ([`Channels::retry_delay`]) and
//!   the durable record of every attempt.
//! - **Targets are re-read at delivery**: [`Channels::deliver`] loads the endpoint (or the
//!   email settings) again, so a secret rotated, an endpoint disabled or deleted, or email
//!   turned off since [`Channels::targets`] counts ([`Attempt::Disabled`]).
//!
//! # Wiring (by the service)
//! - settings: [`ChannelSettings`] sits in the `notification` section (`notification.webhook`,
//!   `notification.email`, `notification.retry`). The defaults are production's: `make run`'s `config/local.yaml`
//!   sets `notification.webhook.allow_http` and `allow_private` to `true`, or receivers on
//!   `http://127.0.0.1` are refused.
//! - migrations: [`crate::endpoints::MIGRATIONS_POSTGRES`] / [`crate::endpoints::MIGRATIONS_SQLITE`]
//!   (versions 100 and up) join the service's list.
//! - [`Channels::new`] over the service's pool; [`crate::endpoints::router`] with
//!   [`crate::endpoints::EndpointsState::new`] merged into the service's router;
//!   [`crate::endpoints::EndpointsApi`] merged into its OpenAPI document.
//! - per delivery: [`Channels::targets`] (or [`Channels::target`] for a stored key), then
//!   [`Channels::deliver`] per attempt, and [`Channels::next_delay`] after an
//!   [`Attempt::Retry`] (`None`: give up).

mod email;
mod error;
pub mod guard;
mod retry;
mod settings;
pub mod signing;
mod webhook;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use service_runtime::database::Pool;
use uuid::Uuid;

pub use error::ChannelError;
pub use retry::RetrySettings;
pub use settings::{ChannelSettings, EmailSettings, EmailTransport, SmtpSettings, SmtpTls, WebhookSettings};
pub use webhook::REMINDER_DUE;

use crate::endpoints::Store;

/// Counter: webhook endpoints disabled because their receiver answered 410 Gone.
pub const ENDPOINTS_DISABLED: &str = "taskstream_notification_endpoints_disabled_total";
/// Histogram: seconds one delivery attempt took. Labels: `channel` (`email` | `webhook`),
/// `outcome` (`delivered` | `retry` | `failed` | `disabled`).
pub const ATTEMPT_DURATION: &str = "taskstream_notification_attempt_duration_seconds";

/// The key of the email target.
pub const EMAIL_KEY: &str = "email";
/// The prefix of a webhook target's key: `webhook:<endpoint id>`.
pub const WEBHOOK_KEY_PREFIX: &str = "webhook:";

/// One reminder to deliver, as every channel renders it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// The reminder.
    pub reminder_id: Uuid,
    /// Whose reminder it is.
    pub user_id: String,
    /// The task it reminds of.
    pub task_id: Uuid,
    /// The task's title.
    pub title: String,
    /// When the reminder was due.
    pub remind_at: DateTime<Utc>,
    /// The task's due time, if it has one.
    pub due_at: Option<DateTime<Utc>>,
    /// When the scheduler fired it (the same for every attempt and every target).
    pub fired_at: DateTime<Utc>,
    /// Fired later than due (after downtime).
    pub late: bool,
    /// 0, then +1 per snooze: each generation is a new delivery with new idempotency keys.
    pub generation: u32,
}

/// Where a message goes: the user's email address or one of their webhook endpoints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// `email` or `webhook:<endpoint id>`: stable, the key of a delivery record.
    pub key: String,
    /// How to reach it.
    pub kind: TargetKind,
}

/// The channel of a [`Target`] and its address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "channel", rename_all = "snake_case")]
pub enum TargetKind {
    /// Email to the address the user set.
    Email {
        /// The address (as the user set it when the target was listed).
        address: String,
    },
    /// A webhook endpoint; its URL and secrets are read again at each attempt.
    Webhook {
        /// The endpoint.
        endpoint_id: Uuid,
    },
}

impl Target {
    /// The email target for `address`.
    pub fn email(address: impl Into<String>) -> Self {
        Self { key: EMAIL_KEY.to_owned(), kind: TargetKind::Email { address: address.into() } }
    }

    /// The target of a webhook endpoint.
    pub fn webhook(endpoint_id: Uuid) -> Self {
        Self { key: format!("{WEBHOOK_KEY_PREFIX}{endpoint_id}"), kind: TargetKind::Webhook { endpoint_id } }
    }

    /// The channel's name, for metrics and logs: `email` or `webhook`.
    pub fn channel(&self) -> &'static str {
        match self.kind {
            TargetKind::Email { .. } => "email",
            TargetKind::Webhook { .. } => "webhook",
        }
    }
}

/// What one attempt achieved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// Accepted by the receiver (2xx, or the mail server took the mail).
    Delivered,
    /// Worth trying again: a timeout, a connection error, 5xx, 429. `after` is the receiver's
    /// `Retry-After`, if it sent one (capped at 24 h).
    Retry {
        /// How long the receiver asked us to wait, if it did.
        after: Option<Duration>,
        /// Why, for the delivery record.
        reason: String,
    },
    /// Will not succeed by trying again (a 4xx other than 408, 410 and 429, a redirect, a
    /// refused destination, an address the mail server rejects).
    Failed {
        /// Why.
        reason: String,
    },
    /// The target is gone: the endpoint answered 410 (and is now disabled), or it was
    /// disabled or deleted meanwhile. Deliver nothing more to it.
    Disabled {
        /// Why.
        reason: String,
    },
}

impl Attempt {
    /// `delivered`, `retry`, `failed` or `disabled`, for metrics and records.
    pub fn outcome(&self) -> &'static str {
        match self {
            Self::Delivered => "delivered",
            Self::Retry { .. } => "retry",
            Self::Failed { .. } => "failed",
            Self::Disabled { .. } => "disabled",
        }
    }
}

/// The delivery channels. Cheap to clone (shared handles).
#[derive(Debug, Clone)]
pub struct Channels {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    settings: ChannelSettings,
    store: Store,
    webhooks: webhook::Sender,
    mailer: email::Mailer,
}

impl Channels {
    /// The channels configured by `settings`, reading the users' settings and endpoints from
    /// `pool` (migrated with the service's migrations, which include [`crate::endpoints::MIGRATIONS_POSTGRES`]
    /// and [`crate::endpoints::MIGRATIONS_SQLITE`]).
    pub fn new(settings: &ChannelSettings, pool: Pool) -> Result<Self, ChannelError> {
        let store = Store::new(pool, settings.webhook.rotation_grace());
        let webhooks = webhook::Sender::new(&settings.webhook, store.clone())?;
        let mailer = email::Mailer::new(&settings.email)?;
        Ok(Self { inner: Arc::new(Inner { settings: settings.clone(), store, webhooks, mailer }) })
    }

    /// The store of the users' settings and endpoints (for the API's state).
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The settings.
    pub fn settings(&self) -> &ChannelSettings {
        &self.inner.settings
    }

    /// The user's targets besides the inbox: email if they set an address and enabled it, and
    /// each enabled webhook endpoint (oldest first).
    pub async fn targets(&self, user_id: &str) -> Result<Vec<Target>, ChannelError> {
        let mut targets = Vec::new();
        let settings = self.inner.store.settings(user_id).await?;
        if let Some(address) = settings.email_address.filter(|_| settings.email_enabled) {
            targets.push(Target::email(address));
        }
        for endpoint in self.inner.store.endpoints(user_id).await? {
            if endpoint.enabled {
                targets.push(Target::webhook(endpoint.id));
            }
        }
        Ok(targets)
    }

    /// The target with `key` of the user, as [`Channels::targets`] would list it now; `None`
    /// when it no longer exists (for a delivery record read back after a restart).
    pub async fn target(&self, user_id: &str, key: &str) -> Result<Option<Target>, ChannelError> {
        Ok(self.targets(user_id).await?.into_iter().find(|t| t.key == key))
    }

    /// One attempt (`attempt` is 1 for the first) to deliver `message` to `target`, bounded
    /// by the channel's timeout. The idempotency key depends only on the message's reminder
    /// and generation and the target, never on `attempt`.
    #[tracing::instrument(skip_all, fields(reminder_id = %message.reminder_id, target = %target.key, attempt = attempt))]
    pub async fn deliver(&self, target: &Target, message: &Message, attempt: u32) -> Attempt {
        let started = std::time::Instant::now();
        let outcome = match &target.kind {
            TargetKind::Webhook { endpoint_id } => self.inner.webhooks.deliver(*endpoint_id, target, message).await,
            TargetKind::Email { address } => match self.email_still_wanted(&message.user_id, address).await {
                Ok(true) => self.inner.mailer.deliver(address, message).await,
                Ok(false) => Attempt::Disabled { reason: "email was turned off or its address changed".into() },
                Err(error) => Attempt::Retry { after: None, reason: format!("reading the email settings: {error}") },
            },
        };
        metrics::histogram!(ATTEMPT_DURATION, "channel" => target.channel(), "outcome" => outcome.outcome())
            .record(started.elapsed().as_secs_f64());
        match &outcome {
            Attempt::Delivered => tracing::debug!("delivered"),
            Attempt::Retry { reason, .. } => tracing::info!(reason = %reason, "attempt failed; retry"),
            Attempt::Failed { reason } | Attempt::Disabled { reason } => {
                tracing::warn!(reason = %reason, outcome = outcome.outcome(), "attempt failed")
            }
        }
        outcome
    }

    /// Whether the user still wants reminders mailed to `address` (they may have turned email
    /// off or changed the address since the target was listed).
    async fn email_still_wanted(&self, user_id: &str, address: &str) -> Result<bool, ChannelError> {
        let settings = self.inner.store.settings(user_id).await?;
        Ok(settings.email_enabled && settings.email_address.as_deref() == Some(address))
    }

    /// How long to wait after failed attempt number `attempt` (1 for the first) before the
    /// next one, with jitter; `None` when the schedule is exhausted: give up.
    pub fn retry_delay(&self, attempt: u32) -> Option<Duration> {
        self.inner.settings.retry.delay(attempt, &mut rand::rng())
    }

    /// [`Channels::retry_delay`], but never sooner than the receiver's `Retry-After` (`after`
    /// of [`Attempt::Retry`]); `None` when the schedule is exhausted.
    pub fn next_delay(&self, attempt: u32, after: Option<Duration>) -> Option<Duration> {
        self.retry_delay(attempt).map(|delay| after.map_or(delay, |after| delay.max(after)))
    }
}
