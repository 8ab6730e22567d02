//! [`Subscription`] and [`SubscriptionItems`]: the streams handed to the caller, and the
//! options that can still be set on them before the first poll.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::Stream;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

use super::Reconnect;
use super::state::{Next, State};
use crate::{Error, Event, Item};

/// The next attempt, which owns the state while it runs and gives it back.
type Connecting = Pin<Box<dyn Future<Output = (Box<State>, Result<(), Option<Error>>)> + Send>>;

/// Where a subscription is in its life.
enum Stage {
    /// Not polled yet: the options can still change.
    Ready(Box<State>),
    /// It could not start: the error is its only item.
    Failed(Error),
    /// Reading the open connection (polled directly, event by event).
    Open(Box<State>),
    /// Waiting before an attempt, or making it.
    Connecting(Connecting),
    Ended,
}

/// The stream of events of one subscription, made by [`Client::subscribe`](crate::Client::subscribe).
///
/// Yields `Ok(event)` for each event and ends after an `Err`, or cleanly (the
/// [reconnect policy](Reconnect) did not reconnect, the server answered 204, the end marker
/// arrived, or [`max_retries`](crate::ClientBuilder::max_retries) was reached after a clean
/// end). Dropping it closes the connection; [`with_cancellation`](Self::with_cancellation)
/// ends it from elsewhere. [`with_retry_items`](Self::with_retry_items) also gives the `retry`
/// changes, [`with_comments`](Self::with_comments) the comments too.
///
/// The options ([`reconnect`](Self::reconnect), [`until_data`](Self::until_data),
/// [`until`](Self::until), [`with_comments`](Self::with_comments)) are set before the first
/// poll; afterwards they change nothing.
#[must_use = "streams do nothing unless polled"]
pub struct Subscription {
    stage: Stage,
    cancel: Option<Pin<Box<WaitForCancellationFutureOwned>>>,
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stage = match self.stage {
            Stage::Ready(_) => "ready",
            Stage::Failed(_) => "failed",
            Stage::Open(_) => "open",
            Stage::Connecting(_) => "connecting",
            Stage::Ended => "ended",
        };
        f.debug_struct("Subscription")
            .field("stage", &stage)
            .field("cancellable", &self.cancel.is_some())
            .finish()
    }
}

impl Subscription {
    pub(crate) fn new(state: Result<State, Error>) -> Self {
        let stage = match state {
            Ok(state) => Stage::Ready(Box::new(state)),
            Err(error) => Stage::Failed(error),
        };
        Self {
            stage,
            cancel: None,
        }
    }

    /// Applies `change` to the state if the subscription has not started.
    fn configure(mut self, change: impl FnOnce(&mut State)) -> Self {
        if let Stage::Ready(state) = &mut self.stage {
            change(state);
        }
        self
    }

    /// This subscription's [reconnect policy](Reconnect), over the client's and the method's
    /// default.
    pub fn reconnect(self, reconnect: Reconnect) -> Self {
        self.configure(|state| state.reconnect = Some(reconnect))
    }

    /// Ends the subscription cleanly, without reconnecting, at the first event whose data is
    /// `data` (that event is not yielded): the `[DONE]` of OpenAI-style streaming APIs.
    ///
    /// ```no_run
    /// use futures_util::StreamExt;
    ///
    /// # async fn run(client: reqwest_sse_client::Client) -> Result<(), reqwest_sse_client::Error> {
    /// let mut tokens = client
    ///     .subscribe(client.http().post("https://api.example.com/v1/chat/completions").body("{}"))
    ///     .until_data("[DONE]");
    /// while let Some(event) = tokens.next().await {
    ///     print!("{}", event?.data());
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn until_data(self, data: impl Into<String>) -> Self {
        let data = data.into();
        self.until(move |event| event.data() == data)
    }

    /// Ends the subscription cleanly, without reconnecting, at the first event for which
    /// `is_last` holds (that event is not yielded), e.g. an event of type `end`.
    pub fn until<F>(self, is_last: F) -> Self
    where
        F: FnMut(&Event) -> bool + Send + 'static,
    {
        self.configure(|state| state.end_marker = Some(Box::new(is_last)))
    }

    /// Ends the subscription (closing its connection) when `token` is cancelled.
    ///
    /// ```no_run
    /// use futures_util::StreamExt;
    /// use tokio_util::sync::CancellationToken;
    ///
    /// # async fn run(client: reqwest_sse_client::Client) {
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

    /// Turns this into a stream of [`Item`]s with the comments too ([`Item::Comment`], e.g.
    /// keep-alives), besides events and `retry` changes.
    pub fn with_comments(self) -> SubscriptionItems {
        self.configure(|state| {
            state.parser = std::mem::take(&mut state.parser).with_comments(true);
        })
        .with_retry_items()
    }

    fn poll_item(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Item, Error>>> {
        if let Some(cancel) = &mut self.cancel
            && cancel.as_mut().poll(cx).is_ready()
        {
            // Dropping the state closes the connection.
            self.stage = Stage::Ended;
        }
        loop {
            match &mut self.stage {
                Stage::Open(state) => match std::task::ready!(state.poll_next(cx)) {
                    Next::Item(item) => return Poll::Ready(Some(item)),
                    Next::Connect => {}
                    Next::Ended => {
                        self.stage = Stage::Ended;
                        return Poll::Ready(None);
                    }
                },
                Stage::Connecting(attempt) => {
                    let (state, flow) = std::task::ready!(attempt.as_mut().poll(cx));
                    match flow {
                        Ok(()) => self.stage = Stage::Open(state),
                        Err(end) => {
                            self.stage = Stage::Ended;
                            return Poll::Ready(end.map(Err));
                        }
                    }
                    continue;
                }
                Stage::Ready(_) | Stage::Failed(_) | Stage::Ended => {}
            }
            // From here on the options are fixed.
            match std::mem::replace(&mut self.stage, Stage::Ended) {
                Stage::Ready(state) | Stage::Open(state) => {
                    self.stage = Stage::Connecting(connect(state));
                }
                Stage::Failed(error) => return Poll::Ready(Some(Err(error))),
                Stage::Connecting(_) | Stage::Ended => return Poll::Ready(None),
            }
        }
    }
}

/// The next attempt of `state`.
fn connect(mut state: Box<State>) -> Connecting {
    Box::pin(async move {
        let flow = state.connect_next().await;
        (state, flow)
    })
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

/// A [`Subscription`] that also yields the `retry` changes (and the comments, when asked
/// for); made by [`Subscription::with_retry_items`] and [`Subscription::with_comments`].
#[must_use = "streams do nothing unless polled"]
#[derive(Debug)]
pub struct SubscriptionItems {
    inner: Subscription,
}

impl SubscriptionItems {
    /// Also yields the comments ([`Item::Comment`]); before the first poll.
    pub fn with_comments(self) -> Self {
        self.inner.with_comments()
    }
}

impl Stream for SubscriptionItems {
    type Item = Result<Item, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.poll_item(cx)
    }
}
