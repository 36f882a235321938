//! The calling service's own bearer token, from one of three sources (see
//! [`TokenSourceKind`]): minted locally, fetched with client credentials, or read from a
//! file. Tokens are handed out as [`SecretString`], so no log line or `Debug` shows them.
//!
//! # Layout
//! - `development`: HS256 tokens minted with the development secret.
//! - `client_credentials`: the OAuth 2.0 grant, cached until shortly before expiry.
//! - `file`: a token file, re-read when it changes.

mod client_credentials;
mod development;
mod file;

use std::sync::Arc;
use std::time::Instant;

use secrecy::SecretString;

use super::error::TokenError;
use super::settings::{TokenSettings, TokenSourceKind};
use client_credentials::ClientCredentials;
use development::DevelopmentTokens;
use file::FileToken;

/// Where the calling service's token comes from. Cheap to clone (clones share the cache, so
/// several clients of one service can share one source).
#[derive(Clone, Debug)]
pub struct TokenSource {
    kind: Arc<Kind>,
}

#[derive(Debug)]
enum Kind {
    Development(DevelopmentTokens),
    ClientCredentials(ClientCredentials),
    File(FileToken),
}

impl TokenSource {
    /// The source `settings.source` names, checked now (a missing `token_url`, secret or
    /// path is an error here, not at the first call). `http` fetches client-credentials
    /// tokens (with its timeouts and trusted CAs).
    pub fn from_settings(settings: &TokenSettings, http: &reqwest::Client) -> Result<Self, TokenError> {
        let kind = match settings.source {
            TokenSourceKind::Development => Kind::Development(DevelopmentTokens::new(&settings.development)?),
            TokenSourceKind::ClientCredentials => Kind::ClientCredentials(ClientCredentials::new(
                &settings.client_credentials,
                http.clone(),
                system_clock(),
            )?),
            TokenSourceKind::File => Kind::File(FileToken::new(&settings.file)?),
        };
        Ok(Self { kind: Arc::new(kind) })
    }

    /// A valid token: the cached one while it is fresh, else a new one. Concurrent callers
    /// share one fetch.
    pub async fn token(&self) -> Result<SecretString, TokenError> {
        match &*self.kind {
            Kind::Development(source) => source.token(),
            Kind::ClientCredentials(source) => source.token().await,
            Kind::File(source) => source.token(),
        }
    }

    /// Forgets `rejected` (a called service answered 401 to it), so that the next
    /// [`TokenSource::token`] fetches or reads a new one. A token already replaced is left
    /// alone, so many calls refused at once cause one refresh.
    pub async fn invalidate(&self, rejected: &SecretString) {
        match &*self.kind {
            // Every call mints a new one already.
            Kind::Development(_) => {}
            Kind::ClientCredentials(source) => source.invalidate(rejected).await,
            Kind::File(source) => source.invalidate(rejected),
        }
    }
}

/// The time a cached token is judged by; tests move it forward instead of waiting.
type Clock = Arc<dyn Fn() -> Instant + Send + Sync>;

fn system_clock() -> Clock {
    Arc::new(Instant::now)
}

/// Whether two tokens are the same, without exposing either beyond this comparison.
fn same(a: &SecretString, b: &SecretString) -> bool {
    use secrecy::ExposeSecret;
    a.expose_secret() == b.expose_secret()
}
