//! Anthropic streams: a recorded-shape stream decoded into events and written back, split at
//! any byte; events from another provider written as a stream Anthropic's SDKs accumulate.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use higress_ai::anthropic::{write_reply, StreamDecoder, StreamEncoder};
use higress_ai::chat::{Event, EventSink, FinishReason, Part, Reply};
use higress_ai::Usage;
use higress_sdk::sse::{SseEvent, SseParser};
use proptest::prelude::*;
use serde_json::{json, Value};

const TOOLS: &str = include_str!("fixtures/anthropic/stream_tools.sse");
const TOOLS_ENCODED: &str = include_str!("fixtures/anthropic/stream_tools.encoded.sse");
const ERROR: &str = include_str!("fixtures/anthropic/stream_error.sse");

/// Feeds `chunks` through the SSE parser and the decoder: the events, in order.
fn decode_chunks<'a>(chunks: impl IntoIterator<Item = &'a [u8]>) -> Vec<Event> {
    let mut parser = SseParser::new();
    let mut decoder = StreamDecoder::new();
    let mut events = Vec::new();
    for chunk in chunks {
        for event in parser.feed(chunk) {
            events.extend(decoder.decode(&event).unwrap());
        }
    }
    if let Some(event) = parser.finish() {
        events.extend(decoder.decode(&event).unwrap());
    }
    events
}

fn decode(stream: &str) -> Vec<Event> {
    decode_chunks([stream.as_bytes()])
}

/// Writes `events` with a new encoder, then ends the stream.
fn encode(events: impl IntoIterator<Item = Event>) -> String {
    let mut encoder = StreamEncoder::new();
    let mut out = Vec::new();
    for event in events {
        encoder.event(event, &mut out);
    }
    encoder.finish(&mut out);
    String::from_utf8(out).unwrap()
}

/// Upstream bytes split at `cuts` → decoder → encoder, each chunk's output appended as the
/// gateway would send it.
fn translate_split(bytes: &[u8], cuts: &[usize]) -> String {
    let mut parser = SseParser::new();
    let mut decoder = StreamDecoder::new();
    let mut encoder = StreamEncoder::new();
    let mut out = Vec::new();
    let mut from = 0;
    for &cut in cuts.iter().chain([&bytes.len()]) {
        for event in parser.feed(bytes.get(from..cut).unwrap_or_default()) {
            for event in decoder.decode(&event).unwrap() {
                encoder.event(event, &mut out);
            }
        }
        from = cut;
    }
    if let Some(event) = parser.finish() {
        for event in decoder.decode(&event).unwrap() {
            encoder.event(event, &mut out);
        }
    }
    encoder.finish(&mut out);
    String::from_utf8(out).unwrap()
}

fn usage(json: Value) -> Usage {
    let mut usage = Usage::default();
    usage.update(&json!({ "usage": json }));
    usage
}

