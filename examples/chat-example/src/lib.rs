//! A chat over Server-Sent Events, as a library so tests build the router in-process.
//!
//! | route | what it does |
//! | --- | --- |
//! | `GET /chat/sse?username=NAME` | the user's stream: events `broadcast` and `direct` |
//! | `POST /chat/broadcast?from=A&message=M` | sends to every connected user |
//! | `POST /chat/direct?from=A&to=B&message=M` | sends to every connection of user `B` |
//! | `GET /chat/users` | `{"users":["alice","hertz"]}`: who is connected now |
//! | `POST /chat/login?username=NAME` | with [`Config::auth`] only (404 otherwise): 204 and a ticket cookie |
//! | `GET /` | the chat page |
//!
//! Every event's data is a [`ChatMessage`] in JSON and carries a hub id, so a reconnecting
//! client (a browser's `EventSource`, `sse-cat`) resumes with `Last-Event-ID` without losing
//! anything still in the history. The POST parameters may also come as an
//! `application/x-www-form-urlencoded` body.
//!
//! Direct messages use one hub topic per user (`user:<name>`): each connection subscribes to
//! `broadcast` and `user:<name>` and resumes both from one `Last-Event-ID`.
//!
//! With [`Config::redis`] (`--redis URL`) several chat servers share one hub through Redis
//! ([`connect_hub`]): a message sent to any of them reaches the users connected to every one,
//! and a client resumes on any of them. A direct message to a user connected to none of them
//! is refused with 404: each server announces in Redis which users it has connections for
//! (see [`Hub::is_subscribed_anywhere`]), and `GET /chat/users` lists the users of all of
//! them. While Redis is unreachable, sending answers 503.
//!
//! User names go through one rule wherever they enter ([`normalize_name`]: NFC, trimmed, no
//! invisible, control, bidi or compatibility characters). The binary puts the router behind
//! [`AllowedHosts`], which answers 421 to a `Host` that is not the server's own (DNS
//! rebinding). With [`Config::auth`] (`--auth`) names are identities: see [`AuthOptions`]
//! for sign-in, tickets and the `Origin` check. In the open mode a name is not an identity: whoever connects as `hertz` gets
//! `hertz`'s direct messages, replayed ones included.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let config = chat_example::Config::default();
//! let router = chat_example::app(config);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8888").await?;
//! axum::serve(listener, router).await
//! # }
//! ```
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod auth;
mod generation;
mod host;
mod message;
mod name;
pub mod serve;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use sse_axum::hub::RedisBackend;
use sse_axum::hub::{Hub, HubError, Subscribe};
use sse_axum::{Event, LastEventId, SseLayer};
use tokio_util::sync::CancellationToken;

pub use auth::{AuthOptions, EXPIRED};
pub use generation::GENERATION_PREFIX;
pub use host::{AllowedHosts, PublicHost};
pub use message::{ChatMessage, MessageKind, rfc3339_now, rfc3339_utc};
pub use name::{NameError, normalize_name};

/// The hub topic every connection subscribes to for broadcasts.
pub const BROADCAST_TOPIC: &str = "broadcast";

/// The hub topic of one user's direct messages: `user:<name>`.
///
/// ```
/// assert_eq!(chat_example::user_topic("hertz"), "user:hertz");
/// ```
pub fn user_topic(name: &str) -> String {
    format!("user:{name}")
}

/// How the chat runs; start from [`Config::default`] and change the fields you need.
///
/// More fields may come (a Redis URL for a shared hub), hence `#[non_exhaustive]`.
///
/// ```
/// let mut config = chat_example::Config::default();
/// config.history = 50;
/// config.max_message_bytes = 1024;
/// # let _ = config;
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// Events kept per topic for resuming clients (`--history`); default 1000.
    pub history: usize,
    /// The largest message in bytes of UTF-8 (`--max-message`); larger ones get
    /// `413 Payload Too Large`. Default 4096.
    pub max_message_bytes: usize,
    /// The longest user name in characters (after [`normalize_name`]); default 64.
    pub max_name_chars: usize,
    /// Cancelled on shutdown: every open stream then ends, so a graceful shutdown does not
    /// wait for clients that never hang up.
    pub shutdown: CancellationToken,
    /// A Redis URL (`--redis`) to share the hub with other chat servers; `None` (the
    /// default) keeps it in this process.
    pub redis: Option<String>,
    /// How the event streams behave in production (drain, lifetime, limits, stalls,
    /// compression).
    pub streams: StreamOptions,
    /// Sign-in with stream tickets (`--auth`): `POST /chat/login`, and every route acting as
    /// the ticket's user only. `None` (the default) keeps the open mode, where a name is
    /// anyone's.
    pub auth: Option<AuthOptions>,
    /// The pause between two tokens of a made-up generation (`POST /chat/generate`); 50 ms.
    pub token_interval: Duration,
    /// Serve `GET /metrics` in the Prometheus text format from this recorder (`--metrics`).
    pub metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
}

