//! The request values kept from the request headers for every later phase (Envoy drops the
//! header map once the headers passed): scheme, authority, path and method, each read on
//! its own and copied into one string (a path too long for the scratch buffer is kept as the
//! host gave it); and what the headers say about the body, kept as two flags.
//!
//! `:authority` may be read first and alone ([`Started`]): the rules need only it to decide
//! whether the plugin follows a stream, and on a gateway most plugins pass over most
//! streams, each read a hostcall (with a call back into the module for its buffer).

use crate::ascii::eq_ignore_case;
use crate::hostcalls::scratch::Value;
use crate::{hostcalls, scan};
use higress_abi::MapType;

/// A value kept from the request headers.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Field {
    Scheme,
    Authority,
    Path,
    Method,
}

impl Field {
    /// The header's name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Field::Scheme => ":scheme",
            Field::Authority => ":authority",
            Field::Path => ":path",
            Field::Method => ":method",
        }
    }
}

/// Every kept field, in the order their values are read.
const FIELDS: [Field; 4] = [Field::Scheme, Field::Authority, Field::Path, Field::Method];
/// The fields left to read once `:authority` is.
const AFTER_AUTHORITY: [Field; 3] = [Field::Scheme, Field::Path, Field::Method];
/// Room for a typical request line: an active stream keeps this string.
const LINE_CAPACITY: usize = 128;

/// `:authority` as the rules read it, alone, copied to start the request line's bytes (not
/// yet checked for UTF-8).
pub(crate) struct Started(Vec<u8>);

impl Started {
    pub(crate) fn new(authority: &[u8]) -> Started {
        let mut bytes = Vec::with_capacity(LINE_CAPACITY.max(authority.len()));
        bytes.extend_from_slice(authority);
        Started(bytes)
    }
}

/// The kept values: their text, and where each one is in it (`None`: the header was absent).
#[derive(Debug, Default)]
pub(crate) struct RequestLine {
    text: String,
    spans: [Option<(u32, u32)>; 4],
    /// A `:path` too long for the scratch buffer, kept as the host gave it (not copied into
    /// `text`: a copy of a 60 KiB path costs 60,000 instructions).
    long_path: Option<String>,
}

impl RequestLine {
    /// Reads the request headers (during the request-header phase). The first value of a
    /// repeated header counts, as `proxy_get_header_map_value` returns it; invalid UTF-8 is
    /// replaced.
    ///
    /// One lookup per field, each lent from the scratch buffer: a lookup costs the same
    /// whatever the request carries, where reading the whole map (one hostcall, but a
    /// buffer to allocate and every header to decode and compare) cost about twice as much
    /// on a request of seven headers, and more on real ones with cookies and user agents.
    ///
    /// `started`: `:authority` was read on its own already.
    pub(crate) fn capture_from(started: Option<Started>) -> RequestLine {
        let mut spans = [None; 4];
        let (mut bytes, fields) = match started {
            None => (Vec::with_capacity(LINE_CAPACITY), &FIELDS[..]),
            Some(Started(bytes)) => {
                if let Some(span) = spans.get_mut(Field::Authority as usize) {
                    *span = Some((0, offset(bytes.len())));
                }
                (bytes, &AFTER_AUTHORITY[..])
            }
        };
        let mut long_path = None;
        for &field in fields {
            hostcalls::with_map_value_kept(MapType::HttpRequestHeaders, field.name(), |value| {
                let value = match value {
                    Ok(Some(Value::Owned(owned))) if matches!(field, Field::Path) => {
                        long_path = Some(scan::into_string(owned));
                        return;
                    }
                    Ok(Some(Value::Owned(ref owned))) => owned.as_slice(),
                    Ok(Some(Value::Lent(lent))) => lent,
                    _ => return,
                };
                let start = bytes.len();
                bytes.extend_from_slice(value);
                if let Some(span) = spans.get_mut(field as usize) {
                    *span = Some((offset(start), offset(bytes.len())));
                }
            });
        }
        // One check for all the values: each check has a fixed cost well above that of the
        // few bytes a value has. ASCII, nearly always, is told a word at a time.
        if scan::is_ascii(&bytes) {
            // SAFETY: ASCII is UTF-8.
            return RequestLine { text: unsafe { String::from_utf8_unchecked(bytes) }, spans, long_path };
        }
        match String::from_utf8(bytes) {
            Ok(text) => RequestLine { text, spans, long_path },
            Err(invalid) => RequestLine { long_path, ..RequestLine::lossy(invalid.as_bytes(), &spans) },
        }
    }

