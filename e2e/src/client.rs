//! A small blocking HTTP/1.1 client for tests: one connection per request, the `Host` header
//! chosen per request (that is how the suite picks a plugin's domain), whole or streamed
//! responses. Every failure panics with what was being sent: this is test code.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use std::time::Duration;

/// How long a request may take before the test fails (generous: CI machines are slow).
const TIMEOUT: Duration = Duration::from_secs(60);

thread_local! {
    static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("tokio runtime: {e}"));
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    RUNTIME.with(|rt| rt.block_on(future))
}

/// Where requests go: `host:port` of a gateway.
#[derive(Clone, Debug)]
pub struct Gateway {
    address: String,
}

impl Gateway {
    /// The gateway at `url` (`http://127.0.0.1:8080`, `127.0.0.1:8080`).
    pub fn new(url: &str) -> Gateway {
        let address = url.trim_start_matches("http://").trim_end_matches('/').to_string();
        Gateway { address }
    }

    /// The gateway named by `$GATEWAY_URL` (what `make e2e-local` and `make e2e` set).
    pub fn from_env() -> Gateway {
        match std::env::var("GATEWAY_URL") {
            Ok(url) if !url.is_empty() => Gateway::new(&url),
            _ => panic!("GATEWAY_URL is not set: run the suite with `make e2e-local` (local gateway) or `make e2e` (Higress in Docker)"),
        }
    }

    /// `host:port`.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// A request for `path` on virtual host `host`.
    pub fn request(&self, method: &str, host: &str, path: &str) -> RequestBuilder {
        RequestBuilder {
            address: self.address.clone(),
            method: method.to_string(),
            path: path.to_string(),
            headers: vec![("host".into(), host.into())],
            body: Bytes::new(),
        }
    }

    /// A GET.
    pub fn get(&self, host: &str, path: &str) -> RequestBuilder {
        self.request("GET", host, path)
    }

    /// A POST with `body`.
    pub fn post(&self, host: &str, path: &str, body: impl Into<Bytes>) -> RequestBuilder {
        self.request("POST", host, path).body(body)
    }
}

/// The status of GET `path` on `host`, or `None` when the gateway does not answer (yet):
/// for waiting until a gateway is up, where failing is expected.
pub fn probe(gateway: &Gateway, host: &str, path: &str) -> Option<u16> {
    let request = gateway.get(host, path);
    block_on(async {
        tokio::time::timeout(Duration::from_secs(5), request.start()).await.ok()?.ok().map(|r| r.status().as_u16())
    })
}

/// A request being built.
#[derive(Clone, Debug)]
pub struct RequestBuilder {
    address: String,
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Bytes,
}

impl RequestBuilder {
    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Sets the body (with its `content-length`).
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    async fn start(&self) -> Result<hyper::Response<Incoming>, String> {
        let stream = tokio::net::TcpStream::connect(&self.address)
            .await
            .map_err(|e| format!("connect {}: {e}", self.address))?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|e| e.to_string())?;
        tokio::spawn(connection);
        let mut request = hyper::Request::builder().method(self.method.as_str()).uri(self.path.as_str());
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        let request = request.body(Full::new(self.body.clone())).map_err(|e| e.to_string())?;
        sender.send_request(request).await.map_err(|e| e.to_string())
    }

    /// Sends the request and reads the whole response.
    pub fn send(self) -> Reply {
        let result = block_on(async {
            tokio::time::timeout(TIMEOUT, async {
                let response = self.start().await?;
                let (parts, body) = response.into_parts();
                let body = body.collect().await.map_err(|e| format!("reading the body: {e}"))?.to_bytes();
                Ok::<_, String>(Reply::new(parts, body.to_vec()))
            })
            .await
            .map_err(|_| "timed out".to_string())?
        });
        result.unwrap_or_else(|e| panic!("{} {} (host {}): {e}", self.method, self.path, self.host()))
    }

    /// Sends the request and returns as soon as the response head arrives; the body is read
    /// chunk by chunk with [`Streaming::next_chunk`].
    pub fn stream(self) -> Streaming {
        let result =
            block_on(async { tokio::time::timeout(TIMEOUT, self.start()).await.map_err(|_| "timed out".to_string())? });
        let response = result.unwrap_or_else(|e| panic!("{} {} (host {}): {e}", self.method, self.path, self.host()));
        let (parts, body) = response.into_parts();
        Streaming { head: Reply::new(parts, Vec::new()), body }
    }

    fn host(&self) -> &str {
        self.headers.iter().find(|(n, _)| n == "host").map_or("", |(_, v)| v.as_str())
    }
}

