//! [`Settings`]: the shared sections plus the notification service's own.

use std::time::Duration;

use serde::Deserialize;
use service_runtime::auth::AuthSettings;
use service_runtime::database::DatabaseSettings;
use service_runtime::outbox::RelaySettings;
use service_runtime::settings::{self, BaseSettings};

use crate::channels::{ChannelSettings, EmailSettings, RetrySettings, WebhookSettings};

/// Built-in defaults, beneath `config/*.yaml` and the environment.
pub(crate) const DEFAULTS: &[(&str, &str)] = &[
    ("consumer.group_id", "notification"),
    // The "never for a stale task" check needs to know, every quarter second, which partitions
    // of `reminders` are handled to their end (see docs/notification.md).
    ("consumer.caught_up_interval_ms", "250"),
    ("consumer.max_batch", "100"),
    ("database.url", "sqlite://.local/notification.db"),
    // Up to notification.max_in_flight (64) deliveries each hold a connection for their
    // transactions, beside the consumer's and the API's: 10 (the shared default) made the pool
    // the bottleneck under load.
    ("database.max_connections", "24"),
];

/// The `notification` section: the scheduler's tuning and the channels' settings
/// (`notification.webhook.*`, `notification.email.*`, `notification.retry.*`).
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct SchedulerSettings {
    /// A reminder due longer ago than this (after downtime) is recorded as expired instead of
    /// delivered. 24 h by default.
    pub max_lateness_seconds: u64,
    /// A reminder fired later than this after its time is flagged late in its message.
    pub late_after_seconds: u64,
    /// How long a replica owns an entry it claimed; if it dies, another takes the entry over
    /// after this. Longer than one delivery attempt (the channels' timeouts).
    pub lease_seconds: u64,
    /// Entries claimed per round.
    pub claim_batch: i64,
    /// Deliveries running at once in one replica.
    pub max_in_flight: usize,
    /// The scheduler never sleeps longer than this: it picks up entries written by another
    /// replica's consumer (its own wakes it at once) and leases that ended elsewhere.
    pub recheck_ms: u64,
    /// While a due reminder is held (its partition not yet handled up to its time), how often
    /// the scheduler looks again.
    pub hold_recheck_ms: u64,
    /// Webhook delivery ([`crate::channels`]).
    pub webhook: WebhookSettings,
    /// Email delivery.
    pub email: EmailSettings,
    /// When failed attempts are tried again (every channel but the inbox).
    pub retry: RetrySettings,
}

impl Default for SchedulerSettings {
    fn default() -> Self {
        Self {
            max_lateness_seconds: 24 * 3600,
            late_after_seconds: 60,
            lease_seconds: 60,
            claim_batch: 200,
            max_in_flight: 64,
            recheck_ms: 1_000,
            hold_recheck_ms: 100,
            webhook: WebhookSettings::default(),
            email: EmailSettings::default(),
            retry: RetrySettings::default(),
        }
    }
}

impl SchedulerSettings {
    /// `max_lateness_seconds` as a duration.
    pub fn max_lateness(&self) -> Duration {
        Duration::from_secs(self.max_lateness_seconds)
    }

    /// The channels' settings.
    pub fn channels(&self) -> ChannelSettings {
        ChannelSettings { webhook: self.webhook.clone(), email: self.email.clone(), retry: self.retry.clone() }
    }

    /// `lease_seconds` as a duration.
    pub fn lease(&self) -> Duration {
        Duration::from_secs(self.lease_seconds.max(1))
    }
}

/// The notification service's own sections of the settings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct NotificationSettings {
    /// The notification database (the schedule, deliveries, inbox, outbox).
    pub database: DatabaseSettings,
    /// Bearer-token verification, as in every service ([`service_runtime::auth`]).
    pub auth: AuthSettings,
    /// The relay of `reminder.sent` events.
    pub outbox: RelaySettings,
    /// The scheduler.
    pub notification: SchedulerSettings,
}

/// This service's settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Settings every service shares.
    pub base: BaseSettings,
    /// The notification service's own.
    pub app: NotificationSettings,
}

impl Settings {
    /// Loads defaults → `config/base.yaml` → `config/{APP_ENVIRONMENT}.yaml` → `APP__…`.
    pub fn load() -> Result<Self, service_runtime::Error> {
        Ok(Self { base: settings::load(DEFAULTS)?, app: settings::load(DEFAULTS)? })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::path::Path;

    use super::*;
    use crate::channels::EmailTransport;

    fn load<T: serde::de::DeserializeOwned>(environment: &str, variables: &[(&str, &str)]) -> T {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
        let variables: HashMap<String, String> = variables.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
        settings::load_from(DEFAULTS, &dir, environment, Some(variables)).expect("settings load")
    }

    #[test]
    fn make_run_accepts_local_webhooks_writes_mail_to_files_and_reports_caught_up_partitions() {
        let app: NotificationSettings = load("local", &[]);
        let base: BaseSettings = load("local", &[]);

        assert!(app.notification.webhook.allow_http && app.notification.webhook.allow_private);
        assert_eq!(app.notification.email.transport, EmailTransport::File);
        assert_eq!(app.database.url, "sqlite://.local/notification.db");
        assert_eq!(app.database.max_connections, 24);
        assert_eq!(app.notification.max_lateness(), Duration::from_secs(24 * 3600));
        assert_eq!(base.consumer.group_id, "notification");
        assert_eq!(base.consumer.caught_up_interval_ms, 250);
    }

    #[test]
    fn production_guards_webhooks_mails_through_smtp_and_the_environment_overrides_the_files() {
        let app: NotificationSettings = load(
            "production",
            &[("APP__NOTIFICATION__LEASE_SECONDS", "5"), ("APP__NOTIFICATION__EMAIL__SMTP__HOST", "relay")],
        );

        assert!(!app.notification.webhook.allow_http && !app.notification.webhook.allow_private);
        assert_eq!(app.notification.email.transport, EmailTransport::Smtp);
        assert_eq!(app.notification.email.smtp.host, "relay");
        assert_eq!(app.notification.lease(), Duration::from_secs(5));
        assert_eq!(app.notification.channels().email.smtp.port, 587);
    }
}
