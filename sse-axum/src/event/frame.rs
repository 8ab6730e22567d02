//! Frames: the events of one publish written together under one id, in one [`Bytes`].
//!
//! The hub writes a frame once and shares it with every subscriber and its history. A shared
//! backend that learns the id only after storing the frame (Redis gives an entry its id when it
//! appends it) stores a *template* instead: the frame with an empty `id:` line in each event,
//! which [`fill`] turns into the frame for the id. Both live here, beside the encoder, so the
//! wire format has one owner.

use bytes::{BufMut as _, Bytes, BytesMut};

use super::{Event, Id};

/// The line a template holds where the id goes: an `id` field with an empty value.
const PLACEHOLDER: &[u8] = b"id:\n";

/// The frame of `events`, each written with `id` (replacing any id it had); `None` when there
/// is no event.
pub(crate) fn encode(mut events: Vec<Event>, id: &Id) -> Option<Bytes> {
    for event in &mut events {
        *event = std::mem::take(event).id(id);
    }
    match events.as_slice() {
        [] => None,
        [only] => Some(only.to_bytes()),
        all => {
            // Exactly sized: the frame is kept (history, every subscriber's queue).
            let mut frame = BytesMut::with_capacity(all.iter().map(Event::encoded_len).sum());
            for event in all {
                event.encode_into(&mut frame);
            }
            Some(frame.freeze())
        }
    }
}

/// The template of `events`: their frame with the id left blank, for [`fill`].
pub(crate) fn template(events: Vec<Event>) -> Option<Bytes> {
    encode(events, &Id::from_static(""))
}

/// The frame for `id` from a [`template`]: every line that is exactly `id:` becomes `id: <id>`.
///
/// Only an `id` field with an empty value encodes to that line (comments start with `:`, other
/// fields have other names, data lines start with `data`), so no event content can be mistaken
/// for it. The result is byte for byte what [`encode`] writes for the same events and id.
pub(crate) fn fill(template: &[u8], id: &Id) -> Bytes {
    let id = id.as_str().as_bytes();
    let lines = template.split_inclusive(|&b| b == b'\n');
    let placeholders = lines.clone().filter(|line| *line == PLACEHOLDER).count();
    let mut frame = BytesMut::with_capacity(template.len() + placeholders * (id.len() + 1));
    for line in lines {
        if line == PLACEHOLDER {
            frame.put_slice(b"id: ");
            frame.put_slice(id);
            frame.put_u8(b'\n');
        } else {
            frame.put_slice(line);
        }
    }
    frame.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EventType;

    #[test]
    fn filled_templates_match_encoded_frames() {
        let events = || {
            vec![
                Event::new().data("plain"),
                Event::new()
                    .event(EventType::from_static("AAPL"))
                    .data("189.5\nid:\n"),
                Event::new()
                    .comment("")
                    .comment("id:")
                    .retry(std::time::Duration::from_secs(1)),
                Event::new().id(Id::from_static("old")).data(""),
            ]
        };
        for id in [
            Id::from(crate::hub::EventId::new(1_700_000_000_000, 0)),
            Id::from(crate::hub::EventId::new(1_700_000_000_000, 7)),
        ] {
            let template = template(events()).unwrap();
            assert_eq!(fill(&template, &id), encode(events(), &id).unwrap());
        }
        // No placeholder, or a template without a final newline: copied as is.
        let id = Id::from(5_u64);
        assert_eq!(fill(b"data: x\n\n", &id), "data: x\n\n");
        assert_eq!(fill(b"id:", &id), "id:");
        assert_eq!(encode(Vec::new(), &id), None);
    }
}
