//! SASL/SCRAM-SHA-512 without and with TLS, against brokers this test starts itself (the shared
//! local broker runs without authentication). Needs the `nisshi` binary: `NISSHI_BIN`, or
//! `~/.cargo/bin/nisshi` as `make broker` installs it.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose, SanType};
use secrecy::SecretString;
use service_runtime::health::Health;
use service_runtime::kafka::{self, OutboundRecord, Producer, TopicPlan};
use service_runtime::settings::{KafkaSettings, ProducerSettings, SecurityProtocol};
use service_runtime::testing::{LocalBroker, free_port, nisshi_binary};

use crate::helpers::{RecordingHandler, consumer_settings, eventually, payload, unique};

const USER: &str = "taskstream-test";
const PASSWORD: &str = "correct horse battery staple";

/// Creates the SCRAM user on an unauthenticated broker over the same storage.
fn create_user(dir: &Path) {
    let broker = LocalBroker::start(dir, free_port().expect("port"), &[]).expect("broker");
    let status = Command::new(nisshi_binary())
        .args(["user", "create", "--broker", &format!("tcp://127.0.0.1:{}", broker.port())])
        .args(["--mechanism", "scram512", USER, PASSWORD])
        .status()
        .expect("nisshi user create");
    assert!(status.success(), "creating the SCRAM user failed");
    broker.stop();
}

fn settings(port: u16, protocol: SecurityProtocol, password: &str, ca: Option<PathBuf>) -> KafkaSettings {
    KafkaSettings {
        bootstrap_servers: format!("127.0.0.1:{port}"),
        security_protocol: protocol,
        username: Some(USER.into()),
        password: Some(SecretString::from(password.to_owned())),
        ca_file: ca,
        ..Default::default()
    }
}

/// With the right credentials: topics are created, a record is produced, and the consumer
/// runtime handles it.
async fn round_trip(kafka: &KafkaSettings) {
    let topic = unique("secure");
    let group = format!("{topic}-group");
    let plans = [
        TopicPlan { name: topic.clone(), partitions: 1, replication_factor: 1, retention_ms: 3_600_000 },
        TopicPlan { name: format!("{group}.dlq"), partitions: 1, replication_factor: 1, retention_ms: 3_600_000 },
    ];
    kafka::ensure_topics(kafka, &plans, Duration::from_secs(10)).await.expect("topics with the right password");
    let producer = Producer::new(kafka, &ProducerSettings::default(), "secure-test", Health::new()).expect("producer");
    producer
        .send(OutboundRecord { topic: &topic, key: Some(b"k"), payload: &payload("k", 0), headers: vec![] })
        .await
        .expect("produce with the right password");

    let handler = RecordingHandler::default();
    let health = Health::new();
    let runtime = service_runtime::consumer::ConsumerRuntime::new(
        kafka,
        &consumer_settings(&group),
        &[&topic],
        handler.clone(),
        producer,
        health,
    )
    .expect("runtime");
    let stop = service_runtime::CancellationToken::new();
    let task = tokio::spawn(runtime.run(stop.clone()));
    eventually(Duration::from_secs(30), "the record is consumed over the secured connection", || async {
        handler.seen.len() == 1
    })
    .await;
    stop.cancel();
    task.await.expect("no panic").expect("clean stop");
}

