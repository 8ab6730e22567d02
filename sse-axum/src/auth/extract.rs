//! [`Ticket`], the extractor for a verified stream ticket, its [`TicketConfig`] and its
//! [`TicketRejection`].

use std::fmt;
use std::ops::Deref;
use std::time::SystemTime;

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::response::{IntoResponse, Response};
use http::header::{AUTHORIZATION, COOKIE, ORIGIN, WWW_AUTHENTICATE};
use http::request::Parts;
use http::{HeaderValue, StatusCode};

use super::{Claims, TicketError, TicketKeys};

/// The cookie a [`TicketConfig`] reads unless told otherwise.
pub const TICKET_COOKIE: &str = "sse_ticket";

/// The query parameter a [`TicketConfig`] reads unless told otherwise (for an `EventSource`
/// on another origin, which can send neither a header nor, usually, a cookie).
pub const TICKET_QUERY: &str = "ticket";

/// Where the [`Ticket`] extractor finds tickets, and how it checks them: the keys, the
/// cookie and query parameter names, and a length limit. Add it to the router as axum
/// configures its own extractors, with `.layer(Extension(config))`; or keep it in your state
/// and call [`read`](Self::read).
///
/// ```
/// use axum::{Extension, Router, routing::get};
/// use sse_axum::auth::{Ticket, TicketConfig, TicketKey, TicketKeys};
///
/// async fn whoami(ticket: Ticket) -> String {
///     ticket.subject().to_owned()
/// }
///
/// # fn main() -> Result<(), sse_axum::auth::KeyError> {
/// let keys = TicketKeys::new(TicketKey::new(b"an example key of at least 32 bytes!")?);
/// let config = TicketConfig::new(keys).cookie_name("session").query_param("t").max_len(2048);
/// let app: Router = Router::new().route("/whoami", get(whoami)).layer(Extension(config));
/// # drop(app); Ok(()) }
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct TicketConfig {
    keys: TicketKeys,
    cookie: String,
    query: String,
    max_len: usize,
}

impl TicketConfig {
    /// The default length limit: 4 KiB, the most a browser keeps in one cookie.
    pub const DEFAULT_MAX_LEN: usize = 4096;

    /// Reads tickets signed with `keys` from the `Authorization: Bearer` header, the
    /// [`TICKET_COOKIE`] cookie or the [`TICKET_QUERY`] query parameter, up to 4 KiB.
    pub fn new(keys: TicketKeys) -> Self {
        Self {
            keys,
            cookie: TICKET_COOKIE.to_owned(),
            query: TICKET_QUERY.to_owned(),
            max_len: Self::DEFAULT_MAX_LEN,
        }
    }

    /// Sets the cookie's name.
    pub fn cookie_name(mut self, name: impl Into<String>) -> Self {
        self.cookie = name.into();
        self
    }

    /// Sets the query parameter's name.
    pub fn query_param(mut self, name: impl Into<String>) -> Self {
        self.query = name.into();
        self
    }

    /// Sets the longest accepted ticket in bytes; a longer one is refused with 401 before any
    /// other work.
    pub fn max_len(mut self, max_len: usize) -> Self {
        self.max_len = max_len;
        self
    }

    /// The keys tickets are checked (and [signed](TicketKeys::sign)) with.
    #[must_use]
    pub fn keys(&self) -> &TicketKeys {
        &self.keys
    }

    /// The cookie's name.
    #[must_use]
    pub fn cookie(&self) -> &str {
        &self.cookie
    }

    /// A `Set-Cookie` value that hands `ticket` to a browser: `HttpOnly` (page scripts cannot
    /// read it), `SameSite=Strict` (other sites' requests do not carry it), for `path`, and
    /// `Secure` when asked (required over HTTPS, impossible over plain HTTP). A session cookie:
    /// the ticket inside expires by itself, and an expired one can still prove who is
    /// renewing.
    ///
    /// ```
    /// use sse_axum::auth::{TicketConfig, TicketKey, TicketKeys};
    ///
    /// let keys = TicketKeys::new(TicketKey::new([5_u8; 32]).unwrap());
    /// let cookie = TicketConfig::new(keys).set_cookie("abc.def", "/", false).unwrap();
    /// assert_eq!(cookie, "sse_ticket=abc.def; Path=/; HttpOnly; SameSite=Strict");
    /// ```
    ///
    /// # Errors
    ///
    /// When the cookie name, the ticket or the path holds a character a header cannot.
    pub fn set_cookie(
        &self,
        ticket: &str,
        path: &str,
        secure: bool,
    ) -> Result<HeaderValue, http::header::InvalidHeaderValue> {
        let secure = if secure { "; Secure" } else { "" };
        HeaderValue::try_from(format!(
            "{}={ticket}; Path={path}; HttpOnly; SameSite=Strict{secure}",
            self.cookie
        ))
    }

