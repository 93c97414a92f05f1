//! Server-sent events framed for readers that need only each event's `event` and `data`
//! (stream translation, usage): what [`super::SseParser`] makes of a stream (the same events,
//! split the same way at any byte, the same bytes held for an unfinished event), lent from
//! the chunk rather than copied into an [`super::SseEvent`].
//!
//! A chunk is framed where it stands: only the bytes of an event it leaves unfinished are
//! kept for the next one. Each line is read once, as the scan meets its end.

use crate::scan;
use std::borrow::Cow;
use std::ops::Range;

/// The `data:` lines of the event being framed.
#[derive(Debug, Default)]
enum Data {
    #[default]
    None,
    /// One line: where its value is, from the event's start.
    Line(Range<usize>),
    /// Several, joined with `\n`.
    Lines(Vec<u8>),
}

/// An event's `event` and `data` fields, as bytes (`None`: the event has none).
pub type Fields<T> = (Option<T>, Option<T>);

/// Frames one stream (one per request).
#[derive(Debug, Default)]
pub struct Framer {
    /// The unfinished event's bytes.
    buf: Vec<u8>,
    /// Where the line being scanned starts, from the event's start.
    line_start: usize,
    /// Where the scan resumes, from the event's start.
    scan: usize,
    /// The event's `event:` value (the last one), from its start.
    name: Option<Range<usize>>,
    data: Data,
}

impl Framer {
    /// Frames `chunk`: `emit` gets the `event` and `data` of each event it completes, in
    /// order (`data: [DONE]` and comments included: what they mean is the decoder's to say).
    pub fn feed(&mut self, chunk: &[u8], emit: &mut impl FnMut(Option<&[u8]>, Option<&[u8]>)) {
        if self.buf.is_empty() {
            let done = self.frame(chunk, emit);
            self.buf.extend_from_slice(chunk.get(done..).unwrap_or_default());
        } else {
            let mut buf = std::mem::take(&mut self.buf);
            buf.extend_from_slice(chunk);
            let done = self.frame(&buf, emit);
            buf.drain(..done.min(buf.len()));
            self.buf = buf;
        }
    }

    /// The bytes of the unfinished event (`SseParser::pending`).
    pub fn pending(&self) -> &[u8] {
        &self.buf
    }

    /// The stream ended: the `event` and `data` of the unfinished event, if any bytes of one
    /// are held, read as they are (`SseParser::finish`).
    pub fn finish(&mut self) -> Option<Fields<Vec<u8>>> {
        if self.buf.is_empty() {
            return None;
        }
        let raw = std::mem::take(&mut self.buf);
        *self = Framer::default();
        let mut rest = raw.as_slice();
        while !rest.is_empty() {
            let end = rest.iter().position(|b| *b == b'\n' || *b == b'\r').unwrap_or(rest.len());
            let skip = match (rest.get(end), rest.get(end + 1)) {
                (Some(b'\r'), Some(b'\n')) => 2,
                (Some(_), _) => 1,
                (None, _) => 0,
            };
            let start = raw.len() - rest.len();
            self.line(&raw, 0, start..start + end);
            rest = rest.get(end + skip..).unwrap_or_default();
        }
        let (name, data) = self.take(&raw, 0);
        Some((name.map(Cow::into_owned), data.map(Cow::into_owned)))
    }

    /// Frames `text`, whose unfinished event (if any) starts at 0; returns where the events
    /// it completed end.
    fn frame(&mut self, text: &[u8], emit: &mut impl FnMut(Option<&[u8]>, Option<&[u8]>)) -> usize {
        let mut event = 0;
        let mut i = self.scan;
        loop {
            let Some(end) = text.get(i..).and_then(|rest| scan::find2(rest, b'\n', b'\r')).map(|p| p + i) else {
                i = text.len();
                break;
            };
            let terminator = match (text.get(end), text.get(end + 1)) {
                (Some(b'\r'), Some(b'\n')) => 2,
                // A CR at the end may be the first half of CRLF: wait for the next byte.
                (Some(b'\r'), None) => {
                    i = end;
                    break;
                }
                _ => 1,
            };
            let line = event + self.line_start..end;
            i = end + terminator;
            if line.is_empty() {
                let (name, data) = self.take(text, event);
                emit(name.as_deref(), data.as_deref());
                event = i;
                self.line_start = 0;
            } else {
                self.line(text, event, line);
                self.line_start = i - event;
            }
        }
        self.scan = i - event;
        event
    }

    /// Reads the line at `line` of the event that starts at `event` in `text`.
    fn line(&mut self, text: &[u8], event: usize, line: Range<usize>) {
        let Some(bytes) = text.get(line.clone()) else { return };
        let colon = bytes.iter().position(|b| *b == b':');
        let (field, mut value) = match colon {
            // A comment.
            Some(0) => return,
            Some(colon) => (bytes.get(..colon).unwrap_or_default(), line.start + colon + 1..line.end),
            None => (bytes, line.end..line.end),
        };
        if text.get(value.start) == Some(&b' ') {
            value.start += 1;
        }
        let value = value.start - event..value.end - event;
        match field {
            b"data" => {
                self.data = match std::mem::take(&mut self.data) {
                    Data::None => Data::Line(value),
                    Data::Line(first) => {
                        let mut joined = text.get(event + first.start..event + first.end).unwrap_or_default().to_vec();
                        joined.push(b'\n');
                        joined.extend_from_slice(text.get(event + value.start..event + value.end).unwrap_or_default());
                        Data::Lines(joined)
                    }
                    Data::Lines(mut joined) => {
                        joined.push(b'\n');
                        joined.extend_from_slice(text.get(event + value.start..event + value.end).unwrap_or_default());
                        Data::Lines(joined)
                    }
                }
            }
            b"event" => self.name = Some(value),
            _ => {}
        }
    }

    /// The event's `event` and `data` (as bytes: UTF-8 is the reader's to check, the SDK's
    /// parser replaces what is not), clearing them for the next event.
    fn take<'t>(&mut self, text: &'t [u8], event: usize) -> Fields<Cow<'t, [u8]>> {
        let at = |range: Range<usize>| text.get(event + range.start..event + range.end).unwrap_or_default();
        let name = self.name.take().map(|range| Cow::Borrowed(at(range)));
        let data = match std::mem::take(&mut self.data) {
            Data::None => None,
            Data::Line(range) => Some(Cow::Borrowed(at(range))),
            Data::Lines(joined) => Some(Cow::Owned(joined)),
        };
        (name, data)
    }
}
