//! The SDK's borrowing SSE framer frames every stream as its `SseParser` does (the same
//! events, the same bytes held), on the providers' recorded streams and on any bytes cut
//! anywhere: the translator relies on it.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use higress_sdk::sse::{Fields, Framer, SseParser};
use proptest::prelude::*;

type Texts = Fields<String>;

/// Each side's events, and the bytes it held after each chunk.
type Framed = (Vec<Texts>, Vec<usize>);

/// What each side makes of `stream` cut at `cuts`: the events, and the bytes held after
/// each chunk.
fn both(stream: &[u8], cuts: &[usize]) -> (Framed, Framed) {
    let mut parser = SseParser::new();
    let mut framer = Framer::default();
    let (mut expected, mut framed) = (Vec::new(), Vec::new());
    let (mut expected_held, mut held) = (Vec::new(), Vec::new());
    let mut from = 0;
    for &cut in cuts.iter().chain([stream.len()].iter()) {
        let cut = cut.clamp(from, stream.len());
        let chunk = &stream[from..cut];
        from = cut;
        expected.extend(parser.feed(chunk).into_iter().map(|e| (e.event, e.data)));
        let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
        framer.feed(chunk, &mut |name, data| framed.push((name.map(text), data.map(text))));
        expected_held.push(parser.pending().to_vec().len());
        held.push(framer.pending().len());
        assert_eq!(parser.pending(), framer.pending());
    }
    expected.extend(parser.finish().map(|e| (e.event, e.data)));
    let text = |bytes: Vec<u8>| String::from_utf8_lossy(&bytes).into_owned();
    framed.extend(framer.finish().map(|(name, data)| (name.map(text), data.map(text))));
    ((expected, expected_held), (framed, held))
}

#[test]
fn frames_as_the_sdk_parser() {
    let streams: [&[u8]; 7] = [
        include_bytes!("fixtures/anthropic/stream_tools.sse"),
        include_bytes!("fixtures/openai/stream.sse"),
        b"event: a\r\ndata: {\"x\":\r\ndata: 1}\r\n\r\n: comment\n\nid: 1\nretry: 5\ndata\ndata:\ndata:  two\n\n",
        b"data: a\r\rdata: b\r\r",
        b"data:x\n\ndata:y\r\n\r\nevent:e\nevent: f\nfoo: bar\ndata: \xff\xfe ok\n\n",
        b"\n\n\r\n\rdata: first blank lines\n\n",
        b"data: no blank line at the end\r",
    ];
    for stream in streams {
        let whole = both(stream, &[]);
        assert_eq!(whole.0, whole.1);
        for cut in 0..=stream.len() {
            let (expected, framed) = both(stream, &[cut]);
            assert_eq!(expected, framed, "cut at {cut} of {:?}", String::from_utf8_lossy(stream));
        }
        let (expected, framed) = both(stream, &(0..stream.len()).collect::<Vec<_>>());
        assert_eq!(expected, framed, "byte by byte");
    }
}

const PIECES: [&[u8]; 12] =
    [b"data", b"event", b":", b" ", b"\r", b"\n", b"\r\n", b"x", b"\xc3\xa9", b"\xff", b"id", b"{\"a\":1}"];

proptest! {
    #[test]
    fn any_bytes_cut_anywhere(
        pieces in proptest::collection::vec(
            proptest::sample::select(&PIECES[..]),
            0..60,
        ),
        cuts in proptest::collection::vec(0usize..400, 0..8),
    ) {
        let stream: Vec<u8> = pieces.concat();
        let mut cuts = cuts;
        cuts.sort_unstable();
        let (expected, framed) = both(&stream, &cuts);
        prop_assert_eq!(expected, framed);
    }
}