    /// A `Set-Cookie` value that removes the ticket cookie (for a logout route).
    ///
    /// # Errors
    ///
    /// As [`set_cookie`](Self::set_cookie).
    pub fn clear_cookie(
        &self,
        path: &str,
    ) -> Result<HeaderValue, http::header::InvalidHeaderValue> {
        HeaderValue::try_from(format!(
            "{}=; Path={path}; HttpOnly; SameSite=Strict; Max-Age=0",
            self.cookie
        ))
    }

    /// Finds and verifies the request's ticket: `Ok(None)` when there is none.
    ///
    /// Looks in this order and takes the first one present: the `Authorization: Bearer`
    /// header, the cookie, the query parameter (its value as sent: tickets need no
    /// percent-encoding). A ticket issued for an origin is refused when the request's
    /// `Origin` header names another one.
    ///
    /// # Errors
    ///
    /// [`TicketRejection::Invalid`] (401) for a ticket that is too long, malformed, not
    /// signed by one of the keys or expired; [`TicketRejection::WrongOrigin`] (403).
    pub fn read(&self, parts: &Parts) -> Result<Option<Ticket>, TicketRejection> {
        self.read_at(parts, SystemTime::now())
    }

    /// As [`read`](Self::read), with expiry checked as of `now`: pass an earlier instant to
    /// accept an expired ticket, e.g. in a login route that lets the holder of a ticket that
    /// ran out renew it (`UNIX_EPOCH` checks only the signature).
    ///
    /// # Errors
    ///
    /// As [`read`](Self::read).
    pub fn read_at(
        &self,
        parts: &Parts,
        now: SystemTime,
    ) -> Result<Option<Ticket>, TicketRejection> {
        let Some((source, text)) = self.find(parts) else {
            return Ok(None);
        };
        let invalid = |error| TicketRejection::Invalid { source, error };
        if text.len() > self.max_len {
            return Err(invalid(TicketError::TooLong {
                len: text.len(),
                max_len: self.max_len,
            }));
        }
        let claims = self.keys.verify_at(text, now).map_err(invalid)?;
        if let (Some(issued_for), Some(origin)) = (claims.origin(), parts.headers.get(ORIGIN))
            && origin.as_bytes() != issued_for.as_bytes()
        {
            return Err(TicketRejection::WrongOrigin);
        }
        Ok(Some(Ticket { claims, source }))
    }

    /// The raw ticket text and where it was, without checking it.
    fn find<'a>(&self, parts: &'a Parts) -> Option<(TicketSource, &'a str)> {
        let bearer = parts
            .headers
            .get_all(AUTHORIZATION)
            .iter()
            .find_map(|value| {
                let value = value.to_str().ok()?;
                let (scheme, token) = value.split_once(' ')?;
                // The scheme is case-insensitive (RFC 9110, section 11.1).
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            });
        if let Some(token) = bearer.filter(|t| !t.is_empty()) {
            return Some((TicketSource::Header, token));
        }
        // HTTP/2 may split cookies over several headers; each holds `name=value` pairs.
        let cookie = parts
            .headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(';'))
            .find_map(|pair| {
                let (name, value) = pair.trim().split_once('=')?;
                (name == self.cookie).then(|| value.trim_matches('"'))
            });
        if let Some(value) = cookie.filter(|v| !v.is_empty()) {
            return Some((TicketSource::Cookie, value));
        }
        parts.uri.query()?.split('&').find_map(|pair| {
            let (name, value) = pair.split_once('=')?;
            (name == self.query && !value.is_empty()).then_some((TicketSource::Query, value))
        })
    }
}

/// Where a request's ticket was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TicketSource {
    /// `Authorization: Bearer <ticket>`.
    Header,
    /// The ticket cookie.
    Cookie,
    /// The ticket query parameter.
    Query,
}

impl TicketSource {
    fn describe(self) -> &'static str {
        match self {
            Self::Header => "in the Authorization header",
            Self::Cookie => "in the cookie",
            Self::Query => "in the query",
        }
    }
}

