//! The parsers side by side: each function parses `input` fed in chunks of `chunk` bytes and
//! returns what it found.

use std::convert::Infallible;
use std::num::NonZeroUsize;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use futures_util::Stream;
use sse_client::{EventParser, Item};

use crate::corpus::Summary;

/// The event size limit given to the parsers that have one (ours and `sse-core`): room for
/// the 8 MiB line.
pub const MAX_EVENT_SIZE: usize = 16 * 1024 * 1024;

/// `sse_client::EventParser`, pulling items with `next_item`.
#[must_use]
pub fn ours(input: &[u8], chunk: usize) -> Summary {
    let mut parser = EventParser::new().with_max_event_size(MAX_EVENT_SIZE);
    let mut summary = Summary::default();
    for mut bytes in input.chunks(chunk) {
        while let Some(item) = parser.next_item(&mut bytes) {
            match item {
                Ok(Item::Event(event)) => summary.event(event.data(), event.last_event_id()),
                Ok(Item::Retry(_)) => summary.retries += 1,
                // Neither happens on the corpora: the summary then differs and is flagged.
                Ok(_) | Err(_) => summary.retries += 1_000_000,
            }
        }
    }
    parser.finish();
    summary
}

/// `sse_core::SseDecoder` (the parser inside `sse-reqwest-client`).
#[must_use]
pub fn sse_core(input: &[u8], chunk: usize) -> Summary {
    let limit = NonZeroUsize::new(MAX_EVENT_SIZE).unwrap_or(NonZeroUsize::MIN);
    let mut decoder = sse_core::SseDecoder::with_limit(limit);
    let mut summary = Summary::default();
    for mut bytes in input.chunks(chunk) {
        while let Some(item) = decoder.next(&mut bytes) {
            match item {
                Ok(sse_core::SseEvent::Message(message)) => summary.event(
                    &message.data,
                    message.last_event_id.as_deref().unwrap_or(""),
                ),
                Ok(sse_core::SseEvent::Retry(_)) => summary.retries += 1,
                Err(_) => summary.retries += 1_000_000,
            }
        }
    }
    summary
}

/// `eventsource_stream::EventStream` over a stream of the chunks, polled without a runtime
/// (the chunks are always ready).
#[must_use]
pub fn eventsource_stream(input: &[u8], chunk: usize) -> Summary {
    let chunks = futures_util::stream::iter(input.chunks(chunk).map(Ok::<_, Infallible>));
    let mut events = pin!(eventsource_stream::EventStream::new(chunks));
    let mut cx = Context::from_waker(Waker::noop());
    let mut summary = Summary::default();
    loop {
        match events.as_mut().poll_next(&mut cx) {
            Poll::Ready(Some(Ok(event))) => {
                summary.event(&event.data, &event.id);
                if event.retry.is_some() {
                    summary.retries += 1;
                }
            }
            Poll::Ready(Some(Err(_))) | Poll::Pending => {
                summary.retries += 1_000_000;
                break;
            }
            Poll::Ready(None) => break,
        }
    }
    summary
}

/// The lower bound nobody can beat: find every LF with `memchr` and count the blank lines
/// (events, on corpora without comments and with LF line endings); nothing is decoded, so
/// only the event count can be checked.
#[must_use]
pub fn memchr_lines(input: &[u8], chunk: usize) -> u64 {
    let mut events = 0;
    // Whether the current line has bytes so far.
    let mut line_open = false;
    for bytes in input.chunks(chunk) {
        let mut start = 0;
        for end in memchr::memchr_iter(b'\n', bytes) {
            if end == start && !line_open {
                events += 1;
            }
            line_open = false;
            start = end + 1;
        }
        line_open |= start < bytes.len();
    }
    events
}

/// The floor for a parser that hands out an event's data as one `String`, on the long-line
/// corpus: lines found with `memchr2`, the `data` value copied into one buffer (a cut line
/// straight into it, as the real parsers do) and checked as UTF-8 at the blank line, the `id`
/// kept. Nothing else of the format is handled (one `data` line per event, LF endings, no
/// limits): it measures what copying and checking the bytes costs, which every parser that
/// returns a contiguous string pays.
#[must_use]
pub fn copy_floor(input: &[u8], chunk: usize) -> Summary {
    const DATA: &[u8] = b"data: ";
    let mut summary = Summary::default();
    let mut line = Vec::new();
    let mut data = Vec::new();
    let mut id = String::new();
    // The line so far is a data line whose value goes into `data`.
    let mut in_data = false;
    for bytes in input.chunks(chunk) {
        let mut rest = bytes;
        loop {
            let end = memchr::memchr2(b'\n', b'\r', rest);
            let piece = &rest[..end.unwrap_or(rest.len())];
            if in_data {
                data.extend_from_slice(piece);
            } else {
                line.extend_from_slice(piece);
                if line.len() > DATA.len() && line.starts_with(DATA) {
                    data.extend_from_slice(&line[DATA.len()..]);
                    line.clear();
                    in_data = true;
                }
            }
            let Some(end) = end else { break };
            rest = &rest[end + 1..];
            if in_data {
                in_data = false;
            } else if line.is_empty() {
                if let Ok(text) = String::from_utf8(std::mem::take(&mut data)) {
                    summary.event(&text, &id);
                }
            } else {
                if let Some(value) = line.strip_prefix(b"id: ") {
                    id = String::from_utf8_lossy(value).into_owned();
                }
                line.clear();
            }
        }
    }
    summary
}
