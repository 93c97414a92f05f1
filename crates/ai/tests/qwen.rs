//! Qwen's native DashScope protocol as a provider for OpenAI and Anthropic clients, and as a
//! client's protocol: requests, whole replies, streams incremental and not (split at any
//! byte), errors both ways.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::*;
use higress_ai::chat::{Event, EventSink, FinishReason, ImageSource, Message, Part, Request, Role};
use higress_ai::qwen;
use higress_ai::translate::{self, Protocol};
use higress_sdk::sse::SseParser;
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

fn reasoning_of(events: &[Event]) -> String {
    events.iter().filter_map(|e| if let Event::Reasoning(t) = e { Some(t.as_str()) } else { None }).collect()
}

fn last_usage(events: &[Event]) -> higress_ai::Usage {
    events.iter().rev().find_map(|e| if let Event::Usage(u) = e { Some(*u) } else { None }).unwrap()
}

/// The events `decoder` reads from the DashScope stream `bytes`.
fn decoded(mut decoder: qwen::StreamDecoder, bytes: &[u8]) -> Vec<Event> {
    let mut parser = SseParser::new();
    let mut events = Vec::new();
    for event in parser.feed(bytes).into_iter().chain(parser.finish()) {
        events.extend(decoder.decode(&event).unwrap());
    }
    events
}

#[test]
fn an_incremental_qwen_stream_reaches_an_openai_client_with_reasoning_and_tool_calls() {
    let out = translate_split(Protocol::Qwen, Protocol::OpenAi, &fixture("qwen/stream_incremental.sse"), &[]);
    let text = String::from_utf8(out.clone()).unwrap();
    assert!(text.ends_with("data: [DONE]\n\n"), "{text}");
    assert!(!text.contains("HTTP_STATUS"), "DashScope's comment lines stay upstream");
    let request_id = "\"id\":\"9f1c2d3e-7a4b-9c55-8e21-4d6f0a1b2c3d\"";
    assert_eq!(text.matches(request_id).count(), text.matches("chat.completion.chunk").count(), "one id: {text}");
    let events = client_events(Protocol::OpenAi, &out);
    assert_eq!(
        reasoning_of(&events),
        "The user asks about Hangzhou and Paris, so I'll call get_current_weather twice."
    );
    assert_eq!(text_of(&events), "Let me check both cities — “杭州” and Paris.");
    let calls = calls(&events);
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert_eq!(
        (calls[0].0, calls[0].1.as_str(), calls[0].2.as_str()),
        (0, "call_8f2a9c1e4b7d4e0f9a1b2c", "get_current_weather")
    );
    assert_eq!(calls[0].3, json!({"location": "杭州", "unit": "celsius"}));
    assert_eq!((calls[1].0, calls[1].1.as_str()), (1, "call_0bdcc155f2534f65a05cb1"));
    assert_eq!(calls[1].3, json!({"location": "Paris"}));
    assert_eq!(events.iter().filter(|e| matches!(e, Event::Finish(_))).count(), 1);
    assert!(events.contains(&Event::Finish(FinishReason::ToolCalls)));
    let usage = last_usage(&events);
    assert_eq!((usage.input, usage.output, usage.total), (Some(212), Some(60), Some(272)));
    assert_eq!((usage.cache_read, usage.reasoning), (Some(128), Some(18)), "Go dropped both");
    // The finish chunk, then the usage chunk, then [DONE].
    let finish = text.find("\"finish_reason\":\"tool_calls\"").unwrap();
    let usage_chunk = text.find("\"choices\":[],").unwrap();
    assert!(finish < usage_chunk && usage_chunk < text.find("[DONE]").unwrap());
}

#[test]
fn an_incremental_qwen_stream_reaches_an_anthropic_client() {
    let out = translate_split(Protocol::Qwen, Protocol::Anthropic, &fixture("qwen/stream_incremental.sse"), &[]);
    let text = String::from_utf8(out.clone()).unwrap();
    assert!(text.ends_with("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"), "{text}");
    assert!(text.contains("\"stop_reason\":\"tool_use\""), "{text}");
    let events = client_events(Protocol::Anthropic, &out);
    assert!(reasoning_of(&events).ends_with("twice."));
    assert_eq!(text_of(&events), "Let me check both cities — “杭州” and Paris.");
    assert_eq!(calls(&events).len(), 2);
    let usage = last_usage(&events);
    assert_eq!(usage.prompt_tokens(), Some(212), "the client sees all prompt tokens, cached ones included");
    assert_eq!(usage.cache_read, Some(128));
}

