//! [`ExpiringSubscription`]: a hub subscription that ends when its ticket expires, and the
//! hub calls made through a [`Ticket`].

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::Stream;
use http_body::Frame as BodyFrame;
use tokio::time::{Instant, Sleep};

use super::{Ticket, TicketRejection};
use crate::Event;
use crate::hub::{EventId, Frame, Hub, HubError, ResumePoint, Subscribe, Subscription};

/// The longest a subscription waits for its ticket's expiry: a year. A ticket valid longer
/// ends its stream after a year anyway (the client resumes), and no timer arithmetic can
/// overflow.
const LONGEST_WAIT: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// A hub [`Subscription`] that ends cleanly when its ticket expires, from
/// [`Ticket::subscribe`] or [`Ticket::until_expiry`].
///
/// Returned from a handler it is the subscription's response (with the hub's keep-alive),
/// whose body ends, between two events, at the ticket's expiry: after the
/// [`final_event`](Self::final_event) if one is set. The subscriber leaves the hub at that
/// moment. Read as a [`Stream`] it yields the subscription's [`Frame`]s until then.
///
/// ```
/// use std::time::Duration;
/// use futures_util::StreamExt as _;
/// use sse_axum::{Event, EventType};
/// use sse_axum::auth::{Claims, TicketKey, TicketKeys};
/// use sse_axum::hub::{Hub, Subscribe};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let keys = TicketKeys::new(TicketKey::new([3_u8; 32])?);
/// # let config = sse_axum::auth::TicketConfig::new(keys.clone());
/// # let text = keys.sign(&Claims::valid_for("alice", Duration::from_millis(200)).read("news"));
/// # let request = axum::http::Request::get(format!("/?ticket={text}")).body(())?.into_parts().0;
/// # let ticket = config.read(&request)?.unwrap();
/// // `ticket` came from the extractor; it expires in 200 ms.
/// let hub = Hub::new();
/// let mut stream = ticket
///     .subscribe(&hub, ["news"], None::<sse_axum::LastEventId>)
///     .await?
///     .final_event(Event::new().event(EventType::from_static("expired")));
/// hub.publish("news", Event::new().data("hello")).await?;
/// assert!(stream.next().await.is_some());
/// assert!(stream.next().await.is_none(), "ends at expiry");
/// assert_eq!(hub.subscriber_count("news"), 0);
/// # Ok(()) }
/// ```
#[must_use = "a subscription receives nothing unless it is polled or returned as a response"]
pub struct ExpiringSubscription {
    /// `None` once the ticket expired: the subscriber has left the hub.
    subscription: Option<Subscription>,
    deadline: Pin<Box<Sleep>>,
    final_frame: Option<Bytes>,
}

impl ExpiringSubscription {
    fn new(subscription: Subscription, expires_at: SystemTime) -> Self {
        let remaining = expires_at
            .duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO)
            .min(LONGEST_WAIT);
        Self {
            subscription: Some(subscription),
            deadline: Box::pin(tokio::time::sleep_until(Instant::now() + remaining)),
            final_frame: None,
        }
    }

    /// Sends `event` last, when the stream ends at expiry (not when it ends otherwise), so
    /// that a page can sign in again before `EventSource` reconnects. Give it no id: the
    /// client's last event id then stays that of the last real event, to resume from.
    pub fn final_event(mut self, event: Event) -> Self {
        self.final_frame = Some(event.to_bytes()).filter(|bytes| !bytes.is_empty());
        self
    }

    /// The subscription, while the ticket has not expired.
    #[must_use]
    pub fn subscription(&self) -> Option<&Subscription> {
        self.subscription.as_ref()
    }

    /// Whether the deadline has passed, checked once per poll before anything else, so that
    /// a busy topic cannot keep an expired stream open.
    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        if self.subscription.is_some() && self.deadline.as_mut().poll(cx).is_ready() {
            self.subscription = None;
        }
        self.subscription.is_none()
    }
}

