//! The built `chat-example` with the production flags of its event streams: `--help` lists
//! them with their defaults, `--max-streams` refuses softly (a browser comes back),
//! `--max-streams-per-ip`, `--drain` spreads the ends of a shutdown, `--max-lifetime` ends a
//! stream cleanly, `--compress` negotiates an encoding, `--http2` speaks h2c beside HTTP/1.1,
//! and `--tls-cert`/`--tls-key` serve HTTPS with HTTP/2 by ALPN.

use std::time::Duration;

use example_ops::testing::{OpenStream, ServerProcess, assert_help_and_version, exchange};
use tokio::time::Instant;

const BIN: &str = env!("CARGO_BIN_EXE_chat-example");

async fn chat(args: &[&str]) -> ServerProcess {
    let mut all = vec!["--addr", "127.0.0.1:0"];
    all.extend_from_slice(args);
    ServerProcess::start(BIN, &all, &[]).await
}

fn host(server: &ServerProcess) -> String {
    server.addr().to_string()
}

/// `GET /chat/sse` as `EventSource` sends it.
fn sse_request(name: &str, host: &str) -> String {
    format!(
        "GET /chat/sse?username={name} HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\nConnection: close\r\n\r\n"
    )
}

#[tokio::test]
async fn help_lists_the_stream_flags_with_their_defaults() {
    assert_help_and_version(
        BIN,
        "chat-example",
        env!("CARGO_PKG_VERSION"),
        &[
            "--drain <SECS>",
            "CHAT_DRAIN",
            "--max-lifetime <SECS>",
            "--max-streams <N>",
            "--max-streams-per-ip <N>",
            "--stall-timeout <SECS>",
            "[default: 30]",
            "--compress",
            "--http2",
            "--tls-cert <FILE>",
            "--tls-key <FILE>",
        ],
    )
    .await;
}

#[tokio::test]
async fn beyond_max_streams_a_client_is_told_to_come_back() {
    let server = chat(&["--max-streams", "1"]).await;
    let host = host(&server);
    let mut open = OpenStream::open(server.addr(), "/chat/sse?username=alice", &host).await;
    assert!(open.head.starts_with("HTTP/1.1 200"), "{}", open.head);
    open.read_until(|body| body.contains(":\n\n")).await;
    let refused = exchange(server.addr(), &sse_request("bob", &host)).await;
    assert!(refused.starts_with("HTTP/1.1 200 OK"), "{refused}");
    assert!(
        refused.contains("content-type: text/event-stream"),
        "{refused}"
    );
    assert!(
        refused.contains(": too many open event streams, retry later\nretry: "),
        "{refused}"
    );
}

#[tokio::test]
async fn max_streams_per_ip_counts_one_address() {
    let server = chat(&["--max-streams-per-ip", "2", "--max-streams", "100"]).await;
    let host = host(&server);
    let mut streams = Vec::new();
    for name in ["a", "b"] {
        let mut open =
            OpenStream::open(server.addr(), &format!("/chat/sse?username={name}"), &host).await;
        open.read_until(|body| body.contains(":\n\n")).await;
        streams.push(open);
    }
    let third = exchange(server.addr(), &sse_request("c", &host)).await;
    assert!(third.contains("too many open event streams"), "{third}");
}

#[tokio::test]
async fn max_lifetime_ends_a_stream_cleanly() {
    let server = chat(&["--max-lifetime", "0.5"]).await;
    let host = host(&server);
    let started = Instant::now();
    let mut open = OpenStream::open(server.addr(), "/chat/sse?username=alice", &host).await;
    // The chunked body's last chunk: a clean end, which `EventSource` answers by reconnecting.
    open.read_until(|body| body.ends_with("0\r\n\r\n")).await;
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(400) && took < Duration::from_secs(5),
        "{took:?}"
    );
}

#[tokio::test]
async fn drain_spreads_the_ends_and_the_process_exits_in_time() {
    let mut server = chat(&["--drain", "1"]).await;
    let host = host(&server);
    let mut streams = Vec::new();
    for n in 0..20 {
        let mut open =
            OpenStream::open(server.addr(), &format!("/chat/sse?username=u{n}"), &host).await;
        open.read_until(|body| body.contains(":\n\n")).await;
        streams.push(open);
    }
    let started = Instant::now();
    server.terminate();
    let readers: Vec<_> = streams
        .into_iter()
        .map(|mut open| {
            tokio::spawn(async move {
                let body = open.read_until(|body| body.ends_with("0\r\n\r\n")).await;
                (started.elapsed(), body)
            })
        })
        .collect();
    let mut ends = Vec::new();
    for reader in readers {
        let (ended, body) = reader.await.unwrap();
        assert!(body.contains("retry: "), "a retry of its own: {body:?}");
        ends.push(ended);
    }
    let status = server.exit_within(Duration::from_secs(4)).await;
    assert!(status.success(), "{status:?}");
    ends.sort();
    assert!(
        ends[19] - ends[0] > Duration::from_millis(300),
        "spread: {ends:?}"
    );
    assert!(
        ends[19] < Duration::from_millis(1800),
        "within the window: {ends:?}"
    );
}