/// A complete response.
#[derive(Clone, Debug)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Headers, names lower-case, in order.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

impl Reply {
    fn new(parts: hyper::http::response::Parts, body: Vec<u8>) -> Reply {
        let headers = parts
            .headers
            .iter()
            .map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect();
        Reply { status: parts.status.as_u16(), headers, body }
    }

    /// The first value of header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON (panics with the body when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("status {}: body is not JSON ({e}): {}", self.status, self.text()))
    }

    /// What the echo upstream received (panics when the answer is not the echo's).
    pub fn echo(&self) -> Echoed {
        let value = self.json();
        assert!(value.get("method").is_some(), "not an echo answer (status {}): {}", self.status, self.text());
        Echoed(value)
    }
}

/// The echo upstream's report of the request it received.
#[derive(Clone, Debug)]
pub struct Echoed(pub Value);

impl Echoed {
    /// Method.
    pub fn method(&self) -> &str {
        self.0["method"].as_str().unwrap_or_default()
    }

    /// Path with query.
    pub fn path(&self) -> &str {
        self.0["path"].as_str().unwrap_or_default()
    }

    /// Every value of request header `name`.
    pub fn headers(&self, name: &str) -> Vec<String> {
        self.0["headers"][name.to_ascii_lowercase()]
            .as_array()
            .map(|v| v.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
            .unwrap_or_default()
    }

    /// The single value of request header `name` (panics when there are several).
    pub fn header(&self, name: &str) -> Option<String> {
        let mut values = self.headers(name);
        assert!(values.len() <= 1, "{name} reached the upstream {} times: {values:?}", values.len());
        values.pop()
    }

    /// The body as text.
    pub fn body(&self) -> &str {
        self.0["body"].as_str().unwrap_or_default()
    }
}

/// A response whose body is being read.
pub struct Streaming {
    /// Status and headers.
    pub head: Reply,
    body: Incoming,
}

impl Streaming {
    /// The next data chunk, `None` at the end; panics if none arrives within `wait`.
    pub fn next_chunk(&mut self, wait: Duration) -> Option<Bytes> {
        block_on(async {
            loop {
                match tokio::time::timeout(wait, self.body.frame()).await {
                    Err(_) => panic!("no chunk within {wait:?}: the body is not streamed"),
                    Ok(None) => return None,
                    Ok(Some(Err(e))) => panic!("reading the body: {e}"),
                    Ok(Some(Ok(frame))) => {
                        if let Ok(data) = frame.into_data() {
                            if !data.is_empty() {
                                return Some(data);
                            }
                        }
                    }
                }
            }
        })
    }

    /// Everything left of the body up to its end or to the error that cut it (the connection
    /// closed mid-body): the bytes read, and the error if there was one.
    pub fn rest_or_error(mut self) -> (Vec<u8>, Option<String>) {
        let mut out = Vec::new();
        let error = block_on(async {
            loop {
                match tokio::time::timeout(TIMEOUT, self.body.frame()).await {
                    Err(_) => return Some(format!("no chunk within {TIMEOUT:?}")),
                    Ok(None) => return None,
                    Ok(Some(Err(e))) => return Some(e.to_string()),
                    Ok(Some(Ok(frame))) => {
                        if let Ok(data) = frame.into_data() {
                            out.extend_from_slice(&data);
                        }
                    }
                }
            }
        });
        (out, error)
    }

    /// Everything left of the body.
    pub fn rest(mut self) -> Vec<u8> {
        let mut out = Vec::new();
        while let Some(chunk) = self.next_chunk(TIMEOUT) {
            out.extend_from_slice(&chunk);
        }
        out
    }
}
