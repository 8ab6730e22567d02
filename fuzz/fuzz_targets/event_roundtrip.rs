//! `sse_axum::Event` built from arbitrary strings either refuses a value with the right error
//! or encodes to bytes that `reqwest_sse_client::EventParser` reads back to the same fields.
#![no_main]

use std::time::Duration;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use sse_axum::{Event, EventError};
use reqwest_sse_client::{EventParser, Item};

#[derive(Debug, Arbitrary)]
struct Input {
    data: Option<String>,
    event_type: Option<String>,
    id: Option<String>,
    retry_millis: Option<u64>,
    comments: Vec<String>,
    cuts: Vec<u8>,
}

/// The data as a client sees it: CRLF, CR and LF each one line ending, joined with LF.
fn normalise(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\r', "\n")
}

fuzz_target!(|input: Input| {
    let mut event = Event::new();
    for comment in &input.comments {
        event = event.comment(comment);
    }
    if let Some(millis) = input.retry_millis {
        event = event.retry(Duration::from_millis(millis));
    }
    if let Some(data) = &input.data {
        event = event.data(data);
    }
    if let Some(event_type) = &input.event_type {
        match event.try_event(event_type) {
            Ok(next) => event = next,
            Err(EventError::LineBreakInEventType) => {
                assert!(event_type.contains(['\r', '\n']));
                return;
            }
            Err(other) => panic!("unexpected error for event type {event_type:?}: {other}"),
        }
    }
    if let Some(id) = &input.id {
        match event.try_id(id) {
            Ok(next) => event = next,
            Err(EventError::LineBreakInId) => {
                assert!(id.contains(['\r', '\n']));
                return;
            }
            Err(EventError::NulInId) => {
                assert!(id.contains('\0'));
                return;
            }
            Err(other) => panic!("unexpected error for id {id:?}: {other}"),
        }
    }

    let bytes = event.to_bytes();
    assert_eq!(bytes.len(), event.encoded_len());
    if event.is_empty() {
        assert!(bytes.is_empty());
        return;
    }
    assert!(bytes.ends_with(b"\n\n") || bytes == "\n", "{bytes:?}");

    let mut parser = EventParser::new();
    let mut items = Vec::new();
    for chunk in sse_fuzz::split(&bytes, &input.cuts) {
        parser.feed_with(chunk, |item| items.push(item.expect("no size error")));
    }
    parser.finish();

    let mut expected = Vec::new();
    if let Some(millis) = input.retry_millis {
        expected.push(Item::Retry(Duration::from_millis(millis)));
    }
    let id = input.id.clone().unwrap_or_default();
    if let Some(data) = &input.data {
        let event_type = input.event_type.as_deref().unwrap_or_default();
        let parsed = reqwest_sse_client::Event::new(normalise(data))
            .with_type(event_type)
            .with_last_event_id(&id);
        expected.push(Item::Event(parsed));
    }
    assert_eq!(items, expected, "bytes: {bytes:?}");
    assert_eq!(parser.last_event_id(), id);
});
