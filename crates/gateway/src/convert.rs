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

/// The request that `headers` describe, for the client to send to `address`: `:path` as its
/// origin-form URI, method from `:method`, `Host` from `:authority`, every other non-pseudo
/// header as it is.
///
/// `same` is the client's own header map when `headers` holds nothing else (no plugin changed
/// a header other than a pseudo-header): it is sent on, with `Host` set, instead of parsing
/// every name again.
pub fn upstream_request(
    address: &str,
    headers: &HeaderMap,
    same: Option<hyper::HeaderMap>,
    body: GwBody,
) -> Result<Request<GwBody>, hyper::http::Error> {
    let get = |name: &str| headers.get(name).unwrap_or_default();
    let mut request = Request::new(body);
    *request.method_mut() = hyper::Method::from_bytes(get(":method").as_bytes())?;
    *request.uri_mut() = upstream_uri(address, get(":path"))?;
    let host = HeaderValue::from_str(get(":authority"))?;
    if let Some(mut same) = same {
        same.insert(hyper::header::HOST, host);
        *request.headers_mut() = same;
        return Ok(request);
    }
    let out = request.headers_mut();
    out.reserve(headers.len());
    out.insert(hyper::header::HOST, host);
    for (name, value) in headers.iter() {
        if !name.starts_with(b":") && !name.eq_ignore_ascii_case(b"host") {
            out.append(HeaderName::from_bytes(name)?, HeaderValue::from_bytes(value)?);
        }
    }
    Ok(request)
}

/// The URI of a request for `path` to `address`: origin-form, as the request line carries
/// it. A path that is not one is checked, as before, in the absolute URI it makes (the
/// client sends that as its path and query).
pub fn upstream_uri(address: &str, path: &str) -> Result<hyper::Uri, hyper::http::Error> {
    Ok(if path.starts_with('/') { hyper::Uri::try_from(path)? } else { format!("http://{address}{path}").parse()? })
}

/// The bytes of the names and values of `headers`.
pub fn head_bytes(headers: &hyper::HeaderMap) -> usize {
    headers.iter().map(|(name, value)| name.as_str().len() + value.len()).sum()
}

/// A response head as plugins see it: `:status` and the headers.
pub fn response_head(parts: &hyper::http::response::Parts) -> HeaderMap {
    let mut headers = HeaderMap::with_capacity(parts.headers.len() + 1, head_bytes(&parts.headers) + 10);
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
    let mut out = hyper::HeaderMap::with_capacity(map.len());
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body;

    fn request(path: &str) -> Result<Request<GwBody>, hyper::http::Error> {
        let headers = HeaderMap::from_pairs(&[
            (":method", "GET"),
            (":path", path),
            (":authority", "a.com"),
            ("x-one", "1"),
            ("connection", "close"),
        ]);
        upstream_request("127.0.0.1:8080", &headers, None, body::empty())
    }

    #[test]
    fn a_pristine_map_sends_the_clients_own_headers_with_host_from_the_authority() {
        let mut same = hyper::HeaderMap::new();
        same.insert("host", HeaderValue::from_static("client.example"));
        same.append("x-one", HeaderValue::from_static("1"));
        same.append("x-one", HeaderValue::from_static("2"));
        let mut headers = HeaderMap::from_pairs(&[
            (":method", "POST"),
            (":path", "/rewritten?q=1"),
            (":authority", "a.com"),
            ("x-one", "1"),
            ("x-one", "2"),
        ]);
        headers.mark_pristine();
        let fast = upstream_request("127.0.0.1:8080", &headers, Some(same), body::empty()).unwrap();
        let slow = upstream_request("127.0.0.1:8080", &headers, None, body::empty()).unwrap();
        for r in [&fast, &slow] {
            assert_eq!(r.method(), "POST");
            assert_eq!(r.uri().to_string(), "/rewritten?q=1");
            assert_eq!(r.headers().get_all("host").iter().collect::<Vec<_>>(), ["a.com"]);
            assert_eq!(r.headers().get_all("x-one").iter().collect::<Vec<_>>(), ["1", "2"]);
        }
        assert_eq!(fast.headers(), slow.headers());
    }

    #[test]
    fn upstream_requests_carry_the_path_in_origin_form() {
        let r = request("/a/b?c=1").unwrap();
        assert_eq!(r.uri().to_string(), "/a/b?c=1");
        assert_eq!(r.uri().authority(), None);
        assert_eq!(r.headers().get("host").unwrap(), "a.com");
        assert_eq!(r.headers().get("x-one").unwrap(), "1");
        // A path that looks like a network path stays a path.
        let r = request("//b.com/x").unwrap();
        assert_eq!(r.uri().authority(), None);
        assert_eq!(r.uri().path(), "//b.com/x");
        // No path: the absolute URI, which the client sends as `/`.
        assert_eq!(request("").unwrap().uri().to_string(), "http://127.0.0.1:8080/");
        // Anything else as the absolute URI it makes, as before.
        for path in ["*", "x/y", ":99999/z"] {
            let absolute = hyper::Uri::try_from(format!("http://127.0.0.1:8080{path}"));
            assert_eq!(request(path).map(|r| r.uri().clone()).ok(), absolute.ok(), "{path}");
        }
    }
}
