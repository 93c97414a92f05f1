//! `contextCleanupCommands`, `mergeConsecutiveMessages`, `promoteThinkingOnEmpty` (and
//! `hiclawMode`, both) and `moonshotFileId`, on the built module: what the provider receives
//! and what the client gets back, in each direction of translation.

mod common;

use common::*;
use serde_json::{json, Value};

fn conversation() -> Value {
    json!({"model": "m", "tool_choice": "auto", "messages": [
        {"role": "system", "content": "s"},
        {"role": "user", "content": "old question"},
        {"role": "assistant", "content": "old answer"},
        {"role": "user", "content": "/clear"},
        {"role": "user", "content": "new"},
        {"role": "user", "content": "question"}]})
}

#[test]
fn an_openai_request_is_cleaned_up_and_merged() {
    let vm = provider(json!({"type": "deepseek", "apiTokens": ["k"], "contextCleanupCommands": ["/clear"],
        "mergeConsecutiveMessages": true}));
    let (_, sent) = sent(&post(&vm, "gw", "/v1/chat/completions", &conversation()));
    assert_eq!(
        sent["messages"],
        json!([{"role": "system", "content": "s"}, {"role": "user", "content": "new\n\nquestion"}])
    );
    assert_eq!(sent["tool_choice"], "auto", "fields Go's struct lacked survive");
}

#[test]
fn without_the_settings_the_conversation_is_sent_as_it_came() {
    let vm = provider(json!({"type": "deepseek", "apiTokens": ["k"]}));
    let (_, sent) = sent(&post(&vm, "gw", "/v1/chat/completions", &conversation()));
    assert_eq!(sent["messages"], conversation()["messages"]);
}

#[test]
fn hiclaw_mode_merges_before_a_translation_to_claude() {
    let vm = provider(json!({"type": "claude", "apiTokens": ["k"], "hiclawMode": true}));
    let body = json!({"model": "claude-x", "max_tokens": 9, "messages": [
        {"role": "user", "content": "a"}, {"role": "user", "content": "b"}]});
    let (_, sent) = sent(&post(&vm, "gw", "/v1/chat/completions", &body));
    assert_eq!(sent["messages"].as_array().unwrap().len(), 1, "{sent}");
    assert_eq!(sent["messages"][0]["content"][0]["text"], "a\n\nb");
}

#[test]
fn an_anthropic_request_is_cleaned_up_once_translated() {
    // Groq has no Anthropic endpoint: the request is translated.
    let vm = provider(json!({"type": "groq", "apiTokens": ["k"], "contextCleanupCommands": ["/clear"]}));
    let body = json!({"model": "m", "max_tokens": 9, "system": "s", "messages": [
        {"role": "user", "content": "old"}, {"role": "assistant", "content": "answer"},
        {"role": "user", "content": [{"type": "text", "text": "/clear"}]},
        {"role": "assistant", "content": "cleared"}, {"role": "user", "content": "new"}]});
    let s = post(&vm, "gw", "/v1/messages", &body);
    let (headers, sent) = sent(&s);
    assert_eq!(headers.get(":path"), Some("/openai/v1/chat/completions"));
    let roles: Vec<&str> = sent["messages"].as_array().unwrap().iter().map(|m| m["role"].as_str().unwrap()).collect();
    assert_eq!(roles, ["system", "assistant", "user"], "{sent}");
}

