//! Whole Anthropic replies: read from fixtures shaped as Anthropic's API reference documents
//! them, and written for an Anthropic client from any provider's reply.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use higress_ai::anthropic::{read_error, read_reply, write_reply};
use higress_ai::chat::{FinishReason, Part, Reply};
use higress_ai::Usage;
use serde_json::{json, Value};

const TOOLS: &str = include_str!("fixtures/anthropic/reply_tools.json");
const STOP_SEQUENCE: &str = include_str!("fixtures/anthropic/reply_stop_sequence.json");
const OVERLOADED: &str = include_str!("fixtures/anthropic/error_overloaded.json");

fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

#[test]
fn every_block_is_read_in_order() {
    let reply = read_reply(&parse(TOOLS)).unwrap();
    assert_eq!(reply.id, "msg_01XFDUDYJgAACzvnptvVoYEL");
    assert_eq!(reply.model, "claude-sonnet-4-5-20250929");
    assert_eq!(reply.finish, Some(FinishReason::ToolCalls));
    assert_eq!(reply.created, None);
    assert_eq!(
        reply.parts,
        vec![
            Part::Reasoning {
                text: "Two cities, so two weather calls; they are independent and can run in parallel.".into(),
                signature: Some(
                    "ErUBCkYIAxgCIkDm5ZrqmLTR3Vj9wWxKQ9pBT9cZtC3s8x1z0G5kMoA2hJtXy3bNq8sF7eVd4rPwKz6mYt2cUgX1aLnQ"
                        .into()
                ),
            },
            // Both text blocks (Go kept the last); redacted thinking is dropped.
            Part::Text { text: "I'll check the weather in both cities.".into(), cache: None },
            Part::Text { text: " Starting with Paris, then Berlin.".into(), cache: None },
            Part::ToolCall {
                id: "toolu_01T1x1fJ34qAmk2tNTrN7Up6".into(),
                name: "get_weather".into(),
                arguments: r#"{"city":"Paris","unit":"celsius"}"#.into(),
            },
            Part::ToolCall {
                id: "toolu_01Vb9hXy2PqR5sT8uW3zA6cD".into(),
                name: "get_weather".into(),
                arguments: r#"{"city":"Berlin","unit":"celsius"}"#.into(),
            },
        ]
    );
    let usage = reply.usage;
    assert_eq!((usage.input, usage.output), (Some(472), Some(256)));
    assert_eq!((usage.cache_read, usage.cache_creation), (Some(20480), Some(1024)));
    // OpenAI's prompt_tokens count the cached tokens; Anthropic's input_tokens do not.
    assert_eq!(usage.prompt_tokens(), Some(472 + 20480 + 1024));
    assert_eq!(usage.uncached_input(), Some(472));
}

#[test]
fn stop_sequence_is_kept() {
    let reply = read_reply(&parse(STOP_SEQUENCE)).unwrap();
    assert_eq!(reply.finish, Some(FinishReason::StopSequence(Some("</invoice>".into()))));
    assert_eq!(reply.finish.as_ref().unwrap().to_openai(), "stop");
    assert_eq!(reply.parts, vec![Part::Text { text: "<invoice><number>INV-2024-0042</number>".into(), cache: None }]);
    assert_eq!((reply.usage.cache_read, reply.usage.cache_creation), (Some(0), Some(0)));
    // Written back, it is the same reply.
    assert_eq!(write_reply(&reply), parse(STOP_SEQUENCE));
}

#[test]
fn reply_survives_the_model() {
    let written = write_reply(&read_reply(&parse(TOOLS)).unwrap());
    let mut expected = parse(TOOLS);
    expected["content"].as_array_mut().unwrap().remove(1);
    expected["usage"] = json!({"input_tokens": 472, "output_tokens": 256, "cache_read_input_tokens": 20480, "cache_creation_input_tokens": 1024});
    assert_eq!(written, expected);
}

