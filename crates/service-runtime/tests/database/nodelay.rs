//! TCP_NODELAY on the pool's PostgreSQL connections. sqlx 0.9.0 stopped setting it (sqlx issue
//! 4335), and then a statement can wait ~40 ms for a delayed ACK; this guards the workspace's
//! choice of a sqlx that sets it (see the root Cargo.toml). Checked on the socket itself, not by
//! timing: the connection's local port (`inet_client_port()`) picks it among this process's
//! descriptors, which `pidfd_getfd` duplicates (no unsafe code; ptrace rights over ourselves).

use std::net::SocketAddr;
use std::os::fd::{OwnedFd, RawFd};

use rustix::process::{PidfdFlags, PidfdGetfdFlags, getpid, pidfd_getfd, pidfd_open};

use crate::helpers::{NONE, TestDb};

#[tokio::test]
async fn the_pools_postgres_connections_over_tcp_have_tcp_nodelay_set() {
    let db = TestDb::postgres().await;
    let pool = db.pool(&NONE).await.expect("connect over TCP");
    let pg = pool.as_postgres().expect("a PostgreSQL pool");
    let mut connection = pg.acquire().await.expect("a pooled connection");
    let port: i32 = sqlx::query_scalar("SELECT inet_client_port()")
        .fetch_one(&mut *connection)
        .await
        .expect("the connection's client port");
    let port = u16::try_from(port).expect("a TCP connection (inet_client_port() is NULL over a Unix socket)");

    let socket = own_tcp_socket(port).expect("this process's socket with the connection's local port");
    let nodelay = rustix::net::sockopt::tcp_nodelay(&socket).expect("getsockopt(TCP_NODELAY)");

    drop(connection);
    pool.close().await;
    db.drop_database().await;
    assert!(nodelay, "TCP_NODELAY is off on a pooled PostgreSQL connection: statements may wait for delayed ACKs");
}

/// A duplicate of this process's TCP socket whose local port is `port`.
fn own_tcp_socket(port: u16) -> Option<OwnedFd> {
    let me = pidfd_open(getpid(), PidfdFlags::empty()).expect("pidfd_open(self)");
    let entries = std::fs::read_dir("/proc/self/fd").expect("list /proc/self/fd");
    for entry in entries.flatten() {
        let Some(number) = entry.file_name().to_str().and_then(|n| n.parse::<RawFd>().ok()) else { continue };
        let is_socket =
            std::fs::read_link(entry.path()).is_ok_and(|target| target.to_string_lossy().starts_with("socket:"));
        if !is_socket {
            continue;
        }
        // Closed meanwhile (another test's descriptor): skip it.
        let Ok(fd) = pidfd_getfd(&me, number, PidfdGetfdFlags::empty()) else { continue };
        let local = rustix::net::getsockname(&fd).ok().and_then(|addr| SocketAddr::try_from(addr).ok());
        if local.is_some_and(|addr| addr.port() == port) {
            return Some(fd);
        }
    }
    None
}
