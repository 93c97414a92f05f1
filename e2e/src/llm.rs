//! An OpenAI-compatible LLM mock: `POST /v1/chat/completions` (streaming and not, with
//! usage) and `GET /v1/models`. Replies are deterministic - the assistant says
//! `Mock reply to: <last user message>` - and token counts are whitespace-separated words,
//! so tests can predict every byte.
//!
//! Like the real API it wants `Authorization: Bearer <key>` (any key; 401 otherwise) and
//! answers errors as `{"error": {"message", "type", "code"}}`. Every answer carries
//! `x-llm-mock-api-key` with the key it got, so a test can see what a plugin sent.
//! Streams send one chunk per word; `x-mock-chunk-delay-ms` (or the server's default)
//! spaces them out.

use crate::body::{self, OutBody};
use crate::server::json;
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::{Method, Request, Response};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The mock's settings and counters.
#[derive(Clone, Default)]
pub struct LlmMock {
    /// Pause between streamed chunks unless the request says otherwise.
    pub chunk_delay: Duration,
    served: Arc<AtomicU64>,
}

/// Models `GET /v1/models` lists (any model name is accepted).
pub const MODELS: &[&str] = &["mock-gpt-4o", "mock-gpt-4o-mini"];

fn error(status: u16, message: &str, kind: &str, code: &str) -> Response<OutBody> {
    json(status, &json!({"error": {"message": message, "type": kind, "code": code}}))
}

/// Word count, the mock's token count.
pub fn tokens(text: &str) -> u64 {
    text.split_whitespace().count() as u64
}

/// What the mock answers to `messages`: `Mock reply to: <last user message>`.
pub fn reply_to(messages: &[Value]) -> String {
    let last =
        messages.iter().rev().find(|m| m["role"] == "user").map(|m| content_text(&m["content"])).unwrap_or_default();
    format!("Mock reply to: {last}")
}

/// Message content as text (a string, or the text parts of an array).
fn content_text(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts.iter().filter_map(|p| p["text"].as_str()).collect::<Vec<_>>().join(" "),
        _ => String::new(),
    }
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default()
}

impl LlmMock {
    /// A mock whose streams pause `chunk_delay` between chunks.
    pub fn new(chunk_delay: Duration) -> LlmMock {
        LlmMock { chunk_delay, served: Arc::default() }
    }

    /// Answers one request.
    pub async fn handle(self, req: Request<Incoming>) -> Response<OutBody> {
        let (parts, body) = req.into_parts();
        let key = parts
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(str::to_string);
        let mut response = match (&parts.method, parts.uri.path()) {
            (_, "/v1/chat/completions" | "/v1/models") if key.is_none() => {
                error(401, "You didn't provide an API key.", "invalid_request_error", "invalid_api_key")
            }
            (&Method::GET, "/v1/models") => {
                let data: Vec<Value> = MODELS
                    .iter()
                    .map(|id| json!({"id": id, "object": "model", "created": 0, "owned_by": "mock"}))
                    .collect();
                json(200, &json!({"object": "list", "data": data}))
            }
            (&Method::POST, "/v1/chat/completions") => {
                let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                let delay = parts
                    .headers
                    .get("x-mock-chunk-delay-ms")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse().ok())
                    .map_or(self.chunk_delay, Duration::from_millis);
                self.chat(&body, delay)
            }
            (_, "/v1/chat/completions" | "/v1/models") => {
                error(405, "Method not allowed.", "invalid_request_error", "method_not_allowed")
            }
            (_, path) => error(404, &format!("Unknown request URL: {path}."), "invalid_request_error", "unknown_url"),
        };
        if let Some(value) = key.and_then(|k| hyper::header::HeaderValue::from_str(&k).ok()) {
            response.headers_mut().insert("x-llm-mock-api-key", value);
        }
        response
    }

    fn chat(&self, body: &[u8], delay: Duration) -> Response<OutBody> {
        let request: Value = match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(e) => {
                return error(
                    400,
                    &format!("We could not parse the JSON body of your request: {e}"),
                    "invalid_request_error",
                    "invalid_json",
                )
            }
        };
        let Some(model) = request["model"].as_str().filter(|m| !m.is_empty()) else {
            return error(400, "you must provide a model parameter", "invalid_request_error", "missing_model");
        };
        let Some(messages) = request["messages"].as_array().filter(|m| !m.is_empty()) else {
            return error(400, "'messages' must be a non-empty array", "invalid_request_error", "invalid_messages");
        };
        let n = self.served.fetch_add(1, Ordering::Relaxed) + 1;
        let id = format!("chatcmpl-mock-{n}");
        let content = reply_to(messages);
        let prompt_tokens: u64 = messages.iter().map(|m| tokens(&content_text(&m["content"]))).sum();
        let completion_tokens = tokens(&content);
        let usage = json!({"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens, "total_tokens": prompt_tokens + completion_tokens});
        if request["stream"].as_bool() != Some(true) {
            return json(
                200,
                &json!({
                    "id": id, "object": "chat.completion", "created": now(), "model": model,
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
                    "usage": usage,
                }),
            );
        }
        let include_usage = request["stream_options"]["include_usage"].as_bool() == Some(true);
        let chunk = |choices: Value| json!({"id": id, "object": "chat.completion.chunk", "created": now(), "model": model, "choices": choices});
        let mut events =
            vec![chunk(json!([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": null}]))];
        let words: Vec<&str> = content.split(' ').collect();
        for (i, word) in words.iter().enumerate() {
            let piece = if i + 1 < words.len() { format!("{word} ") } else { (*word).to_string() };
            events.push(chunk(json!([{"index": 0, "delta": {"content": piece}, "finish_reason": null}])));
        }
        events.push(chunk(json!([{"index": 0, "delta": {}, "finish_reason": "stop"}])));
        if include_usage {
            let mut last = chunk(json!([]));
            last["usage"] = usage;
            events.push(last);
        }
        let (tx, out) = body::channel();
        tokio::spawn(async move {
            for event in events {
                if tx.send(body::data(format!("data: {event}\n\n"))).await.is_err() {
                    return;
                }
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
            }
            let _ = tx.send(body::data(Bytes::from_static(b"data: [DONE]\n\n"))).await;
        });
        let mut response = Response::new(out);
        response.headers_mut().insert("content-type", hyper::header::HeaderValue::from_static("text/event-stream"));
        response.headers_mut().insert("cache-control", hyper::header::HeaderValue::from_static("no-cache"));
        response
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

    #[test]
    fn replies_are_predictable() {
        assert_eq!(tokens("  a b\tc\n"), 3);
        let messages = [
            json!({"role": "user", "content": "first"}),
            json!({"role": "assistant", "content": "x"}),
            json!({"role": "user", "content": [{"type": "text", "text": "second"}, {"type": "text", "text": "part"}]}),
        ];
        assert_eq!(reply_to(&messages), "Mock reply to: second part");
    }

    #[test]
    fn answers_like_the_openai_api() {
        let mock = Gateway::new(&spawn(Duration::ZERO).to_string());
        let body = json!({"model": "m", "messages": [{"role": "user", "content": "hi there"}]}).to_string();
        let reply = mock.post("llm", "/v1/chat/completions", body.clone()).header("authorization", "Bearer k1").send();
        assert_eq!(reply.status, 200);
        let value = reply.json();
        assert_eq!(value["choices"][0]["message"]["content"], "Mock reply to: hi there");
        assert_eq!(value["usage"], json!({"prompt_tokens": 2, "completion_tokens": 5, "total_tokens": 7}));
        assert_eq!(reply.header("x-llm-mock-api-key"), Some("k1"));

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
}
