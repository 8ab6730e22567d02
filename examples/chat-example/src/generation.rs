//! A resumable generation, the pattern LLM applications rebuild by hand: `POST
//! /chat/generate?prompt=TEXT` starts a made-up answer that runs detached and publishes one
//! token at a time to its own topic (`gen:<id>`), then finishes it; `GET
//! /chat/generation/{id}` streams it from the start, or, after a reload, from the
//! `Last-Event-ID` on, on any instance sharing the hub. After the end a reconnect gets `204 No
//! Content`, which stops `EventSource`.
//!
//! With `--auth` both routes need a ticket and a generation belongs to whoever started it: its
//! topic is `gen:<owner>:<id>` (the owner's name hex-encoded, so that no name is a prefix of
//! another's), the ticket reads that prefix only, and the stream ends when the ticket expires,
//! like `/chat/sse`. Another user asking for the same id reads their own (empty) topic.

use std::hash::{BuildHasher as _, RandomState};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use serde::Deserialize;
use sse_axum::hub::{Hub, HubError, Subscribe, Subscription};
use sse_axum::{Event, EventType, LastEventId};

use super::auth::Caller;
use super::{AppState, Refusal};

/// The topic prefix of generations (kept an hour, see `hub_builder`).
pub const GENERATION_PREFIX: &str = "gen:";

const TOKEN: EventType = EventType::from_static("token");
const DONE: EventType = EventType::from_static("done");

/// The longest prompt accepted, in bytes.
const MAX_PROMPT: usize = 1024;

#[derive(Debug, Deserialize)]
pub(super) struct Prompt {
    prompt: Option<String>,
}

/// `POST /chat/generate?prompt=TEXT`: `202 Accepted` with `{"id": ..., "stream": ...}`.
pub(super) async fn start(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Query(Prompt { prompt }): Query<Prompt>,
) -> Result<impl axum::response::IntoResponse, Refusal> {
    let prompt = prompt.filter(|p| !p.trim().is_empty()).ok_or_else(|| {
        Refusal(
            StatusCode::BAD_REQUEST,
            "missing parameter prompt".to_owned(),
        )
    })?;
    if prompt.len() > MAX_PROMPT {
        return Err(Refusal(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("prompt is longer than {MAX_PROMPT} bytes"),
        ));
    }
    let id = format!("{:016x}", RandomState::new().hash_one(&prompt));
    let hub = state.hub.clone();
    let interval = state.config.token_interval;
    // Detached: the answer goes on whether or not anyone is reading it.
    tokio::spawn(generate(hub, topic(&caller, &id), prompt, interval));
    let stream = format!("/chat/generation/{id}");
    let body = serde_json::json!({ "id": id, "stream": stream }).to_string();
    Ok((
        StatusCode::ACCEPTED,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    ))
}

/// The made-up answer, one token per `interval`, then the end.
async fn generate(hub: Hub, topic: String, prompt: String, interval: Duration) {
    let answer = format!("You asked: {prompt}. Here is a made-up answer, one token at a time.");
    for word in answer.split_inclusive(' ') {
        tokio::time::sleep(interval).await;
        if let Err(error) = hub
            .publish(topic.as_str(), Event::new().event(TOKEN).data(word))
            .await
        {
            tracing::warn!(%error, topic, "generation stopped");
            return;
        }
    }
    let end = Event::new().event(DONE).data("[DONE]");
    if let Err(error) = hub.finish(topic.as_str(), end).await {
        tracing::warn!(%error, topic, "generation could not finish");
    }
}

/// `GET /chat/generation/{id}`: the tokens from the start or after the `Last-Event-ID`, then
/// the end; `204` once it is over.
pub(super) async fn stream(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    last_event_id: Option<LastEventId>,
) -> Result<axum::response::Response, GenerationError> {
    let valid = !id.is_empty() && id.len() <= 32 && id.bytes().all(|b| b.is_ascii_hexdigit());
    if !valid {
        return Err(GenerationError::BadId);
    }
    let request = Subscribe::new([topic(&caller, &id)])
        .with_history()
        .last_event_id(last_event_id);
    let subscription: Subscription = state.hub.subscribe(request).await?;
    Ok(caller.respond(subscription))
}

/// The topic of generation `id` started or read by `caller`.
fn topic(caller: &Caller, id: &str) -> String {
    match caller.subject() {
        None => format!("{GENERATION_PREFIX}{id}"),
        Some(owner) => format!("{}{id}", owner_prefix(owner)),
    }
}

/// The prefix of the topics of `owner`'s generations (with `--auth`), which their ticket reads.
pub(super) fn owner_prefix(owner: &str) -> String {
    use std::fmt::Write as _;
    let mut prefix = String::from(GENERATION_PREFIX);
    for byte in owner.bytes() {
        let _ = write!(prefix, "{byte:02x}");
    }
    prefix.push(':');
    prefix
}

/// Why a generation stream was refused.
#[derive(Debug)]
pub(super) enum GenerationError {
    BadId,
    Hub(HubError),
}

impl From<HubError> for GenerationError {
    fn from(error: HubError) -> Self {
        Self::Hub(error)
    }
}

impl axum::response::IntoResponse for GenerationError {
    fn into_response(self) -> axum::response::Response {
        match self {
            Self::BadId => (StatusCode::BAD_REQUEST, "invalid generation id").into_response(),
            // 400 for a bad Last-Event-ID, 204 after the end, 503 when the hub is unavailable.
            Self::Hub(error) => error.into_response(),
        }
    }
}
