//! `Event` encoding: the exact wire bytes of every field combination, line-ending
//! normalisation, large payloads, and every refused input.

use std::{error::Error as _, time::Duration};

use sse_axum::{Event, EventError};

fn text(event: &Event) -> String {
    String::from_utf8(event.to_bytes().to_vec()).unwrap()
}

#[test]
fn every_combination_of_fields_has_exact_bytes() {
    // (setter, the line it must write), in the order the encoder writes them.
    type Setter = fn(Event) -> Event;
    let fields: [(Setter, &str); 5] = [
        (|e| e.comment("note"), ": note\n"),
        (|e| e.try_event("kind").unwrap(), "event: kind\n"),
        (|e| e.try_id("17").unwrap(), "id: 17\n"),
        (|e| e.retry(Duration::from_millis(1500)), "retry: 1500\n"),
        (|e| e.data("payload"), "data: payload\n"),
    ];
    for mask in 0u32..(1 << fields.len()) {
        let chosen: Vec<_> = (0..fields.len()).filter(|i| mask & (1 << i) != 0).collect();
        // Set the fields in reverse order: the encoding order must not depend on it.
        let mut event = Event::new();
        for &i in chosen.iter().rev() {
            event = (fields[i].0)(event);
        }
        let mut expected: String = chosen.iter().map(|&i| fields[i].1).collect();
        if !expected.is_empty() {
            expected.push('\n');
        }
        assert_eq!(text(&event), expected, "fields {chosen:?}");
        assert_eq!(event.is_empty(), chosen.is_empty());
        assert_eq!(event.encoded_len(), expected.len());
    }
}

#[test]
fn an_empty_event_writes_nothing() {
    let event = Event::new();
    assert!(event.is_empty());
    assert!(event.to_bytes().is_empty());
    assert_eq!(event, Event::default());
}

#[test]
fn data_line_endings_each_count_once() {
    let cases = [
        ("a\nb", "data: a\ndata: b\n\n"),
        ("a\r\nb", "data: a\ndata: b\n\n"),
        ("a\rb", "data: a\ndata: b\n\n"),
        ("a\r\n\r\nb", "data: a\ndata:\ndata: b\n\n"),
        ("a\n\rb", "data: a\ndata:\ndata: b\n\n"),
        ("a\r\r\nb", "data: a\ndata:\ndata: b\n\n"),
        ("a\n", "data: a\ndata:\n\n"),
        ("\r\n", "data:\ndata:\n\n"),
        ("", "data:\n\n"),
        ("a\n\nb", "data: a\ndata:\ndata: b\n\n"),
    ];
    for (data, expected) in cases {
        assert_eq!(text(&Event::new().data(data)), expected, "data {data:?}");
    }
}

#[test]
fn values_keep_leading_spaces_and_colons() {
    assert_eq!(text(&Event::new().data(" a")), "data:  a\n\n");
    assert_eq!(text(&Event::new().data("a: b")), "data: a: b\n\n");
    assert_eq!(
        text(&Event::new().try_event(" x").unwrap()),
        "event:  x\n\n"
    );
    assert_eq!(text(&Event::new().try_id(" 1").unwrap()), "id:  1\n\n");
    assert_eq!(text(&Event::new().comment(" c")), ":  c\n\n");
}

#[test]
fn empty_values_are_written_without_a_space() {
    assert_eq!(text(&Event::new().try_event("").unwrap()), "event:\n\n");
    assert_eq!(text(&Event::new().try_id("").unwrap()), "id:\n\n");
    assert_eq!(text(&Event::new().comment("")), ":\n\n");
}

#[test]
fn unicode_is_written_as_utf8() {
    let event = Event::new()
        .try_event("\u{e9}v\u{e9}nement")
        .unwrap()
        .try_id("\u{2603}")
        .unwrap()
        .data("h\u{e9}llo \u{1f30d}\n\u{4e16}\u{754c}\u{2028}same line");
    assert_eq!(
        event.to_bytes(),
        "event: \u{e9}v\u{e9}nement\nid: \u{2603}\ndata: h\u{e9}llo \u{1f30d}\ndata: \u{4e16}\u{754c}\u{2028}same line\n\n"
    );
}

#[test]
fn nul_is_fine_in_data_and_comments() {
    assert_eq!(text(&Event::new().data("a\0b")), "data: a\0b\n\n");
    assert_eq!(text(&Event::new().comment("a\0b")), ": a\0b\n\n");
}

#[test]
fn a_one_mib_payload_is_encoded_exactly() {
    let one_line = "x".repeat(1 << 20);
    let bytes = Event::new().data(&one_line).to_bytes();
    assert_eq!(bytes.len(), "data: ".len() + (1 << 20) + 2);
    assert!(bytes.starts_with(b"data: xxx"));
    assert!(bytes.ends_with(b"xxx\n\n"));

    // 1 MiB in 1024 lines of 1023 characters plus a line ending, alternating CRLF, CR and LF.
    let mut many_lines = String::new();
    for i in 0..1024 {
        many_lines.push_str(&"y".repeat(1023));
        many_lines.push_str(["\r\n", "\r", "\n"][i % 3]);
    }
    let event = Event::new().data(&many_lines);
    let bytes = event.to_bytes();
    assert_eq!(bytes.len(), event.encoded_len());
    let text = std::str::from_utf8(&bytes).unwrap();
    let lines: Vec<_> = text.split('\n').collect();
    // 1024 full lines, the empty line after the final line ending, the blank line, and "".
    assert_eq!(lines.len(), 1024 + 3);
    assert!(
        lines[..1024]
            .iter()
            .all(|line| *line == format!("data: {}", "y".repeat(1023)))
    );
    assert_eq!(lines[1024..], ["data:", "", ""]);
    assert!(!text.contains('\r'));
}

