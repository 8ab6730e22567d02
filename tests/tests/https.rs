//! `reqwest_sse_client::Client::builder().build()` over HTTPS with its default features: a stream
//! over HTTP/2 from an axum server on 127.0.0.1:0 whose certificate was made by the test
//! (rcgen) and is trusted through `add_root_certificate`; without that root, the certificate
//! is rejected at once instead of being retried.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::http::Version;
use axum::response::Response;
use axum::routing::get;
use futures_util::StreamExt;
use reqwest_sse_client::{Client, Error};
use sse_tests::scripted::{Part, sse};
use sse_tests::tls::TlsServer;

const LIMIT: Duration = Duration::from_secs(20);

/// `/sse`: two events, then the stream stays open; the handler records the request's HTTP
/// version.
async fn server() -> (TlsServer, Arc<Mutex<Vec<Version>>>) {
    let versions = Arc::new(Mutex::new(Vec::new()));
    let router = Router::new().route(
        "/sse",
        get({
            let versions = Arc::clone(&versions);
            move |version: Version| async move {
                versions.lock().unwrap().push(version);
                let response: Response = sse(vec![
                    Part::Send("id: 1\ndata: over tls\n\n"),
                    Part::Send("id: 2\ndata: ünïcödé\n\n"),
                    Part::Hang,
                ]);
                response
            }
        }),
    );
    (TlsServer::spawn(router).await, versions)
}

fn root(server: &TlsServer) -> reqwest::Certificate {
    reqwest::Certificate::from_pem(server.ca_pem().as_bytes()).unwrap()
}

#[tokio::test]
async fn one_stream_over_https_and_http2_with_the_default_features() {
    let (server, versions) = server().await;
    let connected = Arc::new(Mutex::new(Vec::new()));
    let client = Client::builder()
        .add_root_certificate(root(&server))
        .on_connect({
            let connected = Arc::clone(&connected);
            move |response| connected.lock().unwrap().push(response.version())
        })
        .build()
        .unwrap();
    let mut events = client.subscribe(server.url("/sse"));
    let events: Vec<_> = tokio::time::timeout(LIMIT, (&mut events).take(2).collect::<Vec<_>>())
        .await
        .expect("no events over https");
    let events: Vec<_> = events
        .into_iter()
        .map(|event| {
            let event = event.unwrap();
            (event.data().to_owned(), event.last_event_id().to_owned())
        })
        .collect();
    assert_eq!(
        events,
        [
            ("over tls".to_owned(), "1".to_owned()),
            ("ünïcödé".to_owned(), "2".to_owned())
        ]
    );
    assert_eq!(*connected.lock().unwrap(), [Version::HTTP_2], "client side");
    assert_eq!(*versions.lock().unwrap(), [Version::HTTP_2], "server side");
    assert_eq!(server.protocols(), ["h2"], "ALPN");
}

#[tokio::test]
async fn a_certificate_the_client_does_not_trust_ends_the_subscription_at_once() {
    let (server, versions) = server().await;
    let client = Client::builder()
        .retry(Duration::from_millis(10))
        .build()
        .unwrap();
    let items: Vec<_> = tokio::time::timeout(LIMIT, client.subscribe(server.url("/sse")).collect())
        .await
        .expect("a rejected certificate was retried");
    match &items[..] {
        [Err(error @ Error::Tls(_))] => {
            assert!(error.to_string().contains("certificate"), "{error}");
            let mut chain = String::new();
            let mut source = std::error::Error::source(error);
            while let Some(cause) = source {
                chain.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            assert!(chain.contains("UnknownIssuer"), "{chain}");
        }
        other => panic!("{other:?}"),
    }
    assert!(server.protocols().is_empty(), "no handshake completed");
    assert!(versions.lock().unwrap().is_empty());
}
