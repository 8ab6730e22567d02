//! [`EventParser`]: the sans-io `text/event-stream` parser, the one place that reads the wire
//! format.
//!
//! It follows the WHATWG HTML algorithm "interpreting an event stream" to the letter:
//!
//! - the bytes are UTF-8, invalid sequences become U+FFFD (one per maximal invalid subpart),
//!   also when a character is split across chunks; decoding never fails and never stalls;
//! - exactly one leading byte-order mark is stripped, also when it is split across chunks;
//! - lines end with CRLF, LF or CR; a CR at the end of one chunk and an LF at the start of the
//!   next are one line ending, and a line ended by CR is processed at once;
//! - `data`, `event`, `id` (ignored when it contains U+0000) and `retry` (only ASCII digits)
//!   fields, comments, a blank line dispatching the event; the last event ID is updated at
//!   every blank line, so an id-only block still takes effect;
//! - at end of stream ([`EventParser::finish`]) an unfinished event is discarded.
//!
//! # Design
//!
//! The caller owns the bytes; the parser keeps only what a chunk boundary cuts: the unfinished
//! line, the event buffers, a flag for a CR that ended the previous chunk and the byte-order
//! mark state. [`EventParser::next_item`] takes a `&mut &[u8]`, scans it with `memchr2` for the
//! next line ending, processes complete lines straight from the caller's slice (a line is
//! copied only when a chunk boundary cuts it), advances the slice and returns as soon as an
//! [`Item`] is ready: there is no queue, and the caller keeps the rest of its chunk. Work is
//! linear in the input whatever the line length: each byte is scanned once and copied at most
//! twice (into the unfinished line, then into the event).
//!
//! Other choices made for speed: the usual field names are matched without searching for the
//! colon; data lines are gathered as bytes and validated as UTF-8 once per event (the lossy
//! path only runs on invalid input); the data buffer is allocated at the previous event's size;
//! repeated event types share one allocation; short ids are stored inline in the [`Event`].
//!
//! Memory is bounded by the maximum event size (16 MiB by default): an event whose data, or a
//! line that, grows past it yields [`ParseError::EventTooLarge`] once; the event is discarded
//! and parsing resumes after the next blank line.
//!
//! # Retry values
//!
//! A `retry` value is reported as [`Item::Retry`] when its line is processed (so before the
//! event its block belongs to, and even if that event is later discarded). Values that do not
//! fit in a `u64` of milliseconds are ignored.

use std::borrow::Cow;
use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use memchr::{memchr, memchr2};

use crate::Event;
use crate::event::EventId;

/// The default maximum size of one event (and of one line): 16 MiB.
pub const DEFAULT_MAX_EVENT_SIZE: usize = 16 * 1024 * 1024;

/// The UTF-8 byte-order mark.
const BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];

/// The largest data buffer allocated up front from the previous event's size.
const DATA_HINT_MAX: usize = 64 * 1024;

/// The start of a `data` line whose value can go straight into the data buffer.
const DATA_PREFIX: &[u8] = b"data:";

/// Above this capacity the unfinished-line buffer is released after use rather than kept.
const KEEP_LINE_CAPACITY: usize = 64 * 1024;

/// What the parser yields.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Item {
    /// An event was dispatched by a blank line.
    Event(Event),
    /// A valid `retry` field set the reconnection time.
    Retry(Duration),
}

/// An error from [`EventParser`].
///
/// Parsing itself never fails: the only error is a resource limit. After it the parser has
/// dropped the offending event and goes on with the next one.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseError {
    /// An event (its data so far, or one line) grew past the configured maximum size.
    EventTooLarge {
        /// The maximum event size in bytes.
        limit: usize,
    },
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::EventTooLarge { limit } => {
                write!(f, "event exceeds the maximum size of {limit} bytes")
            }
        }
    }
}

impl StdError for ParseError {}

