//! The settings of one called service: where it is, how long to wait, how to retry, and where
//! the calling service's token comes from. Every field has a default, so a section only names
//! what differs (`APP__TASK_API__BASE_URL`, `APP__TASK_API__TOKEN__SOURCE=client_credentials`).
//!
//! The token settings are a `source` plus one sub-section per kind rather than a tagged enum:
//! the `config` crate hands environment values over as strings, which serde only converts to
//! numbers for plain struct fields, not inside an internally tagged enum.

use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;

use crate::auth::ON_BEHALF_SCOPE;
use crate::consumer::Backoff;

/// How to call one service (e.g. the `task_api` section of the recurring-task consumer).
/// Unknown fields are refused, so a misspelt `request_timeout_ms` is an error, not a default.
#[derive(Deserialize, Clone, Debug)]
#[serde(default, deny_unknown_fields)]
pub struct ClientSettings {
    /// The called service's base URL (`http://task-api:8080`); request paths are appended.
    pub base_url: String,
    /// How long establishing a connection (TCP, and TLS for `https`) may take.
    pub connect_timeout_ms: u64,
    /// How long one attempt may take, from sending to the end of the response headers and
    /// body; a retry gets the same again.
    pub request_timeout_ms: u64,
    /// A PEM file of CA certificates trusted in addition to the system's, for `https` base
    /// and token URLs signed by a private CA.
    pub ca_file: Option<PathBuf>,
    /// When and how often a failed request is tried again.
    pub retry: RetrySettings,
    /// Where the calling service's bearer token comes from.
    pub token: TokenSettings,
}

impl Default for ClientSettings {
    /// No base URL (building a client fails until one is set), 2 s to connect, 10 s per
    /// attempt, the default retries, development tokens.
    fn default() -> Self {
        Self {
            base_url: String::new(),
            connect_timeout_ms: 2_000,
            request_timeout_ms: 10_000,
            ca_file: None,
            retry: RetrySettings::default(),
            token: TokenSettings::default(),
        }
    }
}

impl ClientSettings {
    /// [`ClientSettings::connect_timeout_ms`] as a duration.
    pub fn connect_timeout(&self) -> Duration {
        Duration::from_millis(self.connect_timeout_ms)
    }

    /// [`ClientSettings::request_timeout_ms`] as a duration.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }
}

/// Retries of requests that are safe to repeat (see the module docs of [`crate::client`]).
#[derive(Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct RetrySettings {
    /// Attempts in all, the first included; 1 turns retries off.
    pub max_attempts: u32,
    /// The first backoff step (doubled per retry, with jitter).
    pub initial_backoff_ms: u64,
    /// The largest backoff step.
    pub max_backoff_ms: u64,
    /// The longest `Retry-After` honoured. A server asking for more is not retried at all:
    /// retrying sooner than asked would only add load where the server asked for less.
    pub max_retry_after_ms: u64,
}

impl Default for RetrySettings {
    /// Four attempts, backoff from 100 ms up to 2 s, `Retry-After` up to 30 s: a consumer
    /// that still fails then retries the whole message with its own, longer backoff.
    fn default() -> Self {
        Self { max_attempts: 4, initial_backoff_ms: 100, max_backoff_ms: 2_000, max_retry_after_ms: 30_000 }
    }
}

impl RetrySettings {
    /// The backoff between attempts.
    pub fn backoff(&self) -> Backoff {
        Backoff {
            initial: Duration::from_millis(self.initial_backoff_ms),
            max: Duration::from_millis(self.max_backoff_ms),
        }
    }

    /// [`RetrySettings::max_retry_after_ms`] as a duration.
    pub fn max_retry_after(&self) -> Duration {
        Duration::from_millis(self.max_retry_after_ms)
    }
}

/// Where the calling service's bearer token comes from: `source` picks one of the
/// sub-sections, the others are ignored.
#[derive(Deserialize, Clone, Debug, Default)]
#[serde(default, deny_unknown_fields)]
pub struct TokenSettings {
    /// Which source to use.
    pub source: TokenSourceKind,
    /// `source: development`.
    pub development: DevelopmentTokenSettings,
    /// `source: client_credentials`.
    pub client_credentials: ClientCredentialsSettings,
    /// `source: file`.
    pub file: FileTokenSettings,
}

/// The kinds of token source.
#[derive(Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum TokenSourceKind {
    /// HS256 tokens minted locally with the development secret (local runs and tests).
    #[default]
    Development,
    /// OAuth 2.0 client credentials (RFC 6749 §4.4) from an identity provider.
    ClientCredentials,
    /// A token file kept fresh by someone else (a Kubernetes projected service-account token).
    File,
}

/// Development tokens: `sub` `service:<service>`, the on-behalf scope, signed with the same
/// HS256 secret (and carrying the same issuer and audience) as the called service's `auth`
/// settings, so only a deployment configured with that secret accepts them.
#[derive(Deserialize, Clone, Debug)]
#[serde(default, deny_unknown_fields)]
pub struct DevelopmentTokenSettings {
    /// The calling service's name (`recurring-task`); the token's `sub` is `service:<name>`.
    pub service: String,
    /// The HS256 secret (at least 32 bytes) of the called service's `auth.hs256_secret`.
    /// Debug never prints it.
    pub hs256_secret: Option<SecretString>,
    /// `iss` of the tokens, when the called service checks one.
    pub issuer: Option<String>,
    /// `aud` of the tokens, when the called service checks one.
    pub audience: Option<String>,
    /// `scope` of the tokens.
    pub scope: String,
    /// Lifetime of each token, in seconds. A token is minted for every call (signing is
    /// cheap), so this only bounds how long a leaked one stays valid.
    pub ttl_seconds: u64,
}

