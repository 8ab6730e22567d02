//! Encoding side by side: events built from an id and a data string, turned into wire bytes.
//!
//! Both responders are measured the same way, "event → wire bytes": a stream builds each
//! event from its parts and the response body is polled frame by frame without a server,
//! as hyper would. The direct functions skip the body.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use axum::body::Body;
use axum::response::IntoResponse as _;
use bytes::{BufMut as _, Bytes, BytesMut};
use futures_util::StreamExt as _;
use http_body::Body as _;

/// One event to encode: its id and its data.
#[derive(Debug, Clone)]
pub struct Input {
    /// The `id` field.
    pub id: String,
    /// The `data` field: one line, or several separated by `\n`.
    pub data: String,
}

/// `n` small events: about 60 bytes on the wire each.
///
/// ```
/// let inputs = sse_benches::encode::small_events(3);
/// let wire = sse_benches::encode::expected_bytes(&inputs);
/// assert_eq!(wire.len() / 3, 61);
/// ```
#[must_use]
pub fn small_events(n: usize) -> Arc<[Input]> {
    (0..n)
        .map(|i| Input {
            id: format!("{:06}", i % 1_000_000),
            data: format!(
                r#"{{"seq":{:06},"price":101.25,"sym":"ACME"}}"#,
                i % 1_000_000
            ),
        })
        .collect()
}

/// `n` events of about 4 KiB each, their data a pretty-printed JSON document of 50 lines
/// (a log excerpt, a diff, a rendered table: data with many line breaks).
///
/// ```
/// let inputs = sse_benches::encode::many_line_events(2);
/// assert_eq!(inputs[0].data.lines().count(), 52);
/// let wire = sse_benches::encode::expected_bytes(&inputs);
/// assert!((3500..4700).contains(&(wire.len() / 2)));
/// ```
#[must_use]
pub fn many_line_events(n: usize) -> Arc<[Input]> {
    (0..n)
        .map(|i| {
            let mut data = String::with_capacity(4200);
            data.push('{');
            for field in 0..50 {
                data.push_str(&format!(
                    "\n  \"field_{field:02}\": {{\"value\": {}, \"label\": \"row {field} of event {i}, in a table\"}},",
                    i * 50 + field
                ));
            }
            data.push_str("\n}");
            Input {
                id: format!("{:06}", i % 1_000_000),
                data,
            }
        })
        .collect()
}

/// The bytes every contender must write for `inputs`: one `data:` line per line of data.
#[must_use]
pub fn expected_bytes(inputs: &[Input]) -> Vec<u8> {
    let mut out = Vec::new();
    for input in inputs {
        out.extend_from_slice(format!("id: {}\n", input.id).as_bytes());
        for line in input.data.split('\n') {
            out.extend_from_slice(format!("data: {line}\n").as_bytes());
        }
        out.push(b'\n');
    }
    out
}

/// Polls a response body to its end, passing each data frame to `sink`; returns the number
/// of frames.
fn drain(mut body: Body, sink: &mut impl FnMut(&[u8])) -> usize {
    let mut cx = Context::from_waker(Waker::noop());
    let mut frames = 0;
    loop {
        match std::pin::Pin::new(&mut body).poll_frame(&mut cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    sink(data);
                    frames += 1;
                }
            }
            Poll::Ready(Some(Err(_)) | None) | Poll::Pending => return frames,
        }
    }
}

/// Our `Event` through our `SseStream` body (keep-alive off, no opening comment).
pub fn ours_body(inputs: &Arc<[Input]>, mut sink: impl FnMut(&[u8])) -> usize {
    let events = Arc::clone(inputs);
    let stream = futures_util::stream::iter(0..events.len()).map(move |i| {
        let input = &events[i];
        sse_axum::Event::new()
            .try_id(&input.id)
            .map(|event| event.data(&input.data))
    });
    // No opening comment: the same bytes as axum's body.
    let body = sse_axum::SseStream::new(stream)
        .keep_alive(sse_axum::KeepAlive::disabled())
        .opening(None)
        .into_response()
        .into_body();
    drain(body, &mut sink)
}

/// axum's `Event` through axum's `Sse` body (no keep-alive).
pub fn axum_body(inputs: &Arc<[Input]>, mut sink: impl FnMut(&[u8])) -> usize {
    let events = Arc::clone(inputs);
    let stream = futures_util::stream::iter(0..events.len()).map(move |i| {
        let input = &events[i];
        Ok::<_, Infallible>(
            axum::response::sse::Event::default()
                .id(&input.id)
                .data(&input.data),
        )
    });
    let body = axum::response::Sse::new(stream).into_response().into_body();
    drain(body, &mut sink)
}

/// Our `Event` built and encoded with `to_bytes`, no body.
pub fn ours_direct(inputs: &[Input], mut sink: impl FnMut(&[u8])) -> usize {
    for input in inputs {
        match sse_axum::Event::new().try_id(&input.id) {
            Ok(event) => sink(&event.data(&input.data).to_bytes()),
            Err(_) => return 0,
        }
    }
    inputs.len()
}

/// `to_bytes` alone, on events built beforehand.
pub fn ours_to_bytes(events: &[sse_axum::Event], mut sink: impl FnMut(&[u8])) -> usize {
    for event in events {
        sink(&event.to_bytes());
    }
    events.len()
}

/// Builds our events for [`ours_to_bytes`].
#[must_use]
pub fn build_ours(inputs: &[Input]) -> Vec<sse_axum::Event> {
    inputs
        .iter()
        .filter_map(|input| {
            sse_axum::Event::new()
                .try_id(&input.id)
                .ok()
                .map(|event| event.data(&input.data))
        })
        .collect()
}

/// The floor: `put_slice` of the fields into an exactly sized buffer per event, the data
/// split at `\n` with `memchr` (no validation, no `\r`).
pub fn put_slice(inputs: &[Input], mut sink: impl FnMut(&[u8])) -> usize {
    for input in inputs {
        let data = input.data.as_bytes();
        let lines = memchr::memchr_iter(b'\n', data).count() + 1;
        let mut buf = BytesMut::with_capacity(input.id.len() + data.len() + 5 + lines * 7 + 1);
        buf.put_slice(b"id: ");
        buf.put_slice(input.id.as_bytes());
        buf.put_slice(b"\n");
        let mut start = 0;
        for end in memchr::memchr_iter(b'\n', data).chain([data.len()]) {
            buf.put_slice(b"data: ");
            buf.put_slice(&data[start..end]);
            buf.put_slice(b"\n");
            start = end + 1;
        }
        buf.put_slice(b"\n");
        let frame: Bytes = buf.freeze();
        sink(&frame);
    }
    inputs.len()
}
