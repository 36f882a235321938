//! The grant against a token endpoint of the test's own (axum on 127.0.0.1:0) that counts the
//! requests it gets and answers as the test tells it.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use secrecy::ExposeSecret;
use serde_json::json;

use super::*;

/// What the endpoint answers; `{n}` in the body becomes the request's number.
#[derive(Clone)]
struct Answer {
    status: StatusCode,
    body: String,
    delay: Duration,
}

#[derive(Clone)]
struct Endpoint {
    hits: Arc<AtomicU32>,
    answer: Arc<StdMutex<Answer>>,
    last: Arc<StdMutex<Option<Request>>>,
}

/// A request the endpoint got: its `Authorization` header and form fields.
type Request = (Option<String>, Vec<(String, String)>);

impl Endpoint {
    async fn start(answer: Answer) -> (Self, SocketAddr) {
        let endpoint = Self { hits: Arc::default(), answer: Arc::new(StdMutex::new(answer)), last: Arc::default() };
        let app = Router::new().route("/token", post(token_endpoint)).with_state(endpoint.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        tokio::spawn(async move { axum::serve(listener, app).await });
        (endpoint, address)
    }

    fn hits(&self) -> u32 {
        self.hits.load(Ordering::SeqCst)
    }

    fn answer(&self, answer: Answer) {
        *self.answer.lock().expect("answer") = answer;
    }
}

async fn token_endpoint(State(endpoint): State<Endpoint>, headers: HeaderMap, body: String) -> Response {
    let n = endpoint.hits.fetch_add(1, Ordering::SeqCst) + 1;
    let authorization = headers.get("authorization").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let form = form_urlencoded::parse(body.as_bytes()).into_owned().collect();
    *endpoint.last.lock().expect("last") = Some((authorization, form));
    let answer = endpoint.answer.lock().expect("answer").clone();
    // Keeps concurrent callers waiting on the same fetch.
    tokio::time::sleep(answer.delay).await;
    (answer.status, [("content-type", "application/json")], answer.body.replace("{n}", &n.to_string())).into_response()
}

fn ok(expires_in: u64) -> Answer {
    Answer {
        status: StatusCode::OK,
        body: json!({ "access_token": "token-{n}", "token_type": "Bearer", "expires_in": expires_in }).to_string(),
        delay: Duration::ZERO,
    }
}

fn settings(address: SocketAddr) -> ClientCredentialsSettings {
    ClientCredentialsSettings {
        token_url: format!("http://{address}/token"),
        client_id: "recurring-task".into(),
        client_secret: Some("s3cret:with/odd chars".into()),
        scope: Some("tasks:write_on_behalf".into()),
        audience: Some("task-api".into()),
        refresh_margin_seconds: 60,
        ..ClientCredentialsSettings::default()
    }
}

/// A clock the test moves forward.
#[derive(Clone)]
struct TestClock {
    start: Instant,
    offset: Arc<StdMutex<Duration>>,
}

impl TestClock {
    fn new() -> Self {
        Self { start: Instant::now(), offset: Arc::default() }
    }

    fn advance(&self, by: Duration) {
        *self.offset.lock().expect("clock") += by;
    }