/// The production settings of `/chat/sse`, each a flag of the binary.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StreamOptions {
    /// Spread the ends of a graceful shutdown over this window (`--drain`).
    pub drain: Option<Duration>,
    /// End each stream after about this long; the client resumes (`--max-lifetime`).
    pub max_lifetime: Option<Duration>,
    /// At most this many open streams (`--max-streams`); beyond, a soft refusal.
    pub max_streams: Option<usize>,
    /// At most this many open streams per client address (`--max-streams-per-ip`).
    pub max_streams_per_ip: Option<usize>,
    /// Disconnect a reader that took nothing for this long while events waited
    /// (`--stall-timeout`, default 30 s; the hub's and the socket's).
    pub stall_timeout: Option<Duration>,
    /// Compress streams with the encodings the client accepts (`--compress`). The chat
    /// carries no secret beside attacker-chosen text in one stream, so BREACH does not apply.
    pub compress: bool,
}

impl Default for StreamOptions {
    fn default() -> Self {
        Self {
            drain: None,
            max_lifetime: None,
            max_streams: None,
            max_streams_per_ip: None,
            stall_timeout: Some(Duration::from_secs(30)),
            compress: false,
        }
    }
}

impl StreamOptions {
    /// The layer for the chat's event streams, ending them when `shutdown` fires.
    pub fn layer(&self, shutdown: CancellationToken) -> SseLayer {
        let mut layer = SseLayer::new().graceful_shutdown(shutdown);
        if let Some(window) = self.drain {
            layer = layer.drain_over(window);
        }
        if let Some(lifetime) = self.max_lifetime {
            layer = layer.max_lifetime(lifetime);
        }
        if let Some(max) = self.max_streams {
            layer = layer.max_streams(max);
        }
        if let Some(max) = self.max_streams_per_ip {
            layer = layer.max_streams_per(sse_axum::layer::peer_ip, max);
        }
        if self.compress {
            layer = layer.compression([
                sse_axum::layer::Encoding::Zstd,
                sse_axum::layer::Encoding::Brotli,
                sse_axum::layer::Encoding::Gzip,
            ]);
        }
        layer
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            history: 1000,
            max_message_bytes: 4096,
            max_name_chars: 64,
            shutdown: CancellationToken::new(),
            redis: None,
            streams: StreamOptions::default(),
            auth: None,
            token_interval: Duration::from_millis(50),
            metrics: None,
        }
    }
}

/// Builds the in-process hub the chat publishes through, as `config` says (ignoring
/// [`Config::redis`]; see [`connect_hub`]).
pub fn build_hub(config: &Config) -> Hub {
    hub_builder(config).build()
}

fn hub_builder(config: &Config) -> sse_axum::hub::HubBuilder {
    Hub::builder()
        .history_len(config.history)
        // A generation stays resumable for an hour after it started.
        .retention(
            generation::GENERATION_PREFIX,
            10_000,
            Some(Duration::from_secs(3600)),
        )
        .stall_timeout(config.streams.stall_timeout)
}

/// The hub `config` asks for: shared through Redis when [`Config::redis`] is set (keys
/// prefixed `sse-chat`), otherwise [`build_hub`].
///
/// # Errors
///
/// [`HubError::Backend`] when the Redis URL is invalid or Redis cannot be reached.
pub async fn connect_hub(config: &Config) -> Result<Hub, HubError> {
    match &config.redis {
        Some(url) => {
            let redis = RedisBackend::new(url)?.prefix("sse-chat");
            hub_builder(config).build_redis(redis).await
        }
        None => Ok(build_hub(config)),
    }
}

