//! [`Client`]: the reconnecting client.
//!
//! - [`builder`]: [`ClientBuilder`], the configuration shared by the subscriptions;
//! - [`request`]: what is sent on each attempt ([`IntoRequest`], [`Attempt`], the headers the
//!   client adds);
//! - [`policy`]: [`Reconnect`], whether an ended stream is sent again;
//! - [`response`]: what is read of a response before its body (status, content type,
//!   `Retry-After`, the body of a refused one);
//! - [`state`]: the reconnect state machine of one subscription;
//! - [`subscription`]: [`Subscription`], the stream handed to the caller.

mod builder;
mod policy;
mod request;
mod response;
mod state;
mod subscription;

use std::sync::Arc;

use futures_util::StreamExt;

pub use builder::ClientBuilder;
pub(crate) use builder::Config;
pub use policy::Reconnect;
pub use request::{Attempt, IntoRequest};
pub(crate) use response::retry_after;
pub use subscription::{Subscription, SubscriptionItems};

use crate::{Error, Event};
use request::RequestSource;
use state::State;

/// A reconnecting Server-Sent Events client over [`reqwest`].
///
/// Cheap to clone (the configuration and the connection pool are shared). Each
/// [`subscribe`](Self::subscribe) opens one subscription that reconnects by itself.
///
/// ```no_run
/// use futures_util::StreamExt;
/// use reqwest_sse_client::Client;
///
/// # async fn run() -> Result<(), reqwest_sse_client::Error> {
/// let client = Client::builder().build()?;
/// let mut events = client.subscribe("https://example.com/sse");
/// while let Some(event) = events.next().await {
///     let event = event?;
///     println!("{}: {}", event.event_type(), event.data());
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Client {
    http: reqwest::Client,
    config: Arc<Config>,
}

impl Client {
    /// A builder with the defaults: reconnection time 3 s, backoff from 100 ms up to 30 s
    /// reset after 60 s healthy, never giving up, idle timeout 5 minutes, events up to 16 MiB,
    /// the [reconnect policy](Reconnect) chosen by the request's method.
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
    /// or a [`reqwest::Request`], with any method, headers and body. When the policy
    /// re-sends it, it is sent again as it is (so its body must not be a stream:
    /// [`Error::RequestNotCloneable`]; see [`subscribe_fn`](Self::subscribe_fn) to build it
    /// per attempt). Every attempt sends `Accept: text/event-stream` and
    /// `Cache-Control: no-cache` (unless the request sets them), and a reconnection sends
    /// `Last-Event-ID` with the last event ID when it is not empty. A `Last-Event-ID` set on
    /// the request is where the subscription starts from.
    ///
    /// Whether an ended stream is sent again is the [`Reconnect`] policy: by default a `GET`
    /// reconnects after a clean end and after failures (as browsers do), while any other
    /// method is never sent twice unless it can resume (see [`Reconnect::OnFailure`]). A
    /// `204 No Content` ends the subscription cleanly; another status than 200, or a content
    /// type other than `text/event-stream`, ends it with an error. An [`Err`] is always the
    /// last item.
    ///
    /// Nothing runs in the background: dropping the stream closes the connection.
    ///
    /// ```no_run
    /// use futures_util::StreamExt;
    /// use reqwest_sse_client::Client;
    ///
    /// # async fn run() -> Result<(), reqwest_sse_client::Error> {
    /// let client = Client::builder().build()?;
    /// // LLM-style streaming over POST: the completion is never bought twice. A cut before
    /// // the server gave the stream an id ends with `Error::CannotResume`; after one, the
    /// // request is sent again with `Last-Event-ID` so the server can resume.
    /// let request = client
    ///     .http()
    ///     .post("https://api.example.com/v1/chat/completions")
    ///     .bearer_auth("token")
    ///     .header("content-type", "application/json")
    ///     .body(r#"{"model":"m","stream":true,"messages":[{"role":"user","content":"hi"}]}"#);
    /// let mut events = client.subscribe(request).until_data("[DONE]");
    /// while let Some(event) = events.next().await {
    ///     print!("{}", event?.data());
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn subscribe(&self, request: impl IntoRequest) -> Subscription {
        let state = request.into_request(&self.http).and_then(|template| {
            if template.try_clone().is_none() {
                return Err(Error::RequestNotCloneable);
            }
            Ok(self.state(RequestSource::Template(Box::new(template))))
        });
        Subscription::new(state)
    }

    /// Subscribes with a request built for each attempt by `make_request`, given the
    /// [`Attempt`]: its number, the last event ID and why the previous attempt ended. For a
    /// token that expires (refresh it on reconnection), a request that depends on what was
    /// received, or a streaming body (built anew each time).
    ///
    /// The client adds the same headers as [`subscribe`](Self::subscribe) (it replaces
    /// `Last-Event-ID` with the last event ID from the second attempt on). An error building
    /// the request ends the subscription with [`Error::InvalidRequest`].
    ///
    /// ```no_run
    /// use futures_util::StreamExt;
    ///
    /// # fn fresh_token() -> String { String::new() }
    /// # async fn run() -> Result<(), reqwest_sse_client::Error> {
    /// let client = reqwest_sse_client::Client::builder().build()?;
    /// let mut events = client.subscribe_fn(|attempt| {
    ///     attempt
    ///         .http()
    ///         .get("https://example.com/feed")
    ///         .bearer_auth(fresh_token())
    ///         .header("x-attempt", attempt.number())
    /// });
    /// while let Some(event) = events.next().await {
    ///     println!("{}", event?.data());
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn subscribe_fn<F, R>(&self, mut make_request: F) -> Subscription
    where
        F: FnMut(&Attempt<'_>) -> R + Send + 'static,
        R: IntoRequest,
    {
        let make = move |attempt: &Attempt<'_>| make_request(attempt).into_request(attempt.http());
        Subscription::new(Ok(self.state(RequestSource::Function(Box::new(make)))))
    }

    /// Subscribes and calls `on_event` with each event; resolves when the subscription ends:
    /// `Ok(())` when it ended without error, otherwise with the error that ended it. Drop the
    /// future to stop.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), reqwest_sse_client::Error> {
    /// let client = reqwest_sse_client::Client::builder().build()?;
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

    fn state(&self, source: RequestSource) -> State {
        State::new(self.http.clone(), Arc::clone(&self.config), source)
    }
}
