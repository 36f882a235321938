//! [`ServiceClient`] against a service of the test's own (axum on 127.0.0.1:0) that answers
//! from a script and records what it received.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::*;

/// One scripted answer: a status, headers, and how long to wait before answering.
#[derive(Clone)]
struct Step {
    status: StatusCode,
    headers: Vec<(&'static str, String)>,
    delay: Duration,
}

fn answer(status: u16) -> Step {
    Step { status: StatusCode::from_u16(status).expect("a status"), headers: Vec::new(), delay: Duration::ZERO }
}

/// What the service received.
#[derive(Debug, Clone)]
struct Received {
    method: Method,
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

#[derive(Clone, Default)]
struct Service {
    /// Answers in order; once spent, 200 with `{"ok": true}`.
    script: Arc<Mutex<VecDeque<Step>>>,
    received: Arc<Mutex<Vec<Received>>>,
    /// When set, a request whose bearer token is not this one answers 401 (and, as an
    /// identity provider rotating tokens would, the token file gets this one).
    valid_token: Arc<Mutex<Option<(String, std::path::PathBuf)>>>,
}

impl Service {
    async fn start(script: Vec<Step>) -> (Self, SocketAddr) {
        let service = Self { script: Arc::new(Mutex::new(script.into())), ..Self::default() };
        let app = Router::new().fallback(handle).with_state(service.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        tokio::spawn(async move { axum::serve(listener, app).await });
        (service, address)
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().expect("received").clone()
    }
}

async fn handle(
    State(service): State<Service>,
    method: Method,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let bearer = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    service.received.lock().expect("received").push(Received { method, path: uri.to_string(), headers, body });
    let valid = service.valid_token.lock().expect("token").clone();
    if let Some((token, file)) = valid
        && bearer != format!("Bearer {token}")
    {
        std::fs::write(&file, &token).expect("rotate the token file");
        return (StatusCode::UNAUTHORIZED, "stale token").into_response();
    }
    let step = service.script.lock().expect("script").pop_front();
    let Some(step) = step else { return axum::Json(json!({ "ok": true })).into_response() };
    tokio::time::sleep(step.delay).await;
    let mut response = (step.status, format!("scripted {}", step.status.as_u16())).into_response();
    for (name, value) in step.headers {
        response.headers_mut().insert(name, value.parse().expect("a header value"));
    }
    response
}

const SECRET: &str = "a-development-secret-of-32-bytes-or-more";

fn settings(address: SocketAddr) -> ClientSettings {
    ClientSettings {
        base_url: format!("http://{address}/"),
        request_timeout_ms: 500,
        retry: RetrySettings { max_attempts: 3, initial_backoff_ms: 10, max_backoff_ms: 50, max_retry_after_ms: 2_000 },
        token: TokenSettings {
            development: DevelopmentTokenSettings {
                service: "recurring-task".into(),
                hs256_secret: Some(SECRET.into()),
                ..DevelopmentTokenSettings::default()
            },
            ..TokenSettings::default()
        },
        ..ClientSettings::default()
    }
}

fn client(address: SocketAddr) -> ServiceClient {
    ServiceClient::new(&settings(address)).expect("a client")
}

#[tokio::test]
async fn a_call_carries_the_token_the_user_and_a_continued_trace() {
    let (service, address) = Service::start(vec![]).await;
    let incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    let body: Value = client(address)
        .post("/v1/tasks?x=1")
        .on_behalf_of("alice")
        .traceparent(Some(incoming))
        .json(&json!({ "title": "t" }))
        .send_json()
        .await
        .expect("ok");

    assert_eq!(body, json!({ "ok": true }));
    let [received] = &service.received()[..] else { panic!("one request") };
    assert_eq!((&received.method, received.path.as_str()), (&Method::POST, "/v1/tasks?x=1"));
    assert_eq!(received.headers["x-on-behalf-of"], "alice");
    assert_eq!(received.headers["content-type"], "application/json");
    assert_eq!(serde_json::from_slice::<Value>(&received.body).expect("JSON"), json!({ "title": "t" }));
    let token = received.headers["authorization"].to_str().expect("ASCII").strip_prefix("Bearer ").expect("bearer");
    let verifier = crate::auth::Verifier::new(&crate::auth::AuthSettings {
        hs256_secret: Some(SECRET.into()),
        ..crate::auth::AuthSettings::default()
    })
    .expect("a verifier");
    let caller = verifier.verify_request(token, Some("alice")).expect("a service acting for alice");
    assert_eq!(caller.actor.subject(), "service:recurring-task");
    let traceparent = received.headers["traceparent"].to_str().expect("ASCII");
    let sent = TraceParent::parse(traceparent).expect("a valid traceparent");
    assert_eq!(sent.trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_ne!(traceparent, incoming, "the call is a span of its own");
}

#[tokio::test]
async fn a_call_without_an_incoming_trace_starts_one() {
    let (service, address) = Service::start(vec![]).await;

    client(address).get("/x").traceparent(Some("garbage")).send().await.expect("ok");

    let received = service.received();
    assert!(TraceParent::parse(received[0].headers["traceparent"].to_str().expect("ASCII")).is_some());
}

#[tokio::test]
async fn a_get_is_retried_on_503_and_429_until_it_succeeds() {
    let (service, address) = Service::start(vec![answer(503), answer(429)]).await;

    let response = client(address).get("/v1/tasks/1").send().await.expect("succeeds on the third attempt");

    assert_eq!(response.status(), 200);
    assert_eq!(service.received().len(), 3);
}

#[tokio::test]
async fn retries_stop_after_max_attempts_with_a_transient_error() {
    let (service, address) = Service::start(vec![answer(502), answer(504), answer(503), answer(503)]).await;

    let error = client(address).get("/x").send().await.expect_err("fails");

    assert!(matches!(&error, ClientError::Status { status, attempts: 3, .. } if *status == 503), "{error}");
    assert!(error.is_transient());
    assert_eq!(service.received().len(), 3);
}

#[tokio::test]
async fn a_post_without_an_idempotency_key_is_never_retried() {
    let (service, address) = Service::start(vec![answer(503)]).await;

    let error = client(address).post("/v1/tasks").json(&json!({})).send().await.expect_err("fails");

    assert_eq!(error.status(), Some(StatusCode::SERVICE_UNAVAILABLE));
    assert_eq!(service.received().len(), 1);
}

#[tokio::test]
async fn a_post_with_an_idempotency_key_is_retried_with_the_same_key_and_body() {
    let (service, address) = Service::start(vec![answer(503)]).await;

    client(address).post("/v1/tasks").idempotency_key("k-1").json(&json!({ "a": 1 })).send().await.expect("ok");

    let received = service.received();
    assert_eq!(received.len(), 2);
    assert!(received.iter().all(|r| r.headers["idempotency-key"] == "k-1" && r.body == received[0].body));
}

#[tokio::test]
async fn other_client_errors_and_500_are_not_retried() {
    for status in [400, 403, 404, 409, 422, 500] {
        let (service, address) = Service::start(vec![answer(status)]).await;

        let error = client(address).get("/x").send().await.expect_err("fails");

        assert_eq!(error.status().map(|s| s.as_u16()), Some(status));
        assert!(matches!(&error, ClientError::Status { body, .. } if body == &format!("scripted {status}")));
        assert_eq!(service.received().len(), 1, "{status}");
        assert_eq!(error.is_transient(), status == 500, "{status}");
    }
}

#[tokio::test]
async fn retry_after_is_honoured_within_the_cap_and_ends_retries_beyond_it() {
    let within = Step { headers: vec![("retry-after", "1".into())], ..answer(503) };
    let beyond = Step { headers: vec![("retry-after", "3".into())], ..answer(429) };
    let (service, address) = Service::start(vec![within, beyond]).await;
    let client = client(address);

    let started = Instant::now();
    let error = client.get("/x").send().await.expect_err("the second answer asks for too long");

    assert!(started.elapsed() >= Duration::from_secs(1), "waited as asked: {:?}", started.elapsed());
    assert!(started.elapsed() < Duration::from_secs(3), "did not wait 3 s: {:?}", started.elapsed());
    assert_eq!(error.status(), Some(StatusCode::TOO_MANY_REQUESTS));
    assert_eq!(service.received().len(), 2);
}

#[tokio::test]
async fn a_timed_out_get_is_retried_and_a_timed_out_post_is_not() {
    let slow = Step { delay: Duration::from_secs(2), ..answer(200) };
    let (service, address) = Service::start(vec![slow.clone(), answer(200), slow]).await;
    let client = client(address);

    client.get("/x").send().await.expect("the second attempt is answered at once");
    let error = client.post("/x").send().await.expect_err("timed out");

    assert!(matches!(&error, ClientError::Transport { attempts: 1, source, .. } if source.is_timeout()), "{error:?}");
    assert!(error.is_transient());
    assert_eq!(service.received().len(), 3);
}

#[tokio::test]
async fn a_refused_connection_is_retried_for_a_get_only() {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address")
    };
    let client = client(closed);

    let get = client.get("/x").send().await.expect_err("nobody listens");
    let post = client.post("/x").send().await.expect_err("nobody listens");

    assert!(matches!(get, ClientError::Transport { attempts: 3, .. }), "{get:?}");
    assert!(matches!(post, ClientError::Transport { attempts: 1, .. }), "{post:?}");
}

fn file_client(address: SocketAddr, token_file: &Path) -> ServiceClient {
    let mut settings = settings(address);
    settings.token = TokenSettings {
        source: TokenSourceKind::File,
        file: FileTokenSettings { path: Some(token_file.to_owned()) },
        ..TokenSettings::default()
    };
    ServiceClient::new(&settings).expect("a client")
}

#[tokio::test]
async fn a_401_makes_the_token_source_read_a_new_token_and_the_request_go_once_more() {
    let dir = tempfile::tempdir().expect("tempdir");
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "stale-token").expect("write");
    let (service, address) = Service::start(vec![]).await;
    *service.valid_token.lock().expect("token") = Some(("fresh-token-after-rotation".into(), token_file.clone()));