#[test]
fn a_whole_text_stream_is_told_apart_and_gives_each_piece_once() {
    let stream = fixture("qwen/stream_whole.sse");
    let out = translate_split(Protocol::Qwen, Protocol::OpenAi, &stream, &[]);
    let events = client_events(Protocol::OpenAi, &out);
    assert_eq!(text_of(&events), "I'll look up the weather in Hangzhou.", "no repeated text");
    let calls = calls(&events);
    assert_eq!(calls.len(), 1, "the call repeated in every event is one call: {calls:?}");
    assert_eq!((calls[0].1.as_str(), &calls[0].3), ("call_5d1e2c3b4a6f7e8d9c0b1a", &json!({"location": "Hangzhou"})));
    assert!(events.contains(&Event::Finish(FinishReason::ToolCalls)));
    assert_eq!(last_usage(&events).output, Some(23));

    // The caller that knows what it asked for gets the same.
    let guessed = decoded(qwen::StreamDecoder::new(), &stream);
    assert_eq!(decoded(qwen::StreamDecoder::new().incremental(false), &stream), guessed);
    let incremental = fixture("qwen/stream_incremental.sse");
    assert_eq!(
        decoded(qwen::StreamDecoder::new().incremental(true), &incremental),
        decoded(qwen::StreamDecoder::new(), &incremental)
    );
}

#[test]
fn the_model_the_caller_names_starts_the_stream() {
    let events = decoded(qwen::StreamDecoder::new().with_model("qwen-plus"), &fixture("qwen/stream_whole.sse"));
    assert_eq!(
        events[0],
        Event::Start { id: "c81f0a2e-55d3-9b1e-a0c4-7e2d9f6b3a18".into(), model: "qwen-plus".into() }
    );
}