    fn clock(&self) -> Clock {
        let this = self.clone();
        Arc::new(move || this.start + *this.offset.lock().expect("clock"))
    }
}

fn source(settings: &ClientCredentialsSettings, clock: &TestClock) -> ClientCredentials {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().expect("a client");
    ClientCredentials::new(settings, http, clock.clock()).expect("a source")
}

async fn token(source: &ClientCredentials) -> String {
    source.token().await.expect("a token").expose_secret().to_owned()
}

#[tokio::test]
async fn calls_within_the_lifetime_share_one_token_and_a_call_after_the_margin_fetches_another() {
    let (endpoint, address) = Endpoint::start(ok(300)).await;
    let clock = TestClock::new();
    let source = source(&settings(address), &clock);

    let first = token(&source).await;
    clock.advance(Duration::from_secs(200));
    let second = token(&source).await;
    assert_eq!((first.as_str(), second.as_str(), endpoint.hits()), ("token-1", "token-1", 1));

    // 300 s lifetime, 60 s margin: from 240 s on, a new token.
    clock.advance(Duration::from_secs(41));
    let third = token(&source).await;
    assert_eq!((third.as_str(), endpoint.hits()), ("token-2", 2));
}

#[tokio::test]
async fn an_expired_token_is_replaced() {
    let (endpoint, address) = Endpoint::start(ok(30)).await;
    let clock = TestClock::new();
    let source = source(&settings(address), &clock);

    assert_eq!(token(&source).await, "token-1");
    clock.advance(Duration::from_secs(31));

    assert_eq!(token(&source).await, "token-2");
    assert_eq!(endpoint.hits(), 2);
}

#[tokio::test]
async fn a_short_lived_token_is_refreshed_halfway_rather_than_at_once() {
    let (endpoint, address) = Endpoint::start(ok(40)).await;
    let clock = TestClock::new();
    let source = source(&settings(address), &clock);

    token(&source).await;
    clock.advance(Duration::from_secs(19));
    token(&source).await;
    assert_eq!(endpoint.hits(), 1, "a 60 s margin would refresh a 40 s token on every call");

    clock.advance(Duration::from_secs(2));
    token(&source).await;
    assert_eq!(endpoint.hits(), 2);
}

#[tokio::test]
async fn concurrent_callers_share_one_fetch() {
    let (endpoint, address) = Endpoint::start(Answer { delay: Duration::from_millis(200), ..ok(300) }).await;
    let source = Arc::new(source(&settings(address), &TestClock::new()));

    let tokens = futures::future::join_all((0..8).map(|_| {
        let source = Arc::clone(&source);
        tokio::spawn(async move { token(&source).await })
    }))
    .await;

    assert!(tokens.iter().all(|t| t.as_ref().is_ok_and(|t| t == "token-1")), "{tokens:?}");
    assert_eq!(endpoint.hits(), 1);
}

#[tokio::test]
async fn the_request_is_a_client_credentials_grant_with_basic_credentials() {
    let (endpoint, address) = Endpoint::start(ok(300)).await;
    let source = source(&settings(address), &TestClock::new());

    token(&source).await;

    let (authorization, form) = endpoint.last.lock().expect("last").clone().expect("a request");
    // RFC 6749 §2.3.1: id and secret are form-encoded before they are joined and base64-encoded.
    let expected = STANDARD.encode("recurring-task:s3cret%3Awith%2Fodd+chars");
    assert_eq!(authorization, Some(format!("Basic {expected}")));
    let fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(
        fields,
        [("grant_type", "client_credentials"), ("scope", "tasks:write_on_behalf"), ("audience", "task-api")]
    );
}

#[tokio::test]
async fn with_the_post_method_the_credentials_travel_in_the_form() {
    let (endpoint, address) = Endpoint::start(ok(300)).await;
    let settings = ClientCredentialsSettings {
        auth_method: ClientAuthMethod::Post,
        scope: None,
        audience: None,
        ..settings(address)
    };
    let source = source(&settings, &TestClock::new());

    token(&source).await;

    let (authorization, form) = endpoint.last.lock().expect("last").clone().expect("a request");
    assert_eq!(authorization, None);
    let fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(
        fields,
        [
            ("grant_type", "client_credentials"),
            ("client_id", "recurring-task"),
            ("client_secret", "s3cret:with/odd chars")
        ]
    );
}

#[tokio::test]
async fn a_refusal_from_the_endpoint_is_a_clear_error() {
    let refusal = json!({ "error": "invalid_client", "error_description": "unknown client" }).to_string();
    let (_, address) =
        Endpoint::start(Answer { status: StatusCode::UNAUTHORIZED, body: refusal, delay: Duration::ZERO }).await;
    let source = source(&settings(address), &TestClock::new());

    let error = source.token().await.expect_err("refused");

    assert!(
        matches!(&error, TokenError::Refused { status, error: Some(code), .. } if *status == 401 && code == "invalid_client"),
        "{error:?}"
    );
    assert!(error.to_string().contains("401 Unauthorized: invalid_client (unknown client)"), "{error}");
    assert!(!error.is_transient());
}

#[tokio::test]
async fn an_answer_that_is_not_a_bearer_token_is_a_clear_error() {
    let (endpoint, address) = Endpoint::start(Answer { body: "<html>login</html>".into(), ..ok(300) }).await;
    let source = source(&settings(address), &TestClock::new());

    let not_json = source.token().await.expect_err("not JSON");
    endpoint.answer(Answer {
        body: json!({ "access_token": "x", "token_type": "DPoP", "expires_in": 60 }).to_string(),
        ..ok(300)
    });
    let not_bearer = source.token().await.expect_err("not a bearer token");

    assert!(matches!(&not_json, TokenError::InvalidResponse { reason, .. } if reason.contains("JSON")), "{not_json}");
    assert!(
        matches!(&not_bearer, TokenError::InvalidResponse { reason, .. } if reason.contains("DPoP")),
        "{not_bearer}"
    );
}

#[tokio::test]
async fn a_failed_refresh_keeps_the_current_token_until_it_expires() {
    let (endpoint, address) = Endpoint::start(ok(300)).await;
    let clock = TestClock::new();
    let source = source(&settings(address), &clock);
    token(&source).await;
    endpoint.answer(Answer { status: StatusCode::SERVICE_UNAVAILABLE, body: "{}".into(), delay: Duration::ZERO });

    clock.advance(Duration::from_secs(250));
    let during_margin = source.token().await;
    clock.advance(Duration::from_secs(60));
    let after_expiry = source.token().await;

    assert_eq!(during_margin.expect("the current token").expose_secret(), "token-1");
    assert!(matches!(after_expiry, Err(TokenError::Refused { status, .. }) if status == 503));
    assert_eq!(endpoint.hits(), 3);
}

#[tokio::test]
async fn an_invalidated_token_is_fetched_again_but_only_once_for_many_rejections() {
    let (endpoint, address) = Endpoint::start(ok(300)).await;
    let source = source(&settings(address), &TestClock::new());
    let rejected = source.token().await.expect("a token");

    source.invalidate(&rejected).await;
    source.invalidate(&rejected).await;
    let fresh = token(&source).await;
    source.invalidate(&rejected).await;

    assert_eq!((fresh.as_str(), token(&source).await.as_str(), endpoint.hits()), ("token-2", "token-2", 2));
}

#[tokio::test]
async fn debug_output_shows_neither_the_secret_nor_the_token() {
    let (_, address) = Endpoint::start(ok(300)).await;
    let source = source(&settings(address), &TestClock::new());
    token(&source).await;

    let printed = format!("{source:?}");

    assert!(printed.contains("recurring-task"), "{printed}");
    assert!(!printed.contains("s3cret") && !printed.contains("token-1"), "{printed}");
}

#[test]
fn missing_settings_are_named() {
    let http = reqwest::Client::new();
    let clock = TestClock::new();
    let address: SocketAddr = "127.0.0.1:1".parse().expect("an address");
    let no_url = ClientCredentials::new(
        &ClientCredentialsSettings { token_url: String::new(), ..settings(address) },
        http.clone(),
        clock.clock(),
    );
    let no_id = ClientCredentials::new(
        &ClientCredentialsSettings { client_id: String::new(), ..settings(address) },
        http.clone(),
        clock.clock(),
    );
    let no_secret = ClientCredentials::new(
        &ClientCredentialsSettings { client_secret: None, ..settings(address) },
        http,
        clock.clock(),
    );

    assert!(matches!(no_url, Err(TokenError::Settings(m)) if m.contains("token_url")));
    assert!(matches!(no_id, Err(TokenError::Settings(m)) if m.contains("client_id")));
    assert!(matches!(no_secret, Err(TokenError::Settings(m)) if m.contains("client_secret")));
}
