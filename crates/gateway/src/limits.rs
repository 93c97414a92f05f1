//! Envoy's default limits on a request head, so a plugin never sees a request Envoy would
//! have refused: `max_request_headers_kb` (60 KiB of header names and values) and
//! `max_headers_count` (100; hyper's own parser refuses more with the same 431).

/// Envoy's `max_request_headers_kb` default, in bytes.
pub const MAX_REQUEST_HEADERS_BYTES: usize = 60 * 1024;

/// The status Envoy answers a request whose headers are over the limit with.
pub const TOO_LARGE_STATUS: u16 = 431;

/// The body of that answer: Envoy's codec replies with the status text.
pub const TOO_LARGE_BODY: &str = "Request Header Fields Too Large";

/// Whether the request headers (names and values, as Envoy counts them) are over the limit.
pub fn headers_too_large(headers: &hyper::HeaderMap) -> bool {
    let mut total = 0usize;
    for (name, value) in headers {
        total += name.as_str().len() + value.len();
        if total > MAX_REQUEST_HEADERS_BYTES {
            return true;
        }
    }
    false
}
