//! [`Subscribe`]: what a subscriber asks the hub for, and [`ResumePoint`]: where it resumes.

use super::backend::Start;
use super::{EventId, HubError};
use crate::LastEventId;

/// What to subscribe to and where to start: the argument of [`Hub::subscribe`](super::Hub::subscribe).
///
/// ```
/// use sse_axum::hub::{EventId, Subscribe};
/// use sse_axum::LastEventId;
///
/// // In a handler, pass the extractor's value on (`None` when there was no header).
/// let header: Option<LastEventId> = None;
/// let request = Subscribe::new(["broadcast", "user:alice"]).last_event_id(header);
/// // The same method takes text or an id.
/// let request = Subscribe::new(["news"]).last_event_id("1700000000000");
/// let request = Subscribe::new(["news"]).last_event_id(EventId::new(1_700_000_000_000, 0));
/// // A new client that wants what the history holds.
/// let request = Subscribe::new(["news"]).with_history();
/// # drop(request);
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct Subscribe {
    pub(super) topics: Vec<String>,
    resume: ResumePoint,
    history: bool,
}

/// Where a subscriber resumes: the argument of [`Subscribe::last_event_id`], made from the
/// `LastEventId` extractor's value (optional or not), from text, or from an [`EventId`].
/// Text is parsed by [`Hub::subscribe`](super::Hub::subscribe), which answers
/// [`HubError::InvalidLastEventId`] for text that is not an id the hub gives.
#[derive(Debug, Clone, Default)]
pub struct ResumePoint(Point);

#[derive(Debug, Clone, Default)]
enum Point {
    #[default]
    None,
    Text(String),
    Id(EventId),
}

impl Subscribe {
    /// Subscribes to these topics (duplicates are ignored). Without a `Last-Event-ID` the
    /// subscriber receives live events only.
    pub fn new<I, T>(topics: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        let mut unique: Vec<String> = Vec::new();
        for topic in topics {
            let topic = topic.into();
            if !unique.contains(&topic) {
                unique.push(topic);
            }
        }
        Self {
            topics: unique,
            resume: ResumePoint::default(),
            history: false,
        }
    }

    /// Resumes after this id: the `Last-Event-ID` of the request (`None` when it had none),
    /// text, or an [`EventId`].
    pub fn last_event_id(self, id: impl Into<ResumePoint>) -> Self {
        Self {
            resume: id.into(),
            ..self
        }
    }

    /// Without a `Last-Event-ID`, start with the retained history instead of live events only.
    pub fn with_history(self) -> Self {
        Self {
            history: true,
            ..self
        }
    }

    /// The id resumed after, and where the history starts (`None`: live events only).
    pub(super) fn start(&self) -> Result<(Option<EventId>, Option<Start>), HubError> {
        let last_event_id = match &self.resume.0 {
            Point::None => None,
            Point::Text(text) => Some(text.parse::<EventId>()?),
            Point::Id(id) => Some(*id),
        };
        let start = match (last_event_id, self.history) {
            (Some(id), _) => Some(Start::After(id)),
            (None, true) => Some(Start::Oldest),
            (None, false) => None,
        };
        Ok((last_event_id, start))
    }
}

impl From<EventId> for ResumePoint {
    fn from(id: EventId) -> Self {
        Self(Point::Id(id))
    }
}

impl From<Option<EventId>> for ResumePoint {
    fn from(id: Option<EventId>) -> Self {
        id.map(Self::from).unwrap_or_default()
    }
}

impl From<LastEventId> for ResumePoint {
    fn from(id: LastEventId) -> Self {
        Self(Point::Text(id.into_string()))
    }
}

impl From<Option<LastEventId>> for ResumePoint {
    fn from(id: Option<LastEventId>) -> Self {
        id.map(Self::from).unwrap_or_default()
    }
}

impl From<String> for ResumePoint {
    fn from(text: String) -> Self {
        Self(Point::Text(text))
    }
}

impl From<&str> for ResumePoint {
    fn from(text: &str) -> Self {
        Self(Point::Text(text.to_owned()))
    }
}

impl From<&String> for ResumePoint {
    fn from(text: &String) -> Self {
        Self(Point::Text(text.clone()))
    }
}
