//! Moonshot's stream chunks carry their usage inside the choice (`choices[0].usage`); OpenAI
//! clients and the gateway's token counters read it at the chunk's `usage`. Each event is
//! framed whole (split anywhere across chunks) and only the events with such a usage are
//! rewritten; every other byte passes as it came.

use crate::json::JsonDoc;
use higress_sdk::sse::{SseEvent, SseParser};

/// The client's bytes for one chunk of the stream.
pub fn feed(parser: &mut SseParser, chunk: &[u8], end_of_stream: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(chunk.len());
    for event in parser.feed(chunk) {
        write(&event, &mut out);
    }
    if end_of_stream {
        if let Some(event) = parser.finish() {
            write(&event, &mut out);
        }
    }
    out
}

fn write(event: &SseEvent, out: &mut Vec<u8>) {
    match event.data.as_deref().and_then(moved) {
        Some(data) => {
            out.extend_from_slice(b"data: ");
            out.extend_from_slice(&data);
            out.extend_from_slice(b"\n\n");
        }
        None => out.extend_from_slice(&event.raw),
    }
}

/// The event's data with its choice's usage moved to the chunk; `None` when there is none.
fn moved(data: &str) -> Option<Vec<u8>> {
    if !data.contains("\"usage\"") {
        return None;
    }
    let mut doc = JsonDoc::parse(data.as_bytes()).ok()?;
    let usage = doc.raw(&["choices", "0", "usage"])?.to_vec();
    doc.remove(&["choices", "0", "usage"]);
    doc.set_raw(&["usage"], &usage);
    Some(doc.into_bytes())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn usage_moves_out_of_the_choice_however_the_stream_is_cut() {
        let stream = "data: {\"id\":\"1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"}}]}\n\n\
            data: {\"id\":\"1\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\",\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2,\"total_tokens\":3}}]}\n\n\
            data: [DONE]\n\n";
        let expected = "data: {\"id\":\"1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"}}]}\n\n\
            data: {\"id\":\"1\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2,\"total_tokens\":3}}\n\n\
            data: [DONE]\n\n";
        for size in [1, 3, 17, stream.len()] {
            let mut parser = SseParser::new();
            let mut out = Vec::new();
            let chunks: Vec<&[u8]> = stream.as_bytes().chunks(size).collect();
            for (i, chunk) in chunks.iter().enumerate() {
                out.extend(feed(&mut parser, chunk, i + 1 == chunks.len()));
            }
            assert_eq!(String::from_utf8(out).unwrap(), expected, "chunks of {size}");
        }
    }
}