#[test]
fn recorded_stream_decodes_to_events() {
    let start_usage = usage(
        json!({"input_tokens": 472, "cache_creation_input_tokens": 1024, "cache_read_input_tokens": 20480, "output_tokens": 2}),
    );
    let mut end_usage = start_usage;
    end_usage.output = Some(89);
    assert_eq!(
        decode(TOOLS),
        vec![
            Event::Start { id: "msg_01XFDUDYJgAACzvnptvVoYEL".into(), model: "claude-sonnet-4-5-20250929".into() },
            Event::Usage(start_usage),
            Event::Reasoning("Two cities, so two weather calls; ".into()),
            Event::Reasoning("they can run in parallel.".into()),
            Event::ReasoningSignature(
                "ErUBCkYIAxgCIkDm5ZrqmLTR3Vj9wWxKQ9pBT9cZtC3s8x1z0G5kMoA2hJtXy3bNq8sF7eVd4rPwKz6mYt2cUgX1aLnQ".into()
            ),
            Event::Text("I'll check the weather ".into()),
            Event::Text("in both cities — “Paris” first.".into()),
            // Block index 2 is the reply's tool call 0 (Go passed 2 on).
            Event::ToolCall { index: 0, id: "toolu_01T1x1fJ34qAmk2tNTrN7Up6".into(), name: "get_weather".into() },
            Event::ToolArguments { index: 0, json: r#"{"city": "Par"#.into() },
            Event::ToolArguments { index: 0, json: r#"is", "unit": "celsius"}"#.into() },
            Event::ToolCall { index: 1, id: "toolu_01Vb9hXy2PqR5sT8uW3zA6cD".into(), name: "get_time".into() },
            // A call without arguments gets `{}` (OpenAI clients parse them).
            Event::ToolArguments { index: 1, json: "{}".into() },
            Event::Finish(FinishReason::ToolCalls),
            // message_delta's output_tokens (89) replaces message_start's (2): it is a running
            // total (Go added them: 91). Input and cache counts stay.
            Event::Usage(end_usage),
        ]
    );
    assert_eq!(end_usage.output, Some(89));
    assert_eq!(end_usage.prompt_tokens(), Some(472 + 1024 + 20480));
}

#[test]
fn recorded_stream_is_written_back() {
    let encoded = encode(decode(TOOLS));
    assert_eq!(encoded, TOOLS_ENCODED);
    // Read again, it says the same: nothing was lost on the way.
    assert_eq!(decode(&encoded), decode(TOOLS));
    // And an Anthropic client accumulates the reply the non-streamed reply would be.
    let reply = Reply {
        id: "msg_01XFDUDYJgAACzvnptvVoYEL".into(),
        model: "claude-sonnet-4-5-20250929".into(),
        parts: vec![
            Part::Reasoning {
                text: "Two cities, so two weather calls; they can run in parallel.".into(),
                signature: Some(
                    "ErUBCkYIAxgCIkDm5ZrqmLTR3Vj9wWxKQ9pBT9cZtC3s8x1z0G5kMoA2hJtXy3bNq8sF7eVd4rPwKz6mYt2cUgX1aLnQ"
                        .into(),
                ),
            },
            Part::Text { text: "I'll check the weather in both cities — “Paris” first.".into(), cache: None },
            Part::ToolCall {
                id: "toolu_01T1x1fJ34qAmk2tNTrN7Up6".into(),
                name: "get_weather".into(),
                arguments: r#"{"city":"Paris","unit":"celsius"}"#.into(),
            },
            Part::ToolCall {
                id: "toolu_01Vb9hXy2PqR5sT8uW3zA6cD".into(),
                name: "get_time".into(),
                arguments: "{}".into(),
            },
        ],
        finish: Some(FinishReason::ToolCalls),
        usage: usage(
            json!({"input_tokens": 472, "cache_creation_input_tokens": 1024, "cache_read_input_tokens": 20480, "output_tokens": 89}),
        ),
        created: None,
    };
    assert_eq!(accumulate(&encoded), write_reply(&reply));
}

proptest! {
    /// The stream split at any bytes translates to the same bytes as whole.
    #[test]
    fn any_split_translates_the_same(cuts in proptest::collection::vec(0usize..4000, 0..24), which in 0usize..2) {
        let stream = [TOOLS, ERROR][which].as_bytes();
        let whole = translate_split(stream, &[]);
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (stream.len() + 1)).collect();
        cuts.sort_unstable();
        prop_assert_eq!(translate_split(stream, &cuts), whole);
    }
}

#[test]
fn every_single_split_point_and_crlf() {
    let whole = translate_split(TOOLS.as_bytes(), &[]);
    assert_eq!(whole, TOOLS_ENCODED);
    for cut in 0..=TOOLS.len() {
        assert_eq!(translate_split(TOOLS.as_bytes(), &[cut]), whole, "cut at {cut}");
    }
    let crlf = TOOLS.replace('\n', "\r\n");
    assert_eq!(translate_split(crlf.as_bytes(), &[]), whole);
    // Without its last blank line the stream still ends whole.
    assert_eq!(translate_split(TOOLS.trim_end().as_bytes(), &[]), whole);
}

#[test]
fn error_event_is_passed_on() {
    let events = decode(ERROR);
    assert_eq!(events.last(), Some(&Event::Error { kind: "overloaded_error".into(), message: "Overloaded".into() }));
    assert_eq!(events.len(), 4);
    // Written as Anthropic does: the error ends the stream; no message_stop follows it.
    let encoded = encode(events);
    assert!(encoded.ends_with(
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"text\":\"Hel\",\"type\":\"text_delta\"},\"index\":0}\n\n\
         event: error\ndata: {\"type\":\"error\",\"error\":{\"message\":\"Overloaded\",\"type\":\"overloaded_error\"}}\n\n"
    ));
    assert!(!encoded.contains("message_stop"));
}

fn sse(event: &str, data: Value) -> SseEvent {
    SseEvent { event: Some(event.into()), data: Some(data.to_string()), ..SseEvent::default() }
}

#[test]
fn decoder_edges() {
    let mut decoder = StreamDecoder::new();
    // Keep-alives, comments and events added to the protocol later say nothing.
    assert_eq!(decoder.decode(&SseEvent { comments: vec!["keep-alive".into()], ..SseEvent::default() }), Ok(vec![]));
    assert_eq!(decoder.decode(&sse("ping", json!({"type": "ping"}))), Ok(vec![]));
    assert_eq!(decoder.decode(&SseEvent::data("[DONE]")), Ok(vec![]));
    assert_eq!(decoder.decode(&sse("message_stop", json!({"type": "message_stop"}))), Ok(vec![]));
    assert_eq!(decoder.decode(&sse("future_event", json!({"type": "future_event", "x": 1}))), Ok(vec![]));
    // The type may come from the `event:` line alone.
    let start = decoder.decode(&sse("message_start", json!({"message": {"id": "msg_1", "model": "m"}})));
    assert_eq!(start, Ok(vec![Event::Start { id: "msg_1".into(), model: "m".into() }]));

    // A server-side tool block and its input deltas are dropped; the next client tool call
    // is still call 0. Text a block starts with is passed on.
    let events: Vec<Event> = [
        sse("content_block_start", json!({"type": "content_block_start", "index": 0, "content_block": {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {}}})),
        sse("content_block_delta", json!({"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": "{\"query\":\"x\"}"}})),
        sse("content_block_stop", json!({"type": "content_block_stop", "index": 0})),
        sse("content_block_start", json!({"type": "content_block_start", "index": 1, "content_block": {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": []}})),
        sse("content_block_start", json!({"type": "content_block_start", "index": 2, "content_block": {"type": "text", "text": "Found: "}})),
        sse("content_block_delta", json!({"type": "content_block_delta", "index": 2, "delta": {"type": "citations_delta", "citation": {}}})),
        sse("content_block_start", json!({"type": "content_block_start", "index": 3, "content_block": {"type": "tool_use", "id": "toolu_9", "name": "save", "input": {"all": true}}})),
        sse("content_block_stop", json!({"type": "content_block_stop", "index": 3})),
        sse("content_block_start", json!({"type": "content_block_start", "index": 4, "content_block": {"type": "redacted_thinking", "data": "EmwK"}})),
        sse("message_delta", json!({"type": "message_delta", "delta": {"stop_reason": "stop_sequence", "stop_sequence": "END"}})),
    ]
    .iter()
    .flat_map(|event| decoder.decode(event).unwrap())
    .collect();
    assert_eq!(
        events,
        vec![
            Event::Text("Found: ".into()),
            Event::ToolCall { index: 0, id: "toolu_9".into(), name: "save".into() },
            // An input given whole at the start is the arguments; no `{}` is added at the stop.
            Event::ToolArguments { index: 0, json: r#"{"all":true}"#.into() },
            Event::Finish(FinishReason::StopSequence(Some("END".into()))),
        ]
    );

    let bad = [
        (SseEvent::data("not json"), "event data: expected a JSON object"),
        (sse("content_block_delta", json!([1])), "content_block_delta data: expected a JSON object"),
        (
            sse("content_block_delta", json!({"type": "content_block_delta", "delta": {}})),
            "content_block_delta.index: expected a non-negative integer",
        ),
        (
            sse(
                "content_block_delta",
                json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta"}}),
            ),
            "content_block_delta.delta.text: expected a string",
        ),
        (
            sse("content_block_start", json!({"type": "content_block_start", "index": 0})),
            "content_block_start.content_block: expected an object",
        ),
        (
            sse(
                "content_block_start",
                json!({"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use", "name": "f"}}),
            ),
            "content_block_start.content_block.id: expected a string",
        ),
        (sse("message_start", json!({"type": "message_start"})), "message_start.message: expected an object"),
        (sse("error", json!({"type": "error", "error": "boom"})), "error.error.type: expected a string"),
        (sse("x", json!({"type": 7})), "x.type: expected a string"),
    ];
    for (event, expected) in bad {
        assert_eq!(StreamDecoder::new().decode(&event).unwrap_err().0, expected, "{:?}", event.data);
    }
}

/// Events as the OpenAI adapter decodes a chat completions stream (reasoning model, two
/// parallel tool calls whose arguments interleave, usage in the last chunk).
fn openai_events() -> Vec<Event> {
    vec![
        Event::Start { id: "chatcmpl-9x1".into(), model: "deepseek-reasoner".into() },
        Event::Reasoning("Look up ".into()),
        Event::Reasoning("both.".into()),
        Event::Text("Checking.".into()),
        Event::ToolCall { index: 0, id: "call_a".into(), name: "weather".into() },
        Event::ToolArguments { index: 0, json: r#"{"city":"#.into() },
        Event::ToolCall { index: 1, id: "call_b".into(), name: "time".into() },
        Event::ToolArguments { index: 1, json: r#"{"tz":"CET"}"#.into() },
        Event::ToolArguments { index: 0, json: r#""Paris"}"#.into() },
        Event::Finish(FinishReason::ToolCalls),
        Event::Usage(usage(json!({"prompt_tokens": 2006, "completion_tokens": 300, "total_tokens": 2306,
            "prompt_tokens_details": {"cached_tokens": 1920}}))),
    ]
}

#[test]
fn openai_events_become_a_stream_the_sdk_accepts() {
    let encoded = encode(openai_events());
    let lines: Vec<&str> = encoded.lines().filter_map(|line| line.strip_prefix("data: ")).collect();
    let expected = [
        // Usage came last: message_start has none yet; message_delta carries it.
        r#"{"type":"message_start","message":{"content":[],"id":"chatcmpl-9x1","model":"deepseek-reasoner","role":"assistant","stop_reason":null,"stop_sequence":null,"type":"message","usage":{"input_tokens":0,"output_tokens":0}}}"#,
        r#"{"type":"content_block_start","content_block":{"thinking":"","type":"thinking"},"index":0}"#,
        r#"{"type":"content_block_delta","delta":{"thinking":"Look up ","type":"thinking_delta"},"index":0}"#,
        r#"{"type":"content_block_delta","delta":{"thinking":"both.","type":"thinking_delta"},"index":0}"#,
        r#"{"type":"content_block_stop","index":0}"#,
        r#"{"type":"content_block_start","content_block":{"text":"","type":"text"},"index":1}"#,
        r#"{"type":"content_block_delta","delta":{"text":"Checking.","type":"text_delta"},"index":1}"#,
        r#"{"type":"content_block_stop","index":1}"#,
        r#"{"type":"content_block_start","content_block":{"id":"call_a","input":{},"name":"weather","type":"tool_use"},"index":2}"#,
        r#"{"type":"content_block_delta","delta":{"partial_json":"{\"city\":","type":"input_json_delta"},"index":2}"#,
        // call_b began while call_a was open: held; call_a's later arguments still stream.
        r#"{"type":"content_block_delta","delta":{"partial_json":"\"Paris\"}","type":"input_json_delta"},"index":2}"#,
        r#"{"type":"content_block_stop","index":2}"#,
        r#"{"type":"content_block_start","content_block":{"id":"call_b","input":{},"name":"time","type":"tool_use"},"index":3}"#,
        r#"{"type":"content_block_delta","delta":{"partial_json":"{\"tz\":\"CET\"}","type":"input_json_delta"},"index":3}"#,
        r#"{"type":"content_block_stop","index":3}"#,
        // Cached tokens are not input tokens.
        r#"{"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"cache_read_input_tokens":1920,"input_tokens":86,"output_tokens":300}}"#,
        r#"{"type":"message_stop"}"#,
    ];
    assert_eq!(lines, expected);
    // Each `event:` line names the data's type.
    for (event, data) in encoded.lines().filter(|l| l.starts_with("event: ")).zip(&lines) {
        let data: Value = serde_json::from_str(data).unwrap();
        assert_eq!(event.trim_start_matches("event: "), data["type"]);
    }
    let reply = Reply {
        id: "chatcmpl-9x1".into(),
        model: "deepseek-reasoner".into(),
        parts: vec![
            Part::Reasoning { text: "Look up both.".into(), signature: None },
            Part::Text { text: "Checking.".into(), cache: None },
            Part::ToolCall { id: "call_a".into(), name: "weather".into(), arguments: r#"{"city":"Paris"}"#.into() },
            Part::ToolCall { id: "call_b".into(), name: "time".into(), arguments: r#"{"tz":"CET"}"#.into() },
        ],
        finish: Some(FinishReason::ToolCalls),
        usage: usage(
            json!({"prompt_tokens": 2006, "completion_tokens": 300, "prompt_tokens_details": {"cached_tokens": 1920}}),
        ),
        created: None,
    };
    let mut accumulated = accumulate(&encoded);
    // A streamed thinking block without a signature_delta has no signature; the whole reply
    // writes "" for it.
    accumulated["content"][0]["signature"] = json!("");
    assert_eq!(accumulated, write_reply(&reply));
}

#[test]
fn encoder_edges() {
    // No Start, no finish reason, no usage: message_start is still first, and the stream
    // ends with end_turn, exactly once.
    let mut encoder = StreamEncoder::new();
    let mut out = Vec::new();
    encoder.event(Event::Text("Hi".into()), &mut out);
    encoder.event(Event::Text(String::new()), &mut out);
    encoder.finish(&mut out);
    encoder.finish(&mut out);
    encoder.event(Event::Text("late".into()), &mut out);
    let text = String::from_utf8(out).unwrap();
    assert_eq!(text.matches("event: message_start").count(), 1);
    assert_eq!(text.matches("event: message_delta").count(), 1);
    assert_eq!(text.matches("event: message_stop").count(), 1);
    assert!(text.contains(r#""delta":{"stop_reason":"end_turn","stop_sequence":null}"#));
    assert!(!text.contains("late"));
    let message = accumulate(&text);
    assert_eq!(message["content"], json!([{"type": "text", "text": "Hi"}]));
    assert_eq!(message["id"], json!(""));

    // An empty stream is still a whole (empty) message.
    let message = accumulate(&encode([]));
    assert_eq!(message["content"], json!([]));
    assert_eq!(message["stop_reason"], json!("end_turn"));

    // Tool calls without a finish reason: tool_use, so the client runs them.
    let events = [
        Event::ToolCall { index: 0, id: "call_1".into(), name: "f".into() },
        Event::ToolArguments { index: 0, json: "{}".into() },
    ];
    assert_eq!(accumulate(&encode(events))["stop_reason"], json!("tool_use"));

    // A signature ends its thinking block: reasoning after it, or after text, opens another;
    // a signature with no thinking block open gets one. Usage before content reaches
    // message_start; a later Start does not rename the message.
    let events = [
        Event::Start { id: "msg_1".into(), model: "claude".into() },
        Event::Usage(usage(json!({"input_tokens": 10, "cache_read_input_tokens": 5, "output_tokens": 1}))),
        Event::Reasoning("a".into()),
        Event::ReasoningSignature("sig1".into()),
        Event::Reasoning("b".into()),
        Event::Text("t".into()),
        Event::ReasoningSignature("sig2".into()),
        Event::Start { id: "msg_2".into(), model: "other".into() },
        Event::Usage(usage(json!({"output_tokens": 7}))),
        Event::Finish(FinishReason::StopSequence(Some("STOP".into()))),
    ];
    let encoded = encode(events);
    assert!(encoded.contains(r#""usage":{"cache_read_input_tokens":5,"input_tokens":10,"output_tokens":1}}}"#));
    let message = accumulate(&encoded);
    assert_eq!(
        message,
        json!({
            "id": "msg_1", "type": "message", "role": "assistant", "model": "claude",
            "content": [
                {"type": "thinking", "thinking": "a", "signature": "sig1"},
                {"type": "thinking", "thinking": "b"},
                {"type": "text", "text": "t"},
                {"type": "thinking", "thinking": "", "signature": "sig2"}
            ],
            "stop_reason": "stop_sequence", "stop_sequence": "STOP",
            "usage": {"input_tokens": 10, "output_tokens": 7, "cache_read_input_tokens": 5}
        })
    );

    // Arguments for a call never started, or for one closed before text came, are dropped;
    // a call started twice is one call.
    let events = [
        Event::ToolArguments { index: 5, json: "{}".into() },
        Event::ToolCall { index: 0, id: "call_1".into(), name: "f".into() },
        Event::ToolCall { index: 0, id: "call_1".into(), name: "f".into() },
        Event::ToolArguments { index: 0, json: r#"{"a":1}"#.into() },
        Event::Text("done".into()),
        Event::ToolArguments { index: 0, json: "garbage".into() },
    ];
    let message = accumulate(&encode(events));
    assert_eq!(
        message["content"],
        json!([{"type": "tool_use", "id": "call_1", "name": "f", "input": {"a": 1}}, {"type": "text", "text": "done"}])
    );

    // An error event without a type is an api_error.
    let encoded = encode([Event::Error { kind: String::new(), message: "upstream reset".into() }]);
    assert_eq!(
        encoded,
        "event: error\ndata: {\"type\":\"error\",\"error\":{\"message\":\"upstream reset\",\"type\":\"api_error\"}}\n\n"
    );
}

/// Accumulates a stream into the final message as Anthropic's SDKs do (the TypeScript SDK's
/// `MessageStream`), failing on anything they would reject or misplace: blocks must start at
/// the next index, deltas must go to the open block of their kind, and every event's
/// `event:` name must be its data's `type`.
fn accumulate(stream: &str) -> Value {
    let mut message = Value::Null;
    let mut open: Option<usize> = None;
    let mut json_buffers: Vec<String> = Vec::new();
    let mut stopped = false;
    let mut parser = SseParser::new();
    let events = parser.feed(stream.as_bytes());
    assert!(parser.finish().is_none(), "the stream ends with a whole event");
    for event in events {
        assert!(!stopped, "nothing after message_stop");
        let data: Value = serde_json::from_str(event.data.as_deref().unwrap()).unwrap();
        let kind = data["type"].as_str().unwrap();
        assert_eq!(event.event.as_deref(), Some(kind));
        match kind {
            "message_start" => {
                assert!(message.is_null(), "one message_start");
                message = data["message"].clone();
                assert_eq!(message["content"], json!([]));
            }
            "content_block_start" => {
                assert_eq!(open, None, "one block open at a time");
                let index = data["index"].as_u64().unwrap() as usize;
                let content = message["content"].as_array_mut().unwrap();
                assert_eq!(index, content.len(), "blocks start at the next index");
                content.push(data["content_block"].clone());
                json_buffers.push(String::new());
                open = Some(index);
            }
            "content_block_delta" => {
                let index = data["index"].as_u64().unwrap() as usize;
                assert_eq!(open, Some(index), "deltas go to the open block");
                let block = &mut message["content"][index];
                let delta = &data["delta"];
                let append = |block: &mut Value, field: &str, text: &Value| {
                    let now = block[field].as_str().unwrap_or_default().to_string();
                    block[field] = json!(now + text.as_str().unwrap());
                };
                match (delta["type"].as_str().unwrap(), block["type"].as_str().unwrap()) {
                    ("text_delta", "text") => append(block, "text", &delta["text"]),
                    ("thinking_delta", "thinking") => append(block, "thinking", &delta["thinking"]),
                    ("signature_delta", "thinking") => block["signature"] = delta["signature"].clone(),
                    ("input_json_delta", "tool_use") => json_buffers[index] += delta["partial_json"].as_str().unwrap(),
                    (delta, block) => panic!("{delta} in a {block} block"),
                }
            }
            "content_block_stop" => {
                let index = data["index"].as_u64().unwrap() as usize;
                assert_eq!(open, Some(index), "the open block stops");
                if !json_buffers[index].is_empty() {
                    message["content"][index]["input"] = serde_json::from_str(&json_buffers[index]).unwrap();
                }
                open = None;
            }
            "message_delta" => {
                assert_eq!(open, None, "blocks are closed before message_delta");
                message["stop_reason"] = data["delta"]["stop_reason"].clone();
                message["stop_sequence"] = data["delta"]["stop_sequence"].clone();
                for (key, value) in data["usage"].as_object().unwrap() {
                    message["usage"][key] = value.clone();
                }
            }
            "message_stop" => stopped = true,
            "ping" => {}
            other => panic!("unexpected event {other}"),
        }
    }
    assert!(stopped, "the stream ends with message_stop");
    message
}
