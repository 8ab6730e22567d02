//! Helpers shared by the fuzz targets: a deliberately simple reference parser, written straight
//! from the WHATWG algorithm "interpreting an event stream", and the splitting of an input into
//! chunks.
//!
//! The reference works on the whole stream at once (decode, strip one byte-order mark, split
//! into lines, process each line) with none of the tricks of `reqwest_sse_client::EventParser`: no
//! chunk state, no byte-level fast paths, no deferred UTF-8 validation. Where the two disagree
//! on the same bytes, one of them is wrong.
#![deny(missing_docs)]

/// What a parser yields, in a form both parsers produce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefItem {
    /// A dispatched event: type (`"message"` when empty), data, last event ID.
    Event {
        /// The event type.
        event_type: String,
        /// The data lines joined with LF.
        data: String,
        /// The last event ID string at dispatch.
        last_event_id: String,
    },
    /// A valid `retry` field, in milliseconds.
    Retry(u64),
}

/// Parses a complete stream (the end of `bytes` is the end of the stream) the way the spec
/// says, and returns its items and the final last event ID.
pub fn reference_parse(bytes: &[u8]) -> (Vec<RefItem>, String) {
    // Decode: UTF-8 with replacement, then strip one leading U+FEFF.
    let text = String::from_utf8_lossy(bytes);
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(&text);

    let mut items = Vec::new();
    let mut data = String::new();
    let mut event_type = String::new();
    let mut id_buffer = String::new();
    let mut last_event_id = String::new();

    // Only lines that end with CRLF, LF or CR are processed; the rest is an unfinished line
    // that the end of the stream discards.
    let mut rest = text;
    while let Some(end) = rest.find(['\r', '\n']) {
        let line = &rest[..end];
        let skip = if rest[end..].starts_with("\r\n") {
            2
        } else {
            1
        };
        rest = &rest[end + skip..];

        if line.is_empty() {
            // Dispatch.
            last_event_id.clone_from(&id_buffer);
            if data.is_empty() {
                event_type.clear();
                continue;
            }
            data.pop(); // the trailing LF
            items.push(RefItem::Event {
                event_type: if event_type.is_empty() {
                    "message".to_owned()
                } else {
                    event_type.clone()
                },
                data: std::mem::take(&mut data),
                last_event_id: last_event_id.clone(),
            });
            event_type.clear();
            continue;
        }
        if line.starts_with(':') {
            continue;
        }
        let (field, value) = match line.find(':') {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(' ').unwrap_or(value))
            }
            None => (line, ""),
        };
        match field {
            "event" => event_type = value.to_owned(),
            "data" => {
                data.push_str(value);
                data.push('\n');
            }
            // An id containing NUL is ignored.
            "id" if !value.contains('\0') => id_buffer = value.to_owned(),
            // ASCII digits only, not empty; values that overflow u64 are ignored (the spec
            // leaves the range to the implementation).
            "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                if let Ok(millis) = value.parse::<u64>() {
                    items.push(RefItem::Retry(millis));
                }
            }
            _ => {}
        }
    }
    // End of stream: the unfinished event (and line) is discarded.
    (items, last_event_id)
}

/// Splits `bytes` into chunks whose lengths come from `cuts` (each length is `cut % 17`, so
/// empty chunks and single bytes are frequent; what is left after the cuts is one chunk).
pub fn split<'a>(bytes: &'a [u8], cuts: &[u8]) -> Vec<&'a [u8]> {
    let mut chunks = Vec::new();
    let mut rest = bytes;
    for &cut in cuts {
        let len = usize::from(cut % 17).min(rest.len());
        let (chunk, tail) = rest.split_at(len);
        chunks.push(chunk);
        rest = tail;
    }
    chunks.push(rest);
    chunks
}

/// Converts an item of `reqwest_sse_client` into a [`RefItem`].
pub fn from_client(item: reqwest_sse_client::Item) -> RefItem {
    match item {
        reqwest_sse_client::Item::Event(event) => RefItem::Event {
            event_type: event.event_type().to_owned(),
            data: event.data().to_owned(),
            last_event_id: event.last_event_id().to_owned(),
        },
        reqwest_sse_client::Item::Retry(delay) => {
            RefItem::Retry(u64::try_from(delay.as_millis()).unwrap_or(u64::MAX))
        }
        other => panic!("unknown item {other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_follows_the_spec_examples() {
        let (items, last) = reference_parse(
            b"\xEF\xBB\xBFdata: a\r\ndata:b\r\rid: 7\nretry: 10\nevent: x\ndata\n\n",
        );
        assert_eq!(
            items,
            [
                RefItem::Event {
                    event_type: "message".into(),
                    data: "a\nb".into(),
                    last_event_id: String::new()
                },
                RefItem::Retry(10),
                RefItem::Event {
                    event_type: "x".into(),
                    data: String::new(),
                    last_event_id: "7".into()
                },
            ]
        );
        assert_eq!(last, "7");
    }
}
