//! Whole OpenAI chat completions and error bodies: read (a provider's reply, AI-PLUGINS.md
//! 1.2) and written (the client's reply, 1.1).
// Tests fail loudly: helpers outside #[test] functions may unwrap and index too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use higress_ai::chat::{FinishReason, Part, Reply};
use higress_ai::openai::{read_error, read_reply, write_error, write_reply};
use higress_ai::Usage;
use serde_json::{json, Value};

fn fixture(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

#[test]
fn reads_a_reply_with_reasoning_tool_calls_and_cached_tokens() {
    let reply = read_reply(&fixture(include_str!("fixtures/openai/reply_tools.json"))).unwrap();
    assert_eq!(reply.id, "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG");
    assert_eq!(reply.model, "deepseek-reasoner");
    assert_eq!(reply.created, Some(1741570283));
    assert_eq!(reply.finish, Some(FinishReason::ToolCalls));
    assert_eq!(
        reply.parts,
        vec![
            Part::Reasoning { text: "The user asks for two cities, so two calls.".into(), signature: None },
            Part::ToolCall {
                id: "call_Dg8sQ7y2Hn1kVb4Rj0pL3xWe".into(),
                name: "get_weather".into(),
                arguments: r#"{"city":"Paris"}"#.into()
            },
            Part::ToolCall {
                id: "call_5TzNq9Ka2Lm7Pw3Ys8Xc1Vb0".into(),
                name: "get_weather".into(),
                arguments: r#"{"city":"Tokyo"}"#.into()
            },
        ]
    );
    let usage = reply.usage;
    assert_eq!((usage.input, usage.output, usage.total), (Some(1117), Some(46), Some(1163)));
    assert_eq!((usage.cache_read, usage.reasoning), (Some(1024), Some(20)));
    // OpenAI counts cached tokens within prompt_tokens: Anthropic's input leaves them out.
    assert_eq!((usage.prompt_tokens(), usage.uncached_input()), (Some(1117), Some(93)));
}

#[test]
fn reads_a_text_reply_and_each_finish_reason() {
    let body = fixture(include_str!("fixtures/openai/reply_text.json"));
    let reply = read_reply(&body).unwrap();
    assert_eq!(
        reply.parts,
        vec![Part::Text { text: "Tokyo is warmer: 24 °C against 18 °C in Paris.".into(), cache: None }]
    );
    assert_eq!(reply.finish, Some(FinishReason::Stop));
    assert_eq!(reply.usage.cache_read, Some(0));

    for (reason, expected) in [
        ("length", FinishReason::Length),
        ("content_filter", FinishReason::ContentFilter),
        ("function_call", FinishReason::ToolCalls),
        ("insufficient_system_resource", FinishReason::Other("insufficient_system_resource".into())),
    ] {
        let mut body = body.clone();
        body["choices"][0]["finish_reason"] = json!(reason);
        assert_eq!(read_reply(&body).unwrap().finish, Some(expected));
    }
}

#[test]
fn reads_provider_variations() {
    // OpenRouter's `reasoning`, a refusal, the choice with index 0 placed second, no usage.
    let reply = read_reply(&json!({
        "id": "gen-1741", "model": "anthropic/claude-sonnet-4", "object": "chat.completion",
        "choices": [
            {"index": 1, "message": {"role": "assistant", "content": "other"}, "finish_reason": "stop"},
            {"index": 0, "message": {"role": "assistant", "content": null, "refusal": "I can't help with that.", "reasoning": "Unsafe."}, "finish_reason": "stop"}
        ]
    }))
    .unwrap();
    assert_eq!(
        reply.parts,
        vec![
            Part::Reasoning { text: "Unsafe.".into(), signature: None },
            Part::Text { text: "I can't help with that.".into(), cache: None },
        ]
    );
    assert!(!reply.usage.is_known());
    assert_eq!(reply.created, None);

    // Arguments sent as an object, not JSON text; no choices at all.
    let reply = read_reply(&json!({"choices": [{"message": {"tool_calls": [
        {"id": "c", "type": "function", "function": {"name": "f", "arguments": {"a": 1}}}
    ]}}]}))
    .unwrap();
    assert_eq!(reply.parts, vec![Part::ToolCall { id: "c".into(), name: "f".into(), arguments: r#"{"a":1}"#.into() }]);
    let reply = read_reply(&json!({"id": "x", "choices": []})).unwrap();
    assert_eq!((reply.parts.len(), reply.finish), (0, None));
}

#[test]
fn refuses_bad_replies_naming_the_field() {
    let cases = [
        (json!("text"), "body: expected an object"),
        (json!({"choices": {}}), "choices: expected an array"),
        (json!({"choices": [{"message": {"content": 5}}]}), "choices[0].message.content: expected a string or null"),
        (
            json!({"choices": [{"message": {"tool_calls": [{"function": {}}]}}]}),
            "choices[0].message.tool_calls[0].function.name: expected a string",
        ),
        (json!({"choices": [{"finish_reason": 1}]}), "choices[0].finish_reason: expected a string"),
        (
            json!({"error": {"message": "Rate limit reached", "type": "requests"}}),
            "error: requests: Rate limit reached",
        ),
    ];
    for (body, message) in cases {
        assert_eq!(read_reply(&body).unwrap_err().0, message, "{body}");
    }
}

/// Anthropic-style usage: input without the 1000 cached and 200 cache-written tokens.
fn anthropic_usage() -> Usage {
    let mut usage = Usage::default();
    usage.update(&json!({"usage": {
        "input_tokens": 25, "output_tokens": 120,
        "cache_read_input_tokens": 1000, "cache_creation_input_tokens": 200
    }}));
    usage
}

#[test]
fn writes_a_reply_from_an_anthropic_one() {
    let reply = Reply {
        id: "msg_01XFDUDYJgAACzvnptvVoYEL".into(),
        model: "claude-sonnet-4-20250514".into(),
        parts: vec![
            Part::Reasoning { text: "Check the weather. ".into(), signature: Some("EqQBCkYIBxgC".into()) },
            Part::Text { text: "Paris is ".into(), cache: None },
            Part::Text { text: "cloudy.".into(), cache: None },
            Part::ToolCall {
                id: "toolu_01A".into(),
                name: "get_weather".into(),
                arguments: r#"{"city":"Tokyo"}"#.into(),
            },
            Part::ToolCall { id: "toolu_01B".into(), name: "get_time".into(), arguments: String::new() },
        ],
        finish: Some(FinishReason::ToolCalls),
        usage: anthropic_usage(),
        created: Some(1741570283),
    };
    assert_eq!(
        write_reply(&reply),
        json!({
            "id": "msg_01XFDUDYJgAACzvnptvVoYEL",
            "object": "chat.completion",
            "created": 1741570283,
            "model": "claude-sonnet-4-20250514",
            "choices": [{
                "index": 0,
                "message": {
                    "role": "assistant",
                    // Every text block (Go kept the last).
                    "content": "Paris is cloudy.",
                    "reasoning_content": "Check the weather. ",
                    "tool_calls": [
                        {"id": "toolu_01A", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Tokyo\"}"}},
                        {"id": "toolu_01B", "type": "function", "function": {"name": "get_time", "arguments": "{}"}}
                    ]
                },
                "logprobs": null,
                "finish_reason": "tool_calls"
            }],
            "usage": {
                // Cache reads and writes count as prompt tokens (Go left them out).
                "prompt_tokens": 1225,
                "completion_tokens": 120,
                "total_tokens": 1345,
                "prompt_tokens_details": {"cached_tokens": 1000}
            }
        })
    );
}

#[test]
fn writes_null_content_for_tool_calls_only_and_omits_unknown_usage() {
    let reply = Reply {
        id: "msg_1".into(),
        model: "m".into(),
        parts: vec![Part::ToolCall { id: "c".into(), name: "f".into(), arguments: "{}".into() }],
        finish: Some(FinishReason::StopSequence(Some("END".into()))),
        ..Reply::default()
    };
    let body = write_reply(&reply);
    assert_eq!(body["choices"][0]["message"]["content"], Value::Null);
    assert!(body["choices"][0]["message"].get("reasoning_content").is_none());
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    assert_eq!(body["created"], 0);
    assert!(body.get("usage").is_none());

    // Empty reply: empty content, unknown finish.
    let body = write_reply(&Reply::default());
    assert_eq!(body["choices"][0]["message"], json!({"role": "assistant", "content": ""}));
    assert_eq!(body["choices"][0]["finish_reason"], Value::Null);

    // Only reasoning tokens known: usage is written.
    let mut usage = Usage::default();
    usage.update(&json!({"usage": {"completion_tokens_details": {"reasoning_tokens": 7}}}));
    let body = write_reply(&Reply { usage, ..Reply::default() });
    assert_eq!(
        body["usage"],
        json!({"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0, "completion_tokens_details": {"reasoning_tokens": 7}})
    );
}

#[test]
fn a_reply_round_trips() {
    for text in [include_str!("fixtures/openai/reply_tools.json"), include_str!("fixtures/openai/reply_text.json")] {
        let reply = read_reply(&fixture(text)).unwrap();
        assert_eq!(read_reply(&write_reply(&reply)).unwrap(), reply);
    }
}

#[test]
fn error_bodies() {
    let openai = json!({"error": {"message": "Incorrect API key provided: sk-abc***.", "type": "invalid_request_error", "param": null, "code": "invalid_api_key"}});
    assert_eq!(
        read_error(&openai),
        Some(("invalid_request_error".into(), "Incorrect API key provided: sk-abc***.".into()))
    );
    let vllm = json!({"object": "error", "message": "The model `x` does not exist.", "type": "NotFoundError", "param": null, "code": 404});
    assert_eq!(read_error(&vllm), Some(("NotFoundError".into(), "The model `x` does not exist.".into())));
    let google = json!({"error": {"code": 429, "message": "Resource exhausted.", "status": "RESOURCE_EXHAUSTED"}});
    assert_eq!(read_error(&google), Some(("RESOURCE_EXHAUSTED".into(), "Resource exhausted.".into())));
    let coded = json!({"error": {"code": 503, "message": "busy"}});
    assert_eq!(read_error(&coded), Some(("503".into(), "busy".into())));
    assert_eq!(
        read_error(&json!({"error": "upstream timed out"})),
        Some(("api_error".into(), "upstream timed out".into()))
    );
    assert_eq!(read_error(&json!({"error": {}})), Some(("api_error".into(), String::new())));
    assert_eq!(read_error(&fixture(include_str!("fixtures/openai/reply_text.json"))), None);
    assert_eq!(read_error(&json!({"error": null, "id": "x"})), None);
    assert_eq!(read_error(&json!([1])), None);

    assert_eq!(
        write_error("rate_limit_error", "Too many requests"),
        json!({"error": {"message": "Too many requests", "type": "rate_limit_error", "param": null, "code": null}})
    );
    assert_eq!(read_error(&write_error("a", "b")), Some(("a".into(), "b".into())));
}
