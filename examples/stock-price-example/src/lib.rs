//! Live stock prices over Server-Sent Events, as a library so tests build the router in-process.
//!
//! | route | what it does |
//! | --- | --- |
//! | `GET /price` | every tick, one event per ticker (`AAPL`, `AMZN`) |
//! | `GET /` | a page with a live chart of both tickers |
//!
//! Each tick is published through a [`Hub`] as **one** entry holding both events
//! ([`Hub::publish_all`]), so both events of a tick carry the same `id`: the hub's id, which is
//! the tick's Unix time in milliseconds. Every client sees the same prices, and a client that
//! reconnects with `Last-Event-ID` gets the ticks it missed from the history.
//!
//! ```text
//! event: AAPL
//! id: 1700000000000
//! data: 92.607347
//!
//! event: AMZN
//! id: 1700000000000
//! data: 118.250001
//! ```
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let router = stock_price_example::app(stock_price_example::Config::default());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8888").await?;
//! axum::serve(listener, router).await
//! # }
//! ```
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod ticker;

use std::time::Duration;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sse_axum::hub::{Hub, HubError, Subscribe};
use sse_axum::{Event, EventType, LastEventId, SseLayer};
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

pub use ticker::{Prices, TICKERS, XorShift, format_price};

/// The hub topic the ticks are published to.
pub const TOPIC: &str = "price";

/// How the example runs; start from [`Config::default`] and change the fields you need.
///
/// ```
/// let mut config = stock_price_example::Config::default();
/// config.interval = std::time::Duration::from_millis(250);
/// # let _ = config;
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// Time between ticks; default one second.
    pub interval: Duration,
    /// Ticks kept for resuming clients; default 300 (five minutes at one a second).
    pub history: usize,
    /// Seed of the price generator; `None` seeds from the clock.
    pub seed: Option<u64>,
    /// Cancelled on shutdown: the ticker stops and every open stream ends.
    pub shutdown: CancellationToken,
    /// A Redis URL (`--redis`) to share the ticks with other servers; `None` (the default)
    /// keeps the hub in this process.
    pub redis: Option<String>,
    /// Whether this server publishes ticks (default `true`). With several servers sharing
    /// Redis, run the ticker on one (`--no-ticker` on the others), or each publishes its own
    /// random walk into the same stream.
    pub ticker: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            interval: Duration::from_secs(1),
            history: 300,
            seed: None,
            shutdown: CancellationToken::new(),
            redis: None,
            ticker: true,
        }
    }
}

/// Builds the in-process hub the ticker publishes through, as `config` says (ignoring
/// [`Config::redis`]; see [`connect_hub`]).
pub fn build_hub(config: &Config) -> Hub {
    Hub::builder().history_len(config.history).build()
}

/// The hub `config` asks for: shared through Redis when [`Config::redis`] is set (keys
/// prefixed `sse-stock`), otherwise [`build_hub`]. Every server sharing it serves the same
/// ticks with the same ids, so a client resumes on any of them.
///
/// # Errors
///
/// [`HubError::Backend`] when the Redis URL is invalid or Redis cannot be reached.
pub async fn connect_hub(config: &Config) -> Result<Hub, HubError> {
    match &config.redis {
        Some(url) => {
            let redis = sse_axum::hub::RedisBackend::new(url)?.prefix("sse-stock");
            Hub::builder()
                .history_len(config.history)
                .build_redis(redis)
                .await
        }
        None => Ok(build_hub(config)),
    }
}

/// The router with a hub of its own and the ticker running (spawned on the current Tokio
/// runtime; it stops when `config.shutdown` is cancelled).
pub fn app(config: Config) -> Router {
    let hub = build_hub(&config);
    spawn_ticker(hub.clone(), &config);
    app_with_hub(config, hub)
}

/// The router serving the ticks published to `hub` (start the ticker with [`spawn_ticker`]).
pub fn app_with_hub(config: Config, hub: Hub) -> Router {
    let sse_layer = SseLayer::new().graceful_shutdown(config.shutdown.clone());
    Router::new()
        .route("/", get(page))
        .route("/stock.css", get(stylesheet))
        .route("/stock.js", get(script))
        .route("/price", get(prices).layer(sse_layer))
        .with_state(hub)
}

/// Spawns [`run_ticker`] on the current Tokio runtime.
pub fn spawn_ticker(hub: Hub, config: &Config) -> JoinHandle<()> {
    let rng = config.seed.map_or_else(XorShift::from_time, XorShift::new);
    tokio::spawn(run_ticker(
        hub,
        Prices::new(rng),
        config.interval,
        config.shutdown.clone(),
    ))
}

/// Publishes one tick every `interval` (the first at once) until `shutdown` is cancelled or
/// the hub is closed. A tick the hub's backend cannot take (Redis unreachable) is skipped,
/// logged once per outage.
pub async fn run_ticker(
    hub: Hub,
    mut prices: Prices,
    interval: Duration,
    shutdown: CancellationToken,
) {
    let mut timer = tokio::time::interval(interval);
    timer.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut backend_down = false;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            _ = timer.tick() => {}
        }
        // The tickers are our own literals (`TICKERS`), never input.
        let events: Vec<Event> = prices
            .step()
            .iter()
            .map(|&(ticker, price)| {
                Event::new()
                    .event(EventType::from_static(ticker))
                    .data(format_price(price))
            })
            .collect();
        match hub.publish_all(TOPIC, events).await {
            Ok(id) => {
                if std::mem::take(&mut backend_down) {
                    tracing::info!("ticks are published again");
                }
                tracing::debug!(%id, "tick");
            }
            Err(HubError::Closed) => break,
            Err(HubError::Backend(e)) => {
                if !std::mem::replace(&mut backend_down, true) {
                    tracing::warn!(error = %e, "cannot publish ticks; skipping them until the backend is back");
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot publish a tick");
                break;
            }
        }
    }
    tracing::info!("ticker stopped");
}

async fn prices(
    axum::extract::State(hub): axum::extract::State<Hub>,
    last_event_id: Option<LastEventId>,
) -> Response {
    match hub
        .subscribe(Subscribe::new([TOPIC]).last_event_id(last_event_id))
        .await
    {
        Ok(subscription) => subscription.into_response(),
        Err(HubError::InvalidLastEventId(e)) => plain(
            StatusCode::BAD_REQUEST,
            format!("invalid Last-Event-ID: {e}"),
        ),
        Err(HubError::Closed) => plain(
            StatusCode::SERVICE_UNAVAILABLE,
            "the server is shutting down".to_owned(),
        ),
        Err(e) => {
            tracing::error!(error = %e, "cannot subscribe");
            plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal error".to_owned(),
            )
        }
    }
}

fn plain(status: StatusCode, message: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        message,
    )
        .into_response()
}

const INDEX_HTML: &str = include_str!("../static/index.html");
const STOCK_CSS: &str = include_str!("../static/stock.css");
const STOCK_JS: &str = include_str!("../static/stock.js");

async fn page() -> Response {
    static_file("text/html; charset=utf-8", INDEX_HTML)
}

async fn stylesheet() -> Response {
    static_file("text/css; charset=utf-8", STOCK_CSS)
}

async fn script() -> Response {
    static_file("text/javascript; charset=utf-8", STOCK_JS)
}

fn static_file(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}
