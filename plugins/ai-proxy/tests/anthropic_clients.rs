//! Anthropic clients (Claude Code, Anthropic's SDKs) on `/v1/messages`, on the compiled module:
//! passed natively to Claude, DeepSeek and Qwen; translated to OpenAI chat and back for every
//! other provider, whole and streamed, errors included.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::*;
use higress_host::Vm;
use serde_json::{json, Value};

fn fixture(path: &str) -> Vec<u8> {
    let path = format!("{}/../../crates/ai/tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// An Anthropic SDK's request: its key in `x-api-key`, `anthropic-version`.
fn messages(vm: &Vm, body: &Value) -> higress_host::Stream {
    higress_host::testing::request("POST", "gw", "/v1/messages")
        .header("content-type", "application/json")
        .header("x-api-key", "client-key")
        .header("anthropic-version", "2023-06-01")
        .body(body.to_string())
        .send(vm)
}

#[test]
fn natively_to_claude_deepseek_and_qwen() {
    for (kind, path, key_headers) in [
        ("claude", "/v1/messages", vec![("x-api-key", "sk-1")]),
        ("deepseek", "/anthropic/v1/messages", vec![("authorization", "Bearer sk-1"), ("x-api-key", "sk-1")]),
        ("qwen", "/apps/anthropic/v1/messages", vec![("authorization", "Bearer sk-1"), ("x-api-key", "sk-1")]),
    ] {
        let vm = provider(json!({"type": kind, "apiTokens": ["sk-1"], "modelMapping": {"claude-*": "mapped"}}));
        let s = messages(&vm, &messages_body("claude-sonnet", true));
        let (headers, body) = sent(&s);
        assert_eq!(headers.get(":path"), Some(path), "{kind}");
        for (name, value) in key_headers {
            assert_eq!(headers.get(name), Some(value), "{kind}: {name}");
        }
        assert_eq!(headers.get("anthropic-version"), Some("2023-06-01"), "{kind}");
        let mut expected = messages_body("mapped", true);
        assert_eq!(body, expected.take(), "{kind}: the body as it came, the model mapped");
        let stream = fixture("anthropic/stream_tools.sse");
        answer(&s, 200, "text/event-stream", &pieces(&stream, 50));
        assert_eq!(received(&s).2.as_bytes(), stream.as_slice(), "{kind}: the reply untouched");
    }
}

fn openai_provider() -> Vm {
    provider(json!({"type": "openai", "apiTokens": ["sk-1"], "modelMapping": {"claude-*": "gpt-4o"}}))
}

#[test]
fn translated_to_openai_chat() {
    let vm = openai_provider();
    let body = json!({
        "model": "claude-sonnet",
        "max_tokens": 1024,
        "system": [{"type": "text", "text": "x-anthropic-billing-header: cc_version=1; cch=abc;"}, {"type": "text", "text": "Be terse.", "cache_control": {"type": "ephemeral"}}],
        "messages": [
            {"role": "user", "content": "Weather?"},
            {"role": "assistant", "content": [{"type": "text", "text": "Checking."}, {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Paris"}}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "18C"}]}
        ],
        "tools": [{"name": "weather", "input_schema": {"type": "object"}}],
        "tool_choice": {"type": "any"},
        "thinking": {"type": "enabled", "budget_tokens": 2000},
        "stop_sequences": ["END"],
        "stream": true
    });
    let s = messages(&vm, &body);
    let (headers, sent) = sent(&s);
    assert_eq!(headers.get(":path"), Some("/v1/chat/completions"));
    assert_eq!(headers.get("authorization"), Some("Bearer sk-1"));
    assert!(!headers.contains("x-api-key"), "the client's key stays behind");
    assert_eq!(sent["model"], "gpt-4o");
    assert_eq!(sent["max_tokens"], 1024);
    assert_eq!(sent["stream_options"]["include_usage"], true);
    assert_eq!(sent["tool_choice"], "required", "any is OpenAI's required (Go sent any)");
    assert_eq!(sent["reasoning_effort"], "low");
    assert_eq!(sent["stop"], json!(["END"]));
    let system = sent["messages"][0].to_string();
    assert!(
        system.contains("cc_version=1;") && !system.contains("cch="),
        "Claude Code's per-request hash is dropped: {system}"
    );
    assert_eq!(sent["messages"][2]["tool_calls"][0]["function"]["arguments"], "{\"city\":\"Paris\"}");
    assert_eq!(sent["messages"][3]["role"], "tool");
    assert_eq!(sent["messages"][3]["tool_call_id"], "toolu_1");
}

#[test]
fn a_whole_reply_comes_back_as_an_anthropic_message() {
    let vm = openai_provider();
    let s = messages(&vm, &messages_body("claude-sonnet", false));
    answer(&s, 200, "application/json", &[&fixture("openai/reply_tools.json")]);
    let (status, headers, body) = received(&s);
    assert_eq!(status, 200);
    assert_eq!(headers.get("content-type"), Some("application/json"));
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["type"], "message");
    assert_eq!(body["role"], "assistant");
    assert_eq!(body["stop_reason"], "tool_use");
    let kinds: Vec<&str> = body["content"].as_array().unwrap().iter().map(|b| b["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["thinking", "tool_use", "tool_use"]);
    assert_eq!(body["content"][1]["input"], json!({"city": "Paris"}));
    assert_eq!(body["usage"]["input_tokens"], 1117 - 1024, "input tokens exclude the cached ones (Go counted them)");
    assert_eq!(body["usage"]["cache_read_input_tokens"], 1024);
    assert_eq!(body["usage"]["output_tokens"], 46);
}

fn stream_through(vm: &Vm, stream: &[u8], size: usize) -> String {
    let s = messages(vm, &messages_body("claude-sonnet", true));
    answer(&s, 200, "text/event-stream", &pieces(stream, size));
    let (status, headers, body) = received(&s);
    assert_eq!(status, 200);
    assert!(!headers.contains("content-length"));
    body
}

#[test]
fn a_stream_comes_back_as_anthropic_events_however_it_is_cut() {
    let vm = openai_provider();
    let stream = fixture("openai/stream.sse");
    let whole = stream_through(&vm, &stream, stream.len());
    for size in [1, 2, 5, 13, 100] {
        assert_eq!(stream_through(&vm, &stream, size), whole, "pieces of {size}");
    }
    let names = event_names(&whole);
    assert_eq!(names.first().map(String::as_str), Some("message_start"));
    assert_eq!(names.last().map(String::as_str), Some("message_stop"));
    assert_eq!(names.iter().filter(|n| *n == "message_delta").count(), 1);
    let starts = names.iter().filter(|n| *n == "content_block_start").count();
    assert_eq!(starts, names.iter().filter(|n| *n == "content_block_stop").count(), "every block is closed");
    let delta = data_events(&whole).into_iter().find(|e| e["type"] == "message_delta").unwrap();
    assert!(delta["usage"]["output_tokens"].as_u64().unwrap() > 0, "{delta}");
}

#[test]
fn a_stream_cut_short_is_closed_for_the_client() {
    let vm = openai_provider();
    let stream = fixture("openai/stream.sse");
    let third = stream.len() / 3;
    let boundary = third + stream[third..].windows(2).position(|w| w == b"\n\n").unwrap() + 2;
    let body = stream_through(&vm, &stream[..boundary], 17);
    assert!(body.ends_with("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"), "{body}");
    // Cut inside an event: the half event is an error, which ends an Anthropic stream.
    let body = stream_through(&vm, &stream[..third], 17);
    assert_eq!(event_names(&body).last().map(String::as_str), Some("error"), "{body}");
}

#[test]
fn errors_come_back_as_anthropic_errors() {
    let vm = openai_provider();
    for (status, reply, kind, message) in [
        (429, &br#"{"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#[..], "rate_limit_error", "Rate limit reached"),
        (503, b"upstream connect error", "overloaded_error", "upstream connect error"),
        (400, b"", "invalid_request_error", "upstream answered 400"),
    ] {
        let s = messages(&vm, &messages_body("claude-sonnet", true));
        answer(&s, status, "application/json", if reply.is_empty() { &[] } else { std::slice::from_ref(&reply) });
        let (got, headers, body) = received(&s);
        assert_eq!(got, status);
        if reply.is_empty() {
            continue;
        }
        assert_eq!(headers.get("content-type"), Some("application/json"));
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["type"], "error", "{body}");
        assert_eq!(body["error"]["message"], message);
        if status != 503 {
            assert_eq!(body["error"]["type"], kind);
        }
    }
}

#[test]
fn groq_and_azure_take_converted_requests_at_their_paths() {
    let vm = provider(json!({"type": "groq", "apiTokens": ["k"]}));
    let (headers, body) = sent(&messages(&vm, &messages_body("llama", false)));
    assert_eq!(headers.get(":path"), Some("/openai/v1/chat/completions"));
    assert_eq!(body["messages"][0], json!({"role": "system", "content": "Be brief."}));
    let vm = provider(
        json!({"type": "azure", "apiTokens": ["k"], "azureServiceUrl": "https://r.com?api-version=2024-06-01"}),
    );
    let (headers, _) = sent(&messages(&vm, &messages_body("gpt-4o", false)));
    assert_eq!(headers.get(":path"), Some("/openai/deployments/gpt-4o/chat/completions?api-version=2024-06-01"));
    assert_eq!(headers.get("api-key"), Some("k"));
}

#[test]
fn a_request_the_translation_refuses_is_a_400_in_anthropics_shape() {
    let vm = openai_provider();
    let s = messages(&vm, &json!({"model": "m", "max_tokens": 5, "messages": "not a list"}));
    let local = s.local_response().unwrap();
    assert_eq!(local.status, 400);
    assert_eq!(local.details, "ai-proxy.proc_req_body_failed");
    let body: Value = serde_json::from_slice(&local.body).unwrap();
    assert_eq!(body["type"], "error");
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert!(body["error"]["message"].as_str().unwrap().contains("messages"), "{body}");
}
