//! The parsers side by side: each function parses `input` fed in chunks of `chunk` bytes and
//! returns what it found.

use std::convert::Infallible;
use std::num::NonZeroUsize;
use std::ops::Range;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use futures_util::Stream;
use reqwest_sse_client::{EventParser, Item, ParseError};

use crate::corpus::Summary;

/// The event size limit given to the parsers that have one (ours and `sse-core`): room for
/// the 8 MiB line.
pub const MAX_EVENT_SIZE: usize = 16 * 1024 * 1024;

/// `input` cut into `Bytes` chunks of `chunk` bytes (views of one copy), as hyper hands a
/// body out: made before the timing, like the slices the other parsers are given.
#[must_use]
pub fn bytes_chunks(input: &[u8], chunk: usize) -> Vec<Bytes> {
    let all = Bytes::copy_from_slice(input);
    (0..input.len())
        .step_by(chunk.max(1))
        .map(|start| all.slice(start..input.len().min(start + chunk)))
        .collect()
}

/// `reqwest_sse_client::EventParser` fed `Bytes` chunks with `next_item_shared`, as
/// `EventStream` and `Client` feed it what reqwest hands out: the usual one-line event (no
/// type, no ID) shares its chunk instead of copying its data.
#[must_use]
pub fn ours(chunks: &[Bytes]) -> Summary {
    let mut parser = EventParser::new().with_max_event_size(MAX_EVENT_SIZE);
    let mut summary = Summary::default();
    for chunk in chunks {
        let mut input = &chunk[..];
        while let Some(item) = parser.next_item_shared(chunk, &mut input) {
            add_ours(&mut summary, item);
        }
    }
    parser.finish();
    summary
}

/// `reqwest_sse_client::EventParser` fed borrowed slices with `next_item` (the sans-io way
/// for any byte source): every event copies its data.
#[must_use]
pub fn ours_slices(input: &[u8], chunk: usize) -> Summary {
    let mut parser = EventParser::new().with_max_event_size(MAX_EVENT_SIZE);
    let mut summary = Summary::default();
    for mut bytes in input.chunks(chunk) {
        while let Some(item) = parser.next_item(&mut bytes) {
            add_ours(&mut summary, item);
        }
    }
    parser.finish();
    summary
}

