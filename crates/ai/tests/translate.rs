//! Protocols joined through the chat model: streams translated chunk by chunk in both
//! directions (split anywhere, interleaved with other streams, with oversized and garbage
//! events), and whole requests, replies and errors.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use higress_ai::chat::Event;
use higress_ai::translate::{self, Protocol, StreamTranslator};
use proptest::prelude::*;
use serde_json::{json, Value};

mod common;

use common::*;

#[test]
fn an_anthropic_stream_reaches_an_openai_client() {
    let out = translate_split(Protocol::Anthropic, Protocol::OpenAi, &fixture("anthropic/stream_tools.sse"), &[]);
    let text = String::from_utf8(out.clone()).unwrap();
    assert!(text.ends_with("data: [DONE]\n\n"), "{text}");
    let events = client_events(Protocol::OpenAi, &out);
    assert!(
        matches!(&events[0], Event::Start { id, model } if id == "msg_01XFDUDYJgAACzvnptvVoYEL" && model.starts_with("claude"))
    );
    let tools: Vec<(usize, &str)> = events
        .iter()
        .filter_map(|e| if let Event::ToolCall { index, name, .. } = e { Some((*index, name.as_str())) } else { None })
        .collect();
    assert_eq!(tools.iter().map(|t| t.0).collect::<Vec<_>>(), [0, 1], "tool calls numbered from 0: {tools:?}");
    assert!(events.iter().any(|e| matches!(e, Event::Reasoning(r) if r.contains("two weather calls"))));
    assert!(events.contains(&Event::Finish(higress_ai::chat::FinishReason::ToolCalls)));
    let usage = events.iter().rev().find_map(|e| if let Event::Usage(u) = e { Some(*u) } else { None }).unwrap();
    // OpenAI counts cached prompt tokens within prompt_tokens.
    assert_eq!(usage.input, Some(472 + 1024 + 20480));
    assert_eq!(usage.cache_read, Some(20480));
}

#[test]
fn an_openai_stream_reaches_an_anthropic_client() {
    let out = translate_split(Protocol::OpenAi, Protocol::Anthropic, &fixture("openai/stream.sse"), &[]);
    let text = String::from_utf8(out.clone()).unwrap();
    assert!(text.starts_with("event: message_start\n"), "{text}");
    assert!(text.ends_with("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"), "{text}");
    assert_eq!(text.matches("event: message_stop").count(), 1);
    let events = client_events(Protocol::Anthropic, &out);
    let original = client_events(Protocol::OpenAi, &fixture("openai/stream.sse"));
    assert_eq!(text_of(&events), text_of(&original));
    let calls = |events: &[Event]| -> Vec<(usize, String, String)> {
        let mut calls: Vec<(usize, String, String)> = Vec::new();
        for e in events {
            match e {
                Event::ToolCall { index, name, .. } => calls.push((*index, name.clone(), String::new())),
                Event::ToolArguments { index, json } => {
                    if let Some(call) = calls.iter_mut().find(|c| c.0 == *index) {
                        call.2.push_str(json);
                    }
                }
                _ => {}
            }
        }
        calls
    };
    let sent = calls(&original);
    assert!(!sent.is_empty(), "the fixture calls tools");
    let received = calls(&events);
    assert_eq!(received.len(), sent.len());
    for (a, b) in sent.iter().zip(&received) {
        assert_eq!((a.0, &a.1), (b.0, &b.1));
        let (a, b): (Value, Value) = (serde_json::from_str(&a.2).unwrap(), serde_json::from_str(&b.2).unwrap());
        assert_eq!(a, b, "the arguments arrive whole");
    }
}

