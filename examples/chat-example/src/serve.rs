//! Serving the chat over HTTP/2: h2c beside HTTP/1.1 on the same port (`--http2`), or HTTPS
//! with HTTP/2 chosen by ALPN (`--tls-cert`, `--tls-key`). Plain HTTP/1.1, the default, goes
//! through `sse_axum::serve_http1` (less memory per open stream).
//!
//! Why HTTP/2 for event streams: a browser opens at most six HTTP/1.1 connections per origin,
//! so a seventh tab's `EventSource` waits; over HTTP/2 every stream of an origin shares one
//! connection. Browsers speak HTTP/2 only over TLS; h2c serves clients and proxies that speak
//! it in the clear.
//!
//! Like `serve_http1`, every request carries `ConnectInfo<SocketAddr>` (for the per-address
//! stream limit), every connection's writes are guarded against stalled readers
//! (`sse_axum::serve::StallIo`), and a graceful shutdown stops accepting, then waits for the
//! open connections (give the same signal to the `SseLayer` so that streams end).

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sse_axum::serve::StallIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tower_service::Service as _;

/// How long a TLS handshake may take before the connection is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A TLS configuration for HTTPS with HTTP/2 and HTTP/1.1 by ALPN, from PEM files: the
/// certificate chain (leaf first) and its private key.
///
/// # Errors
///
/// A message naming the file that cannot be read or holds no usable certificate or key.
pub fn tls_config(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, String> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(Iterator::collect)
        .map_err(|e| format!("cannot read certificates from {}: {e}", cert.display()))?;
    if certs.is_empty() {
        return Err(format!("no certificate in {}", cert.display()));
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| format!("cannot read a private key from {}: {e}", key.display()))?;
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| format!("TLS: {e}"))?
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .map_err(|e| format!("the certificate and the key do not go together: {e}"))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Serves `router` on `listener`, HTTP/1.1 and HTTP/2 (h2c by prior knowledge, or ALPN over
/// TLS with `tls`), until `signal` completes and the open connections have finished.
pub async fn serve_auto(
    listener: TcpListener,
    router: Router,
    tls: Option<Arc<rustls::ServerConfig>>,
    stall_timeout: Option<Duration>,
    signal: impl Future<Output = ()> + Send + 'static,
) {
    let acceptor = tls.map(TlsAcceptor::from);
    let graceful = GracefulShutdown::new();
    let mut listener = listener;
    let mut signal = std::pin::pin!(signal);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = axum::serve::Listener::accept(&mut listener) => accepted,
            () = &mut signal => break,
        };
        // An event is sent when it is written, not held back by Nagle's algorithm.
        let _ = tcp.set_nodelay(true);
        let router = router.clone();
        let acceptor = acceptor.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            match acceptor {
                None => serve_connection(tcp, peer, router, stall_timeout, watcher).await,
                Some(acceptor) => {
                    let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp));
                    // A client that rejects the certificate, or never finishes: nothing to serve.
                    if let Ok(Ok(tls)) = handshake.await {
                        serve_connection(tls, peer, router, stall_timeout, watcher).await;
                    }
                }
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}

async fn serve_connection<Io>(
    io: Io,
    peer: SocketAddr,
    router: Router,
    stall_timeout: Option<Duration>,
    watcher: hyper_util::server::graceful::Watcher,
) where
    Io: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut request: axum::extract::Request<_>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        router.clone().call(request.map(axum::body::Body::new))
    });
    let io = StallIo::optional(io, stall_timeout);
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new());
    builder.http2().timer(TokioTimer::new());
    let connection = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
    // A connection error (the client went away, a malformed request) ends only that
    // connection.
    let _ = watcher.watch(connection.into_owned()).await;
}
