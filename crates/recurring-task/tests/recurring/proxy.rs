//! A TCP proxy the test can cut and restore: while cut, nothing listens on its port (a
//! connection is refused, as by a stopped service) and the connections it carried are closed.

use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A proxy from a port of its own to `127.0.0.1:<upstream>`.
pub(crate) struct Proxy {
    port: u16,
    upstream: u16,
    serving: Option<(CancellationToken, JoinHandle<()>)>,
}

impl Proxy {
    /// Starts forwarding to `127.0.0.1:<upstream>`.
    pub(crate) async fn start(upstream: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let mut proxy = Self { port, upstream, serving: None };
        proxy.serve(listener);
        proxy
    }

    /// `http://127.0.0.1:<port>`.
    pub(crate) fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Stops listening and closes every connection; returns once the port is closed.
    pub(crate) async fn cut(&mut self) {
        if let Some((stop, accepting)) = self.serving.take() {
            stop.cancel();
            accepting.await.expect("the proxy's accept loop");
        }
    }

    /// Listens on the same port again (retrying while the port is still held, 10 s at most).
    pub(crate) async fn restore(&mut self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        let listener = loop {
            match TcpListener::bind(("127.0.0.1", self.port)).await {
                Ok(listener) => break listener,
                Err(error) => {
                    assert!(tokio::time::Instant::now() < deadline, "cannot listen on {} again: {error}", self.port);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        };
        self.serve(listener);
    }

    fn serve(&mut self, listener: TcpListener) {
        let stop = CancellationToken::new();
        let upstream = self.upstream;
        let token = stop.clone();
        let accepting = tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    biased;
                    () = token.cancelled() => return,
                    accepted = listener.accept() => accepted,
                };
                let Ok((mut client, _)) = accepted else { continue };
                let token = token.clone();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(("127.0.0.1", upstream)).await else { return };
                    tokio::select! {
                        () = token.cancelled() => {}
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                    }
                });
            }
        });
        self.serving = Some((stop, accepting));
    }
}
