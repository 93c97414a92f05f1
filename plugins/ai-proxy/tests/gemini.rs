//! OpenAI and Anthropic clients of Gemini (`type: gemini`) on the compiled module: the request
//! sent to the mapped model's `generateContent` (`streamGenerateContent?alt=sse` when it
//! streams) with `x-goog-api-key`, the reply translated back, whole and streamed (cut
//! anywhere), errors, and Gemini's own calls passed through with the provider's key.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::*;
use higress_host::Vm;
use serde_json::{json, Value};

fn fixture(path: &str) -> Vec<u8> {
    let path = format!("{}/../../crates/ai/tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn gemini() -> Vm {
    provider(json!({"type": "gemini", "apiTokens": ["AIza-key"], "modelMapping": {"gpt-4o": "gemini-2.5-flash"}}))
}

#[test]
fn the_request_goes_to_the_models_generate_content() {
    let vm = gemini();
    let body = json!({
        "model": "gpt-4o",
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "18C"}
        ],
        "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}],
        "temperature": 0,
        "max_tokens": 300
    });
    let s = post(&vm, "gw", "/v1/chat/completions", &body);
    let (headers, sent) = sent(&s);
    assert_eq!(headers.get(":path"), Some("/v1beta/models/gemini-2.5-flash:generateContent"));
    assert_eq!(headers.get("x-envoy-original-path"), Some("/v1/chat/completions"));
    assert_eq!(headers.get(":authority"), Some("generativelanguage.googleapis.com"));
    assert_eq!(headers.get("x-goog-api-key"), Some("AIza-key"));
    assert!(!headers.contains("authorization") && !headers.contains("x-api-key"), "the client's keys stay here");
    assert_eq!(sent["systemInstruction"], json!({"parts": [{"text": "You are terse."}]}));
    assert_eq!(
        sent["contents"][1]["parts"][0]["functionCall"],
        json!({"name": "get_weather", "args": {"city": "Paris"}})
    );
    assert_eq!(
        sent["contents"][2]["parts"][0]["functionResponse"],
        json!({"name": "get_weather", "response": {"output": "18C"}}),
        "a tool result is a functionResponse (Go sent OpenAI's tool role, which Gemini refuses)"
    );
    assert_eq!(sent["generationConfig"], json!({"temperature": 0, "maxOutputTokens": 300}));
    assert!(sent.get("model").is_none() && sent.get("stream").is_none());

    // A stream: its own method, server-sent events asked for.
    let s = post(&vm, "gw", "/v1/chat/completions", &chat_body("gemini-2.5-pro", true));
    let (headers, streamed) = common::sent(&s);
    assert_eq!(headers.get(":path"), Some("/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse"));
    assert_eq!(headers.get("accept"), Some("text/event-stream"));
    assert!(streamed.get("stream_options").is_none());
}

#[test]
fn config_adds_safety_settings_thinking_and_the_api_version() {
    let vm = provider(json!({"type": "gemini", "apiTokens": ["k"], "apiVersion": "v1",
        "geminiSafetySetting": {"HARM_CATEGORY_HARASSMENT": "BLOCK_NONE"}, "geminiThinkingBudget": 1024}));
    let s = post(&vm, "gw", "/v1/chat/completions", &chat_body("gemini-2.5-flash", false));
    let (headers, sent) = sent(&s);
    assert_eq!(headers.get(":path"), Some("/v1/models/gemini-2.5-flash:generateContent"));
    assert_eq!(sent["safetySettings"], json!([{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}]));
    assert_eq!(sent["generationConfig"]["thinkingConfig"], json!({"includeThoughts": true, "thinkingBudget": 1024}));
    let error = config_error(json!({"provider": {"type": "gemini"}}));
    assert!(error.contains("provider.apiTokens: no apiToken found"), "{error}");
}

#[test]
fn a_whole_reply_comes_back_as_a_chat_completion_with_its_tool_calls() {
    let vm = gemini();
    let s = post(&vm, "gw", "/v1/chat/completions", &chat_body("gpt-4o", false));
    answer(&s, 200, "application/json", &pieces(&fixture("gemini/reply_tools.json"), 100));
    let (status, headers, body) = received(&s);
    assert_eq!((status, headers.get("content-type")), (200, Some("application/json")));
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["choices"].as_array().unwrap().len(), 1, "one candidate, one choice");
    let message = &body["choices"][0]["message"];
    assert_eq!(message["content"], "I'll look that up.");
    assert_eq!(message["tool_calls"][0]["function"]["name"], "get_weather", "Go never returned Gemini's calls");
    assert_eq!(body["choices"][0]["finish_reason"], "tool_calls");
    assert_eq!(body["usage"]["completion_tokens"], 50, "thoughts count in the completion");
}

