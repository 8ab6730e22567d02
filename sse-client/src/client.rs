//! [`Client`], [`ClientBuilder`], [`Subscription`]: the reconnecting client and its state
//! machine.

use std::fmt;
use std::hash::{BuildHasher, RandomState};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt, stream};
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, CACHE_CONTROL, CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER};
use tokio::time::{Instant, sleep, timeout};
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

use crate::Event;
use crate::backoff::{Backoff, BackoffConfig};
use crate::error::{Disconnect, DisconnectReason, Error};
use crate::parser::{DEFAULT_MAX_EVENT_SIZE, EventParser, Item};

/// The `Last-Event-ID` request header.
const LAST_EVENT_ID: &str = "last-event-id";

type ConnectCallback = Arc<dyn Fn(&reqwest::Response) + Send + Sync>;
type DisconnectCallback = Arc<dyn Fn(&Disconnect) + Send + Sync>;

/// A reconnecting Server-Sent Events client over [`reqwest`].
///
/// Cheap to clone (the configuration and the connection pool are shared). Each
/// [`subscribe`](Self::subscribe) opens one subscription that reconnects by itself.
///
/// ```no_run
/// use futures_util::StreamExt;
/// use sse_client::Client;
///
/// # async fn run() -> Result<(), sse_client::Error> {
/// let client = Client::builder().build()?;
/// let mut events = client.subscribe("http://127.0.0.1:8888/sse");
/// while let Some(event) = events.next().await {
///     let event = event?;
///     println!("{}: {}", event.event_type(), event.data());
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    config: Arc<Config>,
}

#[derive(Clone)]
struct Config {
    backoff: BackoffConfig,
    max_retries: Option<u32>,
    idle_timeout: Option<Duration>,
    max_event_size: usize,
    retry_server_errors: bool,
    on_connect: Option<ConnectCallback>,
    on_disconnect: Option<DisconnectCallback>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("http", &self.http)
            .field("backoff", &self.config.backoff)
            .field("max_retries", &self.config.max_retries)
            .field("idle_timeout", &self.config.idle_timeout)
            .field("max_event_size", &self.config.max_event_size)
            .field("retry_server_errors", &self.config.retry_server_errors)
            .finish_non_exhaustive()
    }
}

/// Configures a [`Client`]; made by [`Client::builder`].
///
/// ```
/// use std::time::Duration;
/// use sse_client::Client;
///
/// # fn main() -> Result<(), sse_client::Error> {
/// let client = Client::builder()
///     .retry(Duration::from_secs(1))
///     .max_backoff(Duration::from_secs(10))
///     .idle_timeout(Some(Duration::from_secs(45)))
///     .max_retries(Some(20))
///     .on_connect(|response| println!("connected: {}", response.status()))
///     .on_disconnect(|disconnect| println!("disconnected: {}", disconnect.reason()))
///     .build()?;
/// # drop(client);
/// # Ok(())
/// # }
/// ```
#[must_use]
pub struct ClientBuilder {
    http: Option<reqwest::Client>,
    config: Config,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("http", &self.http)
            .field("backoff", &self.config.backoff)
            .field("max_retries", &self.config.max_retries)
            .field("idle_timeout", &self.config.idle_timeout)
            .finish_non_exhaustive()
    }
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            http: None,
            config: Config {
                backoff: BackoffConfig::default(),
                max_retries: None,
                idle_timeout: Some(Duration::from_secs(300)),
                max_event_size: DEFAULT_MAX_EVENT_SIZE,
                retry_server_errors: false,
                on_connect: None,
                on_disconnect: None,
            },
        }
    }
}

impl ClientBuilder {
    /// Uses an existing `reqwest::Client` (its pool, TLS, proxy and timeouts settings).
    ///
    /// Do not give it a total request `timeout`: it would cut every long-lived stream. The
    /// [idle timeout](Self::idle_timeout) is the one that suits streams.
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// The reconnection time used until the server sends a `retry` field (default 3 s).
    pub fn retry(mut self, retry: Duration) -> Self {
        self.config.backoff.retry = retry;
        self
    }