#[test]
fn every_qwen_stream_split_at_every_byte_translates_the_same() {
    for name in ["qwen/stream_incremental.sse", "qwen/stream_whole.sse", "qwen/stream_error.sse"] {
        let stream = fixture(name);
        for to in [Protocol::OpenAi, Protocol::Anthropic] {
            let whole = translate_split(Protocol::Qwen, to, &stream, &[]);
            for cut in 0..=stream.len() {
                assert_eq!(translate_split(Protocol::Qwen, to, &stream, &[cut]), whole, "{name} cut at {cut}");
            }
            let every: Vec<usize> = (1..stream.len()).collect();
            assert_eq!(translate_split(Protocol::Qwen, to, &stream, &every), whole, "{name} byte by byte");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
    #[test]
    fn a_qwen_stream_split_anywhere_translates_the_same(
        cuts in proptest::collection::vec(0usize..5000, 0..12),
        anthropic_client in any::<bool>(),
        whole in any::<bool>(),
    ) {
        let stream = fixture(if whole { "qwen/stream_whole.sse" } else { "qwen/stream_incremental.sse" });
        let to = if anthropic_client { Protocol::Anthropic } else { Protocol::OpenAi };
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (stream.len() + 1)).collect();
        cuts.sort_unstable();
        prop_assert_eq!(translate_split(Protocol::Qwen, to, &stream, &cuts), translate_split(Protocol::Qwen, to, &stream, &[]));
    }

    #[test]
    fn any_bytes_from_qwen_are_translated_without_a_trap(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        prop_assert!(translate_split(Protocol::Qwen, Protocol::OpenAi, &bytes, &[]).ends_with(b"data: [DONE]\n\n"));
        let claude = translate_split(Protocol::Qwen, Protocol::Anthropic, &bytes, &[]);
        prop_assert!(claude.ends_with(b"\n\n") || claude.is_empty());
    }

    #[test]
    fn events_of_the_usual_shape_with_any_values_never_trap(
        content in prop_oneof![Just(json!("")), Just(json!("x")), Just(json!(["a"])), Just(json!([{"text": 1}])), Just(json!(null)), Just(json!(7))],
        reasoning in prop_oneof![Just(json!("r")), Just(json!(null)), Just(json!({}))],
        calls in prop_oneof![
            Just(json!([{"index": 0, "id": "c", "function": {"name": "f", "arguments": "{"}}])),
            Just(json!([{"index": -1}])),
            Just(json!([{"function": {"arguments": {"a": 1}}}])),
            Just(json!([{"id": "x", "function": {"name": 3}}])),
            Just(json!("calls")),
            Just(json!(null)),
        ],
        finish in prop_oneof![Just(json!("null")), Just(json!("stop")), Just(json!(null)), Just(json!(1))],
        usage in prop_oneof![Just(json!({"input_tokens": 1})), Just(json!({"input_tokens": -1})), Just(json!("u"))],
        events in 1usize..4,
    ) {
        let data = json!({"output": {"choices": [{"message": {"content": content, "reasoning_content": reasoning,
            "tool_calls": calls}, "finish_reason": finish}]}, "usage": usage, "request_id": "r"});
        let event = format!("id:1\nevent:result\n:HTTP_STATUS/200\ndata:{data}\n\n");
        let stream = event.repeat(events);
        for to in [Protocol::OpenAi, Protocol::Anthropic, Protocol::Gemini, Protocol::Qwen] {
            let out = translate_split(Protocol::Qwen, to, stream.as_bytes(), &[]);
            prop_assert!(!out.is_empty());
        }
    }

    #[test]
    fn any_json_body_is_read_or_refused_without_a_trap(body in json_values()) {
        let _ = qwen::read_request(&body);
        let _ = qwen::read_reply(&body);
        let _ = qwen::read_error(&body);
        let request = json!({"model": "qwen-plus", "input": {"messages": [{"role": "user", "content": body.clone()}]},
            "parameters": {"stop": body.clone(), "tools": [{"function": body.clone()}]}});
        let _ = translate::request(Protocol::Qwen, Protocol::OpenAi, &request);
        let reply = json!({"output": {"choices": [{"message": body.clone(), "finish_reason": body}]}});
        let _ = translate::reply(Protocol::Qwen, Protocol::Anthropic, &reply);
    }
}

fn json_values() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        "[a-z_]{0,8}".prop_map(Value::String),
        Just(json!("text")),
        Just(json!("image")),
    ];
    leaf.prop_recursive(4, 32, 5, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(
                prop_oneof![
                    Just("text".to_string()),
                    Just("image".to_string()),
                    Just("role".to_string()),
                    "[a-z_]{1,8}"
                ],
                inner,
                0..4
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

#[test]
fn an_error_mid_stream_reaches_the_client() {
    let stream = fixture("qwen/stream_error.sse");
    let out = translate_split(Protocol::Qwen, Protocol::OpenAi, &stream, &[]);
    let events = client_events(Protocol::OpenAi, &out);
    assert_eq!(text_of(&events), "Here is");
    assert!(
        events.iter().any(|e| matches!(e, Event::Error { kind, message }
            if kind == "DataInspectionFailed" && message.contains("inappropriate"))),
        "Go passed the DashScope error event through untranslated: {events:?}"
    );
    let claude = String::from_utf8(translate_split(Protocol::Qwen, Protocol::Anthropic, &stream, &[])).unwrap();
    assert!(claude.contains("event: error"), "{claude}");

    // A malformed event is one error event; the stream still ends.
    let stream = b"id:1\nevent:result\n:HTTP_STATUS/200\ndata:{\"output\":{\"choices\":[{\"message\":{\"content\":\"a\"},\"finish_reason\":\"null\"}]}}\n\nid:2\nevent:result\ndata:{not json\n\n";
    let text = String::from_utf8(translate_split(Protocol::Qwen, Protocol::OpenAi, stream, &[])).unwrap();
    assert!(text.contains("malformed upstream event"), "{text}");
    assert!(text.ends_with("data: [DONE]\n\n"));
}

#[test]
fn an_openai_stream_reaches_a_qwen_client_and_reads_back_the_same() {
    let source = fixture("openai/stream.sse");
    let out = translate_split(Protocol::OpenAi, Protocol::Qwen, &source, &[]);
    let text = String::from_utf8(out.clone()).unwrap();
    assert!(text.starts_with("id:1\nevent:result\n:HTTP_STATUS/200\ndata:{"), "{text}");
    assert!(!text.contains("[DONE]"), "DashScope streams have no [DONE]");
    assert_eq!(text.matches("\"finish_reason\":\"null\"").count() + 1, text.matches("event:result").count());
    let events = client_events(Protocol::Qwen, &out);
    let original = client_events(Protocol::OpenAi, &source);
    assert_eq!(text_of(&events), text_of(&original));
    assert_eq!(reasoning_of(&events), reasoning_of(&original));
    let (sent, received) = (calls(&original), calls(&events));
    assert_eq!(sent.len(), received.len());
    for (a, b) in sent.iter().zip(&received) {
        assert_eq!((&a.1, &a.2, &a.3), (&b.1, &b.2, &b.3));
    }
    let finish =
        |events: &[Event]| events.iter().find_map(|e| if let Event::Finish(f) = e { Some(f.clone()) } else { None });
    assert_eq!(finish(&events), finish(&original));
    assert_eq!(last_usage(&events).output, last_usage(&original).output);
}

#[test]
fn an_anthropic_stream_and_its_error_reach_a_qwen_client() {
    let source = fixture("anthropic/stream_tools.sse");
    let out = translate_split(Protocol::Anthropic, Protocol::Qwen, &source, &[]);
    let events = client_events(Protocol::Qwen, &out);
    assert_eq!(text_of(&events), text_of(&client_events(Protocol::Anthropic, &source)));
    assert_eq!(calls(&events).len(), calls(&client_events(Protocol::Anthropic, &source)).len());

    let out = translate_split(Protocol::Anthropic, Protocol::Qwen, &fixture("anthropic/stream_error.sse"), &[]);
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("event:error\n:HTTP_STATUS/503\ndata:{\"code\":\"ServiceUnavailable\""), "{text}");
    assert!(!text.ends_with("\"finish_reason\":\"stop\""), "nothing follows the error");
}

#[test]
fn a_whole_text_encoder_repeats_the_message_so_far() {
    let mut encoder = qwen::StreamEncoder::new().incremental(false);
    let mut out = Vec::new();
    for event in [
        Event::Start { id: "r1".into(), model: "m".into() },
        Event::Reasoning("think".into()),
        Event::Text("Hel".into()),
        Event::Text("lo".into()),
        Event::ToolCall { index: 0, id: "c1".into(), name: "f".into() },
        Event::ToolArguments { index: 0, json: "{\"a\":".into() },
        Event::ToolArguments { index: 0, json: "1}".into() },
        Event::Finish(FinishReason::ToolCalls),
    ] {
        encoder.event(event, &mut out);
    }
    encoder.finish(&mut out);
    let text = String::from_utf8(out.clone()).unwrap();
    assert_eq!(text.matches("\"content\":\"Hello\"").count(), 5, "every event after the text has it whole: {text}");
    let events = decoded(qwen::StreamDecoder::new().incremental(false), &out);
    assert_eq!(text_of(&events), "Hello");
    assert_eq!(reasoning_of(&events), "think");
    assert_eq!(calls(&events), vec![(0, "c1".into(), "f".into(), json!({"a": 1}))]);
    assert!(events.contains(&Event::Finish(FinishReason::ToolCalls)));
    assert_eq!(decoded(qwen::StreamDecoder::new(), &out), events, "and guessed alike");
}

fn openai_request() -> Value {
    json!({
        "model": "qwen-plus",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "developer", "content": "Use metric units."},
            {"role": "user", "content": "Weather in Hangzhou?"},
            {"role": "assistant", "content": null, "reasoning_content": "One call.", "tool_calls": [
                {"id": "call_a", "type": "function", "function": {"name": "get_current_weather", "arguments": "{\"location\":\"Hangzhou\"}"}}
            ]},
            {"role": "tool", "tool_call_id": "call_a", "content": "{\"temp\":21}"},
            {"role": "user", "content": "And tomorrow?"}
        ],
        "temperature": 0,
        "max_tokens": 512,
        "stop": ["END"],
        "reasoning_effort": "low",
        "tool_choice": "required",
        "tools": [{"type": "function", "function": {"name": "get_current_weather", "description": "Weather of a city",
            "parameters": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}}}],
        "parallel_tool_calls": false,
        "stream": true,
        "stream_options": {"include_usage": true}
    })
}

