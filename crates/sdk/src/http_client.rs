//! HTTP callouts to any cluster (wasm-go's `ClusterClient`).
//!
//! Build the client once (in `validate_config`), then from a phase:
//! `client.get("/check").header("x-user", id).send(http, |me: &mut MyPlugin, http, config, resp| ..)`
//! and return `HeaderAction::StopAllIterationAndWatermark`; the callback resumes the request
//! (`http.resume_request()`) or answers it. `plugins/redis-counter` shows the whole pattern.

use crate::ascii::eq_ignore_case;
use crate::callout::{self, Pending, Target};
use crate::cluster::Cluster;
use crate::http::Http;
pub use crate::http_response::{Headers, HttpResponse};
use crate::plugin::HttpPlugin;
use crate::scan;
use crate::{hostcalls, log_debug};
use higress_abi::Status;
use std::borrow::Cow;
use std::fmt;
use std::rc::Rc;
use std::time::Duration;

/// Timeout of a callout when none is given (as in wasm-go).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(500);

/// Why a callout could not be started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError {
    /// The URL could not be understood.
    InvalidUrl(String),
    /// The host refused the call (unknown cluster: `BadArgument`).
    Dispatch(Status),
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallError::InvalidUrl(url) => write!(f, "invalid URL `{url}`"),
            CallError::Dispatch(status) => write!(f, "the host refused the call: {status}"),
        }
    }
}

impl std::error::Error for CallError {}

/// A client for one cluster. The cluster's name and default `Host` are worked out once,
/// here, and shared: a request holds the client without copying it (a callback can take
/// the client along for a next call while the request made with it is sent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpClient {
    inner: Rc<Client>,
}

#[derive(Debug, PartialEq, Eq)]
struct Client {
    cluster: Cluster,
    /// [`Cluster::name`]; `None` for [`Cluster::Route`], whose name is the request's.
    name: Option<String>,
    /// The `Host` sent when a URL names none; `None` when it is the request's (a
    /// [`Cluster::Route`] without its own host).
    host: Option<String>,
}

impl HttpClient {
    /// A client calling `cluster`.
    pub fn new(cluster: Cluster) -> Self {
        let (name, host) = match &cluster {
            Cluster::Route { host } => (None, host.as_ref().filter(|h| !h.is_empty()).cloned()),
            other => (Some(other.name()), Some(other.host(None))),
        };
        HttpClient { inner: Rc::new(Client { cluster, name, host }) }
    }

    /// The cluster it calls.
    pub fn cluster(&self) -> &Cluster {
        &self.inner.cluster
    }

    /// A request with any method.
    pub fn request<'a>(&self, method: &'a str, url: &'a str) -> HttpRequest<'a> {
        HttpRequest {
            client: self.clone(),
            method,
            url,
            headers: Vec::new(),
            body: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// `GET url`.
    pub fn get<'a>(&self, url: &'a str) -> HttpRequest<'a> {
        self.request("GET", url)
    }

    /// `HEAD url`.
    pub fn head<'a>(&self, url: &'a str) -> HttpRequest<'a> {
        self.request("HEAD", url)
    }

    /// `OPTIONS url`.
    pub fn options<'a>(&self, url: &'a str) -> HttpRequest<'a> {
        self.request("OPTIONS", url)
    }

    /// `POST url` with a body.
    pub fn post<'a>(&self, url: &'a str, body: impl Into<Vec<u8>>) -> HttpRequest<'a> {
        self.request("POST", url).body(body)
    }

    /// `PUT url` with a body.
    pub fn put<'a>(&self, url: &'a str, body: impl Into<Vec<u8>>) -> HttpRequest<'a> {
        self.request("PUT", url).body(body)
    }

    /// `PATCH url` with a body.
    pub fn patch<'a>(&self, url: &'a str, body: impl Into<Vec<u8>>) -> HttpRequest<'a> {
        self.request("PATCH", url).body(body)
    }

    /// `DELETE url`.
    pub fn delete<'a>(&self, url: &'a str) -> HttpRequest<'a> {
        self.request("DELETE", url)
    }
}

/// A callout being built; send it with [`HttpRequest::send`] (from a stream) or
/// [`HttpRequest::send_from_root`] (from a tick). It borrows the method, the URL and the
/// headers it is given: nothing is copied before the call is encoded.
#[derive(Debug, Clone)]
pub struct HttpRequest<'a> {
    client: HttpClient,
    method: &'a str,
    url: &'a str,
    headers: Vec<(&'a str, &'a str)>,
    body: Vec<u8>,
    timeout: Duration,
}

