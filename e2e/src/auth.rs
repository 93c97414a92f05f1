//! The authorization service ext-auth calls in the e2e stack (`auth.static`).
//!
//! It decides on what it is asked about: its own path in ext-auth's `envoy` mode
//! (`path_prefix` + the client's path), `x-forwarded-uri` in `forward_auth` mode.
//!
//! | asked about | answer |
//! |---|---|
//! | a path containing `/auth-fail` | 503 `auth backend down` |
//! | a path containing `/auth-slow` | after 2 s, as below |
//! | anything, with `Authorization: Bearer good` | 200, `x-user-id: e2e-user` and `x-auth-seen-*` |
//! | anything else | 401 `{"error":"unauthorized"}`, `www-authenticate: Bearer realm="e2e"`, `x-auth-denied: true`, `x-auth-internal: 1` |
//!
//! The `x-auth-seen-*` headers of an allowed request tell what the service received, so a
//! test reads them back from the echo upstream: `-method`, `-path`, `-uri` and `-host`
//! (`x-forwarded-uri` / `-host`), `-forwarded-method`, `-caller` (`x-auth-caller`),
//! `-extra` (`x-auth-extra`), `-body-length`.

use crate::body::{self, OutBody};
use crate::server::json;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::{Request, Response};
use serde_json::json;
use std::time::Duration;

/// The credential it allows.
pub const GOOD_TOKEN: &str = "Bearer good";

/// How long `/auth-slow` makes it wait (longer than the timeouts e2e/config gives it).
const SLOW: Duration = Duration::from_secs(2);

/// Answers one authorization request.
pub async fn handle(req: Request<Incoming>) -> Response<OutBody> {
    let (parts, body) = req.into_parts();
    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str()).to_string();
    let forwarded_uri = header("x-forwarded-uri");
    let subject = if forwarded_uri.is_empty() { path.clone() } else { forwarded_uri.clone() };
    if subject.contains("/auth-fail") {
        let mut response = Response::new(body::full("auth backend down"));
        *response.status_mut() = hyper::StatusCode::SERVICE_UNAVAILABLE;
        return response;
    }
    if subject.contains("/auth-slow") {
        tokio::time::sleep(SLOW).await;
    }
    if header("authorization") != GOOD_TOKEN {
        let mut response = json(401, &json!({"error": "unauthorized"}));
        let headers = response.headers_mut();
        headers.insert("www-authenticate", hyper::header::HeaderValue::from_static("Bearer realm=\"e2e\""));
        headers.insert("x-auth-denied", hyper::header::HeaderValue::from_static("true"));
        headers.insert("x-auth-internal", hyper::header::HeaderValue::from_static("1"));
        return response;
    }
    let mut response = Response::new(body::full(""));
    let seen = [
        ("x-user-id", "e2e-user".to_string()),
        ("x-auth-seen-method", parts.method.as_str().to_string()),
        ("x-auth-seen-path", path),
        ("x-auth-seen-uri", forwarded_uri),
        ("x-auth-seen-host", header("x-forwarded-host")),
        ("x-auth-seen-forwarded-method", header("x-forwarded-method")),
        ("x-auth-seen-caller", header("x-auth-caller")),
        ("x-auth-seen-extra", header("x-auth-extra")),
        ("x-auth-seen-body-length", body.len().to_string()),
    ];
    for (name, value) in seen {
        if let Ok(value) = hyper::header::HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

/// Starts the service on a free loopback port in the background (tests); returns its address.
pub fn spawn() -> std::net::SocketAddr {
    crate::server::spawn_background(handle)
}
