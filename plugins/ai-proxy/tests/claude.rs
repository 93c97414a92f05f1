//! OpenAI clients of Claude (`type: claude`) on the compiled module: the request translated to
//! Anthropic's messages, the reply translated back, whole and streamed (cut anywhere, many
//! streams at once on one VM), errors, and Claude Code mode.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::*;
use higress_host::Vm;
use serde_json::{json, Value};

fn fixture(path: &str) -> Vec<u8> {
    let path = format!("{}/../../crates/ai/tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn claude() -> Vm {
    provider(json!({"type": "claude", "apiTokens": ["sk-ant"], "modelMapping": {"gpt-4o": "claude-sonnet-4-5"}}))
}

#[test]
fn the_request_is_anthropic_messages() {
    let vm = claude();
    let body = json!({
        "model": "gpt-4o",
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "system", "content": "Answer in French."},
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "18C"}
        ],
        "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}],
        "tool_choice": "required",
        "temperature": 0,
        "stop": ["END"],
        "max_completion_tokens": 300,
        "stream": true
    });
    let s = post(&vm, "gw", "/v1/chat/completions", &body);
    let (headers, sent) = sent(&s);
    assert_eq!(headers.get(":path"), Some("/v1/messages"));
    assert_eq!(headers.get("x-api-key"), Some("sk-ant"));
    assert_eq!(headers.get("anthropic-version"), Some("2023-06-01"));
    assert!(!headers.contains("authorization"));
    assert_eq!(headers.get("accept"), Some("text/event-stream"));
    assert_eq!(sent["model"], "claude-sonnet-4-5");
    assert_eq!(sent["max_tokens"], 300);
    assert_eq!(sent["temperature"], 0, "a zero temperature is kept (Go dropped it)");
    assert_eq!(sent["stop_sequences"], json!(["END"]));
    assert_eq!(sent["tool_choice"], json!({"type": "any"}), "required is Anthropic's any (Go dropped it)");
    let system = sent["system"].to_string();
    assert!(
        system.contains("You are terse.") && system.contains("Answer in French."),
        "every system message: {system}"
    );
    assert_eq!(sent["tools"][0]["input_schema"]["properties"]["city"]["type"], "string");
    assert_eq!(sent["messages"][1]["content"][0]["type"], "tool_use");
    assert_eq!(sent["messages"][2]["content"][0]["type"], "tool_result");
    assert_eq!(sent["stream"], true);
    assert!(sent.get("stream_options").is_none());
}

#[test]
fn a_whole_reply_comes_back_as_a_chat_completion() {
    let vm = claude();
    let s = post(&vm, "gw", "/v1/chat/completions", &chat_body("gpt-4o", false));
    let reply = fixture("anthropic/reply_tools.json");
    answer(&s, 200, "application/json", &pieces(&reply, 100));
    let (status, headers, body) = received(&s);
    assert_eq!(status, 200);
    assert!(!headers.contains("content-length"));
    assert_eq!(headers.get("content-type"), Some("application/json"));
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["id"], "msg_01XFDUDYJgAACzvnptvVoYEL");
    assert_eq!(body["created"], NOW);
    let message = &body["choices"][0]["message"];
    assert_eq!(
        message["content"], "I'll check the weather in both cities. Starting with Paris, then Berlin.",
        "every text block (Go kept the last)"
    );
    assert!(message["reasoning_content"].as_str().unwrap().starts_with("Two cities"));
    assert_eq!(message["tool_calls"][1]["function"]["arguments"], "{\"city\":\"Berlin\",\"unit\":\"celsius\"}");
    assert_eq!(body["choices"][0]["finish_reason"], "tool_calls");
    let usage = &body["usage"];
    assert_eq!(usage["prompt_tokens"], 472 + 1024 + 20480, "cache tokens count as prompt tokens (Go left them out)");
    assert_eq!(usage["prompt_tokens_details"]["cached_tokens"], 20480);
    assert_eq!(usage["completion_tokens"], 256);
}

/// The client's stream for Anthropic's `stream` fed in pieces of `size`.
fn stream_through(vm: &Vm, stream: &[u8], size: usize) -> String {
    let s = post(vm, "gw", "/v1/chat/completions", &chat_body("gpt-4o", true));
    answer(&s, 200, "text/event-stream", &pieces(stream, size));
    let (status, headers, body) = received(&s);
    assert_eq!(status, 200);
    assert!(!headers.contains("content-length"));
    body
}

#[test]
fn a_stream_is_translated_however_it_is_cut() {
    let vm = claude();
    let stream = fixture("anthropic/stream_tools.sse");
    let whole = stream_through(&vm, &stream, stream.len());
    for size in [1, 2, 3, 7, 64, 500] {
        assert_eq!(stream_through(&vm, &stream, size), whole, "pieces of {size}");
    }
    let events = data_events(&whole);
    assert_eq!(events.last().unwrap(), "[DONE]", "the stream always ends with [DONE] (Go never sent it)");
    assert_eq!(events[0]["choices"][0]["delta"]["role"], "assistant");
    assert!(events.iter().all(|e| e == "[DONE]" || e["object"] == "chat.completion.chunk"));
    let tool_starts: Vec<&Value> = events
        .iter()
        .filter_map(|e| e.pointer("/choices/0/delta/tool_calls/0"))
        .filter(|c| c.get("id").is_some())
        .collect();
    assert_eq!(
        tool_starts.iter().map(|c| c["index"].as_u64().unwrap()).collect::<Vec<_>>(),
        [0, 1],
        "tool calls from 0"
    );
    let usage = events.iter().find_map(|e| e.get("usage").filter(|u| !u.is_null())).unwrap();
    assert_eq!(usage["prompt_tokens_details"]["cached_tokens"], 20480);
    let finish: Vec<&Value> =
        events.iter().filter_map(|e| e.pointer("/choices/0/finish_reason")).filter(|f| !f.is_null()).collect();
    assert_eq!(finish, [&json!("tool_calls")]);
}

