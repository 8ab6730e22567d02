//! [`TlsServer`]: an axum [`Router`] served over HTTPS on 127.0.0.1:0, with HTTP/2 and
//! HTTP/1.1 offered by ALPN, and a certificate authority made for the test (rcgen, ring), so
//! a client that trusts [`TlsServer::ca_pem`] connects and one that does not is refused.
//!
//! ```no_run
//! # async fn demo() {
//! use axum::{Router, routing::get};
//! let server = sse_tests::tls::TlsServer::spawn(Router::new().route("/", get(|| async { "hi" }))).await;
//! let root = reqwest::Certificate::from_pem(server.ca_pem().as_bytes()).unwrap();
//! let client = reqwest::Client::builder().tls_certs_merge([root]).build().unwrap();
//! let body = client.get(server.url("/")).send().await.unwrap().text().await.unwrap();
//! assert_eq!(body, "hi");
//! # }
//! ```

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;

/// A certificate for `localhost` and `127.0.0.1`, issued by a certificate authority made for
/// the occasion.
#[derive(Debug)]
pub struct TestCertificates {
    /// The authority's certificate (PEM): what a client must trust.
    pub ca_pem: String,
    /// The server's certificate, issued by the authority.
    pub leaf: CertificateDer<'static>,
    /// The server's private key (PKCS #8 DER).
    pub leaf_key: Vec<u8>,
}

impl TestCertificates {
    /// Generates a new authority and server certificate (ECDSA P-256, through ring).
    pub fn generate() -> Result<Self, rcgen::Error> {
        let mut ca = CertificateParams::new(Vec::<String>::new())?;
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "sse-tests test authority");
        ca.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate()?)?;
        let mut leaf =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])?;
        leaf.distinguished_name
            .push(DnType::CommonName, "localhost");
        let leaf_key = KeyPair::generate()?;
        let leaf = leaf.signed_by(&leaf_key, &ca)?;
        Ok(Self {
            ca_pem: ca.pem(),
            leaf: leaf.der().clone(),
            leaf_key: leaf_key.serialize_der(),
        })
    }
}

/// An axum [`Router`] served over HTTPS (HTTP/2 or HTTP/1.1, as the client's ALPN asks) on
/// `127.0.0.1:0` by a task of this runtime; stopped, with its connections, on drop.
#[derive(Debug)]
pub struct TlsServer {
    addr: SocketAddr,
    ca_pem: String,
    protocols: Arc<Mutex<Vec<String>>>,
    task: JoinHandle<()>,
}

impl TlsServer {
    /// Serves `router` with fresh [`TestCertificates`]; panics when that cannot be set up.
    pub async fn spawn(router: Router) -> TlsServer {
        let certificates = TestCertificates::generate().expect("generate test certificates");
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(certificates.leaf_key));
        let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(vec![certificates.leaf], key)
        .expect("server certificate");
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let protocols = Arc::default();
        let task = tokio::spawn(accept_loop(
            listener,
            acceptor,
            router,
            Arc::clone(&protocols),
        ));
        TlsServer {
            addr,
            ca_pem: certificates.ca_pem,
            protocols,
            task,
        }
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `https://127.0.0.1:<port><path>` (the certificate names `127.0.0.1`).
    pub fn url(&self, path: &str) -> String {
        format!("https://{}{path}", self.addr)
    }

    /// The PEM certificate of the authority that issued the server's certificate.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The protocol ALPN chose for each connection whose handshake completed, in order
    /// (`"h2"`, `"http/1.1"`, or `"none"`).
    pub fn protocols(&self) -> Vec<String> {
        self.protocols.lock().expect("protocols lock").clone()
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept_loop(
    mut listener: TcpListener,
    acceptor: TlsAcceptor,
    router: Router,
    protocols: Arc<Mutex<Vec<String>>>,
) {
    // Dropping this set (when the task is aborted) aborts every connection task.
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            // axum's accept retries after an error (waiting when out of files) instead of
            // spinning on it.
            (stream, _peer) = axum::serve::Listener::accept(&mut listener) => {
                let acceptor = acceptor.clone();
                let service = TowerToHyperService::new(router.clone());
                let protocols = Arc::clone(&protocols);
                connections.spawn(async move {
                    // A client that rejects the certificate aborts the handshake: nothing to serve.
                    let Ok(tls) = acceptor.accept(stream).await else {
                        return;
                    };
                    let protocol = tls.get_ref().1.alpn_protocol().map_or_else(
                        || "none".to_owned(),
                        |alpn| String::from_utf8_lossy(alpn).into_owned(),
                    );
                    protocols.lock().expect("protocols lock").push(protocol);
                    let _ = auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(tls), service)
                        .await;
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}
