//! OpenAI's Responses API on the compiled module: passed to providers that have it (the
//! model mapped), translated to the chat API of those that do not (Claude, DeepSeek, ...) and
//! back - a response, a stream of Responses events, errors.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::*;
use serde_json::{json, Value};

fn responses_body(stream: bool) -> Value {
    json!({"model": "gpt-4o", "instructions": "Be brief.", "input": "Hello", "stream": stream,
        "max_output_tokens": 64})
}

/// The `event:` / `data:` pairs of a Responses stream.
fn events(stream: &str) -> Vec<(String, Value)> {
    stream
        .split("\n\n")
        .filter(|e| !e.trim().is_empty())
        .map(|event| {
            let name = event.lines().find_map(|l| l.strip_prefix("event: ")).unwrap_or_default().to_string();
            let data = event.lines().find_map(|l| l.strip_prefix("data: ")).unwrap_or("null");
            (name, serde_json::from_str(data).unwrap_or(Value::Null))
        })
        .collect()
}

#[test]
fn a_provider_with_the_responses_api_gets_the_request_as_sent() {
    let vm = provider(json!({"type": "openai", "apiTokens": ["sk"], "modelMapping": {"gpt-4o": "gpt-4.1"}}));
    let s = post(&vm, "gw", "/v1/responses", &responses_body(false));
    let (headers, sent) = sent(&s);
    assert_eq!(headers.get(":path"), Some("/v1/responses"));
    assert_eq!(sent["model"], "gpt-4.1");
    assert_eq!(sent["input"], "Hello", "the body is not translated");
}

#[test]
fn a_chat_only_provider_serves_a_responses_client() {
    let vm = provider(json!({"type": "claude", "apiTokens": ["sk-ant"], "modelMapping": {"*": "claude-sonnet-4-5"}}));
    let s = post(&vm, "gw", "/v1/responses", &responses_body(false));
    let (headers, sent) = sent(&s);
    assert_eq!(headers.get(":path"), Some("/v1/messages"));
    assert_eq!(sent["model"], "claude-sonnet-4-5");
    assert_eq!(sent["system"], "Be brief.");
    assert_eq!(sent["max_tokens"], 64);
    let reply = json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
        "content": [{"type": "text", "text": "Hi there."}], "stop_reason": "end_turn",
        "usage": {"input_tokens": 5, "output_tokens": 3}});
    answer(&s, 200, "application/json", &[reply.to_string().as_bytes()]);
    let (status, headers, body) = received(&s);
    assert_eq!((status, headers.get("content-type")), (200, Some("application/json")));
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["object"], "response");
    assert_eq!(body["status"], "completed");
    let message = body["output"].as_array().unwrap().iter().find(|i| i["type"] == "message").unwrap().clone();
    assert_eq!(message["content"][0]["type"], "output_text");
    assert_eq!(message["content"][0]["text"], "Hi there.");
    assert_eq!(body["usage"]["input_tokens"], 5);
    assert_eq!(body["usage"]["output_tokens"], 3);
}

#[test]
fn a_chat_stream_becomes_responses_events() {
    let vm = provider(json!({"type": "deepseek", "apiTokens": ["sk"], "modelMapping": {"*": "deepseek-chat"}}));
    let s = post(&vm, "gw", "/v1/responses", &responses_body(true));
    let (headers, sent) = sent(&s);
    assert_eq!(headers.get(":path"), Some("/v1/chat/completions"));
    assert_eq!(sent["messages"][0], json!({"role": "system", "content": "Be brief."}));
    assert_eq!(sent["stream"], true);
    let chunk = |delta: Value, finish: Value| {
        format!(
            "data: {}\n\n",
            json!({"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "deepseek-chat",
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
        )
    };
    let stream = [
        chunk(json!({"role": "assistant", "content": ""}), Value::Null),
        chunk(json!({"content": "Hi "}), Value::Null),
        chunk(json!({"content": "there."}), Value::Null),
        chunk(json!({}), json!("stop")),
        format!(
            "data: {}\n\n",
            json!({"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "deepseek-chat",
                "choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}})
        ),
        "data: [DONE]\n\n".to_string(),
    ]
    .concat();
    answer(&s, 200, "text/event-stream", &pieces(stream.as_bytes(), 9));
    let (status, _, body) = received(&s);
    assert_eq!(status, 200);
    assert!(!body.contains("[DONE]"), "the Responses API has no [DONE]: {body}");
    let events = events(&body);
    assert_eq!(events.first().map(|e| e.0.as_str()), Some("response.created"));
    assert_eq!(events.last().map(|e| e.0.as_str()), Some("response.completed"));
    let numbers: Vec<u64> = events.iter().filter_map(|e| e.1["sequence_number"].as_u64()).collect();
    assert!(numbers.windows(2).all(|w| w[0] < w[1]), "{numbers:?}");
    let text: String =
        events.iter().filter(|e| e.0 == "response.output_text.delta").filter_map(|e| e.1["delta"].as_str()).collect();
    assert_eq!(text, "Hi there.");
    let done = &events.last().unwrap().1["response"];
    assert_eq!(done["usage"]["total_tokens"], 7);
}

#[test]
fn what_a_chat_provider_cannot_do_is_refused_in_openais_shape() {
    let vm = provider(json!({"type": "claude", "apiTokens": ["sk-ant"]}));
    let mut body = responses_body(false);
    body["tools"] = json!([{"type": "web_search"}]);
    let s = post(&vm, "gw", "/v1/responses", &body);
    let reply = s.local_response().expect("refused");
    assert_eq!(reply.status, 400);
    let error: Value = serde_json::from_slice(&reply.body).unwrap();
    assert!(error["error"]["message"].as_str().unwrap().contains("tools[0]"), "{error}");
}