/// A verified ticket: the request's [`Claims`], checked against the [`TicketConfig`] in the
/// request extensions (dereferences to the claims).
///
/// `Ticket` rejects requests without one (401); `Option<Ticket>` gives `None` for them and
/// still rejects a bad one. See [`TicketRejection`] for every answer.
///
/// ```
/// use axum::{Extension, Router, extract::State, http::StatusCode, routing::post};
/// use sse_axum::Event;
/// use sse_axum::auth::{AccessError, Ticket, TicketConfig, TicketKey, TicketKeys};
/// use sse_axum::hub::Hub;
///
/// // A publish endpoint: only holders of a publisher ticket for the topic get through.
/// async fn announce(State(hub): State<Hub>, ticket: Ticket, body: String) -> Result<StatusCode, AccessError> {
///     ticket.publish(&hub, "news", Event::new().data(body)).await?;
///     Ok(StatusCode::NO_CONTENT)
/// }
///
/// # fn main() -> Result<(), sse_axum::auth::KeyError> {
/// let keys = TicketKeys::new(TicketKey::new(b"an example key of at least 32 bytes!")?);
/// let app: Router = Router::new()
///     .route("/news", post(announce))
///     .layer(Extension(TicketConfig::new(keys)))
///     .with_state(Hub::new());
/// # drop(app); Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    claims: Claims,
    source: TicketSource,
}

impl Ticket {
    /// The verified claims.
    pub fn claims(&self) -> &Claims {
        &self.claims
    }

    /// The claims, owned.
    pub fn into_claims(self) -> Claims {
        self.claims
    }

    /// Where the ticket was found.
    #[must_use]
    pub fn source(&self) -> TicketSource {
        self.source
    }

    /// Checks that every one of `topics` may be read: the first that may not is a
    /// [`TicketRejection::ReadNotGranted`] (403).
    ///
    /// # Errors
    ///
    /// As said.
    pub fn check_read<T: AsRef<str>>(&self, topics: &[T]) -> Result<(), TicketRejection> {
        match topics.iter().find(|t| !self.claims.can_read(t.as_ref())) {
            Some(topic) => Err(TicketRejection::ReadNotGranted {
                topic: topic.as_ref().to_owned(),
            }),
            None => Ok(()),
        }
    }

    /// The intersection: those of `topics` the ticket may read, in order (for handlers that
    /// leave out what is not granted rather than refusing, see the [module docs](super)).
    #[must_use]
    pub fn granted<I, T>(&self, topics: I) -> Vec<String>
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        topics
            .into_iter()
            .map(Into::into)
            .filter(|topic| self.claims.can_read(topic))
            .collect()
    }

    /// Checks that `topic` may be published to: a publisher ticket.
    ///
    /// # Errors
    ///
    /// [`TicketRejection::PublishNotGranted`] (403).
    pub fn check_publish(&self, topic: &str) -> Result<(), TicketRejection> {
        if self.claims.can_publish(topic) {
            Ok(())
        } else {
            Err(TicketRejection::PublishNotGranted {
                topic: topic.to_owned(),
            })
        }
    }

    fn from_request_config(parts: &Parts) -> Result<Option<Self>, TicketRejection> {
        parts
            .extensions
            .get::<TicketConfig>()
            .ok_or(TicketRejection::NotConfigured)?
            .read(parts)
    }
}

impl Deref for Ticket {
    type Target = Claims;

    fn deref(&self) -> &Claims {
        &self.claims
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Ticket {
    type Rejection = TicketRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Self::from_request_config(parts)?.ok_or(TicketRejection::Missing)
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for Ticket {
    type Rejection = TicketRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Self::from_request_config(parts)
    }
}

/// Why a request was refused for its ticket; answers HTTP itself with a plain-text message
/// ([`status`](Self::status) says which).
///
/// ```
/// use axum::http::StatusCode;
/// use sse_axum::auth::TicketRejection;
///
/// assert_eq!(TicketRejection::Missing.status(), StatusCode::UNAUTHORIZED);
/// let refused = TicketRejection::ReadNotGranted { topic: "user:hertz".into() };
/// assert_eq!(refused.status(), StatusCode::FORBIDDEN);
/// assert_eq!(refused.to_string(), "the ticket does not grant reading topic user:hertz");
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum TicketRejection {
    /// The request carries no ticket (401).
    Missing,
    /// The ticket is too long, malformed, forged or expired (401): sign in again.
    Invalid {
        /// Where it was found.
        source: TicketSource,
        /// What is wrong with it.
        error: TicketError,
    },
    /// The ticket was issued for another origin than the request's `Origin` (403).
    WrongOrigin,
    /// The ticket does not grant reading this topic (403).
    ReadNotGranted {
        /// The first topic refused.
        topic: String,
    },
    /// The ticket does not grant publishing to this topic (403).
    PublishNotGranted {
        /// The topic.
        topic: String,
    },
    /// No [`TicketConfig`] is in the request extensions: a server bug, answered 500 and
    /// logged.
    NotConfigured,
}

impl TicketRejection {
    /// 401 for no valid ticket (the client should sign in), 403 for a valid ticket that does
    /// not allow this, 500 when the server has no [`TicketConfig`].
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Missing | Self::Invalid { .. } => StatusCode::UNAUTHORIZED,
            Self::WrongOrigin | Self::ReadNotGranted { .. } | Self::PublishNotGranted { .. } => {
                StatusCode::FORBIDDEN
            }
            Self::NotConfigured => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl fmt::Display for TicketRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing => f.write_str("missing ticket: sign in first"),
            Self::Invalid { source, error } => {
                write!(f, "invalid ticket {}: {error}", source.describe())
            }
            Self::WrongOrigin => f.write_str("the ticket was issued for another origin"),
            Self::ReadNotGranted { topic } => {
                write!(f, "the ticket does not grant reading topic {topic}")
            }
            Self::PublishNotGranted { topic } => {
                write!(f, "the ticket does not grant publishing to topic {topic}")
            }
            Self::NotConfigured => f.write_str("ticket verification is not configured"),
        }
    }
}

