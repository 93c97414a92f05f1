//! AWS's binary event stream (`application/vnd.amazon.eventstream`), in which Bedrock's
//! `converse-stream` answers: frames decoded as their bytes arrive, and frames written.
//!
//! A frame is `total length` (u32 BE), `headers length` (u32 BE), a CRC32 of those 8 bytes,
//! the headers (name length u8, name, value type u8, value), the payload and a CRC32 of
//! everything before it. A frame split across chunks at any byte comes out whole; only the
//! unfinished frame is held. A bad checksum, lengths that cannot be, a frame over the bound or
//! a malformed header is a [`FrameError`] and the decoder stops there: the bytes after a
//! broken frame cannot be trusted to start a frame. Go kept every partial frame it met,
//! decoded string headers only, and logged broken frames without telling the client.

use std::fmt;

/// The longest frame taken: 16 MiB (Bedrock's own frames are a few hundred bytes; AWS
/// caps an event stream message at 16 MiB).
pub const MAX_FRAME: usize = 16 << 20;
/// Total and headers lengths, and their checksum.
const PRELUDE: usize = 12;
/// A frame with no header and no payload: the prelude and the message checksum.
const MIN_FRAME: usize = PRELUDE + 4;

/// Why the bytes are not an event stream. The decoder stops at the first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
    /// The prelude's checksum does not match its lengths.
    PreludeCrc { expected: u32, actual: u32 },
    /// The message's checksum does not match its bytes.
    MessageCrc { expected: u32, actual: u32 },
    /// Lengths no frame can have (shorter than a prelude and a checksum, or headers longer
    /// than the frame).
    Length { total: u32, headers: u32 },
    /// A frame longer than the decoder takes.
    TooLong { total: usize, max: usize },
    /// A header cut short, of an unknown value type, or whose name or string is not UTF-8.
    Header(&'static str),
    /// The stream ended inside a frame, with this many bytes of it.
    Truncated { pending: usize },
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::PreludeCrc { expected, actual } => {
                write!(f, "event stream prelude checksum {actual:#010x}, expected {expected:#010x}")
            }
            FrameError::MessageCrc { expected, actual } => {
                write!(f, "event stream message checksum {actual:#010x}, expected {expected:#010x}")
            }
            FrameError::Length { total, headers } => {
                write!(f, "event stream frame of {total} bytes cannot hold {headers} bytes of headers")
            }
            FrameError::TooLong { total, max } => write!(f, "event stream frame of {total} bytes (at most {max})"),
            FrameError::Header(what) => write!(f, "event stream header: {what}"),
            FrameError::Truncated { pending } => write!(f, "event stream ended inside a frame ({pending} bytes)"),
        }
    }
}

impl std::error::Error for FrameError {}

/// A header's value, of each type the format has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderValue<'a> {
    /// Types 0 (true) and 1 (false).
    Bool(bool),
    /// Type 2.
    Byte(i8),
    /// Type 3.
    Short(i16),
    /// Type 4.
    Int(i32),
    /// Type 5.
    Long(i64),
    /// Type 6: u16 length, bytes.
    Bytes(&'a [u8]),
    /// Type 7: u16 length, UTF-8.
    String(&'a str),
    /// Type 8: milliseconds since the epoch.
    Timestamp(i64),
    /// Type 9.
    Uuid([u8; 16]),
}

/// A named header value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header<'a> {
    pub name: &'a str,
    pub value: HeaderValue<'a>,
}

/// One checked frame, lent from the bytes it was read from.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    headers: &'a [u8],
    payload: &'a [u8],
}

/// What a frame means to a client: `:message-type` and the headers it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Message<'a> {
    /// `:message-type: event`: the payload (JSON) is an event of `:event-type`.
    Event { event_type: &'a str, payload: &'a [u8] },
    /// `:message-type: exception`: the payload (JSON, with a `message`) is an exception of
    /// `:exception-type`.
    Exception { exception_type: &'a str, payload: &'a [u8] },
    /// `:message-type: error`: `:error-code` and `:error-message`.
    Error { code: &'a str, message: &'a str },
    /// Any other (or no) message type.
    Other,
}