#[test]
fn an_openai_request_becomes_a_dashscope_request() {
    let body = translate::request(Protocol::OpenAi, Protocol::Qwen, &openai_request()).unwrap();
    assert_eq!(body["model"], "qwen-plus");
    assert!(body.get("stream").is_none() && body["parameters"].get("stream").is_none(), "streaming is a header");
    let messages = body["input"]["messages"].as_array().unwrap();
    assert_eq!(messages[0], json!({"role": "system", "content": "Be brief.\n\nUse metric units."}), "one, first");
    assert_eq!(messages[1], json!({"role": "user", "content": "Weather in Hangzhou?"}));
    assert_eq!(
        messages[2],
        json!({"role": "assistant", "content": "", "reasoning_content": "One call.", "tool_calls": [
            {"id": "call_a", "type": "function", "function": {"name": "get_current_weather", "arguments": "{\"location\":\"Hangzhou\"}"}}
        ]})
    );
    assert_eq!(
        messages[3],
        json!({"role": "tool", "content": "{\"temp\":21}", "tool_call_id": "call_a", "name": "get_current_weather"}),
        "Go dropped tool_call_id"
    );
    assert_eq!(messages[4], json!({"role": "user", "content": "And tomorrow?"}));
    assert_eq!(
        body["parameters"],
        json!({
            "result_format": "message",
            "incremental_output": true,
            "max_tokens": 512,
            "temperature": 0,
            "stop": ["END"],
            "enable_thinking": true,
            "thinking_budget": 1024,
            "tools": [{"type": "function", "function": {"name": "get_current_weather", "description": "Weather of a city",
                "parameters": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}}}],
            "tool_choice": {"type": "function", "function": {"name": "get_current_weather"}},
            "parallel_tool_calls": false
        }),
        "temperature 0 kept, no top_p when none was given (Go sent 1e-6), required with one tool is that tool"
    );
    let request = higress_ai::openai::read_request(&openai_request()).unwrap();
    assert!(qwen::wants_stream(&request));
    assert!(!qwen::is_multimodal(&request));
    assert_eq!(qwen::path(&request), "/api/v1/services/aigc/text-generation/generation");

    // Read back as a DashScope request: the same conversation.
    let back = translate::request(Protocol::Qwen, Protocol::OpenAi, &body).unwrap();
    assert_eq!(back["messages"][0], json!({"role": "system", "content": "Be brief.\n\nUse metric units."}));
    assert_eq!(back["messages"][3], json!({"role": "tool", "tool_call_id": "call_a", "content": "{\"temp\":21}"}));
    assert_eq!(back["tool_choice"], json!({"type": "function", "function": {"name": "get_current_weather"}}));
    assert_eq!(back["max_tokens"], json!(512));
}

