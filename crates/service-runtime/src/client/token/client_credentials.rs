//! The OAuth 2.0 client-credentials grant (RFC 6749 §4.4): `POST grant_type=client_credentials`
//! to the token endpoint, authenticated with the client id and secret; the access token is
//! cached until `refresh_margin` before its `expires_in` runs out.

use std::fmt;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::sync::Mutex;

use super::{Clock, same};
use crate::client::error::TokenError;
use crate::client::settings::{ClientAuthMethod, ClientCredentialsSettings};

/// The most of an error body kept for the message.
const MAX_ERROR_TEXT: usize = 200;

pub(super) struct ClientCredentials {
    http: reqwest::Client,
    url: reqwest::Url,
    client_id: String,
    client_secret: SecretString,
    auth_method: ClientAuthMethod,
    scope: Option<String>,
    audience: Option<String>,
    refresh_margin: Duration,
    default_lifetime: Duration,
    clock: Clock,
    /// Held while a token is fetched, so concurrent callers wait for that fetch instead of
    /// starting their own. The wait is bounded by the HTTP client's request timeout.
    cache: Mutex<Option<Cached>>,
}

struct Cached {
    token: SecretString,
    /// From here on a call fetches a new token.
    refresh_at: Instant,
    /// Until here the token may still be used if fetching a new one fails.
    expires_at: Instant,
}

/// The successful answer (RFC 6749 §5.1); other members are ignored.
#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    token_type: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

/// The error answer (RFC 6749 §5.2).
#[derive(Deserialize)]
struct ErrorResponse {
    error: String,
    #[serde(default)]
    error_description: Option<String>,
}

impl ClientCredentials {
    pub(super) fn new(
        settings: &ClientCredentialsSettings,
        http: reqwest::Client,
        clock: Clock,
    ) -> Result<Self, TokenError> {
        let setting = |name: &str, why: &str| TokenError::Settings(format!("token.client_credentials.{name}: {why}"));
        let url = reqwest::Url::parse(&settings.token_url)
            .ok()
            .filter(|url| matches!(url.scheme(), "https" | "http"))
            .ok_or_else(|| setting("token_url", "set it to the identity provider's http(s) token endpoint"))?;
        if settings.client_id.is_empty() {
            return Err(setting("client_id", "set it to the client id registered for this service"));
        }
        let client_secret =
            settings.client_secret.clone().ok_or_else(|| setting("client_secret", "set it from a secret"))?;
        Ok(Self {
            http,
            url,
            client_id: settings.client_id.clone(),
            client_secret,
            auth_method: settings.auth_method,
            scope: settings.scope.clone().filter(|s| !s.is_empty()),
            audience: settings.audience.clone().filter(|a| !a.is_empty()),
            refresh_margin: settings.refresh_margin(),
            default_lifetime: Duration::from_secs(settings.default_expires_in_seconds),
            clock,
            cache: Mutex::new(None),
        })
    }

    pub(super) async fn token(&self) -> Result<SecretString, TokenError> {
        let mut cache = self.cache.lock().await;
        let now = (self.clock)();
        if let Some(cached) = cache.as_ref().filter(|c| now < c.refresh_at) {
            return Ok(cached.token.clone());
        }
        match self.fetch().await {
            Ok((token, lifetime)) => {
                let now = (self.clock)();
                // A token shorter-lived than twice the margin is refreshed halfway through.
                let margin = self.refresh_margin.min(lifetime / 2);
                *cache = Some(Cached {
                    token: token.clone(),
                    refresh_at: now + (lifetime - margin),
                    expires_at: now + lifetime,
                });
                Ok(token)
            }
            // Refreshing early is a courtesy: while the old token lasts, a failed refresh
            // (the provider briefly down) does not fail the call. The next call tries again.
            Err(error) => match cache.as_ref().filter(|c| now < c.expires_at) {
                Some(cached) => {
                    tracing::warn!(error = %error, "token refresh failed; using the current token until it expires");
                    Ok(cached.token.clone())
                }
                None => Err(error),
            },
        }
    }