impl<'a> Frame<'a> {
    /// The payload.
    pub fn payload(&self) -> &'a [u8] {
        self.payload
    }

    /// The headers, in order.
    pub fn headers(&self) -> Headers<'a> {
        Headers { rest: self.headers }
    }

    /// The first header named `name`.
    pub fn header(&self, name: &str) -> Option<HeaderValue<'a>> {
        self.headers().find(|h| h.name == name).map(|h| h.value)
    }

    /// The string header `name`.
    pub fn str_header(&self, name: &str) -> Option<&'a str> {
        match self.header(name) {
            Some(HeaderValue::String(value)) => Some(value),
            _ => None,
        }
    }

    /// What the frame carries, by its `:message-type`.
    pub fn message(&self) -> Message<'a> {
        let text = |name| self.str_header(name).unwrap_or_default();
        match self.str_header(":message-type") {
            Some("event") => Message::Event { event_type: text(":event-type"), payload: self.payload },
            Some("exception") => Message::Exception { exception_type: text(":exception-type"), payload: self.payload },
            Some("error") => Message::Error { code: text(":error-code"), message: text(":error-message") },
            _ => Message::Other,
        }
    }
}

/// The headers of a checked frame.
#[derive(Debug, Clone)]
pub struct Headers<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Headers<'a> {
    type Item = Header<'a>;

    fn next(&mut self) -> Option<Header<'a>> {
        // The frame's headers were checked when it was decoded: an error cannot happen here.
        let (header, rest) = read_header(self.rest).ok()??;
        self.rest = rest;
        Some(header)
    }
}

/// `bytes` from `at`, `len` of them.
fn take(bytes: &[u8], at: usize, len: usize) -> Option<&[u8]> {
    bytes.get(at..at.checked_add(len)?)
}

fn array<const N: usize>(bytes: &[u8], at: usize) -> Option<[u8; N]> {
    take(bytes, at, N)?.try_into().ok()
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    array(bytes, at).map(u32::from_be_bytes)
}

/// A header or a frame shorter than its lengths say.
const CUT: FrameError = FrameError::Header("cut short");

/// The first header of `bytes` and the bytes after it; `None` when `bytes` is empty.
fn read_header(bytes: &[u8]) -> Result<Option<(Header<'_>, &[u8])>, FrameError> {
    let Some(&name_len) = bytes.first() else { return Ok(None) };
    let name_len = usize::from(name_len);
    let name = take(bytes, 1, name_len).ok_or(CUT)?;
    let name = std::str::from_utf8(name).map_err(|_| FrameError::Header("name is not UTF-8"))?;
    let at = 1 + name_len;
    let kind = *bytes.get(at).ok_or(CUT)?;
    let at = at + 1;
    let (value, len) = match kind {
        0 => (HeaderValue::Bool(true), 0),
        1 => (HeaderValue::Bool(false), 0),
        2 => (HeaderValue::Byte(i8::from_be_bytes(array(bytes, at).ok_or(CUT)?)), 1),
        3 => (HeaderValue::Short(i16::from_be_bytes(array(bytes, at).ok_or(CUT)?)), 2),
        4 => (HeaderValue::Int(i32::from_be_bytes(array(bytes, at).ok_or(CUT)?)), 4),
        5 => (HeaderValue::Long(i64::from_be_bytes(array(bytes, at).ok_or(CUT)?)), 8),
        6 | 7 => {
            let len = usize::from(u16::from_be_bytes(array(bytes, at).ok_or(CUT)?));
            let data = take(bytes, at + 2, len).ok_or(CUT)?;
            let value = match kind {
                6 => HeaderValue::Bytes(data),
                _ => HeaderValue::String(
                    std::str::from_utf8(data).map_err(|_| FrameError::Header("string is not UTF-8"))?,
                ),
            };
            (value, 2 + len)
        }
        8 => (HeaderValue::Timestamp(i64::from_be_bytes(array(bytes, at).ok_or(CUT)?)), 8),
        9 => (HeaderValue::Uuid(array(bytes, at).ok_or(CUT)?), 16),
        _ => return Err(FrameError::Header("unknown value type")),
    };
    let rest = bytes.get(at + len..).ok_or(CUT)?;
    Ok(Some((Header { name, value }, rest)))
}

