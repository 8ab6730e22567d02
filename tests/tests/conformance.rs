//! The conformance vectors (tests/fixtures/conformance.json) against `reqwest_sse_client::EventParser`:
//! as given, re-split at every position (short inputs) or at seeded random positions (long
//! ones), one byte per chunk; plus property tests against a naive reference implementation of
//! the WHATWG algorithm, the linear-time check and the size limit.

use std::time::{Duration, Instant};

use bytes::Bytes;
use proptest::prelude::*;
use reqwest_sse_client::{EventParser, Item, ParseError};
use serde_json::{Value, json};
use sse_tests::conformance::{Case, load_cases};

fn record(item: Result<Item, ParseError>) -> Value {
    match item {
        Ok(Item::Event(event)) => json!({
            "type": event.event_type(),
            "data": event.data(),
            "last_event_id": event.last_event_id(),
        }),
        Ok(Item::Retry(delay)) => json!({ "retry": u64::try_from(delay.as_millis()).unwrap() }),
        Ok(other) => panic!("unexpected item {other:?}"),
        Err(error) => json!({ "error": error.to_string() }),
    }
}

/// The records of both ways in: borrowed slices (`next_item`, events copy their parts) and
/// `Bytes` chunks (`next_item_shared`, events share them). A difference between the two is a
/// record of its own, so that every comparison with the expected records fails on it.
fn run<'a>(chunks: impl IntoIterator<Item = &'a [u8]>) -> Vec<Value> {
    let chunks: Vec<&[u8]> = chunks.into_iter().collect();
    let mut parser = EventParser::new();
    let mut records = Vec::new();
    for chunk in &chunks {
        parser.feed_with(chunk, |item| records.push(record(item)));
    }
    parser.finish();
    let mut parser = EventParser::new();
    let mut shared = Vec::new();
    for chunk in &chunks {
        let chunk = Bytes::copy_from_slice(chunk);
        let mut input = &chunk[..];
        while let Some(item) = parser.next_item_shared(&chunk, &mut input) {
            shared.push(record(item));
        }
    }
    parser.finish();
    if shared != records {
        records.push(json!({ "next_item_shared gave instead": shared }));
    }
    records
}

fn short(value: &Value) -> String {
    let mut text = value.to_string();
    if text.len() > 200 {
        let mut end = 200;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push_str("...");
    }
    text
}

/// `None` when equal, otherwise a description of the first difference.
fn compare(case: &Case, how: &str, got: &[Value]) -> Option<String> {
    if got == case.expect.as_slice() {
        return None;
    }
    let index = got
        .iter()
        .zip(&case.expect)
        .position(|(a, b)| a != b)
        .unwrap_or_else(|| got.len().min(case.expect.len()));
    let show = |records: &[Value]| {
        records
            .get(index)
            .map_or_else(|| "(none)".to_owned(), short)
    };
    Some(format!(
        "case `{}` ({how}): {}\n  first difference at record {index}: expected {}, got {} \
         ({} records expected, {} got)",
        case.name,
        case.why,
        show(&case.expect),
        show(got),
        case.expect.len(),
        got.len()
    ))
}

/// A small seeded generator (xorshift64*), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let x = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D);
        usize::try_from(x % u64::try_from(n).unwrap()).unwrap()
    }
}

const SHORT: usize = 4096;

