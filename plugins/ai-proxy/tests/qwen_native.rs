//! Qwen in DashScope's native protocol (`qwenEnableCompatible: false`) on the compiled
//! module: chat sent to text or multimodal generation with `input`/`parameters`, streams asked
//! for with `X-DashScope-SSE`, `qwenFileIds` for Qwen-Long, and replies and streams
//! (incremental or not) translated back.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::*;
use higress_host::Vm;
use serde_json::{json, Value};

fn native(extra: Value) -> Vm {
    let mut config = json!({"type": "qwen", "apiTokens": ["sk-dash"], "qwenEnableCompatible": false});
    for (key, value) in extra.as_object().unwrap() {
        config[key] = value.clone();
    }
    provider(config)
}

fn fixture(path: &str) -> Vec<u8> {
    let path = format!("{}/../../crates/ai/tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn chat_goes_to_text_generation_in_dashscopes_shape() {
    let vm = native(json!({"modelMapping": {"*": "qwen-max"}}));
    let mut body = chat_body("gpt-4o", true);
    body["temperature"] = json!(0);
    let s = post(&vm, "gw", "/v1/chat/completions", &body);
    let (headers, sent) = sent(&s);
    assert_eq!(headers.get(":authority"), Some("dashscope.aliyuncs.com"));
    assert_eq!(headers.get(":path"), Some("/api/v1/services/aigc/text-generation/generation"));
    assert_eq!(headers.get("authorization"), Some("Bearer sk-dash"));
    assert_eq!(headers.get("x-dashscope-sse"), Some("enable"), "a stream is asked for in a header");
    assert_eq!(sent["model"], "qwen-max");
    assert_eq!(sent["input"]["messages"][0], json!({"role": "user", "content": "你好，你是谁？"}));
    assert_eq!(sent["parameters"]["result_format"], "message");
    assert_eq!(sent["parameters"]["incremental_output"], true);
    assert_eq!(sent["parameters"]["temperature"], 0, "temperature 0 is kept (Go's re-marshal dropped it)");
    assert!(sent.get("messages").is_none() && sent.get("stream").is_none());
}

#[test]
fn images_go_to_multimodal_generation() {
    let vm = native(json!({}));
    let body = json!({"model": "qwen-vl-max", "messages": [{"role": "user", "content": [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}}]}]});
    let s = post(&vm, "gw", "/v1/chat/completions", &body);
    let (headers, sent) = sent(&s);
    assert_eq!(headers.get(":path"), Some("/api/v1/services/aigc/multimodal-generation/generation"));
    let content = &sent["input"]["messages"][0]["content"];
    assert!(content.as_array().unwrap().iter().any(|p| p["image"] == "https://example.com/cat.png"), "{content}");
    assert!(!headers.contains("x-dashscope-sse"));
}

#[test]
fn qwen_long_gets_its_files_in_a_system_message() {
    let vm = native(json!({"qwenFileIds": ["file-a", "file-b"]}));
    let s = post(&vm, "gw", "/v1/chat/completions", &chat_body("qwen-long", false));
    let (_, sent) = sent(&s);
    assert_eq!(sent["input"]["messages"][0], json!({"role": "system", "content": "fileid://file-a,fileid://file-b"}));
    let s = post(&vm, "gw", "/v1/chat/completions", &chat_body("qwen-max", false));
    assert_eq!(common::sent(&s).1["input"]["messages"][0]["role"], "user", "other models read no files");
}

#[test]
fn a_whole_reply_comes_back_with_its_tool_calls_and_reasoning() {
    let vm = native(json!({}));
    let s = post(&vm, "gw", "/v1/chat/completions", &chat_body("qwen-plus", false));
    answer(&s, 200, "application/json", &[&fixture("qwen/reply_tools.json")]);
    let (status, _, body) = received(&s);
    assert_eq!(status, 200);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["model"], "qwen-plus");
    let message = &body["choices"][0]["message"];
    assert_eq!(message["content"], "I'll check the weather in both cities.");
    assert_eq!(message["reasoning_content"], "Two cities, so two calls of get_current_weather.");
    assert_eq!(message["tool_calls"].as_array().unwrap().len(), 2);
    assert_eq!(body["choices"][0]["finish_reason"], "tool_calls");
}

#[test]
fn streams_incremental_or_whole_reach_the_client_as_chunks() {
    for name in ["qwen/stream_incremental.sse", "qwen/stream_whole.sse"] {
        let stream = fixture(name);
        let mut first = None;
        for size in [1, 13, stream.len()] {
            let vm = native(json!({}));
            let s = post(&vm, "gw", "/v1/chat/completions", &chat_body("qwen-plus", true));
            answer(&s, 200, "text/event-stream", &pieces(&stream, size));
            let (status, _, body) = received(&s);
            assert_eq!(status, 200);
            let events = data_events(&body);
            assert_eq!(events.last().unwrap(), &json!("[DONE]"), "{name}");
            assert_eq!(events[0]["model"], "qwen-plus", "DashScope names no model: the one asked for");
            let text: String =
                events.iter().filter_map(|e| e["choices"][0]["delta"]["content"].as_str()).collect::<String>();
            assert!(!text.is_empty(), "{name}: {body}");
            match &first {
                None => first = Some(body),
                Some(first) => assert_eq!(first, &body, "{name} cut in pieces of {size}"),
            }
        }
    }
}
