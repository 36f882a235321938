//! [`ServiceClient`]: calls one service's HTTP API with the calling service's bearer token,
//! retrying what is safe to retry; [`ServiceRequest`]: one call being put together.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, Response, StatusCode, Url};
use secrecy::ExposeSecret;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::ClientError;
use super::http;
use super::retry::{self, IDEMPOTENCY_KEY};
use super::settings::{ClientSettings, RetrySettings};
use super::token::TokenSource;
use super::trace::TraceParent;
use crate::auth::ON_BEHALF_OF_HEADER;

/// The most of an error answer's body kept in [`ClientError::Status`].
const MAX_ERROR_BODY: usize = 2048;

/// A client of one service (its [`ClientSettings::base_url`]). Cheap to clone: clones share
/// the connection pool and the token source.
#[derive(Clone, Debug)]
pub struct ServiceClient {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    http: reqwest::Client,
    base_url: String,
    tokens: TokenSource,
    retry: RetrySettings,
}

impl ServiceClient {
    /// A client with the token source `settings.token` describes. Fails on unusable
    /// settings (no base URL, a token source missing a setting, an unreadable CA file).
    pub fn new(settings: &ClientSettings) -> Result<Self, ClientError> {
        let http = http::build(settings)?;
        let tokens = TokenSource::from_settings(&settings.token, &http)?;
        Self::assemble(settings, http, tokens)
    }

    /// A client with a token source of the caller's (one shared by several clients).
    pub fn with_token_source(settings: &ClientSettings, tokens: TokenSource) -> Result<Self, ClientError> {
        Self::assemble(settings, http::build(settings)?, tokens)
    }

    fn assemble(settings: &ClientSettings, http: reqwest::Client, tokens: TokenSource) -> Result<Self, ClientError> {
        let base_url = settings.base_url.trim_end_matches('/').to_owned();
        if Url::parse(&base_url).map_or(true, |url| !matches!(url.scheme(), "http" | "https")) {
            return Err(ClientError::Settings(format!(
                "base_url {:?}: set it to the called service's http(s) URL",
                settings.base_url
            )));
        }
        if settings.retry.max_attempts == 0 {
            return Err(ClientError::Settings("retry.max_attempts must be at least 1".into()));
        }
        Ok(Self { inner: Arc::new(Inner { http, base_url, tokens, retry: settings.retry.clone() }) })
    }

    /// The token source (to share it with another client).
    pub fn token_source(&self) -> &TokenSource {
        &self.inner.tokens
    }

    /// A request for `path` (starting with `/`, query allowed) of the base URL.
    pub fn request(&self, method: Method, path: &str) -> ServiceRequest {
        let url = if path.starts_with('/') {
            Url::parse(&format!("{}{path}", self.inner.base_url))
                .map_err(|e| ClientError::InvalidRequest(format!("path {path:?}: {e}")))
        } else {
            Err(ClientError::InvalidRequest(format!("path {path:?} must start with `/`")))
        };
        ServiceRequest {
            client: self.clone(),
            method,
            url,
            headers: HeaderMap::new(),
            body: None,
            traceparent: None,
            invalid: None,
        }
    }

    /// `GET path`.
    pub fn get(&self, path: &str) -> ServiceRequest {
        self.request(Method::GET, path)
    }

    /// `POST path`; retried only with an [`ServiceRequest::idempotency_key`].
    pub fn post(&self, path: &str) -> ServiceRequest {
        self.request(Method::POST, path)
    }

    /// `PUT path`.
    pub fn put(&self, path: &str) -> ServiceRequest {
        self.request(Method::PUT, path)
    }

    /// `PATCH path`; retried only with an [`ServiceRequest::idempotency_key`].
    pub fn patch(&self, path: &str) -> ServiceRequest {
        self.request(Method::PATCH, path)
    }

    /// `DELETE path`.
    pub fn delete(&self, path: &str) -> ServiceRequest {
        self.request(Method::DELETE, path)
    }
}

/// One call being put together; [`ServiceRequest::send`] sends it. A setter given an
/// invalid value makes `send` fail with [`ClientError::InvalidRequest`] without sending.
#[derive(Debug)]
#[must_use = "a request does nothing until it is sent"]
pub struct ServiceRequest {
    client: ServiceClient,
    method: Method,
    url: Result<Url, ClientError>,
    headers: HeaderMap,
    body: Option<Bytes>,
    traceparent: Option<String>,
    invalid: Option<ClientError>,
}

impl ServiceRequest {
    /// Acts for `user` (its `sub`): sends [`ON_BEHALF_OF_HEADER`]. The token must carry the
    /// on-behalf scope, or the service answers 403.
    pub fn on_behalf_of(self, user: &str) -> Self {
        self.header(HeaderName::from_static(ON_BEHALF_OF_HEADER), user)
    }

    /// Continues the trace of `incoming` (e.g. the `traceparent` of the event being
    /// handled): the call carries a child of it. Without one, or with a malformed one, the
    /// call starts a new trace.
    pub fn traceparent(mut self, incoming: Option<&str>) -> Self {
        self.traceparent = incoming.map(str::to_owned);
        self
    }

    /// Sends `Idempotency-Key: key`, which also makes a POST or PATCH safe to retry.
    pub fn idempotency_key(self, key: &str) -> Self {
        self.header(HeaderName::from_static(IDEMPOTENCY_KEY), key)
    }

