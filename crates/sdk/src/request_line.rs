//! The request values kept from the request headers for every later phase (Envoy drops the
//! header map once the headers passed): one hostcall for the whole map, then the few values
//! the SDK and plugins need later, copied into one string.

use crate::hostcalls;
use higress_abi::{header_map, MapType};

/// A value kept from the request headers.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Field {
    Scheme,
    Authority,
    Path,
    Method,
    ContentType,
    ContentEncoding,
    Connection,
    Upgrade,
}

impl Field {
    /// The header's name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Field::Scheme => ":scheme",
            Field::Authority => ":authority",
            Field::Path => ":path",
            Field::Method => ":method",
            Field::ContentType => "content-type",
            Field::ContentEncoding => "content-encoding",
            Field::Connection => "connection",
            Field::Upgrade => "upgrade",
        }
    }
}

/// The [`Field`] index of a header name. Names arrive lowercase (Envoy lowercases every
/// header name; HTTP/2 requires it), so one `match` on the bytes finds them.
fn field_index(name: &[u8]) -> Option<usize> {
    // The names of `Field::name`, as bytes.
    let field = match name {
        b":scheme" => Field::Scheme,
        b":authority" => Field::Authority,
        b":path" => Field::Path,
        b":method" => Field::Method,
        b"content-type" => Field::ContentType,
        b"content-encoding" => Field::ContentEncoding,
        b"connection" => Field::Connection,
        b"upgrade" => Field::Upgrade,
        _ => return None,
    };
    Some(field as usize)
}

/// The kept values: their text, and where each one is in it (`None`: the header was absent).
#[derive(Debug, Default)]
pub(crate) struct RequestLine {
    text: String,
    spans: [Option<(u32, u32)>; 8],
}

impl RequestLine {
    /// Reads the request headers (during the request-header phase). The first value of a
    /// repeated header counts, as `proxy_get_header_map_value` returns it; invalid UTF-8 is
    /// replaced.
    pub(crate) fn capture() -> RequestLine {
        // Room for a typical request line; the whole map can be 60 KiB and an active stream
        // keeps this string, so it grows only with what is kept.
        let mut line = RequestLine { text: String::with_capacity(128), spans: Default::default() };
        let Ok(bytes) = hostcalls::get_map_encoded(MapType::HttpRequestHeaders) else { return line };
        let _ = header_map::for_each(&bytes, |name, value| {
            let Some(i) = field_index(name) else { return };
            let Some(span @ None) = line.spans.get_mut(i) else { return };
            let start = line.text.len();
            // `from_utf8` first: `from_utf8_lossy` costs more per byte even on valid text.
            match std::str::from_utf8(value) {
                Ok(text) => line.text.push_str(text),
                Err(_) => line.text.push_str(&String::from_utf8_lossy(value)),
            }
            *span = Some((offset(start), offset(line.text.len())));
        });
        line
    }

    /// A kept value (`None` when the request did not have the header).
    pub(crate) fn get(&self, field: Field) -> Option<&str> {
        let (start, end) = (*self.spans.get(field as usize)?)?;
        self.text.get(start as usize..end as usize)
    }
}

/// Offsets fit in `u32`: a header map is far below 4 GiB.
fn offset(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}
