//! [`EventStream`]: the parser over any stream of byte chunks.

use std::error::Error as StdError;
use std::fmt;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use futures_util::Stream;
use pin_project_lite::pin_project;

use crate::parser::{EventParser, Item, ParseError};

pin_project! {
    /// Turns a stream of byte chunks (`Result<B, E>` with `B: Into<Bytes>`, such as
    /// `reqwest::Response::bytes_stream()`) into a stream of parsed [`Item`]s.
    ///
    /// The chunks are taken as [`Bytes`] (without a copy for `Bytes`, `Vec<u8>`, `String` and
    /// `&'static` slices), so that the usual one-line event shares its chunk instead of
    /// copying its data (see [`EventParser::next_item_shared`]).
    ///
    /// The shape of `eventsource-stream`'s stream, with the spec-exact [`EventParser`]
    /// underneath; it yields [`Item`]s (events, `retry` changes, and comments when the parser
    /// is [made to](EventParser::with_comments)). No reconnection: see `Client` (feature
    /// `client`) for that. When the inner stream ends, the
    /// parser is [finished](EventParser::finish) (an unfinished event is discarded) and the
    /// stream ends. An error of the inner stream is passed on as
    /// [`EventStreamError::Transport`] and the inner stream is polled again afterwards.
    ///
    /// ```
    /// use futures_util::{StreamExt, stream};
    /// use reqwest_sse_client::{EventStream, Item};
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let chunks = stream::iter([Ok::<_, std::io::Error>(&b"data: hel"[..]), Ok(b"lo\n\n")]);
    /// let mut events = EventStream::new(chunks);
    /// match events.next().await {
    ///     Some(Ok(Item::Event(event))) => assert_eq!(event.data(), "hello"),
    ///     other => panic!("unexpected {other:?}"),
    /// }
    /// assert!(events.next().await.is_none());
    /// # });
    /// ```
    pub struct EventStream<S, B> {
        #[pin]
        inner: S,
        parser: EventParser,
        // The current chunk, parsed up to `pos`.
        chunk: Bytes,
        pos: usize,
        done: bool,
        chunks: PhantomData<fn() -> B>,
    }
}

impl<S, B> EventStream<S, B> {
    /// Wraps a stream of byte chunks, with a default [`EventParser`].
    #[must_use]
    pub fn new(inner: S) -> Self {
        Self::with_parser(inner, EventParser::new())
    }

    /// Wraps a stream of byte chunks with the given parser (e.g. with another maximum event
    /// size, or a last event ID to start from).
    #[must_use]
    pub fn with_parser(inner: S, parser: EventParser) -> Self {
        Self {
            inner,
            parser,
            chunk: Bytes::new(),
            pos: 0,
            done: false,
            chunks: PhantomData,
        }
    }

    /// The parser, e.g. for its [last event ID](EventParser::last_event_id).
    #[must_use]
    pub fn parser(&self) -> &EventParser {
        &self.parser
    }

    /// Gives back the inner stream; bytes not parsed yet are dropped.
    #[must_use]
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, B> From<S> for EventStream<S, B> {
    fn from(inner: S) -> Self {
        Self::new(inner)
    }
}

impl<S: fmt::Debug, B> fmt::Debug for EventStream<S, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventStream")
            .field("inner", &self.inner)
            .field("parser", &self.parser)
            .finish_non_exhaustive()
    }
}

impl<S, B, E> Stream for EventStream<S, B>
where
    S: Stream<Item = Result<B, E>>,
    B: Into<Bytes>,
{
    type Item = Result<Item, EventStreamError<E>>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut this = self.project();
        loop {
            let mut input = this.chunk.get(*this.pos..).unwrap_or_default();
            if !input.is_empty() {
                let item = this.parser.next_item_shared(this.chunk, &mut input);
                *this.pos = this.chunk.len() - input.len();
                if let Some(item) = item {
                    return Poll::Ready(Some(item.map_err(EventStreamError::Parse)));
                }
            }
            if *this.done {
                return Poll::Ready(None);
            }
            match ready!(this.inner.as_mut().poll_next(cx)) {
                Some(Ok(chunk)) => {
                    *this.chunk = chunk.into();
                    *this.pos = 0;
                }
                Some(Err(error)) => {
                    return Poll::Ready(Some(Err(EventStreamError::Transport(error))));
                }
                None => {
                    this.parser.finish();
                    *this.done = true;
                    return Poll::Ready(None);
                }
            }
        }
    }
}

/// An error from [`EventStream`].
#[derive(Debug)]
#[non_exhaustive]
pub enum EventStreamError<E> {
    /// The parser's size limit was hit; the stream goes on with the next event.
    Parse(ParseError),
    /// The inner stream failed.
    Transport(E),
}

impl<E: fmt::Display> fmt::Display for EventStreamError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Parse(_) => f.write_str("invalid event stream"),
            Self::Transport(_) => f.write_str("reading the event stream failed"),
        }
    }
}

impl<E: StdError + 'static> StdError for EventStreamError<E> {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            Self::Parse(error) => Some(error),
            Self::Transport(error) => Some(error),
        }
    }
}
