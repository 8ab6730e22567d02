//! What a hub stores in a Redis Stream entry and how it reads it back; and the rule that
//! decides whether a `Last-Event-ID` resumes exactly. Pure functions, tested without Redis.
//!
//! An entry is `t` (the topic) and `f` (the frame template): the published events encoded
//! with an empty `id:` line each. Redis gives the entry its id only when it appends it, so
//! every process that reads the entry fills that id in (`event::frame::fill`).

use bytes::Bytes;
use redis::Value;

use super::super::super::EventId;
use super::super::Start;

/// The entry field holding the topic.
pub(super) const TOPIC_FIELD: &str = "t";
/// The entry field holding the frame template.
pub(super) const FRAME_FIELD: &str = "f";
/// The entry field present (`1`) on a topic's final entry.
pub(super) const FINAL_FIELD: &str = "e";

/// A stream entry id as Redis writes it: always `ms-seq`.
pub(super) fn stream_id(id: EventId) -> String {
    format!("{}-{}", id.major(), id.minor())
}

/// An id from a reply; `None` for an empty string, `0-0` or anything that is not an id.
pub(super) fn parse_id(value: &Value) -> Option<EventId> {
    let id = text(value)?.parse::<EventId>().ok()?;
    (id != EventId::ZERO).then_some(id)
}

/// The bytes of a string reply.
pub(super) fn bytes(value: &Value) -> Option<&[u8]> {
    match value {
        Value::BulkString(bytes) => Some(bytes),
        Value::SimpleString(text) => Some(text.as_bytes()),
        _ => None,
    }
}

fn text(value: &Value) -> Option<&str> {
    std::str::from_utf8(bytes(value)?).ok()
}

/// One entry read from the stream.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Entry {
    pub(super) id: EventId,
    /// The topic and the frame template; `None` when the entry was not written by a hub (it
    /// is skipped, but the reader still moves past it).
    pub(super) content: Option<(String, Bytes)>,
    /// The topic's final entry ([`FINAL_FIELD`]).
    pub(super) last: bool,
}

/// The entries of an `XREAD` reply for one stream (`nil` when the block timed out).
pub(super) fn xread_entries(reply: &Value) -> Vec<Entry> {
    let Value::Array(streams) = reply else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for stream in streams {
        // RESP2: [key, [entry, ...]]
        if let Value::Array(pair) = stream
            && let [_key, Value::Array(entries)] = pair.as_slice()
        {
            out.extend(entries.iter().filter_map(entry));
        }
    }
    out
}

/// One `[id, [field, value, ...]]` entry.
fn entry(value: &Value) -> Option<Entry> {
    let Value::Array(pair) = value else {
        return None;
    };
    let [id, Value::Array(fields)] = pair.as_slice() else {
        return None;
    };
    let id = parse_id(id)?;
    let mut topic = None;
    let mut frame = None;
    let mut last = false;
    for field in fields.chunks_exact(2) {
        match bytes(&field[0]) {
            Some(name) if name == TOPIC_FIELD.as_bytes() => topic = text(&field[1]),
            Some(name) if name == FRAME_FIELD.as_bytes() => frame = bytes(&field[1]),
            Some(name) if name == FINAL_FIELD.as_bytes() => last = true,
            _ => {}
        }
    }
    let content = topic
        .zip(frame)
        .map(|(topic, frame)| (topic.to_owned(), Bytes::copy_from_slice(frame)));
    Some(Entry { id, content, last })
}

/// What the snapshot script tells about the stream when a subscriber arrives.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct StreamInfo {
    /// The first id of this incarnation of the stream (the `origin` key); `None` when the
    /// stream was never written or its origin was lost.
    pub(super) origin: Option<EventId>,
    /// The newest id ever given by the stream (`last-generated-id`); `None`: no stream.
    pub(super) last: Option<EventId>,
    /// Whether any entry ever left the stream (trimmed by length or age).
    pub(super) trimmed: bool,
    /// The oldest id still in the stream; `None` when it is empty.
    pub(super) first: Option<EventId>,
    /// More entries followed the resume point than the history holds.
    pub(super) overflow: bool,
}

/// Whether the entries after the start point are all still in the stream: nothing was
/// trimmed after it, and the read returned all of them. Trimming removes the oldest entries,
/// so the entries from the first one on are all there; a point older than the first one is
/// covered only if nothing was ever trimmed. In doubt, not complete: a subscriber may get a
/// reset it did not strictly need (its id is the newest entry trimmed away), never miss
/// events silently. (The hub judges the rest: `History::decide`.)
pub(super) fn complete(from: Start, info: &StreamInfo) -> bool {
    match from {
        Start::Oldest => true,
        Start::After(after) => {
            let all_after_retained =
                !info.trimmed || info.first.is_some_and(|first| after >= first);
            all_after_retained && !info.overflow
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(major: u64, minor: u64) -> EventId {
        EventId::new(major, minor)
    }

    #[test]
    fn stream_ids_round_trip() {
        assert_eq!(stream_id(id(12, 0)), "12-0");
        assert_eq!(stream_id(id(12, 3)), "12-3");
        let value = Value::BulkString(b"12-3".to_vec());
        assert_eq!(parse_id(&value), Some(id(12, 3)));
        assert_eq!(parse_id(&Value::BulkString(b"0-0".to_vec())), None);
        assert_eq!(parse_id(&Value::BulkString(Vec::new())), None);
        assert_eq!(parse_id(&Value::Int(5)), None);
    }

    #[test]
    fn reads_xread_replies_and_skips_foreign_entries() {
        let bulk = |s: &str| Value::BulkString(s.as_bytes().to_vec());
        let reply = Value::Array(vec![Value::Array(vec![
            bulk("hub:stream"),
            Value::Array(vec![
                Value::Array(vec![
                    bulk("5-1"),
                    Value::Array(vec![bulk("t"), bulk("news"), bulk("f"), bulk("id:\n\n")]),
                ]),
                Value::Array(vec![
                    bulk("6-0"),
                    Value::Array(vec![bulk("other"), bulk("x")]),
                ]),
                Value::Int(3),
            ]),
        ])]);
        let entries = xread_entries(&reply);
        assert_eq!(
            entries,
            [
                Entry {
                    id: id(5, 1),
                    content: Some(("news".to_owned(), Bytes::from_static(b"id:\n\n"))),
                    last: false,
                },
                Entry {
                    id: id(6, 0),
                    content: None,
                    last: false,
                },
            ]
        );
        assert!(xread_entries(&Value::Nil).is_empty());
    }

    #[test]
    fn complete_when_nothing_after_the_point_is_missing() {
        let info = StreamInfo {
            origin: Some(id(100, 0)),
            last: Some(id(200, 0)),
            trimmed: true,
            first: Some(id(160, 0)),
            overflow: false,
        };
        let after = |n| Start::After(id(n, 0));
        assert!(complete(Start::Oldest, &info));
        assert!(complete(after(160), &info));
        assert!(complete(after(170), &info));
        assert!(!complete(after(159), &info), "older than what is retained");
        let overflow = StreamInfo {
            overflow: true,
            ..info
        };
        assert!(
            !complete(after(180), &overflow),
            "further behind than the history"
        );
        // Nothing ever trimmed: any id of this stream is covered.
        let untrimmed = StreamInfo {
            trimmed: false,
            first: Some(id(100, 0)),
            ..info
        };
        assert!(complete(after(100), &untrimmed));
        assert!(complete(after(150), &untrimmed));
        // Everything trimmed (history 0): nothing is covered.
        let empty = StreamInfo {
            first: None,
            ..info
        };
        assert!(!complete(after(199), &empty));
    }
}
