//! End to end over loopback: an axum server streams `n` small events to one client.
//!
//! Every server ([`ServerSide`]) is measured with every client ([`ClientKind`]), including a
//! client that only counts the body's bytes, so the server's and the client's shares of the
//! end-to-end rate show separately.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::Path;
use axum::response::sse::Event as AxumEvent;
use axum::routing::get;
use eventsource_stream::Eventsource as _;
use futures_util::{StreamExt as _, TryStreamExt as _};
use sse_reqwest_client::RequestBuilderExt as _;

use crate::corpus::Summary;

/// The `retry` sent with the first event.
const RETRY: Duration = Duration::from_secs(5);

/// The data of event `i`.
#[must_use]
pub fn data(i: u64) -> String {
    format!("{i:010} a small event of forty bytes")
}

/// What every client must see for `n` events.
#[must_use]
pub fn expected(n: u64) -> Summary {
    let mut summary = Summary {
        retries: 1,
        ..Summary::default()
    };
    for i in 0..n {
        summary.event(&data(i), &i.to_string());
    }
    summary
}

/// The bytes of the response body for `n` events (both servers write the same).
#[must_use]
pub fn expected_body_len(n: u64) -> u64 {
    let retry = format!("retry: {}\n", RETRY.as_millis()).len() as u64;
    retry
        + (0..n)
            .map(|i| (format!("id: {i}\ndata: {}\n\n", data(i))).len() as u64)
            .sum::<u64>()
}

fn ours_event(i: u64) -> Result<sse_axum::Event, sse_axum::EventError> {
    let event = sse_axum::Event::new().try_id(i.to_string())?.data(data(i));
    Ok(if i == 0 { event.retry(RETRY) } else { event })
}

fn axum_event(i: u64) -> AxumEvent {
    let event = AxumEvent::default();
    let event = if i == 0 { event.retry(RETRY) } else { event };
    event.id(i.to_string()).data(data(i))
}

/// The servers of the cross matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerSide {
    /// `sse_axum::SseStream` (events joined into body frames of up to 16 KiB).
    Ours,
    /// axum's `Sse` (one body frame per event).
    Axum,
}

impl ServerSide {
    /// Both, ours first.
    pub const ALL: [Self; 2] = [Self::Ours, Self::Axum];

    /// Its name in the table.
    #[must_use]
    pub fn describe(self) -> &'static str {
        match self {
            Self::Ours => "sse-axum SseStream",
            Self::Axum => "axum Sse",
        }
    }
}

/// The clients of the cross matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientKind {
    /// Our reconnecting `reqwest_sse_client::Client`.
    Client,
    /// Our `reqwest_sse_client::EventStream` over reqwest's byte stream (no reconnecting layer).
    EventStream,
    /// reqwest's byte stream through `eventsource-stream`.
    EventsourceStream,
    /// `sse-reqwest-client`'s `EventSource`.
    SseReqwestClient,
    /// reqwest's byte stream, bytes counted, nothing parsed: the server's ceiling.
    RawBytes,
}

/// What a client saw: the events, or (for [`ClientKind::RawBytes`]) the body's length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    /// The events, summarised.
    Events(Summary),
    /// The bytes of the body.
    Bytes(u64),
}

impl ClientKind {
    /// Every client, in table order.
    pub const ALL: [Self; 5] = [
        Self::Client,
        Self::EventStream,
        Self::EventsourceStream,
        Self::SseReqwestClient,
        Self::RawBytes,
    ];

    /// Its name in the table.
    #[must_use]
    pub fn describe(self) -> &'static str {
        match self {
            Self::Client => "sse-client Client",
            Self::EventStream => "reqwest + sse-client EventStream",
            Self::EventsourceStream => "reqwest + eventsource-stream",
            Self::SseReqwestClient => "sse-reqwest-client",
            Self::RawBytes => "reqwest bytes (the server's ceiling)",
        }
    }

    /// Its name on the command line (`--e2e-once`).
    #[must_use]
    pub fn key(self) -> &'static str {
        match self {
            Self::Client => "client",
            Self::EventStream => "event-stream",
            Self::EventsourceStream => "eventsource-stream",
            Self::SseReqwestClient => "sse-reqwest-client",
            Self::RawBytes => "raw",
        }
    }

    /// A note for the table.
    #[must_use]
    pub fn note(self) -> &'static str {
        match self {
            Self::EventStream => "no reconnect layer",
            Self::SseReqwestClient => "retry applied inside, not reported",
            Self::RawBytes => "bytes counted, nothing parsed",
            Self::Client | Self::EventsourceStream => "",
        }
    }

    /// Reads `n` events from `url`.
    pub async fn run(self, url: &str, n: u64) -> Seen {
        match self {
            Self::Client => Seen::Events(ours_client(url, n).await),
            Self::EventStream => Seen::Events(ours_event_stream(url).await),
            Self::EventsourceStream => Seen::Events(eventsource_stream(url).await),
            Self::SseReqwestClient => Seen::Events(sse_reqwest_client(url, n).await),
            Self::RawBytes => Seen::Bytes(raw_bytes(url).await),
        }
    }

    /// What it must see for `n` events.
    #[must_use]
    pub fn expected(self, n: u64) -> Seen {
        match self {
            Self::RawBytes => Seen::Bytes(expected_body_len(n)),
            _ => Seen::Events(expected(n)),
        }
    }
}

