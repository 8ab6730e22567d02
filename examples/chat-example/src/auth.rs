//! `--auth`: names become identities, through the stream tickets of `sse_axum::auth`.
//!
//! `POST /chat/login?username=NAME` checks the name with [`normalize_name`], signs a ticket
//! for it (reading `broadcast` and `user:NAME`, publishing to `broadcast` and every `user:`
//! topic, valid for [`AuthOptions::ttl`]) and hands it over in an `HttpOnly`,
//! `SameSite=Strict` cookie. From then on every route takes the user from the ticket:
//!
//! - `/chat/sse` subscribes the ticket's user (a `username` that names someone else is 403),
//!   and the stream ends cleanly when the ticket expires, with an `expired` event, so that the
//!   page signs in again and resumes with its last event id;
//! - `/chat/broadcast` and `/chat/direct` send as the ticket's user (a `from` that names
//!   someone else is 403), so direct messages reach only their addressee, who alone can read
//!   `user:NAME`;
//! - `/chat/generate` and `/chat/generation/{id}` start and read the ticket's user's own
//!   generations (see `generation.rs`);
//! - every POST whose `Origin` is not this server's own is 403 (a cross-site form cannot post;
//!   the `SameSite=Strict` cookie would not come with it either);
//! - no ticket, or a forged or expired one, is 401.
//!
//! A name is held while someone is connected with it: signing in as a connected name is 409,
//! unless the request carries a genuine ticket for that name (even an expired one: that is
//! the page renewing its own sign-in). There are no passwords, so this is a demo of the
//! ticket machinery, not of accounts: a real application signs tickets after its own login.

use std::collections::HashMap;
use std::time::{Duration, UNIX_EPOCH};

use axum::extract::{FromRequestParts, Query, State};
use axum::http::header::{ALLOW, HOST, ORIGIN, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use sse_axum::auth::{Claims, Ticket, TicketConfig, TicketKey, TicketKeys, TicketRejection};
use sse_axum::hub::Subscription;
use sse_axum::{Event, EventType};

use crate::{BROADCAST_TOPIC, Config, Params, Refusal, Shared, hub_error, user_topic};

/// The event a stream ends with when its ticket expires.
pub const EXPIRED: EventType = EventType::from_static("expired");

/// The cookie's path: every route that needs the ticket is under it.
const COOKIE_PATH: &str = "/chat";

/// How the chat signs users in with `--auth`; `None` in [`Config::auth`] keeps the open mode.
///
/// ```
/// use std::time::Duration;
/// use sse_axum::auth::{TicketKey, TicketKeys};
///
/// let keys = TicketKeys::new(TicketKey::new(b"a secret of at least thirty-two bytes")?);
/// let mut auth = chat_example::AuthOptions::new(keys);
/// auth.ttl = Duration::from_secs(60);
/// let mut config = chat_example::Config::default();
/// config.auth = Some(auth);
/// # Ok::<(), sse_axum::auth::KeyError>(())
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AuthOptions {
    /// The keys, and where tickets are read: the `sse_ticket` cookie (what the page uses),
    /// `Authorization: Bearer`, or the `ticket` query parameter.
    pub tickets: TicketConfig,
    /// How long a sign-in lasts (`--auth-ttl`); default 15 minutes.
    pub ttl: Duration,
    /// Marks the cookie `Secure` (the binary sets it when it serves HTTPS).
    pub secure_cookie: bool,
}

impl AuthOptions {
    /// The default sign-in lifetime.
    pub const DEFAULT_TTL: Duration = Duration::from_secs(15 * 60);

    /// Signing and checking tickets with `keys`.
    pub fn new(keys: TicketKeys) -> Self {
        Self {
            tickets: TicketConfig::new(keys),
            ttl: Self::DEFAULT_TTL,
            secure_cookie: false,
        }
    }

    /// Signing and checking tickets with a fresh random key, for a server whose tickets need
    /// not outlive it nor be accepted by another (`--auth` without `--auth-key`).
    ///
    /// # Errors
    ///
    /// When the operating system has no randomness to give.
    pub fn with_random_key() -> Result<Self, String> {
        Ok(Self::new(TicketKeys::new(random_key()?)))
    }
}

/// A fresh random key: its tickets are good for this process only.
fn random_key() -> Result<TicketKey, String> {
    let mut secret = [0_u8; TicketKey::MIN_LEN];
    getrandom::fill(&mut secret).map_err(|e| format!("no random ticket key: {e}"))?;
    TicketKey::new(secret).map_err(|e| e.to_string())
}

/// Who a request acts as: anyone (open mode), or the holder of a verified ticket (`--auth`).
pub(crate) enum Caller {
    Open,
    Signed(Ticket),
}

impl FromRequestParts<std::sync::Arc<crate::AppState>> for Caller {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &std::sync::Arc<crate::AppState>,
    ) -> Result<Self, Response> {
        let Some(auth) = &state.config.auth else {
            return Ok(Caller::Open);
        };
        if parts.method != Method::GET && parts.method != Method::HEAD {
            same_origin(parts).map_err(IntoResponse::into_response)?;
        }
        match auth.tickets.read(parts) {
            Ok(Some(ticket)) => Ok(Caller::Signed(ticket)),
            Ok(None) => Err(TicketRejection::Missing.into_response()),
            Err(rejection) => Err(rejection.into_response()),
        }
    }
}