    /// Adds a header (`If-Match`, `X-Request-Id`, …).
    pub fn header(mut self, name: HeaderName, value: &str) -> Self {
        match HeaderValue::from_str(value) {
            Ok(value) => {
                self.headers.append(name, value);
            }
            Err(_) => self.invalid = Some(ClientError::InvalidRequest(format!("{name}: not a header value"))),
        }
        self
    }

    /// A JSON body.
    pub fn json<T: Serialize + ?Sized>(mut self, body: &T) -> Self {
        match serde_json::to_vec(body) {
            Ok(json) => {
                self.headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                self.body = Some(Bytes::from(json));
            }
            Err(e) => self.invalid = Some(ClientError::InvalidRequest(format!("the body does not serialise: {e}"))),
        }
        self
    }

    /// Sends the request and decodes a successful answer's JSON body.
    pub async fn send_json<T: DeserializeOwned>(self) -> Result<T, ClientError> {
        let method = self.method.clone();
        let response = self.send().await?;
        let url = response.url().to_string();
        response.json().await.map_err(|source| ClientError::Body { method, url, source })
    }

    /// Sends the request: the answer when its status is below 400, else
    /// [`ClientError::Status`]. Retries as the module docs of [`crate::client`] say; a 401 makes
    /// the token source fetch a new token, and the request is sent once more with it.
    #[tracing::instrument(
        skip_all,
        fields(method = %self.method, url = tracing::field::Empty, trace_id = tracing::field::Empty),
        err(level = tracing::Level::INFO)
    )]
    pub async fn send(self) -> Result<Response, ClientError> {
        if let Some(invalid) = self.invalid {
            return Err(invalid);
        }
        let url = self.url?;
        let traceparent = TraceParent::for_outgoing(self.traceparent.as_deref());
        let span = tracing::Span::current();
        span.record("url", url.as_str());
        span.record("trace_id", traceparent.trace_id());
        let mut headers = self.headers;
        headers.insert(
            HeaderName::from_static("traceparent"),
            HeaderValue::try_from(traceparent.to_string())
                .unwrap_or_else(|_| unreachable!("a traceparent is lower-case hex and dashes")),
        );
        let call = Call {
            client: &self.client.inner,
            idempotent: retry::is_idempotent(&self.method, &headers),
            method: self.method,
            url,
            headers,
            body: self.body,
        };
        call.run().await
    }
}

/// A request ready to be sent, as many times as its retries allow.
struct Call<'a> {
    client: &'a Inner,
    method: Method,
    url: Url,
    headers: HeaderMap,
    body: Option<Bytes>,
    idempotent: bool,
}

impl Call<'_> {
    async fn run(&self) -> Result<Response, ClientError> {
        let mut attempt = 1;
        let mut token_refreshed = false;
        loop {
            let token = self.client.tokens.token().await?;
            let result = self.attempt(token.expose_secret()).await;
            let delay = match result {
                Ok(response) if response.status() == StatusCode::UNAUTHORIZED && !token_refreshed => {
                    // Expired or revoked early: one more try with a new token, which is safe
                    // for any method (the refused request did nothing). Not an attempt.
                    tracing::info!("the service refused the token; fetching a new one");
                    token_refreshed = true;
                    self.client.tokens.invalidate(&token).await;
                    continue;
                }
                Ok(response) if response.status().as_u16() < 400 => return Ok(response),
                Ok(response) => {
                    let status = response.status();
                    let wait = retry::retry_after(response.headers(), SystemTime::now());
                    match self.retry_delay(attempt, retry::is_retryable_status(status), wait) {
                        Some(delay) => {
                            tracing::warn!(%status, attempt, delay_ms = delay.as_millis(), "retrying");
                            delay
                        }
                        None => return Err(self.status_error(response, attempt).await),
                    }
                }
                Err(error) => {
                    let retryable = error.is_connect() || error.is_timeout();
                    match self.retry_delay(attempt, retryable, None) {
                        Some(delay) => {
                            tracing::warn!(error = %error, attempt, delay_ms = delay.as_millis(), "retrying");
                            delay
                        }
                        None => {
                            return Err(ClientError::Transport {
                                method: self.method.clone(),
                                url: self.url.to_string(),
                                attempts: attempt,
                                source: error.without_url(),
                            });
                        }
                    }
                }
            };
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }

    async fn attempt(&self, token: &str) -> Result<Response, reqwest::Error> {
        let mut request = self
            .client
            .http
            .request(self.method.clone(), self.url.clone())
            .headers(self.headers.clone())
            .bearer_auth(token);
        if let Some(body) = &self.body {
            request = request.body(body.clone());
        }
        request.send().await
    }

    /// How long to wait before the next attempt, or `None` to give up: the request is not
    /// idempotent, the failure not retryable, the attempts are spent, or the server asks
    /// for a longer wait than [`RetrySettings::max_retry_after_ms`].
    fn retry_delay(&self, attempt: u32, retryable: bool, retry_after: Option<Duration>) -> Option<Duration> {
        let retry = &self.client.retry;
        if !self.idempotent || !retryable || attempt >= retry.max_attempts {
            return None;
        }
        match retry_after {
            Some(wait) if wait > retry.max_retry_after() => None,
            Some(wait) => Some(wait),
            None => Some(retry.backoff().delay(attempt, &mut rand::rng())),
        }
    }

    async fn status_error(&self, response: Response, attempts: u32) -> ClientError {
        let status = response.status();
        let body = response.bytes().await.unwrap_or_default();
        let end = body.len().min(MAX_ERROR_BODY);
        ClientError::Status {
            method: self.method.clone(),
            url: self.url.to_string(),
            status,
            attempts,
            body: String::from_utf8_lossy(&body[..end]).into_owned(),
        }
    }
}