/// The frame's total length, from a checked prelude (`bytes` holds at least [`PRELUDE`]).
fn check_prelude(bytes: &[u8], max: usize) -> Result<usize, FrameError> {
    let (Some(total), Some(headers), Some(expected), Some(lengths)) =
        (u32_at(bytes, 0), u32_at(bytes, 4), u32_at(bytes, 8), bytes.get(..8))
    else {
        return Err(CUT);
    };
    let actual = crc32fast::hash(lengths);
    if actual != expected {
        return Err(FrameError::PreludeCrc { expected, actual });
    }
    let fits = (total as usize).checked_sub(MIN_FRAME).is_some_and(|room| headers as usize <= room);
    if !fits {
        return Err(FrameError::Length { total, headers });
    }
    if total as usize > max {
        return Err(FrameError::TooLong { total: total as usize, max });
    }
    Ok(total as usize)
}

/// The frame that is all of `bytes` (its prelude already checked).
fn read_frame(bytes: &[u8]) -> Result<Frame<'_>, FrameError> {
    let body_len = bytes.len().checked_sub(4).ok_or(CUT)?;
    let (body, crc) = (bytes.get(..body_len).ok_or(CUT)?, u32_at(bytes, body_len).ok_or(CUT)?);
    let actual = crc32fast::hash(body);
    if actual != crc {
        return Err(FrameError::MessageCrc { expected: crc, actual });
    }
    let headers_len = u32_at(bytes, 4).ok_or(CUT)? as usize;
    let headers = take(body, PRELUDE, headers_len).ok_or(CUT)?;
    let payload = body.get(PRELUDE + headers_len..).ok_or(CUT)?;
    let mut rest = headers;
    while let Some((_, after)) = read_header(rest)? {
        rest = after;
    }
    Ok(Frame { headers, payload })
}

/// Decodes one event stream fed in chunks (a new decoder per stream).
#[derive(Debug)]
pub struct Decoder {
    /// The unfinished frame.
    pending: Vec<u8>,
    max_frame: usize,
    /// The error that stopped the stream.
    failed: Option<FrameError>,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder { pending: Vec::new(), max_frame: MAX_FRAME, failed: None }
    }
}

impl Decoder {
    /// A decoder taking frames up to [`MAX_FRAME`].
    pub fn new() -> Self {
        Self::default()
    }

    /// A decoder taking frames up to `bytes`.
    pub fn with_max_frame(bytes: usize) -> Self {
        Decoder { max_frame: bytes, ..Self::default() }
    }

    /// Bytes of an unfinished frame held.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// The error that stopped the stream, if one did.
    pub fn failed(&self) -> Option<&FrameError> {
        self.failed.as_ref()
    }

