//! Between hyper's messages and the host's header maps: the pseudo-headers plugins see
//! (`:status`, `:path`, `:authority`, ...) on one side, HTTP/1.1 requests and responses on
//! the other, connection-level headers left out both ways.

use crate::body::GwBody;
use higress_host::HeaderMap;
use hyper::header::{HeaderName, HeaderValue};
use hyper::Request;

/// Connection-level headers that are not forwarded.
const HOP_BY_HOP: [HeaderName; 7] = [
    hyper::header::CONNECTION,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
    hyper::header::TRANSFER_ENCODING,
    hyper::header::TE,
    hyper::header::TRAILER,
    hyper::header::UPGRADE,
];

/// Drops the connection-level headers from `headers`. Most messages have none, and looking
/// through a few names costs less than hashing seven for removal.
pub fn remove_hop_by_hop(headers: &mut hyper::HeaderMap) {
    if headers.keys().any(|name| HOP_BY_HOP.contains(name)) {
        for name in &HOP_BY_HOP {
            headers.remove(name);
        }
    }
}

/// Whether `name` is a connection-level header.
pub fn is_hop_by_hop(name: &[u8]) -> bool {
    HOP_BY_HOP.iter().any(|h| name.eq_ignore_ascii_case(h.as_str().as_bytes()))
}

/// The request to `http://<address><:path>` that `headers` describe (method from `:method`,
/// `Host` from `:authority`, every other non-pseudo header as it is).
pub fn upstream_request(
    address: &str,
    headers: &HeaderMap,
    body: GwBody,
) -> Result<Request<GwBody>, hyper::http::Error> {
    let get = |name: &str| headers.get(name).unwrap_or_default();
    let mut request = Request::new(body);
    *request.method_mut() = hyper::Method::from_bytes(get(":method").as_bytes())?;
    *request.uri_mut() = hyper::Uri::try_from(format!("http://{address}{}", get(":path")))?;
    let out = request.headers_mut();
    out.reserve(headers.len());
    out.insert(hyper::header::HOST, HeaderValue::from_str(get(":authority"))?);
    for (name, value) in headers.iter() {
        if !name.starts_with(b":") && !name.eq_ignore_ascii_case(b"host") {
            out.append(HeaderName::from_bytes(name)?, HeaderValue::from_bytes(value)?);
        }
    }
    Ok(request)
}

/// A response head as plugins see it: `:status` and the headers.
pub fn response_head(parts: &hyper::http::response::Parts) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.add(b":status", parts.status.as_str().as_bytes());
    for (name, value) in &parts.headers {
        if !HOP_BY_HOP.contains(name) {
            headers.add(name.as_str().as_bytes(), value.as_bytes());
        }
    }
    headers
}

/// Headers or trailers from hyper, as a header map.
pub fn header_map(headers: &hyper::HeaderMap) -> HeaderMap {
    headers.iter().map(|(k, v)| (k.as_str().as_bytes().to_vec(), v.as_bytes().to_vec())).collect::<Vec<_>>().into()
}

/// A header map for hyper: pseudo-headers, connection-level headers and names or values
/// hyper refuses are left out.
pub fn to_hyper_headers(map: &HeaderMap) -> hyper::HeaderMap {
    let mut out = hyper::HeaderMap::new();
    for (name, value) in map.iter() {
        if name.starts_with(b":") || is_hop_by_hop(name) {
            continue;
        }
        if let (Ok(name), Ok(value)) =
            (hyper::header::HeaderName::from_bytes(name), hyper::header::HeaderValue::from_bytes(value))
        {
            out.append(name, value);
        }
    }
    out
}