impl Caller {
    /// The user named by parameter `name`: as given in open mode; with `--auth` the ticket's
    /// user, and the parameter may be left out but must not name anyone else.
    pub(crate) fn user(
        &self,
        params: &Params,
        name: &str,
        config: &Config,
    ) -> Result<String, Refusal> {
        let Caller::Signed(ticket) = self else {
            return params.user(name, config);
        };
        if params.0.contains_key(name) {
            let given = params.user(name, config)?;
            if given != ticket.subject() {
                return Err(Refusal(
                    StatusCode::FORBIDDEN,
                    format!(
                        "parameter {name} is {given}, but you are signed in as {}",
                        ticket.subject()
                    ),
                ));
            }
        }
        Ok(ticket.subject().to_owned())
    }

    /// The ticket's user; `None` in open mode.
    pub(crate) fn subject(&self) -> Option<&str> {
        match self {
            Caller::Open => None,
            Caller::Signed(ticket) => Some(ticket.subject()),
        }
    }

    /// Whether the caller may send to `topic` (always, in open mode).
    pub(crate) fn may_publish(&self, topic: &str) -> Result<(), Refusal> {
        match self {
            Caller::Open => Ok(()),
            Caller::Signed(ticket) => ticket
                .check_publish(topic)
                .map_err(|rejection| Refusal(rejection.status(), rejection.to_string())),
        }
    }

    /// The response for the caller's subscription: with a ticket, checked against it and
    /// ending when it expires.
    pub(crate) fn respond(self, subscription: Subscription) -> Response {
        let Caller::Signed(ticket) = self else {
            return subscription.into_response();
        };
        // The handler subscribed the ticket's own topics; checked again all the same.
        if let Err(rejection) = ticket.check_read(subscription.info().topics()) {
            return rejection.into_response();
        }
        ticket
            .until_expiry(subscription)
            .final_event(Event::new().event(EXPIRED).data("your sign-in has expired"))
            .into_response()
    }
}

/// Refuses a request whose `Origin` is another site's: it must name this server's own
/// scheme-less authority (the `Host` the request came to, which [`crate::AllowedHosts`] has
/// checked). A request without `Origin` is not from a browser's cross-site form or script
/// (browsers send it on every cross-origin request and every POST), so it passes.
fn same_origin(parts: &Parts) -> Result<(), Refusal> {
    let Some(origin) = parts.headers.get(ORIGIN) else {
        return Ok(());
    };
    let host = parts
        .uri
        .authority()
        .map(|authority| authority.as_str())
        .or_else(|| parts.headers.get(HOST).and_then(|h| h.to_str().ok()));
    let matches = origin.to_str().ok().and_then(|origin| {
        let (scheme, authority) = origin.split_once("://")?;
        let default_port = match scheme {
            "http" => ":80",
            "https" => ":443",
            _ => return None,
        };
        let host = host?;
        let bare = |text: &'_ str| {
            text.strip_suffix(default_port)
                .unwrap_or(text)
                .to_ascii_lowercase()
        };
        Some(bare(authority) == bare(host))
    });
    if matches == Some(true) {
        return Ok(());
    }
    Err(Refusal(
        StatusCode::FORBIDDEN,
        format!(
            "cross-site request refused: Origin {} is not this server",
            String::from_utf8_lossy(origin.as_bytes())
        ),
    ))
}