impl<'a> HttpRequest<'a> {
    /// Adds a header. `:method`, `:path` and `:authority` are set from the request itself.
    pub fn header(mut self, name: &'a str, value: &'a str) -> Self {
        self.headers.push((name, value));
        self
    }

    /// Adds headers.
    pub fn headers<K: AsRef<str>, V: AsRef<str>>(mut self, headers: &'a [(K, V)]) -> Self {
        // With room for the three pseudo-headers the call adds: one allocation in all.
        let room = headers.len() + 3;
        if self.headers.is_empty() {
            // A fresh vector is allocated directly, growing one goes through `reserve`.
            self.headers = Vec::with_capacity(room);
        } else {
            self.headers.reserve(room);
        }
        self.headers.extend(headers.iter().map(|(k, v)| (k.as_ref(), v.as_ref())));
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// Sets the timeout (default 500 ms; the callback gets status 504 when it expires).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sends the call from a stream; `callback` runs in that stream's context (even if the
    /// call was made from another callout's callback) and may resume it or answer locally.
    /// Returns the token, or an error at once when the call cannot be dispatched.
    pub fn send<P: HttpPlugin>(
        self,
        http: &Http,
        callback: impl FnOnce(&mut P, &mut Http, &P::Config, HttpResponse) + 'static,
    ) -> Result<u32, CallError> {
        let token = self.dispatch(Some(http.host()))?;
        callout::register(
            token,
            Pending::Http(Target::Stream(http.context_id(), callout::stream_callback::<P, _>(callback))),
        );
        Ok(token)
    }

    /// Sends the call from the root context (a tick or a health check).
    pub fn send_from_root(self, callback: impl FnOnce(HttpResponse) + 'static) -> Result<u32, CallError> {
        let token = self.dispatch(None)?;
        callout::register(token, Pending::Http(Target::Root(Box::new(callback))));
        Ok(token)
    }

    fn dispatch(self, request_host: Option<&str>) -> Result<u32, CallError> {
        let target = parse_url(self.url).ok_or_else(|| CallError::InvalidUrl(self.url.to_string()))?;
        let client = &self.client.inner;
        let authority = match (target.authority, &client.host) {
            (Some(authority), _) => authority,
            (None, Some(host)) => host,
            (None, None) => request_host.unwrap_or_default(),
        }
        .trim();
        let authority = if authority.is_empty() { "unknownhost" } else { authority };
        let mut headers: Vec<(&str, &str)> = self.headers;
        headers.retain(|(name, _)| !is_call_pseudo_header(name));
        headers.reserve_exact(3);
        headers.push((":method", self.method));
        headers.push((":path", &target.path));
        headers.push((":authority", authority));
        let cluster = match &client.name {
            Some(name) => Cow::Borrowed(name.as_str()),
            None => Cow::Owned(client.cluster.name()),
        };
        let timeout = millis(self.timeout);
        let no_trailers: [(&str, &str); 0] = [];
        let token =
            hostcalls::http_call(&cluster, &headers, &self.body, &no_trailers, timeout).map_err(CallError::Dispatch)?;
        log_debug!("http call {token} to {cluster}: {} {}", self.method, self.url);
        Ok(token)
    }
}

/// `duration` in milliseconds, `u32::MAX` at most. `Duration::as_millis` counts in 128 bits
/// (as would an overflow check of a 64-bit product), a call to a software multiplication in
/// wasm; below the cap, plain 64-bit arithmetic cannot overflow.
fn millis(duration: Duration) -> u32 {
    let secs = duration.as_secs();
    if secs > u64::from(u32::MAX) / 1000 {
        return u32::MAX;
    }
    u32::try_from(secs * 1000 + u64::from(duration.subsec_millis())).unwrap_or(u32::MAX)
}

/// The pseudo-headers a call sets itself, whatever case a plugin gave them in.
fn is_call_pseudo_header(name: &str) -> bool {
    [":method", ":path", ":authority"].iter().any(|pseudo| eq_ignore_case(name.as_bytes(), pseudo.as_bytes()))
}

struct UrlTarget<'a> {
    authority: Option<&'a str>,
    path: Cow<'a, str>,
}

/// Splits `http://host:port/path?query#fragment` or `/path?query` into authority and path
/// (with query), as wasm-go does; the fragment is dropped. A URL that starts with `/` is a
/// path, even when its query holds a URL (`/login?next=https://a/b`).
fn parse_url(url: &str) -> Option<UrlTarget<'_>> {
    if is_plain_path(url) {
        return Some(UrlTarget { authority: None, path: Cow::Borrowed(url) });
    }
    parse_any_url(url)
}

