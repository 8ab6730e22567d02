//! A spec-exact `text/event-stream` parser and a reconnecting Server-Sent Events client on
//! reqwest.
//!
//! - [`EventParser`]: the sans-io parser. Feed it byte chunks of any size, take out
//!   [`Item`]s: events and `retry` changes. It follows the WHATWG "interpreting an event
//!   stream" algorithm exactly (UTF-8 with U+FFFD, byte-order mark, CR / LF / CRLF across
//!   chunk boundaries, `id` with NUL ignored, id-only blocks, `retry` digits only), runs in
//!   linear time and bounds memory with a maximum event size.
//! - [`EventStream`]: the parser over any `Stream` of byte chunks.
//! - [`Client`]: subscriptions over reqwest that reconnect by themselves, with
//!   `Last-Event-ID`, the server's `retry`, backoff with jitter, an idle timeout, any method,
//!   headers and body, and callbacks.
//!
//! ```
//! use sse_client::{EventParser, Item};
//!
//! let mut parser = EventParser::new();
//! let mut input = &b"\xEF\xBB\xBFevent: greeting\r\nid: 1\r\ndata: hello\r\ndata: world\r\n\r\n"[..];
//! let Some(Ok(Item::Event(event))) = parser.next_item(&mut input) else {
//!     panic!("expected an event");
//! };
//! assert_eq!(event.event_type(), "greeting");
//! assert_eq!(event.data(), "hello\nworld");
//! assert_eq!(event.last_event_id(), "1");
//! assert!(input.is_empty());
//! ```
//!
//! The client (`no_run`: it needs a server):
//!
//! ```no_run
//! use futures_util::StreamExt;
//!
//! # async fn run() -> Result<(), sse_client::Error> {
//! let client = sse_client::Client::builder().build()?;
//! let mut events = client.subscribe("http://127.0.0.1:8888/sse");
//! while let Some(event) = events.next().await {
//!     let event = event?;
//!     println!("{} {:?} (id {:?})", event.event_type(), event.data(), event.last_event_id());
//! }
//! # Ok(())
//! # }
//! ```
//!
//! # Cargo features
//!
//! - `json`: `Event::json` with serde.
//! - `rustls`, `native-tls`: enable the matching TLS backend of reqwest (by default reqwest is
//!   used without TLS: `http://` only, unless your own `reqwest::Client` is given with
//!   [`ClientBuilder::http_client`]).
#![deny(missing_docs)]
// Library code must not panic on anything input can reach; tests may unwrap.
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod backoff;
mod client;
mod error;
mod event;
mod event_stream;
pub mod parser;

pub use client::{Client, ClientBuilder, IntoRequest, Subscription, SubscriptionItems};
pub use error::{Disconnect, DisconnectReason, Error};
pub use event::Event;
pub use event_stream::{EventStream, EventStreamError};
pub use parser::{DEFAULT_MAX_EVENT_SIZE, EventParser, Item, ParseError};