#[test]
fn concurrent_streams_on_one_vm_do_not_share_state() {
    let vm = claude();
    let stream = fixture("anthropic/stream_tools.sse");
    let alone = stream_through(&vm, &stream, stream.len());
    let streams: Vec<_> = (0..3).map(|_| post(&vm, "gw", "/v1/chat/completions", &chat_body("gpt-4o", true))).collect();
    for s in &streams {
        s.send_response_headers([(":status", "200"), ("content-type", "text/event-stream")], false).unwrap();
    }
    let chunks = pieces(&stream, 11);
    for (i, chunk) in chunks.iter().enumerate() {
        for s in &streams {
            s.send_response_body(*chunk, i + 1 == chunks.len()).unwrap();
        }
    }
    for s in &streams {
        assert_eq!(received(s).2, alone);
    }
}

#[test]
fn a_stream_cut_short_still_ends_for_the_client() {
    let vm = claude();
    let stream = fixture("anthropic/stream_tools.sse");
    let half = &stream[..stream.len() / 2];
    let body = stream_through(&vm, half, 40);
    assert!(body.ends_with("data: [DONE]\n\n"), "{body}");
    // A stream reset mid-way: no trap, the client's stream is cut.
    let s = post(&vm, "gw", "/v1/chat/completions", &chat_body("gpt-4o", true));
    s.send_response_headers([(":status", "200"), ("content-type", "text/event-stream")], false).unwrap();
    s.send_response_body(half, false).unwrap();
    s.reset();
    assert!(s.traps().is_empty());
}

#[test]
fn an_error_event_mid_stream_reaches_the_client() {
    let vm = claude();
    let body = stream_through(&vm, &fixture("anthropic/stream_error.sse"), 9);
    let events = data_events(&body);
    assert!(events.iter().any(|e| e["error"]["type"] == "overloaded_error"), "{body}");
    assert_eq!(events.last().unwrap(), "[DONE]");
}

#[test]
fn error_replies_pass_through() {
    let vm = claude();
    let s = post(&vm, "gw", "/v1/chat/completions", &chat_body("gpt-4o", false));
    let error = fixture("anthropic/error_overloaded.json");
    answer(&s, 529, "application/json", &[&error]);
    let (status, _, body) = received(&s);
    assert_eq!(status, 529);
    assert_eq!(body.as_bytes(), error.as_slice());
}

#[test]
fn replies_that_cannot_be_translated_say_why() {
    let vm = claude();
    // Not JSON: known from the headers, so the status still says it (Higress's 500 line).
    let s = post(&vm, "gw", "/v1/chat/completions", &chat_body("gpt-4o", false));
    answer(&s, 200, "text/html", &[b"<html>bad gateway</html>"]);
    let (status, headers, body) = received(&s);
    assert_eq!((status, headers.get("content-type")), (500, Some("text/plain")));
    assert_eq!(body, "failed to process response body: the provider answered text/html, not JSON");
    // JSON that is no reply: the status has left, the body is an OpenAI error.
    for reply in
        [&b"{\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"boom\"}}"[..], b"[1,2]", b"{oops"]
    {
        let s = post(&vm, "gw", "/v1/chat/completions", &chat_body("gpt-4o", false));
        answer(&s, 200, "application/json", &[reply]);
        let (status, _, body) = received(&s);
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(reply));
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["error"]["type"], "api_error");
        assert!(body["error"]["message"].as_str().unwrap().starts_with("failed to process response body: "), "{body}");
        assert!(s.traps().is_empty());
    }
    // Garbage in a stream: an error event, then the end.
    let body = stream_through(&vm, b"data: not json\n\ndata: {\"type\": 5}\n\n", 4);
    assert!(body.contains("malformed upstream event"), "{body}");
    assert!(body.ends_with("data: [DONE]\n\n"));
}

#[test]
fn claude_code_mode() {
    let vm = provider(
        json!({"type": "claude", "apiTokens": ["oauth-token"], "claudeCodeMode": true, "claudeVersion": "2023-01-01"}),
    );
    let s = post(&vm, "gw", "/v1/chat/completions", &chat_body("claude-x", false));
    let (headers, body) = sent(&s);
    assert_eq!(headers.get(":path"), Some("/v1/messages?beta=true"));
    assert_eq!(headers.get("authorization"), Some("Bearer oauth-token"));
    assert!(!headers.contains("x-api-key"));
    assert_eq!(headers.get("anthropic-version"), Some("2023-01-01"));
    assert_eq!(headers.get("x-app"), Some("cli"));
    assert!(headers.get("user-agent").unwrap().starts_with("claude-cli/"));
    assert!(headers.get("anthropic-beta").unwrap().contains("claude-code-20250219"));
    assert_eq!(body["system"][0]["text"], "You are Claude Code, Anthropic's official CLI for Claude.");
    assert_eq!(body["system"][0]["cache_control"], json!({"type": "ephemeral"}));
}

#[test]
fn other_apis_pass_to_claude_untouched() {
    let vm = claude();
    let s = higress_host::testing::request("GET", "gw", "/v1/models").send(&vm);
    let (headers, _) = sent(&s);
    assert_eq!(headers.get(":path"), Some("/v1/models"));
    answer(&s, 200, "application/json", &[b"{\"data\":[]}"]);
    assert_eq!(received(&s).2, "{\"data\":[]}");
}