#[test]
fn an_azure_stream_gives_an_anthropic_client_the_replys_id_and_model() {
    // Azure's first chunk carries only `prompt_filter_results`, with an empty id and model
    // (the official anthropic SDK then read `id: ""` and `model: ""` from message_start).
    let stream = concat!(
        r#"data: {"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[{"prompt_index":0,"content_filter_results":{"hate":{"filtered":false,"severity":"safe"}}}]}"#,
        "\n\n",
        r#"data: {"choices":[{"content_filter_results":{},"delta":{"content":"","refusal":null,"role":"assistant"},"finish_reason":null,"index":0,"logprobs":null}],"created":1741570283,"id":"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT","model":"gpt-4o-2024-08-06","object":"chat.completion.chunk","system_fingerprint":"fp_b705f0c291"}"#,
        "\n\n",
        r#"data: {"choices":[{"content_filter_results":{},"delta":{"content":"Hi"},"finish_reason":"stop","index":0,"logprobs":null}],"created":1741570283,"id":"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT","model":"gpt-4o-2024-08-06","object":"chat.completion.chunk","system_fingerprint":"fp_b705f0c291"}"#,
        "\n\ndata: [DONE]\n\n",
    );
    let out = translate_split(Protocol::OpenAi, Protocol::Anthropic, stream.as_bytes(), &[]);
    let text = String::from_utf8(out.clone()).unwrap();
    let start = text.lines().nth(1).and_then(|l| l.strip_prefix("data: ")).unwrap();
    let start: Value = serde_json::from_str(start).unwrap();
    assert_eq!(start["type"], "message_start", "{text}");
    assert_eq!(start["message"]["id"], "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT", "{text}");
    assert_eq!(start["message"]["model"], "gpt-4o-2024-08-06", "{text}");
    assert_eq!(text_of(&client_events(Protocol::Anthropic, &out)), "Hi");
}

#[test]
fn every_stream_ends_closed_even_when_the_provider_stops_early() {
    // No [DONE], no finish reason, the last event without its blank line.
    let cut = b"data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}";
    let out = translate_split(Protocol::OpenAi, Protocol::Anthropic, cut, &[]);
    let events = client_events(Protocol::Anthropic, &out);
    assert_eq!(text_of(&events), "Hi", "the unterminated last event is translated");
    assert!(String::from_utf8(out).unwrap().ends_with("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"));
    let empty = translate_split(Protocol::Anthropic, Protocol::OpenAi, b"", &[]);
    assert!(String::from_utf8(empty).unwrap().ends_with("data: [DONE]\n\n"));
}

#[test]
fn an_oversized_event_is_dropped_and_the_stream_goes_on() {
    let chunk = |text: &str| {
        format!(
            "data: {}\n\n",
            json!({"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "m",
                "choices": [{"index": 0, "delta": {"content": text}}]})
        )
    };
    let big = chunk(&"x".repeat(5000));
    let stream = format!("{}{}{}data: [DONE]\n\n", chunk("before "), big, chunk("after"));
    // The bound is on what is held between chunks: an event that arrives whole in one
    // chunk is translated whatever its size.
    let mut whole = StreamTranslator::new(Protocol::OpenAi, Protocol::OpenAi, CREATED, true).with_event_limit(1000);
    let mut out = whole.feed(stream.as_bytes());
    out.extend(whole.finish());
    assert_eq!((whole.dropped(), text_of(&client_events(Protocol::OpenAi, &out)).len()), (0, 5012));
    for piece in [1usize, 7, 64, 999] {
        let mut t = StreamTranslator::new(Protocol::OpenAi, Protocol::OpenAi, CREATED, true).with_event_limit(1000);
        let mut out = Vec::new();
        for part in stream.as_bytes().chunks(piece) {
            out.extend(t.feed(part));
        }
        out.extend(t.finish());
        assert_eq!(t.dropped(), 1, "piece {piece}");
        assert_eq!(text_of(&client_events(Protocol::OpenAi, &out)), "before after", "piece {piece}");
    }
}

#[test]
fn garbage_from_the_provider_is_one_error_event() {
    let stream = b"data: {not json\n\ndata: also not json\n\n";
    let mut t = translator(Protocol::Anthropic, Protocol::OpenAi);
    let mut out = t.feed(stream);
    out.extend(t.finish());
    assert_eq!(t.malformed(), 2);
    let text = String::from_utf8(out).unwrap();
    assert_eq!(text.matches("malformed upstream event").count(), 1, "{text}");
    assert!(text.ends_with("data: [DONE]\n\n"));
}