#[test]
fn sampling_parameters_reach_qwen_only_as_given() {
    let mut request = higress_ai::openai::read_request(&json!({"model": "qwen-turbo",
        "messages": [{"role": "user", "content": "Hi"}], "top_p": 1, "tool_choice": "required"}))
    .unwrap();
    let body = qwen::write_request(&request);
    assert_eq!(body["parameters"], json!({"result_format": "message", "top_p": 0.999999}), "DashScope refuses 1");
    request.params.top_p = Some(json!(0));
    assert_eq!(qwen::write_request(&request)["parameters"]["top_p"], json!(0.000001));
    request.params.top_p = Some(json!(0.8));
    assert_eq!(qwen::write_request(&request)["parameters"]["top_p"], json!(0.8));
}

#[test]
fn images_take_the_multimodal_shape() {
    let request = json!({
        "model": "qwen-plus",
        "messages": [
            {"role": "system", "content": "Describe."},
            {"role": "user", "content": [
                {"type": "text", "text": "What is this?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
                {"type": "image_url", "image_url": {"url": "https://example.com/dog.jpeg"}}
            ]},
            {"role": "assistant", "content": "A dog."},
            {"role": "user", "content": "Which breed?"}
        ]
    });
    let read = higress_ai::openai::read_request(&request).unwrap();
    assert!(qwen::is_multimodal(&read), "an image sends any model to multimodal-generation");
    assert_eq!(qwen::path(&read), "/api/v1/services/aigc/multimodal-generation/generation");
    let body = translate::request(Protocol::OpenAi, Protocol::Qwen, &request).unwrap();
    assert_eq!(
        body["input"]["messages"],
        json!([
            {"role": "system", "content": [{"text": "Describe."}]},
            {"role": "user", "content": [
                {"text": "What is this?"},
                {"image": "data:image/png;base64,iVBORw0KGgo="},
                {"image": "https://example.com/dog.jpeg"}
            ]},
            {"role": "assistant", "content": [{"text": "A dog."}]},
            {"role": "user", "content": [{"text": "Which breed?"}]}
        ])
    );
    // And back: the images are images again.
    let back = qwen::read_request(&body).unwrap();
    assert_eq!(back.messages[0].parts.len(), 3);
    let openai = translate::request(Protocol::Qwen, Protocol::OpenAi, &body).unwrap();
    assert_eq!(openai["messages"][1]["content"][1]["image_url"]["url"], "data:image/png;base64,iVBORw0KGgo=");

    for model in
        ["qwen-vl-max", "qwen3-vl-plus", "qvq-max", "qwen-audio-turbo", "qwen3-omni-flash", "Qwen2.5-VL-72B-Instruct"]
    {
        let request = Request { model: model.into(), ..Request::default() };
        assert!(qwen::is_multimodal(&request), "{model}");
    }
    for model in ["qwen-plus", "qwen-max", "qwen3-235b-a22b", "qwen-long"] {
        assert!(!qwen::is_multimodal(&Request { model: model.into(), ..Request::default() }), "{model}");
    }
    // A tool result's image is not sent (a tool message is text): it does not change the path.
    let image = Part::Image { source: ImageSource::Url("https://example.com/shot.png".into()), cache: None };
    let result = Part::ToolResult { call_id: "c".into(), content: vec![image], is_error: false };
    let message = Message { role: Role::User, parts: vec![result], name: None };
    assert!(!qwen::is_multimodal(&Request {
        model: "qwen-plus".into(),
        messages: vec![message],
        ..Request::default()
    }));
}

#[test]
fn an_anthropic_request_becomes_a_dashscope_request() {
    let request = json!({
        "model": "qwen3-max",
        "max_tokens": 1024,
        "system": [{"type": "text", "text": "You are Claude Code."}, {"type": "text", "text": "Be terse."}],
        "thinking": {"type": "enabled", "budget_tokens": 4096},
        "messages": [
            {"role": "user", "content": "List files"},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "Use ls.", "signature": "sig"},
                {"type": "text", "text": "Running ls."},
                {"type": "tool_use", "id": "toolu_1", "name": "bash", "input": {"command": "ls"}}
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "a.txt\nb.txt"},
                {"type": "text", "text": "Now count them."}
            ]}
        ],
        "tools": [{"name": "bash", "description": "Run a command", "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}}}],
        "tool_choice": {"type": "any"},
        "stream": false
    });
    let body = translate::request(Protocol::Anthropic, Protocol::Qwen, &request).unwrap();
    let messages = body["input"]["messages"].as_array().unwrap();
    assert_eq!(messages[0], json!({"role": "system", "content": "You are Claude Code.\n\nBe terse."}));
    assert_eq!(messages[2]["tool_calls"][0]["function"], json!({"name": "bash", "arguments": "{\"command\":\"ls\"}"}));
    assert_eq!(messages[2]["content"], "Running ls.");
    assert_eq!(
        messages[3],
        json!({"role": "tool", "content": "a.txt\nb.txt", "tool_call_id": "toolu_1", "name": "bash"})
    );
    assert_eq!(messages[4], json!({"role": "user", "content": "Now count them."}));
    let parameters = &body["parameters"];
    assert_eq!(parameters["thinking_budget"], 4096);
    assert_eq!(parameters["enable_thinking"], true);
    assert_eq!(parameters["tool_choice"], json!({"type": "function", "function": {"name": "bash"}}));
    assert!(parameters.get("incremental_output").is_none(), "not streamed");
}