    /// The smallest base of the exponential backoff (default 100 ms), so that a `retry` of 0
    /// cannot make a failing server a hot loop.
    pub fn min_backoff(mut self, min_backoff: Duration) -> Self {
        self.config.backoff.min_backoff = min_backoff;
        self
    }

    /// The cap of the exponential backoff for repeated failures (default 30 s). A larger
    /// `retry` sent by the server still wins.
    pub fn max_backoff(mut self, max_backoff: Duration) -> Self {
        self.config.backoff.max_backoff = max_backoff;
        self
    }

    /// A connection that stayed up this long resets the backoff (default 60 s).
    pub fn reset_backoff_after(mut self, healthy: Duration) -> Self {
        self.config.backoff.reset_after = healthy;
        self
    }

    /// The maximum number of consecutive reconnection attempts without a healthy connection
    /// (default `None`: never give up). `Some(0)` never reconnects.
    ///
    /// When the limit is reached after a clean end of stream the subscription simply ends;
    /// after a failure it ends with [`Error::GaveUp`].
    pub fn max_retries(mut self, max_retries: Option<u32>) -> Self {
        self.config.max_retries = max_retries;
        self
    }

    /// Drops and reconnects a connection that received no bytes (not even a keep-alive
    /// comment) for this long; also bounds the wait for the response headers. Default 5
    /// minutes; `None` waits forever.
    pub fn idle_timeout(mut self, idle_timeout: Option<Duration>) -> Self {
        self.config.idle_timeout = idle_timeout;
        self
    }

    /// The maximum size of one event (default 16 MiB); a larger one ends the subscription
    /// with [`Error::EventTooLarge`].
    pub fn max_event_size(mut self, max_event_size: usize) -> Self {
        self.config.max_event_size = max_event_size;
        self
    }

    /// Opt in to retrying responses with a 5xx or 429 status (honouring a `Retry-After` in
    /// seconds) instead of ending the subscription. Off by default, as in browsers.
    pub fn retry_server_errors(mut self, retry: bool) -> Self {
        self.config.retry_server_errors = retry;
        self
    }

    /// Called each time a connection is established (a 200 `text/event-stream` response),
    /// before its body is read.
    pub fn on_connect<F>(mut self, on_connect: F) -> Self
    where
        F: Fn(&reqwest::Response) + Send + Sync + 'static,
    {
        self.config.on_connect = Some(Arc::new(on_connect));
        self
    }

    /// Called once each time a connection that was reported to
    /// [`on_connect`](Self::on_connect) ends, with the reason and the delay before the next
    /// attempt (also when the subscription is dropped or cancelled: reason
    /// [`DisconnectReason::Cancelled`]).
    pub fn on_disconnect<F>(mut self, on_disconnect: F) -> Self
    where
        F: Fn(&Disconnect) + Send + Sync + 'static,
    {
        self.config.on_disconnect = Some(Arc::new(on_disconnect));
        self
    }

    /// Builds the client.
    ///
    /// # Errors
    /// [`Error::HttpClient`] when no client was given and reqwest cannot build one (e.g. the
    /// TLS backend cannot be initialised).
    pub fn build(self) -> Result<Client, Error> {
        let http = match self.http {
            Some(http) => http,
            None => reqwest::Client::builder()
                .build()
                .map_err(Error::HttpClient)?,
        };
        Ok(Client {
            http,
            config: Arc::new(self.config),
        })
    }
}

