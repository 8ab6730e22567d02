//! Property: whatever `sse_axum::Event` encodes, `reqwest_sse_client::EventParser` parses back to the
//! same fields, however the bytes are cut into chunks.

use std::time::Duration;

use proptest::prelude::*;
use reqwest_sse_client::{EventParser, Item};

#[derive(Debug, Clone)]
struct Spec {
    comments: Vec<String>,
    event_type: Option<String>,
    id: Option<String>,
    retry: Option<u64>,
    data: Option<String>,
}

/// Text rich in line endings, colons, spaces, NUL, BOM and non-ASCII.
fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            Just("\r\n".to_owned()),
            Just("\r".to_owned()),
            Just("\n".to_owned()),
            Just(":".to_owned()),
            Just(" ".to_owned()),
            Just("\0".to_owned()),
            Just("\u{FEFF}".to_owned()),
            Just("data: x".to_owned()),
            "[a-zé€😀]{1,6}",
            any::<char>().prop_map(String::from),
        ],
        0..12,
    )
    .prop_map(|parts| parts.concat())
}

fn no_line_breaks(text: String) -> String {
    text.replace(['\r', '\n'], "")
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        prop::collection::vec(text(), 0..2),
        prop::option::of(text().prop_map(no_line_breaks)),
        prop::option::of(text().prop_map(|t| no_line_breaks(t).replace('\0', ""))),
        prop::option::of(0_u64..1_000_000_000_000),
        prop::option::weighted(0.8, text()),
    )
        .prop_map(|(comments, event_type, id, retry, data)| Spec {
            comments,
            event_type,
            id,
            retry,
            data,
        })
}

fn encode(spec: &Spec) -> sse_axum::Event {
    let mut event = sse_axum::Event::new();
    for comment in &spec.comments {
        event = event.comment(comment);
    }
    if let Some(event_type) = &spec.event_type {
        event = event.try_event(event_type).unwrap();
    }
    if let Some(id) = &spec.id {
        event = event.try_id(id).unwrap();
    }
    if let Some(retry) = spec.retry {
        event = event.retry(Duration::from_millis(retry));
    }
    if let Some(data) = &spec.data {
        event = event.data(data);
    }
    event
}

#[derive(Debug, PartialEq, Eq)]
enum Record {
    Event {
        event_type: String,
        data: String,
        id: String,
    },
    Retry(u64),
}

/// What a client must see for a sequence of events.
fn model(specs: &[Spec]) -> Vec<Record> {
    let mut records = Vec::new();
    let mut last_id = String::new();
    for spec in specs {
        if let Some(retry) = spec.retry {
            records.push(Record::Retry(retry));
        }
        if let Some(id) = &spec.id {
            last_id.clone_from(id);
        }
        // An event with only comments encodes to a comment block: nothing dispatched.
        if let Some(data) = &spec.data {
            let event_type = match spec.event_type.as_deref() {
                None | Some("") => "message".to_owned(),
                Some(t) => t.to_owned(),
            };
            let data = data.replace("\r\n", "\n").replace('\r', "\n");
            records.push(Record::Event {
                event_type,
                data,
                id: last_id.clone(),
            });
        }
    }
    records
}

fn parse(chunks: &[&[u8]]) -> Vec<Record> {
    let mut parser = EventParser::new();
    let mut records = Vec::new();
    for chunk in chunks {
        parser.feed_with(chunk, |item| match item.unwrap() {
            Item::Event(event) => records.push(Record::Event {
                event_type: event.event_type().to_owned(),
                data: event.data().to_owned(),
                id: event.last_event_id().to_owned(),
            }),
            Item::Retry(delay) => {
                records.push(Record::Retry(u64::try_from(delay.as_millis()).unwrap()))
            }
            other => panic!("{other:?}"),
        });
    }
    parser.finish();
    records
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn what_sse_axum_encodes_sse_client_parses_back(
        specs in prop::collection::vec(spec(), 1..5),
        cut in any::<prop::sample::Index>(),
    ) {
        let bytes: Vec<u8> = specs.iter().flat_map(|spec| encode(spec).to_bytes()).collect();
        let expected = model(&specs);
        prop_assert_eq!(&parse(&[&bytes]), &expected);
        let cut = cut.index(bytes.len() + 1);
        prop_assert_eq!(&parse(&[&bytes[..cut], &bytes[cut..]]), &expected);
        let one_byte: Vec<&[u8]> = bytes.chunks(1).collect();
        prop_assert_eq!(&parse(&one_byte), &expected);
    }
}
