//! Email: a real SMTP server (aiosmtpd, in the project's venv) receives the mail; the `file`
//! transport writes an `.eml` file; both parsed by Python's email package.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use notification::channels::{Attempt, EmailTransport, SmtpTls, Target};
use serde_json::Value;

use crate::helpers::{TestEnv, eventually, message, python, run_python};

/// aiosmtpd on a free port, keeping every mail in a maildir; killed when dropped.
struct SmtpSink {
    child: tokio::process::Child,
    port: u16,
    maildir: tempfile::TempDir,
}

impl SmtpSink {
    async fn start() -> Self {
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

    /// The mails received so far (maildir `new/` entries).
    fn mails(&self) -> Vec<PathBuf> {
        files(&self.maildir.path().join("box/new"))
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_file()).collect())
        .unwrap_or_default();
    files.sort();
    files
}

/// The messages as Python's email package reads them.
async fn parse(paths: &[PathBuf]) -> Vec<Value> {
    let args: Vec<&str> = paths.iter().map(|p| p.to_str().expect("a UTF-8 path")).collect();
    let (ok, stdout, stderr) = run_python("parse_eml.py", &args, b"").await;
    assert!(ok, "not parsable: {stderr}");
    serde_json::from_str::<Vec<Value>>(&stdout).expect("JSON")
}

#[tokio::test]
async fn an_smtp_server_receives_one_multipart_mail_and_a_resend_carries_the_same_message_id() {
    let sink = SmtpSink::start().await;
    let env = TestEnv::start_with(|s| {
        s.email.transport = EmailTransport::Smtp;
        s.email.smtp.host = "127.0.0.1".into();
        s.email.smtp.port = sink.port;
        s.email.smtp.tls = SmtpTls::None;
        s.email.from = "taskstream <reminders@taskstream.test>".into();
    })
    .await;
    env.enable_email("alice", "alice@example.com").await;
    let target = Target::email("alice@example.com");
    let message = message("alice");

    let first = env.channels.deliver(&target, &message, 1).await;

    assert_eq!(first, Attempt::Delivered);
    let mails = eventually(Duration::from_secs(10), || Some(sink.mails()).filter(|m| m.len() == 1)).await;
    let parsed = parse(&mails).await;
    assert_eq!(parsed[0]["content_type"], "multipart/alternative");
    assert_eq!(parsed[0]["parts"], serde_json::json!(["text/plain", "text/html"]));
    assert_eq!(parsed[0]["to"], "alice@example.com");
    assert_eq!(parsed[0]["from"], "taskstream <reminders@taskstream.test>");
    assert_eq!(parsed[0]["subject"], "Reminder: Water the plants");
    let message_id = parsed[0]["message_id"].as_str().expect("a Message-ID").to_owned();
    assert!(message_id.ends_with("@taskstream.test>"), "{message_id}");

    // A resend (the outcome of the first attempt was unknown) and the next snooze generation.
    assert_eq!(env.channels.deliver(&target, &message, 2).await, Attempt::Delivered);
    let snoozed = notification::channels::Message { generation: 1, ..message.clone() };
    assert_eq!(env.channels.deliver(&target, &snoozed, 1).await, Attempt::Delivered);

    let mails = eventually(Duration::from_secs(10), || Some(sink.mails()).filter(|m| m.len() == 3)).await;
    let ids: Vec<String> =
        parse(&mails).await.iter().map(|m| m["message_id"].as_str().unwrap_or("").to_owned()).collect();
    assert_eq!(ids.iter().filter(|id| **id == message_id).count(), 2, "{ids:?}");
    assert_eq!(ids.iter().filter(|id| **id != message_id).count(), 1, "a new generation gets a new id: {ids:?}");
}

#[tokio::test]
async fn an_unreachable_smtp_server_gets_a_retry() {
    let port = service_runtime::testing::free_port().expect("a port");
    let env = TestEnv::start_with(|s| {
        s.email.transport = EmailTransport::Smtp;
        s.email.smtp.host = "127.0.0.1".into();
        s.email.smtp.port = port;
        s.email.smtp.tls = SmtpTls::None;
        s.email.timeout_ms = 2_000;
    })
    .await;
    env.enable_email("alice", "alice@example.com").await;

    let outcome = env.channels.deliver(&Target::email("alice@example.com"), &message("alice"), 1).await;

    assert!(matches!(outcome, Attempt::Retry { .. }), "{outcome:?}");
}

#[tokio::test]
async fn the_file_transport_writes_one_parsable_eml_per_mail_and_a_resend_replaces_it() {
    let env = TestEnv::start().await;
    env.enable_email("bob", "bob@example.com").await;
    let target = Target::email("bob@example.com");
    let message = message("bob");

    let first = env.channels.deliver(&target, &message, 1).await;
    let second = env.channels.deliver(&target, &message, 2).await;

    assert_eq!((first, second), (Attempt::Delivered, Attempt::Delivered));
    let written = files(env.mail_dir.path());
    assert_eq!(written.len(), 1, "{written:?}");
    assert!(written[0].extension().is_some_and(|e| e == "eml"));
    let parsed = parse(&written).await;
    assert_eq!(parsed[0]["to"], "bob@example.com");
    assert_eq!(parsed[0]["parts"], serde_json::json!(["text/plain", "text/html"]));
    assert!(parsed[0]["plain"].as_str().is_some_and(|p| p.contains("Water the plants")), "{}", parsed[0]);
}

#[tokio::test]
async fn a_mail_whose_address_was_turned_off_since_it_was_listed_is_not_sent() {
    let env = TestEnv::start().await;
    env.enable_email("carol", "carol@example.com").await;
    let targets = env.channels.targets("carol").await.expect("targets");
    let body = serde_json::json!({ "email_address": "carol@example.com", "email_enabled": false });
    env.call(reqwest::Method::PUT, "/v1/notification-settings", Some("carol"), Some(body)).await;

    let outcome = env.channels.deliver(&targets[0], &message("carol"), 1).await;

    assert!(matches!(outcome, Attempt::Disabled { .. }), "{outcome:?}");
    assert!(files(env.mail_dir.path()).is_empty());
}