impl Client {
    /// A builder with the defaults: reconnection time 3 s, backoff from 100 ms up to 30 s
    /// reset after 60 s healthy, never giving up, idle timeout 5 minutes, events up to 16 MiB.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The underlying `reqwest::Client`, e.g. to build a request with
    /// [`post`](reqwest::Client::post).
    #[must_use]
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Subscribes: a stream of events that reconnects by itself.
    ///
    /// `request` is a URL (`&str`, `String`, [`reqwest::Url`]), a [`reqwest::RequestBuilder`]
    /// or a [`reqwest::Request`], with any method, headers and body; it is sent again on every
    /// attempt (a streaming body, which cannot be, gives [`Error::RequestNotCloneable`]).
    /// Every attempt sends `Accept: text/event-stream` and `Cache-Control: no-cache` (unless
    /// the request sets them), and a reconnection sends `Last-Event-ID` with the last event
    /// ID when it is not empty. A `Last-Event-ID` set on the request is where the
    /// subscription starts from.
    ///
    /// A clean end of stream and network errors reconnect after the reconnection delay; a
    /// status other than 200 or a content type other than `text/event-stream` ends the
    /// subscription with an error. An [`Err`] is always the last item.
    ///
    /// Nothing runs in the background: dropping the stream closes the connection.
    ///
    /// ```no_run
    /// use futures_util::StreamExt;
    /// use sse_client::Client;
    ///
    /// # async fn run() -> Result<(), sse_client::Error> {
    /// let client = Client::builder().build()?;
    /// // LLM-style streaming over POST; the body is re-sent on every attempt.
    /// let request = client
    ///     .http()
    ///     .post("http://127.0.0.1:8080/v1/chat")
    ///     .header("authorization", "Bearer token")
    ///     .body(r#"{"prompt":"hi"}"#);
    /// let mut events = client.subscribe(request);
    /// while let Some(event) = events.next().await {
    ///     print!("{}", event?.data());
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn subscribe(&self, request: impl IntoRequest) -> Subscription {
        let state = request
            .into_request(&self.http)
            .and_then(|template| self.state(template));
        let inner: BoxStream = match state {
            Ok(state) => Box::pin(stream::unfold(state, |mut state| async move {
                let item = state.next().await?;
                Some((item, state))
            })),
            Err(error) => Box::pin(stream::once(async move { Err(error) })),
        };
        Subscription {
            inner: Some(inner),
            cancel: None,
        }
    }

    /// Subscribes and calls `on_event` with each event; resolves when the subscription ends:
    /// `Ok(())` when it ended without error (it gave up after a clean end of stream),
    /// otherwise with the error that ended it. Drop the future to stop.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), sse_client::Error> {
    /// let client = sse_client::Client::builder().build()?;
    /// client
    ///     .subscribe_with("http://127.0.0.1:8888/sse", |event| println!("{}", event.data()))
    ///     .await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// The [`Error`] that ended the subscription.
    pub async fn subscribe_with<F>(
        &self,
        request: impl IntoRequest,
        mut on_event: F,
    ) -> Result<(), Error>
    where
        F: FnMut(Event),
    {
        let mut events = self.subscribe(request);
        while let Some(event) = events.next().await {
            on_event(event?);
        }
        Ok(())
    }

    fn state(&self, template: reqwest::Request) -> Result<State, Error> {
        if template.try_clone().is_none() {
            return Err(Error::RequestNotCloneable);
        }
        let mut parser = EventParser::new().with_max_event_size(self.config.max_event_size);
        if let Some(id) = template.headers().get(LAST_EVENT_ID) {
            parser.set_last_event_id(&String::from_utf8_lossy(id.as_bytes()));
        }
        Ok(State {
            http: self.http.clone(),
            backoff: Backoff::new(self.config.backoff, RandomState::new().hash_one(0_u8)),
            config: Arc::clone(&self.config),
            template,
            parser,
            conn: None,
            delay: None,
            done: false,
        })
    }
}

/// What [`Client::subscribe`] accepts: a URL, a [`reqwest::RequestBuilder`] or a
/// [`reqwest::Request`].
pub trait IntoRequest: sealed::Sealed {
    /// Builds the request (a URL is a GET with `http`).
    ///
    /// # Errors
    /// [`Error::InvalidRequest`] when the request cannot be built.
    fn into_request(self, http: &reqwest::Client) -> Result<reqwest::Request, Error>;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for &str {}
    impl Sealed for String {}
    impl Sealed for &String {}
    impl Sealed for reqwest::Url {}
    impl Sealed for reqwest::Request {}
    impl Sealed for reqwest::RequestBuilder {}
}

