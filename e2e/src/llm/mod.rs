//! The LLM mock: the paid providers' APIs as ai-proxy and the AI plugins see them - OpenAI
//! chat completions (and the ~25 OpenAI-compatible providers), Anthropic messages and Azure
//! OpenAI - with deterministic answers, so tests can predict every byte, and a journal of what
//! it received.
//!
//! # Endpoints
//!
//! | request | protocol | auth | answer |
//! |---|---|---|---|
//! | `POST` any path ending in `/chat/completions` (`/v1/...`, `/api/v3/...`, `/compatible-mode/v1/...`), not under `/openai/` | openai | `Authorization: Bearer <key>` | [`openai`] |
//! | `GET` a path ending in `/models` (`/v1/models`) | openai | Bearer | the [`MODELS`] list |
//! | `POST` a path ending in `/v1/messages` (`/v1/messages`, `/anthropic/v1/messages`, `/apps/anthropic/v1/messages`) | anthropic | `x-api-key: <key>` (or `Authorization: Bearer` with an `anthropic-beta: oauth-...`), and `anthropic-version` | [`anthropic`] |
//! | `POST /openai/deployments/{d}/chat/completions?api-version=...`, `/openai/chat/completions?api-version=...`, `/openai/v1/chat/completions` | azure | `api-key: <key>` | [`azure`], then as openai |
//! | `POST /{v1beta,v1}/models/{m}:generateContent`, `:streamGenerateContent[?alt=sse]` | gemini | `x-goog-api-key: <key>` or `?key=<key>` | [`gemini`] |
//! | `GET /__mock/requests[?tag=<t>][&key=<k>]` | - | none | the journal ([`record`]): a JSON array, oldest first |
//! | `POST` / `GET` / `DELETE /__mock/faults` | - | none | faults armed for the next requests ([`faults`]) |
//!
//! Any key is accepted; a missing one is refused as the provider does (OpenAI: 401
//! `invalid_api_key`; Anthropic: 401 `authentication_error`, and 400 without
//! `anthropic-version`; Azure: 401, its front end's shape; Gemini: 403 `PERMISSION_DENIED`). Other paths: 404 in the shape of
//! the protocol the path belongs to; another method: 405. Bodies over 32 MiB: 413.
//!
//! # Answers
//!
//! The same "model" for every protocol ([`model`]): `Mock reply to: <last user message>`,
//! tokens are whitespace-separated words; reasoning (OpenAI `reasoning_effort`, Anthropic
//! `thinking`) adds `Mock reasoning about: ...` first; `call <tool>` in the last user message
//! of a request with tools calls that tool with `{"q": "<the rest>"}`; stop sequences and
//! `max_tokens` cut the text.
//!
//! # Headers
//!
//! Every protocol answer carries `x-llm-mock-api-key` (the key it got, when it got one),
//! `x-llm-mock-protocol` (`openai`, `anthropic`, `azure`), `x-mock-tag` (the request's, echoed),
//! and a request id (`x-request-id`; Anthropic: `request-id`); 429, 503 and 529 answers carry
//! `retry-after: 1`. Request headers script failures and cache hits: see [`script`].
//!
//! # Journal
//!
//! The last 200 requests (but those to `/__mock/`) are kept with their method, path and query,
//! headers, body (JSON or text), protocol, key, tag and answer status ([`record`]). A test tags
//! its requests with `x-mock-tag: <unique>` and asks `GET /__mock/requests?tag=<unique>`, so
//! concurrent tests never see each other's requests.

pub mod anthropic;
pub mod azure;
pub mod faults;
pub mod gemini;
pub mod model;
pub mod openai;
pub mod record;
pub mod script;

use crate::body::OutBody;
use crate::server::json;
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header::HeaderValue;
use hyper::{HeaderMap, Method, Request, Response};
use serde_json::Value;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use model::tokens;

/// Models `GET /v1/models` lists (any model name is accepted).
pub const MODELS: &[&str] = &["mock-gpt-4o", "mock-gpt-4o-mini"];

/// Largest request body read.
pub const MAX_REQUEST_BODY: usize = 32 << 20;

/// The mock's settings, counters and journal.
#[derive(Clone, Default)]
pub struct LlmMock {
    /// Pause between streamed chunks unless the request says otherwise.
    pub chunk_delay: Duration,
    served: Arc<AtomicU64>,
    journal: record::Journal,
    faults: faults::Faults,
}

