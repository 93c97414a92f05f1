//! Property tests: SSE streams split anywhere parse to the same events and bytes.
// Helpers outside #[test] functions may panic too: a failing test should fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use higress_sdk::sse::{SseEvent, SseParser};
use proptest::prelude::*;

fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 {}\":,\\[\\]_.-]{0,24}"
}

fn event() -> impl Strategy<Value = SseEvent> {
    (
        proptest::option::of("[a-z_]{1,12}"),
        proptest::option::of(proptest::collection::vec(text(), 1..4)),
        proptest::option::of("[0-9a-f]{1,8}"),
        proptest::option::of(0u64..100_000),
        proptest::collection::vec(text(), 0..2),
    )
        .prop_map(|(event, data, id, retry, comments)| SseEvent {
            event,
            data: data.map(|lines| lines.join("\n")),
            id,
            retry,
            comments,
            raw: Vec::new(),
        })
}

proptest! {
    #[test]
    fn written_events_survive_any_chunking(events in proptest::collection::vec(event(), 0..8), cuts in proptest::collection::vec(any::<usize>(), 0..12), crlf in any::<bool>()) {
        let mut stream: Vec<u8> = events.iter().flat_map(SseEvent::to_bytes).collect();
        if crlf {
            stream = String::from_utf8(stream).unwrap().replace('\n', "\r\n").into_bytes();
        }
        let mut points: Vec<usize> = cuts.iter().map(|c| c % (stream.len() + 1)).collect();
        points.sort_unstable();
        let mut parser = SseParser::new();
        let mut parsed = Vec::new();
        let mut last = 0;
        for p in points.into_iter().chain([stream.len()]) {
            parsed.extend(parser.feed(&stream[last..p]));
            last = p;
        }
        prop_assert!(parser.pending().is_empty());
        let raw: Vec<u8> = parsed.iter().flat_map(|e| e.raw.clone()).collect();
        prop_assert_eq!(&raw, &stream);
        let fields: Vec<SseEvent> = parsed.into_iter().map(|e| SseEvent { raw: Vec::new(), ..e }).collect();
        prop_assert_eq!(fields, events);
    }
}
