//! OpenAI's Responses API as a client's protocol and as a provider's: requests (refusing
//! what a stateless gateway cannot serve), whole replies, streams from chat, Anthropic and
//! Gemini providers (split at every byte, every event's shape checked, read back to the same
//! events), a Responses provider's stream for chat clients, errors, and bytes that are no
//! stream at all.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::*;
use higress_ai::chat::{Event, EventSink, FinishReason, ImageSource, Part, Reply, Role, ToolChoice};
use higress_ai::responses::{self, StreamEncoder};
use higress_ai::translate::{self, Protocol};
use higress_ai::Usage;
use higress_sdk::sse::SseParser;
use proptest::prelude::*;
use serde_json::{json, Value};

fn json_fixture(path: &str) -> Value {
    serde_json::from_slice(&fixture(path)).unwrap()
}

/// `actual` is the file at `path` (rewritten instead when `UPDATE_GOLDEN` is set).
fn golden(path: &str, actual: &[u8]) {
    let file = format!("{}/tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&file, actual).unwrap();
    }
    assert_eq!(String::from_utf8_lossy(&fixture(path)), String::from_utf8_lossy(actual), "{path}");
}

// ---------------------------------------------------------------- requests

#[test]
fn a_string_input_is_one_user_turn() {
    let body = json!({"model": "gpt-5", "instructions": "Be brief.", "input": "Hi", "max_output_tokens": 64,
        "temperature": 0, "stream": true, "store": true, "metadata": {"a": "b"}, "truncation": "auto"});
    let request = responses::read_request(&body).unwrap();
    assert_eq!(request.model, "gpt-5");
    assert_eq!(request.system, vec![Part::Text { text: "Be brief.".into(), cache: None }]);
    assert_eq!(request.messages.len(), 1);
    assert_eq!(request.messages[0].role, Role::User);
    assert_eq!(request.messages[0].parts, vec![Part::Text { text: "Hi".into(), cache: None }]);
    assert_eq!((request.params.max_tokens, request.params.temperature.clone()), (Some(64), Some(json!(0))));
    assert!(request.stream);
    let chat = translate::request(Protocol::Responses, Protocol::OpenAi, &body).unwrap();
    assert_eq!(
        chat["messages"],
        json!([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}])
    );
    assert_eq!((chat["max_tokens"].clone(), chat["temperature"].clone()), (json!(64), json!(0)));
    assert_eq!(chat["stream_options"], json!({"include_usage": true}));
}

