//! [`EventSender`], the sending half of [`SseStream::channel`](super::SseStream::channel), and
//! its errors.

use std::{fmt, future::Future};

use bytes::Bytes;
use tokio::sync::mpsc;

use crate::Event;

/// The sending half of [`SseStream::channel`](super::SseStream::channel). Cheap to clone; the stream ends when every clone
/// is dropped.
///
/// Each event is encoded when it is sent, so the response body only passes bytes on.
#[derive(Clone)]
pub struct EventSender {
    pub(super) tx: mpsc::Sender<Bytes>,
}

impl EventSender {
    /// Sends an event, waiting while the channel is full.
    ///
    /// # Errors
    ///
    /// [`SendError`] (holding the event) once the response has been dropped, which happens when
    /// the client disconnects.
    pub async fn send(&self, event: Event) -> Result<(), SendError> {
        match self.tx.send(event.to_bytes()).await {
            Ok(()) => Ok(()),
            Err(_) => Err(SendError { event }),
        }
    }

    /// Sends an event if there is room in the channel, without waiting.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`] when the channel is full (the client reads slower than events are
    /// produced) and [`TrySendError::Closed`] once the response has been dropped. Both hold the
    /// event.
    pub fn try_send(&self, event: Event) -> Result<(), TrySendError> {
        match self.tx.try_send(event.to_bytes()) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(_)) => Err(TrySendError::Full(event)),
            Err(mpsc::error::TrySendError::Closed(_)) => Err(TrySendError::Closed(event)),
        }
    }

    /// Resolves once the response has been dropped (the client disconnected, or the response was
    /// never sent). Useful with `tokio::select!` in a producer that waits for something else.
    ///
    /// An idle connection is noticed at the latest when the next keep-alive comment fails to
    /// be written.
    pub fn closed(&self) -> impl Future<Output = ()> + Send + '_ {
        self.tx.closed()
    }

    /// Whether the response has been dropped.
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }
}

impl fmt::Debug for EventSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventSender")
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// The error of [`EventSender::send`](super::EventSender::send): the response is gone. Holds the event that was not sent.
#[derive(Debug)]
pub struct SendError {
    event: Event,
}

impl SendError {
    /// The event that was not sent.
    pub fn into_event(self) -> Event {
        self.event
    }
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the event stream is closed")
    }
}

impl std::error::Error for SendError {}

/// The error of [`EventSender::try_send`]. Holds the event that was not sent.
#[derive(Debug)]
#[non_exhaustive]
pub enum TrySendError {
    /// The channel is full.
    Full(Event),
    /// The response is gone.
    Closed(Event),
}

impl TrySendError {
    /// The event that was not sent.
    pub fn into_event(self) -> Event {
        match self {
            Self::Full(event) | Self::Closed(event) => event,
        }
    }
}

impl fmt::Display for TrySendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Full(_) => f.write_str("the event stream's channel is full"),
            Self::Closed(_) => f.write_str("the event stream is closed"),
        }
    }
}

impl std::error::Error for TrySendError {}
