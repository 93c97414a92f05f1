//! Gemini as a provider for OpenAI and Anthropic clients, and as a client's protocol: requests,
//! whole replies, streams (split at any byte), errors.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::*;
use higress_ai::chat::{Event, FinishReason};
use higress_ai::gemini;
use higress_ai::translate::{self, Protocol};
use proptest::prelude::*;
use serde_json::{json, Value};

/// (index, id, name, arguments as JSON) of every tool call in `events`.
fn calls(events: &[Event]) -> Vec<(usize, String, String, Value)> {
    let mut calls: Vec<(usize, String, String, String)> = Vec::new();
    for event in events {
        match event {
            Event::ToolCall { index, id, name } => calls.push((*index, id.clone(), name.clone(), String::new())),
            Event::ToolArguments { index, json } => {
                calls.iter_mut().find(|c| c.0 == *index).unwrap().3.push_str(json);
            }
            _ => {}
        }
    }
    calls.into_iter().map(|(i, id, n, a)| (i, id, n, serde_json::from_str(&a).unwrap())).collect()
}

#[test]
fn a_gemini_stream_reaches_an_openai_client_with_its_tool_calls() {
    let out = translate_split(Protocol::Gemini, Protocol::OpenAi, &fixture("gemini/stream_tools.sse"), &[]);
    let text = String::from_utf8(out.clone()).unwrap();
    assert!(text.ends_with("data: [DONE]\n\n"), "the stream is closed (Go never sent [DONE]): {text}");
    // One id for the whole stream (Go made a new one per chunk).
    assert_eq!(text.matches("\"id\":\"resp-gem-1\"").count(), text.matches("chat.completion.chunk").count());
    let events = client_events(Protocol::OpenAi, &out);
    assert!(matches!(&events[0], Event::Start { id, model } if id == "resp-gem-1" && model == "gemini-2.5-flash"));
    assert_eq!(text_of(&events), "Let me check both cities.");
    assert!(events.iter().any(|e| matches!(e, Event::Reasoning(r) if r.contains("call the tool twice"))));
    let calls = calls(&events);
    assert_eq!(calls.len(), 2, "Go never returned Gemini's function calls: {calls:?}");
    assert_eq!((calls[0].0, calls[0].1.as_str(), calls[0].2.as_str()), (0, "call_0", "get_weather"));
    assert_eq!(calls[0].3, json!({"city": "Paris", "unit": "celsius"}));
    assert_eq!((calls[1].0, calls[1].1.as_str()), (1, "call_1"));
    assert!(events.contains(&Event::Finish(FinishReason::ToolCalls)), "STOP after calls is tool_calls");
    let usage = events.iter().rev().find_map(|e| if let Event::Usage(u) = e { Some(*u) } else { None }).unwrap();
    assert_eq!(usage.input, Some(42));
    assert_eq!(usage.output, Some(55), "thoughts count in the completion, as OpenAI counts reasoning");
    assert_eq!(usage.reasoning, Some(25));
    assert_eq!(usage.cache_read, Some(8));
}

#[test]
fn a_gemini_stream_reaches_an_anthropic_client() {
    let out = translate_split(Protocol::Gemini, Protocol::Anthropic, &fixture("gemini/stream_tools.sse"), &[]);
    let text = String::from_utf8(out.clone()).unwrap();
    assert!(text.ends_with("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"), "{text}");
    let events = client_events(Protocol::Anthropic, &out);
    assert_eq!(text_of(&events), "Let me check both cities.");
    assert_eq!(calls(&events).len(), 2);
    assert!(text.contains("\"stop_reason\":\"tool_use\""), "{text}");
    // The thought signature rides along to the client (Anthropic's signature_delta).
    assert!(events.iter().any(|e| matches!(e, Event::ReasoningSignature(s) if s == "c2lnbmF0dXJlLTE=")));
}

#[test]
fn an_openai_stream_reaches_a_gemini_client_and_reads_back_the_same() {
    let source = fixture("openai/stream.sse");
    let out = translate_split(Protocol::OpenAi, Protocol::Gemini, &source, &[]);
    let text = String::from_utf8(out.clone()).unwrap();
    assert!(text.contains("\"finishReason\":"), "the last chunk says why: {text}");
    assert!(!text.contains("[DONE]"), "Gemini streams have no [DONE]");
    let events = client_events(Protocol::Gemini, &out);
    let original = client_events(Protocol::OpenAi, &source);
    assert_eq!(text_of(&events), text_of(&original));
    let (sent, received) = (calls(&original), calls(&events));
    assert_eq!(sent.len(), received.len());
    for (a, b) in sent.iter().zip(&received) {
        assert_eq!((&a.2, &a.3), (&b.2, &b.3), "each call arrives whole, with its arguments");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
    #[test]
    fn a_gemini_stream_split_anywhere_translates_the_same(
        cuts in proptest::collection::vec(0usize..4000, 0..12),
        anthropic_client in any::<bool>(),
    ) {
        let stream = fixture("gemini/stream_tools.sse");
        let to = if anthropic_client { Protocol::Anthropic } else { Protocol::OpenAi };
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (stream.len() + 1)).collect();
        cuts.sort_unstable();
        let whole = translate_split(Protocol::Gemini, to, &stream, &[]);
        prop_assert_eq!(translate_split(Protocol::Gemini, to, &stream, &cuts), whole);
    }

    #[test]
    fn any_bytes_from_gemini_are_translated_without_a_trap(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let out = translate_split(Protocol::Gemini, Protocol::OpenAi, &bytes, &[]);
        prop_assert!(out.ends_with(b"data: [DONE]\n\n"));
    }
}