/// `POST /chat/login?username=NAME` (or a form body): 204 with the ticket cookie. 404 in
/// open mode, whatever the method.
pub(crate) async fn login(
    State(state): Shared,
    parts: Parts,
    body: Bytes,
) -> Result<Response, Refusal> {
    let Some(auth) = &state.config.auth else {
        return Err(Refusal(
            StatusCode::NOT_FOUND,
            "sign-in is off: the server runs without --auth".to_owned(),
        ));
    };
    if parts.method != Method::POST {
        let mut response = Refusal(
            StatusCode::METHOD_NOT_ALLOWED,
            "sign in with POST".to_owned(),
        )
        .into_response();
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("POST"));
        return Ok(response);
    }
    same_origin(&parts)?;
    let Query(query) = Query::<HashMap<String, String>>::try_from_uri(&parts.uri)
        .map_err(|_| crate::bad_request("the query string is not url-encoded"))?;
    let params = Params::new(query, &body)?;
    let name = params.user("username", &state.config)?;
    let topic = user_topic(&name);
    // The page renewing its own sign-in carries its (maybe expired) ticket for the name.
    let renewing = auth
        .tickets
        .read_at(&parts, UNIX_EPOCH)
        .ok()
        .flatten()
        .is_some_and(|ticket| ticket.subject() == name);
    if !renewing
        && state
            .hub
            .is_subscribed_anywhere(&topic)
            .await
            .map_err(hub_error)?
    {
        return Err(Refusal(
            StatusCode::CONFLICT,
            format!("the name {name} is taken: someone is connected with it"),
        ));
    }
    let mut claims = Claims::valid_for(name.as_str(), auth.ttl)
        .read(BROADCAST_TOPIC)
        .read(topic)
        .read_prefix(crate::generation::owner_prefix(&name))
        .publish(BROADCAST_TOPIC)
        .publish_prefix("user:");
    if let Some(origin) = parts.headers.get(ORIGIN).and_then(|o| o.to_str().ok()) {
        claims = claims.issued_for(origin);
    }
    let ticket = auth.tickets.keys().sign(&claims);
    let cookie = auth
        .tickets
        .set_cookie(&ticket, COOKIE_PATH, auth.secure_cookie)
        .map_err(|_| {
            tracing::error!("the ticket cookie is not a header value");
            Refusal(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal error".to_owned(),
            )
        })?;
    tracing::info!(user = %name, renewing, ttl = ?auth.ttl, "signed in");
    Ok((StatusCode::NO_CONTENT, [(SET_COOKIE, cookie)]).into_response())
}

#[cfg(test)]
mod tests {
    use axum::http::Request;

    use super::*;

    fn parts(origin: Option<&str>, host: &str) -> Parts {
        let mut builder = Request::post("/chat/broadcast").header(HOST, host);
        if let Some(origin) = origin {
            builder = builder.header(ORIGIN, origin);
        }
        builder.body(()).unwrap().into_parts().0
    }

    #[test]
    fn only_this_servers_origin_may_post() {
        let host = "127.0.0.1:8888";
        for origin in [
            None,
            Some("http://127.0.0.1:8888"),
            Some("HTTPS://127.0.0.1:8888"),
        ] {
            let origin = origin.map(|o| o.replace("HTTPS", "https"));
            assert!(
                same_origin(&parts(origin.as_deref(), host)).is_ok(),
                "{origin:?}"
            );
        }
        assert!(same_origin(&parts(Some("http://chat.example"), "chat.example:80")).is_ok());
        assert!(same_origin(&parts(Some("https://Chat.Example"), "chat.example")).is_ok());
        for origin in [
            "http://evil.example",
            "http://127.0.0.1:8889",
            "http://localhost:8888",
            "null",
            "ftp://127.0.0.1:8888",
            "http://127.0.0.1:8888.evil.example",
        ] {
            let refused = same_origin(&parts(Some(origin), host)).unwrap_err();
            assert_eq!(refused.0, StatusCode::FORBIDDEN, "{origin}");
        }
    }

    #[test]
    fn a_random_key_is_random() {
        let a = TicketKeys::new(random_key().unwrap());
        let b = TicketKeys::new(random_key().unwrap());
        let ticket = a.sign(&Claims::valid_for("x", Duration::from_secs(9)));
        assert!(a.verify(&ticket).is_ok());
        assert!(b.verify(&ticket).is_err());
    }
}