/// The chat's router with a hub of its own (see [`build_hub`]).
pub fn app(config: Config) -> Router {
    let hub = build_hub(&config);
    app_with_hub(config, hub)
}

/// The chat's router publishing through `hub`; keep a clone of the hub to
/// [`close`](Hub::close) it on shutdown.
pub fn app_with_hub(config: Config, hub: Hub) -> Router {
    // Form bodies percent-encode: up to 3 bytes per byte, plus the other parameters.
    let body_limit = config
        .max_message_bytes
        .saturating_mul(3)
        .saturating_add(4096);
    let sse_layer = config.streams.layer(config.shutdown.clone());
    let generation_layer = config.streams.layer(config.shutdown.clone());
    let metrics = config.metrics.clone();
    let state = Arc::new(AppState { hub, config });
    let router = Router::new()
        .route("/", get(page))
        .route("/chat.css", get(stylesheet))
        .route("/chat.js", get(script))
        .route("/chat/sse", get(stream).layer(sse_layer))
        .route("/chat/broadcast", post(broadcast))
        .route("/chat/direct", post(direct))
        .route("/chat/users", get(users))
        .route("/chat/login", axum::routing::any(auth::login))
        .route("/chat/generate", post(generation::start))
        .route(
            "/chat/generation/{id}",
            get(generation::stream).layer(generation_layer),
        )
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(state);
    match metrics {
        Some(handle) => router.route(
            "/metrics",
            get(move || {
                let text = handle.render();
                async move { ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text) }
            }),
        ),
        None => router,
    }
}

#[derive(Debug)]
struct AppState {
    hub: Hub,
    config: Config,
}

type Shared = State<Arc<AppState>>;

/// A refused request: a status and a plain-text message.
#[derive(Debug)]
struct Refusal(StatusCode, String);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        // A `String` body is sent as `text/plain; charset=utf-8`.
        (self.0, self.1).into_response()
    }
}

fn bad_request(message: impl Into<String>) -> Refusal {
    Refusal(StatusCode::BAD_REQUEST, message.into())
}

fn hub_error(error: HubError) -> Refusal {
    match error {
        HubError::InvalidLastEventId(e) => bad_request(format!("invalid Last-Event-ID: {e}")),
        HubError::Closed => Refusal(
            StatusCode::SERVICE_UNAVAILABLE,
            "the server is shutting down".to_owned(),
        ),
        HubError::Backend(e) => {
            tracing::warn!(error = %e, "hub backend failed");
            Refusal(
                StatusCode::SERVICE_UNAVAILABLE,
                "the message service is unavailable, try again".to_owned(),
            )
        }
        other => {
            tracing::error!(error = %other, "hub error");
            Refusal(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal error".to_owned(),
            )
        }
    }
}

/// The request's parameters: the query string, then a form body for those not in the query.
struct Params(HashMap<String, String>);

impl Params {
    fn new(query: HashMap<String, String>, body: &Bytes) -> Result<Params, Refusal> {
        let mut params = query;
        if !body.is_empty() {
            let form: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
                .map_err(|_| bad_request("the body is not a url-encoded form"))?;
            for (key, value) in form {
                params.entry(key).or_insert(value);
            }
        }
        Ok(Params(params))
    }

    /// A required, non-empty parameter.
    fn required(&self, name: &str) -> Result<&str, Refusal> {
        match self.0.get(name).map(String::as_str) {
            None => Err(bad_request(format!("missing parameter: {name}"))),
            Some("") => Err(bad_request(format!("parameter {name} is empty"))),
            Some(value) => Ok(value),
        }
    }

    /// A required user name, as [`normalize_name`] makes it (the name to use from then on).
    fn user(&self, name: &str, config: &Config) -> Result<String, Refusal> {
        let value = self
            .0
            .get(name)
            .ok_or_else(|| bad_request(format!("missing parameter: {name}")))?;
        normalize_name(value, config.max_name_chars)
            .map_err(|e| bad_request(format!("parameter {name} {e}")))
    }