/// A sans-io `text/event-stream` parser: feed it byte chunks of any size, take out events and
/// retry changes.
///
/// See the [module documentation](self) for the rules it follows and how it is built.
///
/// # Pull: [`next_item`](Self::next_item)
///
/// ```
/// use sse_client::{EventParser, Item};
///
/// let mut parser = EventParser::new();
/// let mut events = Vec::new();
/// for chunk in [&b"id: 1\ndata: hel"[..], b"lo\n\nretry: 500\r", b"\ndata: x\n"] {
///     let mut input = chunk;
///     while let Some(item) = parser.next_item(&mut input) {
///         match item {
///             Ok(Item::Event(event)) => events.push(event),
///             Ok(Item::Retry(delay)) => assert_eq!(delay.as_millis(), 500),
///             Ok(_) => {}
///             Err(error) => panic!("{error}"),
///         }
///     }
/// }
/// parser.finish(); // end of stream: the unfinished "x" event is discarded
/// assert_eq!(events.len(), 1);
/// assert_eq!(events[0].data(), "hello");
/// assert_eq!(events[0].last_event_id(), "1");
/// ```
///
/// # Push: [`feed_with`](Self::feed_with)
///
/// ```
/// use sse_client::{EventParser, Item};
///
/// let mut parser = EventParser::new();
/// let mut data = Vec::new();
/// parser.feed_with(b"data: a\n\ndata: b\n\n", |item| {
///     if let Ok(Item::Event(event)) = item {
///         data.push(event.into_data());
///     }
/// });
/// assert_eq!(data, ["a", "b"]);
/// ```
#[derive(Clone)]
pub struct EventParser {
    max_event_size: usize,
    /// The unfinished line (bytes after the last line ending of the previous chunks).
    line: Vec<u8>,
    /// How many bytes of the byte-order mark have been seen at the start of the stream.
    bom_matched: u8,
    /// Whether the start of the stream (a byte-order mark or not) has been dealt with.
    bom_done: bool,
    /// The previous chunk ended with CR: an LF starting the next one belongs to it.
    after_cr: bool,
    /// An event went over the size limit: lines are dropped until the next blank line.
    skipping: bool,
    /// While skipping: the current line has bytes (so its end is not a blank line).
    skip_line_nonempty: bool,
    /// The current (unfinished) line is a `data` line whose value goes straight into `data`
    /// instead of `line`: a long line is copied once, not twice.
    data_line_open: bool,
    /// The data buffer, raw bytes of the lines joined with LF (without the trailing LF of the
    /// spec); decoded once, at dispatch.
    data: Vec<u8>,
    /// Whether at least one `data` field was seen (the spec's "data buffer is not empty").
    has_data: bool,
    /// The size of the last dispatched data, to size the next data buffer.
    data_hint: usize,
    /// The event type buffer; `None` is the empty string.
    event_type: Option<Arc<str>>,
    /// The last event type seen, reused so that repeated types share one allocation.
    type_cache: Option<Arc<str>>,
    /// The last event ID buffer.
    id_buffer: EventId,
    /// The last event ID string.
    last_event_id: EventId,
}

impl Default for EventParser {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for EventParser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventParser")
            .field("max_event_size", &self.max_event_size)
            .field("last_event_id", &self.last_event_id())
            .field("buffered_line_len", &self.line.len())
            .field("buffered_data_len", &self.data.len())
            .finish_non_exhaustive()
    }
}

impl EventParser {
    /// A parser with the default maximum event size ([`DEFAULT_MAX_EVENT_SIZE`]).
    #[must_use]
    pub fn new() -> Self {
        Self {
            max_event_size: DEFAULT_MAX_EVENT_SIZE,
            line: Vec::new(),
            bom_matched: 0,
            bom_done: false,
            after_cr: false,
            skipping: false,
            skip_line_nonempty: false,
            data_line_open: false,
            data: Vec::new(),
            has_data: false,
            data_hint: 0,
            event_type: None,
            type_cache: None,
            id_buffer: EventId::EMPTY,
            last_event_id: EventId::EMPTY,
        }
    }

    /// Sets the maximum size in bytes of one event's data and of one line.
    ///
    /// ```
    /// use sse_client::{EventParser, ParseError};
    ///
    /// let mut parser = EventParser::new().with_max_event_size(4);
    /// let mut input = &b"data: too long\n\n"[..];
    /// assert_eq!(
    ///     parser.next_item(&mut input),
    ///     Some(Err(ParseError::EventTooLarge { limit: 4 }))
    /// );
    /// ```
    #[must_use]
    pub fn with_max_event_size(mut self, max_event_size: usize) -> Self {
        self.max_event_size = max_event_size;
        self
    }