/// [`parse_url`] for any URL: trimmed, fragment dropped, the path rebuilt with one leading
/// `/` and without an empty query.
fn parse_any_url(url: &str) -> Option<UrlTarget<'_>> {
    let url = url.trim();
    let url = url.split('#').next().unwrap_or_default();
    let (authority, rest) = match url.find("://") {
        Some(i) if !url.starts_with('/') => {
            let scheme = url.get(..i)?;
            if scheme.is_empty()
                || !scheme.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'-' || b == b'.')
            {
                return None;
            }
            let after = url.get(i + 3..)?;
            let end = after.find(['/', '?']).unwrap_or(after.len());
            let authority = after.get(..end)?;
            if authority.is_empty() || authority.contains(char::is_whitespace) {
                return None;
            }
            (Some(authority), after.get(end..)?)
        }
        _ => (None, url),
    };
    if rest.contains(char::is_whitespace) {
        return None;
    }
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    };
    let mut full = format!("/{}", path.trim_start_matches('/'));
    if let Some(q) = query.filter(|q| !q.is_empty()) {
        full.push('?');
        full.push_str(q);
    }
    Some(UrlTarget { authority, path: Cow::Owned(full) })
}

/// Whether [`parse_url`] would return `url` itself as the path: one `/` first, then only
/// printable ASCII without a fragment, and no empty query. Most calls have such a URL; it
/// is sent as it is, without the parse and the copy.
fn is_plain_path(url: &str) -> bool {
    let bytes = url.as_bytes();
    let one_slash = bytes.first() == Some(&b'/') && bytes.get(1) != Some(&b'/');
    // A `?` that is the first and the last byte opens an empty query, which is dropped.
    let empty_query = bytes.last() == Some(&b'?') && scan::count(bytes, b'?') == 1;
    one_slash && !empty_query && scan::is_graphic_except(bytes, b"#")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_like_wasm_go() {
        let t = parse_url("http://auth.local:8080/check?x=1#frag").unwrap();
        assert_eq!(t.authority, Some("auth.local:8080"));
        assert_eq!(t.path, "/check?x=1");
        let t = parse_url("/a/b?").unwrap();
        assert_eq!(t.authority, None);
        assert_eq!(t.path, "/a/b");
        assert_eq!(parse_url("check").unwrap().path, "/check");
        assert_eq!(parse_url("").unwrap().path, "/");
        assert_eq!(parse_url("https://h").unwrap().path, "/");
        assert_eq!(parse_url("https://h?q=1").unwrap().path, "/?q=1");
        let t = parse_url("/auth/login?next=https://a.com/b").unwrap();
        assert_eq!(t.authority, None);
        assert_eq!(t.path, "/auth/login?next=https://a.com/b");
        assert!(parse_url("://x").is_none());
        assert!(parse_url("http:///path").is_none());
        assert!(parse_url("/a b").is_none());
    }

    #[test]
    fn timeouts_in_milliseconds() {
        for d in
            [Duration::ZERO, Duration::from_micros(1500), Duration::from_millis(500), Duration::from_secs(4_294_967)]
        {
            assert_eq!(millis(d), u32::try_from(d.as_millis()).unwrap_or(u32::MAX), "{d:?}");
        }
        assert_eq!(millis(Duration::from_secs(4_294_968)), u32::MAX);
        assert_eq!(millis(Duration::MAX), u32::MAX);
    }

    #[test]
    fn plain_paths_are_sent_as_they_are() {
        for url in ["/", "/auth/orders", "/a?b=1", "/a?", "/a?b?", "//x", "/a#f", "/a b", "/é", "x/a", ""] {
            if is_plain_path(url) {
                let general = parse_any_url(url).unwrap();
                assert_eq!((general.authority, general.path.as_ref()), (None, url), "{url:?}");
            }
        }
        assert!(is_plain_path("/auth/orders?x=1&y=%20"));
        assert!(!is_plain_path("/a?"), "an empty query is dropped");
        assert!(is_plain_path("/a?b?"), "this query is `b?`");
    }

    proptest::proptest! {
        /// The fast path agrees with the general parse wherever it applies.
        #[test]
        fn the_plain_path_test_agrees_with_the_parse(url in "/?[/a?#: \t%é]{0,8}") {
            if is_plain_path(&url) {
                let general = parse_any_url(&url).unwrap();
                proptest::prop_assert_eq!(general.authority, None);
                proptest::prop_assert_eq!(general.path.as_ref(), url.as_str());
            }
        }
    }
}