impl Stream for ExpiringSubscription {
    type Item = Frame;

    /// The subscription's frames until expiry (the final event is only written to a
    /// response: it is no hub frame).
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Frame>> {
        let this = self.get_mut();
        if this.expired(cx) {
            return Poll::Ready(None);
        }
        match &mut this.subscription {
            Some(subscription) => Pin::new(subscription).poll_next(cx),
            None => Poll::Ready(None),
        }
    }
}

impl IntoResponse for ExpiringSubscription {
    fn into_response(self) -> Response {
        let Self {
            subscription,
            deadline,
            final_frame,
        } = self;
        let Some(subscription) = subscription else {
            // Expired before the response was made: an empty, finished event stream.
            return crate::SseStream::from_frames(futures_util::stream::iter(final_frame))
                .into_response();
        };
        let response = subscription.into_response();
        response.map(|inner| {
            Body::new(UntilBody {
                inner: Some(inner),
                deadline,
                final_frame,
            })
        })
    }
}

impl fmt::Debug for ExpiringSubscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExpiringSubscription")
            .field("subscription", &self.subscription)
            .field("deadline", &self.deadline.deadline())
            .finish_non_exhaustive()
    }
}

/// A response body that ends at a deadline, between two of its frames (each frame of an
/// event stream holds whole events, so the client sees a clean end), after a final frame.
///
/// Why a body and not the frames' stream: the subscription's own response carries the hub's
/// keep-alive settings, which the hub keeps to itself; wrapping the finished body keeps them.
struct UntilBody {
    inner: Option<Body>,
    deadline: Pin<Box<Sleep>>,
    final_frame: Option<Bytes>,
}

impl http_body::Body for UntilBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<BodyFrame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        if this.inner.is_some() && this.deadline.as_mut().poll(cx).is_ready() {
            // Dropping the inner body drops the subscription: it leaves the hub now.
            this.inner = None;
        }
        match &mut this.inner {
            Some(inner) => Pin::new(inner).poll_frame(cx),
            None => Poll::Ready(
                this.final_frame
                    .take()
                    .map(|bytes| Ok(BodyFrame::data(bytes))),
            ),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.inner {
            Some(inner) => inner.is_end_stream(),
            None => self.final_frame.is_none(),
        }
    }
}

/// Why a hub call made through a [`Ticket`] failed: the ticket did not allow it, or the hub
/// refused. Answers HTTP itself (403, or the [`HubError`]'s answer).
#[derive(Debug)]
#[non_exhaustive]
pub enum AccessError {
    /// The ticket does not grant it (403).
    Denied(TicketRejection),
    /// The hub refused (see [`HubError::status`]).
    Hub(HubError),
}

impl fmt::Display for AccessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Denied(_) => f.write_str("not allowed by the ticket"),
            Self::Hub(_) => f.write_str("the hub refused"),
        }
    }
}

impl std::error::Error for AccessError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Denied(rejection) => Some(rejection),
            Self::Hub(error) => Some(error),
        }
    }
}

impl IntoResponse for AccessError {
    fn into_response(self) -> Response {
        match self {
            Self::Denied(rejection) => rejection.into_response(),
            Self::Hub(error) => error.into_response(),
        }
    }
}

impl From<TicketRejection> for AccessError {
    fn from(rejection: TicketRejection) -> Self {
        Self::Denied(rejection)
    }
}

impl From<HubError> for AccessError {
    fn from(error: HubError) -> Self {
        Self::Hub(error)
    }
}

