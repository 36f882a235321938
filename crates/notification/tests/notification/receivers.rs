//! Real receivers for the channels: a webhook receiver (a small axum server answering as
//! scripted), an SMTP server (aiosmtpd from the project's Python venv, tests/python), and the
//! Standard Webhooks reference library as an independent signature verifier.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::net::TcpListener;

/// How the receiver answers one request.
#[derive(Debug, Clone)]
pub(crate) enum Answer {
    /// This status.
    Status(u16),
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
    delay: Duration,
}

/// A webhook receiver on 127.0.0.1:<port>: answers the scripted answers in order, then 204
/// (after `delay`, to keep deliveries in flight a while).
#[derive(Debug, Clone)]
pub(crate) struct Receiver {
    state: Arc<ReceiverState>,
    pub(crate) port: u16,
}

impl Receiver {
    pub(crate) async fn start(answers: Vec<Answer>) -> Self {
        Self::start_slow(answers, Duration::ZERO).await
    }

    pub(crate) async fn start_slow(answers: Vec<Answer>, delay: Duration) -> Self {
        let state = Arc::new(ReceiverState { answers: Mutex::new(answers.into()), received: Mutex::default(), delay });
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
        None => {
            tokio::time::sleep(state.delay).await;
            StatusCode::NO_CONTENT.into_response()
        }
        Some(Answer::Status(status)) => StatusCode::from_u16(status).expect("a status").into_response(),
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

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Whether the Standard Webhooks reference library accepts `received` signed with `secret`;
/// the payload it verified.
pub(crate) async fn verify(secret: &str, received: &Received) -> Result<Value, String> {
    use tokio::io::AsyncWriteExt as _;
    let headers: serde_json::Map<String, Value> = ["webhook-id", "webhook-timestamp", "webhook-signature"]
        .iter()
        .map(|name| ((*name).to_owned(), Value::String(received.header(name))))
        .collect();
    let input = json!({ "secret": secret, "headers": headers, "body": received.body });
    let mut child = tokio::process::Command::new(python().await)
        .arg(repository().join("tests/python/verify_webhook.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python starts");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(input.to_string().as_bytes()).await.expect("write stdin");
    drop(stdin);
    let output = child.wait_with_output().await.expect("python ends");
    if output.status.success() {
        Ok(serde_json::from_slice(&output.stdout).expect("the verified payload"))
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

/// aiosmtpd on a free port, keeping every mail in a maildir; killed when dropped.
pub(crate) struct SmtpSink {
    child: tokio::process::Child,
    pub(crate) port: u16,
    maildir: tempfile::TempDir,
}

impl SmtpSink {
    pub(crate) async fn start() -> Self {
        let maildir = tempfile::tempdir().expect("a temporary directory");
        let port = service_runtime::testing::free_port().expect("a port");
        let child = tokio::process::Command::new(python().await)
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
            .arg(maildir.path().join("box"))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("aiosmtpd starts");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            assert!(tokio::time::Instant::now() < deadline, "aiosmtpd did not listen on {port} within 30 s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Self { child, port, maildir }
    }

    /// The mails received so far, as text.
    pub(crate) fn mails(&self) -> Vec<String> {
        let dir = self.maildir.path().join("box/new");
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_file()).collect())
            .unwrap_or_default();
        files.sort();
        files.iter().filter_map(|f| std::fs::read_to_string(f).ok()).collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}
