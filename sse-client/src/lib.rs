//! A spec-exact `text/event-stream` parser and a reconnecting Server-Sent Events client on
//! reqwest.
//!
//! - [`EventParser`]: the sans-io parser. Feed it byte chunks of any size, take out
//!   [`Item`]s: events, `retry` changes and (when asked for) comments. It follows the WHATWG
//!   "interpreting an event stream" algorithm exactly (UTF-8 with U+FFFD, byte-order mark,
//!   CR / LF / CRLF across chunk boundaries, `id` with NUL ignored, id-only blocks, `retry`
//!   digits only), runs in linear time and bounds memory with a maximum event size.
//! - [`EventStream`]: the parser over any `Stream` of byte chunks, for any HTTP stack and
//!   runtime.
//! - `Client` (feature `client`): subscriptions over reqwest that reconnect by themselves,
//!   over HTTPS and HTTP/2, with `Last-Event-ID`, the server's `retry`, backoff with jitter,
//!   an idle timeout, a reconnect policy that never sends a `POST` twice unless it can
//!   resume, a request built per attempt, an end marker (`[DONE]`), and callbacks.
//!
//! ```
//! use reqwest_sse_client::{EventParser, Item};
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
#![cfg_attr(feature = "client", doc = "```no_run")]
#![cfg_attr(not(feature = "client"), doc = "```ignore")]
//! use futures_util::StreamExt;
//!
//! # async fn run() -> Result<(), reqwest_sse_client::Error> {
//! let client = reqwest_sse_client::Client::builder().build()?;
//! let mut events = client.subscribe("https://example.com/sse");
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
//! On by default:
//!
//! - `client`: `Client` and everything around it, on reqwest and tokio. Without it
//!   (`default-features = false`) the crate is the sans-io parser and `EventStream`.
//! - `rustls`: `https://` URLs through rustls with reqwest's crypto provider, **aws-lc-rs**
//!   (it builds with a C compiler alone: no cmake, no nasm), trusting the system's root
//!   certificates; `ClientBuilder::add_root_certificate` adds more.
//! - `http2`: HTTP/2 when the server offers it (ALPN).
//! - `system-proxy`: the proxy from the environment (`HTTPS_PROXY`, `NO_PROXY`, ...).
//!
//! Off by default: `json` (`Event::json` and `StatusError::json` with serde), `rustls-ring`
//! (rustls with the **ring** crypto provider instead, installed as the process default when a
//! `Client` is built, so any other `reqwest::Client` of the program must be built after it),
//! `native-tls` (the platform's TLS instead of rustls).
#![deny(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]
// Library code must not panic on anything input can reach; tests may unwrap.
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

#[cfg(feature = "client")]
mod backoff;
#[cfg(feature = "client")]
mod client;
#[cfg(feature = "client")]
mod error;
mod event;
mod event_stream;
#[cfg(feature = "client")]
mod log;
pub mod parser;

#[cfg(feature = "client")]
#[cfg_attr(docsrs, doc(cfg(feature = "client")))]
pub use client::{
    Attempt, Client, ClientBuilder, IntoRequest, Reconnect, Subscription, SubscriptionItems,
};
#[cfg(feature = "client")]
#[cfg_attr(docsrs, doc(cfg(feature = "client")))]
pub use error::{Disconnect, DisconnectReason, Error, StatusError};
pub use event::Event;
pub use event_stream::{EventStream, EventStreamError};
pub use parser::{DEFAULT_MAX_EVENT_SIZE, EventParser, Item, ParseError};