impl Ticket {
    /// Subscribes to `topics` on `hub`, resuming after `last_event_id`, if the ticket grants
    /// reading every one of them; the subscription ends when the ticket expires.
    ///
    /// For more options (history without an id), check with [`check_read`](Self::check_read),
    /// subscribe, and bound the subscription with [`until_expiry`](Self::until_expiry).
    ///
    /// # Errors
    ///
    /// [`AccessError::Denied`] with [`TicketRejection::ReadNotGranted`] (403) for the first
    /// topic not granted (also when `topics` is empty), [`AccessError::Hub`] when the hub
    /// refuses.
    pub async fn subscribe<I, T>(
        &self,
        hub: &Hub,
        topics: I,
        last_event_id: impl Into<ResumePoint>,
    ) -> Result<ExpiringSubscription, AccessError>
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        let topics: Vec<String> = topics.into_iter().map(Into::into).collect();
        if topics.is_empty() {
            // Nothing to intersect with: refused as a grant, not as the hub's 400.
            return Err(TicketRejection::ReadNotGranted {
                topic: String::new(),
            }
            .into());
        }
        self.check_read(&topics)?;
        let subscription = hub
            .subscribe(Subscribe::new(topics).last_event_id(last_event_id))
            .await?;
        Ok(self.until_expiry(subscription))
    }

    /// Bounds `subscription` by the ticket's expiry (the caller checked the topics).
    pub fn until_expiry(&self, subscription: Subscription) -> ExpiringSubscription {
        ExpiringSubscription::new(subscription, self.expires_at())
    }

    /// Publishes `event` to `topic` on `hub` if the ticket grants publishing to it, and
    /// returns the id the hub gave it.
    ///
    /// # Errors
    ///
    /// [`AccessError::Denied`] with [`TicketRejection::PublishNotGranted`] (403),
    /// [`AccessError::Hub`] when the hub refuses.
    pub async fn publish(
        &self,
        hub: &Hub,
        topic: impl Into<String>,
        event: Event,
    ) -> Result<EventId, AccessError> {
        let topic = topic.into();
        self.check_publish(&topic)?;
        Ok(hub.publish(topic, event).await?)
    }
}

#[cfg(test)]
mod tests {
    use axum::body::to_bytes;
    use futures_util::StreamExt as _;
    use http::{Request, StatusCode};

    use super::*;
    use crate::EventType;
    use crate::auth::{Claims, TicketConfig, TicketKey, TicketKeys};

    fn ticket(lifetime: Duration, claims: impl FnOnce(Claims) -> Claims) -> Ticket {
        let config = TicketConfig::new(TicketKeys::new(TicketKey::new([6_u8; 32]).unwrap()));
        let text = config
            .keys()
            .sign(&claims(Claims::valid_for("hertz", lifetime)));
        let parts = Request::get(format!("/?ticket={text}"))
            .body(())
            .unwrap()
            .into_parts()
            .0;
        config.read(&parts).unwrap().unwrap()
    }

    const EXPIRED: EventType = EventType::from_static("expired");

