//! [`State`]: the reconnect state machine of one subscription. It makes the attempts, reads
//! the open connection through the parser, and decides after each end what comes next.

use std::hash::{BuildHasher, RandomState};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use reqwest::{Method, StatusCode};
use tokio::time::{Instant, sleep, timeout};

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

/// What reading the open connection gave.
enum Read {
    Chunk(Bytes),
    Ended(DisconnectReason),
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

    /// The next item of the subscription; `None` once it ended.
    pub(crate) async fn next(&mut self) -> Option<Result<Item, Error>> {
        loop {
            if self.done {
                return None;
            }
            let Some(conn) = &mut self.conn else {
                let delay = self.delay.take().unwrap_or_default();
                if !delay.is_zero() {
                    sleep(delay).await;
                }
                if let Err(end) = self.connect(delay).await {
                    self.done = true;
                    return end.map(Err);
                }
                continue;
            };
            let mut input = conn.chunk.get(conn.pos..).unwrap_or_default();
            let item = self.parser.next_item(&mut input);
            conn.pos = conn.chunk.len() - input.len();
            match item {
                Some(Ok(Item::Event(event))) => {
                    if self.end_marker.as_mut().is_some_and(|ends| ends(&event)) {
                        self.end(DisconnectReason::EndMarker);
                        return None;
                    }
                    self.backoff.delivered();
                    return Some(Ok(Item::Event(event)));
                }
                Some(Ok(item)) => {
                    if let Item::Retry(retry) = item {
                        self.backoff.set_retry(retry);
                    }
                    return Some(Ok(item));
                }
                Some(Err(error)) => {
                    self.end(DisconnectReason::EventTooLarge(error.clone()));
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
                    if let Err(end) = self.after_end(reason, None, true) {
                        self.done = true;
                        return end.map(Err);
                    }
                }
            }
        }
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

impl From<Option<reqwest::Result<Bytes>>> for Read {
    fn from(next: Option<reqwest::Result<Bytes>>) -> Self {
        match next {
            Some(Ok(chunk)) => Self::Chunk(chunk),
            Some(Err(error)) => Self::Ended(DisconnectReason::Network(error)),
            None => Self::Ended(DisconnectReason::EndOfStream),
        }
    }
}
