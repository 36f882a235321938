//! [`ChannelSettings`]: the `notification` section's channel settings, each with a default.

use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;

use super::retry::RetrySettings;

/// How the channels deliver. Every key has a default; the service nests it in its
/// `notification` section (`notification.webhook.timeout_ms`, …).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ChannelSettings {
    /// Webhook delivery.
    pub webhook: WebhookSettings,
    /// Email delivery.
    pub email: EmailSettings,
    /// When failed attempts are tried again (every channel).
    pub retry: RetrySettings,
}

/// Webhook delivery.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct WebhookSettings {
    /// One attempt's limit, from connecting to the last byte of the answer. Standard Webhooks
    /// receivers are expected to answer quickly and do their work later.
    pub timeout_ms: u64,
    /// Accept `http://` endpoints (local use and tests). Production: `false`, `https` only.
    pub allow_http: bool,
    /// Accept endpoints on private, loopback, link-local, unique-local and unspecified
    /// addresses (local use and tests). Production: `false`.
    pub allow_private: bool,
    /// How long the previous secret stays valid after a rotation (messages are signed with
    /// both meanwhile).
    pub rotation_grace_secs: u64,
    /// At most this many endpoints per user.
    pub max_endpoints_per_user: u32,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            timeout_ms: 15_000,
            allow_http: false,
            allow_private: false,
            rotation_grace_secs: 24 * 3600,
            max_endpoints_per_user: 20,
        }
    }
}

impl WebhookSettings {
    /// [`WebhookSettings::timeout_ms`].
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms.max(1))
    }

    /// [`WebhookSettings::rotation_grace_secs`].
    pub fn rotation_grace(&self) -> Duration {
        Duration::from_secs(self.rotation_grace_secs)
    }
}

/// Email delivery.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct EmailSettings {
    /// The `From` of every mail (`Name <address>` or an address).
    pub from: String,
    /// `file` (the default of `make run`: `.eml` files under [`EmailSettings::file_dir`]) or
    /// `smtp` (production: [`EmailSettings::smtp`]).
    pub transport: EmailTransport,
    /// Where the `file` transport writes.
    pub file_dir: PathBuf,
    /// The `smtp` transport's server.
    pub smtp: SmtpSettings,
    /// One attempt's limit (connecting, the SMTP conversation or writing the file).
    pub timeout_ms: u64,
}

impl Default for EmailSettings {
    fn default() -> Self {
        Self {
            from: "taskstream <reminders@taskstream.localhost>".into(),
            transport: EmailTransport::File,
            file_dir: PathBuf::from(".local/mail"),
            smtp: SmtpSettings::default(),
            timeout_ms: 30_000,
        }
    }
}

impl EmailSettings {
    /// [`EmailSettings::timeout_ms`].
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms.max(1))
    }
}

/// How mail leaves the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmailTransport {
    /// `.eml` files in a directory; nothing is sent.
    File,
    /// An SMTP server.
    Smtp,
}

/// An SMTP server.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct SmtpSettings {
    /// Host name (also the name its TLS certificate must carry).
    pub host: String,
    /// Port: 587 for STARTTLS, 465 for TLS, 25 for plain relays.
    pub port: u16,
    /// Transport security.
    pub tls: SmtpTls,
    /// User name, if the server wants one.
    pub username: Option<String>,
    /// Password (never printed).
    pub password: Option<SecretString>,
}

impl Default for SmtpSettings {
    fn default() -> Self {
        Self { host: "localhost".into(), port: 587, tls: SmtpTls::Starttls, username: None, password: None }
    }
}

/// SMTP transport security.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpTls {
    /// STARTTLS, required (the connection fails rather than send in the clear).
    Starttls,
    /// TLS from the first byte (SMTPS, port 465).
    Tls,
    /// No encryption: a relay on the same host or network, and tests.
    None,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_partial_section_keeps_the_defaults_of_every_key_it_does_not_name() {
        let section = json!({
            "webhook": { "allow_http": true },
            "email": { "transport": "smtp", "smtp": { "host": "mail.example.com", "tls": "tls", "password": "hunter2" } },
            "retry": { "schedule_secs": [1, 2] },
        });

        let settings: ChannelSettings = serde_json::from_value(section).expect("valid settings");

        assert!(settings.webhook.allow_http && !settings.webhook.allow_private);
        assert_eq!(settings.webhook.timeout(), Duration::from_secs(15));
        assert_eq!(settings.webhook.rotation_grace(), Duration::from_secs(24 * 3600));
        assert_eq!(settings.email.transport, EmailTransport::Smtp);
        assert_eq!((settings.email.smtp.host.as_str(), settings.email.smtp.port), ("mail.example.com", 587));
        assert_eq!(settings.email.smtp.tls, SmtpTls::Tls);
        assert!(!format!("{settings:?}").contains("hunter2"), "the password is never printed");
        assert_eq!(settings.retry.schedule_secs, [1, 2]);
        assert_eq!(settings.retry.jitter, 0.2);
    }

    #[test]
    fn by_default_production_is_guarded_and_mail_goes_to_local_files() {
        let settings = ChannelSettings::default();

        assert!(!settings.webhook.allow_http && !settings.webhook.allow_private);
        assert_eq!(settings.email.transport, EmailTransport::File);
        assert_eq!(settings.email.file_dir, PathBuf::from(".local/mail"));
    }
}