    /// The maximum size in bytes of one event's data and of one line.
    #[must_use]
    pub fn max_event_size(&self) -> usize {
        self.max_event_size
    }

    /// The stream's last event ID string (`""` when none is set).
    #[must_use]
    pub fn last_event_id(&self) -> &str {
        self.last_event_id.as_str()
    }

    /// Sets the last event ID, e.g. to resume from an ID saved earlier.
    ///
    /// Events dispatched before the server sends an `id` field carry this ID.
    pub fn set_last_event_id(&mut self, id: &str) {
        self.last_event_id = EventId::new(id);
        self.id_buffer.clone_from(&self.last_event_id);
    }

    /// Feeds one chunk and calls `f` with every item it completes.
    pub fn feed_with<F>(&mut self, chunk: &[u8], mut f: F)
    where
        F: FnMut(Result<Item, ParseError>),
    {
        let mut input = chunk;
        while let Some(item) = self.next_item(&mut input) {
            f(item);
        }
    }

    /// Signals the end of the stream: an unfinished line and an unfinished event are discarded.
    ///
    /// The parser is then ready for a new stream (a reconnection): the buffers and the
    /// byte-order mark state are reset; the last event ID is kept, and the next stream's
    /// events carry it until the server sends another `id` field.
    pub fn finish(&mut self) {
        self.release_line();
        self.bom_matched = 0;
        self.bom_done = false;
        self.after_cr = false;
        self.skipping = false;
        self.skip_line_nonempty = false;
        self.data_line_open = false;
        self.data.clear();
        self.has_data = false;
        self.event_type = None;
        self.id_buffer.clone_from(&self.last_event_id);
    }

    /// Parses from `input` up to the next item and returns it, advancing `input` past the
    /// bytes used; returns `None` once all of `input` is consumed (the rest of an unfinished
    /// line is kept for the next chunk).
    ///
    /// Call it in a loop until it returns `None`, then give it the next chunk. Bytes left in
    /// `input` after an item are not buffered: pass them again.
    pub fn next_item(&mut self, input: &mut &[u8]) -> Option<Result<Item, ParseError>> {
        if !self.bom_done {
            self.skip_bom(input);
        }
        if self.after_cr {
            let (&first, rest) = input.split_first()?;
            self.after_cr = false;
            if first == b'\n' {
                *input = rest;
            }
        }
        let mut chunk: &[u8] = input;
        loop {
            let Some(end) = find_line_ending(chunk) else {
                *input = &[];
                return self.buffer_partial(chunk).map(Err);
            };
            let mut next = end + 1;
            if chunk[end] == b'\r' {
                match chunk.get(next) {
                    Some(b'\n') => next += 1,
                    Some(_) => {}
                    // The LF that may follow belongs to this line ending.
                    None => self.after_cr = true,
                }
            }
            let line = &chunk[..end];
            chunk = &chunk[next..];
            if let Some(item) = self.complete_line(line) {
                *input = chunk;
                return Some(item);
            }
        }
    }

    /// At the start of the stream: strips a byte-order mark, even one split across chunks.
    fn skip_bom(&mut self, input: &mut &[u8]) {
        while let Some((&byte, rest)) = input.split_first() {
            if byte != BOM[usize::from(self.bom_matched)] {
                // Not a byte-order mark: the bytes matched so far start the first line (they
                // are not line endings, and decode to U+FFFD later).
                self.bom_done = true;
                let matched = usize::from(self.bom_matched);
                self.line.extend_from_slice(&BOM[..matched]);
                return;
            }
            *input = rest;
            self.bom_matched += 1;
            if usize::from(self.bom_matched) == BOM.len() {
                self.bom_done = true;
                return;
            }
        }
    }

