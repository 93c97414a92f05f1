//! The SSE parser inside a plugin: the host splits a real stream at every byte position,
//! and the plugin (which rewrites each event) must see whole events every time.
// Helpers outside #[test] functions may panic too: a failing test should fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use higress_host::{testing, Vm};

const STREAM: &str = "data: {\"choices\":[{\"delta\":{\"content\":\"hel\"}}]}\n\n\
: ping\n\n\
event: usage\r\ndata: {\"usage\":{\"total_tokens\":9}}\r\n\r\n\
data: [DONE]\n\n";

fn run(chunks: &[&[u8]]) -> (String, Vec<String>) {
    let vm = Vm::builder(&testing::plugin("sdk-probe")).start().unwrap();
    let s = vm.stream();
    s.send_request_headers([(":authority", "h"), (":path", "/v1/chat"), (":method", "POST"), ("x-probe", "sse")], true)
        .unwrap();
    s.send_response_headers([(":status", "200"), ("content-type", "text/event-stream")], false).unwrap();
    for (i, chunk) in chunks.iter().enumerate() {
        s.send_response_body(chunk, i + 1 == chunks.len()).unwrap();
    }
    let logs = vm.logs().into_iter().map(|l| l.message).collect();
    (s.response().body_text(), logs)
}

#[test]
fn events_split_at_every_position_come_out_whole() {
    let bytes = STREAM.as_bytes();
    let (expected, logs) = run(&[bytes]);
    assert_eq!(
        expected,
        "data: {\"CHOICES\":[{\"DELTA\":{\"CONTENT\":\"HEL\"}}]}\n\n: ping\n\nevent: usage\ndata: {\"USAGE\":{\"TOTAL_TOKENS\":9}}\n\ndata: [DONE]\n\n"
    );
    assert!(logs.iter().any(|l| l.ends_with("sse events: 4")));
    for cut in 1..bytes.len() {
        let (body, logs) = run(&[&bytes[..cut], &bytes[cut..]]);
        assert_eq!(body, expected, "split at {cut}");
        assert!(logs.iter().any(|l| l.ends_with("sse events: 4")), "split at {cut}");
    }
}

#[test]
fn byte_by_byte_chunks() {
    let bytes = STREAM.as_bytes();
    let chunks: Vec<&[u8]> = bytes.chunks(1).collect();
    let (body, _) = run(&chunks);
    assert_eq!(body, run(&[bytes]).0);
}
