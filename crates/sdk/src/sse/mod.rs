//! Server-sent events: an incremental parser for response bodies that arrive in chunks split
//! at any byte, a writer, and a [`Framer`] that lends each event's `event` and `data` from
//! the chunk for readers that need nothing else (stream translation).
//!
//! The parser keeps the bytes of an incomplete event for the next chunk, so an event split
//! across chunks (Higress issue #4616) comes out whole. Each event also carries its exact
//! raw bytes: concatenating them reproduces the stream byte for byte.

mod frame;

pub use frame::{Fields, Framer};

/// One event (a block of lines ended by a blank line).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SseEvent {
    /// `event:` field.
    pub event: Option<String>,
    /// `data:` fields, joined with `\n`; `None` when the event has none.
    pub data: Option<String>,
    /// `id:` field.
    pub id: Option<String>,
    /// `retry:` field, in milliseconds.
    pub retry: Option<u64>,
    /// Comment lines (`: text`), without the colon and one leading space.
    pub comments: Vec<String>,
    /// The event's bytes as received, up to and including the blank line.
    pub raw: Vec<u8>,
}

impl SseEvent {
    /// An event with only `data` (what OpenAI-style streams send).
    pub fn data(data: impl Into<String>) -> Self {
        SseEvent { data: Some(data.into()), ..SseEvent::default() }
    }

    /// Whether this is the `data: [DONE]` terminator of OpenAI-style streams.
    pub fn is_done(&self) -> bool {
        self.data.as_deref().map(str::trim) == Some("[DONE]")
    }

    /// The event in canonical form (LF line endings), from its fields (not `raw`).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_to(&mut out);
        out
    }

    /// Appends the canonical form to `out`.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        for comment in &self.comments {
            push_line(out, ":", Some(comment));
        }
        if let Some(event) = &self.event {
            push_line(out, "event", Some(event));
        }
        if let Some(id) = &self.id {
            push_line(out, "id", Some(id));
        }
        if let Some(retry) = self.retry {
            push_line(out, "retry", Some(&retry.to_string()));
        }
        if let Some(data) = &self.data {
            for line in data.split('\n') {
                push_line(out, "data", Some(line));
            }
        }
        out.push(b'\n');
    }
}

fn push_line(out: &mut Vec<u8>, field: &str, value: Option<&str>) {
    out.extend_from_slice(field.as_bytes());
    if field != ":" {
        out.push(b':');
    }
    if let Some(value) = value {
        out.push(b' ');
        out.extend_from_slice(value.as_bytes());
    }
    out.push(b'\n');
}

/// Incremental SSE parser.
#[derive(Debug, Default)]
pub struct SseParser {
    buf: Vec<u8>,
    /// Start of the line being scanned, within `buf`.
    line_start: usize,
    /// Where scanning resumes, within `buf`.
    scan: usize,
}

impl SseParser {
    /// A new parser.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds a chunk; returns the events it completed, in order.
    pub fn feed(&mut self, chunk: &[u8]) -> Vec<SseEvent> {
        self.buf.extend_from_slice(chunk);
        let mut events = Vec::new();
        let mut event_start = 0;
        let mut i = self.scan;
        while let Some(&byte) = self.buf.get(i) {
            let terminator = match byte {
                b'\n' => 1,
                b'\r' => match self.buf.get(i + 1) {
                    Some(b'\n') => 2,
                    Some(_) => 1,
                    // A CR at the end may be the first half of CRLF: wait for the next byte.
                    None => break,
                },
                _ => {
                    i += 1;
                    continue;
                }
            };
            let line_empty = i == self.line_start;
            i += terminator;
            self.line_start = i;
            if line_empty {
                let raw = self.buf.get(event_start..i).unwrap_or_default();
                events.push(parse_event(raw));
                event_start = i;
            }
        }
        self.buf.drain(..event_start);
        self.line_start -= event_start;
        self.scan = i - event_start;
        events
    }

    /// Bytes of the incomplete event held for the next chunk.
    pub fn pending(&self) -> &[u8] {
        &self.buf
    }

    /// Ends the stream: the incomplete event, if any, as it is (so no byte is lost).
    pub fn finish(&mut self) -> Option<SseEvent> {
        if self.buf.is_empty() {
            return None;
        }
        let raw = std::mem::take(&mut self.buf);
        self.line_start = 0;
        self.scan = 0;
        Some(parse_event(&raw))
    }
}

fn parse_event(raw: &[u8]) -> SseEvent {
    let mut event = SseEvent { raw: raw.to_vec(), ..SseEvent::default() };
    let mut data: Option<String> = None;
    for line in lines(raw) {
        if line.is_empty() {
            continue;
        }
        let text = String::from_utf8_lossy(line);
        if let Some(comment) = text.strip_prefix(':') {
            event.comments.push(comment.strip_prefix(' ').unwrap_or(comment).to_string());
            continue;
        }
        let (field, value) = match text.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (text.as_ref(), ""),
        };
        match field {
            "data" => match &mut data {
                Some(d) => {
                    d.push('\n');
                    d.push_str(value);
                }
                None => data = Some(value.to_string()),
            },
            "event" => event.event = Some(value.to_string()),
            "id" if !value.contains('\0') => event.id = Some(value.to_string()),
            "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                event.retry = value.parse().ok()
            }
            _ => {}
        }
    }
    event.data = data;
    event
}