    // A POST without a key: a refused request did nothing, so sending it again is safe.
    client_post_ok(&file_client(address, &token_file)).await;

    let tokens: Vec<String> =
        service.received().iter().map(|r| r.headers["authorization"].to_str().expect("ASCII").to_owned()).collect();
    assert_eq!(tokens, ["Bearer stale-token", "Bearer fresh-token-after-rotation"]);
}

async fn client_post_ok(client: &ServiceClient) {
    let response = client.post("/v1/tasks").json(&json!({})).send().await.expect("accepted with the new token");
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn a_second_401_is_the_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "stale-token").expect("write");
    let (service, address) = Service::start(vec![answer(401), answer(401), answer(401)]).await;

    let error = file_client(address, &token_file).get("/x").send().await.expect_err("refused");

    assert_eq!(error.status(), Some(StatusCode::UNAUTHORIZED));
    assert!(!error.is_transient());
    assert_eq!(service.received().len(), 2);
}

#[tokio::test]
async fn invalid_settings_and_requests_fail_before_anything_is_sent() {
    let (service, address) = Service::start(vec![]).await;
    let no_base = ServiceClient::new(&ClientSettings { base_url: String::new(), ..settings(address) });
    let no_secret = ServiceClient::new(&ClientSettings { token: TokenSettings::default(), ..settings(address) });
    let client = client(address);

    let bad_header = client.get("/x").on_behalf_of("line\nbreak").send().await;
    let bad_path = client.get("x").send().await;

    assert!(matches!(no_base, Err(ClientError::Settings(m)) if m.contains("base_url")));
    assert!(matches!(no_secret, Err(ClientError::Token(TokenError::Settings(_)))));
    assert!(matches!(bad_header, Err(ClientError::InvalidRequest(_))));
    assert!(matches!(bad_path, Err(ClientError::InvalidRequest(_))));
    assert!(service.received().is_empty());
}

#[tokio::test]
async fn debug_output_of_a_client_and_its_token_source_hides_secrets() {
    let (_, address) = Service::start(vec![]).await;
    let mut settings = settings(address);
    settings.token.client_credentials = ClientCredentialsSettings {
        token_url: "https://idp.example/token".into(),
        client_id: "recurring-task".into(),
        client_secret: Some("client-secret-do-not-print".into()),
        ..ClientCredentialsSettings::default()
    };
    let development = client(address);
    settings.token.source = TokenSourceKind::ClientCredentials;
    let credentials = ServiceClient::new(&settings).expect("a client");

    let printed = format!("{development:?} {:?} {credentials:?}", development.token_source());

    assert!(printed.contains("recurring-task"), "{printed}");
    assert!(!printed.contains(SECRET) && !printed.contains("do-not-print"), "{printed}");
}