impl ServerSide {
    /// Starts this server on 127.0.0.1 (see [`serve`]); returns its address.
    ///
    /// # Errors
    ///
    /// When the listener cannot be bound.
    pub async fn start(self) -> std::io::Result<SocketAddr> {
        serve(self == Self::Ours).await
    }
}

/// Starts a server on 127.0.0.1 where `GET /events/{n}` streams `n` events with our
/// `SseStream` (`ours == true`) or axum's `Sse`; returns its address.
///
/// # Errors
///
/// When the listener cannot be bound.
pub async fn serve(ours: bool) -> std::io::Result<SocketAddr> {
    let app = if ours {
        Router::new().route(
            "/events/{n}",
            get(|Path(n): Path<u64>| async move {
                // No opening comment: the same body as axum's server.
                sse_axum::SseStream::new(futures_util::stream::iter(0..n).map(ours_event))
                    .keep_alive(sse_axum::KeepAlive::disabled())
                    .opening(None)
            }),
        )
    } else {
        Router::new().route(
            "/events/{n}",
            get(|Path(n): Path<u64>| async move {
                axum::response::Sse::new(
                    futures_util::stream::iter(0..n).map(|i| Ok::<_, Infallible>(axum_event(i))),
                )
            }),
        )
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(addr)
}

/// The URL of `n` events on the server at `addr`.
#[must_use]
pub fn url(addr: SocketAddr, n: u64) -> String {
    format!("http://{addr}/events/{n}")
}

/// Our `Client` (reconnecting, with retry items), until `n` events arrived.
pub async fn ours_client(url: &str, n: u64) -> Summary {
    let mut summary = Summary::default();
    let Ok(client) = reqwest_sse_client::Client::builder().build() else {
        return summary;
    };
    let mut items = client.subscribe(url).with_retry_items();
    while summary.events < n {
        match items.next().await {
            Some(Ok(reqwest_sse_client::Item::Event(event))) => {
                summary.event(event.data(), event.last_event_id());
            }
            Some(Ok(reqwest_sse_client::Item::Retry(_))) => summary.retries += 1,
            Some(Ok(_)) => {}
            Some(Err(_)) | None => break,
        }
    }
    summary
}

/// Our `EventStream` over reqwest's byte stream, without the reconnecting client.
pub async fn ours_event_stream(url: &str) -> Summary {
    let mut summary = Summary::default();
    let Ok(response) = reqwest::get(url).await else {
        return summary;
    };
    let mut items = reqwest_sse_client::EventStream::new(response.bytes_stream());
    while let Some(item) = items.next().await {
        match item {
            Ok(reqwest_sse_client::Item::Event(event)) => {
                summary.event(event.data(), event.last_event_id());
            }
            Ok(reqwest_sse_client::Item::Retry(_)) => summary.retries += 1,
            Ok(_) => {}
            Err(_) => break,
        }
    }
    summary
}

/// `sse-reqwest-client`'s `EventSource`, until `n` events arrived. It applies `retry` inside
/// and does not report it: the summary counts the expected one.
pub async fn sse_reqwest_client(url: &str, n: u64) -> Summary {
    let mut summary = Summary {
        retries: 1,
        ..Summary::default()
    };
    let mut events = reqwest::Client::new().get(url).into_event_source();
    while summary.events < n {
        match events.next().await {
            Some(Ok(sse_reqwest_client::SseEvent::Message(message))) => {
                summary.event(
                    &message.data,
                    message.last_event_id.as_deref().unwrap_or(""),
                );
            }
            Some(Ok(sse_reqwest_client::SseEvent::Open)) => {}
            Some(Ok(_) | Err(_)) | None => break,
        }
    }
    summary
}

/// reqwest's byte stream through `eventsource-stream`.
pub async fn eventsource_stream(url: &str) -> Summary {
    let mut summary = Summary::default();
    let Ok(response) = reqwest::get(url).await else {
        return summary;
    };
    let mut events = response.bytes_stream().eventsource();
    while let Some(event) = events.next().await {
        let Ok(event) = event else { break };
        summary.event(&event.data, &event.id);
        if event.retry.is_some() {
            summary.retries += 1;
        }
    }
    summary
}

/// The ceiling: reqwest's byte stream, bytes counted and nothing parsed.
pub async fn raw_bytes(url: &str) -> u64 {
    let Ok(response) = reqwest::get(url).await else {
        return 0;
    };
    response
        .bytes_stream()
        .try_fold(0_u64, |n, chunk| async move { Ok(n + chunk.len() as u64) })
        .await
        .unwrap_or(0)
}
