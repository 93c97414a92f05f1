//! MiniMax's ChatCompletion Pro as a provider for OpenAI and Anthropic clients, and as a
//! client's protocol: requests, whole replies, streams (split at any byte), errors.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::*;
use higress_ai::chat::{Event, FinishReason};
use higress_ai::minimax;
use higress_ai::translate::{self, Protocol};
use proptest::prelude::*;
use serde_json::{json, Value};

fn fixture_json(path: &str) -> Value {
    serde_json::from_slice(&fixture(path)).unwrap()
}

#[test]
fn an_openai_request_becomes_a_pro_request() {
    let body = json!({"model": "abab6.5s-chat", "stream": true, "max_tokens": 256, "temperature": 0.3,
        "messages": [
            {"role": "system", "content": "You are a weather bot."},
            {"role": "user", "name": "Ann", "content": "Weather in Paris?"},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "call_0", "type": "function",
                "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]},
            {"role": "tool", "tool_call_id": "call_0", "content": "18°C, cloudy"}],
        "tools": [{"type": "function", "function": {"name": "get_weather", "description": "The weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]});
    let pro = translate::request(Protocol::OpenAi, Protocol::MiniMaxPro, &body).unwrap();
    assert_eq!(
        pro,
        json!({
            "model": "abab6.5s-chat", "stream": true, "tokens_to_generate": 256, "temperature": 0.3,
            "mask_sensitive_info": true,
            "messages": [
                {"sender_type": "USER", "sender_name": "Ann", "text": "Weather in Paris?"},
                {"sender_type": "BOT", "sender_name": "MM智能助理", "text": "",
                    "function_call": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
                {"sender_type": "FUNCTION", "sender_name": "get_weather", "text": "18°C, cloudy"},
            ],
            "bot_setting": [{"bot_name": "MM智能助理", "content": "You are a weather bot."}],
            "reply_constraints": {"sender_type": "BOT", "sender_name": "MM智能助理"},
            "functions": [{"name": "get_weather", "description": "The weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}],
        })
    );
    // An Anthropic client's request too, and back.
    let anthropic =
        json!({"model": "m", "max_tokens": 10, "system": "S", "messages": [{"role": "user", "content": "Hi"}]});
    let pro = translate::request(Protocol::Anthropic, Protocol::MiniMaxPro, &anthropic).unwrap();
    assert_eq!(pro["bot_setting"][0]["content"], "S");
    let back = translate::request(Protocol::MiniMaxPro, Protocol::OpenAi, &pro).unwrap();
    assert_eq!(
        back["messages"],
        json!([{"role": "system", "content": "S"}, {"role": "user", "content": "Hi", "name": "小明"}])
    );
}

#[test]
fn a_pro_reply_reaches_openai_and_anthropic_clients() {
    let openai = translate::reply(Protocol::MiniMaxPro, Protocol::OpenAi, &fixture_json("minimax/reply.json")).unwrap();
    assert_eq!(openai["id"], "0106b3bc9fd844a9f3de1aa06004e2ab");
    assert_eq!(openai["created"], 1689747645);
    assert_eq!(openai["model"], "abab6.5s-chat");
    assert_eq!(openai["object"], "chat.completion");
    assert_eq!(
        openai["choices"][0]["message"]["content"],
        "I am MM Assistant, a large language model developed by MiniMax."
    );
    assert_eq!(openai["choices"][0]["finish_reason"], "stop");
    assert_eq!(openai["usage"]["total_tokens"], 187);
    let claude =
        translate::reply(Protocol::MiniMaxPro, Protocol::Anthropic, &fixture_json("minimax/reply.json")).unwrap();
    assert_eq!(claude["content"][0]["text"], "I am MM Assistant, a large language model developed by MiniMax.");
    assert_eq!(claude["stop_reason"], "end_turn");

    let called =
        translate::reply(Protocol::MiniMaxPro, Protocol::OpenAi, &fixture_json("minimax/reply_function.json")).unwrap();
    let message = &called["choices"][0]["message"];
    assert_eq!(message["content"], Value::Null);
    assert_eq!(message["tool_calls"][0]["id"], "call_0");
    assert_eq!(
        message["tool_calls"][0]["function"],
        json!({"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"})
    );
    assert_eq!(called["choices"][0]["finish_reason"], "tool_calls");
}

#[test]
fn a_pro_stream_reaches_an_openai_client_once_and_whole() {
    let out = translate_split(Protocol::MiniMaxPro, Protocol::OpenAi, &fixture("minimax/stream.sse"), &[]);
    let text = String::from_utf8(out.clone()).unwrap();
    assert!(text.ends_with("data: [DONE]\n\n"), "{text}");
    assert!(!text.contains("\"message\""), "chunks have deltas, not Go's whole messages");
    let events = client_events(Protocol::OpenAi, &out);
    assert_eq!(text_of(&events), "I am from China, 我来自中国。", "the last event's whole text is not repeated");
    assert_eq!(events.iter().filter(|e| matches!(e, Event::Finish(FinishReason::Stop))).count(), 1);
    assert!(events.iter().any(|e| matches!(e, Event::Usage(u) if u.total == Some(187))));

    let claude = translate_split(Protocol::MiniMaxPro, Protocol::Anthropic, &fixture("minimax/stream.sse"), &[]);
    let events = client_events(Protocol::Anthropic, &claude);
    assert_eq!(text_of(&events), "I am from China, 我来自中国。");
}

#[test]
fn an_error_mid_stream_reaches_the_client() {
    let out = translate_split(Protocol::MiniMaxPro, Protocol::OpenAi, &fixture("minimax/stream_error.sse"), &[]);
    let events = client_events(Protocol::OpenAi, &out);
    assert_eq!(text_of(&events), "Let me");
    assert!(events
        .iter()
        .any(|e| matches!(e, Event::Error { kind, message } if kind == "1002" && message == "rate limit exceeded")));
    let error = translate::error(
        Protocol::MiniMaxPro,
        Protocol::OpenAi,
        200,
        br#"{"base_resp":{"status_code":1004,"status_msg":"login fail"}}"#,
    );
    assert_eq!(error, json!({"error": {"message": "login fail", "type": "1004", "param": null, "code": null}}));
    let body = br#"{"base_resp":{"status_code":1004,"status_msg":"login fail"}}"#;
    let reply = translate::reply(Protocol::MiniMaxPro, Protocol::OpenAi, &serde_json::from_slice(body).unwrap());
    assert_eq!(reply.unwrap_err().0, "1004: login fail", "an error under HTTP 200 is not a reply");
}

#[test]
fn every_pro_stream_split_at_every_byte_translates_the_same() {
    for name in ["minimax/stream.sse", "minimax/stream_error.sse"] {
        let stream = fixture(name);
        for to in [Protocol::OpenAi, Protocol::Anthropic] {
            let whole = translate_split(Protocol::MiniMaxPro, to, &stream, &[]);
            for cut in 0..=stream.len() {
                assert_eq!(translate_split(Protocol::MiniMaxPro, to, &stream, &[cut]), whole, "{name} cut at {cut}");
            }
        }
    }
}

#[test]
fn a_pro_client_gets_pro_replies_and_streams() {
    let reply =
        translate::reply(Protocol::OpenAi, Protocol::MiniMaxPro, &fixture_json("openai/reply_text.json")).unwrap();
    assert_eq!(reply["base_resp"], json!({"status_code": 0, "status_msg": ""}));
    assert_eq!(reply["choices"][0]["messages"][0]["text"], reply["reply"]);
    let back = minimax::read_reply(&reply).unwrap();
    assert_eq!(back.joined().0, reply["reply"].as_str().unwrap());

    let openai = fixture("openai/stream.sse");
    let out = translate_split(Protocol::OpenAi, Protocol::MiniMaxPro, &openai, &[]);
    let events = client_events(Protocol::MiniMaxPro, &out);
    let original = client_events(Protocol::OpenAi, &translate_split(Protocol::OpenAi, Protocol::OpenAi, &openai, &[]));
    assert_eq!(text_of(&events), text_of(&original), "the text once, though the last event repeats it");
    assert!(events.iter().any(|e| matches!(e, Event::Finish(_))));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
    #[test]
    fn a_pro_stream_split_anywhere_translates_the_same(cuts in proptest::collection::vec(0usize..2000, 0..12)) {
        let stream = fixture("minimax/stream.sse");
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (stream.len() + 1)).collect();
        cuts.sort_unstable();
        prop_assert_eq!(
            translate_split(Protocol::MiniMaxPro, Protocol::OpenAi, &stream, &cuts),
            translate_split(Protocol::MiniMaxPro, Protocol::OpenAi, &stream, &[])
        );
    }

    #[test]
    fn any_bytes_from_minimax_are_translated_without_a_trap(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        prop_assert!(translate_split(Protocol::MiniMaxPro, Protocol::OpenAi, &bytes, &[]).ends_with(b"data: [DONE]\n\n"));
        let _ = translate_split(Protocol::MiniMaxPro, Protocol::Anthropic, &bytes, &[]);
        let _ = translate_split(Protocol::OpenAi, Protocol::MiniMaxPro, &bytes, &[]);
    }

    #[test]
    fn events_of_the_usual_shape_with_any_values_never_trap(
        text in prop_oneof![Just(json!("x")), Just(json!(1)), Just(json!(null)), Just(json!(["a"]))],
        finish in prop_oneof![Just(json!("")), Just(json!("stop")), Just(json!("length")), Just(json!(3))],
        call in prop_oneof![Just(json!({"name": "f", "arguments": "{}"})), Just(json!({"name": 1})), Just(json!("c")), Just(json!(null))],
        base in prop_oneof![Just(json!({"status_code": 0})), Just(json!({"status_code": 1000})), Just(json!("x")), Just(json!(null))],
        messages in prop_oneof![Just(true), Just(false)],
    ) {
        let message = json!({"sender_type": "BOT", "text": text, "function_call": call});
        let choice = if messages { json!({"messages": [message], "finish_reason": finish}) } else { json!({"messages": message}) };
        let data = json!({"choices": [choice], "usage": {"total_tokens": 1}, "base_resp": base});
        let stream = format!("data: {data}\n\n");
        for to in [Protocol::OpenAi, Protocol::Anthropic, Protocol::MiniMaxPro, Protocol::Qwen] {
            prop_assert!(!translate_split(Protocol::MiniMaxPro, to, stream.as_bytes(), &[]).is_empty());
        }
        let _ = minimax::read_reply(&data);
        let _ = minimax::read_request(&json!({"messages": [message], "bot_setting": data, "functions": [call]}));
    }
}
