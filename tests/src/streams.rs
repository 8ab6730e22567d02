//! Event-stream clients over real TCP for the tests: [`SseConnection`] parses events,
//! [`RawSse`] keeps the exact wire text.

use std::fmt;
use std::time::Duration;

/// How long [`SseConnection::next_event`] and [`RawSse::read_until`] wait before failing the
/// test: generous, for a loaded 2-core machine.
pub const EVENT_TIMEOUT: Duration = Duration::from_secs(15);

type ItemStream = std::pin::Pin<
    Box<
        dyn futures_util::Stream<
                Item = Result<
                    reqwest_sse_client::Item,
                    reqwest_sse_client::EventStreamError<reqwest::Error>,
                >,
            > + Send,
    >,
>;

/// A `GET` of an event stream over real TCP, its body parsed by sse-client's
/// [`EventStream`](reqwest_sse_client::EventStream) (no reconnection).
///
/// ```no_run
/// # async fn demo() -> Result<(), reqwest::Error> {
/// let mut conn = sse_tests::SseConnection::open("http://127.0.0.1:8888/price", None).await?;
/// assert_eq!(conn.status, 200);
/// let event = conn.next_event().await.expect("an event");
/// # let _ = event; Ok(()) }
/// ```
pub struct SseConnection {
    /// The response status.
    pub status: reqwest::StatusCode,
    /// The response headers.
    pub headers: reqwest::header::HeaderMap,
    /// The response body when the status is not 200 (read whole), else empty.
    pub error_body: String,
    events: ItemStream,
}

impl fmt::Debug for SseConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SseConnection")
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

impl SseConnection {
    /// Sends `GET url` (with `Last-Event-ID` when given) and returns once the headers arrived.
    pub async fn open(url: &str, last_event_id: Option<&str>) -> Result<Self, reqwest::Error> {
        use futures_util::StreamExt as _;
        let mut request = reqwest::Client::new()
            .get(url)
            .header("accept", "text/event-stream");
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        let response = request.send().await?;
        let status = response.status();
        let headers = response.headers().clone();
        if status != reqwest::StatusCode::OK {
            let error_body = response.text().await?;
            return Ok(SseConnection {
                status,
                headers,
                error_body,
                events: Box::pin(futures_util::stream::empty()),
            });
        }
        let events = reqwest_sse_client::EventStream::new(response.bytes_stream()).boxed();
        Ok(SseConnection {
            status,
            headers,
            error_body: String::new(),
            events,
        })
    }

    /// The next event (retry items skipped); `None` when the stream ended. Panics after
    /// [`EVENT_TIMEOUT`] or on a transport error.
    pub async fn next_event(&mut self) -> Option<reqwest_sse_client::Event> {
        match self.next_event_within(EVENT_TIMEOUT).await {
            Ok(event) => event,
            Err(_) => panic!("no event within {EVENT_TIMEOUT:?}"),
        }
    }

    /// The next event within `timeout`: `Err(())` when none came in time, `Ok(None)` when the
    /// stream ended.
    #[allow(clippy::result_unit_err)]
    pub async fn next_event_within(
        &mut self,
        timeout: Duration,
    ) -> Result<Option<reqwest_sse_client::Event>, ()> {
        use futures_util::StreamExt as _;
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match tokio::time::timeout_at(deadline, self.events.next()).await {
                Err(_) => return Err(()),
                Ok(None) => return Ok(None),
                Ok(Some(Ok(reqwest_sse_client::Item::Event(event)))) => return Ok(Some(event)),
                Ok(Some(Ok(_))) => {}
                Ok(Some(Err(e))) => panic!("event stream failed: {e} ({e:?})"),
            }
        }
    }
}

/// A `GET` of an event stream whose body is kept as text, to check the exact wire format
/// (after HTTP chunked decoding).
pub struct RawSse {
    /// The response status.
    pub status: reqwest::StatusCode,
    body: std::pin::Pin<
        Box<dyn futures_util::Stream<Item = Result<bytes::Bytes, reqwest::Error>> + Send>,
    >,
    text: String,
}

impl fmt::Debug for RawSse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawSse")
            .field("status", &self.status)
            .field("text", &self.text)
            .finish_non_exhaustive()
    }
}

/// What every event stream of ours opens with: an empty comment.
const OPENING: &str = ":\n\n";

impl RawSse {
    /// Sends `GET url` (with `Last-Event-ID` when given) and returns once the headers arrived
    /// and, for a `200`, the opening comment every stream of ours starts with (checked, then
    /// left out of [`text`](Self::read_until)).
    pub async fn open(url: &str, last_event_id: Option<&str>) -> Result<Self, reqwest::Error> {
        use futures_util::StreamExt as _;
        let mut request = reqwest::Client::new().get(url);
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        let response = request.send().await?;
        let mut raw = RawSse {
            status: response.status(),
            body: response.bytes_stream().boxed(),
            text: String::new(),
        };
        if raw.status == reqwest::StatusCode::OK {
            raw.read_until(|text| text.len() >= OPENING.len()).await;
            assert!(
                raw.text.starts_with(OPENING),
                "the stream does not open with a comment: {:?}",
                raw.text
            );
            raw.text.drain(..OPENING.len());
        }
        Ok(raw)
    }

    /// Reads until `done(text so far)` holds and returns the text so far; panics after
    /// [`EVENT_TIMEOUT`], at the end of the body or on a transport error.
    pub async fn read_until(&mut self, done: impl Fn(&str) -> bool) -> &str {
        use futures_util::StreamExt as _;
        let deadline = tokio::time::Instant::now() + EVENT_TIMEOUT;
        while !done(&self.text) {
            match tokio::time::timeout_at(deadline, self.body.next()).await {
                Err(_) => panic!("timed out; received so far: {:?}", self.text),
                Ok(None) => panic!("body ended; received: {:?}", self.text),
                Ok(Some(Err(e))) => panic!("body failed: {e}; received: {:?}", self.text),
                Ok(Some(Ok(chunk))) => self.text.push_str(&String::from_utf8_lossy(&chunk)),
            }
        }
        &self.text
    }
}
