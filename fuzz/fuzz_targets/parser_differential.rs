//! Differential: `reqwest_sse_client::EventParser` on arbitrary bytes cut at arbitrary points must give
//! the same events and retries, in the same order, as the reference parser on the whole input.
//! So must the parser fed the same chunks as `Bytes` (`next_item_shared`). A run with a tiny
//! size limit must not panic and must respect the limit.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use reqwest_sse_client::EventParser;
use sse_fuzz::{from_client, reference_parse, split};

#[derive(Debug, Arbitrary)]
struct Input {
    cuts: Vec<u8>,
    stream: Vec<u8>,
}

fuzz_target!(|input: Input| {
    let chunks = split(&input.stream, &input.cuts);

    let mut parser = EventParser::new();
    let mut items = Vec::new();
    for chunk in &chunks {
        let mut rest = *chunk;
        while let Some(item) = parser.next_item(&mut rest) {
            match item {
                Ok(item) => items.push(from_client(item)),
                Err(error) => panic!("no size error expected below 16 MiB: {error}"),
            }
        }
        assert!(rest.is_empty(), "next_item returned None with input left");
    }
    parser.finish();

    let (expected, last_event_id) = reference_parse(&input.stream);
    assert_eq!(items, expected, "chunks: {chunks:?}");
    assert_eq!(parser.last_event_id(), last_event_id);

    // The same chunks as `Bytes` (`next_item_shared`: events may share them): the same items.
    let mut shared = EventParser::new();
    let mut shared_items = Vec::new();
    for chunk in &chunks {
        let chunk = bytes::Bytes::copy_from_slice(chunk);
        let mut rest = &chunk[..];
        while let Some(item) = shared.next_item_shared(&chunk, &mut rest) {
            match item {
                Ok(item) => shared_items.push(from_client(item)),
                Err(error) => panic!("no size error expected below 16 MiB: {error}"),
            }
        }
        assert!(rest.is_empty(), "next_item_shared returned None with input left");
    }
    shared.finish();
    assert_eq!(shared_items, expected, "Bytes chunks: {chunks:?}");
    assert_eq!(shared.last_event_id(), last_event_id);

    // The same input with a limit of 8 bytes: errors are allowed, panics are not, and no
    // event may carry more data than the limit.
    let mut small = EventParser::new().with_max_event_size(8);
    for chunk in &chunks {
        small.feed_with(chunk, |item| {
            if let Ok(reqwest_sse_client::Item::Event(event)) = item {
                assert!(event.data().len() <= 8 * 3, "{:?}", event.data());
            }
        });
    }
    small.finish();
});
