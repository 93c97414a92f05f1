//! Scripted behaviour, asked for by request headers, and the streaming of replies.
//!
//! | request header | effect |
//! |---|---|
//! | `x-mock-delay-ms: N` | the answer's head is sent after N ms (at most 300000) |
//! | `x-mock-status: N` (400..=599) | answers status N with the protocol's error body (after the auth and path checks) |
//! | `x-mock-garbage: 1` | answers 200 with a body that is not JSON (an SSE event that is not JSON for a streamed request) |
//! | `x-mock-close-mid-stream: 1` | closes the connection after the first streamed event (after half the body of a whole reply) |
//! | `x-mock-error-mid-stream: 1` | a stream sends the protocol's error event after its first delta and ends |
//! | `x-mock-chunk-delay-ms: N` | pause between streamed events (default: the server's `--chunk-delay-ms`) |
//! | `x-mock-cached-tokens: N` | N prompt tokens were read from the cache |
//! | `x-mock-cache-creation-tokens: N` | N prompt tokens were written to the cache (Anthropic; the Responses API's `cache_write_tokens`) |
//!
//! An API key containing `mock-status-<N>` (say `sk-mock-status-503`) scripts status N too:
//! a retry with another key of the same configuration then succeeds.

use crate::body::{self, OutBody};
use hyper::header::HeaderValue;
use hyper::{HeaderMap, Response};
use std::time::Duration;

/// Longest head delay.
const MAX_DELAY_MS: u64 = 300_000;

/// What the request's headers script.
#[derive(Debug, Clone, Default)]
pub struct Script {
    pub delay: Option<Duration>,
    pub status: Option<u16>,
    pub garbage: bool,
    pub close_mid_stream: bool,
    pub error_mid_stream: bool,
    pub chunk_delay: Duration,
    pub cached_tokens: u64,
    pub cache_creation_tokens: u64,
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim)
}

fn number(headers: &HeaderMap, name: &str) -> Option<u64> {
    header(headers, name).and_then(|v| v.parse().ok())
}

fn flag(headers: &HeaderMap, name: &str) -> bool {
    header(headers, name).is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on"))
}

fn error_status(n: u64) -> Option<u16> {
    u16::try_from(n).ok().filter(|s| (400..=599).contains(s))
}

/// The status an API key scripts (`...mock-status-503...`).
pub fn status_of_key(key: &str) -> Option<u16> {
    let rest = key.split_once("mock-status-")?.1;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok().and_then(error_status)
}

impl Script {
    /// The script of a request with `headers` and API key `key`.
    pub fn new(headers: &HeaderMap, key: Option<&str>, default_chunk_delay: Duration) -> Script {
        Script {
            delay: number(headers, "x-mock-delay-ms").map(|ms| Duration::from_millis(ms.min(MAX_DELAY_MS))),
            status: number(headers, "x-mock-status").and_then(error_status).or_else(|| key.and_then(status_of_key)),
            garbage: flag(headers, "x-mock-garbage"),
            close_mid_stream: flag(headers, "x-mock-close-mid-stream"),
            error_mid_stream: flag(headers, "x-mock-error-mid-stream"),
            chunk_delay: number(headers, "x-mock-chunk-delay-ms")
                .map_or(default_chunk_delay, |ms| Duration::from_millis(ms.min(MAX_DELAY_MS))),
            cached_tokens: number(headers, "x-mock-cached-tokens").unwrap_or(0),
            cache_creation_tokens: number(headers, "x-mock-cache-creation-tokens").unwrap_or(0),
        }
    }
}

/// One event of a stream, framed (`data: ...\n\n`).
#[derive(Debug, Clone)]
pub struct Event {
    pub text: String,
    /// Whether it carries a piece of the answer (a mid-stream error comes after the first).
    pub delta: bool,
}

impl Event {
    pub fn new(text: String) -> Event {
        Event { text, delta: false }
    }