impl IntoRequest for &str {
    fn into_request(self, http: &reqwest::Client) -> Result<reqwest::Request, Error> {
        http.get(self).build().map_err(Error::InvalidRequest)
    }
}

impl IntoRequest for String {
    fn into_request(self, http: &reqwest::Client) -> Result<reqwest::Request, Error> {
        self.as_str().into_request(http)
    }
}

impl IntoRequest for &String {
    fn into_request(self, http: &reqwest::Client) -> Result<reqwest::Request, Error> {
        self.as_str().into_request(http)
    }
}

impl IntoRequest for reqwest::Url {
    fn into_request(self, http: &reqwest::Client) -> Result<reqwest::Request, Error> {
        http.get(self).build().map_err(Error::InvalidRequest)
    }
}

impl IntoRequest for reqwest::Request {
    fn into_request(self, _http: &reqwest::Client) -> Result<reqwest::Request, Error> {
        Ok(self)
    }
}

/// The request is sent with the [`Client`]'s `reqwest::Client`, not the one that made the
/// builder.
impl IntoRequest for reqwest::RequestBuilder {
    fn into_request(self, _http: &reqwest::Client) -> Result<reqwest::Request, Error> {
        self.build().map_err(Error::InvalidRequest)
    }
}

type BoxStream = Pin<Box<dyn Stream<Item = Result<Item, Error>> + Send>>;

/// The stream of events of one subscription, made by [`Client::subscribe`].
///
/// Yields `Ok(event)` for each event and ends after an `Err` (or, with
/// [`max_retries`](ClientBuilder::max_retries), after the last clean end of stream). Dropping
/// it closes the connection; [`with_cancellation`](Self::with_cancellation) ends it from
/// elsewhere. [`with_retry_items`](Self::with_retry_items) also gives the `retry` changes.
#[must_use = "streams do nothing unless polled"]
pub struct Subscription {
    inner: Option<BoxStream>,
    cancel: Option<Pin<Box<WaitForCancellationFutureOwned>>>,
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("ended", &self.inner.is_none())
            .field("cancellable", &self.cancel.is_some())
            .finish()
    }
}

impl Subscription {
    /// Ends the subscription (closing its connection) when `token` is cancelled.
    ///
    /// ```no_run
    /// use futures_util::StreamExt;
    /// use tokio_util::sync::CancellationToken;
    ///
    /// # async fn run(client: sse_client::Client) {
    /// let token = CancellationToken::new();
    /// let mut events = client
    ///     .subscribe("http://127.0.0.1:8888/sse")
    ///     .with_cancellation(token.clone());
    /// tokio::spawn(async move {
    ///     tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    ///     token.cancel();
    /// });
    /// while let Some(event) = events.next().await { /* ... */ }
    /// # }
    /// ```
    pub fn with_cancellation(mut self, token: CancellationToken) -> Self {
        self.cancel = Some(Box::pin(token.cancelled_owned()));
        self
    }

    /// Turns this into a stream of [`Item`]s: events and `retry` changes.
    pub fn with_retry_items(self) -> SubscriptionItems {
        SubscriptionItems { inner: self }
    }

    fn poll_item(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Item, Error>>> {
        if let Some(cancel) = &mut self.cancel
            && cancel.as_mut().poll(cx).is_ready()
        {
            // Dropping the state closes the connection.
            self.inner = None;
        }
        let Some(inner) = &mut self.inner else {
            return Poll::Ready(None);
        };
        let item = std::task::ready!(inner.as_mut().poll_next(cx));
        if item.is_none() {
            self.inner = None;
        }
        Poll::Ready(item)
    }
}

impl Stream for Subscription {
    type Item = Result<Event, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            match std::task::ready!(self.poll_item(cx)) {
                Some(Ok(Item::Event(event))) => return Poll::Ready(Some(Ok(event))),
                Some(Ok(_)) => {}
                Some(Err(error)) => return Poll::Ready(Some(Err(error))),
                None => return Poll::Ready(None),
            }
        }
    }
}