    /// Keeps the bytes of an unfinished line.
    fn buffer_partial(&mut self, bytes: &[u8]) -> Option<ParseError> {
        if self.skipping {
            self.skip_line_nonempty |= !bytes.is_empty();
            return None;
        }
        if self.data_line_open {
            return self.extend_data(bytes).err();
        }
        if self.line.len() + bytes.len() > self.max_event_size {
            let error = self.overflow();
            self.skip_line_nonempty = true;
            return Some(error);
        }
        self.line.extend_from_slice(bytes);
        // A `data` line cut by the chunk boundary: once its value has started, the value goes
        // straight into the data buffer.
        if self.line.len() > DATA_PREFIX.len() && self.line.starts_with(DATA_PREFIX) {
            let mut line = std::mem::take(&mut self.line);
            let value = strip(&line[DATA_PREFIX.len()..]);
            let result = self.start_data_line(value);
            line.clear();
            if line.capacity() <= KEEP_LINE_CAPACITY {
                self.line = line;
            }
            if let Err(error) = result {
                self.skip_line_nonempty = true;
                return Some(error);
            }
            self.data_line_open = true;
        }
        None
    }

    /// Appends to the value of an open `data` line.
    fn extend_data(&mut self, bytes: &[u8]) -> Result<(), ParseError> {
        if self.data.len() + bytes.len() > self.max_event_size {
            let error = self.overflow();
            self.skip_line_nonempty = true;
            return Err(error);
        }
        self.data.extend_from_slice(bytes);
        Ok(())
    }

    /// Starts the value of a `data` line (the spec's "append the value, then LF").
    fn start_data_line(&mut self, value: &[u8]) -> Result<(), ParseError> {
        let added = value.len() + usize::from(self.has_data);
        if self.data.len() + added > self.max_event_size {
            return Err(self.overflow());
        }
        if self.has_data {
            self.data.push(b'\n');
            self.data.extend_from_slice(value);
        } else {
            self.has_data = true;
            if self.data.capacity() == 0 {
                // Events of a stream tend to have similar sizes: one allocation of the
                // previous event's size saves the regrowth of multi-line data.
                let hint = self.data_hint.min(DATA_HINT_MAX);
                self.data = Vec::with_capacity(value.len().max(hint));
            }
            self.data.extend_from_slice(value);
        }
        Ok(())
    }

    /// A line ending was found; `tail` is the part of the line in the current chunk.
    fn complete_line(&mut self, tail: &[u8]) -> Option<Result<Item, ParseError>> {
        if self.skipping {
            let blank = tail.is_empty() && !self.skip_line_nonempty;
            self.skip_line_nonempty = false;
            if blank {
                // The blank line that ends the discarded event.
                self.skipping = false;
                self.last_event_id.clone_from(&self.id_buffer);
            }
            return None;
        }
        if self.data_line_open {
            self.data_line_open = false;
            if self.data.len() + tail.len() > self.max_event_size {
                return Some(Err(self.overflow()));
            }
            self.data.extend_from_slice(tail);
            return None;
        }
        if self.line.is_empty() {
            return self.process_line(tail);
        }
        if self.line.len() + tail.len() > self.max_event_size {
            return Some(Err(self.overflow()));
        }
        let mut line = std::mem::take(&mut self.line);
        line.extend_from_slice(tail);
        let item = self.process_line(&line);
        line.clear();
        if line.capacity() <= KEEP_LINE_CAPACITY {
            self.line = line;
        }
        item
    }

    /// Drops the current event and skips to the next blank line.
    fn overflow(&mut self) -> ParseError {
        self.release_line();
        self.data = Vec::new();
        self.has_data = false;
        self.event_type = None;
        self.skipping = true;
        self.skip_line_nonempty = false;
        self.data_line_open = false;
        ParseError::EventTooLarge {
            limit: self.max_event_size,
        }
    }

    fn release_line(&mut self) {
        self.line.clear();
        if self.line.capacity() > KEEP_LINE_CAPACITY {
            self.line = Vec::new();
        }
    }