/// The API a request speaks (from its path).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    OpenAi,
    Anthropic,
    Azure,
    Gemini,
}

impl Protocol {
    /// `openai`, `anthropic`, `azure`, `gemini`.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::OpenAi => "openai",
            Protocol::Anthropic => "anthropic",
            Protocol::Azure => "azure",
            Protocol::Gemini => "gemini",
        }
    }
}

/// What a path is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Route {
    Journal,
    Faults,
    OpenAiChat,
    OpenAiModels,
    Anthropic,
    Azure(azure::Chat),
    Gemini(gemini::Call),
    Unknown(Protocol),
}

impl Route {
    fn of(path: &str) -> Route {
        if path == "/__mock/requests" {
            Route::Journal
        } else if path == "/__mock/faults" {
            Route::Faults
        } else if let Some(call) = gemini::route(path) {
            Route::Gemini(call)
        } else if path.starts_with("/v1beta/") {
            Route::Unknown(Protocol::Gemini)
        } else if path.starts_with("/openai/") {
            azure::route(path).map_or(Route::Unknown(Protocol::Azure), Route::Azure)
        } else if path.ends_with("/v1/messages") {
            Route::Anthropic
        } else if path.ends_with("/chat/completions") {
            Route::OpenAiChat
        } else if path.ends_with("/models") {
            Route::OpenAiModels
        } else if path.contains("/anthropic/") {
            Route::Unknown(Protocol::Anthropic)
        } else {
            Route::Unknown(Protocol::OpenAi)
        }
    }

    fn protocol(&self) -> Protocol {
        match self {
            Route::Anthropic => Protocol::Anthropic,
            Route::Azure(_) => Protocol::Azure,
            Route::Gemini(_) => Protocol::Gemini,
            Route::Unknown(protocol) => *protocol,
            Route::Journal | Route::Faults | Route::OpenAiChat | Route::OpenAiModels => Protocol::OpenAi,
        }
    }
}

/// A protocol module's answer, before the script shapes its delivery.
pub enum Reply {
    /// A whole JSON answer.
    Json(u16, Value),
    /// Server-sent events, and the protocol's mid-stream error event.
    Stream(Vec<script::Event>, String),
}

/// Seconds since the epoch (`created`).
pub fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default()
}

/// What the mock answers to `messages`: `Mock reply to: <last user message>`.
pub fn reply_to(messages: &[Value]) -> String {
    format!("Mock reply to: {}", model::subject(messages))
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty())
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    header(headers, "authorization")?.strip_prefix("Bearer ").map(str::trim).filter(|k| !k.is_empty())
}

/// The API key of `protocol`'s header (Gemini's may be the `key` query parameter).
fn key_of(protocol: Protocol, headers: &HeaderMap, query: &str) -> Option<String> {
    if protocol == Protocol::Gemini {
        return header(headers, "x-goog-api-key")
            .map(str::to_string)
            .or_else(|| record::query_param(query, "key").filter(|k| !k.is_empty()));
    }
    let key = match protocol {
        Protocol::OpenAi => bearer(headers),
        Protocol::Anthropic => header(headers, "x-api-key").or_else(|| {
            header(headers, "anthropic-beta").filter(|b| b.contains("oauth-")).and_then(|_| bearer(headers))
        }),
        Protocol::Azure => header(headers, "api-key"),
        Protocol::Gemini => None,
    };
    key.map(str::to_string)
}

/// The error body `protocol` answers `status` with.
fn status_error(protocol: Protocol, status: u16, n: u64) -> Value {
    match protocol {
        Protocol::OpenAi => openai::status_error(status),
        Protocol::Anthropic => anthropic::status_error(status, &format!("req_mock_{n}")),
        Protocol::Azure => azure::status_error(status),
        Protocol::Gemini => gemini::status_error(status),
    }
}

/// Whether a request body asks for a stream.
fn wants_stream(body: &[u8]) -> bool {
    serde_json::from_slice::<Value>(body).is_ok_and(|v| v["stream"].as_bool() == Some(true))
}

impl LlmMock {
    /// A mock whose streams pause `chunk_delay` between chunks.
    pub fn new(chunk_delay: Duration) -> LlmMock {
        LlmMock { chunk_delay, ..LlmMock::default() }
    }