#[test]
fn dashscope_requests_are_read_and_refused_by_field() {
    let body = json!({
        "model": "qwen-vl-max",
        "input": {"messages": [
            {"role": "system", "content": [{"text": "You are helpful."}]},
            {"role": "user", "content": [{"image": "https://example.com/a.png"}, {"text": "What is it?"}]},
            {"role": "assistant", "content": "", "tool_calls": [{"id": "", "type": "function", "function": {"name": "zoom", "arguments": "{}"}}]},
            {"role": "tool", "content": "zoomed", "tool_call_id": "call_0"}
        ]},
        "parameters": {"result_format": "message", "enable_thinking": true, "thinking_budget": 2048, "stop": "END",
            "top_k": 20, "tool_choice": "none", "tools": [{"type": "function", "function": {"name": "zoom"}}]}
    });
    let request = qwen::read_request(&body).unwrap();
    assert_eq!(request.system.len(), 1);
    assert_eq!(request.messages.len(), 3);
    assert_eq!(request.params.reasoning.as_ref().unwrap().budget_tokens, Some(2048));
    assert_eq!(request.params.stop, ["END"]);
    assert_eq!(request.params.top_k, Some(json!(20)));
    assert!(!request.stream, "the caller reads the X-DashScope-SSE header");
    let claude = translate::request(Protocol::Qwen, Protocol::Anthropic, &body).unwrap();
    assert_eq!(claude["messages"][1]["content"][0]["id"], "call_0", "an empty id gets one its result names");
    assert_eq!(claude["messages"][2]["content"][0]["tool_use_id"], "call_0");

    let prompt = qwen::read_request(&json!({"model": "qwen-turbo", "input": {"prompt": "Hi"}})).unwrap();
    assert_eq!(prompt.messages.len(), 1);
    let error = |body: Value| qwen::read_request(&body).unwrap_err().to_string();
    assert_eq!(error(json!({"model": "m"})), "input: expected an object");
    assert_eq!(error(json!({"input": {}})), "input.messages: expected an array");
    assert_eq!(
        error(json!({"input": {"messages": [{"role": "user", "content": [{"audio": "https://x/a.mp3"}]}]}})),
        "input.messages[0].content[0]: expected a {text} or {image} item (audio and video cannot be translated)"
    );
    assert_eq!(
        error(json!({"input": {"messages": [{"role": "critic", "content": "x"}]}})),
        "input.messages[0].role: expected system, user, assistant or tool"
    );
    assert_eq!(
        error(json!({"input": {"messages": []}, "parameters": {"stop": [[101, 102]]}})),
        "parameters.stop[0]: expected a string"
    );
}