    /// Processes one complete line (without its line ending).
    fn process_line(&mut self, line: &[u8]) -> Option<Result<Item, ParseError>> {
        if line.is_empty() {
            return self.dispatch().map(Ok);
        }
        let (field, value) = split_field(line)?;
        match field {
            Field::Data => {
                if let Err(error) = self.start_data_line(value) {
                    return Some(Err(error));
                }
            }
            Field::Event => {
                self.event_type = if value.is_empty() {
                    None
                } else {
                    match &self.type_cache {
                        Some(cached) if cached.as_bytes() == value => Some(Arc::clone(cached)),
                        _ => {
                            let new: Arc<str> = Arc::from(decode(value));
                            self.type_cache = Some(Arc::clone(&new));
                            Some(new)
                        }
                    }
                };
            }
            // An id containing U+0000 is ignored.
            Field::Id if !value.contains(&0) => {
                self.id_buffer = EventId::from_bytes(value);
            }
            Field::Retry => {
                if let Some(millis) = parse_retry(value) {
                    return Some(Ok(Item::Retry(Duration::from_millis(millis))));
                }
            }
            _ => {}
        }
        None
    }

    /// A blank line: update the last event ID and dispatch the event, if it has data.
    fn dispatch(&mut self) -> Option<Item> {
        self.last_event_id.clone_from(&self.id_buffer);
        let event_type = self.event_type.take();
        if !self.has_data {
            return None;
        }
        self.has_data = false;
        // One UTF-8 validation for the whole data, not one per line: line endings are ASCII,
        // so replacing invalid sequences line by line or all at once gives the same text.
        self.data_hint = self.data.len();
        let data = match String::from_utf8(std::mem::take(&mut self.data)) {
            Ok(data) => data,
            Err(error) => String::from_utf8_lossy(error.as_bytes()).into_owned(),
        };
        Some(Item::Event(Event {
            event_type,
            data,
            last_event_id: self.last_event_id.clone(),
        }))
    }
}

/// ASCII digits only, not empty, fitting in a `u64`.
fn parse_retry(value: &[u8]) -> Option<u64> {
    if value.is_empty() {
        return None;
    }
    value.iter().try_fold(0_u64, |acc, &b| {
        if b.is_ascii_digit() {
            acc.checked_mul(10)?.checked_add(u64::from(b - b'0'))
        } else {
            None
        }
    })
}

/// Splits a non-empty line into field name and value (one leading space removed); `None` for
/// a comment. The usual field names are recognised without searching for the colon.
fn split_field(line: &[u8]) -> Option<(Field, &[u8])> {
    // Fast paths for `data:`, `id:`, `event:`, `retry:`.
    match line {
        [b'd', b'a', b't', b'a', b':', value @ ..] => return Some((Field::Data, strip(value))),
        [b'i', b'd', b':', value @ ..] => return Some((Field::Id, strip(value))),
        [b'e', b'v', b'e', b'n', b't', b':', value @ ..] => {
            return Some((Field::Event, strip(value)));
        }
        [b'r', b'e', b't', b'r', b'y', b':', value @ ..] => {
            return Some((Field::Retry, strip(value)));
        }
        [b':', ..] => return None, // comment
        _ => {}
    }
    let (name, value) = match memchr(b':', line) {
        Some(colon) => (&line[..colon], strip(&line[colon + 1..])),
        None => (line, &b""[..]),
    };
    let field = match name {
        b"data" => Field::Data,
        b"id" => Field::Id,
        b"event" => Field::Event,
        b"retry" => Field::Retry,
        _ => Field::Other,
    };
    Some((field, value))
}

/// The first CR or LF. `memchr2` for the general case; a plain loop for the few bytes that
/// tiny chunks bring, where the call and setup of `memchr2` cost more than the scan.
#[inline]
fn find_line_ending(bytes: &[u8]) -> Option<usize> {
    if bytes.len() < 16 {
        bytes.iter().position(|&b| b == b'\n' || b == b'\r')
    } else {
        memchr2(b'\n', b'\r', bytes)
    }
}

/// Removes the one optional space after the colon.
fn strip(value: &[u8]) -> &[u8] {
    value.strip_prefix(b" ").unwrap_or(value)
}

/// The field names the parser knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Data,
    Event,
    Id,
    Retry,
    Other,
}

