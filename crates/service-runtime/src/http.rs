//! The operational endpoints every service serves, and a server that drains on shutdown.
//!
//! The server bounds what a client can hold open (`http.*` settings): request headers must
//! arrive within `header_read_timeout_ms`, which also closes a connection that sent nothing and
//! an idle keep-alive connection (hyper times the wait for every request's headers, the first
//! and each next one); a request must be read and answered (up to its response head) within
//! `request_timeout_ms`, or it gets 408; at shutdown, connections get `shutdown_grace_ms` to
//! finish their requests and are then closed, so a service always stops.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tower_http::timeout::TimeoutLayer;

use crate::health::Health;
use crate::settings::HttpSettings;

#[derive(Clone)]
struct OpsState {
    health: Health,
    metrics: PrometheusHandle,
}

/// `/healthz` (the process is alive), `/readyz` (dependencies reachable, nothing stuck; 503
/// with the failing checks otherwise), `/metrics` (Prometheus text format).
pub fn ops_router(health: Health, metrics: PrometheusHandle) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(render_metrics))
        .with_state(OpsState { health, metrics })
}

async fn healthz() -> impl IntoResponse {
    Json(serde_json::json!({ "status": "ok" }))
}

async fn readyz(State(state): State<OpsState>) -> Response {
    let report = state.health.readiness().await;
    let status = if report.ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(report)).into_response()
}

async fn render_metrics(State(state): State<OpsState>) -> impl IntoResponse {
    state.metrics.run_upkeep();
    ([("content-type", "text/plain; version=0.0.4")], state.metrics.render())
}

/// Binds `host:port` (port 0 picks a free port).
pub async fn bind(settings: &HttpSettings) -> Result<TcpListener, crate::Error> {
    let address = format!("{}:{}", settings.host, settings.port);
    TcpListener::bind(&address)
        .await
        .map_err(|source| crate::Error::Io { context: format!("binding {address}"), source })
}

/// Serves `router` until `shutdown` is cancelled, then lets in-flight requests finish within
/// `settings.shutdown_grace_ms` and closes whatever is still open. See the module docs for the
/// timeouts.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    settings: &HttpSettings,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let router = router.layer(TimeoutLayer::with_status_code(
        StatusCode::REQUEST_TIMEOUT,
        Duration::from_millis(settings.request_timeout_ms),
    ));
    // HTTP/1.1 only: hyper's protocol-detecting builder reads the first bytes with no timeout
    // at all, and the services sit behind HTTP/1.1 ingresses and probes.
    let mut builder = http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(Duration::from_millis(settings.header_read_timeout_ms));
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    loop {
        let stream = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    // Out of file descriptors, say: wait a moment instead of spinning.
                    tracing::warn!(error = %error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let service = TowerToHyperService::new(router.clone());
        let watcher = graceful.watcher();
        let builder = builder.clone();
        connections.spawn(async move {
            if let Err(error) = watcher.watch(builder.serve_connection(TokioIo::new(stream), service)).await {
                tracing::debug!(error = %error, "connection ended with an error");
            }
        });
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    let grace = Duration::from_millis(settings.shutdown_grace_ms);
    if tokio::time::timeout(grace, graceful.shutdown()).await.is_err() {
        tracing::warn!(
            open = connections.len(),
            grace_ms = settings.shutdown_grace_ms,
            "connections still open after the shutdown grace period; closing them"
        );
    }
    connections.shutdown().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use axum::routing::post;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use tokio::net::TcpStream;

    use super::*;

    /// Far longer than any timeout the tests set: a server that never closes fails them.
    const DEADLINE: Duration = Duration::from_secs(10);

    async fn start(settings: HttpSettings) -> (SocketAddr, CancellationToken, tokio::task::JoinHandle<()>) {
        let listener =
            bind(&HttpSettings { host: "127.0.0.1".into(), port: 0, ..settings.clone() }).await.expect("bind");
        let address = listener.local_addr().expect("address");
        let router = Router::new().route("/healthz", get(healthz)).route("/echo", post(|body: String| async { body }));
        let shutdown = CancellationToken::new();
        let stop = shutdown.clone();
        let server = tokio::spawn(async move { serve(listener, router, &settings, stop).await.expect("serves") });
        (address, shutdown, server)
    }

    fn quick(header_read_timeout_ms: u64, request_timeout_ms: u64) -> HttpSettings {
        HttpSettings { header_read_timeout_ms, request_timeout_ms, shutdown_grace_ms: 200, ..HttpSettings::default() }
    }

    /// Everything the server sends until it closes the connection; panics if it never does.
    async fn read_until_closed(stream: &mut TcpStream) -> String {
        let mut received = Vec::new();
        let read = tokio::time::timeout(DEADLINE, async {
            let mut buffer = [0_u8; 1024];
            loop {
                match stream.read(&mut buffer).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => received.extend_from_slice(&buffer[..n]),
                }
            }
        })
        .await;
        assert!(read.is_ok(), "the server kept the connection open; got {:?}", String::from_utf8_lossy(&received));
        String::from_utf8_lossy(&received).into_owned()
    }

    #[tokio::test]
    async fn a_connection_that_sends_nothing_is_closed_after_the_header_timeout() {
        let (address, _shutdown, _server) = start(quick(200, 60_000)).await;
        let mut stream = TcpStream::connect(address).await.expect("connect");

        assert_eq!(read_until_closed(&mut stream).await, "");
    }

    #[tokio::test]
    async fn unfinished_headers_are_cut_off_after_the_header_timeout() {
        let (address, _shutdown, _server) = start(quick(200, 60_000)).await;
        let mut stream = TcpStream::connect(address).await.expect("connect");
        stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await.expect("write");

        assert!(!read_until_closed(&mut stream).await.contains("200 OK"));
    }

    #[tokio::test]
    async fn an_idle_keep_alive_connection_is_closed_after_the_header_timeout() {
        let (address, _shutdown, _server) = start(quick(200, 60_000)).await;
        let mut stream = TcpStream::connect(address).await.expect("connect");
        stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.expect("write");

        assert!(read_until_closed(&mut stream).await.starts_with("HTTP/1.1 200 OK"));
    }

    #[tokio::test]
    async fn an_unfinished_body_is_answered_408_after_the_request_timeout() {
        let (address, _shutdown, _server) = start(quick(60_000, 200)).await;
        let mut stream = TcpStream::connect(address).await.expect("connect");
        stream
            .write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly ten b")
            .await
            .expect("write");

        let answer = tokio::time::timeout(DEADLINE, async {
            let mut buffer = [0_u8; 1024];
            let n = stream.read(&mut buffer).await.expect("read");
            String::from_utf8_lossy(&buffer[..n]).into_owned()
        })
        .await
        .expect("an answer before the deadline");
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    }

    #[tokio::test]
    async fn shutdown_ends_within_the_grace_period_whatever_clients_do() {
        let (address, shutdown, server) = start(quick(60_000, 60_000)).await;
        let mut half_sent = TcpStream::connect(address).await.expect("connect");
        half_sent.write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc").await.expect("write");
        let mut silent = TcpStream::connect(address).await.expect("connect");
        // The server has taken both connections once it answers a third.
        let mut probe = TcpStream::connect(address).await.expect("connect");
        probe.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.expect("write");
        assert!(read_until_closed(&mut probe).await.starts_with("HTTP/1.1 200 OK"));

        shutdown.cancel();

        tokio::time::timeout(DEADLINE, server).await.expect("stopped before the deadline").expect("no panic");
        read_until_closed(&mut half_sent).await;
        read_until_closed(&mut silent).await;
    }
}