/// With a wrong password: a clear error, readiness down with the reason, and a consumer that
/// keeps running (no crash loop) until it is told to stop.
async fn wrong_password_is_refused_clearly(kafka: &KafkaSettings) {
    let plans = [TopicPlan { name: unique("denied"), partitions: 1, replication_factor: 1, retention_ms: 3_600_000 }];
    let error = kafka::ensure_topics(kafka, &plans, Duration::from_secs(5)).await.expect_err("refused");
    println!("wrong password: {error}");
    assert!(matches!(error, service_runtime::Error::Authentication { .. }), "a clear error, not a timeout: {error}");
    assert!(error.to_string().contains("kafka.password"), "the error names the setting to check: {error}");

    let health = Health::new();
    let producer = Producer::new(kafka, &ProducerSettings::default(), "denied", health.clone()).expect("producer");
    health.add_probe("broker", producer.clone());
    let runtime = service_runtime::consumer::ConsumerRuntime::new(
        kafka,
        &consumer_settings(&unique("denied-group")),
        &["anything"],
        RecordingHandler::default(),
        producer,
        health.clone(),
    )
    .expect("runtime");
    let stop = service_runtime::CancellationToken::new();
    let task = tokio::spawn(runtime.run(stop.clone()));
    eventually(Duration::from_secs(30), "readiness names the authentication failure", || async {
        let report = health.readiness().await;
        !report.ready
            && report.checks.iter().any(|c| {
                c.name == "kafka authentication"
                    && c.detail.as_deref().is_some_and(|d| d.to_lowercase().contains("authentication"))
            })
    })
    .await;
    assert!(!task.is_finished(), "the consumer keeps running while credentials are wrong (no crash loop)");
    stop.cancel();
    tokio::time::timeout(Duration::from_secs(30), task).await.expect("stops").expect("no panic").expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scram_sha_512_over_plaintext_accepts_the_right_password_and_refuses_others() {
    let dir = tempfile::tempdir().expect("tempdir");
    create_user(dir.path());
    let port = free_port().expect("port");
    let _broker = LocalBroker::start(dir.path(), port, &["--authentication"]).expect("broker");

    round_trip(&settings(port, SecurityProtocol::SaslPlaintext, PASSWORD, None)).await;
    wrong_password_is_refused_clearly(&settings(port, SecurityProtocol::SaslPlaintext, "wrong", None)).await;

    let anonymous = KafkaSettings { bootstrap_servers: format!("127.0.0.1:{port}"), ..Default::default() };
    let producer =
        Producer::new(&anonymous, &ProducerSettings::default(), "anonymous", Health::new()).expect("producer");
    assert!(producer.ping(Duration::from_secs(3)).await.is_err(), "an unauthenticated client is refused");
}

/// A CA, and a certificate for 127.0.0.1 signed by it; returns (ca.pem, cert.pem, key.pem).
fn generate_tls(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(DnType::CommonName, "taskstream test CA");
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("ca key")).expect("ca");

    let mut params = CertificateParams::new(vec!["localhost".to_owned()]).expect("params");
    params.subject_alt_names.push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
    params.distinguished_name.push(DnType::CommonName, "127.0.0.1");
    let key = KeyPair::generate().expect("key");
    let cert = params.signed_by(&key, &ca).expect("signed");

    let paths = (dir.join("ca.pem"), dir.join("broker.pem"), dir.join("broker.key"));
    std::fs::write(&paths.0, ca.pem()).expect("write ca");
    std::fs::write(&paths.1, cert.pem()).expect("write cert");
    std::fs::write(&paths.2, key.serialize_pem()).expect("write key"); // PKCS#8 PEM
    (paths.0, paths.1, paths.2)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scram_sha_512_over_tls_with_a_generated_ca_accepts_the_right_password_and_refuses_others() {
    let dir = tempfile::tempdir().expect("tempdir");
    create_user(dir.path());
    let (ca, cert, key) = generate_tls(dir.path());
    let port = free_port().expect("port");
    let cert = cert.to_string_lossy().into_owned();
    let key = key.to_string_lossy().into_owned();
    let _broker =
        LocalBroker::start(dir.path(), port, &["--authentication", "--cert", &cert, "--key", &key]).expect("broker");

    round_trip(&settings(port, SecurityProtocol::SaslSsl, PASSWORD, Some(ca.clone()))).await;
    wrong_password_is_refused_clearly(&settings(port, SecurityProtocol::SaslSsl, "wrong", Some(ca))).await;
}