#[test]
fn interleaved_streams_do_not_share_state() {
    let a = fixture("anthropic/stream_tools.sse");
    let b = fixture("openai/stream.sse");
    let alone_a = translate_split(Protocol::Anthropic, Protocol::OpenAi, &a, &[]);
    let alone_b = translate_split(Protocol::OpenAi, Protocol::Anthropic, &b, &[]);
    let (mut ta, mut tb) =
        (translator(Protocol::Anthropic, Protocol::OpenAi), translator(Protocol::OpenAi, Protocol::Anthropic));
    let (mut out_a, mut out_b) = (Vec::new(), Vec::new());
    let (mut ca, mut cb) = (a.chunks(13), b.chunks(17));
    loop {
        let (na, nb) = (ca.next(), cb.next());
        if na.is_none() && nb.is_none() {
            break;
        }
        out_a.extend(na.map(|c| ta.feed(c)).unwrap_or_default());
        out_b.extend(nb.map(|c| tb.feed(c)).unwrap_or_default());
    }
    out_a.extend(ta.finish());
    out_b.extend(tb.finish());
    assert_eq!(out_a, alone_a);
    assert_eq!(out_b, alone_b);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
    #[test]
    fn a_stream_split_anywhere_translates_the_same(
        cuts in proptest::collection::vec(0usize..6000, 0..12),
        direction in any::<bool>(),
    ) {
        let (from, to, stream) = match direction {
            true => (Protocol::Anthropic, Protocol::OpenAi, fixture("anthropic/stream_tools.sse")),
            false => (Protocol::OpenAi, Protocol::Anthropic, fixture("openai/stream.sse")),
        };
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (stream.len() + 1)).collect();
        cuts.sort_unstable();
        let whole = translate_split(from, to, &stream, &[]);
        prop_assert_eq!(translate_split(from, to, &stream, &cuts), whole);
    }
}

#[test]
fn requests_replies_and_errors_cross_over() {
    let request = json!({
        "model": "gpt-4o",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "developer", "content": "Use metric units."},
            {"role": "user", "content": "Weather in Paris?"}
        ],
        "temperature": 0,
        "tool_choice": "required",
        "tools": [{"type": "function", "function": {"name": "weather", "parameters": {"type": "object"}}}],
        "stream": true
    });
    let claude = translate::request(Protocol::OpenAi, Protocol::Anthropic, &request).unwrap();
    assert_eq!(claude["temperature"], json!(0), "temperature 0 survives");
    assert_eq!(claude["tool_choice"], json!({"type": "any"}));
    assert_eq!(claude["max_tokens"], json!(4096));
    let system = claude["system"].to_string();
    assert!(system.contains("Be brief.") && system.contains("Use metric units."), "every system message: {system}");
    let back = translate::request(Protocol::Anthropic, Protocol::OpenAi, &claude).unwrap();
    assert_eq!(back["tool_choice"], json!("required"));
    assert_eq!(back["stream_options"], json!({"include_usage": true}));

    let reply = json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-x",
        "content": [{"type": "text", "text": "Sunny, "}, {"type": "text", "text": "21 C."}],
        "stop_reason": "end_turn", "stop_sequence": null,
        "usage": {"input_tokens": 10, "output_tokens": 4, "cache_read_input_tokens": 90}});
    let chat = translate::reply(Protocol::Anthropic, Protocol::OpenAi, &reply).unwrap();
    assert_eq!(chat["choices"][0]["message"]["content"], "Sunny, 21 C.", "every text block");
    assert_eq!(chat["choices"][0]["finish_reason"], "stop");
    assert_eq!(chat["usage"]["prompt_tokens"], 100);
    assert_eq!(chat["usage"]["prompt_tokens_details"]["cached_tokens"], 90);

    let overloaded = br#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
    let error = translate::error(Protocol::Anthropic, Protocol::OpenAi, 529, overloaded);
    assert_eq!(error["error"]["type"], "overloaded_error");
    assert_eq!(error["error"]["message"], "Overloaded");
    let foreign = br#"{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}"#;
    let mapped = translate::error(Protocol::OpenAi, Protocol::Anthropic, 429, foreign);
    assert_eq!(mapped["error"], json!({"type": "rate_limit_error", "message": "Rate limit reached"}));
    let plain = translate::error(Protocol::OpenAi, Protocol::Anthropic, 429, b"slow down");
    assert_eq!(plain, json!({"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}}));
    let empty = translate::error(Protocol::OpenAi, Protocol::Anthropic, 502, b"");
    assert_eq!(empty["error"]["message"], "upstream answered 502");
    assert!(translate::request(Protocol::OpenAi, Protocol::Anthropic, &json!({"messages": 3})).is_err());
}
