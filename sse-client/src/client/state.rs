//! [`State`]: the reconnect state machine of one subscription. It makes the attempts, reads
//! the open connection through the parser, and decides after each end what comes next.

use std::future::Future as _;
use std::hash::{BuildHasher, RandomState};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures_util::Stream;
use reqwest::{Method, StatusCode};
use tokio::time::{Instant, Sleep, sleep, sleep_until, timeout};

use super::Config;
use super::policy::{Reconnect, Verdict};
use super::request::{self, Attempt, RequestSource};
use super::response::{self, fatal_send_error};
use crate::Event;
use crate::backoff::Backoff;
use crate::error::{Disconnect, DisconnectReason, Error};
use crate::parser::{EventParser, Item};

/// Ends a subscription when an event matches; see
/// [`Subscription::until`](crate::Subscription::until).
pub(crate) type EndMarker = Box<dyn FnMut(&Event) -> bool + Send>;

/// What happens after a step: go on (`Ok`), or end the subscription, cleanly (`Err(None)`) or
/// with an error.
type Flow = Result<(), Option<Error>>;

/// One open connection.
struct Connection {
    body: Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>,
    chunk: Bytes,
    pos: usize,
    idle: Option<IdleTimer>,
}

/// The idle timeout of an open connection. Each chunk only moves `deadline` on; the timer is
/// re-armed when it fires early, so a chunk costs a clock read, not a timer registration.
struct IdleTimer {
    timeout: Duration,
    deadline: Instant,
    timer: Pin<Box<Sleep>>,
}

impl IdleTimer {
    fn new(timeout: Duration) -> Self {
        let deadline = Instant::now() + timeout;
        Self {
            timeout,
            deadline,
            timer: Box::pin(sleep_until(deadline)),
        }
    }

    fn touch(&mut self) {
        self.deadline = Instant::now() + self.timeout;
    }

    /// Whether the connection has been idle for the whole timeout.
    fn poll_expired(&mut self, cx: &mut Context<'_>) -> bool {
        while self.timer.as_mut().poll(cx).is_ready() {
            if Instant::now() >= self.deadline {
                return true;
            }
            let deadline = self.deadline;
            self.timer.as_mut().reset(deadline);
        }
        false
    }
}

/// The reconnect state machine of one subscription.
pub(crate) struct State {
    http: reqwest::Client,
    config: Arc<Config>,
    source: RequestSource,
    /// This subscription's policy, over the client's and the method's default.
    pub(crate) reconnect: Option<Reconnect>,
    pub(crate) end_marker: Option<EndMarker>,
    pub(crate) parser: EventParser,
    backoff: Backoff,
    conn: Option<Connection>,
    /// The delay before the next attempt.
    delay: Option<Duration>,
    /// Attempts made so far.
    attempts: u32,
    /// Why the last connection or attempt ended.
    previous: Option<DisconnectReason>,
    /// The method of the last request, for the default policy.
    method: Method,
    done: bool,
}

/// What [`State::poll_next`] gave.
pub(crate) enum Next {
    /// An item from the open connection.
    Item(Result<Item, Error>),
    /// No connection is open: [`State::connect_next`] makes the next attempt.
    Connect,
    /// The subscription ended, cleanly or not.
    Ended,
}

impl State {
    pub(crate) fn new(http: reqwest::Client, config: Arc<Config>, source: RequestSource) -> Self {
        let method = match &source {
            RequestSource::Template(template) => template.method().clone(),
            RequestSource::Function(_) => Method::GET,
        };
        Self {
            http,
            backoff: Backoff::new(config.backoff, RandomState::new().hash_one(0_u8)),
            parser: EventParser::new().with_max_event_size(config.max_event_size),
            config,
            source,
            reconnect: None,
            end_marker: None,
            conn: None,
            delay: None,
            attempts: 0,
            previous: None,
            method,
            done: false,
        }
    }

