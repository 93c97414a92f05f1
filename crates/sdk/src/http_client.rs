//! HTTP callouts to any cluster (wasm-go's `ClusterClient`).
//!
//! Build the client once (in `validate_config`), then from a phase:
//! `client.get("/check").header("x-user", id).send(http, |me: &mut MyPlugin, http, config, resp| ..)`
//! and return `HeaderAction::StopAllIterationAndWatermark`; the callback resumes the request
//! (`http.resume_request()`) or answers it. `plugins/redis-counter` shows the whole pattern.

use crate::callout::{self, Pending, Target};
use crate::cluster::Cluster;
use crate::http::Http;
pub use crate::http_response::HttpResponse;
use crate::plugin::HttpPlugin;
use crate::{hostcalls, log_debug};
use higress_abi::Status;
use std::fmt;
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

/// A client for one cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpClient {
    cluster: Cluster,
}

impl HttpClient {
    /// A client calling `cluster`.
    pub fn new(cluster: Cluster) -> Self {
        HttpClient { cluster }
    }

    /// The cluster it calls.
    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }

    /// A request with any method.
    pub fn request(&self, method: &str, url: &str) -> HttpRequest {
        HttpRequest {
            cluster: self.cluster.clone(),
            method: method.to_string(),
            url: url.to_string(),
            headers: Vec::new(),
            body: Vec::new(),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// `GET url`.
    pub fn get(&self, url: &str) -> HttpRequest {
        self.request("GET", url)
    }

    /// `HEAD url`.
    pub fn head(&self, url: &str) -> HttpRequest {
        self.request("HEAD", url)
    }

    /// `OPTIONS url`.
    pub fn options(&self, url: &str) -> HttpRequest {
        self.request("OPTIONS", url)
    }

    /// `POST url` with a body.
    pub fn post(&self, url: &str, body: impl Into<Vec<u8>>) -> HttpRequest {
        self.request("POST", url).body(body)
    }

    /// `PUT url` with a body.
    pub fn put(&self, url: &str, body: impl Into<Vec<u8>>) -> HttpRequest {
        self.request("PUT", url).body(body)
    }

    /// `PATCH url` with a body.
    pub fn patch(&self, url: &str, body: impl Into<Vec<u8>>) -> HttpRequest {
        self.request("PATCH", url).body(body)
    }

    /// `DELETE url`.
    pub fn delete(&self, url: &str) -> HttpRequest {
        self.request("DELETE", url)
    }
}

/// A callout being built; send it with [`HttpRequest::send`] (from a stream) or
/// [`HttpRequest::send_from_root`] (from a tick).
#[derive(Debug, Clone)]
pub struct HttpRequest {
    cluster: Cluster,
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    timeout: Duration,
}

impl HttpRequest {
    /// Adds a header. `:method`, `:path` and `:authority` are set from the request itself.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Adds headers.
    pub fn headers<K: AsRef<str>, V: AsRef<str>>(mut self, headers: &[(K, V)]) -> Self {
        for (k, v) in headers {
            self.headers.push((k.as_ref().to_string(), v.as_ref().to_string()));
        }
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
        let target = parse_url(&self.url).ok_or_else(|| CallError::InvalidUrl(self.url.clone()))?;
        let authority =
            target.authority.map(str::to_string).unwrap_or_else(|| self.cluster.host(request_host)).trim().to_string();
        let authority = if authority.is_empty() { "unknownhost".to_string() } else { authority };
        let mut headers: Vec<(String, String)> = self
            .headers
            .into_iter()
            .filter(|(k, _)| !matches!(k.to_ascii_lowercase().as_str(), ":method" | ":path" | ":authority"))
            .collect();
        headers.push((":method".into(), self.method.clone()));
        headers.push((":path".into(), target.path));
        headers.push((":authority".into(), authority));
        let cluster = self.cluster.name();
        let timeout = u32::try_from(self.timeout.as_millis()).unwrap_or(u32::MAX);
        let no_trailers: [(String, String); 0] = [];
        let token =
            hostcalls::http_call(&cluster, &headers, &self.body, &no_trailers, timeout).map_err(CallError::Dispatch)?;
        log_debug!("http call {token} to {cluster}: {} {}", self.method, self.url);
        Ok(token)
    }
}

struct UrlTarget<'a> {
    authority: Option<&'a str>,
    path: String,
}

/// Splits `http://host:port/path?query#fragment` or `/path?query` into authority and path
/// (with query), as wasm-go does; the fragment is dropped. A URL that starts with `/` is a
/// path, even when its query holds a URL (`/login?next=https://a/b`).
fn parse_url(url: &str) -> Option<UrlTarget<'_>> {
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
    Some(UrlTarget { authority, path: full })
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
}
