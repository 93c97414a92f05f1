//! Streaming through the gateway: SSE from the LLM mock and from the echo upstream arrives
//! chunk by chunk, not buffered.

use crate::{gateway, unique};
use serde_json::{json, Value};
use std::time::Duration;

const HOST: &str = "llm.e2e.local";

fn chat(stream: bool) -> String {
    json!({
        "model": "mock-gpt-4o",
        "stream": stream,
        "stream_options": {"include_usage": true},
        "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "count to three"}]
    })
    .to_string()
}

#[test]
fn a_chat_completion_passes_with_usage() {
    let reply = gateway()
        .post(HOST, "/v1/chat/completions", chat(false))
        .header("authorization", "Bearer sk-e2e")
        .header("content-type", "application/json")
        .send();
    assert_eq!(reply.status, 200, "{}", reply.text());
    let body = reply.json();
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["choices"][0]["message"]["content"], "Mock reply to: count to three");
    assert_eq!(body["usage"], json!({"prompt_tokens": 5, "completion_tokens": 6, "total_tokens": 11}));
    assert_eq!(reply.header("x-llm-mock-api-key"), Some("sk-e2e"));
}

#[test]
fn a_streamed_chat_completion_passes_event_by_event() {
    let reply = gateway()
        .post(HOST, "/v1/chat/completions", chat(true))
        .header("authorization", "Bearer sk-e2e")
        .header("content-type", "application/json")
        .header("x-mock-chunk-delay-ms", "20")
        .stream();
    assert_eq!(reply.head.status, 200);
    assert_eq!(reply.head.header("content-type"), Some("text/event-stream"));
    let body = String::from_utf8(reply.rest()).unwrap_or_default();
    let events: Vec<&str> = body.split("\n\n").filter(|e| !e.is_empty()).collect();
    assert_eq!(events.last(), Some(&"data: [DONE]"));
    let chunks: Vec<Value> = events
        .iter()
        .filter(|e| **e != "data: [DONE]")
        .map(|e| serde_json::from_str(e.trim_start_matches("data: ")).unwrap_or(Value::Null))
        .collect();
    let text: String = chunks.iter().filter_map(|c| c["choices"][0]["delta"]["content"].as_str()).collect();
    assert_eq!(text, "Mock reply to: count to three");
    assert_eq!(chunks.last().map(|c| c["usage"]["total_tokens"].clone()), Some(json!(11)));
}

#[test]
fn the_llm_mock_refuses_requests_without_a_key() {
    let reply = gateway().post(HOST, "/v1/chat/completions", chat(false)).send();
    assert_eq!(reply.status, 401);
    assert_eq!(reply.json()["error"]["code"], "invalid_api_key");
}

/// The echo upstream sends the first event and holds the rest until the test releases it:
/// the client can only see that first event if the gateway forwards it on its own.
#[test]
fn server_sent_events_are_not_buffered() {
    let gate = unique("gate");
    let mut stream = gateway().get("echo.e2e.local", &format!("/sse/3?gate={gate}")).stream();
    assert_eq!(stream.head.status, 200);
    let first = stream.next_chunk(Duration::from_secs(20)).unwrap_or_default();
    assert_eq!(first.as_ref(), b"data: event 0\n\n", "the first event arrives before the upstream sends the rest");
    let released = gateway().get("echo.e2e.local", &format!("/release/{gate}")).send();
    assert_eq!(released.status, 200);
    let rest = String::from_utf8(stream.rest()).unwrap_or_default();
    assert_eq!(rest, "data: event 1\n\ndata: event 2\n\n");
}