    /// Answers one request.
    pub async fn handle(self, req: Request<Incoming>) -> Response<OutBody> {
        let (parts, body) = req.into_parts();
        let route = Route::of(parts.uri.path());
        let protocol = route.protocol();
        let key = key_of(protocol, &parts.headers, parts.uri.query().unwrap_or_default());
        let tag = header(&parts.headers, "x-mock-tag").map(str::to_string);
        let (body, too_large) = match http_body_util::Limited::new(body, MAX_REQUEST_BODY).collect().await {
            Ok(collected) => (collected.to_bytes(), false),
            Err(_) => (Bytes::new(), true),
        };
        if route == Route::Journal {
            let query = parts.uri.query().unwrap_or_default();
            let tag = record::query_param(query, "tag");
            let key = record::query_param(query, "key");
            return json(200, &Value::Array(self.journal.find(tag.as_deref(), key.as_deref())));
        }
        if route == Route::Faults {
            return match parts.method {
                Method::POST => match serde_json::from_slice::<Value>(&body)
                    .map_err(|e| e.to_string())
                    .and_then(|v| faults::Fault::parse(&v))
                {
                    Ok(fault) => {
                        self.faults.arm(fault);
                        json(200, &self.faults.list())
                    }
                    Err(error) => json(400, &serde_json::json!({"error": error})),
                },
                Method::DELETE => {
                    self.faults.clear();
                    json(200, &self.faults.list())
                }
                _ => json(200, &self.faults.list()),
            };
        }
        let received = record::Received {
            parts: &parts,
            body: &body,
            protocol: protocol.as_str(),
            key: key.as_deref(),
            tag: tag.as_deref(),
        };
        let seq = self.journal.record(&received);
        let n = self.served.fetch_add(1, Ordering::Relaxed) + 1;
        let mut script = script::Script::new(&parts.headers, key.as_deref(), self.chunk_delay);
        if let Some(fault) = self.faults.take(key.as_deref()) {
            script.status = fault.status.or(script.status);
            script.delay = fault.stall.or(script.delay);
            script.close_mid_stream |= fault.close_mid_stream;
        }
        if let Some(delay) = script.delay {
            tokio::time::sleep(delay).await;
        }
        let mut response = self.answer(&parts, &route, key.as_deref(), &body, too_large, &script, n);
        let headers = response.headers_mut();
        if let Some(value) = key.and_then(|k| HeaderValue::from_str(&k).ok()) {
            headers.insert("x-llm-mock-api-key", value);
        }
        headers.insert("x-llm-mock-protocol", HeaderValue::from_static(protocol.as_str()));
        if let Some(value) = tag.and_then(|t| HeaderValue::from_str(&t).ok()) {
            headers.insert("x-mock-tag", value);
        }
        let id_header = if protocol == Protocol::Anthropic { "request-id" } else { "x-request-id" };
        if let Ok(value) = HeaderValue::from_str(&format!("req_mock_{n}")) {
            headers.insert(id_header, value);
        }
        let status = response.status().as_u16();
        if matches!(status, 429 | 503 | 529) {
            response.headers_mut().insert("retry-after", HeaderValue::from_static("1"));
        }
        self.journal.answered(seq, status);
        response
    }