#[tokio::test]
async fn compress_negotiates_an_encoding() {
    let server = chat(&["--compress"]).await;
    let host = host(&server);
    let request = format!(
        "GET /chat/sse?username=alice HTTP/1.1\r\nHost: {host}\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n"
    );
    let mut tcp = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut tcp, request.as_bytes())
        .await
        .unwrap();
    let mut head = Vec::new();
    let mut buf = [0_u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tokio::time::timeout(
            Duration::from_secs(10),
            tokio::io::AsyncReadExt::read(&mut tcp, &mut buf),
        )
        .await
        .unwrap()
        .unwrap();
        assert!(n > 0);
        head.extend_from_slice(&buf[..n]);
    }
    let head = String::from_utf8_lossy(&head);
    assert!(head.contains("content-encoding: gzip"), "{head}");
}

/// An HTTP/2 client (reqwest), trusting `ca` if given.
fn h2_client(prior_knowledge: bool, ca: Option<&str>) -> reqwest::Client {
    let mut builder = reqwest::Client::builder();
    if prior_knowledge {
        builder = builder.http2_prior_knowledge();
    }
    if let Some(ca) = ca {
        builder = builder.tls_certs_merge([reqwest::Certificate::from_pem(ca.as_bytes()).unwrap()]);
    }
    builder.build().unwrap()
}

/// Opens `/chat/sse?username=NAME` and reads until the opening comment; returns the body.
async fn open_over(
    client: &reqwest::Client,
    url: &str,
) -> impl futures_util::Stream<Item = reqwest::Result<bytes::Bytes>> + Unpin {
    let response = client
        .get(url)
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.version(), reqwest::Version::HTTP_2, "{url}");
    let mut body = response.bytes_stream();
    let first = tokio::time::timeout(
        Duration::from_secs(10),
        futures_util::StreamExt::next(&mut body),
    )
    .await
    .unwrap()
    .unwrap()
    .unwrap();
    assert!(first.starts_with(b":\n\n"), "{first:?}");
    body
}

#[tokio::test]
async fn http2_speaks_h2c_beside_http1_on_the_same_port() {
    let server = chat(&["--http2"]).await;
    let url = format!("http://{}/chat/sse?username=alice", server.addr());
    let client = h2_client(true, None);
    let _streams = [
        open_over(&client, &url).await,
        open_over(&client, &url).await,
    ];
    // HTTP/1.1 still answers on the same port.
    let mut open = OpenStream::open(server.addr(), "/chat/sse?username=bob", &host(&server)).await;
    assert!(open.head.starts_with("HTTP/1.1 200"), "{}", open.head);
    open.read_until(|body| body.contains(":\n\n")).await;
}

#[tokio::test]
async fn tls_serves_https_with_http2_by_alpn() {
    let dir = std::env::temp_dir().join(format!("chat-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let leaf = rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&leaf_key, &ca)
        .unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, leaf.pem()).unwrap();
    std::fs::write(&key, leaf_key.serialize_pem()).unwrap();
    let server = chat(&[
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ])
    .await;
    let url = format!("https://{}/chat/sse?username=alice", server.addr());
    let client = h2_client(false, Some(&ca.pem()));
    let _stream = open_over(&client, &url).await;
    // A client that does not trust the authority is refused by its own TLS check.
    let untrusting = reqwest::Client::builder().build().unwrap();
    assert!(untrusting.get(&url).send().await.is_err());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn metrics_are_served_in_the_prometheus_text_format() {
    let server = chat(&["--metrics", "--max-streams", "1"]).await;
    let host = host(&server);
    let mut open = OpenStream::open(server.addr(), "/chat/sse?username=alice", &host).await;
    open.read_until(|body| body.contains(":\n\n")).await;
    let refused = exchange(server.addr(), &sse_request("bob", &host)).await;
    assert!(refused.contains("too many open event streams"), "{refused}");
    let post = format!(
        "POST /chat/broadcast?from=carol&message=hi HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    assert!(
        exchange(server.addr(), &post)
            .await
            .starts_with("HTTP/1.1 204")
    );
    open.read_until(|body| body.contains("\"Message\":\"hi\""))
        .await;

    let scrape = exchange(
        server.addr(),
        &format!("GET /metrics HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"),
    )
    .await;
    assert!(scrape.starts_with("HTTP/1.1 200"), "{scrape}");
    for line in [
        "sse_streams_open 1",
        "sse_streams_opened_total 1",
        "sse_streams_refused_total 1",
        "sse_hub_subscribers 1",
        "sse_hub_published_total 1",
        "sse_hub_delivered_total 1",
    ] {
        assert!(
            scrape.lines().any(|l| l == line),
            "no {line:?} in\n{scrape}"
        );
    }
    assert!(scrape.contains("sse_hub_delivery_seconds"), "{scrape}");
}
