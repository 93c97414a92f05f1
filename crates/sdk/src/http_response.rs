//! The answer to an HTTP callout, as the host holds it during `proxy_on_http_call_response`.

use crate::ascii::eq_ignore_case;
use crate::hostcalls;
use higress_abi::{header_map, BufferType, MapType};
use std::fmt;

/// The answer to an HTTP callout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// Status code: 502 when the reply had no `:status` (a reset or failed call), 500 when
    /// it was not a number - as wasm-go reports them.
    pub status: u16,
    /// Response headers (including pseudo-headers).
    pub headers: Headers,
    /// Response body.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// First value of a header (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)
    }

    /// The body as UTF-8 (invalid sequences replaced).
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Reads the answer the host holds during `proxy_on_http_call_response`.
    pub(crate) fn read(body_size: usize) -> HttpResponse {
        let headers =
            hostcalls::get_map_encoded(MapType::HttpCallResponseHeaders).map(Headers::decode).unwrap_or_default();
        // No body, no hostcall.
        let body = match body_size {
            0 => Vec::new(),
            size => hostcalls::get_buffer(BufferType::HttpCallResponseBody, 0, size).ok().flatten().unwrap_or_default(),
        };
        let status = match headers.iter().find(|(k, _)| *k == ":status") {
            None => 502,
            Some((_, v)) => v.parse().unwrap_or(500),
        };
        HttpResponse { status, headers, body }
    }
}

/// The headers of a callout's answer, in order (repeated names appear repeatedly), invalid
/// UTF-8 replaced.
///
/// They stay in the buffer the host wrote them to, checked as UTF-8 once, with where each
/// name and value is: a `Vec<(String, String)>` cost two allocations, two copies and two
/// UTF-8 checks per header, most of the cost of receiving an answer.
#[derive(Clone, Default)]
pub struct Headers {
    /// The host's encoding when it is valid UTF-8 (it is unless a size reaches 128 or a
    /// value is not UTF-8), else the names and values copied out one after the other.
    text: String,
    /// Where each name and value is in `text`.
    spans: Vec<(u32, u32, u32, u32)>,
}

impl Headers {
    /// Takes a header map in the host's encoding (empty when it cannot be decoded).
    fn decode(encoded: Vec<u8>) -> Headers {
        // Sized from the count the map announces (bounded by what its size can hold): one
        // allocation, where growing from empty takes the slow path of `push`.
        let count = encoded.get(..4).and_then(|c| c.try_into().ok()).map_or(0, u32::from_le_bytes);
        let mut spans = Vec::with_capacity((count as usize).min(encoded.len() / 10));
        let decoded = header_map::for_each_span(&encoded, |k, v| {
            spans.push((offset(k.start), offset(k.end), offset(v.start), offset(v.end)));
        });
        if decoded.is_err() {
            return Headers::default();
        }
        match String::from_utf8(encoded) {
            Ok(text) => Headers { text, spans },
            Err(invalid) => Headers::lossy(invalid.as_bytes(), &spans),
        }
    }

    /// The names and values at `spans` of `bytes`, each one's invalid UTF-8 replaced.
    fn lossy(bytes: &[u8], spans: &[(u32, u32, u32, u32)]) -> Headers {
        let mut text = String::with_capacity(bytes.len());
        let mut copy = |start: u32, end: u32| {
            let at = offset(text.len());
            text.push_str(&String::from_utf8_lossy(bytes.get(start as usize..end as usize).unwrap_or_default()));
            (at, offset(text.len()))
        };
        let spans = spans
            .iter()
            .map(|&(ks, ke, vs, ve)| {
                let (key, value) = (copy(ks, ke), copy(vs, ve));
                (key.0, key.1, value.0, value.1)
            })
            .collect();
        Headers { text, spans }
    }

    /// Every header, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.spans.iter().map(|&(ks, ke, vs, ve)| (self.at(ks, ke), self.at(vs, ve)))
    }

    /// First value of a header (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.iter().find(|(k, _)| eq_ignore_case(k.as_bytes(), name.as_bytes())).map(|(_, v)| v)
    }

    /// Number of headers.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    fn at(&self, start: u32, end: u32) -> &str {
        self.text.get(start as usize..end as usize).unwrap_or_default()
    }
}

impl<K: AsRef<str>, V: AsRef<str>> FromIterator<(K, V)> for Headers {
    /// Headers from pairs (for tests, and plugins that build an answer themselves).
    fn from_iter<I: IntoIterator<Item = (K, V)>>(pairs: I) -> Headers {
        let mut headers = Headers::default();
        for (k, v) in pairs {
            let key = (offset(headers.text.len()), offset(headers.text.len() + k.as_ref().len()));
            headers.text.push_str(k.as_ref());
            let value = (offset(headers.text.len()), offset(headers.text.len() + v.as_ref().len()));
            headers.text.push_str(v.as_ref());
            headers.spans.push((key.0, key.1, value.0, value.1));
        }
        headers
    }
}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Equal when the same pairs are in the same order, whatever buffer holds them.
impl PartialEq for Headers {
    fn eq(&self, other: &Headers) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for Headers {}

/// Offsets fit in `u32`: a header map is far below 4 GiB.
fn offset(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn pairs(headers: &Headers) -> Vec<(String, String)> {
        headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn the_hosts_encoding_is_read_in_place() {
        let given = [(":status", "200"), ("x-user", "u1"), ("X-User", "u2"), ("empty", "")];
        let headers = Headers::decode(header_map::encode(&given));
        assert_eq!(pairs(&headers), given.map(|(k, v)| (k.to_string(), v.to_string())));
        assert_eq!(headers.get("x-USER"), Some("u1"));
        assert_eq!(headers.get("absent"), None);
        assert_eq!(headers.len(), 4);
        assert_eq!(headers, given.iter().copied().collect::<Headers>());
        assert_eq!(
            format!("{headers:?}"),
            r#"[(":status", "200"), ("x-user", "u1"), ("X-User", "u2"), ("empty", "")]"#
        );
    }

    #[test]
    fn long_values_and_invalid_utf8_are_copied_out() {
        // A size of 128 or more is not UTF-8 in the encoding: the pairs are copied out.
        let long = "v".repeat(300);
        let headers = Headers::decode(header_map::encode(&[("a", long.as_str()), ("b", "2")]));
        assert_eq!(pairs(&headers), [("a".to_string(), long.clone()), ("b".to_string(), "2".to_string())]);
        // Each value is replaced on its own: a sequence cut at its end is not completed by
        // the next one.
        let headers = Headers::decode(header_map::encode(&[(&b"k"[..], &b"\xe2\x82"[..]), (b"\xac", b"ok")]));
        assert_eq!(pairs(&headers), [("k".into(), "\u{fffd}".into()), ("\u{fffd}".into(), "ok".into())]);
    }

    #[test]
    fn a_map_that_does_not_decode_is_empty() {
        let mut encoded = header_map::encode(&[("a", "b")]);
        encoded.push(1);
        assert!(Headers::decode(encoded).is_empty());
        assert!(Headers::decode(Vec::new()).is_empty());
    }
}