    #[allow(clippy::too_many_arguments)]
    fn answer(
        &self,
        parts: &hyper::http::request::Parts,
        route: &Route,
        key: Option<&str>,
        body: &[u8],
        too_large: bool,
        script: &script::Script,
        n: u64,
    ) -> Response<OutBody> {
        let protocol = route.protocol();
        let path = parts.uri.path();
        let method_ok = match route {
            Route::OpenAiModels => parts.method == Method::GET,
            _ => parts.method == Method::POST,
        };
        // Which path and method: the provider's 404 and 405.
        match (protocol, route, method_ok) {
            (Protocol::Azure, Route::Unknown(_), _) => return json(404, &azure::not_found()),
            (Protocol::Gemini, Route::Unknown(_), _) => return json(404, &gemini::not_found(path)),
            (Protocol::Anthropic, Route::Unknown(_), _) => {
                let id = format!("req_mock_{n}");
                return json(404, &anthropic::error("not_found_error", &format!("Not found: {path}"), &id));
            }
            (_, Route::Unknown(_), _) => {
                let message = format!("Unknown request URL: {} {path}.", parts.method);
                return json(404, &openai::error(&message, "invalid_request_error", Some("unknown_url"), None));
            }
            (Protocol::Azure, _, false) => return json(405, &azure::error("405", "Method not allowed.")),
            (Protocol::Gemini, _, false) => {
                return json(405, &gemini::error(405, "INVALID_ARGUMENT", "Method not allowed."))
            }
            (Protocol::Anthropic, _, false) => {
                let id = format!("req_mock_{n}");
                return json(405, &anthropic::error("invalid_request_error", "Method not allowed.", &id));
            }
            (_, _, false) => {
                let error =
                    openai::error("Method not allowed.", "invalid_request_error", Some("method_not_allowed"), None);
                return json(405, &error);
            }
            _ => {}
        }
        if let Route::Azure(chat) = route {
            if let Err((status, error)) = azure::check_version(chat, parts.uri.query().unwrap_or_default()) {
                return json(status, &error);
            }
        }
        // Who: the provider's 401 (and Anthropic's version header).
        if key.is_none() {
            let error = match protocol {
                Protocol::OpenAi => openai::error(
                    "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                    "invalid_request_error",
                    Some("invalid_api_key"),
                    None,
                ),
                Protocol::Anthropic => {
                    anthropic::error("authentication_error", "x-api-key header is required", &format!("req_mock_{n}"))
                }
                Protocol::Azure => azure::unauthorized(),
                Protocol::Gemini => return json(403, &gemini::no_key()),
            };
            return json(401, &error);
        }
        if protocol == Protocol::Anthropic && header(&parts.headers, "anthropic-version").is_none() {
            let id = format!("req_mock_{n}");
            return json(400, &anthropic::error("invalid_request_error", "anthropic-version: header is required", &id));
        }
        if too_large {
            return json(413, &status_error(protocol, 413, n));
        }
        // What the test scripted.
        if let Some(status) = script.status {
            return json(status, &status_error(protocol, status, n));
        }
        if script.garbage {
            return script::garbage(wants_stream(body) || matches!(route, Route::Gemini(call) if call.stream));
        }
        let reply = match route {
            Route::OpenAiModels => Reply::Json(200, openai::models()),
            Route::OpenAiChat => openai::chat(body, &openai::Flavor::OpenAi, n, script),
            Route::Azure(chat) => {
                openai::chat(body, &openai::Flavor::Azure { deployment: chat.deployment.clone() }, n, script)
            }
            Route::Gemini(call) => {
                let sse = record::query_param(parts.uri.query().unwrap_or_default(), "alt").as_deref() == Some("sse");
                gemini::generate(call, sse, body, n, script)
            }
            _ => anthropic::messages(body, n, script),
        };
        match reply {
            Reply::Json(200, value) if script.close_mid_stream => script::cut_json(200, &value),
            Reply::Json(status, value) => json(status, &value),
            Reply::Stream(events, error) => script::stream(events, error, script),
        }
    }

    /// The journal (for tests that run the mock in-process).
    pub fn journal(&self) -> &record::Journal {
        &self.journal
    }
}