#[test]
fn error_bodies_are_errors() {
    let err = read_reply(&parse(OVERLOADED)).unwrap_err();
    assert_eq!(err.0, "overloaded_error: Overloaded");
    assert_eq!(read_error(&parse(OVERLOADED)), Some(("overloaded_error".into(), "Overloaded".into())));
    assert_eq!(read_reply(&json!({"type": "message"})).unwrap_err().0, "content: expected an array of content blocks");
    assert_eq!(read_reply(&json!("x")).unwrap_err().0, "reply body: expected a JSON object");
    assert_eq!(
        read_reply(&json!({"content": [{"type": "text", "text": 1}]})).unwrap_err().0,
        "content[0].text: expected a string"
    );
    assert_eq!(read_reply(&json!({"content": [], "stop_reason": 3})).unwrap_err().0, "stop_reason: expected a string");
    let cut = read_reply(&json!({"content": [], "stop_reason": "max_tokens", "stop_sequence": null})).unwrap();
    assert_eq!(cut.finish, Some(FinishReason::Length));
    let done = read_reply(&json!({"content": [], "stop_reason": "end_turn"})).unwrap();
    assert_eq!(done.finish.as_ref().map(FinishReason::to_openai), Some("stop"));
    let refused = read_reply(&json!({"content": [], "stop_reason": "refusal"})).unwrap();
    assert_eq!(refused.finish, Some(FinishReason::ContentFilter));
    assert_eq!(read_reply(&json!({"content": [], "stop_reason": null})).unwrap().finish, None);
    // A block type added to the API later is refused by name, never a trap.
    let unknown = read_reply(&json!({"content": [{"type": "hologram"}]})).unwrap_err();
    assert_eq!(unknown.0, "content[0].type: expected text, image, tool_use, tool_result or thinking");
    // Server-side tool blocks are dropped.
    let server = json!({"content": [
        {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "x"}},
        {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": []},
        {"type": "text", "text": "Found it."}
    ], "stop_reason": "end_turn"});
    let reply = read_reply(&server).unwrap();
    assert_eq!(reply.parts, vec![Part::Text { text: "Found it.".into(), cache: None }]);
    assert_eq!(reply.finish, Some(FinishReason::Stop));
}

/// A reply as the OpenAI adapter reads a chat completion (reasoning without signature,
/// usage whose prompt tokens include the cached ones).
fn openai_reply() -> Reply {
    let mut usage = Usage::default();
    usage.update(&json!({"usage": {"prompt_tokens": 2006, "completion_tokens": 300, "total_tokens": 2306,
        "prompt_tokens_details": {"cached_tokens": 1920}}}));
    Reply {
        id: "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG".into(),
        model: "deepseek-reasoner".into(),
        parts: vec![
            Part::Reasoning { text: "The user greets me.".into(), signature: None },
            Part::Text { text: "Hello!".into(), cache: None },
            Part::Text { text: String::new(), cache: None },
            Part::ToolCall { id: "call_abc".into(), name: "lookup".into(), arguments: r#"{"q":"hi"}"#.into() },
            Part::ToolCall { id: "call_def".into(), name: "broken".into(), arguments: r#"{"q":"#.into() },
        ],
        finish: Some(FinishReason::ToolCalls),
        usage,
        created: Some(1741569952),
    }
}

#[test]
fn any_reply_is_written_as_anthropic() {
    assert_eq!(
        write_reply(&openai_reply()),
        json!({
            "id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
            "type": "message",
            "role": "assistant",
            "model": "deepseek-reasoner",
            "content": [
                {"type": "thinking", "thinking": "The user greets me.", "signature": ""},
                {"type": "text", "text": "Hello!"},
                {"type": "tool_use", "id": "call_abc", "name": "lookup", "input": {"q": "hi"}},
                {"type": "tool_use", "id": "call_def", "name": "broken", "input": {}}
            ],
            "stop_reason": "tool_use",
            "stop_sequence": null,
            // Cached tokens are not input tokens (Go counted them in both).
            "usage": {"input_tokens": 86, "output_tokens": 300, "cache_read_input_tokens": 1920}
        })
    );

    let stop_reasons = [
        (Some(FinishReason::Stop), "end_turn"),
        (Some(FinishReason::Length), "max_tokens"),
        (Some(FinishReason::ContentFilter), "refusal"),
        (Some(FinishReason::Other("pause_turn".into())), "pause_turn"),
        (None, "end_turn"),
    ];
    for (finish, expected) in stop_reasons {
        let reply = Reply { finish, ..Reply::default() };
        let written = write_reply(&reply);
        assert_eq!(written["stop_reason"], json!(expected));
        assert_eq!(written["content"], json!([]));
        assert_eq!(written["usage"], json!({"input_tokens": 0, "output_tokens": 0}));
    }
    // No finish reason after tool calls: the client is told to run them.
    let mut reply = openai_reply();
    reply.finish = None;
    assert_eq!(write_reply(&reply)["stop_reason"], json!("tool_use"));
}