#[test]
fn retry_is_written_in_whole_milliseconds() {
    let cases = [
        (Duration::ZERO, "retry: 0\n\n"),
        (Duration::from_micros(1_500_900), "retry: 1500\n\n"),
        (Duration::from_secs(3600), "retry: 3600000\n\n"),
        (Duration::MAX, "retry: 18446744073709551615999\n\n"),
    ];
    for (retry, expected) in cases {
        assert_eq!(text(&Event::new().retry(retry)), expected);
    }
}

#[test]
fn setters_replace_except_comment_which_appends() {
    let event = Event::new()
        .data("old")
        .data("new")
        .try_event("a")
        .unwrap()
        .try_event("b")
        .unwrap()
        .try_id("1")
        .unwrap()
        .try_id("2")
        .unwrap()
        .retry(Duration::from_secs(1))
        .retry(Duration::from_secs(2))
        .comment("one")
        .comment("two\r\nthree");
    assert_eq!(
        text(&event),
        ": one\n: two\n: three\nevent: b\nid: 2\nretry: 2000\ndata: new\n\n"
    );
    assert_eq!(event.data_str(), Some("new"));
    assert_eq!(event.event_type(), Some("b"));
    assert_eq!(event.id_str(), Some("2"));
    assert_eq!(event.retry_duration(), Some(Duration::from_secs(2)));
    assert_eq!(event.comments(), ["one", "two\r\nthree"]);
}

#[test]
fn event_types_with_line_breaks_are_refused() {
    for bad in ["a\nb", "a\rb", "a\r\nb", "\n", "trailing\r"] {
        let error = Event::new().try_event(bad).unwrap_err();
        assert!(matches!(error, EventError::LineBreakInEventType), "{bad:?}");
        assert_eq!(error.to_string(), "event type contains a line break");
        assert!(error.source().is_none());
    }
    // NUL is harmless in an event type.
    assert_eq!(
        text(&Event::new().try_event("a\0b").unwrap()),
        "event: a\0b\n\n"
    );
}

#[test]
fn ids_with_line_breaks_or_nul_are_refused() {
    for bad in ["a\nb", "a\rb", "a\r\nb", "\r", "1\n"] {
        let error = Event::new().try_id(bad).unwrap_err();
        assert!(matches!(error, EventError::LineBreakInId), "{bad:?}");
        assert_eq!(error.to_string(), "event id contains a line break");
    }
    for bad in ["\0", "a\0b", "1\0"] {
        let error = Event::new().try_id(bad).unwrap_err();
        assert!(matches!(error, EventError::NulInId), "{bad:?}");
        assert_eq!(error.to_string(), "event id contains a nul character");
    }
}

/// What a client makes of the `data:` lines of an encoded event (WHATWG parsing rules).
fn client_data(bytes: &[u8]) -> String {
    let text = std::str::from_utf8(bytes).unwrap();
    let body = text.strip_suffix("\n\n").unwrap();
    assert!(!body.contains('\r'));
    body.split('\n')
        .map(|line| {
            let value = line.strip_prefix("data:").unwrap();
            value.strip_prefix(' ').unwrap_or(value)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn every_short_data_string_round_trips_through_the_client_rules() {
    let alphabet = ['a', ' ', '\r', '\n'];
    let mut count = 0;
    for len in 0..=6u32 {
        for mut n in 0..alphabet.len().pow(len) {
            let mut data = String::new();
            for _ in 0..len {
                data.push(alphabet[n % alphabet.len()]);
                n /= alphabet.len();
            }
            let expected = data.replace("\r\n", "\n").replace('\r', "\n");
            let bytes = Event::new().data(&data).to_bytes();
            assert_eq!(client_data(&bytes), expected, "data {data:?}");
            count += 1;
        }
    }
    assert_eq!(count, 5461);
}

#[cfg(feature = "json")]
#[test]
fn json_data_is_compact_and_single_line() {
    #[derive(serde::Serialize)]
    struct Message<'a> {
        user: &'a str,
        text: &'a str,
    }
    let event = Event::new()
        .try_event("message")
        .unwrap()
        .json_data(&Message {
            user: "ada",
            text: "two\nlines \u{1f600}",
        })
        .unwrap();
    assert_eq!(
        text(&event),
        "event: message\ndata: {\"user\":\"ada\",\"text\":\"two\\nlines \u{1f600}\"}\n\n"
    );
}

#[cfg(feature = "json")]
#[test]
fn json_errors_are_reported_with_their_source() {
    let mut map = std::collections::BTreeMap::new();
    map.insert((1, 2), "tuple keys are not json");
    let error = Event::new().json_data(&map).unwrap_err();
    assert!(matches!(error, EventError::Json(_)));
    assert_eq!(
        error.to_string(),
        "event data could not be serialized as json"
    );
    assert!(error.source().is_some());
}