    /// The next item from the open connection. This is the path of every event, so it is a
    /// plain poll: no future is made per event, and a chunk costs no timer registration.
    /// Connecting (and waiting before it) is [`connect_next`](Self::connect_next)'s.
    pub(crate) fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Next> {
        loop {
            if self.done {
                return Poll::Ready(Next::Ended);
            }
            let Some(conn) = &mut self.conn else {
                return Poll::Ready(Next::Connect);
            };
            let mut input = conn.chunk.get(conn.pos..).unwrap_or_default();
            let item = self.parser.next_item_shared(&conn.chunk, &mut input);
            conn.pos = conn.chunk.len() - input.len();
            match item {
                Some(Ok(Item::Event(event))) => {
                    if self.end_marker.as_mut().is_some_and(|ends| ends(&event)) {
                        self.end(DisconnectReason::EndMarker);
                        return Poll::Ready(Next::Ended);
                    }
                    self.backoff.delivered();
                    return Poll::Ready(Next::Item(Ok(Item::Event(event))));
                }
                Some(Ok(item)) => {
                    if let Item::Retry(retry) = item {
                        self.backoff.set_retry(retry);
                    }
                    return Poll::Ready(Next::Item(Ok(item)));
                }
                Some(Err(error)) => {
                    self.end(DisconnectReason::EventTooLarge(error.clone()));
                    return Poll::Ready(Next::Item(Err(Error::EventTooLarge(error))));
                }
                None => {}
            }
            let reason = match conn.body.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(chunk))) => {
                    conn.chunk = chunk;
                    conn.pos = 0;
                    if let Some(idle) = &mut conn.idle {
                        idle.touch();
                    }
                    continue;
                }
                Poll::Ready(Some(Err(error))) => DisconnectReason::Network(error),
                Poll::Ready(None) => DisconnectReason::EndOfStream,
                Poll::Pending => {
                    let Some(idle) = conn.idle.as_mut() else {
                        return Poll::Pending;
                    };
                    if !idle.poll_expired(cx) {
                        return Poll::Pending;
                    }
                    DisconnectReason::IdleTimeout(idle.timeout)
                }
            };
            self.conn = None;
            self.parser.finish();
            if let Err(end) = self.after_end(reason, None, true) {
                self.done = true;
                if let Some(error) = end {
                    return Poll::Ready(Next::Item(Err(error)));
                }
            }
        }
    }

    /// Waits for the delay the last end scheduled and makes the next attempt. `Err` when the
    /// subscription ends: cleanly (`None`) or with the error to yield.
    pub(crate) async fn connect_next(&mut self) -> Result<(), Option<Error>> {
        let delay = self.delay.take().unwrap_or_default();
        if !delay.is_zero() {
            sleep(delay).await;
        }
        let flow = self.connect(delay).await;
        if flow.is_err() {
            self.done = true;
        }
        flow
    }

    /// Ends the subscription on the open connection.
    fn end(&mut self, reason: DisconnectReason) {
        self.done = true;
        self.conn = None;
        self.notify_disconnect(reason, None);
    }

    /// Makes one attempt, `delay` after the previous one ended. `Ok` when connected or when
    /// the next attempt is scheduled.
    async fn connect(&mut self, delay: Duration) -> Flow {
        self.attempts = self.attempts.saturating_add(1);
        let attempt = Attempt {
            http: &self.http,
            number: self.attempts,
            last_event_id: self.parser.last_event_id(),
            previous: self.previous.as_ref(),
            delay,
        };
        let mut request = self.source.request(&attempt)?;
        if self.attempts == 1
            && let Some(id) = request::last_event_id_of(&request)
        {
            // Where the caller asked the subscription to start from.
            self.parser.set_last_event_id(&id);
        }
        request::check_scheme(&request, self.config.own_http_client)?;
        request::add_headers(&mut request, self.parser.last_event_id());
        request.method().clone_into(&mut self.method);
        let response = self.http.execute(request);
        let response = match self.config.idle_timeout {
            Some(idle) => match timeout(idle, response).await {
                Ok(response) => response,
                Err(_) => return self.after_end(DisconnectReason::IdleTimeout(idle), None, false),
            },
            None => response.await,
        };
        let response = match response.map_err(fatal_send_error) {
            Ok(response) => response,
            Err(Ok(error)) => return self.after_end(DisconnectReason::Network(error), None, false),
            Err(Err(fatal)) => return Err(Some(fatal)),
        };
        let status = response.status();
        if status == StatusCode::NO_CONTENT {
            // The server's way to say "no more": for every method and policy.
            return Err(None);
        }
        if status != StatusCode::OK {
            if self.config.retry_server_errors
                && (status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS)
            {
                let after = response::retry_after(response.headers());
                return self.after_end(DisconnectReason::Status(status), after, false);
            }
            return Err(Some(
                response::refused(response, self.config.idle_timeout).await,
            ));
        }
        if !response::is_event_stream(response.headers()) {
            return Err(Some(Error::ContentType {
                content_type: response::content_type(response.headers()),
            }));
        }
        if let Some(on_connect) = &self.config.on_connect {
            on_connect(&response);
        }
        self.backoff.connected(Instant::now());
        self.conn = Some(Connection {
            body: Box::pin(response.bytes_stream()),
            chunk: Bytes::new(),
            pos: 0,
            idle: self.config.idle_timeout.map(IdleTimer::new),
        });
        Ok(())
    }

    /// A connection or attempt ended: schedules the next attempt, or ends the subscription as
    /// the reconnect policy and `max_retries` say.
    fn after_end(
        &mut self,
        reason: DisconnectReason,
        retry_after: Option<Duration>,
        was_connected: bool,
    ) -> Flow {
        let policy = self
            .reconnect
            .or(self.config.reconnect)
            .unwrap_or_else(|| Reconnect::for_method(&self.method));
        let verdict = policy.verdict(&reason, !self.parser.last_event_id().is_empty());
        if verdict != Verdict::Reconnect {
            crate::log::log!(debug, %reason, ?policy, "sse connection ended, not reconnecting");
            let reason = self.notify_if(was_connected, reason, None);
            return Err(verdict.ending(reason));
        }
        let delay = self.backoff.next_delay(Instant::now());
        let delay = retry_after.unwrap_or(delay);
        let retries = self.backoff.retries();
        if self.config.max_retries.is_some_and(|max| retries > max) {
            crate::log::log!(debug, %reason, retries, "sse connection ended, giving up");
            return match self.notify_if(was_connected, reason, None) {
                DisconnectReason::EndOfStream => Err(None),
                reason => Err(Some(Error::GaveUp {
                    retries: retries - 1,
                    reason,
                })),
            };
        }
        crate::log::log!(debug, %reason, ?delay, "sse connection ended, reconnecting");
        #[cfg(feature = "metrics")]
        metrics::counter!("sse_client_reconnects_total", "reason" => reason.label()).increment(1);
        let reason = self.notify_if(was_connected, reason, Some(delay));
        self.previous = Some(reason);
        self.delay = Some(delay);
        Ok(())
    }

    /// Tells [`on_disconnect`](crate::ClientBuilder::on_disconnect) when the attempt had
    /// connected (a failed attempt was never reported to `on_connect`).
    fn notify_if(
        &self,
        was_connected: bool,
        reason: DisconnectReason,
        reconnect_in: Option<Duration>,
    ) -> DisconnectReason {
        if was_connected {
            self.notify_disconnect(reason, reconnect_in)
        } else {
            reason
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