    #[tokio::test]
    async fn a_response_ends_cleanly_at_expiry_after_the_final_event() {
        let hub = Hub::new();
        let ticket = ticket(Duration::from_millis(300), |c| c.read("news"));
        let subscription = ticket
            .subscribe(&hub, ["news"], None::<EventId>)
            .await
            .unwrap()
            .final_event(Event::new().event(EXPIRED).data("sign in again"));
        let id = hub.publish("news", Event::new().data("one")).await.unwrap();
        let response = subscription.into_response();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(hub.subscriber_count("news"), 1);
        let started = std::time::Instant::now();
        let body = tokio::time::timeout(
            Duration::from_secs(5),
            to_bytes(response.into_body(), 1 << 20),
        )
        .await
        .expect("the body ends by itself")
        .unwrap();
        assert!(
            started.elapsed() >= Duration::from_millis(150),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(
            std::str::from_utf8(&body).unwrap(),
            format!(":\n\nid: {id}\ndata: one\n\nevent: expired\ndata: sign in again\n\n")
        );
        assert_eq!(hub.subscriber_count("news"), 0);
    }

    #[tokio::test]
    async fn a_busy_topic_does_not_keep_an_expired_stream_open() {
        let hub = Hub::new();
        let ticket = ticket(Duration::from_millis(200), |c| c.read_prefix("t:"));
        let mut stream = ticket
            .subscribe(&hub, ["t:1"], None::<EventId>)
            .await
            .unwrap();
        let publisher = {
            let hub = hub.clone();
            tokio::spawn(async move {
                for n in 0.. {
                    if hub
                        .publish("t:1", Event::new().data(format!("{n}")))
                        .await
                        .is_err()
                    {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            })
        };
        let count = tokio::time::timeout(Duration::from_secs(5), async {
            let mut count = 0;
            while stream.next().await.is_some() {
                count += 1;
            }
            count
        })
        .await
        .expect("the stream ends at expiry");
        assert!(count > 0);
        assert!(stream.subscription().is_none());
        assert_eq!(hub.subscriber_count("t:1"), 0);
        hub.close();
        publisher.await.unwrap();
    }

    #[tokio::test]
    async fn topics_outside_the_claims_are_refused_before_subscribing() {
        let hub = Hub::new();
        let ticket = ticket(Duration::from_secs(60), |c| c.read("news").publish("news"));
        let refused = ticket
            .subscribe(&hub, ["news", "user:alice"], None::<EventId>)
            .await
            .unwrap_err();
        assert!(matches!(
            &refused,
            AccessError::Denied(TicketRejection::ReadNotGranted { topic }) if topic == "user:alice"
        ));
        assert_eq!(hub.stats().subscribers, 0, "the hub was never asked");
        assert_eq!(refused.into_response().status(), StatusCode::FORBIDDEN);
        let empty = ticket
            .subscribe(&hub, Vec::<String>::new(), None::<EventId>)
            .await;
        assert!(matches!(empty, Err(AccessError::Denied(_))));

        assert!(
            ticket
                .publish(&hub, "news", Event::new().data("x"))
                .await
                .is_ok()
        );
        let refused = ticket
            .publish(&hub, "user:alice", Event::new().data("x"))
            .await
            .unwrap_err();
        assert!(std::error::Error::source(&refused).is_some());
        assert_eq!(refused.into_response().status(), StatusCode::FORBIDDEN);
        assert_eq!(hub.stats().published, 1);
        hub.close();
        let closed = ticket
            .publish(&hub, "news", Event::new().data("x"))
            .await
            .unwrap_err();
        assert_eq!(
            closed.into_response().status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
    }

    #[tokio::test]
    async fn resuming_with_a_fresh_ticket_gets_what_was_missed() {
        let hub = Hub::new();
        let first = ticket(Duration::from_millis(100), |c| c.read("news"));
        let mut stream = first
            .subscribe(&hub, ["news"], None::<EventId>)
            .await
            .unwrap();
        let seen = hub.publish("news", Event::new().data("1")).await.unwrap();
        assert_eq!(stream.next().await.unwrap().id(), Some(seen));
        assert!(stream.next().await.is_none());
        let missed = hub.publish("news", Event::new().data("2")).await.unwrap();
        let again = ticket(Duration::from_secs(60), |c| c.read("news"));
        let mut stream = again.subscribe(&hub, ["news"], seen).await.unwrap();
        assert_eq!(stream.next().await.unwrap().id(), Some(missed));
    }

    #[tokio::test]
    async fn an_already_expired_bound_answers_an_empty_stream() {
        let hub = Hub::new();
        let ticket = ticket(Duration::from_millis(50), |c| c.read("news"));
        let subscription = hub.subscribe(Subscribe::new(["news"])).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        let mut bounded = ticket
            .until_expiry(subscription)
            .final_event(Event::new().event(EXPIRED));
        // Polled once: it notices the deadline and lets go of the subscriber.
        assert!(bounded.next().await.is_none());
        assert_eq!(hub.subscriber_count("news"), 0);
        let response = bounded.into_response();
        let body = to_bytes(response.into_body(), 1024).await.unwrap();
        assert_eq!(&body[..], b":\n\nevent: expired\n\n");
    }
}
