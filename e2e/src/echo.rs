//! The echo upstream: it answers with what it received, so a test sees exactly what the
//! plugin chain sent upstream.
//!
//! | path | answer |
//! |---|---|
//! | any | 200, JSON `{method, path, headers: {name: [values]}, body, body_length}` |
//! | `/status/<code>` | the same JSON with that status |
//! | `/slow/<ms>` | the same JSON after `<ms>` milliseconds |
//! | `/bytes/<n>` | `n` bytes of `x` (`application/octet-stream`) |
//! | `/sse/<n>` | `text/event-stream` with `n` events `data: event <i>`; with `?gate=<id>` it sends the first event, then waits (up to 30 s) for `/release/<id>` before the rest |
//! | `/release/<id>` | opens gate `<id>`; 200 `released` |
//!
//! Every answer carries `x-echo-body-length` (the request body's length, also for HEAD).
//! A request header `x-echo-set-<name>: <value>` makes the answer carry `<name>: <value>`.

use crate::body::{self, OutBody};
use crate::server::json;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::{Request, Response};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// How long a gated stream waits for its release.
const GATE_TIMEOUT: Duration = Duration::from_secs(30);

/// The echo server's state: the gates of held event streams.
#[derive(Clone, Default)]
pub struct Echo {
    gates: Arc<Mutex<HashMap<String, Arc<Notify>>>>,
}

impl Echo {
    fn gate(&self, id: &str) -> Arc<Notify> {
        let mut gates = self.gates.lock().unwrap_or_else(|e| e.into_inner());
        gates.entry(id.to_string()).or_default().clone()
    }

    /// Answers one request.
    pub async fn handle(self, req: Request<Incoming>) -> Response<OutBody> {
        let (parts, body) = req.into_parts();
        let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
        let path = parts.uri.path().to_string();
        let query = parts.uri.query().unwrap_or_default().to_string();
        let mut headers = Map::new();
        for (name, value) in &parts.headers {
            let entry = headers.entry(name.as_str()).or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(values) = entry {
                values.push(Value::String(String::from_utf8_lossy(value.as_bytes()).into_owned()));
            }
        }
        let report = json!({
            "method": parts.method.as_str(),
            "path": parts.uri.path_and_query().map_or("/", |p| p.as_str()),
            "headers": headers,
            "body": String::from_utf8_lossy(&body),
            "body_length": body.len(),
        });
        let segments: Vec<&str> = path.trim_start_matches('/').splitn(2, '/').collect();
        let mut response = match segments.as_slice() {
            ["status", code] => json(code.parse().unwrap_or(400), &report),
            ["slow", ms] => {
                tokio::time::sleep(Duration::from_millis(ms.parse().unwrap_or(0))).await;
                json(200, &report)
            }
            ["bytes", n] => {
                let n: usize = n.parse().unwrap_or(0).min(64 << 20);
                let mut response = Response::new(body::full(vec![b'x'; n]));
                response
                    .headers_mut()
                    .insert("content-type", hyper::header::HeaderValue::from_static("application/octet-stream"));
                response
            }
            ["sse", n] => self.events(n.parse().unwrap_or(1), gate_of(&query)),
            ["release", id] => {
                self.gate(id).notify_one();
                Response::new(body::full("released"))
            }
            _ => json(200, &report),
        };
        // Also in a header: a HEAD answer has no body to carry the report.
        response.headers_mut().insert("x-echo-body-length", hyper::header::HeaderValue::from(body.len()));
        for (name, value) in &parts.headers {
            if let Some(target) = name.as_str().strip_prefix("x-echo-set-") {
                if let Ok(target) = hyper::header::HeaderName::from_bytes(target.as_bytes()) {
                    response.headers_mut().append(target, value.clone());
                }
            }
        }
        response
    }

    fn events(&self, count: usize, gate: Option<String>) -> Response<OutBody> {
        let (tx, body) = body::channel();
        let gate = gate.map(|id| self.gate(&id));
        tokio::spawn(async move {
            for i in 0..count {
                if tx.send(body::data(format!("data: event {i}\n\n"))).await.is_err() {
                    return;
                }
                if i == 0 {
                    if let Some(gate) = &gate {
                        let _ = tokio::time::timeout(GATE_TIMEOUT, gate.notified()).await;
                    }
                }
            }
        });
        let mut response = Response::new(body);
        response.headers_mut().insert("content-type", hyper::header::HeaderValue::from_static("text/event-stream"));
        response.headers_mut().insert("cache-control", hyper::header::HeaderValue::from_static("no-cache"));
        response
    }
}

fn gate_of(query: &str) -> Option<String> {
    query.split('&').find_map(|pair| pair.strip_prefix("gate=")).filter(|g| !g.is_empty()).map(str::to_string)
}

/// Starts an echo server on a free loopback port in the background (tests); returns its address.
pub fn spawn() -> std::net::SocketAddr {
    let echo = Echo::default();
    crate::server::spawn_background(move |req| echo.clone().handle(req))
}