    /// The values of `bytes` at `spans`, invalid UTF-8 replaced value by value (a sequence
    /// cut at the end of one value is not completed by the next).
    fn lossy(bytes: &[u8], spans: &[Option<(u32, u32)>; 4]) -> RequestLine {
        let mut line =
            RequestLine { text: String::with_capacity(bytes.len() + 16), spans: Default::default(), long_path: None };
        for (kept, span) in line.spans.iter_mut().zip(spans) {
            let Some((start, end)) = *span else { continue };
            let value = bytes.get(start as usize..end as usize).unwrap_or_default();
            let at = line.text.len();
            line.text.push_str(&String::from_utf8_lossy(value));
            *kept = Some((offset(at), offset(line.text.len())));
        }
        line
    }

    /// A kept value (`None` when the request did not have the header).
    pub(crate) fn get(&self, field: Field) -> Option<&str> {
        if let (Field::Path, Some(path)) = (field, &self.long_path) {
            return Some(path);
        }
        let (start, end) = (*self.spans.get(field as usize)?)?;
        self.text.get(start as usize..end as usize)
    }
}

/// Offsets fit in `u32`: a header map is far below 4 GiB.
fn offset(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// What the request headers say about the request's body, for the SDK's delivery rules.
/// Read from four headers that are usually absent, and kept as two flags, not as values.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RequestKind {
    /// `Upgrade: websocket` with `Connection: upgrade`.
    pub(crate) websocket: bool,
    /// An octet-stream or gRPC content type, or a content encoding.
    pub(crate) binary_body: bool,
}

impl RequestKind {
    /// Reads the request headers (during the request-header phase).
    pub(crate) fn read() -> RequestKind {
        let map = MapType::HttpRequestHeaders;
        let is = |name: &str, expected: &[u8]| {
            hostcalls::with_map_value(map, name, |v| v.ok().flatten().is_some_and(|v| eq_ignore_case(v, expected)))
        };
        RequestKind {
            websocket: is("upgrade", b"websocket") && is("connection", b"upgrade"),
            binary_body: binary_body(map),
        }
    }
}

/// Whether the body a header map announces is binary (octet-stream, gRPC, or
/// content-encoded), its headers looked at where the host wrote them.
pub(crate) fn binary_body(map: MapType) -> bool {
    hostcalls::with_map_value(map, "content-type", |v| v.ok().flatten().is_some_and(is_binary_type))
        || hostcalls::with_map_value(map, "content-encoding", |v| v.ok().flatten().is_some_and(|e| !e.is_empty()))
}

/// Whether a content type is a binary one: octet-stream or gRPC.
pub(crate) fn is_binary_type(content_type: &[u8]) -> bool {
    contains(content_type, b"octet-stream") || contains(content_type, b"grpc")
}

/// Whether `needle` occurs in `haystack`: a scan for its first byte, a few instructions a
/// byte where `str::contains` builds a two-way searcher first (several hundred).
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    let Some(&first) = needle.first() else { return true };
    let mut rest = haystack;
    while let Some(at) = scan::find(rest, first) {
        let tail = rest.get(at..).unwrap_or_default();
        if tail.starts_with(needle) {
            return true;
        }
        rest = tail.get(1..).unwrap_or_default();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contains_finds_every_occurrence() {
        assert!(contains(b"application/octet-stream", b"octet-stream"));
        assert!(contains(b"application/grpc+proto", b"grpc"));
        assert!(contains(b"ggrpc", b"grpc"), "after a false start");
        assert!(!contains(b"application/json", b"grpc"));
        assert!(!contains(b"grp", b"grpc"));
        assert!(contains(b"", b""));
        for (hay, needle) in [("a octet-streamz", "octet-stream"), ("x", "grpc"), ("grpcgrpc", "grpc")] {
            assert_eq!(contains(hay.as_bytes(), needle.as_bytes()), hay.contains(needle));
        }
    }
}
