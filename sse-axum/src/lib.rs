//! Server-Sent Events (`text/event-stream`) for axum.
//!
//! ```
//! use axum::{Router, routing::get};
//! use futures_util::stream::{self, StreamExt as _};
//! use sse_axum::{Event, LastEventId, SseLayer, SseStream};
//! use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
//!
//! /// Three numbered ticks, resuming after the last id the client saw.
//! async fn ticks(last_event_id: Option<LastEventId>) -> SseStream {
//!     let start = last_event_id
//!         .and_then(|id| id.as_str().parse::<u64>().ok())
//!         .map_or(1, |n| n + 1);
//!     // `Event::id` refuses ids with line breaks: a stream of `Result<Event, EventError>`.
//!     SseStream::new(stream::iter(start..start + 3).map(|n| {
//!         Event::new().try_id(n.to_string()).map(|event| event.data(format!("tick {n}")))
//!     }))
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let app = Router::new().route("/ticks", get(ticks)).layer(SseLayer::new());
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//!     let addr = listener.local_addr()?;
//!     tokio::spawn(async move { axum::serve(listener, app).await });
//!
//!     // A client reconnecting after event 5.
//!     let mut tcp = tokio::net::TcpStream::connect(addr).await?;
//!     tcp.write_all(b"GET /ticks HTTP/1.1\r\nHost: localhost\r\nLast-Event-ID: 5\r\nConnection: close\r\n\r\n")
//!         .await?;
//!     let mut response = String::new();
//!     tcp.read_to_string(&mut response).await?;
//!     assert!(response.starts_with("HTTP/1.1 200 OK"));
//!     assert!(response.contains("content-type: text/event-stream"));
//!     assert!(response.contains("id: 6\ndata: tick 6\n\n"));
//!     assert!(response.contains("id: 8\ndata: tick 8\n\n"));
//!     Ok(())
//! }
//! ```
//!
//! # What is here
//!
//! - [`Event`]: one event, built field by field, and the one owner of the wire format (the
//!   hub's frames are written by the same code). It cannot break a stream: multi-line data and
//!   comments are split the way clients split them (`\r\n`, `\r`, `\n` each end one line), and
//!   the event type and id are [`EventType`] and [`Id`], values checked once when they are made
//!   (`from_static` for literals, `From<u64>` and from the hub's [`EventId`](hub::EventId), a fallible `new`
//!   for text), so setting them cannot fail; `try_event`/`try_id` take text and refuse a line
//!   break with an [`EventError`] instead of a panic.
//! - [`SseStream`]: the responder, from any stream of events ([`SseStream::new`]) or fed by an
//!   [`EventSender`] ([`SseStream::channel`]), with [`KeepAlive`] comments during silence.
//!   Each event is encoded once; the body only passes bytes on, each as soon as it exists.
//! - [`LastEventId`]: the extractor for the `Last-Event-ID` header (or the `lastEventId` query
//!   parameter of EventSource polyfills); use `Option<LastEventId>` for "fresh or resuming".
//! - [`SseLayer`]: a tower layer for cache headers, graceful shutdown of open streams and a
//!   limit on open streams, checked before the handler runs.
//! - [`Hub`](hub::Hub) (module [`hub`]): topic fan-out with bounded replay, so a reconnecting
//!   client resumes exactly after its `Last-Event-ID`; in this process, or shared by several
//!   through Redis (feature `redis`), or over an engine of your own ([`hub::backend`]).
//! - `serve_http1` (feature `serve`): `axum::serve` over HTTP/1.1 only, for servers that
//!   hold many open streams, with a request-head timeout and graceful shutdown.
//!
//! # Graceful shutdown, in one place
//!
//! One [`CancellationToken`](tokio_util::sync::CancellationToken) drives it: give it to
//! [`SseLayer::graceful_shutdown`] and wait for it in the server's `with_graceful_shutdown`
//! (`axum::serve` or `serve_http1`). When it fires, every open event stream passes on what it
//! has ready at once (a bounded amount), then the layer's final event, then ends cleanly, so
//! the server's shutdown completes instead of waiting for clients that never hang up. Without
//! the layer, [`Hub::close`](hub::Hub::close) ends the hub's subscriptions the same way (what
//! is queued, bounded by the subscriber queue, then the end).
//!
//! # Features
//!
//! - `auth`: module `auth`: signed, expiring stream tickets (HMAC-SHA256 over a subject,
//!   the topics and topic prefixes it may read and publish to, an expiry and optionally an
//!   origin), the `Ticket` extractor (cookie, `Authorization: Bearer` or query parameter;
//!   401/403 with a plain message), and hub subscriptions that end when the ticket expires.
//! - `json`: `Event::json_data`, via `serde_json`.
//! - `redis`: [`HubBuilder::build_redis`](hub::HubBuilder) and `hub::RedisBackend`: a hub shared
//!   by several processes through a Redis Stream (the `redis` crate, on Tokio).
//! - `serve`: `serve_http1`, `axum::serve` over HTTP/1.1 only, with less memory per open
//!   stream.
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]
// Library code must not panic on anything input can reach; tests may unwrap.
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

#[cfg_attr(docsrs, doc(cfg(feature = "auth")))]
#[cfg(feature = "auth")]
pub mod auth;
mod event;
pub mod hub;
mod jitter;
mod last_event_id;
pub mod layer;
mod log;
pub mod metrics;
#[cfg_attr(docsrs, doc(cfg(feature = "serve")))]
#[cfg(feature = "serve")]
pub mod serve;
#[cfg(feature = "serve")]
mod stall;
mod stream;

pub use event::{Event, EventError, EventType, Id};
pub use last_event_id::{
    LAST_EVENT_ID, LAST_EVENT_ID_QUERY, LastEventId, LastEventIdConfig, LastEventIdRejection,
    LastEventIdRejectionReason,
};
pub use layer::{SseLayer, SseService};
#[cfg_attr(docsrs, doc(cfg(feature = "serve")))]
#[cfg(feature = "serve")]
pub use serve::{ServeHttp1, serve_http1};
pub use stream::{EventSender, IntoSseItem, KeepAlive, SendError, SseStream, TrySendError};
