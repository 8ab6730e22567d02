//! `SseLayer::compression`: negotiated from `Accept-Encoding`, every frame flushed, so the
//! client decodes each event before the next one is even published.
#![cfg(feature = "compression-full")]

use std::io::Write as _;

use axum::{Router, routing::get};
use sse_axum::layer::Encoding;
use sse_axum::{Event, KeepAlive, SseLayer, SseStream};
use tokio::sync::mpsc;

use crate::raw_client::{PATIENCE, RawResponse, serve};

/// A streaming decoder for one encoding: feed it chunks, read what it decoded so far.
enum Decoder {
    Gzip(flate2::write::GzDecoder<Vec<u8>>),
    Brotli(Box<brotli::DecompressorWriter<Vec<u8>>>),
    Zstd(zstd::stream::write::Decoder<'static, Vec<u8>>),
}

impl Decoder {
    fn new(encoding: Encoding) -> Self {
        match encoding {
            Encoding::Gzip => Self::Gzip(flate2::write::GzDecoder::new(Vec::new())),
            Encoding::Brotli => {
                Self::Brotli(Box::new(brotli::DecompressorWriter::new(Vec::new(), 4096)))
            }
            Encoding::Zstd => Self::Zstd(zstd::stream::write::Decoder::new(Vec::new()).unwrap()),
            _ => unreachable!(),
        }
    }

    fn feed(&mut self, chunk: &[u8]) -> String {
        let out = match self {
            Self::Gzip(d) => {
                d.write_all(chunk).unwrap();
                d.flush().unwrap();
                d.get_mut()
            }
            Self::Brotli(d) => {
                d.write_all(chunk).unwrap();
                d.flush().unwrap();
                d.get_mut()
            }
            Self::Zstd(d) => {
                d.write_all(chunk).unwrap();
                d.flush().unwrap();
                d.get_mut()
            }
        };
        String::from_utf8(out.clone()).unwrap()
    }
}

fn app(senders: mpsc::UnboundedSender<sse_axum::EventSender>) -> Router {
    Router::new()
        .route(
            "/sse",
            get(move || {
                let senders = senders.clone();
                async move {
                    let (sender, stream) = SseStream::channel(16);
                    senders.send(sender).unwrap();
                    stream.keep_alive(KeepAlive::disabled())
                }
            }),
        )
        .layer(SseLayer::new().compression([Encoding::Zstd, Encoding::Brotli, Encoding::Gzip]))
}

#[tokio::test]
async fn each_event_is_decodable_before_the_next_is_published() {
    for (accept, encoding) in [
        ("gzip", Encoding::Gzip),
        ("br", Encoding::Brotli),
        ("zstd", Encoding::Zstd),
        ("gzip;q=0.5, br;q=0.8, zstd;q=0.1", Encoding::Brotli),
    ] {
        let (tx, mut senders) = mpsc::unbounded_channel();
        let addr = serve(app(tx)).await;
        let header = format!("Accept-Encoding: {accept}");
        let mut response = RawResponse::get(addr, "/sse", &[header.as_bytes()]).await;
        assert_eq!(response.status, 200);
        assert_eq!(response.header("content-encoding"), Some(encoding.as_str()));
        assert_eq!(response.header("vary"), Some("accept-encoding"));
        let sender = senders.recv().await.unwrap();
        let mut decoder = Decoder::new(encoding);
        let mut text = String::new();
        for n in 0..5 {
            sender
                .send(Event::new().data(format!("event {n} of the stream, compressed")))
                .await
                .unwrap();
            let wanted = format!("data: event {n} of the stream, compressed\n\n");
            let deadline = tokio::time::Instant::now() + PATIENCE;
            while !text.contains(&wanted) {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "{accept}: event {n} held back"
                );
                let chunk = response.next_chunk().await.expect("a chunk");
                text = decoder.feed(&chunk);
            }
        }
        assert!(
            text.starts_with(":\n\n"),
            "{accept}: the opening comment, compressed too"
        );
        // The end: the compressor's trailer, then the clean end of the body.
        drop(sender);
        while let Some(chunk) = response.next_chunk().await {
            text = decoder.feed(&chunk);
        }
        assert!(text.ends_with("compressed\n\n"), "{accept}");
    }
}

#[tokio::test]
async fn without_accept_encoding_the_stream_is_plain() {
    let (tx, mut senders) = mpsc::unbounded_channel();
    let addr = serve(app(tx)).await;
    let mut response = RawResponse::get(addr, "/sse", &[b"Accept-Encoding: identity"]).await;
    assert_eq!(response.header("content-encoding"), None);
    let sender = senders.recv().await.unwrap();
    sender.send(Event::new().data("plain")).await.unwrap();
    assert_eq!(response.next_text().await.unwrap(), "data: plain\n\n");
}