fn decode(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(chunks: &[&[u8]]) -> Vec<Result<Item, ParseError>> {
        let mut parser = EventParser::new();
        let mut out = Vec::new();
        for chunk in chunks {
            parser.feed_with(chunk, |item| out.push(item));
        }
        parser.finish();
        out
    }

    fn event(data: &str) -> Result<Item, ParseError> {
        Ok(Item::Event(Event::new(data)))
    }

    #[test]
    fn cr_at_chunk_end_is_dispatched_at_once() {
        let mut parser = EventParser::new();
        let mut out = Vec::new();
        parser.feed_with(b"data: a\r\r", |item| out.push(item));
        assert_eq!(out, [event("a")]);
        // The LF after it is swallowed as the second half of a CRLF.
        parser.feed_with(b"\ndata: b\n\n", |item| out.push(item));
        assert_eq!(out, [event("a"), event("b")]);
    }

    #[test]
    fn retry_overflowing_u64_is_ignored() {
        let out = parse_all(&[b"retry: 99999999999999999999\nretry: 18446744073709551615\n"]);
        assert_eq!(
            out,
            [Ok(Item::Retry(Duration::from_millis(u64::MAX)))],
            "only the value that fits is reported"
        );
    }

    #[test]
    fn event_type_allocation_is_shared() {
        let out = parse_all(&[b"event: t\ndata: 1\n\nevent: t\ndata: 2\n\n"]);
        let [Ok(Item::Event(a)), Ok(Item::Event(b))] = &out[..] else {
            panic!("{out:?}");
        };
        assert_eq!(a.event_type(), "t");
        let (Some(ta), Some(tb)) = (&a.event_type, &b.event_type) else {
            panic!("types not set");
        };
        assert!(Arc::ptr_eq(ta, tb));
    }

    #[test]
    fn oversized_line_errors_once_then_resumes() {
        let mut parser = EventParser::new().with_max_event_size(8);
        let mut out = Vec::new();
        for chunk in [
            &b"data: 0123"[..],
            b"456789",
            b"abc\nid: 5\n",
            b"\ndata: ok\n\n",
        ] {
            parser.feed_with(chunk, |item| out.push(item));
        }
        assert_eq!(
            out,
            [Err(ParseError::EventTooLarge { limit: 8 }), event("ok"),]
        );
        assert_eq!(parser.last_event_id(), "");
    }

    #[test]
    fn data_lines_cut_by_chunks_go_straight_to_the_data() {
        let mut parser = EventParser::new().with_max_event_size(20);
        let mut out = Vec::new();
        for chunk in [
            &b"data: abcdef"[..],
            b"ghij",
            b"\ndata:x",
            b"y\n\n",
            b"data: 0123456789",
            b"0123456789",
            b"x\n\ndata: ok\n\n",
        ] {
            parser.feed_with(chunk, |item| out.push(item));
        }
        assert_eq!(
            out,
            [
                event("abcdefghij\nxy"),
                Err(ParseError::EventTooLarge { limit: 20 }),
                event("ok")
            ]
        );
    }

    #[test]
    fn oversized_data_buffer_errors() {
        let mut parser = EventParser::new().with_max_event_size(10);
        let mut out = Vec::new();
        parser.feed_with(
            b"data: 12345\ndata: 6789\ndata: x\n\nid: 2\ndata: y\n\n",
            |item| {
                out.push(item);
            },
        );
        let y = Event::new("y").with_last_event_id("2");
        assert_eq!(
            out,
            [
                Err(ParseError::EventTooLarge { limit: 10 }),
                Ok(Item::Event(y))
            ]
        );
    }

    #[test]
    fn finish_keeps_the_last_event_id_for_the_next_stream() {
        let mut parser = EventParser::new();
        let mut out = Vec::new();
        parser.feed_with(b"id: 3\ndata: a\n\nid: 4\ndata: b\n", |item| out.push(item));
        parser.finish();
        assert_eq!(parser.last_event_id(), "3");
        parser.feed_with(b"\xEF\xBB\xBFdata: c\n\n", |item| out.push(item));
        assert_eq!(
            out,
            [
                Ok(Item::Event(Event::new("a").with_last_event_id("3"))),
                Ok(Item::Event(Event::new("c").with_last_event_id("3"))),
            ]
        );
    }

    #[test]
    fn set_last_event_id_is_carried() {
        let mut parser = EventParser::new();
        parser.set_last_event_id("41");
        let mut out = Vec::new();
        parser.feed_with(b"data: a\n\n", |item| out.push(item));
        assert_eq!(
            out,
            [Ok(Item::Event(Event::new("a").with_last_event_id("41")))]
        );
    }
}