fn thinking_reply() -> Value {
    json!({"id": "c", "object": "chat.completion", "created": 1, "model": "m", "choices": [{"index": 0,
        "message": {"role": "assistant", "content": "", "reasoning_content": "42"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})
}

#[test]
fn an_empty_answer_gets_its_reasoning() {
    let vm = provider(json!({"type": "deepseek", "apiTokens": ["k"], "promoteThinkingOnEmpty": true}));
    let s = post(&vm, "gw", "/v1/chat/completions", &chat_body("m", false));
    answer(&s, 200, "application/json", &[thinking_reply().to_string().as_bytes()]);
    let (status, headers, body) = received(&s);
    assert_eq!(status, 200);
    assert!(headers.get("content-length").is_none());
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["choices"][0]["message"], json!({"role": "assistant", "content": "42"}));
    assert_eq!(body["usage"]["total_tokens"], 2);

    // Off: untouched; an error reply is never touched.
    let vm = provider(json!({"type": "deepseek", "apiTokens": ["k"]}));
    let s = post(&vm, "gw", "/v1/chat/completions", &chat_body("m", false));
    answer(&s, 200, "application/json", &[thinking_reply().to_string().as_bytes()]);
    assert_eq!(serde_json::from_str::<Value>(&received(&s).2).unwrap(), thinking_reply());
}

const THINKING_STREAM: &str = "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"reasoning_content\":\"the answer \"}}]}\n\n\
    data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":\"is 42\"}}]}\n\n\
    data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n\
    data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2,\"total_tokens\":3}}\n\n\
    data: [DONE]\n\n";

#[test]
fn a_streamed_empty_answer_gets_its_reasoning_however_it_is_cut() {
    let vm = provider(json!({"type": "deepseek", "apiTokens": ["k"], "promoteThinkingOnEmpty": true}));
    for size in [1, 7, 100, THINKING_STREAM.len()] {
        let s = post(&vm, "gw", "/v1/chat/completions", &chat_body("m", true));
        answer(&s, 200, "text/event-stream", &pieces(THINKING_STREAM.as_bytes(), size));
        let events = data_events(&received(&s).2);
        let content: String = events.iter().filter_map(|e| e.pointer("/choices/0/delta/content")?.as_str()).collect();
        assert_eq!(content, "the answer is 42", "pieces of {size}");
        assert!(events.iter().all(|e| e.pointer("/choices/0/delta/reasoning_content").is_none()));
        let finish = events.iter().position(|e| e.pointer("/choices/0/finish_reason") == Some(&json!("stop")));
        let promoted = events.iter().position(|e| e.pointer("/choices/0/delta/content").is_some());
        assert!(promoted < finish, "the content comes before the choice finishes");
        assert_eq!(events.last(), Some(&json!("[DONE]")));
    }
}

#[test]
fn an_anthropic_client_gets_the_promoted_answer_as_text() {
    let vm = provider(json!({"type": "groq", "apiTokens": ["k"], "hiclawMode": true}));
    let s = post(&vm, "gw", "/v1/messages", &messages_body("m", true));
    answer(&s, 200, "text/event-stream", &pieces(THINKING_STREAM.as_bytes(), 13));
    let (_, _, body) = received(&s);
    let text: String = data_events(&body)
        .iter()
        .filter(|e| e["type"] == "content_block_delta" && e["delta"]["type"] == "text_delta")
        .filter_map(|e| e["delta"]["text"].as_str().map(str::to_string))
        .collect();
    assert_eq!(text, "the answer is 42", "{body}");
    assert!(!body.contains("thinking_delta"), "{body}");

    let s = post(&vm, "gw", "/v1/messages", &messages_body("m", false));
    answer(&s, 200, "application/json", &[thinking_reply().to_string().as_bytes()]);
    let reply: Value = serde_json::from_str(&received(&s).2).unwrap();
    assert_eq!(reply["content"], json!([{"type": "text", "text": "42"}]));
}

#[test]
fn an_openai_client_of_claude_gets_the_promoted_answer() {
    let vm = provider(json!({"type": "claude", "apiTokens": ["k"], "promoteThinkingOnEmpty": true}));
    let s = post(&vm, "gw", "/v1/chat/completions", &chat_body("claude-x", false));
    let reply = json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-x",
        "content": [{"type": "thinking", "thinking": "deep", "signature": "sig"}],
        "stop_reason": "end_turn", "usage": {"input_tokens": 1, "output_tokens": 1}});
    answer(&s, 200, "application/json", &[reply.to_string().as_bytes()]);
    let body: Value = serde_json::from_str(&received(&s).2).unwrap();
    assert_eq!(body["choices"][0]["message"]["content"], "deep", "{body}");
    assert!(body["choices"][0]["message"].get("reasoning_content").is_none(), "{body}");
}

#[test]
fn a_moonshot_file_is_the_context() {
    let vm = provider(json!({"type": "moonshot", "apiTokens": ["sk-moon"], "moonshotFileId": "file-abc"}));
    let s = post(&vm, "gw", "/v1/chat/completions", &chat_body("moonshot-v1-8k", false));
    assert!(s.upstream().headers.is_none(), "the request waits for the file");
    let calls = vm.take_new_http_calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].headers.get(":path"), Some("/v1/files/file-abc/content"));
    assert_eq!(calls[0].headers.get(":authority"), Some("api.moonshot.cn"));
    assert_eq!(calls[0].headers.get("authorization"), Some("Bearer sk-moon"));
    let file = json!({"content": "Facts.", "file_type": "application/pdf"}).to_string();
    vm.respond_http_call(calls[0].token, higress_host::HttpResponse::new(200, &[], file.as_str())).unwrap();
    let (_, first) = sent(&s);
    assert_eq!(first["messages"][0], json!({"role": "system", "content": "Facts."}));

    let line = config_error(json!({"provider": {"type": "moonshot", "apiTokens": ["k"], "moonshotFileId": "a/b"}}));
    assert!(line.contains("provider.moonshotFileId: `a/b`"), "{line}");

    let vm = provider(json!({"type": "moonshot", "apiTokens": ["k"], "moonshotFileId": "f"}));
    let s = post(&vm, "gw", "/v1/chat/completions", &chat_body("m", false));
    let call = vm.take_new_http_calls().remove(0);
    vm.respond_http_call(call.token, higress_host::HttpResponse::new(404, &[], "{}")).unwrap();
    let local = s.local_response().unwrap();
    assert_eq!((local.status, local.details.as_str()), (500, "ai-proxy.moonshot.load_ctx_failed"));
}

#[test]
fn an_openai_client_of_claude_gets_a_streamed_promoted_answer() {
    let vm = provider(json!({"type": "claude", "apiTokens": ["k"], "promoteThinkingOnEmpty": true}));
    let events = [
        json!({"type": "message_start", "message": {"id": "msg_1", "type": "message", "role": "assistant",
            "model": "claude-x", "content": [], "stop_reason": null, "usage": {"input_tokens": 3, "output_tokens": 1}}}),
        json!({"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "only "}}),
        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "this"}}),
        json!({"type": "content_block_stop", "index": 0}),
        json!({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 5}}),
        json!({"type": "message_stop"}),
    ];
    let stream: String =
        events.iter().map(|e| format!("event: {}\ndata: {e}\n\n", e["type"].as_str().unwrap())).collect();
    for size in [1, 9, stream.len()] {
        let s = post(&vm, "gw", "/v1/chat/completions", &chat_body("claude-x", true));
        answer(&s, 200, "text/event-stream", &pieces(stream.as_bytes(), size));
        let out = data_events(&received(&s).2);
        let content: String = out.iter().filter_map(|e| e.pointer("/choices/0/delta/content")?.as_str()).collect();
        assert_eq!(content, "only this", "pieces of {size}: {out:?}");
        assert!(out.iter().all(|e| e.pointer("/choices/0/delta/reasoning_content").is_none()), "{out:?}");
        assert_eq!(out.last(), Some(&json!("[DONE]")));
    }
}