/// A [`Subscription`] that also yields the `retry` changes; made by
/// [`Subscription::with_retry_items`].
#[must_use = "streams do nothing unless polled"]
#[derive(Debug)]
pub struct SubscriptionItems {
    inner: Subscription,
}

impl Stream for SubscriptionItems {
    type Item = Result<Item, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.poll_item(cx)
    }
}

/// One open connection.
struct Connection {
    body: Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>,
    chunk: Bytes,
    pos: usize,
}

/// The reconnect state machine of one subscription.
struct State {
    http: reqwest::Client,
    config: Arc<Config>,
    template: reqwest::Request,
    parser: EventParser,
    backoff: Backoff,
    conn: Option<Connection>,
    /// The delay before the next attempt.
    delay: Option<Duration>,
    done: bool,
}

/// What reading the open connection gave.
enum Read {
    Chunk(Bytes),
    Ended(DisconnectReason),
}

impl State {
    async fn next(&mut self) -> Option<Result<Item, Error>> {
        loop {
            if self.done {
                return None;
            }
            let Some(conn) = &mut self.conn else {
                if let Some(delay) = self.delay.take() {
                    sleep(delay).await;
                }
                if let Err(error) = self.connect().await {
                    self.done = true;
                    return Some(Err(error));
                }
                continue;
            };
            let mut input = conn.chunk.get(conn.pos..).unwrap_or_default();
            let item = self.parser.next_item(&mut input);
            conn.pos = conn.chunk.len() - input.len();
            match item {
                Some(Ok(item)) => {
                    if let Item::Retry(retry) = item {
                        self.backoff.set_retry(retry);
                    }
                    return Some(Ok(item));
                }
                Some(Err(error)) => {
                    self.done = true;
                    self.conn = None;
                    self.notify_disconnect(DisconnectReason::EventTooLarge(error.clone()), None);
                    return Some(Err(Error::EventTooLarge(error)));
                }
                None => {}
            }
            let read = match self.config.idle_timeout {
                Some(idle) => match timeout(idle, conn.body.next()).await {
                    Ok(next) => Read::from(next),
                    Err(_) => Read::Ended(DisconnectReason::IdleTimeout(idle)),
                },
                None => Read::from(conn.body.next().await),
            };
            match read {
                Read::Chunk(chunk) => {
                    conn.chunk = chunk;
                    conn.pos = 0;
                }
                Read::Ended(reason) => {
                    self.conn = None;
                    self.parser.finish();
                    if let Err(error) = self.schedule_retry(reason, None, true) {
                        self.done = true;
                        return error.map(Err);
                    }
                }
            }
        }
    }

