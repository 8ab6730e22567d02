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
//!   fields, comments (skipped, or yielded as [`Item::Comment`] by a parser
//!   [`with_comments`](EventParser::with_comments)), a blank line dispatching the event; the last event ID is updated at
//!   every blank line, so an id-only block still takes effect;
//! - at end of stream ([`EventParser::finish`]) an unfinished event is discarded.
//!
//! # Design
//!
//! The caller owns the bytes; the parser keeps only what a chunk boundary cuts: the unfinished
//! line, the event buffers, a flag for a CR that ended the previous chunk and the byte-order
//! mark state. [`EventParser::next_item`] takes a `&mut &[u8]`, finds the next line ending,
//! processes complete lines straight from the caller's slice (a line is copied only when a
//! chunk boundary cuts it), advances the slice and returns as soon as an [`Item`] is ready:
//! there is no queue, and the caller keeps the rest of its chunk. Work is linear in the input
//! whatever the line length: each byte is scanned once and copied at most twice (into the
//! unfinished line, then into the event).
//!
//! Other choices made for speed (measured with `compare` in `benches/`):
//! - line endings are found (in the `scan` submodule) 32 bytes at a time with plain code the
//!   compiler vectorises, a word at a time inside the block that holds one, and with
//!   `memchr2` past the first few blocks of a long line: most lines are short, where
//!   `memchr2`'s setup costs more than the scan;
//! - `data: ` lines take a path of their own, straight from the value to the data buffer, and
//!   the usual field names are matched without searching for the colon;
//! - an event is one string: data, ID and type side by side in one allocation (the data
//!   buffer, allocated at the previous event's size with room for the rest), checked as UTF-8
//!   once at dispatch; the lossy path only runs on invalid input;
//! - fed [`Bytes`] chunks ([`EventParser::next_item_shared`]), an event of one data line read
//!   whole from the chunk, with no type and no ID (the shape of most LLM streams), is a view
//!   of the chunk: one reference count instead of an allocation and a copy;
//! - a tiny chunk (up to 16 bytes) with no byte below 0x0E, so no line ending, is appended to
//!   the line under way (straight into the data buffer for a data line) without entering the
//!   line machinery: at 7-byte chunks most calls end there.
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

use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use bytestring::ByteString;
use memchr::memchr;

use crate::Event;

mod scan;

use scan::{TINY, find_line_ending, has_control_byte};

/// The default maximum size of one event (and of one line): 16 MiB.
pub const DEFAULT_MAX_EVENT_SIZE: usize = 16 * 1024 * 1024;

/// The UTF-8 byte-order mark.
const BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];

/// Spare capacity above which a dispatched event's buffer is shrunk, when the spare part is
/// also larger than the event: a small event after a large one is not handed out with the
/// large one's capacity.
const SHRINK_SLACK: usize = 4096;

/// Blocks (32 bytes) of a line searched for its end before `memchr2` takes over: lines in
/// general are often short (ids, types, the blank line), data lines often longer (JSON).
const SHORT_LINE_BLOCKS: usize = 1;
const DATA_LINE_BLOCKS: usize = 4;

/// Room left in a new data buffer for a short event ID and type, which join the data in the
/// event (see [`EventParser::dispatch`]).
const ID_ROOM: usize = 32;

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
    /// A comment line (`: keep-alive`): its text after the colon, without the one optional
    /// space (like a field value), invalid UTF-8 replaced with U+FFFD. Only from a parser
    /// [`with_comments`](EventParser::with_comments); by default comments are skipped.
    Comment(String),
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
/// use reqwest_sse_client::{EventParser, Item};
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
/// use reqwest_sse_client::{EventParser, Item};
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
    /// Whether the start of the stream (a byte-order mark or not) has been dealt with.
    start: StreamStart,
    /// Whether the previous chunk ended with CR.
    carry: Carry,
    /// Whether an event went over the size limit and is being skipped.
    skip: Skip,
    /// Where the bytes of the unfinished line go.
    partial: Partial,
    /// The data buffer, raw bytes of the lines joined with LF (without the trailing LF of the
    /// spec); decoded once, at dispatch.
    data: Vec<u8>,
    /// The data when it is one line read whole from a [`Bytes`] chunk: a view of the chunk,
    /// checked as UTF-8, instead of a copy in `data` (see [`Source`]).
    data_span: Option<ByteString>,
    /// The last [`Bytes`] chunk an event shared, checked as UTF-8.
    chunk_text: Option<ChunkText>,
    /// Whether a `data` field was seen (the spec's "data buffer is not empty").
    data_field: DataField,
    /// The size of the last dispatched data, to size the next data buffer.
    data_hint: usize,
    /// The event type buffer, raw bytes (empty: `message`); decoded with the data.
    event_type: Vec<u8>,
    /// The last event ID buffer, when an `id` field changed it since the last blank line: its
    /// raw bytes, decoded at the blank line (with the data when there is an event).
    id_buffer: Vec<u8>,
    /// Whether `id_buffer` holds a new ID.
    new_id: NewId,
    /// The last event ID string.
    last_event_id: String,
    /// Whether comment lines are yielded as [`Item::Comment`].
    comments: Comments,
}

