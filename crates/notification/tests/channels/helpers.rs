//! The harness: a fresh database with the channels' tables, the channels, the settings and
//! endpoint routes served on port 0, a scriptable webhook receiver, and the Python tools.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use notification::channels::{ChannelSettings, Channels, Message};
use notification::endpoints::{self, EndpointsState, MIGRATIONS_POSTGRES, MIGRATIONS_SQLITE};
use reqwest::Method;
use serde_json::{Value, json};
use service_runtime::auth::Verifier;
use service_runtime::database::{DatabaseSettings, Migrations, Pool};
use tokio::net::TcpListener;
use uuid::Uuid;

/// The channels' migrations alone, in a table of their own (the service runs them with its
/// others).
pub(crate) const MIGRATIONS: Migrations = Migrations {
    table: "_notification_channels_test_migrations",
    postgres: &MIGRATIONS_POSTGRES,
    sqlite: &MIGRATIONS_SQLITE,
};

/// The audience of the test tokens.
const AUDIENCE: &str = "notification";

fn admin_url() -> String {
    std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A fresh PostgreSQL database with the channels' tables.
pub(crate) async fn fresh_pool() -> Pool {
    let url = service_runtime::testing::fresh_postgres_database(&admin_url(), "notification_channels_test")
        .await
        .expect("PostgreSQL on DATABASE_URL");
    Pool::connect(&DatabaseSettings { url, ..Default::default() }, &MIGRATIONS).await.expect("connect and migrate")
}

/// Settings for local receivers: `http` and loopback allowed, a short attempt timeout, mail
/// written to `mail_dir`.
pub(crate) fn local_settings(mail_dir: &Path) -> ChannelSettings {
    let mut settings = ChannelSettings::default();
    settings.webhook.allow_http = true;
    settings.webhook.allow_private = true;
    settings.webhook.timeout_ms = 2_000;
    settings.email.file_dir = mail_dir.to_owned();
    settings
}

/// A bearer token for `user`.
pub(crate) fn token(user: &str) -> String {
    token_with(user, json!({}))
}

/// A bearer token for `sub` with extra claims (an object).
pub(crate) fn token_with(sub: &str, claims: Value) -> String {
    let Value::Object(claims) = claims else { panic!("claims are an object") };
    service_runtime::auth::testing::token(AUDIENCE, sub, claims)
}

/// The channels and their routes on port 0, over one fresh database.
pub(crate) struct TestEnv {
    pub(crate) channels: Channels,
    pub(crate) base: String,
    pub(crate) client: reqwest::Client,
    pub(crate) mail_dir: tempfile::TempDir,
}

impl TestEnv {
    /// Local settings ([`local_settings`]).
    pub(crate) async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Local settings changed by `tweak`.
    pub(crate) async fn start_with(tweak: impl FnOnce(&mut ChannelSettings)) -> Self {
        Self::start_on(fresh_pool().await, tweak).await
    }

    /// Local settings changed by `tweak`, over `pool`.
    pub(crate) async fn start_on(pool: Pool, tweak: impl FnOnce(&mut ChannelSettings)) -> Self {
        let mail_dir = tempfile::tempdir().expect("a temporary directory");
        let mut settings = local_settings(mail_dir.path());
        tweak(&mut settings);
        let channels = Channels::new(&settings, pool).expect("channels");
        let verifier = Verifier::new(&service_runtime::auth::testing::settings(AUDIENCE)).expect("a verifier");
        let router = endpoints::router(EndpointsState::new(&channels, verifier));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let base = format!("http://{}", listener.local_addr().expect("an address"));
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self { channels, base, client: reqwest::Client::new(), mail_dir }
    }

    /// A request as `user` (no token when `None`).
    pub(crate) async fn call(
        &self,
        method: Method,
        path: &str,
        user: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(user) = user {
            request = request.bearer_auth(token(user));
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("the API answers");
        let status = StatusCode::from_u16(response.status().as_u16()).expect("a status");
        let text = response.text().await.expect("a body");
        (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).expect("JSON") })
    }

    /// Creates an endpoint for `user` posting to `url`; returns (id, secret).
    pub(crate) async fn create_endpoint(&self, user: &str, url: &str) -> (Uuid, String) {
        let (status, body) =
            self.call(Method::POST, "/v1/webhook-endpoints", Some(user), Some(json!({ "url": url }))).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        let id = body["id"].as_str().and_then(|id| id.parse().ok()).expect("an id");
        (id, body["secret"].as_str().expect("a secret").to_owned())
    }
}