#[test]
fn a_dashscope_reply_reaches_openai_and_anthropic_clients() {
    let reply: Value = serde_json::from_slice(&fixture("qwen/reply_tools.json")).unwrap();
    let openai = translate::reply(Protocol::Qwen, Protocol::OpenAi, &reply).unwrap();
    assert_eq!(openai["id"], "a4b1c0f2-3d5e-9d7a-8b6c-5e4f3a2b1c0d");
    let message = &openai["choices"][0]["message"];
    assert_eq!(message["content"], "I'll check the weather in both cities.");
    assert_eq!(message["reasoning_content"], "Two cities, so two calls of get_current_weather.");
    let calls = message["tool_calls"].as_array().unwrap();
    assert_eq!(calls[0]["id"], "call_1e0c3a9b7d5f4e2a8c6b0d");
    assert_eq!(calls[1]["id"], "call_1", "Qwen's empty id gets one");
    assert_eq!(calls[1]["function"], json!({"name": "get_current_weather", "arguments": "{\"location\": \"Paris\"}"}));
    assert_eq!(openai["choices"][0]["finish_reason"], "tool_calls");
    assert_eq!(
        openai["usage"],
        json!({"prompt_tokens": 230, "completion_tokens": 64, "total_tokens": 294,
            "prompt_tokens_details": {"cached_tokens": 192}, "completion_tokens_details": {"reasoning_tokens": 21}})
    );
    let claude = translate::reply(Protocol::Qwen, Protocol::Anthropic, &reply).unwrap();
    assert_eq!(claude["stop_reason"], "tool_use");
    let kinds: Vec<&str> = claude["content"].as_array().unwrap().iter().map(|b| b["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["thinking", "text", "tool_use", "tool_use"]);
    assert_eq!(claude["usage"]["cache_read_input_tokens"], 192);
    assert_eq!(claude["usage"]["input_tokens"], 38, "Anthropic counts cached tokens apart");

    // A vision model's reply holds items; a `result_format: "text"` reply only text.
    let vl: Value = serde_json::from_slice(&fixture("qwen/reply_vl.json")).unwrap();
    let openai = translate::reply(Protocol::Qwen, Protocol::OpenAi, &vl).unwrap();
    assert_eq!(
        openai["choices"][0]["message"]["content"],
        "The picture shows a woman and her dog on a beach at sunset."
    );
    assert_eq!(openai["choices"][0]["finish_reason"], "stop");
    assert_eq!(openai["usage"]["prompt_tokens"], 1271);
    let text = json!({"output": {"text": "Hi!", "finish_reason": "length"}, "usage": {"input_tokens": 3, "output_tokens": 2}, "request_id": "r"});
    let reply = qwen::read_reply(&text).unwrap();
    assert_eq!((reply.parts.len(), reply.finish), (1, Some(FinishReason::Length)));
}

#[test]
fn openai_and_anthropic_replies_reach_a_qwen_client() {
    let reply: Value = serde_json::from_slice(&fixture("openai/reply_tools.json")).unwrap();
    let body = translate::reply(Protocol::OpenAi, Protocol::Qwen, &reply).unwrap();
    let choice = &body["output"]["choices"][0];
    assert_eq!(choice["finish_reason"], "tool_calls");
    assert_eq!(choice["message"]["role"], "assistant");
    assert_eq!(body["request_id"], reply["id"]);
    assert_eq!(body["usage"]["input_tokens"], reply["usage"]["prompt_tokens"]);
    // What the Qwen client reads is what the OpenAI provider said.
    let back = translate::reply(Protocol::Qwen, Protocol::OpenAi, &body).unwrap();
    assert_eq!(back["choices"][0]["message"]["tool_calls"], reply["choices"][0]["message"]["tool_calls"]);

    let claude: Value = serde_json::from_slice(&fixture("anthropic/reply_tools.json")).unwrap();
    let body = translate::reply(Protocol::Anthropic, Protocol::Qwen, &claude).unwrap();
    let usage = &body["usage"];
    assert_eq!(
        usage["input_tokens"].as_u64().unwrap(),
        ["input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens"]
            .iter()
            .map(|k| claude["usage"][k].as_u64().unwrap_or(0))
            .sum::<u64>(),
        "DashScope's input counts cached tokens, as OpenAI's does"
    );
}

#[test]
fn errors_translate_both_ways() {
    let error = json!({"code": "InvalidApiKey", "message": "Invalid API-key provided.", "request_id": "r1"});
    assert_eq!(qwen::read_error(&error), Some(("InvalidApiKey".into(), "Invalid API-key provided.".into())));
    assert!(qwen::read_reply(&error).unwrap_err().to_string().contains("Invalid API-key provided."));
    assert_eq!(qwen::read_error(&json!({"code": "", "output": {"choices": []}})), None, "a success may say code \"\"");
    let openai = translate::error(Protocol::Qwen, Protocol::OpenAi, 401, error.to_string().as_bytes());
    assert_eq!(
        openai["error"],
        json!({"message": "Invalid API-key provided.", "type": "InvalidApiKey", "param": null, "code": null})
    );
    let claude = translate::error(
        Protocol::Qwen,
        Protocol::Anthropic,
        429,
        br#"{"code":"Throttling.RateQuota","message":"Requests rate limit exceeded, please try again later.","request_id":"r2"}"#,
    );
    assert_eq!(claude["error"]["type"], "rate_limit_error");
    assert_eq!(claude["error"]["message"], "Requests rate limit exceeded, please try again later.");

    let from_openai = translate::error(
        Protocol::OpenAi,
        Protocol::Qwen,
        429,
        br#"{"error":{"type":"rate_limit_error","message":"slow down"}}"#,
    );
    assert_eq!(from_openai, json!({"code": "Throttling", "message": "slow down", "request_id": ""}));
    let from_claude = translate::error(
        Protocol::Anthropic,
        Protocol::Qwen,
        400,
        br#"{"type":"error","error":{"type":"invalid_request_error","message":"max_tokens: too large"}}"#,
    );
    assert_eq!(from_claude["code"], "InvalidParameter");
    let unreadable = translate::error(Protocol::OpenAi, Protocol::Qwen, 502, b"<html>bad gateway</html>");
    assert_eq!(unreadable, json!({"code": "InternalError", "message": "<html>bad gateway</html>", "request_id": ""}));
    assert_eq!(
        qwen::write_error("DataInspectionFailed", "x")["code"],
        "DataInspectionFailed",
        "DashScope's own codes pass"
    );
}