    pub fn delta(text: String) -> Event {
        Event { text, delta: true }
    }
}

fn set(response: &mut Response<OutBody>, name: &'static str, value: &'static str) {
    response.headers_mut().insert(name, HeaderValue::from_static(value));
}

/// Cuts the connection once what was sent has left: hyper drops its unwritten buffer when the
/// body fails, so the failure waits until the body has been idle a moment (then written out).
async fn abort(tx: &tokio::sync::mpsc::Sender<body::Chunk>) {
    tokio::time::sleep(FLUSH_PAUSE).await;
    let _ = tx.send(body::abort()).await;
}

/// How long a cut body waits before failing.
const FLUSH_PAUSE: Duration = Duration::from_millis(100);

/// A `text/event-stream` answer sending `events` as `script` says; `error` is the protocol's
/// error event, sent instead of the rest when the script asks for a mid-stream error.
pub fn stream(mut events: Vec<Event>, error: String, script: &Script) -> Response<OutBody> {
    if script.error_mid_stream {
        let at = events.iter().position(|e| e.delta).map_or(events.len(), |i| i + 1);
        events.truncate(at);
        events.push(Event::new(error));
    }
    let close = script.close_mid_stream;
    if close {
        events.truncate(1);
    }
    let delay = script.chunk_delay;
    let (tx, out) = body::channel();
    tokio::spawn(async move {
        for (i, event) in events.into_iter().enumerate() {
            if i > 0 && !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            if tx.send(body::data(event.text)).await.is_err() {
                return;
            }
        }
        if close {
            abort(&tx).await;
        }
    });
    let mut response = Response::new(out);
    set(&mut response, "content-type", "text/event-stream");
    set(&mut response, "cache-control", "no-cache");
    response
}

/// A JSON answer whose connection closes after half the body.
pub fn cut_json(status: u16, value: &serde_json::Value) -> Response<OutBody> {
    let text = value.to_string();
    let half = text.len() / 2;
    let head = text.get(..half).map(str::to_string).unwrap_or_default();
    let (tx, out) = body::channel();
    tokio::spawn(async move {
        if tx.send(body::data(head)).await.is_ok() {
            abort(&tx).await;
        }
    });
    let mut response = Response::new(out);
    *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::OK);
    set(&mut response, "content-type", "application/json");
    response
}

/// A 200 answer that is not JSON: an event stream whose event is not JSON for a streamed
/// request, else a body that starts like JSON and is not.
pub fn garbage(streamed: bool) -> Response<OutBody> {
    let (content_type, text) = if streamed {
        ("text/event-stream", "data: {mock garbage, not JSON\n\n")
    } else {
        ("application/json", "{\"mock garbage\": this is not JSON")
    };
    let mut response = Response::new(body::full(text));
    set(&mut response, "content-type", content_type);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_and_keys_script() {
        let mut headers = HeaderMap::new();
        headers.insert("x-mock-status", HeaderValue::from_static("503"));
        headers.insert("x-mock-delay-ms", HeaderValue::from_static("99999999"));
        headers.insert("x-mock-garbage", HeaderValue::from_static("TRUE"));
        headers.insert("x-mock-cached-tokens", HeaderValue::from_static("x"));
        let script = Script::new(&headers, None, Duration::from_millis(5));
        assert_eq!(script.status, Some(503));
        assert_eq!(script.delay, Some(Duration::from_millis(MAX_DELAY_MS)));
        assert!(script.garbage && !script.close_mid_stream);
        assert_eq!((script.cached_tokens, script.chunk_delay), (0, Duration::from_millis(5)));
        headers.insert("x-mock-status", HeaderValue::from_static("200"));
        assert_eq!(Script::new(&headers, Some("sk-mock-status-429x"), Duration::ZERO).status, Some(429));
        assert_eq!(status_of_key("mock-status-99999"), None);
        assert_eq!(status_of_key("sk-plain"), None);
    }
}