#[test]
fn an_agents_items_become_the_conversation() {
    let body = json_fixture("responses/request_agent.json");
    let request = responses::read_request(&body).unwrap();
    assert_eq!(
        request.system,
        vec![
            Part::Text { text: "You are a coding agent running in a terminal.".into(), cache: None },
            Part::Text { text: "Sandbox: workspace-write.".into(), cache: None },
        ]
    );
    let roles: Vec<Role> = request.messages.iter().map(|m| m.role).collect();
    assert_eq!(roles, [Role::User, Role::Assistant, Role::User, Role::Assistant, Role::User]);
    let user = &request.messages[0].parts;
    assert!(
        matches!(&user[1], Part::Image { source: ImageSource::Base64 { media_type, .. }, .. } if media_type == "image/png")
    );
    assert!(matches!(&user[2], Part::Image { source: ImageSource::Url(url), .. } if url.ends_with(".jpg")));
    // Reasoning, text and both calls are one assistant turn; the signature rides along.
    let assistant = &request.messages[1].parts;
    assert_eq!(assistant.len(), 4);
    assert!(matches!(&assistant[0], Part::Reasoning { text, signature: Some(s) }
        if text == "Two cities, so two weather calls." && s.starts_with("ErUB")));
    assert!(matches!(&assistant[2], Part::ToolCall { id, name, arguments }
        if id == "call_Dg8sQ7y2Hn1kVb4Rj0pL3xWe" && name == "get_weather" && arguments == r#"{"city":"Paris"}"#));
    // Both outputs are one turn of tool results.
    let results = &request.messages[2].parts;
    assert_eq!(results.len(), 2);
    assert!(matches!(&results[1], Part::ToolResult { call_id, content, .. }
        if call_id == "call_5TzNq9Ka2Lm7Pw3Ys8Xc1Vb0" && content.len() == 1));
    assert_eq!(
        request.messages[3].parts,
        vec![Part::Text { text: "Paris: 18 °C, cloudy. Tokyo: 24 °C, sunny.".into(), cache: None }]
    );
    assert_eq!(request.tools.len(), 2);
    assert_eq!(request.tools[1].parameters, json!({"type": "object", "properties": {}}), "no schema: no parameters");
    assert_eq!(request.tool_choice, Some(ToolChoice::Auto));
    let params = &request.params;
    assert_eq!(params.reasoning.as_ref().and_then(|r| r.effort.as_deref()), Some("high"));
    assert_eq!(
        (params.max_tokens, params.parallel_tool_calls, params.user.as_deref()),
        (Some(2048), Some(true), Some("alice"))
    );

    // To Claude: the signed reasoning is a thinking block, calls and results pair up.
    let claude = translate::request(Protocol::Responses, Protocol::Anthropic, &body).unwrap();
    let messages = claude["messages"].as_array().unwrap();
    assert_eq!(messages[1]["content"][0]["type"], "thinking");
    assert_eq!(messages[1]["content"][0]["signature"], body["input"][2]["encrypted_content"]);
    assert_eq!(messages[1]["content"][2]["type"], "tool_use");
    assert_eq!(messages[2]["content"][0]["type"], "tool_result");
    assert_eq!(messages[2]["content"][0]["tool_use_id"], "call_Dg8sQ7y2Hn1kVb4Rj0pL3xWe");
    // Effort high is Higress's high budget, within max_output_tokens.
    assert_eq!(claude["thinking"], json!({"type": "enabled", "budget_tokens": 2047}));
    assert_eq!(claude["max_tokens"], json!(2048));

    // To a chat provider: one system message, tool messages after the calls.
    let chat = translate::request(Protocol::Responses, Protocol::OpenAi, &body).unwrap();
    let messages = chat["messages"].as_array().unwrap();
    assert_eq!(messages[0]["content"], "You are a coding agent running in a terminal.\n\nSandbox: workspace-write.");
    assert_eq!(messages[2]["tool_calls"].as_array().unwrap().len(), 2);
    assert_eq!(messages[3]["role"], "tool");
    assert_eq!(messages[4]["content"], r#"{"temperature":24,"condition":"sunny"}"#);
    assert_eq!(chat["reasoning_effort"], "high");
    assert_eq!(chat["tools"][0]["function"]["name"], "get_weather");
    assert_eq!(chat["tool_choice"], "auto");

    // Written back as a Responses request, it reads as the same conversation.
    let written = responses::write_request(&request);
    assert_eq!(written["store"], json!(false));
    assert_eq!(written["include"], json!(["reasoning.encrypted_content"]));
    assert_eq!(written["tools"][0]["name"], "get_weather", "flat function tools");
    let again = responses::read_request(&written).unwrap();
    assert_eq!(again.messages, request.messages);
    assert_eq!(again.tools, request.tools);
    assert_eq!((again.tool_choice, again.stream), (request.tool_choice.clone(), true));
    assert_eq!(
        again.system,
        vec![Part::Text {
            text: "You are a coding agent running in a terminal.\n\nSandbox: workspace-write.".into(),
            cache: None
        }]
    );
}

#[test]
fn tool_choice_and_reasoning() {
    let base = |extra: Value| {
        let mut body = json!({"model": "m", "input": [{"role": "user", "content": "x"}],
            "tools": [{"type": "function", "name": "f", "parameters": {"type": "object"}}]});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        body
    };
    let choice = |value: Value| responses::read_request(&base(json!({"tool_choice": value}))).unwrap().tool_choice;
    assert_eq!(choice(json!("none")), Some(ToolChoice::None));
    assert_eq!(choice(json!("required")), Some(ToolChoice::Required));
    assert_eq!(choice(json!({"type": "function", "name": "f"})), Some(ToolChoice::Tool("f".into())));
    let chat = translate::request(
        Protocol::Responses,
        Protocol::OpenAi,
        &base(json!({"tool_choice": {"type": "function", "name": "f"}})),
    )
    .unwrap();
    assert_eq!(chat["tool_choice"], json!({"type": "function", "function": {"name": "f"}}));
    let claude =
        translate::request(Protocol::Responses, Protocol::Anthropic, &base(json!({"tool_choice": "required"})))
            .unwrap();
    assert_eq!(claude["tool_choice"], json!({"type": "any"}));
    let none = responses::read_request(&base(json!({"reasoning": {"effort": "none"}}))).unwrap();
    assert_eq!(none.params.reasoning, None, "effort none asks for no reasoning");
    let low =
        translate::request(Protocol::Responses, Protocol::Anthropic, &base(json!({"reasoning": {"effort": "low"}})))
            .unwrap();
    assert_eq!(low["thinking"], json!({"type": "enabled", "budget_tokens": 1024}));
    // A chat request's parameters reach a Responses provider.
    let chat = json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "reasoning_effort": "low",
        "max_completion_tokens": 9, "top_p": 0.5, "tool_choice": "required", "parallel_tool_calls": false,
        "tools": [{"type": "function", "function": {"name": "f"}}], "stop": ["END"], "user": "u"});
    let written = translate::request(Protocol::OpenAi, Protocol::Responses, &chat).unwrap();
    assert_eq!(
        written,
        json!({"model": "m", "input": [{"type": "message", "role": "user", "content": [{"type": "input_text", "text": "x"}]}],
            "tools": [{"type": "function", "name": "f", "parameters": {"type": "object", "properties": {}}}],
            "tool_choice": "required", "parallel_tool_calls": false, "max_output_tokens": 9, "top_p": 0.5,
            "reasoning": {"effort": "low"}, "include": ["reasoning.encrypted_content"], "user": "u", "store": false})
    );
}

#[test]
fn what_a_stateless_gateway_cannot_serve_is_refused() {
    let refused = |body: Value| responses::read_request(&body).unwrap_err().0;
    let input = json!([{"role": "user", "content": "x"}]);
    let expect = [
        (
            json!({"model": "m", "input": input, "previous_response_id": "resp_1"}),
            "previous_response_id: expected absent",
        ),
        (json!({"model": "m", "input": input, "conversation": "conv_1"}), "conversation: expected absent"),
        (json!({"model": "m", "input": input, "prompt": {"id": "pmpt_1"}}), "prompt: expected absent"),
        (json!({"model": "m", "input": input, "background": true}), "background: expected false"),
        (
            json!({"model": "m", "input": input, "tools": [{"type": "function", "name": "f"}, {"type": "web_search"}]}),
            "tools[1].type: expected function",
        ),
        (
            json!({"model": "m", "input": input, "tools": [{"type": "file_search", "vector_store_ids": ["vs"]}]}),
            "tools[0].type: expected function",
        ),
        (
            json!({"model": "m", "input": input, "tool_choice": {"type": "web_search_preview"}}),
            "tool_choice.type: expected function",
        ),
        (
            json!({"model": "m", "input": [{"type": "item_reference", "id": "msg_1"}]}),
            "input[0].type: expected an item given whole",
        ),
        (
            json!({"model": "m", "input": [{"type": "web_search_call", "id": "ws_1"}]}),
            "input[0].type: expected message",
        ),
        (
            json!({"model": "m", "input": [{"role": "user", "content": [{"type": "input_file", "file_id": "file-1"}]}]}),
            "input[0].content[0].type: expected input_text or input_image",
        ),
        (
            json!({"model": "m", "input": [{"role": "user", "content": [{"type": "input_image", "file_id": "file-1", "detail": "auto"}]}]}),
            "input[0].content[0].file_id: expected absent",
        ),
        (
            json!({"model": "m", "input": [{"role": "system", "content": [{"type": "input_image", "image_url": "https://x/y.png"}]}]}),
            "input[0].content[0].type: expected input_text",
        ),
        (
            json!({"model": "m", "input": [{"role": "tool", "content": "x"}]}),
            "input[0].role: expected user, assistant, system or developer",
        ),
        (
            json!({"model": "m", "input": [{"type": "function_call", "name": "f"}]}),
            "input[0].call_id: expected a string",
        ),
        (
            json!({"model": "m", "input": [{"type": "function_call_output", "call_id": "c"}]}),
            "input[0].output: expected a string or an array",
        ),
        (json!({"model": "m", "input": [{"content": "x"}]}), "input[0].type: expected an input item type"),
        (json!({"model": "m", "input": 3}), "input: expected a string or an array of input items"),
        (
            json!({"model": "m", "input": input, "text": {"format": {"name": "x"}}}),
            "text.format.type: expected a string",
        ),
        (json!([]), "body: expected an object"),
    ];
    for (body, message) in expect {
        let error = refused(body.clone());
        assert!(error.starts_with(message), "{body}: {error}");
    }
    // Through the translator too (the client gets a 400 naming the field).
    let error =
        translate::request(Protocol::Responses, Protocol::OpenAi, &json!({"input": "x", "previous_response_id": "r"}));
    assert!(error.unwrap_err().0.starts_with("previous_response_id"));
}

// ---------------------------------------------------------------- replies

/// `parts` with consecutive texts joined (one message item holds them).
fn joined(parts: Vec<Part>) -> Vec<Part> {
    let mut out: Vec<Part> = Vec::new();
    for part in parts {
        match (out.last_mut(), part) {
            (Some(Part::Text { text, .. }), Part::Text { text: more, .. }) => text.push_str(&more),
            (_, part) => out.push(part),
        }
    }
    out
}

#[test]
fn a_chat_reply_is_a_response() {
    let reply =
        translate::reply(Protocol::OpenAi, Protocol::Responses, &json_fixture("openai/reply_text.json")).unwrap();
    assert_eq!(reply["id"], "resp_chatcmpl-CbWq0kC9vXh2y3o4Rr5Nn6Mm7Ll8K");
    assert_eq!((reply["object"].clone(), reply["status"].clone()), (json!("response"), json!("completed")));
    assert_eq!(reply["created_at"], 1741569952);
    assert_eq!(
        reply["output"],
        json!([{"id": "msg_chatcmpl-CbWq0kC9vXh2y3o4Rr5Nn6Mm7Ll8K_0", "type": "message", "status": "completed", "role": "assistant",
            "content": [{"type": "output_text", "text": "Tokyo is warmer: 24 °C against 18 °C in Paris.", "annotations": []}]}])
    );
    assert_eq!(
        reply["usage"],
        json!({"input_tokens": 19, "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0}, "output_tokens": 10,
            "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 29})
    );
    for (key, value) in [
        ("tools", json!([])),
        ("tool_choice", json!("auto")),
        ("parallel_tool_calls", json!(true)),
        ("incomplete_details", Value::Null),
        ("error", Value::Null),
    ] {
        assert_eq!(reply[key], value, "{key}");
    }
    assert_eq!(
        responses::read_reply(&reply).unwrap().parts,
        vec![Part::Text { text: "Tokyo is warmer: 24 °C against 18 °C in Paris.".into(), cache: None }]
    );
}

#[test]
fn claudes_tool_calls_and_thinking_are_items() {
    let body = json_fixture("anthropic/reply_tools.json");
    let reply = translate::reply(Protocol::Anthropic, Protocol::Responses, &body).unwrap();
    golden("responses/reply_from_anthropic.json", serde_json::to_string_pretty(&reply).unwrap().as_bytes());
    let types: Vec<&str> = reply["output"].as_array().unwrap().iter().map(|i| i["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["reasoning", "message", "function_call", "function_call"]);
    assert_eq!(reply["output"][0]["summary"][0]["text"], body["content"][0]["thinking"]);
    assert_eq!(reply["output"][0]["encrypted_content"], body["content"][0]["signature"]);
    assert_eq!(
        reply["output"][1]["content"][0]["text"],
        "I'll check the weather in both cities. Starting with Paris, then Berlin."
    );
    assert_eq!(reply["output"][2]["call_id"], "toolu_01T1x1fJ34qAmk2tNTrN7Up6");
    assert_eq!(
        serde_json::from_str::<Value>(reply["output"][3]["arguments"].as_str().unwrap()).unwrap(),
        json!({"city": "Berlin", "unit": "celsius"})
    );
    assert_eq!(reply["status"], "completed");
    // OpenAI counts cached prompt tokens within input_tokens.
    assert_eq!(reply["usage"]["input_tokens"], 472 + 1024 + 20480);
    assert_eq!(reply["usage"]["input_tokens_details"], json!({"cached_tokens": 20480, "cache_write_tokens": 1024}));
    // Read back, it is Claude's reply (but for the redacted thinking, which no one else can use).
    let back = responses::read_reply(&reply).unwrap();
    let claude = higress_ai::anthropic::read_reply(&body).unwrap();
    assert_eq!(back.parts, joined(claude.parts), "consecutive texts are one message");
    assert_eq!(back.finish, Some(FinishReason::ToolCalls));
    assert_eq!(back.usage.total_tokens(), claude.usage.total_tokens());
}

#[test]
fn the_token_limit_and_a_filter_leave_a_response_incomplete() {
    for (reason, expected) in [("length", "max_output_tokens"), ("content_filter", "content_filter")] {
        let chat = json!({"id": "c", "object": "chat.completion", "created": 1, "model": "m",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Once upon a"}, "finish_reason": reason}]});
        let reply = translate::reply(Protocol::OpenAi, Protocol::Responses, &chat).unwrap();
        assert_eq!(reply["status"], "incomplete");
        assert_eq!(reply["incomplete_details"], json!({"reason": expected}));
        let back = translate::reply(Protocol::Responses, Protocol::OpenAi, &reply).unwrap();
        assert_eq!(back["choices"][0]["finish_reason"], reason);
        assert_eq!(back["choices"][0]["message"]["content"], "Once upon a");
    }
}

#[test]
fn a_responses_reply_reaches_chat_clients() {
    let body = json_fixture("responses/reply_tools.json");
    let reply = responses::read_reply(&body).unwrap();
    assert_eq!(reply.id, "resp_68b2f0c1d2e3f4a5b6c7d8e9f0a1b2c3");
    assert_eq!(reply.created, Some(1756540000));
    assert_eq!(reply.finish, Some(FinishReason::ToolCalls));
    assert!(matches!(&reply.parts[0], Part::Reasoning { text, signature: Some(s) }
        if text == "**Planning the weather lookups**\n\nTwo cities: one call each.\n\n**Running them in parallel**" && s.starts_with("gAAAA")));
    // The hosted web search ran at OpenAI: not a call for the client.
    let calls: Vec<&str> = reply
        .parts
        .iter()
        .filter_map(|p| if let Part::ToolCall { id, .. } = p { Some(id.as_str()) } else { None })
        .collect();
    assert_eq!(calls, ["call_Dg8sQ7y2Hn1kVb4Rj0pL3xWe", "call_5TzNq9Ka2Lm7Pw3Ys8Xc1Vb0"]);
    assert_eq!(
        (reply.usage.prompt_tokens(), reply.usage.cache_read, reply.usage.reasoning),
        (Some(1117), Some(1024), Some(192))
    );
    let chat = translate::reply(Protocol::Responses, Protocol::OpenAi, &body).unwrap();
    assert_eq!(chat["choices"][0]["finish_reason"], "tool_calls");
    assert_eq!(chat["choices"][0]["message"]["content"], "Checking Paris and Tokyo.");
    assert_eq!(chat["usage"]["prompt_tokens_details"]["cached_tokens"], 1024);
    let claude = translate::reply(Protocol::Responses, Protocol::Anthropic, &body).unwrap();
    assert_eq!(claude["stop_reason"], "tool_use");
    assert_eq!(claude["content"][0]["type"], "thinking");
    assert_eq!(claude["usage"]["input_tokens"], 1117 - 1024);
    // A failed response and an error body are errors, not empty replies.
    let failed = json!({"id": "resp_1", "object": "response", "status": "failed", "output": [],
        "error": {"code": "server_error", "message": "The model crashed."}});
    assert!(responses::read_reply(&failed).unwrap_err().0.contains("The model crashed."));
    let error =
        json!({"error": {"message": "No such model", "type": "invalid_request_error", "param": "model", "code": null}});
    assert_eq!(responses::read_reply(&error).unwrap_err().0, "error: invalid_request_error: No such model");
    assert!(responses::read_reply(&json!({"output": [{"type": 1}]})).unwrap_err().0.starts_with("output[0].type"));
}

#[test]
fn errors_are_openais() {
    let overloaded = br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
    let error = translate::error(Protocol::Anthropic, Protocol::Responses, 529, overloaded);
    assert_eq!(
        error,
        json!({"error": {"message": "Overloaded", "type": "overloaded_error", "param": null, "code": null}})
    );
    assert_eq!(translate::error(Protocol::Gemini, Protocol::Responses, 429, b"")["error"]["type"], "rate_limit_error");
    let openai = br#"{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}"#;
    let claude = translate::error(Protocol::Responses, Protocol::Anthropic, 429, openai);
    assert_eq!(claude["error"], json!({"type": "rate_limit_error", "message": "Rate limit reached"}));
    assert_eq!(
        Protocol::Responses.read_error(&responses::write_error("api_error", "x")),
        Some(("api_error".into(), "x".into()))
    );
}

// ---------------------------------------------------------------- streams

/// Checks `stream` is a Responses stream as the SDKs accumulate it, and returns each event's
/// data: `event:` names the data's `type`; sequence numbers count from 0; `response.created`
/// and `response.in_progress` first; items added in `output_index` order one at a time, each
/// event of an item naming its id and index, every `.done` repeating what the deltas said;
/// the last event `response.completed`, `.incomplete` or `.failed`, whose output is the
/// items done; no `[DONE]`.
fn check_stream(stream: &[u8]) -> Vec<Value> {
    let text = String::from_utf8(stream.to_vec()).unwrap();
    assert!(!text.contains("[DONE]"), "no [DONE] in a Responses stream");
    let mut parser = SseParser::new();
    let events = parser.feed(stream);
    assert!(parser.pending().is_empty(), "the stream ends with a whole event");
    let mut datas = Vec::new();
    // The open item: (output_index, id, type, text or arguments so far, summary part open).
    let mut open: Option<(u64, String, String, String, bool)> = None;
    let mut done: Vec<Value> = Vec::new();
    let mut terminal = false;
    let mut id = String::new();
    for (n, event) in events.iter().enumerate() {
        assert!(!terminal, "nothing after the terminal event: {event:?}");
        let data: Value = serde_json::from_str(event.data.as_deref().unwrap()).unwrap();
        let kind = data["type"].as_str().unwrap().to_string();
        assert_eq!(event.event.as_deref(), Some(kind.as_str()));
        assert_eq!(data["sequence_number"], json!(n), "{kind}");
        let item_of = |data: &Value, open: &Option<(u64, String, String, String, bool)>| {
            let (index, id, kind, _, _) = open.as_ref().expect("an open item");
            assert_eq!(data["output_index"], json!(index), "{data}");
            if data.get("item_id").is_some() {
                assert_eq!(data["item_id"], json!(id), "{data}");
            }
            kind.clone()
        };
        match kind.as_str() {
            "response.created" | "response.in_progress" => {
                assert_eq!(n, usize::from(kind == "response.in_progress"));
                check_response(&data["response"], "in_progress");
                id = data["response"]["id"].as_str().unwrap().to_string();
            }
            "response.output_item.added" => {
                assert!(open.is_none(), "one item at a time");
                assert_eq!(data["output_index"], json!(done.len()));
                let item = &data["item"];
                let item_kind = item["type"].as_str().unwrap();
                match item_kind {
                    "message" => assert_eq!(
                        (item["status"].clone(), item["content"].clone(), item["role"].clone()),
                        (json!("in_progress"), json!([]), json!("assistant"))
                    ),
                    "reasoning" => assert_eq!(item["summary"], json!([])),
                    "function_call" => {
                        assert_eq!(
                            (item["status"].clone(), item["arguments"].clone()),
                            (json!("in_progress"), json!(""))
                        );
                        assert!(!item["call_id"].as_str().unwrap().is_empty() && item["name"].is_string());
                    }
                    other => panic!("item type {other}"),
                }
                open = Some((
                    done.len() as u64,
                    item["id"].as_str().unwrap().to_string(),
                    item_kind.to_string(),
                    String::new(),
                    false,
                ));
            }
            "response.content_part.added" => {
                assert_eq!(item_of(&data, &open), "message");
                assert_eq!(
                    (data["content_index"].clone(), data["part"].clone()),
                    (json!(0), json!({"type": "output_text", "text": "", "annotations": []}))
                );
            }
            "response.output_text.delta" => {
                assert_eq!(item_of(&data, &open), "message");
                assert_eq!((data["content_index"].clone(), data["logprobs"].clone()), (json!(0), json!([])));
                open.as_mut().unwrap().3.push_str(data["delta"].as_str().unwrap());
            }
            "response.output_text.done" | "response.content_part.done" => {
                assert_eq!(item_of(&data, &open), "message");
                let text = &open.as_ref().unwrap().3;
                let said = if kind == "response.output_text.done" { &data["text"] } else { &data["part"]["text"] };
                assert_eq!(said, &json!(text));
            }
            "response.reasoning_summary_part.added" => {
                assert_eq!(item_of(&data, &open), "reasoning");
                assert_eq!(
                    (data["summary_index"].clone(), data["part"].clone()),
                    (json!(0), json!({"type": "summary_text", "text": ""}))
                );
                open.as_mut().unwrap().4 = true;
            }
            "response.reasoning_summary_text.delta" => {
                assert_eq!(item_of(&data, &open), "reasoning");
                assert!(open.as_ref().unwrap().4, "the summary part is open");
                open.as_mut().unwrap().3.push_str(data["delta"].as_str().unwrap());
            }
            "response.reasoning_summary_text.done" | "response.reasoning_summary_part.done" => {
                assert_eq!(item_of(&data, &open), "reasoning");
                let text = &open.as_ref().unwrap().3;
                let said = if kind.ends_with("text.done") { &data["text"] } else { &data["part"]["text"] };
                assert_eq!(said, &json!(text));
            }
            "response.function_call_arguments.delta" => {
                assert_eq!(item_of(&data, &open), "function_call");
                open.as_mut().unwrap().3.push_str(data["delta"].as_str().unwrap());
            }
            "response.function_call_arguments.done" => {
                assert_eq!(item_of(&data, &open), "function_call");
                let arguments = data["arguments"].as_str().unwrap();
                let streamed = &open.as_ref().unwrap().3;
                assert!(arguments == streamed || (streamed.is_empty() && arguments == "{}"), "{arguments} {streamed}");
            }
            "response.output_item.done" => {
                let item_kind = item_of(&data, &open);
                let (_, item_id, _, so_far, _) = open.take().unwrap();
                let item = &data["item"];
                assert_eq!(
                    (item["id"].as_str().unwrap(), item["type"].as_str().unwrap()),
                    (item_id.as_str(), item_kind.as_str())
                );
                match item_kind.as_str() {
                    "message" => {
                        assert_eq!(item["content"], json!([{"type": "output_text", "text": so_far, "annotations": []}]))
                    }
                    "reasoning" => {
                        let summary = if so_far.is_empty() {
                            json!([])
                        } else {
                            json!([{"type": "summary_text", "text": so_far}])
                        };
                        assert_eq!(item["summary"], summary);
                    }
                    _ => assert!(item["arguments"] == json!(so_far) || so_far.is_empty()),
                }
                if item_kind != "reasoning" {
                    assert_eq!(item["status"], "completed");
                }
                done.push(item.clone());
            }
            "error" => {
                assert!(data["code"].is_string() && data["message"].is_string() && data["param"].is_null());
            }
            "response.completed" | "response.incomplete" | "response.failed" => {
                terminal = true;
                let status = kind.trim_start_matches("response.");
                check_response(&data["response"], if status == "completed" { "completed" } else { status });
                assert_eq!(data["response"]["id"], json!(id), "one id for the whole stream");
                let output = data["response"]["output"].as_array().unwrap();
                if status == "failed" {
                    assert_eq!(&output[..done.len()], &done[..]);
                    assert!(events[n - 1].event.as_deref() == Some("error"), "an error event before");
                } else {
                    assert!(open.is_none(), "every item closed");
                    assert_eq!(output, &done);
                }
            }
            other => panic!("unexpected event {other}"),
        }
        datas.push(data);
    }
    assert!(terminal, "the stream ends with its response");
    datas
}

/// The fields the SDK's `Response` requires, and `status`.
fn check_response(response: &Value, status: &str) {
    assert!(response["id"].as_str().unwrap().starts_with("resp_"), "{response}");
    assert_eq!((response["object"].as_str(), response["status"].as_str()), (Some("response"), Some(status)));
    assert!(response["created_at"].is_u64() && response["model"].is_string() && response["output"].is_array());
    assert!(
        response["parallel_tool_calls"].is_boolean()
            && response["tools"].is_array()
            && response["tool_choice"].is_string()
    );
    if status == "incomplete" {
        assert!(response["incomplete_details"]["reason"].is_string());
    }
    if status == "failed" {
        assert!(response["error"]["code"].is_string() && response["error"]["message"].is_string());
    }
    if !response["usage"].is_null() {
        for key in ["input_tokens", "output_tokens", "total_tokens"] {
            assert!(response["usage"][key].is_u64(), "{key}");
        }
        assert!(response["usage"]["input_tokens_details"]["cached_tokens"].is_u64());
        assert!(response["usage"]["output_tokens_details"]["reasoning_tokens"].is_u64());
    }
}

/// What the events say, as a Responses stream can say it: usage reports merged into one (its
/// counts compared as OpenAI counts them), a stop sequence as a stop, the reply's id as the
/// response's.
fn said(events: &[Event]) -> (Vec<Event>, [Option<u64>; 5]) {
    let mut usage = Usage::default();
    let mut out = Vec::new();
    for event in events {
        match event {
            Event::Usage(more) => usage.merge(more),
            Event::Start { id, model } if !id.starts_with("resp_") => {
                out.push(Event::Start { id: format!("resp_{id}"), model: model.clone() });
            }
            Event::Finish(FinishReason::StopSequence(_)) => out.push(Event::Finish(FinishReason::Stop)),
            other => out.push(other.clone()),
        }
    }
    // A response always says its reasoning tokens (0 when the provider did not).
    (
        out,
        [
            usage.prompt_tokens(),
            usage.output,
            usage.cache_read,
            Some(usage.reasoning.unwrap_or(0)),
            Some(usage.total_tokens()),
        ],
    )
}

const PROVIDERS: [(Protocol, &str); 3] = [
    (Protocol::OpenAi, "openai/stream.sse"),
    (Protocol::Anthropic, "anthropic/stream_tools.sse"),
    (Protocol::Gemini, "gemini/stream_tools.sse"),
];

#[test]
fn provider_streams_reach_a_responses_client() {
    for (from, path) in PROVIDERS {
        let source = fixture(path);
        let whole = translate_split(from, Protocol::Responses, &source, &[]);
        let name = path.split('/').next().unwrap();
        golden(&format!("responses/from_{name}.sse"), &whole);
        check_stream(&whole);
        // Read back, the client hears what the provider said.
        let heard = client_events(Protocol::Responses, &whole);
        assert_eq!(said(&heard), said(&client_events(from, &source)), "{path}");
        // Split at every byte, the same bytes.
        for cut in 0..=source.len() {
            assert_eq!(translate_split(from, Protocol::Responses, &source, &[cut]), whole, "{path} cut at {cut}");
        }
        let crlf = String::from_utf8(source.clone()).unwrap().replace("\r\n", "\n").replace('\n', "\r\n");
        assert_eq!(translate_split(from, Protocol::Responses, crlf.as_bytes(), &[]), whole, "{path} with CRLF");
    }
}

#[test]
fn a_streamed_response_is_the_whole_reply() {
    // What response.completed carries is what write_reply makes of the same reply.
    let whole = translate_split(Protocol::Anthropic, Protocol::Responses, &fixture("anthropic/stream_tools.sse"), &[]);
    let datas = check_stream(&whole);
    let completed = &datas.last().unwrap()["response"];
    let events = client_events(Protocol::Anthropic, &fixture("anthropic/stream_tools.sse"));
    let mut reply = Reply { created: Some(CREATED), finish: Some(FinishReason::ToolCalls), ..Reply::default() };
    for event in events {
        match event {
            Event::Start { id, model } => (reply.id, reply.model) = (id, model),
            Event::Reasoning(more) => match reply.parts.last_mut() {
                Some(Part::Reasoning { text, signature: None }) => text.push_str(&more),
                _ => reply.parts.push(Part::Reasoning { text: more, signature: None }),
            },
            Event::ReasoningSignature(s) => {
                if let Some(Part::Reasoning { signature, .. }) = reply.parts.last_mut() {
                    *signature = Some(s);
                }
            }
            Event::Text(text) => reply.parts.push(Part::Text { text, cache: None }),
            Event::ToolCall { id, name, .. } => reply.parts.push(Part::ToolCall { id, name, arguments: String::new() }),
            Event::ToolArguments { json, .. } => {
                if let Some(Part::ToolCall { arguments, .. }) = reply.parts.last_mut() {
                    arguments.push_str(&json);
                }
            }
            Event::Usage(usage) => reply.usage.merge(&usage),
            _ => {}
        }
    }
    assert_eq!(completed, &responses::write_reply(&reply));
}

#[test]
fn a_responses_stream_reaches_chat_clients() {
    let source = fixture("responses/stream_tools.sse");
    let events = client_events(Protocol::Responses, &source);
    let mut usage = Usage::default();
    usage.update(&json!({"usage": {"input_tokens": 1117, "input_tokens_details": {"cached_tokens": 1024},
        "output_tokens": 246, "output_tokens_details": {"reasoning_tokens": 192}, "total_tokens": 1363}}));
    let signature = "gAAAAABosvDCk3lQ8yZ9m2Vx7tN4pR6sL1qH0jK5wE8uY3iO2aD7fG9hJ6kL4zX1cV5bN8mQ0wE3rT6yU9iO2pA5sD8fG1hJ4kL7zX0cV3bN6mQ9wE2rT5yU8iO1p==";
    assert_eq!(
        events,
        vec![
            Event::Start { id: "resp_68b2f0c1d2e3f4a5b6c7d8e9f0a1b2c3".into(), model: "gpt-5-2025-08-07".into() },
            Event::Reasoning("**Planning the weather lookups**\n\n".into()),
            Event::Reasoning("Two cities: ".into()),
            Event::Reasoning("one call each.".into()),
            // Summary parts are paragraphs.
            Event::Reasoning("\n\n".into()),
            Event::Reasoning("**Running them in parallel**".into()),
            Event::ReasoningSignature(signature.into()),
            Event::Text("Checking ".into()),
            Event::Text("Paris — “and” ".into()),
            Event::Text("Tokyo.".into()),
            Event::ToolCall { index: 0, id: "call_Dg8sQ7y2Hn1kVb4Rj0pL3xWe".into(), name: "get_weather".into() },
            Event::ToolArguments { index: 0, json: "{\"city\":".into() },
            Event::ToolArguments { index: 0, json: "\"Paris\"}".into() },
            Event::ToolCall { index: 1, id: "call_5TzNq9Ka2Lm7Pw3Ys8Xc1Vb0".into(), name: "get_weather".into() },
            Event::ToolArguments { index: 1, json: "{\"city\":\"Tokyo\"}".into() },
            Event::Finish(FinishReason::ToolCalls),
            Event::Usage(usage),
        ]
    );
    for to in [Protocol::OpenAi, Protocol::Anthropic, Protocol::Gemini, Protocol::Responses] {
        let whole = translate_split(Protocol::Responses, to, &source, &[]);
        let heard = client_events(to, &whole);
        assert_eq!(text_of(&heard), "Checking Paris — “and” Tokyo.", "{to:?}");
        assert_eq!(heard.iter().filter(|e| matches!(e, Event::ToolCall { .. })).count(), 2, "{to:?}");
        for cut in (0..=source.len()).step_by(7) {
            assert_eq!(translate_split(Protocol::Responses, to, &source, &[cut]), whole, "{to:?} cut at {cut}");
        }
    }
    // Claude gets the reasoning with its signature, as a thinking block.
    let claude = String::from_utf8(translate_split(Protocol::Responses, Protocol::Anthropic, &source, &[])).unwrap();
    assert!(claude.contains("\"type\":\"signature_delta\""), "{claude}");
    let chat = String::from_utf8(translate_split(Protocol::Responses, Protocol::OpenAi, &source, &[])).unwrap();
    assert!(chat.contains("\"finish_reason\":\"tool_calls\"") && chat.ends_with("data: [DONE]\n\n"));
    assert!(chat.contains("\"prompt_tokens\":1117"));
}

#[test]
fn a_provider_error_fails_the_response() {
    let out = translate_split(Protocol::Anthropic, Protocol::Responses, &fixture("anthropic/stream_error.sse"), &[]);
    golden("responses/from_anthropic_error.sse", &out);
    let datas = check_stream(&out);
    let n = datas.len();
    assert_eq!(datas[n - 2]["type"], "error");
    assert_eq!(datas[n - 2]["code"], "overloaded_error");
    let failed = &datas[n - 1]["response"];
    assert_eq!(failed["error"], json!({"code": "server_error", "message": "Overloaded", "type": "overloaded_error"}));
    // The text so far is kept, as an incomplete message.
    assert_eq!(failed["output"][0]["status"], "incomplete");
    assert_eq!(failed["output"][0]["content"][0]["text"], "Hel");
    // Read back: the error, once.
    let events = client_events(Protocol::Responses, &out);
    let errors: Vec<&Event> = events.iter().filter(|e| matches!(e, Event::Error { .. })).collect();
    assert_eq!(errors, [&Event::Error { kind: "overloaded_error".into(), message: "Overloaded".into() }]);
    // A Responses provider's failure reaches a chat client as its error.
    let failed = b"event: response.failed\ndata: {\"type\":\"response.failed\",\"sequence_number\":3,\"response\":{\"id\":\"resp_1\",\"status\":\"failed\",\"error\":{\"code\":\"rate_limit_exceeded\",\"message\":\"Slow down\"},\"output\":[]}}\n\n";
    let chat = translate_split(Protocol::Responses, Protocol::OpenAi, failed, &[]);
    let events = client_events(Protocol::OpenAi, &chat);
    assert!(
        events.contains(&Event::Error { kind: "rate_limit_exceeded".into(), message: "Slow down".into() }),
        "{events:?}"
    );
    let garbage = translate_split(Protocol::Responses, Protocol::OpenAi, b"data: {not json\n\n", &[]);
    assert!(String::from_utf8(garbage).unwrap().contains("malformed upstream event"));
}

/// Writes `events` with a new encoder, then ends the stream.
fn encode(events: impl IntoIterator<Item = Event>) -> Vec<u8> {
    let mut encoder = StreamEncoder::new(CREATED);
    let mut out = Vec::new();
    for event in events {
        encoder.event(event, &mut out);
    }
    encoder.finish(&mut out);
    encoder.finish(&mut out);
    out
}

#[test]
fn encoder_edges() {
    // The token limit: incomplete, with why.
    let out = encode([
        Event::Start { id: "chatcmpl-7".into(), model: "gpt-4o".into() },
        Event::Text("Once upon a".into()),
        Event::Finish(FinishReason::Length),
        Event::Usage({
            let mut usage = Usage::default();
            (usage.input, usage.output) = (Some(5), Some(3));
            usage
        }),
    ]);
    golden("responses/incomplete.sse", &out);
    let datas = check_stream(&out);
    let last = datas.last().unwrap();
    assert_eq!(last["type"], "response.incomplete");
    assert_eq!(last["response"]["incomplete_details"], json!({"reason": "max_output_tokens"}));
    assert_eq!(said(&client_events(Protocol::Responses, &out)).0.last(), Some(&Event::Finish(FinishReason::Length)));

    // Nothing at all: still a whole, empty response; an id from the clock.
    let datas = check_stream(&encode([]));
    assert_eq!(datas.len(), 3);
    assert_eq!(datas[2]["response"]["id"], format!("resp_{CREATED}"));

    // Parallel calls whose arguments interleave: the second is held and written whole; a
    // provider without call ids gets ids; arguments of a closed call are dropped.
    let out = encode([
        Event::ToolCall { index: 0, id: String::new(), name: "a".into() },
        Event::ToolArguments { index: 0, json: "{\"x\":".into() },
        Event::ToolCall { index: 1, id: "call_b".into(), name: "b".into() },
        Event::ToolArguments { index: 1, json: "{}".into() },
        Event::ToolArguments { index: 0, json: "1}".into() },
        Event::ToolArguments { index: 7, json: "lost".into() },
        Event::Finish(FinishReason::ToolCalls),
        Event::ToolArguments { index: 0, json: "late".into() },
        Event::Text("after".into()),
    ]);
    let datas = check_stream(&out);
    let output = &datas.last().unwrap()["response"]["output"];
    assert_eq!(output[0]["call_id"], format!("call_{CREATED}_0"));
    assert_eq!((output[0]["arguments"].clone(), output[1]["arguments"].clone()), (json!("{\"x\":1}"), json!("{}")));
    assert_eq!(output[2]["content"][0]["text"], "after");
    assert!(!String::from_utf8(out).unwrap().contains("late"));

    // A signature alone is a reasoning item of its own; reasoning after a signature is a new one.
    let out = encode([
        Event::Start { id: "m1".into(), model: "claude".into() },
        Event::Reasoning("a".into()),
        Event::ReasoningSignature("s1".into()),
        Event::Reasoning("b".into()),
        Event::Text("t".into()),
        Event::ReasoningSignature("s2".into()),
        Event::ToolCall { index: 0, id: "c".into(), name: "f".into() },
    ]);
    let output = check_stream(&out).last().unwrap()["response"]["output"].clone();
    assert_eq!(
        output[0],
        json!({"id": "rs_m1_0", "type": "reasoning", "summary": [{"type": "summary_text", "text": "a"}], "encrypted_content": "s1"})
    );
    assert_eq!(
        output[1],
        json!({"id": "rs_m1_1", "type": "reasoning", "summary": [{"type": "summary_text", "text": "b"}]})
    );
    assert_eq!(output[3], json!({"id": "rs_m1_3", "type": "reasoning", "summary": [], "encrypted_content": "s2"}));
    assert_eq!(output[4]["arguments"], "{}", "no arguments are {{}}");
    // Nothing after an error.
    let out = encode([Event::Error { kind: String::new(), message: "boom".into() }, Event::Text("late".into())]);
    let datas = check_stream(&out);
    assert_eq!((datas.len(), datas[2]["code"].clone()), (4, json!("api_error")));
}

#[test]
fn decoder_edges() {
    let decode = |stream: &str| client_events(Protocol::Responses, stream.as_bytes());
    // Items given whole (no deltas) still say everything; unknown events say nothing.
    let whole = concat!(
        "event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"id\":\"resp_1\",\"model\":\"m\"}}\n\n",
        "event: response.web_search_call.searching\ndata: {\"type\":\"response.web_search_call.searching\",\"output_index\":0}\n\n",
        "event: response.output_item.done\ndata: {\"type\":\"response.output_item.done\",\"output_index\":0,\"item\":{\"type\":\"message\",\"content\":[{\"type\":\"output_text\",\"text\":\"Hi\"}]}}\n\n",
        "event: response.output_item.done\ndata: {\"type\":\"response.output_item.done\",\"output_index\":1,\"item\":{\"type\":\"function_call\",\"call_id\":\"c\",\"name\":\"f\",\"arguments\":\"{}\"}}\n\n",
        "event: response.incomplete\ndata: {\"type\":\"response.incomplete\",\"response\":{\"id\":\"resp_1\",\"status\":\"incomplete\",\"incomplete_details\":{\"reason\":\"content_filter\"}}}\n\n",
    );
    assert_eq!(
        decode(whole),
        vec![
            Event::Start { id: "resp_1".into(), model: "m".into() },
            Event::Text("Hi".into()),
            Event::ToolCall { index: 0, id: "c".into(), name: "f".into() },
            Event::ToolArguments { index: 0, json: "{}".into() },
            Event::Finish(FinishReason::ContentFilter),
        ]
    );
    // Only a completed response, its output whole.
    let only = "data: {\"type\":\"response.completed\",\"response\":{\"id\":\"resp_2\",\"model\":\"m\",\"status\":\"completed\",\"output\":[{\"type\":\"message\",\"content\":[{\"type\":\"output_text\",\"text\":\"Yo\"}]}]}}\n\n";
    assert_eq!(text_of(&decode(only)), "Yo");
    // The type may come from the `event:` line alone.
    let named = "event: response.output_text.delta\ndata: {\"delta\":\"x\",\"output_index\":0}\n\n";
    assert_eq!(decode(named), vec![Event::Text("x".into())]);
    let bad = [
        ("data: [1]\n\n", "event data: expected a JSON object"),
        ("data: {\"type\":\"response.output_text.delta\"}\n\n", "response.output_text.delta.delta: expected a string"),
        (
            "data: {\"type\":\"response.output_item.added\",\"item\":{}}\n\n",
            "response.output_item.added.output_index: expected a non-negative integer",
        ),
        ("data: {\"type\":\"response.created\"}\n\n", "response.created.response: expected an object"),
    ];
    for (stream, expected) in bad {
        let mut parser = SseParser::new();
        let event = parser.feed(stream.as_bytes()).remove(0);
        assert_eq!(responses::StreamDecoder::new().decode(&event).unwrap_err().0, expected);
    }
}

/// Any event, with small indexes so calls meet.
fn any_event() -> impl Strategy<Value = Event> {
    prop_oneof![
        ("[a-z]{0,3}", "[a-z]{0,3}").prop_map(|(id, model)| Event::Start { id, model }),
        "[a-z \"\\\\\n]{0,6}".prop_map(Event::Text),
        "[a-z ]{0,6}".prop_map(Event::Reasoning),
        "[a-z]{0,4}".prop_map(Event::ReasoningSignature),
        (0usize..3, "[a-z]{0,2}", "[a-z]{1,2}").prop_map(|(index, id, name)| Event::ToolCall { index, id, name }),
        (0usize..4, "[{}\":a-z]{0,5}").prop_map(|(index, json)| Event::ToolArguments { index, json }),
        prop_oneof![
            Just(FinishReason::Stop),
            Just(FinishReason::Length),
            Just(FinishReason::ToolCalls),
            Just(FinishReason::ContentFilter)
        ]
        .prop_map(Event::Finish),
        (0u64..100, 0u64..100).prop_map(|(input, output)| {
            let mut usage = Usage::default();
            usage.update(&json!({"usage": {"prompt_tokens": input, "completion_tokens": output}}));
            Event::Usage(usage)
        }),
        "[a-z]{0,3}".prop_map(|message| Event::Error { kind: "api_error".into(), message }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Whatever the events, the client gets a stream the SDKs accumulate, which says the same
    /// text and reasoning.
    #[test]
    fn any_events_make_a_valid_stream(events in proptest::collection::vec(any_event(), 0..24)) {
        let out = encode(events.clone());
        check_stream(&out);
        let heard = client_events(Protocol::Responses, &out);
        let until_error: Vec<Event> = events.iter().take_while(|e| !matches!(e, Event::Error { .. })).cloned().collect();
        prop_assert_eq!(text_of(&heard), text_of(&until_error));
        let reasoning = |events: &[Event]| -> String {
            events.iter().filter_map(|e| if let Event::Reasoning(t) = e { Some(t.as_str()) } else { None }).collect()
        };
        prop_assert_eq!(reasoning(&heard), reasoning(&until_error));
    }

    /// Bytes that are no stream never trap, either way, and still end the client's stream.
    #[test]
    fn any_bytes_never_trap(bytes in proptest::collection::vec(any::<u8>(), 0..400), cut in 0usize..400) {
        for to in [Protocol::OpenAi, Protocol::Anthropic, Protocol::Responses] {
            let out = translate_split(Protocol::Responses, to, &bytes, &[cut.min(bytes.len())]);
            prop_assert!(!out.is_empty());
        }
        for from in [Protocol::OpenAi, Protocol::Anthropic, Protocol::Gemini] {
            check_stream(&translate_split(from, Protocol::Responses, &bytes, &[cut.min(bytes.len())]));
        }
    }

    /// Real events, cut and garbled: still no trap.
    #[test]
    fn a_garbled_responses_stream_never_traps(cuts in proptest::collection::vec(0usize..12000, 0..8), flips in proptest::collection::vec((0usize..12000, any::<u8>()), 0..8)) {
        let mut stream = fixture("responses/stream_tools.sse");
        let len = stream.len();
        for (at, byte) in flips {
            stream[at % len] = byte;
        }
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (len + 1)).collect();
        cuts.sort_unstable();
        let out = translate_split(Protocol::Responses, Protocol::OpenAi, &stream, &cuts);
        prop_assert!(out.ends_with(b"data: [DONE]\n\n"));
    }
}

#[test]
fn structured_output_travels_between_text_format_and_response_format() {
    let schema = json!({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]});
    let body = json!({"model": "m", "input": "where?",
        "text": {"format": {"type": "json_schema", "name": "place", "schema": schema, "strict": true}}});
    let chat = translate::request(Protocol::Responses, Protocol::OpenAi, &body).unwrap();
    assert_eq!(
        chat["response_format"],
        json!({"type": "json_schema", "json_schema": {"name": "place", "schema": schema, "strict": true}})
    );
    // And back: a chat client's response_format reaches a Responses provider as text.format.
    let back = translate::request(Protocol::OpenAi, Protocol::Responses, &chat).unwrap();
    assert_eq!(back["text"]["format"], body["text"]["format"]);
    let json_mode = json!({"model": "m", "input": "x", "text": {"format": {"type": "json_object"}}});
    let chat = translate::request(Protocol::Responses, Protocol::OpenAi, &json_mode).unwrap();
    assert_eq!(chat["response_format"], json!({"type": "json_object"}));
    let plain = json!({"model": "m", "input": "x", "text": {"format": {"type": "text"}}});
    assert!(translate::request(Protocol::Responses, Protocol::OpenAi, &plain)
        .unwrap()
        .get("response_format")
        .is_none());
}
