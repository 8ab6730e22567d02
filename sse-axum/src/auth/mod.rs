//! Stream tickets: who may read and publish which topics (feature `auth`).
//!
//! A ticket is a small signed text that says who its holder is ([`Claims::subject`]), which
//! topics they may read and publish (exact names or prefixes), until when, and optionally for
//! which web origin it was issued. Your login code signs one with [`TicketKeys::sign`] and
//! hands it to the client; the [`Ticket`] extractor verifies it on every request, from a
//! cookie, an `Authorization: Bearer` header or a query parameter (an `EventSource` cannot send
//! headers: browsers use the cookie, or the query parameter across origins).
//!
//! ```
//! use std::time::Duration;
//!
//! use axum::{Extension, Router, extract::State, routing::get};
//! use sse_axum::LastEventId;
//! use sse_axum::auth::{AccessError, Claims, ExpiringSubscription, Ticket, TicketConfig, TicketKey, TicketKeys};
//! use sse_axum::hub::Hub;
//!
//! // The stream of the ticket's holder: their own topic and the news, nothing else. It ends
//! // cleanly when the ticket expires; the client comes back with a fresh one and resumes.
//! async fn events(
//!     State(hub): State<Hub>,
//!     ticket: Ticket,
//!     last_event_id: Option<LastEventId>,
//! ) -> Result<ExpiringSubscription, AccessError> {
//!     let topics = ["news".to_owned(), format!("user:{}", ticket.subject())];
//!     ticket.subscribe(&hub, topics, last_event_id).await
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // At least 32 random bytes, kept secret (from a secret store, not from source code).
//! let keys = TicketKeys::new(TicketKey::new(b"an example key of at least 32 bytes!")?);
//! let config = TicketConfig::new(keys.clone());
//! let app: Router = Router::new()
//!     .route("/events", get(events))
//!     .layer(Extension(config))
//!     .with_state(Hub::new());
//!
//! // What the login route hands out, e.g. in a cookie (see `TicketConfig::set_cookie`).
//! let claims = Claims::valid_for("alice", Duration::from_secs(900))
//!     .read("news")
//!     .read("user:alice");
//! let ticket = keys.sign(&claims);
//! assert_eq!(keys.verify(&ticket)?.subject(), "alice");
//! # drop(app); Ok(()) }
//! ```
//!
//! # The ticket
//!
//! `PAYLOAD.TAG`, both unpadded base64url: the payload is a compact binary encoding of the
//! [`Claims`] (about 60 bytes for a subject and two topics), the tag its HMAC-SHA256 under
//! one of the [`TicketKeys`], compared in constant time. No JWT library, no JSON: nothing is
//! parsed before the tag matches, so a forged ticket costs one HMAC per key. The text needs
//! no escaping in a cookie, a header or a URL.
//!
//! Keys rotate without logging anyone out: sign with the new key and keep accepting the old
//! one ([`TicketKeys::also_accept`]) until the longest ticket lifetime has passed.
//!
//! # What is checked where
//!
//! | check | where | answer |
//! | --- | --- | --- |
//! | no ticket | [`Ticket`] extractor | 401 |
//! | too long, malformed, bad signature, expired | [`Ticket`] extractor | 401 |
//! | issued for another origin than the request's `Origin` | [`Ticket`] extractor | 403 |
//! | a topic to read that the claims do not grant | [`Ticket::subscribe`], [`Ticket::check_read`] | 403 |
//! | a topic to publish to that the claims do not grant | [`Ticket::publish`], [`Ticket::check_publish`] | 403 |
//!
//! Every refusal is a [`TicketRejection`] answered with a plain-text message (and
//! `WWW-Authenticate: Bearer` on 401); nothing a client sends can make it panic.
//!
//! # Topics: all requested ones must be granted
//!
//! [`Ticket::subscribe`] refuses the whole subscription with 403 when any requested topic is
//! outside the claims, naming that topic: a client that asks for a topic it may not read has a
//! bug or is probing, and silently leaving the topic out would hide both. A handler that wants
//! the intersection instead passes [`Ticket::granted`]'s result on (an empty intersection is
//! still a 403).
//!
//! # Ending at expiry
//!
//! A subscription made through a ticket is an [`ExpiringSubscription`]: it ends cleanly
//! (after an optional final event, see [`ExpiringSubscription::final_event`]) at the moment the
//! ticket expires, whatever it is doing. A browser's `EventSource` then reconnects by itself;
//! with an expired ticket that gets 401 and the page signs in again, then resumes with its
//! last event id, missing nothing the hub's history still holds.

mod claims;
mod expiring;
mod extract;
mod keys;

pub use claims::{Claims, Topics};
pub use expiring::{AccessError, ExpiringSubscription};
pub use extract::{
    TICKET_COOKIE, TICKET_QUERY, Ticket, TicketConfig, TicketRejection, TicketSource,
};
pub use keys::{KeyError, MalformedTicket, TicketError, TicketKey, TicketKeys};