/// The start of the stream, where one byte-order mark is stripped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StreamStart {
    /// This many bytes of the byte-order mark were seen (the chunks so far held nothing else).
    Bom(u8),
    /// The byte-order mark, or the first byte that is not one, was dealt with.
    Done,
}

/// What the previous chunk left for the next one to complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Carry {
    Nothing,
    /// It ended with CR: an LF starting the next chunk belongs to that line ending.
    Cr,
}

/// Whether lines are being dropped after an event went over the size limit (until the next
/// blank line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Skip {
    Off,
    /// Skipping, and the current line has no bytes yet: its end is a blank line.
    AtLineStart,
    /// Skipping, and the current line has bytes: its end is not a blank line.
    InLine,
}

/// Where the bytes of the unfinished line go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Partial {
    /// Into `line`, to be processed when the line is complete.
    Line,
    /// It is a `data` line: its value goes straight into `data` (a long line is copied once,
    /// not twice).
    Data,
}

/// Whether a `data` field was seen since the last blank line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DataField {
    Absent,
    Present,
}

/// Whether an `id` field changed the last event ID buffer since the last blank line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NewId {
    /// The buffer equals the last event ID.
    Absent,
    /// `id_buffer` holds the new ID, applied at the next blank line.
    Pending,
}

/// What the parser does with comment lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Comments {
    Skip,
    Yield,
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
            start: StreamStart::Bom(0),
            carry: Carry::Nothing,
            skip: Skip::Off,
            partial: Partial::Line,
            data: Vec::new(),
            data_span: None,
            chunk_text: None,
            data_field: DataField::Absent,
            data_hint: 0,
            event_type: Vec::new(),
            id_buffer: Vec::new(),
            new_id: NewId::Absent,
            last_event_id: String::new(),
            comments: Comments::Skip,
        }
    }

    /// Whether comment lines (`: keep-alive`) are yielded as [`Item::Comment`] (default:
    /// skipped, as the WHATWG algorithm does).
    ///
    /// ```
    /// use reqwest_sse_client::{EventParser, Item};
    ///
    /// let mut parser = EventParser::new().with_comments(true);
    /// let mut input = &b": keep-alive\n:\n"[..];
    /// assert_eq!(
    ///     parser.next_item(&mut input),
    ///     Some(Ok(Item::Comment("keep-alive".to_owned())))
    /// );
    /// assert_eq!(parser.next_item(&mut input), Some(Ok(Item::Comment(String::new()))));
    /// ```
    #[must_use]
    pub fn with_comments(mut self, comments: bool) -> Self {
        self.comments = if comments {
            Comments::Yield
        } else {
            Comments::Skip
        };
        self
    }

    /// Sets the maximum size in bytes of one event's data and of one line.
    ///
    /// ```
    /// use reqwest_sse_client::{EventParser, ParseError};
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
        id.clone_into(&mut self.last_event_id);
        self.new_id = NewId::Absent;
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
        self.start = StreamStart::Bom(0);
        self.carry = Carry::Nothing;
        self.skip = Skip::Off;
        self.partial = Partial::Line;
        self.data.clear();
        self.data_span = None;
        self.chunk_text = None;
        self.data_field = DataField::Absent;
        self.event_type.clear();
        self.new_id = NewId::Absent;
    }

    /// Parses from `input` up to the next item and returns it, advancing `input` past the
    /// bytes used; returns `None` once all of `input` is consumed (the rest of an unfinished
    /// line is kept for the next chunk).
    ///
    /// Call it in a loop until it returns `None`, then give it the next chunk. Bytes left in
    /// `input` after an item are not buffered: pass them again.
    ///
    /// Events from this method own their data (see [`Event`]); with chunks that are
    /// [`Bytes`], [`next_item_shared`](Self::next_item_shared) saves the copy.
    #[inline]
    pub fn next_item(&mut self, input: &mut &[u8]) -> Option<Result<Item, ParseError>> {
        self.next_item_in(input, Copied)
    }

    /// [`next_item`](Self::next_item) for `input` that lies in a [`Bytes`] chunk (as
    /// `reqwest` and `hyper` hand them out): the usual one-line event (no type, no ID) shares
    /// `chunk` instead of copying its data (see [`Event`]). [`EventStream`](crate::EventStream)
    /// and `Client` parse this way. Input that is not part of `chunk` is parsed all the same,
    /// with copies.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use reqwest_sse_client::{EventParser, Item};
    ///
    /// let mut parser = EventParser::new();
    /// let chunk = Bytes::from_static(b"data: one\n\ndata: two\n");
    /// let mut input = &chunk[..];
    /// let Some(Ok(Item::Event(event))) = parser.next_item_shared(&chunk, &mut input) else {
    ///     panic!("an event expected");
    /// };
    /// assert_eq!(event.data(), "one");
    /// assert_eq!(input, b"data: two\n"); // the rest, for the next call
    /// assert_eq!(parser.next_item_shared(&chunk, &mut input), None);
    /// assert!(input.is_empty());
    /// ```
    #[inline]
    pub fn next_item_shared(
        &mut self,
        chunk: &Bytes,
        input: &mut &[u8],
    ) -> Option<Result<Item, ParseError>> {
        let item = self.next_item_in(input, Shared(chunk));
        if item.is_none() {
            // The input is used up: the parser keeps no hold on the chunk (its events may).
            self.chunk_text = None;
        }
        item
    }

    /// The parser, reading from `input`, which is all or part of `source`.
    #[inline(always)]
    fn next_item_in<S: Source>(
        &mut self,
        input: &mut &[u8],
        source: S,
    ) -> Option<Result<Item, ParseError>> {
        // Tiny chunks mostly fall inside a line: no line ending, append, done. This path stays
        // small so that it can be inlined into the caller's loop.
        if input.len() <= TINY && !has_control_byte(input) {
            if self.partial == Partial::Data {
                if self.data.len() + input.len() <= self.max_event_size {
                    extend_small(&mut self.data, std::mem::take(input));
                    return None;
                }
            } else if !self.line.is_empty()
                || self.start == StreamStart::Done && self.carry == Carry::Nothing
            {
                // A line under way, or a new one with nothing pending before it: unless it
                // may turn into a data line (see `buffer_partial`), it grows in `line`.
                if self.skip == Skip::Off
                    && self.line.first().or(input.first()) != Some(&b'd')
                    && self.line.len() + input.len() <= self.max_event_size
                {
                    extend_small(&mut self.line, std::mem::take(input));
                    return None;
                }
            } else {
                return self.next_item_lines(input, source);
            }
            return self.buffer_partial_cold(std::mem::take(input)).map(Err);
        }
        self.next_item_lines(input, source)
    }

    /// [`next_item`](Self::next_item) when there is a line ending to deal with.
    #[inline(never)]
    fn next_item_lines<S: Source>(
        &mut self,
        input: &mut &[u8],
        source: S,
    ) -> Option<Result<Item, ParseError>> {
        if let StreamStart::Bom(matched) = self.start {
            self.skip_bom(input, matched);
        }
        if self.carry == Carry::Cr {
            let (&first, rest) = input.split_first()?;
            self.carry = Carry::Nothing;
            if first == b'\n' {
                *input = rest;
            }
        }
        let mut chunk: &[u8] = input;
        // A line cut by the previous chunk, or an event being skipped: line by line, through
        // the buffers.
        while self.skip != Skip::Off || self.partial == Partial::Data || !self.line.is_empty() {
            let Some((line, rest)) = self.split_line(chunk) else {
                *input = &[];
                return self.buffer_partial(chunk).map(Err);
            };
            chunk = rest;
            if let Some(item) = self.complete_line(line, source) {
                *input = chunk;
                return Some(item);
            }
        }
        // At the start of a line: complete lines are processed straight from `chunk`.
        loop {
            // The lines that make up most of a stream first: data lines go from the value
            // straight to the line ending and into the data buffer (a `data:` line without the
            // space takes the general path below).
            if let Some(value_and_rest) = chunk.strip_prefix(b"data: ")
                && let Some((value, rest)) = self.split_line_in::<DATA_LINE_BLOCKS>(value_and_rest)
            {
                chunk = rest;
                if let Err(error) = self.start_data_line(value, source) {
                    *input = chunk;
                    return Some(Err(error));
                }
                continue;
            }
            let Some((line, rest)) = self.split_line(chunk) else {
                *input = &[];
                return self.buffer_partial(chunk).map(Err);
            };
            chunk = rest;
            if let Some(item) = self.process_line(line, source) {
                *input = chunk;
                return Some(item);
            }
        }
    }

    /// Splits `chunk` at its first line ending: the line without its ending, and the rest.
    /// `None` if `chunk` has no line ending.
    #[inline(always)]
    fn split_line<'a>(&mut self, chunk: &'a [u8]) -> Option<(&'a [u8], &'a [u8])> {
        self.split_line_in::<SHORT_LINE_BLOCKS>(chunk)
    }

    /// [`split_line`](Self::split_line), searching `BLOCKS` blocks before `memchr2`.
    #[inline(always)]
    fn split_line_in<'a, const BLOCKS: usize>(
        &mut self,
        chunk: &'a [u8],
    ) -> Option<(&'a [u8], &'a [u8])> {
        let end = find_line_ending::<BLOCKS>(chunk)?;
        let (line, ending) = chunk.split_at(end);
        let rest = match ending {
            [b'\r', b'\n', rest @ ..] => rest,
            // The LF that may follow belongs to this line ending.
            [b'\r'] => {
                self.carry = Carry::Cr;
                &[]
            }
            [_, rest @ ..] => rest,
            [] => &[],
        };
        Some((line, rest))
    }

    /// At the start of the stream, `matched` bytes of a byte-order mark seen so far: strips
    /// a byte-order mark, even one split across chunks.
    fn skip_bom(&mut self, input: &mut &[u8], mut matched: u8) {
        while let Some((&byte, rest)) = input.split_first() {
            let Some(&expected) = BOM.get(usize::from(matched)) else {
                self.start = StreamStart::Done;
                return;
            };
            if byte != expected {
                // Not a byte-order mark: the bytes matched so far start the first line (they
                // are not line endings, and decode to U+FFFD later).
                self.start = StreamStart::Done;
                self.line.extend_from_slice(&BOM[..usize::from(matched)]);
                return;
            }
            *input = rest;
            matched += 1;
            if usize::from(matched) == BOM.len() {
                self.start = StreamStart::Done;
                return;
            }
        }
        self.start = StreamStart::Bom(matched);
    }

    /// [`buffer_partial`](Self::buffer_partial) out of line, for the tiny-chunk path.
    #[inline(never)]
    fn buffer_partial_cold(&mut self, bytes: &[u8]) -> Option<ParseError> {
        self.buffer_partial(bytes)
    }

    /// Keeps the bytes of an unfinished line.
    #[inline(always)]
    fn buffer_partial(&mut self, bytes: &[u8]) -> Option<ParseError> {
        if self.skip != Skip::Off {
            if !bytes.is_empty() {
                self.skip = Skip::InLine;
            }
            return None;
        }
        if self.partial == Partial::Data {
            return self.extend_data(bytes).err();
        }
        if self.line.len() + bytes.len() > self.max_event_size {
            let error = self.overflow();
            self.skip = Skip::InLine;
            return Some(error);
        }
        extend_small(&mut self.line, bytes);
        // A `data` line cut by the chunk boundary: once its value has started, the value goes
        // straight into the data buffer.
        if self.line.len() > DATA_PREFIX.len() && self.line.starts_with(DATA_PREFIX) {
            let mut line = std::mem::take(&mut self.line);
            let value = strip(&line[DATA_PREFIX.len()..]);
            let result = self.start_data_line(value, Copied);
            line.clear();
            if line.capacity() <= KEEP_LINE_CAPACITY {
                self.line = line;
            }
            if let Err(error) = result {
                self.skip = Skip::InLine;
                return Some(error);
            }
            self.partial = Partial::Data;
        }
        None
    }

    /// Appends to the value of an open `data` line.
    fn extend_data(&mut self, bytes: &[u8]) -> Result<(), ParseError> {
        if self.data.len() + bytes.len() > self.max_event_size {
            let error = self.overflow();
            self.skip = Skip::InLine;
            return Err(error);
        }
        extend_small(&mut self.data, bytes);
        Ok(())
    }

    /// Starts the value of a `data` line (the spec's "append the value, then LF").
    #[inline(always)]
    fn start_data_line<S: Source>(&mut self, value: &[u8], source: S) -> Result<(), ParseError> {
        let has_data = self.data_field == DataField::Present;
        if has_data && let Some(first) = self.data_span.take() {
            self.unshare_data(&first);
        }
        let added = value.len() + usize::from(has_data);
        if self.data.len() + added > self.max_event_size {
            return Err(self.overflow());
        }
        if has_data {
            self.data.push(b'\n');
            self.data.extend_from_slice(value);
        } else {
            self.data_field = DataField::Present;
            if S::SHARES
                && self.plain_so_far()
                && let Some(shared) = source.share(&mut self.chunk_text, value)
            {
                self.data_span = Some(shared);
                return Ok(());
            }
            self.start_data_buffer(value.len());
            self.data.extend_from_slice(value);
        }
        Ok(())
    }

    /// Allocates the data buffer for an event whose first line is `first_len` bytes, unless
    /// it has room already.
    #[inline(always)]
    fn start_data_buffer(&mut self, first_len: usize) {
        if self.data.capacity() == 0 {
            // Events of a stream tend to have similar sizes: one allocation of the previous
            // event's size saves the regrowth (and copies) of multi-line data and of long
            // lines cut by chunks; a smaller event gives back the rest at dispatch. (With
            // room for the ID and the type, which join the data there.)
            self.data = Vec::with_capacity(first_len.max(self.data_hint) + ID_ROOM);
        }
    }

    /// A second data line: the first one, shared so far, is copied into the data buffer.
    #[inline(never)]
    fn unshare_data(&mut self, first: &str) {
        self.start_data_buffer(first.len());
        self.data.extend_from_slice(first.as_bytes());
    }

    /// A line ending was found; `tail` is the part of the line in the current chunk.
    fn complete_line<S: Source>(
        &mut self,
        tail: &[u8],
        source: S,
    ) -> Option<Result<Item, ParseError>> {
        if self.skip != Skip::Off {
            if tail.is_empty() && self.skip == Skip::AtLineStart {
                // The blank line that ends the discarded event.
                self.skip = Skip::Off;
                self.apply_id();
            } else {
                self.skip = Skip::AtLineStart;
            }
            return None;
        }
        if self.partial == Partial::Data {
            self.partial = Partial::Line;
            if self.data.len() + tail.len() > self.max_event_size {
                return Some(Err(self.overflow()));
            }
            extend_small(&mut self.data, tail);
            return None;
        }
        if self.line.is_empty() {
            return self.process_line(tail, source);
        }
        if self.line.len() + tail.len() > self.max_event_size {
            return Some(Err(self.overflow()));
        }
        let mut line = std::mem::take(&mut self.line);
        extend_small(&mut line, tail);
        let item = self.process_line(&line, Copied);
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
        self.data_span = None;
        self.data_field = DataField::Absent;
        self.event_type.clear();
        self.skip = Skip::AtLineStart;
        self.partial = Partial::Line;
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
    #[inline(always)]
    fn process_line<S: Source>(
        &mut self,
        line: &[u8],
        source: S,
    ) -> Option<Result<Item, ParseError>> {
        if line.is_empty() {
            return self.dispatch().map(Ok);
        }
        let Some((field, value)) = split_field(line) else {
            return self.comment(line);
        };
        match field {
            Field::Data => {
                if let Err(error) = self.start_data_line(value, source) {
                    return Some(Err(error));
                }
            }
            Field::Event => {
                self.event_type.clear();
                extend_small(&mut self.event_type, value);
            }
            // An id containing U+0000 is ignored.
            Field::Id if !value.contains(&0) => {
                self.id_buffer.clear();
                extend_small(&mut self.id_buffer, value);
                self.new_id = NewId::Pending;
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

    /// A comment line (starting with a colon): an item only when comments are asked for.
    #[inline(never)]
    fn comment(&self, line: &[u8]) -> Option<Result<Item, ParseError>> {
        if self.comments == Comments::Skip {
            return None;
        }
        let text = strip(line.get(1..).unwrap_or_default());
        Some(Ok(Item::Comment(
            String::from_utf8_lossy(text).into_owned(),
        )))
    }

    /// A blank line: update the last event ID and dispatch the event, if it has data.
    fn dispatch(&mut self) -> Option<Item> {
        if self.data_field == DataField::Absent {
            self.apply_id();
            self.event_type.clear();
            return None;
        }
        self.data_field = DataField::Absent;
        if let Some(data) = self.data_span.take() {
            if self.plain_so_far() {
                self.data_hint = data.len();
                self.apply_id();
                return Some(Item::Event(Event::shared(data)));
            }
            // An `id` or `event` line after the data: the parts go together after all.
            self.unshare_data(&data);
        }
        self.data_hint = self.data.len();
        // The event is one string: data, ID, type. One allocation (the data buffer, sized with
        // room for the rest), one UTF-8 check for all three. Line endings are ASCII, so
        // checking the data lines together, or with the ID and type, finds exactly the errors
        // that checking each line on its own would.
        let mut text = std::mem::take(&mut self.data);
        let data_end = text.len();
        let id = if self.new_id == NewId::Pending {
            &self.id_buffer
        } else {
            self.last_event_id.as_bytes()
        };
        extend_small(&mut text, id);
        let id_end = text.len();
        extend_small(&mut text, &self.event_type);
        self.event_type.clear();
        if text.capacity() - text.len() > text.len() + SHRINK_SLACK {
            text.shrink_to_fit();
        }
        let event = match String::from_utf8(text) {
            Ok(text) if text.is_char_boundary(data_end) && text.is_char_boundary(id_end) => {
                Event::from_parts(text, data_end, id_end)
            }
            // Invalid UTF-8, or valid only across the seam between two parts: each part on
            // its own, with U+FFFD replacements.
            result => {
                let bytes = match result {
                    Ok(text) => text.into_bytes(),
                    Err(error) => error.into_bytes(),
                };
                let (data, rest) = bytes.split_at(data_end);
                let (id, event_type) = rest.split_at(id_end - data_end);
                Event::new(String::from_utf8_lossy(data))
                    .with_last_event_id(&String::from_utf8_lossy(id))
                    .with_type(&String::from_utf8_lossy(event_type))
            }
        };
        if self.new_id == NewId::Pending {
            self.new_id = NewId::Absent;
            event.last_event_id().clone_into(&mut self.last_event_id);
        }
        Some(Item::Event(event))
    }

    /// Whether the event so far has neither a type nor a last event ID: its data alone is the
    /// event, and can be a view of its chunk ([`Event`]'s shared layout).
    #[inline(always)]
    fn plain_so_far(&self) -> bool {
        let id = match self.new_id {
            NewId::Pending => &self.id_buffer[..],
            NewId::Absent => self.last_event_id.as_bytes(),
        };
        id.is_empty() && self.event_type.is_empty()
    }

    /// The spec's "set the last event ID string to the last event ID buffer".
    #[inline(always)]
    fn apply_id(&mut self) {
        if self.new_id == NewId::Pending {
            self.take_new_id();
        }
    }

    #[inline(never)]
    fn take_new_id(&mut self) {
        self.new_id = NewId::Absent;
        // Into the string's own capacity: the usual ID needs no allocation.
        (*String::from_utf8_lossy(&self.id_buffer)).clone_into(&mut self.last_event_id);
    }
}

/// Where the parser reads from: a borrowed slice, whose parts are copied into events, or a
/// [`Bytes`] chunk, whose parts events can share (one reference count, no copy).
trait Source: Copy {
    /// Whether [`share`](Self::share) can ever give something.
    const SHARES: bool;

    /// `part` (a subslice of the input) as a shared string, if this source can share it and
    /// it is valid UTF-8; `text` is the parser's [`ChunkText`].
    fn share(self, text: &mut Option<ChunkText>, part: &[u8]) -> Option<ByteString>;
}

/// A borrowed slice: events copy what they keep.
#[derive(Clone, Copy)]
struct Copied;

impl Source for Copied {
    const SHARES: bool = false;

    #[inline(always)]
    fn share(self, _text: &mut Option<ChunkText>, _part: &[u8]) -> Option<ByteString> {
        None
    }
}

/// A [`Bytes`] chunk: events share it.
#[derive(Clone, Copy)]
struct Shared<'a>(&'a Bytes);

impl Source for Shared<'_> {
    const SHARES: bool = true;

    #[inline(always)]
    fn share(self, text: &mut Option<ChunkText>, part: &[u8]) -> Option<ByteString> {
        let chunk = self.0;
        // A part from the parser's own buffers (a line cut by a chunk boundary) lies outside
        // the chunk, and is not shared.
        let start = (part.as_ptr() as usize).checked_sub(chunk.as_ptr() as usize)?;
        let end = start.checked_add(part.len())?;
        if end > chunk.len() {
            return None;
        }
        let origin = (chunk.as_ptr() as usize, chunk.len());
        let text = match text {
            Some(text) if text.origin == origin => text,
            _ => text.insert(ChunkText::of(chunk, origin)),
        };
        // `None` past the valid prefix: that part is copied, and decoded with replacements.
        let part = text.text.get(start..end)?;
        Some(text.text.slice_ref(part))
    }
}

/// The chunk events share, checked as UTF-8 once (its valid prefix): checking each event's
/// data on its own costs more (a short string's check ends byte by byte), and a part of a
/// checked string needs no check.
#[derive(Clone)]
struct ChunkText {
    text: ByteString,
    /// Where the chunk is (address, length): while `text` holds it, its bytes cannot change
    /// and no other chunk can be there. (An empty `text`, a chunk with no valid prefix, holds
    /// nothing; a later chunk at the same place then finds it and copies its events, which is
    /// correct, only slower.)
    origin: (usize, usize),
}

impl ChunkText {
    #[inline(never)]
    fn of(chunk: &Bytes, origin: (usize, usize)) -> Self {
        let text = ByteString::try_from(chunk.clone()).unwrap_or_else(|_| {
            // A character cut by the chunk's end, or invalid bytes: the part before them.
            let valid =
                std::str::from_utf8(chunk).map_or_else(|error| error.valid_up_to(), str::len);
            ByteString::try_from(chunk.slice(..valid)).unwrap_or_default()
        });
        Self { text, origin }
    }
}

/// `buffer.extend_from_slice(bytes)`, with the few bytes of a tiny chunk, an ID or a type
/// copied by fixed-size moves: a call to `memcpy` costs more than such a copy.
#[inline(always)]
fn extend_small(buffer: &mut Vec<u8>, bytes: &[u8]) {
    macro_rules! fixed {
        ($($n:literal)*) => {
            match bytes.len() {
                $($n => {
                    if let Some(bytes) = bytes.first_chunk::<$n>() {
                        buffer.extend_from_slice(bytes);
                    }
                })*
                _ => buffer.extend_from_slice(bytes),
            }
        };
    }
    fixed!(1 2 3 4 5 6 7 8);
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
#[inline(always)]
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
    fn data_and_id_are_decoded_separately_even_when_valid_together() {
        // "\xE2\x82" + "\xAC" is a valid euro sign, but data and id are separate strings.
        let out = parse_all(&[b"id: \xAC\ndata: \xE2\x82\n\nid: \xFF\ndata: \xE2\x82\xAC\n\n"]);
        let first = Event::new("\u{FFFD}").with_last_event_id("\u{FFFD}");
        let second = Event::new("\u{20AC}").with_last_event_id("\u{FFFD}");
        assert_eq!(out, [Ok(Item::Event(first)), Ok(Item::Event(second))]);
    }

    #[test]
    fn a_small_event_after_a_large_one_does_not_keep_its_capacity() {
        let large = format!("data: {}\n\n", "x".repeat(1 << 20));
        let out = parse_all(&[large.as_bytes(), b"data: small\n\n"]);
        let Ok([Ok(Item::Event(large)), Ok(Item::Event(small))]) = <[_; 2]>::try_from(out) else {
            panic!("two events expected");
        };
        assert_eq!(large.data().len(), 1 << 20);
        let small = small.into_data();
        assert_eq!(small, "small");
        assert!(small.capacity() < 8192, "capacity {}", small.capacity());
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
    fn event_type_applies_to_its_event_only() {
        let out = parse_all(&[b"event: t\nid: 1\ndata: a\n\ndata: b\n\n"]);
        let a = Event::new("a").with_type("t").with_last_event_id("1");
        let b = Event::new("b").with_last_event_id("1");
        assert_eq!(b.event_type(), "message");
        assert_eq!(out, [Ok(Item::Event(a)), Ok(Item::Event(b))]);
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

#[cfg(test)]
mod shared_tests {
    use super::*;

    /// The events `parser` gives for `chunk`, which must all be events.
    fn shared_events(parser: &mut EventParser, chunk: &Bytes) -> Vec<Event> {
        let mut input = &chunk[..];
        let mut events = Vec::new();
        while let Some(item) = parser.next_item_shared(chunk, &mut input) {
            let Ok(Item::Event(event)) = item else {
                panic!("only events expected: {item:?}");
            };
            events.push(event);
        }
        assert!(input.is_empty());
        events
    }

    /// Whether `part` lies inside `chunk`'s memory.
    fn inside(part: &str, chunk: &Bytes) -> bool {
        let (start, end) = (
            chunk.as_ptr() as usize,
            chunk.as_ptr() as usize + chunk.len(),
        );
        let at = part.as_ptr() as usize;
        !part.is_empty() && start <= at && at + part.len() <= end
    }

    #[test]
    fn a_plain_one_line_event_shares_its_chunk() {
        let chunk = Bytes::from_static(b"data: hello\n\ndata: a\ndata: b\n\nevent: t\ndata: c\n\n");
        let mut parser = EventParser::new();
        let events = shared_events(&mut parser, &chunk);
        let shared: Vec<_> = events.iter().map(|e| inside(e.data(), &chunk)).collect();
        // Only the one-line event without a type or an ID is a view of the chunk.
        assert_eq!(shared, [true, false, false]);
        assert_eq!(events[0], Event::new("hello"));
        assert_eq!(events[1], Event::new("a\nb"));
        assert_eq!(events[2], Event::new("c").with_type("t"));
        // Once an ID is set, events carry it, so they copy.
        let chunk = Bytes::from_static(b"id: 1\n\ndata: x\n\n");
        let events = shared_events(&mut parser, &chunk);
        assert_eq!(events, [Event::new("x").with_last_event_id("1")]);
        assert_eq!(events[0].clone().into_data(), "x");
    }

    #[test]
    fn events_before_a_cut_or_invalid_character_still_share() {
        // The chunk is checked as UTF-8 once: up to the character its end cuts (or the first
        // invalid byte); events in that part share it, the others are copied and decoded.
        let chunk = Bytes::from_static(b"data: \xC3\xA9t\xC3\xA9\n\ndata: \xFF\n\ndata: \xC3");
        let mut parser = EventParser::new();
        let mut events = shared_events(&mut parser, &chunk);
        events.extend(shared_events(&mut parser, &Bytes::from_static(b"\xA9\n\n")));
        let data: Vec<_> = events.iter().map(Event::data).collect();
        assert_eq!(data, ["\u{e9}t\u{e9}", "\u{FFFD}", "\u{e9}"]);
        assert!(inside(events[0].data(), &chunk));
        assert!(!inside(events[1].data(), &chunk));
    }

    #[test]
    fn an_event_is_five_words() {
        assert!(size_of::<Event>() <= 5 * size_of::<usize>());
    }

    #[test]
    fn a_type_after_the_data_still_applies() {
        let chunk = Bytes::from_static(b"data: x\nevent: late\nid: 2\n\n");
        let mut parser = EventParser::new();
        assert_eq!(
            shared_events(&mut parser, &chunk),
            [Event::new("x").with_type("late").with_last_event_id("2")]
        );
        assert_eq!(parser.last_event_id(), "2");
    }
}