/// Splits on CRLF, LF or CR.
fn lines(raw: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = raw;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let end = rest.iter().position(|b| *b == b'\n' || *b == b'\r').unwrap_or(rest.len());
        let line = rest.get(..end).unwrap_or_default();
        let skip = match (rest.get(end), rest.get(end + 1)) {
            (Some(b'\r'), Some(b'\n')) => 2,
            (Some(_), _) => 1,
            (None, _) => 0,
        };
        rest = rest.get(end + skip..).unwrap_or_default();
        Some(line)
    })
}

/// Normalises CRLF and CR to LF (wasm-go's `UnifySSEChunk`).
pub fn unify_line_endings(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut bytes = data.iter().peekable();
    while let Some(&b) = bytes.next() {
        if b == b'\r' {
            if bytes.peek() == Some(&&b'\n') {
                bytes.next();
            }
            out.push(b'\n');
        } else {
            out.push(b);
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    const OPENAI: &str = "data: {\"id\":\"1\",\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\n\n\
data: {\"id\":\"1\",\"choices\":[{\"delta\":{\"content\":\"lo\"}}]}\n\n\
: keep-alive\n\n\
data: {\"id\":\"1\",\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2}}\n\n\
data: [DONE]\n\n";

    const ANTHROPIC_CRLF: &str = "event: message_start\r\ndata: {\"type\":\"message_start\"}\r\n\r\n\
event: content_block_delta\r\ndata: {\"type\":\"content_block_delta\",\r\ndata: \"delta\":{\"text\":\"Hi\"}}\r\n\r\n\
id: 42\r\nretry: 3000\r\nevent: message_stop\r\ndata: {}\r\n\r\n";

    /// Parses a whole stream (a trailing CR can only be settled by `finish`).
    fn whole(stream: &[u8]) -> Vec<SseEvent> {
        let mut p = SseParser::new();
        let mut events = p.feed(stream);
        events.extend(p.finish());
        events
    }

    #[test]
    fn openai_stream() {
        let events = whole(OPENAI.as_bytes());
        assert_eq!(events.len(), 5);
        assert_eq!(events[0].data.as_deref(), Some(r#"{"id":"1","choices":[{"delta":{"content":"Hel"}}]}"#));
        assert_eq!(events[2].comments, vec!["keep-alive"]);
        assert_eq!(events[2].data, None);
        assert!(events[4].is_done());
        assert!(!events[3].is_done());
    }

    #[test]
    fn crlf_multiline_and_fields() {
        let events = whole(ANTHROPIC_CRLF.as_bytes());
        assert_eq!(events.len(), 3);
        assert_eq!(events[0].event.as_deref(), Some("message_start"));
        assert_eq!(events[1].data.as_deref(), Some("{\"type\":\"content_block_delta\",\n\"delta\":{\"text\":\"Hi\"}}"));
        assert_eq!(events[2].id.as_deref(), Some("42"));
        assert_eq!(events[2].retry, Some(3000));
    }

    /// Every split position of real streams gives the same events and the same bytes.
    #[test]
    fn every_split_position_reproduces_the_stream() {
        for stream in [OPENAI, ANTHROPIC_CRLF, "data: a\r\rdata: b\r\r", "data:x\n\ndata:y\r\n\r\n"] {
            let bytes = stream.as_bytes();
            let expected = whole(bytes);
            for cut in 0..=bytes.len() {
                let mut p = SseParser::new();
                let mut events = p.feed(&bytes[..cut]);
                events.extend(p.feed(&bytes[cut..]));
                events.extend(p.finish());
                assert_eq!(events, expected, "split at {cut} of {stream:?}");
                let raw: Vec<u8> = events.iter().flat_map(|e| e.raw.clone()).collect();
                assert_eq!(raw, bytes);
            }
        }
    }

    #[test]
    fn byte_by_byte() {
        let bytes = ANTHROPIC_CRLF.as_bytes();
        let mut p = SseParser::new();
        let events: Vec<SseEvent> = bytes.iter().flat_map(|b| p.feed(&[*b])).collect();
        assert_eq!(events, whole(bytes));
    }

    #[test]
    fn incomplete_event_is_kept_then_flushed() {
        let mut p = SseParser::new();
        assert!(p.feed(b"data: partial").is_empty());
        assert_eq!(p.pending(), b"data: partial");
        let rest = p.finish().unwrap();
        assert_eq!(rest.data.as_deref(), Some("partial"));
        assert_eq!(rest.raw, b"data: partial");
        assert!(p.finish().is_none());
    }

    #[test]
    fn trailing_cr_waits_for_its_lf() {
        let mut p = SseParser::new();
        assert!(p.feed(b"data: x\r\n\r").is_empty());
        let events = p.feed(b"\ndata: y\n\n");
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].raw, b"data: x\r\n\r\n");
    }

    #[test]
    fn writer_round_trip() {
        let event = SseEvent {
            event: Some("delta".into()),
            data: Some("line1\nline2".into()),
            id: Some("7".into()),
            retry: Some(10),
            comments: vec!["c".into()],
            raw: Vec::new(),
        };
        let bytes = event.to_bytes();
        assert_eq!(bytes, b": c\nevent: delta\nid: 7\nretry: 10\ndata: line1\ndata: line2\n\n");
        let parsed = whole(&bytes);
        assert_eq!(SseEvent { raw: Vec::new(), ..parsed[0].clone() }, event);
        assert_eq!(SseEvent::data("[DONE]").to_bytes(), b"data: [DONE]\n\n");
    }

    #[test]
    fn unify() {
        assert_eq!(unify_line_endings(b"a\r\nb\rc\n"), b"a\nb\nc\n");
    }
}