    pub(super) async fn invalidate(&self, rejected: &SecretString) {
        let mut cache = self.cache.lock().await;
        if cache.as_ref().is_some_and(|cached| same(&cached.token, rejected)) {
            *cache = None;
        }
    }

    /// One token request: the token and its lifetime.
    #[tracing::instrument(skip_all, fields(token_url = %self.url, client_id = %self.client_id), err)]
    async fn fetch(&self) -> Result<(SecretString, Duration), TokenError> {
        let mut request = self
            .http
            .post(self.url.clone())
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(ACCEPT, "application/json")
            .body(self.form());
        if self.auth_method == ClientAuthMethod::Basic {
            request = request.header(AUTHORIZATION, self.basic_credentials());
        }
        let url = self.url.to_string();
        let response = request
            .send()
            .await
            .map_err(|source| TokenError::Request { url: url.clone(), source: source.without_url() })?;
        let status = response.status();
        let body = response.bytes().await.map_err(|source| TokenError::Request { url: url.clone(), source })?;
        if !status.is_success() {
            let error = serde_json::from_slice::<ErrorResponse>(&body).ok();
            return Err(TokenError::Refused {
                url,
                status,
                error: error.as_ref().map(|e| clip(&e.error)),
                description: error.and_then(|e| e.error_description).map(|d| clip(&d)),
            });
        }
        let invalid = |reason: &str| TokenError::InvalidResponse { url: url.clone(), reason: reason.to_owned() };
        let answer: TokenResponse = serde_json::from_slice(&body)
            .map_err(|_| invalid("not a JSON object with `access_token` and `token_type`"))?;
        if !answer.token_type.eq_ignore_ascii_case("bearer") {
            return Err(invalid(&format!("`token_type` is {:?}, not Bearer", clip(&answer.token_type))));
        }
        if answer.access_token.is_empty() || HeaderValue::from_str(&answer.access_token).is_err() {
            return Err(invalid("`access_token` is empty or not a header value"));
        }
        let lifetime = answer.expires_in.map_or(self.default_lifetime, Duration::from_secs);
        tracing::debug!(expires_in = lifetime.as_secs(), "fetched a client-credentials token");
        Ok((SecretString::from(answer.access_token), lifetime))
    }

    /// The request body: the grant, the scope and audience asked for, and with
    /// [`ClientAuthMethod::Post`] the credentials.
    fn form(&self) -> String {
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("grant_type", "client_credentials");
        if let Some(scope) = &self.scope {
            form.append_pair("scope", scope);
        }
        if let Some(audience) = &self.audience {
            form.append_pair("audience", audience);
        }
        if self.auth_method == ClientAuthMethod::Post {
            form.append_pair("client_id", &self.client_id);
            form.append_pair("client_secret", self.client_secret.expose_secret());
        }
        form.finish()
    }

    /// `Basic base64(urlencode(id) ":" urlencode(secret))`, as RFC 6749 §2.3.1 spells it, marked
    /// sensitive so that no `Debug` of the request shows it.
    fn basic_credentials(&self) -> HeaderValue {
        let encode = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let pair = format!("{}:{}", encode(&self.client_id), encode(self.client_secret.expose_secret()));
        let mut value = HeaderValue::try_from(format!("Basic {}", STANDARD.encode(pair)))
            .unwrap_or_else(|_| unreachable!("base64 is a valid header value"));
        value.set_sensitive(true);
        value
    }
}

impl fmt::Debug for ClientCredentials {
    /// The endpoint, client id and request; never the secret or a token.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("url", &self.url.as_str())
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("auth_method", &self.auth_method)
            .field("scope", &self.scope)
            .field("audience", &self.audience)
            .field("refresh_margin", &self.refresh_margin)
            .finish_non_exhaustive()
    }
}

/// Text from the endpoint, shortened for a message.
fn clip(text: &str) -> String {
    text.chars().take(MAX_ERROR_TEXT).collect()
}

#[cfg(test)]
#[path = "client_credentials_tests.rs"]
mod tests;
