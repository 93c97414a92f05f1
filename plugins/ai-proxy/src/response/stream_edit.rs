//! Edits of an OpenAI-style chat stream, event by event: each event is framed whole (split
//! anywhere across chunks), only the events edited are rewritten, every other byte passes
//! as it came.
//!
//! - Moonshot's chunks carry their usage inside the choice (`choices[0].usage`); OpenAI
//!   clients and the gateway's token counters read it at the chunk's `usage`.
//! - `promoteThinkingOnEmpty` (see [`promote`]).

use super::promote;
use crate::json::JsonDoc;
use higress_sdk::sse::{SseEvent, SseParser};
use std::borrow::Cow;

/// The edits of one stream, and its framing state.
pub struct StreamEdit {
    parser: SseParser,
    choice_usage: bool,
    promote: Option<promote::Stream>,
}

impl StreamEdit {
    /// Edits moving the choice's usage (`choice_usage`) and promoting reasoning (`promote`).
    pub fn new(choice_usage: bool, promote: bool) -> StreamEdit {
        StreamEdit { parser: SseParser::new(), choice_usage, promote: promote.then(promote::Stream::default) }
    }

    /// The bytes to send for one chunk of the stream.
    pub fn feed(&mut self, chunk: &[u8], end_of_stream: bool) -> Vec<u8> {
        let mut out = Vec::with_capacity(chunk.len());
        for event in self.parser.feed(chunk) {
            self.write(&event, &mut out);
        }
        if end_of_stream {
            if let Some(event) = self.parser.finish() {
                self.write(&event, &mut out);
            }
            if let Some(data) = self.promote.as_mut().and_then(promote::Stream::finish) {
                data_event(&data, &mut out);
            }
        }
        out
    }

    fn write(&mut self, event: &SseEvent, out: &mut Vec<u8>) {
        let Some(data) = event.data.as_deref() else {
            out.extend_from_slice(&event.raw);
            return;
        };
        let moved = if self.choice_usage { moved(data) } else { None };
        let now = match &moved {
            Some(bytes) => String::from_utf8_lossy(bytes),
            None => Cow::Borrowed(data),
        };
        if let Some(events) = self.promote.as_mut().and_then(|p| p.event(&now)) {
            for data in events {
                data_event(&data, out);
            }
            return;
        }
        match moved {
            Some(data) => data_event(&data, out),
            None => out.extend_from_slice(&event.raw),
        }
    }
}

fn data_event(data: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(b"data: ");
    out.extend_from_slice(data);
    out.extend_from_slice(b"\n\n");
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
            let mut edit = StreamEdit::new(true, false);
            let mut out = Vec::new();
            let chunks: Vec<&[u8]> = stream.as_bytes().chunks(size).collect();
            for (i, chunk) in chunks.iter().enumerate() {
                out.extend(edit.feed(chunk, i + 1 == chunks.len()));
            }
            assert_eq!(String::from_utf8(out).unwrap(), expected, "chunks of {size}");
        }
    }

    #[test]
    fn reasoning_is_promoted_however_the_stream_is_cut() {
        let stream = "data: {\"id\":\"1\",\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":\"so: 42\"}}]}\n\n\
            data: {\"id\":\"1\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\",\"usage\":{\"total_tokens\":3}}]}\n\n\
            data: [DONE]\n\n";
        let expected = "data: {\"id\":\"1\",\"choices\":[{\"index\":0,\"delta\":{}}]}\n\n\
            data: {\"id\":\"1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"so: 42\"},\"finish_reason\":null}]}\n\n\
            data: {\"id\":\"1\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":{\"total_tokens\":3}}\n\n\
            data: [DONE]\n\n";
        for size in [1, 5, 64, stream.len()] {
            let mut edit = StreamEdit::new(true, true);
            let mut out = Vec::new();
            let chunks: Vec<&[u8]> = stream.as_bytes().chunks(size).collect();
            for (i, chunk) in chunks.iter().enumerate() {
                out.extend(edit.feed(chunk, i + 1 == chunks.len()));
            }
            assert_eq!(String::from_utf8(out).unwrap(), expected, "chunks of {size}");
        }
    }
}
