//! [`TestServer`]: an axum router on a free port of 127.0.0.1, stopped like a crash.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use axum::Router;
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;

/// An axum [`Router`] served over HTTP/1.1 on 127.0.0.1 by a task of this runtime.
///
/// [`TestServer::stop`] (and drop) behaves like a crash: the accept loop and every open
/// connection are aborted at once, so clients see their streams end without a goodbye, and
/// [`TestServer::spawn_on`] can bind the same port again for a restart.
///
/// ```no_run
/// # async fn demo() {
/// use axum::{Router, routing::get};
/// let server = sse_tests::TestServer::spawn(Router::new().route("/", get(|| async { "hi" }))).await;
/// let port = server.addr().port();
/// server.stop().await;
/// let again = sse_tests::TestServer::spawn_on(port, Router::new()).await.unwrap();
/// assert_eq!(again.addr().port(), port);
/// # }
/// ```
#[derive(Debug)]
pub struct TestServer {
    addr: SocketAddr,
    task: Option<JoinHandle<()>>,
    stop: CancellationToken,
}

impl TestServer {
    /// Serves `router` on `127.0.0.1:0`.
    pub async fn spawn(router: Router) -> TestServer {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .expect("bind 127.0.0.1:0");
        Self::serve(listener, router)
    }

    /// Serves `router` on `127.0.0.1:<port>`, retrying the bind for up to 10 seconds while the
    /// port is still held (a restart right after [`TestServer::stop`]).
    pub async fn spawn_on(port: u16, router: Router) -> std::io::Result<TestServer> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await {
                Ok(listener) => return Ok(Self::serve(listener, router)),
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn serve(mut listener: TcpListener, router: Router) -> TestServer {
        let addr = listener.local_addr().expect("local addr");
        let stop = CancellationToken::new();
        let stopped = stop.clone();
        let task = tokio::spawn(async move {
            // Dropping this set (when the task is aborted) aborts every connection task.
            let mut connections = JoinSet::new();
            loop {
                tokio::select! {
                    () = stopped.cancelled() => {
                        drop(listener);
                        // An abort only takes effect at a task's next poll, and a connection
                        // task in the middle of a poll would still write what is published
                        // meanwhile: wait until every connection is really gone.
                        connections.shutdown().await;
                        return;
                    }
                    // axum's accept retries after an error (waiting when out of files)
                    // instead of spinning on it.
                    (stream, _peer) = axum::serve::Listener::accept(&mut listener) => {
                        let _ = stream.set_nodelay(true);
                        let service = hyper_util::service::TowerToHyperService::new(router.clone());
                        let connection = hyper::server::conn::http1::Builder::new()
                            .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
                        connections.spawn(async move {
                            let _ = connection.await;
                        });
                    }
                    Some(_) = connections.join_next(), if !connections.is_empty() => {}
                }
            }
        });
        TestServer {
            addr,
            task: Some(task),
            stop,
        }
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Closes the listener and every open connection at once, and waits until they are gone.
    pub async fn stop(mut self) {
        self.stop.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}
