//! The answer to an HTTP callout, as the host holds it during `proxy_on_http_call_response`.

use crate::hostcalls;
use higress_abi::{BufferType, MapType};

/// The answer to an HTTP callout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// Status code: 502 when the reply had no `:status` (a reset or failed call), 500 when
    /// it was not a number - as wasm-go reports them.
    pub status: u16,
    /// Response headers (including pseudo-headers).
    pub headers: Vec<(String, String)>,
    /// Response body.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// First value of a header (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The body as UTF-8 (invalid sequences replaced).
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Reads the answer the host holds during `proxy_on_http_call_response`.
    pub(crate) fn read(body_size: usize) -> HttpResponse {
        let headers = hostcalls::get_map(MapType::HttpCallResponseHeaders).unwrap_or_default();
        let body =
            hostcalls::get_buffer(BufferType::HttpCallResponseBody, 0, body_size).ok().flatten().unwrap_or_default();
        let status = match headers.iter().find(|(k, _)| k == ":status") {
            None => 502,
            Some((_, v)) => v.parse().unwrap_or(500),
        };
        HttpResponse { status, headers, body }
    }
}