/// Held by the CPU-heavy tests, so that the timing test does not run beside them.
static HEAVY: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn heavy() -> std::sync::MutexGuard<'static, ()> {
    HEAVY
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[test]
fn conformance_vectors_as_given() {
    let cases = load_cases();
    assert!(cases.len() >= 150, "only {} cases loaded", cases.len());
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|case| {
            compare(
                case,
                "as given",
                &run(case.chunks.iter().map(Vec::as_slice)),
            )
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn conformance_vectors_resplit() {
    let _heavy = heavy();
    let cases = load_cases();
    let mut failures = Vec::new();
    let mut runs = 0_usize;
    for case in &cases {
        let all = case.chunks.concat();
        let mut check = |how: String, chunks: Vec<&[u8]>| {
            runs += 1;
            if let Some(failure) = compare(case, &how, &run(chunks)) {
                failures.push(failure);
            }
        };
        if all.len() <= SHORT {
            for k in 0..=all.len() {
                check(format!("split at {k}"), vec![&all[..k], &all[k..]]);
            }
        } else {
            let mut rng = Rng(0x5EED ^ all.len() as u64);
            for round in 0..8 {
                let mut cuts: Vec<usize> =
                    (0..1 + round).map(|_| rng.below(all.len() + 1)).collect();
                cuts.sort_unstable();
                let mut chunks = Vec::new();
                let mut start = 0;
                for &cut in &cuts {
                    chunks.push(&all[start..cut]);
                    start = cut;
                }
                chunks.push(&all[start..]);
                check(format!("cut at {cuts:?}"), chunks);
            }
        }
        if all.len() <= 256 * 1024 {
            // One byte per chunk, and the tiny sizes the parser appends without a line scan.
            for size in [1, 3, 7, 16, 17] {
                check(
                    format!("{size} bytes per chunk"),
                    all.chunks(size).collect(),
                );
            }
        }
        if failures.len() > 20 {
            break;
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(runs > 5_000, "only {runs} runs");
}

/// The WHATWG algorithm written the naive way: decode everything, split lines, interpret.
fn reference(bytes: &[u8]) -> Vec<Value> {
    let text = String::from_utf8_lossy(bytes);
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(&text);
    let mut records = Vec::new();
    let (mut data, mut event_type, mut id_buffer, mut last_id) =
        (String::new(), String::new(), String::new(), String::new());
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
            last_id.clone_from(&id_buffer);
            if data.is_empty() {
                event_type.clear();
                continue;
            }
            data.pop();
            let kind = if event_type.is_empty() {
                "message"
            } else {
                event_type.as_str()
            };
            records.push(json!({"type": kind, "data": data, "last_event_id": last_id}));
            data.clear();
            event_type.clear();
            continue;
        }
        if line.starts_with(':') {
            continue;
        }
        let (name, value) = match line.split_once(':') {
            Some((name, value)) => (name, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match name {
            "data" => {
                data.push_str(value);
                data.push('\n');
            }
            "event" => value.clone_into(&mut event_type),
            "id" if !value.contains('\0') => value.clone_into(&mut id_buffer),
            "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                if let Ok(ms) = value.parse::<u64>() {
                    records.push(json!({ "retry": ms }));
                }
            }
            _ => {}
        }
    }
    records
}

/// Bytes biased towards what matters to the parser.
fn stream_bytes() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(b"data".to_vec()),
        Just(b"data:".to_vec()),
        Just(b"data: ".to_vec()),
        Just(b"event: ".to_vec()),
        Just(b"id: ".to_vec()),
        Just(b"retry: ".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"\r".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b":".to_vec()),
        Just(b" ".to_vec()),
        Just(b"\0".to_vec()),
        Just(vec![0xEF, 0xBB, 0xBF]),
        Just("é€😀".as_bytes().to_vec()),
        Just(vec![0xE2, 0x82]),
        Just(vec![0xFF]),
        prop::collection::vec(b'0'..=b'9', 1..4),
        prop::collection::vec(any::<u8>(), 1..4),
        "[a-z]{1,5}".prop_map(String::into_bytes),
    ];
    prop::collection::vec(piece, 0..40).prop_map(|pieces| pieces.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn parser_matches_the_reference_however_the_input_is_split(
        bytes in stream_bytes(),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
    ) {
        let _heavy = heavy();
        let expected = reference(&bytes);
        prop_assert_eq!(&run([bytes.as_slice()]), &expected);
        let mut cuts: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
        cuts.sort_unstable();
        let mut chunks = Vec::new();
        let mut start = 0;
        for cut in cuts {
            chunks.push(&bytes[start..cut]);
            start = cut;
        }
        chunks.push(&bytes[start..]);
        prop_assert_eq!(&run(chunks), &expected);
        for size in [1, 2, 7, 16] {
            prop_assert_eq!(&run(bytes.chunks(size)), &expected);
        }
    }
}

fn time_one_line(len: usize) -> Duration {
    let mut parser = EventParser::new();
    let line = vec![b'x'; 1024];
    let start = Instant::now();
    let mut events = 0;
    parser.feed_with(b"data: ", |_| {});
    for _ in 0..len / 1024 {
        parser.feed_with(&line, |_| events += 1);
    }
    parser.feed_with(b"\n\n", |item| {
        let Ok(Item::Event(event)) = item else {
            panic!("{item:?}")
        };
        assert_eq!(event.data().len(), len);
        events += 1;
    });
    assert_eq!(events, 1);
    start.elapsed()
}

#[test]
fn long_line_in_small_chunks_is_linear() {
    let _heavy = heavy();
    // Warm up the allocator, then take the best of five interleaved runs for each size, so
    // that a busy machine does not decide the ratio.
    time_one_line(1 << 20);
    let (mut one, mut eight) = (Duration::MAX, Duration::MAX);
    for _ in 0..5 {
        one = one.min(time_one_line(1 << 20));
        eight = eight.min(time_one_line(8 << 20));
    }
    let ratio = eight.as_secs_f64() / one.as_secs_f64().max(1e-6);
    eprintln!("1 MiB line: {one:?}, 8 MiB line: {eight:?}, ratio {ratio:.2}");
    assert!(
        ratio < 16.0,
        "8 MiB took {ratio:.1}x the time of 1 MiB (linear is 8x)"
    );
}

#[test]
fn event_size_limit_is_a_typed_error_and_parsing_resumes() {
    let mut parser = EventParser::new().with_max_event_size(1 << 20);
    let mut records = Vec::new();
    let chunk = vec![b'y'; 64 * 1024];
    parser.feed_with(b"data: ", |item| records.push(record(item)));
    for _ in 0..64 {
        // 4 MiB fed in total: never buffered past the limit.
        parser.feed_with(&chunk, |item| records.push(record(item)));
    }
    parser.feed_with(b"\n\ndata: after\n\n", |item| records.push(record(item)));
    assert_eq!(
        records,
        [
            json!({"error": "event exceeds the maximum size of 1048576 bytes"}),
            json!({"type": "message", "data": "after", "last_event_id": ""}),
        ]
    );
    // The default limit is 16 MiB.
    assert_eq!(EventParser::new().max_event_size(), 16 << 20);
}