impl std::error::Error for TicketRejection {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Invalid { error, .. } => Some(error),
            _ => None,
        }
    }
}

impl IntoResponse for TicketRejection {
    fn into_response(self) -> Response {
        let status = self.status();
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            crate::log::log!(
                error,
                "a Ticket extractor ran without a TicketConfig extension"
            );
            return (status, "internal error").into_response();
        }
        let mut response = (status, self.to_string()).into_response();
        if status == StatusCode::UNAUTHORIZED {
            // RFC 9110 asks a 401 to name the scheme that would work.
            response
                .headers_mut()
                .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use axum::body::to_bytes;
    use http::Request;

    use super::*;
    use crate::auth::TicketKey;

    fn config() -> TicketConfig {
        TicketConfig::new(TicketKeys::new(TicketKey::new([4_u8; 32]).unwrap()))
    }

    fn ticket(config: &TicketConfig, subject: &str) -> String {
        config.keys().sign(
            &Claims::valid_for(subject, Duration::from_secs(60))
                .read("user:hertz")
                .publish("news"),
        )
    }

    fn parts(builder: http::request::Builder) -> Parts {
        builder.body(()).unwrap().into_parts().0
    }

    #[test]
    fn reads_the_header_then_the_cookie_then_the_query() {
        let config = config();
        let (h, c, q) = (
            ticket(&config, "h"),
            ticket(&config, "c"),
            ticket(&config, "q"),
        );
        let all = parts(
            Request::get(format!("/sse?a=1&ticket={q}"))
                .header(AUTHORIZATION, format!("bearer {h}"))
                .header(COOKIE, format!("x=1; sse_ticket={c}")),
        );
        let found = config.read(&all).unwrap().unwrap();
        assert_eq!(
            (found.subject(), found.source()),
            ("h", TicketSource::Header)
        );

        let no_header = parts(
            Request::get(format!("/sse?ticket={q}"))
                .header(AUTHORIZATION, "Basic dXNlcjpwYXNz")
                .header(COOKIE, "x=1")
                .header(COOKIE, format!("sse_ticket=\"{c}\"")),
        );
        let found = config.read(&no_header).unwrap().unwrap();
        assert_eq!(
            (found.subject(), found.source()),
            ("c", TicketSource::Cookie)
        );

        let query = parts(Request::get(format!("/sse?tickets=x&ticket={q}")));
        let found = config.read(&query).unwrap().unwrap();
        assert_eq!(
            (found.subject(), found.source()),
            ("q", TicketSource::Query)
        );

        let none = parts(
            Request::get("/sse?ticket=&other=1")
                .header(COOKIE, "sse_ticket=")
                .header(AUTHORIZATION, "Bearer "),
        );
        assert_eq!(config.read(&none).unwrap(), None);
    }

    #[test]
    fn names_and_limits_are_configurable() {
        let config = config().cookie_name("s").query_param("t").max_len(50);
        let text = ticket(&config, "h");
        assert!(text.len() > 50);
        let request = parts(Request::get("/").header(COOKIE, format!("sse_ticket={text}")));
        assert_eq!(
            config.read(&request).unwrap(),
            None,
            "the default name is not read"
        );
        let request = parts(Request::get(format!("/?t={text}")));
        let rejection = config.read(&request).unwrap_err();
        assert!(matches!(
            &rejection,
            TicketRejection::Invalid {
                source: TicketSource::Query,
                error: TicketError::TooLong { max_len: 50, .. }
            }
        ));
        assert_eq!(rejection.status(), StatusCode::UNAUTHORIZED);
        assert!(std::error::Error::source(&rejection).is_some());
    }

    #[test]
    fn an_origin_bound_ticket_is_refused_from_another_origin() {
        let config = config();
        let text = config.keys().sign(
            &Claims::valid_for("h", Duration::from_secs(60)).issued_for("http://127.0.0.1:8888"),
        );
        let from = |origin: Option<&str>| {
            let mut builder = Request::post("/").header(AUTHORIZATION, format!("Bearer {text}"));
            if let Some(origin) = origin {
                builder = builder.header(ORIGIN, origin);
            }
            config.read(&parts(builder))
        };
        assert!(from(None).unwrap().is_some());
        assert!(from(Some("http://127.0.0.1:8888")).unwrap().is_some());
        let refused = from(Some("http://evil.example")).unwrap_err();
        assert!(matches!(refused, TicketRejection::WrongOrigin));
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    }

    #[test]
    fn topic_checks() {
        let config = config();
        let request =
            parts(Request::get("/").header(COOKIE, format!("sse_ticket={}", ticket(&config, "h"))));
        let ticket = config.read(&request).unwrap().unwrap();
        assert!(ticket.check_read(&["user:hertz"]).is_ok());
        let refused = ticket
            .check_read(&["user:hertz", "user:alice", "news"])
            .unwrap_err();
        assert!(
            matches!(&refused, TicketRejection::ReadNotGranted { topic } if topic == "user:alice")
        );
        assert_eq!(ticket.granted(["news", "user:hertz", "x"]), ["user:hertz"]);
        assert!(ticket.check_publish("news").is_ok());
        assert!(matches!(
            ticket.check_publish("user:hertz"),
            Err(TicketRejection::PublishNotGranted { topic }) if topic == "user:hertz"
        ));
    }

    #[tokio::test]
    async fn rejections_answer_with_a_plain_message() {
        let config = config();
        let expired = config
            .keys()
            .sign(&Claims::new("h", UNIX_EPOCH + Duration::from_secs(5)));
        let request = parts(Request::get("/").header(COOKIE, format!("sse_ticket={expired}")));
        let rejection = config.read(&request).unwrap_err();
        let renewing = config.read_at(&request, UNIX_EPOCH).unwrap().unwrap();
        assert_eq!(
            renewing.subject(),
            "h",
            "an expired ticket still proves who renews"
        );
        let response = rejection.into_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(response.headers()[WWW_AUTHENTICATE], "Bearer");
        let body = to_bytes(response.into_body(), 1024).await.unwrap();
        assert_eq!(
            &body[..],
            b"invalid ticket in the cookie: ticket has expired"
        );

        let response = TicketRejection::NotConfigured.into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = to_bytes(response.into_body(), 1024).await.unwrap();
        assert_eq!(&body[..], b"internal error");
    }

    #[tokio::test]
    async fn the_extractor_needs_its_config_and_tells_missing_from_bad() {
        let config = config();
        let mut bare = parts(Request::get("/"));
        let missing = <Ticket as FromRequestParts<()>>::from_request_parts(&mut bare, &()).await;
        assert!(matches!(missing, Err(TicketRejection::NotConfigured)));
        bare.extensions.insert(config.clone());
        let missing = <Ticket as FromRequestParts<()>>::from_request_parts(&mut bare, &()).await;
        assert!(matches!(missing, Err(TicketRejection::Missing)));
        let optional =
            <Ticket as OptionalFromRequestParts<()>>::from_request_parts(&mut bare, &()).await;
        assert!(matches!(optional, Ok(None)));
        let mut bad = parts(Request::get("/?ticket=AAAA.BBBB"));
        bad.extensions.insert(config);
        let optional =
            <Ticket as OptionalFromRequestParts<()>>::from_request_parts(&mut bad, &()).await;
        assert!(matches!(
            optional,
            Err(TicketRejection::Invalid {
                source: TicketSource::Query,
                ..
            })
        ));
    }

    #[test]
    fn cookies_are_built_with_their_attributes() {
        let config = config().cookie_name("t");
        assert_eq!(
            config.set_cookie("a.b", "/chat", true).unwrap(),
            "t=a.b; Path=/chat; HttpOnly; SameSite=Strict; Secure"
        );
        assert_eq!(
            config.clear_cookie("/chat").unwrap(),
            "t=; Path=/chat; HttpOnly; SameSite=Strict; Max-Age=0"
        );
        assert!(config.set_cookie("a\nb", "/", false).is_err());
    }
}