/// Starts a mock on a free loopback port in the background (tests); returns its address.
pub fn spawn(chunk_delay: Duration) -> std::net::SocketAddr {
    let mock = LlmMock::new(chunk_delay);
    crate::server::spawn_background(move |req| mock.clone().handle(req))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::Gateway;
    use serde_json::json;

    #[test]
    fn routes() {
        assert_eq!(Route::of("/v1/chat/completions"), Route::OpenAiChat);
        assert_eq!(Route::of("/api/paas/v4/chat/completions"), Route::OpenAiChat);
        assert_eq!(Route::of("/apps/anthropic/v1/messages"), Route::Anthropic);
        assert_eq!(Route::of("/anthropic/v1/messages"), Route::Anthropic);
        assert_eq!(Route::of("/anthropic/v1/other"), Route::Unknown(Protocol::Anthropic));
        assert_eq!(Route::of("/openai/v1/chat/completions").protocol(), Protocol::Azure);
        assert_eq!(Route::of("/openai/files"), Route::Unknown(Protocol::Azure));
        assert_eq!(Route::of("/v2/nothing"), Route::Unknown(Protocol::OpenAi));
        assert_eq!(
            reply_to(&[
                json!({"role": "user", "content": [{"type": "text", "text": "second"}, {"type": "text", "text": "part"}]})
            ]),
            "Mock reply to: second part"
        );
    }

    #[test]
    fn answers_like_the_openai_api() {
        let mock = Gateway::new(&spawn(Duration::ZERO).to_string());
        let body = json!({"model": "m", "messages": [{"role": "user", "content": "hi there"}]}).to_string();
        let reply = mock.post("llm", "/v1/chat/completions", body.clone()).header("authorization", "Bearer k1").send();
        assert_eq!(reply.status, 200);
        let value = reply.json();
        assert_eq!(value["choices"][0]["message"]["content"], "Mock reply to: hi there");
        assert_eq!(value["usage"]["total_tokens"], 7);
        assert_eq!(value["usage"]["prompt_tokens_details"]["cached_tokens"], 0);
        assert_eq!(reply.header("x-llm-mock-api-key"), Some("k1"));
        assert_eq!(reply.header("x-llm-mock-protocol"), Some("openai"));

        let unauthorized = mock.post("llm", "/v1/chat/completions", body).send();
        assert_eq!(unauthorized.status, 401);
        assert_eq!(unauthorized.json()["error"]["code"], "invalid_api_key");
        let no_model =
            mock.post("llm", "/v1/chat/completions", r#"{"messages": []}"#).header("authorization", "Bearer k").send();
        assert_eq!((no_model.status, no_model.json()["error"]["code"].clone()), (400, json!("missing_model")));
        let bad_json = mock.post("llm", "/v1/chat/completions", "{").header("authorization", "Bearer k").send();
        assert_eq!(bad_json.status, 400);
        let models = mock.get("llm", "/v1/models").header("authorization", "Bearer k").send();
        assert_eq!(models.json()["data"].as_array().map(Vec::len), Some(MODELS.len()));
        assert_eq!(mock.get("llm", "/v2/nothing").header("authorization", "Bearer k").send().status, 404);
    }

    #[test]
    fn streams_chunks_then_usage_then_done() {
        let mock = Gateway::new(&spawn(Duration::ZERO).to_string());
        let body = json!({"model": "m", "stream": true, "stream_options": {"include_usage": true}, "messages": [{"role": "user", "content": "one two"}]});
        let reply =
            mock.post("llm", "/v1/chat/completions", body.to_string()).header("authorization", "Bearer k").send();
        assert_eq!(reply.header("content-type"), Some("text/event-stream"));
        let text = reply.text();
        let events: Vec<&str> = text.split("\n\n").filter(|e| !e.is_empty()).collect();
        // role chunk, 5 words, finish chunk, usage chunk, [DONE]
        assert_eq!(events.len(), 9, "{text}");
        assert_eq!(events.last(), Some(&"data: [DONE]"));
        let usage: Value = serde_json::from_str(events[7].trim_start_matches("data: ")).unwrap_or_default();
        assert_eq!(usage["usage"]["total_tokens"], 7);
        assert_eq!(usage["choices"], json!([]));
    }

    #[test]
    fn armed_faults_fail_the_next_requests() {
        let mock = Gateway::new(&spawn(Duration::ZERO).to_string());
        let armed = mock.post("llm", "/__mock/faults", r#"{"count": 2, "status": 503, "key": "k1"}"#).send();
        assert_eq!(
            armed.json(),
            json!([{"count": 2, "key": "k1", "status": 503, "stall_ms": null, "close_mid_stream": false}])
        );
        let body = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]}).to_string();
        let send = |key: &str| {
            mock.post("llm", "/v1/chat/completions", body.clone())
                .header("authorization", &format!("Bearer {key}"))
                .send()
        };
        assert_eq!(send("k2").status, 200, "another key is not affected");
        assert_eq!(send("k1").status, 503);
        let second = send("k1");
        assert_eq!((second.status, second.header("retry-after")), (503, Some("1")));
        assert_eq!(send("k1").status, 200, "used up");
        assert_eq!(mock.post("llm", "/__mock/faults", r#"{"count": 1}"#).send().status, 400);
        mock.post("llm", "/__mock/faults", r#"{"count": 5, "status": 429}"#).send();
        assert_eq!(mock.request("DELETE", "llm", "/__mock/faults").send().json(), json!([]));
        assert_eq!(send("k1").status, 200, "disarmed");
    }

    #[test]
    fn answers_like_the_gemini_api() {
        let mock = Gateway::new(&spawn(Duration::ZERO).to_string());
        let body = json!({
            "contents": [{"role": "user", "parts": [{"text": "hi there"}]}],
            "generationConfig": {"thinkingConfig": {"includeThoughts": true}}
        })
        .to_string();
        let path = "/v1beta/models/gemini-2.5-flash:generateContent";
        let reply = mock.post("llm", path, body.clone()).header("x-goog-api-key", "g1").send();
        assert_eq!(reply.status, 200, "{}", reply.text());
        let value = reply.json();
        let parts = &value["candidates"][0]["content"]["parts"];
        assert_eq!(parts[0], json!({"text": "Mock reasoning about: hi there", "thought": true}));
        assert_eq!(parts[1], json!({"text": "Mock reply to: hi there"}));
        assert_eq!(value["candidates"][0]["finishReason"], "STOP");
        assert_eq!(value["usageMetadata"]["candidatesTokenCount"], 5);
        assert_eq!(value["usageMetadata"]["thoughtsTokenCount"], 5);
        assert_eq!(value["usageMetadata"]["totalTokenCount"], 12);
        assert_eq!(value["modelVersion"], "gemini-2.5-flash");
        assert_eq!(reply.header("x-llm-mock-protocol"), Some("gemini"));
        // The key may be a query parameter; none is a 403.
        let by_query = mock.post("llm", &format!("{path}?key=g2"), body.clone()).send();
        assert_eq!((by_query.status, by_query.header("x-llm-mock-api-key")), (200, Some("g2")));
        let anonymous = mock.post("llm", path, body.clone()).send();
        assert_eq!((anonymous.status, anonymous.json()["error"]["status"].clone()), (403, json!("PERMISSION_DENIED")));
        let openai = json!({"model": "g", "messages": []}).to_string();
        let refused = mock.post("llm", path, openai).header("x-goog-api-key", "g").send();
        assert_eq!(refused.status, 400);
        assert!(refused.text().contains("Unknown name"), "{}", refused.text());
        // Streams: SSE with alt=sse, chunks framed with CRLF; one JSON array without.
        let stream = "/v1beta/models/gemini-2.5-flash:streamGenerateContent";
        let sse = mock.post("llm", &format!("{stream}?alt=sse"), body.clone()).header("x-goog-api-key", "g").send();
        assert_eq!(sse.header("content-type"), Some("text/event-stream"));
        let text = sse.text();
        let chunks: Vec<Value> = text
            .split("\r\n\r\n")
            .filter(|e| !e.is_empty())
            .map(|e| serde_json::from_str(e.trim_start_matches("data: ")).unwrap())
            .collect();
        assert_eq!(chunks.len(), 11, "5 thought words, 5 text words, the finish: {text}");
        assert_eq!(chunks[10]["candidates"][0]["finishReason"], "STOP");
        assert_eq!(chunks[10]["usageMetadata"]["totalTokenCount"], 12);
        let array = mock.post("llm", stream, body).header("x-goog-api-key", "g").send().json();
        assert_eq!(array.as_array().map(Vec::len), Some(11));
        let other = mock.post("llm", "/v1beta/models/g:countTokens", "{}").header("x-goog-api-key", "g").send();
        assert_eq!(other.status, 404);
    }

    #[test]
    fn records_by_tag_and_answers_anthropic_and_azure() {
        let mock = LlmMock::new(Duration::ZERO);
        let journal = mock.journal().clone();
        let address = crate::server::spawn_background(move |req| mock.clone().handle(req));
        let client = Gateway::new(&address.to_string());
        let body = json!({"model": "claude", "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}]});
        let reply = client
            .post("llm", "/v1/messages", body.to_string())
            .header("x-api-key", "ak")
            .header("anthropic-version", "2023-06-01")
            .header("x-mock-tag", "unit-a")
            .send();
        assert_eq!(reply.status, 200, "{}", reply.text());
        assert_eq!(reply.json()["content"][0]["text"], "Mock reply to: hi");
        assert_eq!(reply.header("x-llm-mock-protocol"), Some("anthropic"));
        let azure = client
            .post(
                "llm",
                "/openai/deployments/dep/chat/completions?api-version=2024-10-21",
                r#"{"messages": [{"role": "user", "content": "x"}]}"#,
            )
            .header("api-key", "zk")
            .header("x-mock-tag", "unit-b")
            .send();
        assert_eq!((azure.status, azure.json()["model"].clone()), (200, json!("dep")));
        let tagged = journal.find(Some("unit-a"), None);
        assert_eq!(tagged.len(), 1);
        assert_eq!((tagged[0]["key"].clone(), tagged[0]["status"].clone()), (json!("ak"), json!(200)));
        let listed = client.get("llm", "/__mock/requests?tag=unit-b").send().json();
        assert_eq!(listed[0]["path"], "/openai/deployments/dep/chat/completions?api-version=2024-10-21");
    }
}
