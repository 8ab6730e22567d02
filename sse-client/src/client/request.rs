//! What is sent on each attempt: [`IntoRequest`], the per-attempt [`Attempt`], and the
//! headers the client adds.

use std::fmt;
use std::time::Duration;

use reqwest::header::{ACCEPT, CACHE_CONTROL, HeaderValue};

use crate::error::{DisconnectReason, Error};

/// The `Last-Event-ID` request header.
pub(crate) const LAST_EVENT_ID: &str = "last-event-id";

/// What [`Client::subscribe`](crate::Client::subscribe) accepts: a URL, a
/// [`reqwest::RequestBuilder`] or a [`reqwest::Request`].
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

/// The request is sent with the [`Client`](crate::Client)'s `reqwest::Client`, not the one
/// that made the builder.
impl IntoRequest for reqwest::RequestBuilder {
    fn into_request(self, _http: &reqwest::Client) -> Result<reqwest::Request, Error> {
        self.build().map_err(Error::InvalidRequest)
    }
}

/// One attempt of a subscription made with [`Client::subscribe_fn`](crate::Client::subscribe_fn):
/// what its request function is given.
#[derive(Clone, Copy)]
pub struct Attempt<'a> {
    pub(crate) http: &'a reqwest::Client,
    pub(crate) number: u32,
    pub(crate) last_event_id: &'a str,
    pub(crate) previous: Option<&'a DisconnectReason>,
    pub(crate) delay: Duration,
}

impl<'a> Attempt<'a> {
    /// The attempt's number: 1 for the first request, 2 for the first reconnection, and so on.
    #[must_use]
    pub fn number(&self) -> u32 {
        self.number
    }

    /// The stream's last event ID (`""` when none was received); the client sends it as
    /// `Last-Event-ID` when it is not empty.
    #[must_use]
    pub fn last_event_id(&self) -> &'a str {
        self.last_event_id
    }

    /// Why the previous attempt ended (`None` for the first one): a clean end, a cut
    /// connection, an idle timeout, a status retried with
    /// [`retry_server_errors`](crate::ClientBuilder::retry_server_errors), ...
    #[must_use]
    pub fn previous(&self) -> Option<&'a DisconnectReason> {
        self.previous
    }

    /// How long the client waited before this attempt.
    #[must_use]
    pub fn delay(&self) -> Duration {
        self.delay
    }

    /// The client's `reqwest::Client`, to build the request with.
    #[must_use]
    pub fn http(&self) -> &'a reqwest::Client {
        self.http
    }
}

impl fmt::Debug for Attempt<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Attempt")
            .field("number", &self.number)
            .field("last_event_id", &self.last_event_id)
            .field("previous", &self.previous)
            .field("delay", &self.delay)
            .finish_non_exhaustive()
    }
}

type MakeRequest = Box<dyn FnMut(&Attempt<'_>) -> Result<reqwest::Request, Error> + Send>;

/// Where each attempt's request comes from.
pub(crate) enum RequestSource {
    /// The same request every time (its body can be cloned).
    Template(Box<reqwest::Request>),
    /// A fresh request per attempt.
    Function(MakeRequest),
}

impl RequestSource {
    /// The request for `attempt`, without the headers the client adds.
    pub(crate) fn request(&mut self, attempt: &Attempt<'_>) -> Result<reqwest::Request, Error> {
        match self {
            Self::Template(template) => template.try_clone().ok_or(Error::RequestNotCloneable),
            Self::Function(make) => make(attempt),
        }
    }
}

/// Adds `Accept` and `Cache-Control` (unless set) and sets `Last-Event-ID` to `last_event_id`
/// (removing it when that is empty).
pub(crate) fn add_headers(request: &mut reqwest::Request, last_event_id: &str) {
    let headers = request.headers_mut();
    headers
        .entry(ACCEPT)
        .or_insert(HeaderValue::from_static("text/event-stream"));
    headers
        .entry(CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-cache"));
    // An ID with control characters cannot be a header value: it is not sent.
    match HeaderValue::from_bytes(last_event_id.as_bytes()) {
        Ok(id) if !id.is_empty() => {
            headers.insert(LAST_EVENT_ID, id);
        }
        _ => {
            headers.remove(LAST_EVENT_ID);
        }
    }
}

/// The `Last-Event-ID` a request carries, where a subscription starts from.
pub(crate) fn last_event_id_of(request: &reqwest::Request) -> Option<String> {
    let id = request.headers().get(LAST_EVENT_ID)?;
    Some(String::from_utf8_lossy(id.as_bytes()).into_owned())
}

/// A scheme that no attempt can succeed with: not `http`/`https`, or `https` in a build
/// without TLS (known only when the client built its own `reqwest::Client`).
pub(crate) fn check_scheme(request: &reqwest::Request, own_http_client: bool) -> Result<(), Error> {
    let scheme = request.url().scheme();
    let tls = cfg!(any(
        feature = "rustls",
        feature = "rustls-ring",
        feature = "native-tls"
    )) || !own_http_client;
    match scheme {
        "http" => Ok(()),
        "https" if tls => Ok(()),
        _ => Err(Error::UnsupportedScheme {
            scheme: scheme.to_owned(),
        }),
    }
}