#[test]
fn a_malformed_event_becomes_one_error_event() {
    let stream =
        b"data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"a\"}]}}]}\r\n\r\ndata: {not json\r\n\r\n";
    let text = String::from_utf8(translate_split(Protocol::Gemini, Protocol::OpenAi, stream, &[])).unwrap();
    assert!(text.contains("malformed upstream event"), "{text}");
    assert!(text.ends_with("data: [DONE]\n\n"));
    // An error object mid-stream is the provider's error, passed on.
    let stream = b"data: {\"error\":{\"code\":429,\"message\":\"Resource has been exhausted\",\"status\":\"RESOURCE_EXHAUSTED\"}}\r\n\r\n";
    let events = client_events(Protocol::OpenAi, &translate_split(Protocol::Gemini, Protocol::OpenAi, stream, &[]));
    assert!(
        events.iter().any(|e| matches!(e, Event::Error { message, .. } if message.contains("exhausted"))),
        "{events:?}"
    );
}

#[test]
fn an_openai_request_becomes_a_gemini_request() {
    let request = json!({
        "model": "gemini-2.5-pro",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "developer", "content": "Use metric units."},
            {"role": "user", "content": [
                {"type": "text", "text": "Weather here?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
                {"type": "image_url", "image_url": {"url": "https://example.com/photo.webp?x=1"}}
            ]},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_a", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}
            ]},
            {"role": "tool", "tool_call_id": "call_a", "content": "{\"temp\":21}"},
            {"role": "user", "content": "And tomorrow?"}
        ],
        "temperature": 0,
        "top_p": 0.9,
        "max_tokens": 512,
        "stop": ["END"],
        "reasoning_effort": "low",
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather of a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
                "additionalProperties": false}}}],
        "parallel_tool_calls": false,
        "stream": true
    });
    let body = translate::request(Protocol::OpenAi, Protocol::Gemini, &request).unwrap();
    assert_eq!(
        body["systemInstruction"],
        json!({"parts": [{"text": "Be brief."}, {"text": "Use metric units."}]}),
        "every system message (Go kept the last)"
    );
    let contents = body["contents"].as_array().unwrap();
    assert_eq!(contents.iter().map(|c| c["role"].as_str().unwrap()).collect::<Vec<_>>(), ["user", "model", "user"]);
    assert_eq!(
        contents[0]["parts"],
        json!([
            {"text": "Weather here?"},
            {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}},
            {"fileData": {"mimeType": "image/webp", "fileUri": "https://example.com/photo.webp?x=1"}}
        ])
    );
    assert_eq!(contents[1]["parts"], json!([{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}]));
    // The tool's result and the next question are one user turn; the result is named by its call.
    assert_eq!(
        contents[2]["parts"],
        json!([
            {"functionResponse": {"name": "get_weather", "response": {"output": {"temp": 21}}}},
            {"text": "And tomorrow?"}
        ])
    );
    assert_eq!(
        body["generationConfig"],
        json!({"temperature": 0, "topP": 0.9, "maxOutputTokens": 512, "stopSequences": ["END"],
            "thinkingConfig": {"includeThoughts": true, "thinkingBudget": 1024}})
    );
    assert_eq!(
        body["toolConfig"],
        json!({"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}})
    );
    let declaration = &body["tools"][0]["functionDeclarations"][0];
    assert_eq!(declaration["name"], "get_weather");
    assert_eq!(declaration["parametersJsonSchema"]["additionalProperties"], json!(false), "the schema as given");
    assert!(body.get("model").is_none() && body.get("stream").is_none(), "both are in the path");

    // Read back as Gemini: the same conversation.
    let back = translate::request(Protocol::Gemini, Protocol::OpenAi, &body).unwrap();
    assert_eq!(back["messages"][0], json!({"role": "system", "content": "Be brief.\n\nUse metric units."}));
    assert_eq!(back["tool_choice"], json!({"type": "function", "function": {"name": "get_weather"}}));
    assert_eq!(back["max_tokens"], json!(512));
}

#[test]
fn gemini_requests_in_either_spelling_are_read() {
    let body = json!({
        "system_instruction": {"parts": [{"text": "You are terse."}]},
        "contents": [{"role": "user", "parts": [{"text": "Hi"}]}],
        "generation_config": {"max_output_tokens": 64, "temperature": 0.5, "thinking_config": {"thinking_budget": 0}},
        "tools": [{"google_search": {}}, {"function_declarations": [{"name": "f", "parameters": {"type": "object"}}]}]
    });
    let request = gemini::read_request(&body).unwrap();
    assert_eq!(request.params.max_tokens, Some(64));
    assert_eq!(request.params.reasoning, None, "a budget of 0 turns thinking off");
    assert_eq!(request.tools.len(), 1, "Google's own tools are dropped");
    assert_eq!(request.system.len(), 1);
    let error = gemini::read_request(&json!({"contents": [{"parts": [{"text": 5}]}]})).unwrap_err();
    assert_eq!(error.to_string(), "contents[0].parts[0].text: expected a string");
}

#[test]
fn a_gemini_reply_reaches_openai_and_anthropic_clients() {
    let reply: Value = serde_json::from_slice(&fixture("gemini/reply_tools.json")).unwrap();
    let openai = translate::reply(Protocol::Gemini, Protocol::OpenAi, &reply).unwrap();
    let choices = openai["choices"].as_array().unwrap();
    assert_eq!(choices.len(), 1, "one candidate is one choice (Go made each part a choice)");
    let message = &choices[0]["message"];
    assert_eq!(message["content"], "I'll look that up.");
    assert_eq!(message["reasoning_content"], "Planning the calls.");
    let calls = message["tool_calls"].as_array().unwrap();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0]["id"], "call_0");
    assert_eq!(calls[0]["function"], json!({"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}));
    assert_eq!(calls[1]["id"], "fc-2", "Gemini's own id is kept");
    assert_eq!(choices[0]["finish_reason"], "tool_calls");
    assert_eq!(openai["id"], "resp-gem-2");
    assert_eq!(openai["model"], "gemini-2.5-pro");
    assert_eq!(
        openai["usage"],
        json!({"prompt_tokens": 100, "completion_tokens": 50, "total_tokens": 150,
            "prompt_tokens_details": {"cached_tokens": 64}, "completion_tokens_details": {"reasoning_tokens": 30}})
    );
    let claude = translate::reply(Protocol::Gemini, Protocol::Anthropic, &reply).unwrap();
    assert_eq!(claude["stop_reason"], "tool_use");
    let kinds: Vec<&str> = claude["content"].as_array().unwrap().iter().map(|b| b["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["thinking", "text", "thinking", "tool_use", "tool_use"]);

    // And back to a Gemini client: one candidate, the calls whole, the usage split again.
    let again = translate::reply(Protocol::OpenAi, Protocol::Gemini, &openai).unwrap();
    assert_eq!(again["usageMetadata"]["candidatesTokenCount"], 20);
    assert_eq!(again["usageMetadata"]["thoughtsTokenCount"], 30);
    assert_eq!(again["candidates"][0]["finishReason"], "STOP");
    assert_eq!(again["candidates"][0]["content"]["parts"][2]["functionCall"]["args"], json!({"city": "Paris"}));
}

#[test]
fn finish_reasons_blocked_prompts_and_errors() {
    let reply = |reason: &str| json!({"candidates": [{"content": {"parts": [{"text": "x"}]}, "finishReason": reason}]});
    let finish = |reason: &str| gemini::read_reply(&reply(reason)).unwrap().finish.unwrap();
    assert_eq!(finish("MAX_TOKENS"), FinishReason::Length, "Go lowercased it to max_tokens");
    assert_eq!(finish("SAFETY"), FinishReason::ContentFilter);
    assert_eq!(finish("PROHIBITED_CONTENT"), FinishReason::ContentFilter);
    assert_eq!(finish("STOP"), FinishReason::Stop);
    assert_eq!(finish("MALFORMED_FUNCTION_CALL"), FinishReason::Other("malformed_function_call".into()));
    let blocked = gemini::read_reply(&json!({"promptFeedback": {"blockReason": "SAFETY"}})).unwrap();
    assert_eq!((blocked.parts.len(), blocked.finish), (0, Some(FinishReason::ContentFilter)));

    let error = json!({"error": {"code": 400, "message": "API key not valid.", "status": "INVALID_ARGUMENT"}});
    assert_eq!(gemini::read_error(&error), Some(("INVALID_ARGUMENT".into(), "API key not valid.".into())));
    assert!(gemini::read_reply(&error).unwrap_err().to_string().contains("API key not valid."));
    let openai = translate::error(Protocol::Gemini, Protocol::OpenAi, 400, error.to_string().as_bytes());
    assert_eq!(openai["error"]["message"], "API key not valid.");
    let claude = translate::error(
        Protocol::Gemini,
        Protocol::Anthropic,
        429,
        b"{\"error\":{\"code\":429,\"message\":\"slow down\",\"status\":\"RESOURCE_EXHAUSTED\"}}",
    );
    assert_eq!(claude["error"]["type"], "rate_limit_error");
    let google = translate::error(
        Protocol::OpenAi,
        Protocol::Gemini,
        429,
        b"{\"error\":{\"type\":\"rate_limit_error\",\"message\":\"slow\"}}",
    );
    assert_eq!(google, json!({"error": {"code": 429, "message": "slow", "status": "RESOURCE_EXHAUSTED"}}));
}