    /// Decodes the frames `chunk` finishes, each given to `on_frame` in order. After an
    /// error nothing more is decoded, and every call returns that error.
    pub fn feed(&mut self, chunk: &[u8], on_frame: &mut dyn FnMut(Frame<'_>)) -> Result<(), FrameError> {
        if let Some(error) = &self.failed {
            return Err(error.clone());
        }
        let result = self.feed_checked(chunk, on_frame);
        if let Err(error) = &result {
            self.failed = Some(error.clone());
            self.pending = Vec::new();
        }
        result
    }

    fn feed_checked(&mut self, chunk: &[u8], on_frame: &mut dyn FnMut(Frame<'_>)) -> Result<(), FrameError> {
        let mut rest = chunk;
        // The unfinished frame first: its prelude, then the rest of it.
        while !self.pending.is_empty() {
            let need = match self.pending.len() {
                held if held < PRELUDE => PRELUDE,
                _ => check_prelude(&self.pending, self.max_frame)?,
            };
            let (now, later) = rest.split_at(need.saturating_sub(self.pending.len()).min(rest.len()));
            self.pending.extend_from_slice(now);
            rest = later;
            if self.pending.len() < need {
                return Ok(());
            }
            if need == PRELUDE {
                continue;
            }
            on_frame(read_frame(&self.pending)?);
            self.pending.clear();
        }
        // Whole frames straight from the chunk, without copying them.
        while rest.len() >= PRELUDE {
            let total = check_prelude(rest, self.max_frame)?;
            let Some(frame) = rest.get(..total) else { break };
            on_frame(read_frame(frame)?);
            rest = rest.get(total..).unwrap_or_default();
        }
        self.pending.extend_from_slice(rest);
        Ok(())
    }

    /// The stream ended: an error when it ended inside a frame (or had failed).
    pub fn finish(&mut self) -> Result<(), FrameError> {
        if let Some(error) = &self.failed {
            return Err(error.clone());
        }
        match self.pending.len() {
            0 => Ok(()),
            pending => Err(FrameError::Truncated { pending }),
        }
    }
}

/// Appends a frame of `headers` and `payload` to `out`. A name longer than 255 bytes, or a
/// bytes or string value longer than 65535, is cut to fit (the frames written here have
/// short fixed headers).
pub fn write_frame(headers: &[Header<'_>], payload: &[u8], out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&[0; PRELUDE]);
    for header in headers {
        let name = header.name.as_bytes();
        let name = name.get(..name.len().min(255)).unwrap_or_default();
        out.push(name.len() as u8);
        out.extend_from_slice(name);
        let variable = |out: &mut Vec<u8>, kind: u8, data: &[u8]| {
            let data = data.get(..data.len().min(usize::from(u16::MAX))).unwrap_or_default();
            out.push(kind);
            out.extend_from_slice(&(data.len() as u16).to_be_bytes());
            out.extend_from_slice(data);
        };
        match header.value {
            HeaderValue::Bool(true) => out.push(0),
            HeaderValue::Bool(false) => out.push(1),
            HeaderValue::Byte(v) => out.extend_from_slice(&[2, v as u8]),
            HeaderValue::Short(v) => {
                out.push(3);
                out.extend_from_slice(&v.to_be_bytes());
            }
            HeaderValue::Int(v) => {
                out.push(4);
                out.extend_from_slice(&v.to_be_bytes());
            }
            HeaderValue::Long(v) => {
                out.push(5);
                out.extend_from_slice(&v.to_be_bytes());
            }
            HeaderValue::Bytes(data) => variable(out, 6, data),
            HeaderValue::String(text) => variable(out, 7, text.as_bytes()),
            HeaderValue::Timestamp(v) => {
                out.push(8);
                out.extend_from_slice(&v.to_be_bytes());
            }
            HeaderValue::Uuid(v) => {
                out.push(9);
                out.extend_from_slice(&v);
            }
        }
    }
    let headers_len = out.len() - start - PRELUDE;
    out.extend_from_slice(payload);
    let total = out.len() - start + 4;
    let as_u32 = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    let mut prelude = [0; PRELUDE];
    let (lengths, crc) = prelude.split_at_mut(8);
    let (total_bytes, headers_bytes) = lengths.split_at_mut(4);
    total_bytes.copy_from_slice(&as_u32(total).to_be_bytes());
    headers_bytes.copy_from_slice(&as_u32(headers_len).to_be_bytes());
    crc.copy_from_slice(&crc32fast::hash(lengths).to_be_bytes());
    if let Some(place) = out.get_mut(start..start + PRELUDE) {
        place.copy_from_slice(&prelude);
    }
    let message_crc = crc32fast::hash(out.get(start..).unwrap_or_default());
    out.extend_from_slice(&message_crc.to_be_bytes());
}

/// An `event` frame of `:event-type` `event_type` with a JSON payload, as Bedrock writes them.
pub fn write_event(event_type: &str, payload: &[u8], out: &mut Vec<u8>) {
    let headers = [
        Header { name: ":event-type", value: HeaderValue::String(event_type) },
        Header { name: ":content-type", value: HeaderValue::String("application/json") },
        Header { name: ":message-type", value: HeaderValue::String("event") },
    ];
    write_frame(&headers, payload, out);
}

/// An `exception` frame of `:exception-type` `exception_type` with a JSON payload.
pub fn write_exception(exception_type: &str, payload: &[u8], out: &mut Vec<u8>) {
    let headers = [
        Header { name: ":exception-type", value: HeaderValue::String(exception_type) },
        Header { name: ":content-type", value: HeaderValue::String("application/json") },
        Header { name: ":message-type", value: HeaderValue::String("exception") },
    ];
    write_frame(&headers, payload, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The payloads of the frames of `bytes`.
    fn frames(bytes: &[u8]) -> Result<Vec<Vec<u8>>, FrameError> {
        let mut out = Vec::new();
        let mut decoder = Decoder::new();
        decoder.feed(bytes, &mut |frame| out.push(frame.payload().to_vec()))?;
        decoder.finish()?;
        Ok(out)
    }

    #[test]
    fn every_header_type_round_trips() {
        let headers = [
            Header { name: "t", value: HeaderValue::Bool(true) },
            Header { name: "f", value: HeaderValue::Bool(false) },
            Header { name: "b", value: HeaderValue::Byte(-2) },
            Header { name: "s", value: HeaderValue::Short(-300) },
            Header { name: "i", value: HeaderValue::Int(70_000) },
            Header { name: "l", value: HeaderValue::Long(-5_000_000_000) },
            Header { name: "y", value: HeaderValue::Bytes(&[0, 255]) },
            Header { name: "str", value: HeaderValue::String("héllo") },
            Header { name: "ts", value: HeaderValue::Timestamp(1_440_938_160_000) },
            Header { name: "u", value: HeaderValue::Uuid([7; 16]) },
        ];
        let mut bytes = Vec::new();
        write_frame(&headers, b"{}", &mut bytes);
        let mut seen = Vec::new();
        let mut decoder = Decoder::new();
        decoder
            .feed(&bytes, &mut |frame| {
                seen = frame.headers().map(|h| (h.name.to_string(), format!("{:?}", h.value))).collect();
                assert_eq!(frame.payload(), b"{}");
                assert_eq!(frame.header("i"), Some(HeaderValue::Int(70_000)));
                assert_eq!(frame.str_header("str"), Some("héllo"));
                assert_eq!(frame.str_header("i"), None);
                assert_eq!(frame.message(), Message::Other);
            })
            .unwrap();
        let expected: Vec<_> = headers.iter().map(|h| (h.name.to_string(), format!("{:?}", h.value))).collect();
        assert_eq!(seen, expected);
    }

    #[test]
    fn broken_frames_are_errors() {
        let mut good = Vec::new();
        write_event("messageStop", br#"{"stopReason":"end_turn"}"#, &mut good);
        assert_eq!(frames(&good).unwrap().len(), 1);

        let mut bad = good.clone();
        bad[2] ^= 1;
        assert!(matches!(frames(&bad), Err(FrameError::PreludeCrc { .. })));
        let mut bad = good.clone();
        let last = bad.len() - 5;
        bad[last] ^= 1;
        assert!(matches!(frames(&bad), Err(FrameError::MessageCrc { .. })));
        assert_eq!(frames(&good[..good.len() - 1]), Err(FrameError::Truncated { pending: good.len() - 1 }));

        // Lengths that cannot be, with a right prelude checksum.
        let mut impossible = vec![0, 0, 0, 15, 0, 0, 0, 0];
        impossible.extend_from_slice(&crc32fast::hash(&impossible).to_be_bytes());
        assert_eq!(frames(&impossible), Err(FrameError::Length { total: 15, headers: 0 }));
        let mut huge = vec![0x7f, 0, 0, 0, 0, 0, 0, 0];
        huge.extend_from_slice(&crc32fast::hash(&huge).to_be_bytes());
        assert!(matches!(frames(&huge), Err(FrameError::TooLong { .. })));

        // A header of an unknown type, in a frame whose checksums are right.
        let mut unknown = Vec::new();
        write_frame(&[Header { name: "x", value: HeaderValue::Bool(true) }], b"", &mut unknown);
        unknown[14] = 10;
        let body = unknown.len() - 4;
        let crc = crc32fast::hash(&unknown[..body]);
        unknown[body..].copy_from_slice(&crc.to_be_bytes());
        assert_eq!(frames(&unknown), Err(FrameError::Header("unknown value type")));
    }

    #[test]
    fn after_an_error_nothing_more_is_decoded() {
        let mut good = Vec::new();
        write_event("messageStart", br#"{"role":"assistant"}"#, &mut good);
        let mut decoder = Decoder::with_max_frame(good.len() - 1);
        let mut count = 0;
        assert!(matches!(decoder.feed(&good, &mut |_| count += 1), Err(FrameError::TooLong { .. })));
        assert!(decoder.feed(&good, &mut |_| count += 1).is_err());
        assert!(decoder.finish().is_err());
        assert_eq!((count, decoder.pending()), (0, 0));
    }
}