impl TestEnv {
    /// Sets `user`'s email address and turns email on, through the API.
    pub(crate) async fn enable_email(&self, user: &str, address: &str) {
        let body = json!({ "email_address": address, "email_enabled": true });
        let (status, body) = self.call(Method::PUT, "/v1/notification-settings", Some(user), Some(body)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
}

/// A reminder of `user` that fired now.
pub(crate) fn message(user: &str) -> Message {
    let now = Utc::now();
    Message {
        reminder_id: Uuid::now_v7(),
        user_id: user.into(),
        task_id: Uuid::now_v7(),
        title: "Water the plants".into(),
        remind_at: now,
        due_at: Some(now + chrono::Duration::hours(1)),
        fired_at: now,
        late: false,
        generation: 0,
    }
}

/// How the receiver answers one request.
#[derive(Debug, Clone)]
pub(crate) enum Answer {
    /// This status, with these headers.
    Status(u16, Vec<(&'static str, String)>),
    /// Never: the request hangs until the client gives up.
    Never,
}

/// One request the receiver got.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub(crate) headers: HeaderMap,
    pub(crate) body: String,
}

impl Received {
    pub(crate) fn header(&self, name: &str) -> String {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
    }
}

#[derive(Debug, Default)]
struct ReceiverState {
    answers: Mutex<VecDeque<Answer>>,
    received: Mutex<Vec<Received>>,
}

/// A webhook receiver on 127.0.0.1:<port>: answers the scripted answers in order, then 204.
#[derive(Debug, Clone)]
pub(crate) struct Receiver {
    state: Arc<ReceiverState>,
    pub(crate) port: u16,
}

impl Receiver {
    pub(crate) async fn start(answers: Vec<Answer>) -> Self {
        let state = Arc::new(ReceiverState { answers: Mutex::new(answers.into()), received: Mutex::default() });
        let router = axum::Router::new().route("/hook", axum::routing::post(receive)).with_state(state.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let port = listener.local_addr().expect("an address").port();
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self { state, port }
    }

    /// `http://127.0.0.1:<port>/hook`.
    pub(crate) fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    /// What arrived so far.
    pub(crate) fn received(&self) -> Vec<Received> {
        self.state.received.lock().expect("not poisoned").clone()
    }
}

async fn receive(State(state): State<Arc<ReceiverState>>, headers: HeaderMap, body: Bytes) -> Response {
    let body = String::from_utf8_lossy(&body).into_owned();
    state.received.lock().expect("not poisoned").push(Received { headers, body });
    let answer = state.answers.lock().expect("not poisoned").pop_front();
    match answer {
        None => StatusCode::NO_CONTENT.into_response(),
        Some(Answer::Status(status, headers)) => {
            let mut response = StatusCode::from_u16(status).expect("a status").into_response();
            for (name, value) in headers {
                response.headers_mut().insert(name, value.parse().expect("a header value"));
            }
            response
        }
        Some(Answer::Never) => std::future::pending().await,
    }
}

/// The project's Python venv (tests/python/venv.sh, once per test binary); its python.
pub(crate) async fn python() -> PathBuf {
    static PYTHON: tokio::sync::OnceCell<PathBuf> = tokio::sync::OnceCell::const_new();
    PYTHON
        .get_or_init(|| async {
            let script = repository().join("tests/python/venv.sh");
            let output = tokio::process::Command::new("bash").arg(script).output().await.expect("bash runs");
            assert!(output.status.success(), "venv.sh failed: {}", String::from_utf8_lossy(&output.stderr));
            PathBuf::from(String::from_utf8(output.stdout).expect("a path").trim())
        })
        .await
        .clone()
}

/// The repository's root.
pub(crate) fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs a script of tests/python with `input` on stdin; (success, stdout, stderr).
pub(crate) async fn run_python(script: &str, args: &[&str], input: &[u8]) -> (bool, String, String) {
    use tokio::io::AsyncWriteExt as _;
    let mut child = tokio::process::Command::new(python().await)
        .arg(repository().join("tests/python").join(script))
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python starts");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(input).await.expect("write stdin");
    drop(stdin);
    let output = child.wait_with_output().await.expect("python ends");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Whether the Standard Webhooks reference library accepts `received` signed with `secret`;
/// the payload it verified.
pub(crate) async fn verify(secret: &str, received: &Received) -> Result<Value, String> {
    let headers: serde_json::Map<String, Value> = ["webhook-id", "webhook-timestamp", "webhook-signature"]
        .iter()
        .map(|name| ((*name).to_owned(), Value::String(received.header(name))))
        .collect();
    let input = json!({ "secret": secret, "headers": headers, "body": received.body });
    let (ok, stdout, stderr) = run_python("verify_webhook.py", &[], input.to_string().as_bytes()).await;
    if ok { Ok(serde_json::from_str(&stdout).expect("the verified payload")) } else { Err(stderr) }
}

/// Polls `check` every 50 ms until it returns `Some`, for at most `timeout`.
pub(crate) async fn eventually<T>(timeout: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(tokio::time::Instant::now() < deadline, "not within {timeout:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