    /// Makes one attempt. `Ok` when connected or when a retry is scheduled.
    async fn connect(&mut self) -> Result<(), Error> {
        let mut request = self
            .template
            .try_clone()
            .ok_or(Error::RequestNotCloneable)?;
        let headers = request.headers_mut();
        headers
            .entry(ACCEPT)
            .or_insert(HeaderValue::from_static("text/event-stream"));
        headers
            .entry(CACHE_CONTROL)
            .or_insert(HeaderValue::from_static("no-cache"));
        // An ID with control characters cannot be a header value: it is not sent.
        match HeaderValue::from_bytes(self.parser.last_event_id().as_bytes()) {
            Ok(id) if !id.is_empty() => {
                headers.insert(LAST_EVENT_ID, id);
            }
            _ => {
                headers.remove(LAST_EVENT_ID);
            }
        }
        let response = self.http.execute(request);
        let response = match self.config.idle_timeout {
            Some(idle) => match timeout(idle, response).await {
                Ok(response) => response,
                Err(_) => {
                    return self.retry_or_give_up(DisconnectReason::IdleTimeout(idle), None);
                }
            },
            None => response.await,
        };
        let response = match response {
            Ok(response) => response,
            Err(error) => return self.retry_or_give_up(DisconnectReason::Network(error), None),
        };
        let status = response.status();
        if status != StatusCode::OK {
            if self.config.retry_server_errors
                && (status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS)
            {
                let after = retry_after(response.headers());
                return self.retry_or_give_up(DisconnectReason::Status(status), after);
            }
            return Err(Error::Status { status });
        }
        if !is_event_stream(response.headers()) {
            let content_type = response
                .headers()
                .get(CONTENT_TYPE)
                .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());
            return Err(Error::ContentType { content_type });
        }
        if let Some(on_connect) = &self.config.on_connect {
            on_connect(&response);
        }
        self.backoff.connected(Instant::now());
        self.conn = Some(Connection {
            body: Box::pin(response.bytes_stream()),
            chunk: Bytes::new(),
            pos: 0,
        });
        Ok(())
    }

    fn retry_or_give_up(
        &mut self,
        reason: DisconnectReason,
        retry_after: Option<Duration>,
    ) -> Result<(), Error> {
        match self.schedule_retry(reason, retry_after, false) {
            Ok(()) => Ok(()),
            Err(Some(error)) => Err(error),
            // Only a clean end of stream gives up without an error, and it is not an attempt.
            Err(None) => Ok(()),
        }
    }

    /// A connection or attempt ended: schedules the next attempt, or gives up
    /// (`Err(None)` after a clean end of stream, `Err(Some(error))` otherwise).
    fn schedule_retry(
        &mut self,
        reason: DisconnectReason,
        retry_after: Option<Duration>,
        was_connected: bool,
    ) -> Result<(), Option<Error>> {
        let delay = self.backoff.next_delay(Instant::now());
        let delay = retry_after.unwrap_or(delay);
        let retries = self.backoff.failures();
        let give_up = self.config.max_retries.is_some_and(|max| retries > max);
        if !give_up {
            tracing::debug!(%reason, ?delay, "sse connection ended, reconnecting");
            if was_connected {
                self.notify_disconnect(reason, Some(delay));
            }
            self.delay = Some(delay);
            return Ok(());
        }
        tracing::debug!(%reason, retries, "sse connection ended, giving up");
        self.done = true;
        let reason = if was_connected {
            self.notify_disconnect(reason, None)
        } else {
            reason
        };
        match reason {
            DisconnectReason::EndOfStream => Err(None),
            reason => Err(Some(Error::GaveUp {
                retries: retries - 1,
                reason,
            })),
        }
    }

    fn notify_disconnect(
        &self,
        reason: DisconnectReason,
        reconnect_in: Option<Duration>,
    ) -> DisconnectReason {
        let disconnect = Disconnect {
            reason,
            reconnect_in,
        };
        if let Some(on_disconnect) = &self.config.on_disconnect {
            on_disconnect(&disconnect);
        }
        disconnect.reason
    }
}

impl Drop for State {
    fn drop(&mut self) {
        if self.conn.take().is_some() {
            self.notify_disconnect(DisconnectReason::Cancelled, None);
        }
    }
}

impl From<Option<reqwest::Result<Bytes>>> for Read {
    fn from(next: Option<reqwest::Result<Bytes>>) -> Self {
        match next {
            Some(Ok(chunk)) => Self::Chunk(chunk),
            Some(Err(error)) => Self::Ended(DisconnectReason::Network(error)),
            None => Self::Ended(DisconnectReason::EndOfStream),
        }
    }
}

/// `Content-Type: text/event-stream`, parameters allowed, case-insensitive.
fn is_event_stream(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("text/event-stream"))
}

/// `Retry-After` in seconds (an HTTP date is not supported and falls back to the backoff).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}