/// One item of our parser into the summary.
#[inline(always)]
fn add_ours(summary: &mut Summary, item: Result<Item, ParseError>) {
    match item {
        Ok(Item::Event(event)) => summary.event(event.data(), event.last_event_id()),
        Ok(Item::Retry(_)) => summary.retries += 1,
        // Neither happens on the corpora: the summary then differs and is flagged.
        Ok(_) | Err(_) => summary.retries += 1_000_000,
    }
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
/// (events, on corpora where every blank line ends an event; a line of just CR counts as
/// blank, for CRLF streams); nothing is decoded, so only the event count can be checked.
#[must_use]
pub fn memchr_lines(input: &[u8], chunk: usize) -> u64 {
    let mut events = 0;
    // The bytes of the current line so far (up to 2: only "empty" or "one CR" matter).
    let mut line_len = 0_usize;
    let mut line_cr = false;
    for bytes in input.chunks(chunk) {
        let mut start = 0;
        for end in memchr::memchr_iter(b'\n', bytes) {
            let len = line_len + (end - start);
            let blank = len == 0 || (len == 1 && (line_cr || bytes[start] == b'\r'));
            if blank {
                events += 1;
            }
            line_len = 0;
            line_cr = false;
            start = end + 1;
        }
        if start < bytes.len() {
            line_cr = line_len == 0 && bytes[start] == b'\r';
            line_len += bytes.len() - start;
        }
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

/// One event of [`EventRanges`]: which of its `lines` hold the event's data, and the ranges
/// of the input that hold its ID and its type.
type EventParts = (Range<usize>, Range<usize>, Range<usize>);

/// Splits `input` at LF with `memchr` as if it came in one chunk (a CR before the LF is cut
/// off) and calls `event` at each blank line with the parts of the event it ends, and `retry`
/// at each `retry: ` line. The fields are told apart by their exact prefix (`data: `, `id: `,
/// `event: `, `retry: `; comments match none), with no other rule of the format: enough for
/// the corpora, and the least a parser does.
fn split_events(
    input: &[u8],
    mut event: impl FnMut(&[Range<usize>], Range<usize>, Range<usize>),
    mut retry: impl FnMut(),
) {
    let mut data = Vec::new();
    let mut id = 0..0;
    let mut event_type = 0..0;
    let mut start = 0;
    for lf in memchr::memchr_iter(b'\n', input) {
        let end = if lf > start && input[lf - 1] == b'\r' {
            lf - 1
        } else {
            lf
        };
        let line = &input[start..end];
        if line.is_empty() {
            event(&data, id.clone(), std::mem::take(&mut event_type));
            data.clear();
        } else if line.starts_with(b"data: ") {
            data.push(start + 6..end);
        } else if line.starts_with(b"id: ") {
            id = start + 4..end;
        } else if line.starts_with(b"event: ") {
            event_type = start + 7..end;
        } else if line.starts_with(b"retry: ") {
            retry();
        }
        start = lf + 1;
    }
}

/// What every parser that hands out an event as one owned string does per event: one
/// allocation, the data lines (joined with LF), the ID and the type copied in, one UTF-8
/// check; the summary reads it and it is freed.
#[inline]
fn owned_event(
    summary: &mut Summary,
    input: &[u8],
    data: &[Range<usize>],
    id: Range<usize>,
    event_type: Range<usize>,
) {
    let data_len: usize = data.iter().map(|line| line.len() + 1).sum();
    let mut text = Vec::with_capacity(data_len + id.len() + event_type.len());
    for (i, line) in data.iter().enumerate() {
        if i > 0 {
            text.push(b'\n');
        }
        text.extend_from_slice(&input[line.clone()]);
    }
    let data_end = text.len();
    text.extend_from_slice(&input[id]);
    let id_end = text.len();
    text.extend_from_slice(&input[event_type]);
    if let Ok(text) = String::from_utf8(text) {
        summary.event(
            text.get(..data_end).unwrap_or_default(),
            text.get(data_end..id_end).unwrap_or_default(),
        );
    }
}

/// A parser with none of the format's rules, on the event corpora: the whole input (no chunk
/// boundaries) split at LF with `memchr`, the fields told apart by their exact prefix, and
/// each event handed out as in [`owned_output`]. Not a lower bound (a cleverer split is
/// faster); it shows what the rules and the chunking cost a real parser.
#[must_use]
pub fn minimal_parser(input: &[u8], _chunk: usize) -> Summary {
    let mut summary = Summary::default();
    let mut retries = 0;
    split_events(
        input,
        |data, id, event_type| owned_event(&mut summary, input, data, id, event_type),
        || retries += 1,
    );
    summary.retries = retries;
    summary
}

/// The events of a corpus found beforehand, for [`owned_output`].
///
/// ```
/// use sse_benches::{corpus, parse};
///
/// for corpus in [
///     corpus::token_events(20_000),
///     corpus::small_json_events(20_000),
///     corpus::crlf_mixed(20_000),
///     corpus::large_events(20_000),
/// ] {
///     let events = parse::EventRanges::of(&corpus.bytes);
///     assert_eq!(parse::owned_output(&events, &corpus.bytes), corpus.expected);
///     assert_eq!(parse::minimal_parser(&corpus.bytes, 1500), corpus.expected);
///     for chunk in [16 * 1024, 1500, 7] {
///         assert_eq!(parse::memchr_lines(&corpus.bytes, chunk), corpus.expected.events);
///     }
/// }
/// ```
#[derive(Debug, Clone, Default)]
pub struct EventRanges {
    /// The data lines' values of every event, one after the other (one allocation for all, so
    /// that reading them costs no more than a parser reading its input).
    lines: Vec<Range<usize>>,
    events: Vec<EventParts>,
    retries: u64,
}

impl EventRanges {
    /// The events of `input`, found as [`minimal_parser`] finds them.
    #[must_use]
    pub fn of(input: &[u8]) -> Self {
        let mut lines = Vec::new();
        let mut events = Vec::new();
        let mut retries = 0;
        split_events(
            input,
            |data, id, event_type| {
                let first = lines.len();
                lines.extend_from_slice(data);
                events.push((first..lines.len(), id, event_type));
            },
            || retries += 1,
        );
        Self {
            lines,
            events,
            retries,
        }
    }
}

/// The lower bound on output for a parser that hands out each event as one owned string:
/// with the events found beforehand (no scanning at all), for each event one allocation, the
/// data lines (joined with LF), the ID and the type copied in, one UTF-8 check; the summary
/// reads it and it is freed.
#[must_use]
pub fn owned_output(events: &EventRanges, input: &[u8]) -> Summary {
    let mut summary = Summary::default();
    for (data, id, event_type) in &events.events {
        let data = events.lines.get(data.clone()).unwrap_or_default();
        owned_event(&mut summary, input, data, id.clone(), event_type.clone());
    }
    summary.retries = events.retries;
    summary
}