fn stream_through(vm: &Vm, stream: &[u8], size: usize) -> String {
    let s = post(vm, "gw", "/v1/chat/completions", &chat_body("gpt-4o", true));
    answer(&s, 200, "text/event-stream", &pieces(stream, size));
    let (status, _, body) = received(&s);
    assert_eq!(status, 200);
    body
}

#[test]
fn a_stream_is_translated_however_it_is_cut() {
    let vm = gemini();
    let stream = fixture("gemini/stream_tools.sse");
    let whole = stream_through(&vm, &stream, stream.len());
    for size in [1, 2, 5, 64, 333] {
        assert_eq!(stream_through(&vm, &stream, size), whole, "pieces of {size}");
    }
    let events = data_events(&whole);
    assert_eq!(events.last().unwrap(), "[DONE]", "Go's Gemini streams never ended with [DONE]");
    assert!(events.iter().all(|e| e == "[DONE]" || e["id"] == "resp-gem-1"), "one id for the stream");
    let text: String =
        events.iter().filter_map(|e| e.pointer("/choices/0/delta/content").and_then(Value::as_str)).collect();
    assert_eq!(text, "Let me check both cities.");
    let calls: Vec<&Value> = events.iter().filter_map(|e| e.pointer("/choices/0/delta/tool_calls/0")).collect();
    assert_eq!(calls.iter().filter(|c| c.get("id").is_some()).count(), 2);
    let usage = events.iter().find_map(|e| e.get("usage").filter(|u| !u.is_null())).unwrap();
    assert_eq!(usage["completion_tokens"], 55);
}

#[test]
fn an_anthropic_client_reaches_gemini() {
    let vm = gemini();
    let s = post(&vm, "gw", "/v1/messages", &messages_body("gemini-2.5-flash", true));
    let (headers, sent) = sent(&s);
    assert_eq!(headers.get(":path"), Some("/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"));
    assert_eq!(sent["systemInstruction"]["parts"][0]["text"], "Be brief.");
    answer(&s, 200, "text/event-stream", &pieces(&fixture("gemini/stream_tools.sse"), 50));
    let (_, _, body) = received(&s);
    assert_eq!(event_names(&body).first().map(String::as_str), Some("message_start"));
    assert_eq!(event_names(&body).last().map(String::as_str), Some("message_stop"));
    assert!(body.contains("\"stop_reason\":\"tool_use\""), "{body}");
}

#[test]
fn geminis_own_calls_pass_with_the_providers_key() {
    let vm = gemini();
    let body = json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]});
    let s = higress_host::testing::request("POST", "gw", "/v1beta/models/gemini-2.5-flash:generateContent")
        .header("content-type", "application/json")
        .header("x-goog-api-key", "client-key")
        .body(body.to_string())
        .send(&vm);
    let (headers, sent) = sent(&s);
    assert_eq!(headers.get(":path"), Some("/v1beta/models/gemini-2.5-flash:generateContent"));
    assert_eq!(headers.get("x-goog-api-key"), Some("AIza-key"));
    assert_eq!(sent, body, "untouched");
    answer(&s, 200, "application/json", &[b"{\"candidates\":[]}"]);
    assert_eq!(received(&s).2, "{\"candidates\":[]}");
}

#[test]
fn errors_and_bad_replies() {
    let vm = gemini();
    let s = post(&vm, "gw", "/v1/chat/completions", &chat_body("gpt-4o", false));
    let error = br#"{"error":{"code":429,"message":"Resource has been exhausted","status":"RESOURCE_EXHAUSTED"}}"#;
    answer(&s, 429, "application/json", &[error]);
    let (status, _, body) = received(&s);
    assert_eq!(status, 429);
    assert!(body.contains("Resource has been exhausted"), "{body}");
    let body = stream_through(&vm, b"data: {not json\r\n\r\n", 3);
    assert!(body.contains("malformed upstream event") && body.ends_with("data: [DONE]\n\n"), "{body}");
}
