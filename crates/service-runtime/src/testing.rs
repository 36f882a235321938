//! Support for tests that need a broker of their own (to stop it, or to secure it): starts a
//! `nisshi` process on a free port over its own storage directory. `NISSHI_BIN` names the
//! binary; `~/.cargo/bin/nisshi` (as `make broker` installs it) otherwise. Also: reading a
//! topic back, counting its records, a fresh PostgreSQL database per test, and a PostgreSQL proxy
//! that slows every reply down.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The broker binary.
pub fn nisshi_binary() -> PathBuf {
    std::env::var_os("NISSHI_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(&std::env::var_os("HOME").unwrap_or_default()).join(".cargo/bin/nisshi"))
}

/// A port free at the time of asking.
pub fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A broker process, killed when dropped.
#[derive(Debug)]
pub struct LocalBroker {
    child: Child,
    port: u16,
}

impl LocalBroker {
    /// Starts a broker on `127.0.0.1:port` storing its data in `dir` (so a restart over the same
    /// directory keeps topics, offsets and users), with extra `args` such as
    /// `--authentication`; returns once it accepts connections (30 s at most).
    pub fn start(dir: &Path, port: u16, args: &[&str]) -> std::io::Result<Self> {
        let url = format!("tcp://127.0.0.1:{port}");
        let log = std::fs::OpenOptions::new().create(true).append(true).open(dir.join("broker.log"))?;
        let child = Command::new(nisshi_binary())
            .current_dir(dir)
            .args(["broker", "--listener-url", &url, "--advertised-listener-url", &url])
            .args(["--storage-engine", "sqlite://nisshi.db", "--group-initial-rebalance-delay", "0s"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()?;
        let mut broker = Self { child, port };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = broker.child.try_wait()? {
                return Err(std::io::Error::other(format!(
                    "broker exited with {status}; see {}",
                    dir.join("broker.log").display()
                )));
            }
            if Instant::now() >= deadline {
                return Err(std::io::Error::other(format!("broker did not listen on {port} within 30 s")));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(broker)
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:<port>`.
    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Kills it and waits for it to exit.
    pub fn stop(mut self) {
        self.kill();
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for LocalBroker {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Reads `topic` from the beginning (a fresh group, nothing committed) until `count` records
/// arrived; an error if fewer arrive within `timeout`. Blocking: call it from
/// `spawn_blocking` in async tests.
pub fn read_records(
    kafka: &crate::settings::KafkaSettings,
    topic: &str,
    count: usize,
    timeout: Duration,
) -> Result<Vec<rdkafka::message::OwnedMessage>, crate::Error> {
    use rdkafka::consumer::{BaseConsumer, Consumer as _};
    // A group of its own per call: nothing committed, always from the beginning.
    static READERS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let reader = READERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let group = format!("test-reader-{}-{reader}-{topic}", std::process::id());
    let consumer: BaseConsumer = crate::kafka::client_config(kafka, &group)?
        .set("group.id", &group)
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .map_err(crate::Error::kafka("creating a test reader"))?;
    consumer.subscribe(&[topic]).map_err(crate::Error::kafka("subscribing a test reader"))?;
    let deadline = Instant::now() + timeout;
    let mut records = Vec::with_capacity(count);
    while records.len() < count {
        if Instant::now() >= deadline {
            return Err(crate::Error::InvalidSettings(format!(
                "only {} of {count} records arrived on {topic} within {timeout:?}",
                records.len()
            )));
        }
        if let Some(result) = consumer.poll(Duration::from_millis(100)) {
            let message = result.map_err(crate::Error::kafka("reading a test topic"))?;
            records.push(message.detach());
        }
    }
    Ok(records)
}

/// How many records `topic` holds: the sum of its partitions' high minus low watermarks. Exact
/// for topics nothing deletes from, so "published once" is checked without waiting for
/// duplicates that may or may not come. Blocking.
pub fn record_count(kafka: &crate::settings::KafkaSettings, topic: &str) -> Result<i64, crate::Error> {
    use rdkafka::consumer::{BaseConsumer, Consumer as _};
    let consumer: BaseConsumer = crate::kafka::client_config(kafka, "test-counter")?
        .create()
        .map_err(crate::Error::kafka("creating a test client"))?;
    let metadata = consumer
        .fetch_metadata(Some(topic), Duration::from_secs(5))
        .map_err(crate::Error::kafka("reading test topic metadata"))?;
    let partitions = metadata.topics().first().map_or(0, |t| t.partitions().len());
    let mut total = 0;
    for partition in 0..partitions as i32 {
        let (low, high) = consumer
            .fetch_watermarks(topic, partition, Duration::from_secs(5))
            .map_err(crate::Error::kafka("reading test topic watermarks"))?;
        total += high - low;
    }
    Ok(total)
}

/// A TCP proxy to the PostgreSQL server of `database_url` that holds every reply back for
/// `delay`, so that a test can cut a call off at a known point of its conversation with the
/// database (BEGIN included). Returns the URL of the same database through the proxy; the proxy
/// runs until the runtime ends.
pub async fn slow_postgres_proxy(database_url: &str, delay: Duration) -> std::io::Result<String> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let (server_url, database) =
        database_url.rsplit_once('/').ok_or_else(|| std::io::Error::other(format!("no database in {database_url}")))?;
    let upstream = server_url.rsplit_once('@').map_or(server_url, |(_, host)| host).to_owned();
    let upstream = upstream.trim_start_matches("postgres://").trim_start_matches("postgresql://").to_owned();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let Ok(server) = tokio::net::TcpStream::connect(&upstream).await else { continue };
            let (mut client_read, mut client_write) = client.into_split();
            let (mut server_read, mut server_write) = server.into_split();
            tokio::spawn(async move { tokio::io::copy(&mut client_read, &mut server_write).await });
            tokio::spawn(async move {
                let mut buffer = vec![0u8; 64 * 1024];
                while let Ok(n @ 1..) = server_read.read(&mut buffer).await {
                    tokio::time::sleep(delay).await;
                    if client_write.write_all(&buffer[..n]).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    Ok(format!("postgres://postgres@127.0.0.1:{port}/{database}"))
}

/// A fresh, empty PostgreSQL database on the server of `admin_url` (a URL whose database may
/// create others, e.g. `postgres://postgres@127.0.0.1:5432/postgres`), named `<prefix>_<uuid>`;
/// returns its URL. Tests get one each, so they never see each other's rows.
pub async fn fresh_postgres_database(admin_url: &str, prefix: &str) -> Result<String, sqlx::Error> {
    use sqlx::Connection as _;
    let name = format!("{prefix}_{}", uuid::Uuid::now_v7().simple());
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(sqlx::Error::Configuration(format!("{prefix:?} is not a plain database name prefix").into()));
    }
    let mut admin = sqlx::PgConnection::connect(admin_url).await?;
    // The name was just checked to be letters, digits and underscores.
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await?;
    let (server, _) =
        admin_url.rsplit_once('/').ok_or_else(|| sqlx::Error::Configuration("no database in the URL".into()))?;
    Ok(format!("{server}/{name}"))
}

/// Benchmarks: creates `topic` with `partitions` and produces `records` (key, value) with the
/// idempotent producer, up to 10,000 in flight; returns the time taken.
pub async fn prefill(
    kafka: &crate::settings::KafkaSettings,
    topic: &str,
    partitions: i32,
    records: &[(String, Vec<u8>)],
) -> Result<Duration, crate::Error> {
    use futures::StreamExt as _;
    let plan =
        crate::kafka::TopicPlan { name: topic.into(), partitions, replication_factor: 1, retention_ms: 3_600_000 };
    crate::kafka::ensure_topics(kafka, &[plan], Duration::from_secs(10)).await?;
    let settings = crate::settings::ProducerSettings::default();
    let producer = crate::kafka::Producer::new(kafka, &settings, "bench", crate::health::Health::new())?;
    let started = Instant::now();
    let mut pending = futures::stream::FuturesUnordered::new();
    let sent = |result: Result<_, crate::kafka::KafkaError>| {
        result.map(drop).map_err(|source| crate::Error::Kafka { context: format!("producing to {topic}"), source })
    };
    for (key, value) in records {
        let producer = producer.clone();
        pending.push(async move {
            let record =
                crate::kafka::OutboundRecord { topic, key: Some(key.as_bytes()), payload: value, headers: vec![] };
            producer.send(record).await
        });
        if pending.len() >= 10_000 {
            while let Some(result) = pending.next().await {
                sent(result)?;
            }
        }
    }
    while let Some(result) = pending.next().await {
        sent(result)?;
    }
    Ok(started.elapsed())
}

/// Benchmarks: reads `count` records of `topic` from the beginning in a new group and does
/// nothing with them (the ceiling any consumer can reach); returns the time from the first
/// record to the last.
pub async fn consume_and_discard(
    kafka: &crate::settings::KafkaSettings,
    topic: &str,
    count: usize,
) -> Result<Duration, crate::Error> {
    use rdkafka::consumer::{Consumer as _, StreamConsumer};
    let group = format!("{topic}-bare-{}", uuid::Uuid::now_v7().simple());
    let consumer: StreamConsumer = crate::kafka::client_config(kafka, "bench-bare")?
        .set("group.id", group)
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .map_err(crate::Error::kafka("creating the bare consumer"))?;
    consumer.subscribe(&[topic]).map_err(crate::Error::kafka("subscribing"))?;
    let mut started = None;
    for _ in 0..count {
        consumer.recv().await.map_err(crate::Error::kafka("consuming"))?;
        started.get_or_insert_with(Instant::now);
    }
    Ok(started.map(|s| s.elapsed()).unwrap_or_default())
}

/// Polls `condition` every 20 ms until it holds; panics naming `what` once `timeout` has passed.
/// The one deadline-bounded wait of the tests: never a fixed sleep for an asynchronous effect.
pub async fn eventually<F, Fut>(timeout: Duration, what: &str, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    while !condition().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out after {timeout:?} waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A service running in a test's background (an `Application::run_until_stopped` future),
/// with its HTTP port.
#[derive(Debug)]
pub struct Running {
    /// The service's HTTP port.
    pub port: u16,
    stop: tokio_util::sync::CancellationToken,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Running {
    /// Spawns `run(stop)`, which serves on `port` until `stop` is cancelled.
    pub fn spawn<F>(port: u16, run: impl FnOnce(tokio_util::sync::CancellationToken) -> F) -> Self
    where
        F: std::future::Future<Output = anyhow::Result<()>> + Send + 'static,
    {
        let stop = tokio_util::sync::CancellationToken::new();
        let task = tokio::spawn(run(stop.clone()));
        Self { port, stop, task }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Polls `/readyz` every 50 ms until it answers 200; panics after `timeout`.
    pub async fn ready(&self, timeout: Duration) {
        let deadline = tokio::time::Instant::now() + timeout;
        while !self.readyz_ok().await {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the service on port {} was not ready within {timeout:?}",
                self.port
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// One `GET /readyz` over a plain connection: whether it answered 200.
    async fn readyz_ok(&self) -> bool {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let Ok(mut stream) = tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await else { return false };
        let request = "GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
        let mut head = [0u8; 12];
        stream.write_all(request.as_bytes()).await.is_ok()
            && stream.read_exact(&mut head).await.is_ok()
            && head.starts_with(b"HTTP/1.1 200")
    }

    /// Cancels the service and waits (at most 30 s) for a clean stop; panics otherwise.
    pub async fn shutdown(self) {
        self.stop.cancel();
        match tokio::time::timeout(Duration::from_secs(30), self.task).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(error))) => panic!("the service stopped with an error: {error:#}"),
            Ok(Err(error)) => panic!("the service panicked: {error}"),
            Err(_) => panic!("the service did not stop within 30 s"),
        }
    }
}