    /// The message: non-empty and within the size limit.
    fn message(&self, config: &Config) -> Result<&str, Refusal> {
        let message = self.required("message")?;
        if message.len() > config.max_message_bytes {
            return Err(Refusal(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("message is larger than {} bytes", config.max_message_bytes),
            ));
        }
        Ok(message)
    }
}

async fn stream(
    State(state): Shared,
    caller: auth::Caller,
    Query(query): Query<HashMap<String, String>>,
    last_event_id: Option<LastEventId>,
) -> Result<Response, Refusal> {
    let params = Params(query);
    let username = caller.user(&params, "username", &state.config)?;
    let request = Subscribe::new([BROADCAST_TOPIC.to_owned(), user_topic(&username)])
        .last_event_id(last_event_id.clone());
    let subscription = state.hub.subscribe(request).await.map_err(hub_error)?;
    tracing::info!(
        user = %username,
        last_event_id = last_event_id.as_ref().map(LastEventId::as_str),
        "connected"
    );
    Ok(caller.respond(subscription))
}

async fn broadcast(
    State(state): Shared,
    caller: auth::Caller,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Result<StatusCode, Refusal> {
    let params = Params::new(query, &body)?;
    let from = caller.user(&params, "from", &state.config)?;
    let message = params.message(&state.config)?;
    caller.may_publish(BROADCAST_TOPIC)?;
    publish(&state, MessageKind::Broadcast, &from, "", message).await
}

async fn direct(
    State(state): Shared,
    caller: auth::Caller,
    Query(query): Query<HashMap<String, String>>,
    body: Bytes,
) -> Result<StatusCode, Refusal> {
    let params = Params::new(query, &body)?;
    let from = caller.user(&params, "from", &state.config)?;
    let to = params.user("to", &state.config)?;
    let message = params.message(&state.config)?;
    caller.may_publish(&user_topic(&to))?;
    let connected = state
        .hub
        .is_subscribed_anywhere(&user_topic(&to))
        .await
        .map_err(hub_error)?;
    if !connected {
        return Err(Refusal(
            StatusCode::NOT_FOUND,
            format!("user {to} is not connected"),
        ));
    }
    publish(&state, MessageKind::Direct, &from, &to, message).await
}

async fn publish(
    state: &AppState,
    kind: MessageKind,
    from: &str,
    to: &str,
    message: &str,
) -> Result<StatusCode, Refusal> {
    let data = ChatMessage {
        kind,
        from: from.to_owned(),
        to: to.to_owned(),
        message: message.to_owned(),
        timestamp: rfc3339_now(),
    };
    let internal = |what: &str| {
        tracing::error!("{what}");
        Refusal(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal error".to_owned(),
        )
    };
    let event = Event::new()
        .event(kind.event_type())
        .json_data(&data)
        .map_err(|e| internal(&format!("cannot build event: {e}")))?;
    let topic = match kind {
        MessageKind::Broadcast => BROADCAST_TOPIC.to_owned(),
        MessageKind::Direct => user_topic(to),
    };
    let id = state.hub.publish(topic, event).await.map_err(hub_error)?;
    tracing::info!(%id, kind = kind.as_str(), from, to, bytes = message.len(), "sent");
    Ok(StatusCode::NO_CONTENT)
}

/// Who is connected (to any server sharing the hub): `{"users": [...]}`, sorted.
async fn users(State(state): Shared) -> Result<Response, Refusal> {
    let mut users: Vec<String> = state
        .hub
        .topics_anywhere()
        .await
        .map_err(hub_error)?
        .into_iter()
        .filter_map(|topic| topic.strip_prefix("user:").map(str::to_owned))
        .collect();
    users.sort();
    users.dedup();
    let body = serde_json::json!({ "users": users }).to_string();
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

const INDEX_HTML: &str = include_str!("../static/index.html");
const CHAT_CSS: &str = include_str!("../static/chat.css");
const CHAT_JS: &str = include_str!("../static/chat.js");

async fn page() -> Response {
    static_file("text/html; charset=utf-8", INDEX_HTML)
}

async fn stylesheet() -> Response {
    static_file("text/css; charset=utf-8", CHAT_CSS)
}

async fn script() -> Response {
    static_file("text/javascript; charset=utf-8", CHAT_JS)
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