impl Default for DevelopmentTokenSettings {
    fn default() -> Self {
        Self {
            service: String::new(),
            hs256_secret: None,
            issuer: None,
            audience: None,
            scope: ON_BEHALF_SCOPE.to_owned(),
            ttl_seconds: 300,
        }
    }
}

/// An OAuth 2.0 client-credentials grant (RFC 6749 §4.4) at the identity provider's token
/// endpoint.
#[derive(Deserialize, Clone, Debug)]
#[serde(default, deny_unknown_fields)]
pub struct ClientCredentialsSettings {
    /// The token endpoint (`https://idp.example.com/oauth2/token`).
    pub token_url: String,
    /// The client id registered for the calling service.
    pub client_id: String,
    /// The client secret. Debug never prints it; set it from a secret
    /// (`APP__<SECTION>__TOKEN__CLIENT_CREDENTIALS__CLIENT_SECRET`), not a file in the image.
    pub client_secret: Option<SecretString>,
    /// How the client authenticates to the endpoint.
    pub auth_method: ClientAuthMethod,
    /// `scope` to request (space-separated), e.g. `tasks:write_on_behalf`; none when unset.
    pub scope: Option<String>,
    /// `audience` to request (the parameter Auth0, Okta and others use to pick the API the
    /// token is for); none when unset.
    pub audience: Option<String>,
    /// A token is replaced this many seconds before its `expires_in` runs out (half its
    /// lifetime for tokens shorter than twice this), so no call carries an expiring token.
    pub refresh_margin_seconds: u64,
    /// Lifetime assumed when the endpoint sends no `expires_in` (RFC 6749 only recommends it).
    pub default_expires_in_seconds: u64,
}

impl Default for ClientCredentialsSettings {
    fn default() -> Self {
        Self {
            token_url: String::new(),
            client_id: String::new(),
            client_secret: None,
            auth_method: ClientAuthMethod::Basic,
            scope: None,
            audience: None,
            refresh_margin_seconds: 60,
            default_expires_in_seconds: 300,
        }
    }
}

impl ClientCredentialsSettings {
    /// [`ClientCredentialsSettings::refresh_margin_seconds`] as a duration.
    pub fn refresh_margin(&self) -> Duration {
        Duration::from_secs(self.refresh_margin_seconds)
    }
}

/// How the client id and secret are sent to the token endpoint (RFC 6749 §2.3.1).
#[derive(Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuthMethod {
    /// HTTP Basic (`client_secret_basic`), which every server must support.
    #[default]
    Basic,
    /// `client_id` and `client_secret` in the form body (`client_secret_post`).
    Post,
}

/// A token file, re-read whenever it changes.
#[derive(Deserialize, Clone, Debug, Default)]
#[serde(default, deny_unknown_fields)]
pub struct FileTokenSettings {
    /// The file (e.g. a projected service-account token,
    /// `/var/run/secrets/tokens/task-api`).
    pub path: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use secrecy::ExposeSecret;
    use serde_json::json;

    use super::*;

    #[derive(Deserialize, Debug)]
    struct Service {
        task_api: ClientSettings,
    }

    #[test]
    fn client_settings_layer_from_files_and_the_environment() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("base.yaml"),
            "task_api:\n  base_url: http://task-api:8080\n  token:\n    source: client_credentials\n    \
             client_credentials:\n      token_url: https://idp/token\n      client_id: recurring-task\n",
        )
        .expect("base.yaml");
        let variables: HashMap<String, String> = [
            ("APP__TASK_API__REQUEST_TIMEOUT_MS", "2500"),
            ("APP__TASK_API__RETRY__MAX_ATTEMPTS", "2"),
            ("APP__TASK_API__TOKEN__CLIENT_CREDENTIALS__CLIENT_SECRET", "00123"),
            ("APP__TASK_API__TOKEN__CLIENT_CREDENTIALS__REFRESH_MARGIN_SECONDS", "30"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();

        let loaded: Service =
            crate::settings::load_from(&[], dir.path(), "production", Some(variables)).expect("loads");

        let client = loaded.task_api;
        assert_eq!(client.base_url, "http://task-api:8080");
        assert_eq!(client.request_timeout(), Duration::from_millis(2500), "numbers parse from variables");
        assert_eq!(client.connect_timeout(), Duration::from_secs(2), "unset keys keep their defaults");
        assert_eq!(client.retry.max_attempts, 2);
        assert_eq!(client.token.source, TokenSourceKind::ClientCredentials);
        let credentials = &client.token.client_credentials;
        assert_eq!(
            (credentials.client_id.as_str(), credentials.refresh_margin()),
            ("recurring-task", Duration::from_secs(30))
        );
        assert_eq!(credentials.client_secret.as_ref().map(|s| s.expose_secret().to_owned()).as_deref(), Some("00123"));
        assert_eq!(credentials.auth_method, ClientAuthMethod::Basic);
    }

    #[test]
    fn a_misspelt_client_setting_is_refused() {
        assert!(serde_json::from_value::<ClientSettings>(json!({ "request_timeout": 5 })).is_err());
        assert!(serde_json::from_value::<ClientSettings>(json!({ "token": { "source": "kerberos" } })).is_err());
    }

    #[test]
    fn debug_output_of_the_settings_hides_both_secrets() {
        let settings: ClientSettings = serde_json::from_value(json!({
            "token": {
                "development": { "hs256_secret": "dev-secret-do-not-print-0123456789" },
                "client_credentials": { "client_secret": "client-secret-do-not-print" },
            }
        }))
        .expect("settings");

        let printed = format!("{settings:?}");

        assert!(!printed.contains("do-not-print"), "{printed}");
    }
}
