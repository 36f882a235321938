//! Round trips of a single-row statement on fresh PostgreSQL connections, over TCP (127.0.0.1)
//! and over the Unix socket (/var/run/postgresql): the cost a new pool connection pays.
//!
//! Each of `BENCH_CONNECTIONS` connections (default 20) is opened, then runs its first
//! `BENCH_STATEMENTS` statements (default 50): `SELECT $1::bigint`, one row each, timed one by
//! one. Prints p50/p99/max per transport and the TCP/socket ratio. With TCP_NODELAY off (sqlx
//! 0.9.0) a TCP statement can wait ~40 ms for a delayed ACK, and the ratio shows it; with it on
//! (sqlx 0.8.6, see the root Cargo.toml) TCP stays within a small factor of the socket.
//!
//! The TCP server is `DATABASE_URL`'s (default `postgres://postgres@127.0.0.1:5432/postgres`);
//! the socket directory is `BENCH_PG_SOCKET_DIR` (default /var/run/postgresql; skipped when it
//! does not exist). Numbers are printed, never asserted. `cargo test --all-targets` runs this
//! binary without `--bench`: then a small pass only checks that the benchmark still works.

use std::str::FromStr as _;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions as _, Connection as _};

/// The timings of one transport.
struct Samples {
    /// Connecting (TCP or socket, startup, authentication).
    connect: Vec<Duration>,
    /// Every statement of every connection.
    statements: Vec<Duration>,
}

/// Opens `connections` connections one after the other and times each one's first `statements`
/// statements.
async fn measure(options: &PgConnectOptions, connections: usize, statements: usize) -> anyhow::Result<Samples> {
    let mut samples = Samples { connect: Vec::new(), statements: Vec::new() };
    for _ in 0..connections {
        let started = Instant::now();
        let mut connection = options.connect().await.context("while connecting")?;
        samples.connect.push(started.elapsed());
        for n in 0..statements {
            let n = i64::try_from(n)?;
            let started = Instant::now();
            let echoed: i64 =
                sqlx::query_scalar("SELECT $1::bigint").bind(n).fetch_one(&mut connection).await.context("SELECT")?;
            samples.statements.push(started.elapsed());
            anyhow::ensure!(echoed == n, "the server echoed {echoed} for {n}");
        }
        connection.close().await.context("while closing")?;
    }
    Ok(samples)
}

/// The `q` quantile (0..=1) of `samples`, nearest rank.
fn quantile(samples: &mut [Duration], q: f64) -> Duration {
    samples.sort_unstable();
    let rank = ((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len().max(1));
    samples.get(rank - 1).copied().unwrap_or_default()
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1_000.0
}

/// p50, p99, max of the statements.
fn summary(samples: &mut Samples) -> [Duration; 3] {
    let max = samples.statements.iter().max().copied().unwrap_or_default();
    [quantile(&mut samples.statements, 0.50), quantile(&mut samples.statements, 0.99), max]
}

/// Prints one transport's line; returns the connect p50 and the statements' p50, p99, max.
fn print(label: &str, samples: &mut Samples) -> (Duration, [Duration; 3]) {
    let connect = quantile(&mut samples.connect, 0.50);
    let [p50, p99, max] = summary(samples);
    println!(
        "  {label:<22} connect p50 {:>8.3} ms   statement p50 {:>8.3} ms  p99 {:>8.3} ms  max {:>8.3} ms",
        millis(connect),
        millis(p50),
        millis(p99),
        millis(max)
    );
    (connect, [p50, p99, max])
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` (`make test`) runs this binary
    // without it, and then a small pass only checks that the benchmark still works.
    let bench = std::env::args().any(|a| a == "--bench");
    let count = |name: &str, bench_default: usize, test_default: usize| {
        std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(if bench {
            bench_default
        } else {
            test_default
        })
    };
    let connections = count("BENCH_CONNECTIONS", 20, 3).max(1);
    let statements = count("BENCH_STATEMENTS", 50, 5).max(1);
    let url = std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let socket_dir = std::env::var("BENCH_PG_SOCKET_DIR").unwrap_or_else(|_| "/var/run/postgresql".into());

    let tcp = PgConnectOptions::from_str(&url).context("DATABASE_URL")?;
    anyhow::ensure!(
        !tcp.get_host().starts_with('/'),
        "DATABASE_URL names a Unix socket ({}); this benchmark needs a TCP address",
        tcp.get_host()
    );
    println!(
        "connection_round_trip: {connections} fresh connections per transport, the first {statements} \
         single-row statements of each (SELECT $1::bigint)"
    );
    let mut tcp_samples = measure(&tcp, connections, statements).await.context("over TCP")?;
    let (tcp_connect, [tcp_p50, tcp_p99, tcp_max]) =
        print(&format!("TCP {}:{}", tcp.get_host(), tcp.get_port()), &mut tcp_samples);

    if !std::path::Path::new(&socket_dir).exists() {
        println!("  Unix socket: skipped ({socket_dir} does not exist)");
        return Ok(());
    }
    // The same server, user and database, through the socket directory.
    let socket = tcp.clone().socket(&socket_dir);
    let mut socket_samples = measure(&socket, connections, statements).await.context("over the Unix socket")?;
    let (socket_connect, [socket_p50, socket_p99, socket_max]) =
        print(&format!("socket {socket_dir}"), &mut socket_samples);
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64().max(1e-9);
    println!(
        "  TCP/socket             connect p50 {:>6.2}x   statement p50 {:>6.2}x  p99 {:>6.2}x  max {:>6.2}x",
        ratio(tcp_connect, socket_connect),
        ratio(tcp_p50, socket_p50),
        ratio(tcp_p99, socket_p99),
        ratio(tcp_max, socket_max)
    );
    Ok(())
}
