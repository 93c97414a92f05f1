//! OpenAI chat completion streams: decoded from a provider (AI-PLUGINS.md 1.2) and encoded
//! for a client (1.1), whole and split at any byte.
// Tests fail loudly: helpers outside #[test] functions may unwrap and index too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use higress_ai::chat::{Event, EventSink, FinishReason};
use higress_ai::openai::{StreamDecoder, StreamEncoder};
use higress_ai::Usage;
use higress_sdk::sse::{SseEvent, SseParser};
use proptest::prelude::*;
use serde_json::{json, Value};

const STREAM: &str = include_str!("fixtures/openai/stream.sse");
const ID: &str = "chatcmpl-AyPq3rXwJ9kZ8bN1mC2vB3nM4";
const MODEL: &str = "gpt-4o-2024-08-06";

/// Feeds `chunks` through the SSE parser and the decoder.
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

fn encode(events: &[Event], created: u64) -> Vec<u8> {
    let mut encoder = StreamEncoder::new(created);
    let mut out = Vec::new();
    for event in events {
        encoder.event(event.clone(), &mut out);
    }
    encoder.finish(&mut out);
    out
}

/// The `data:` of every event of an encoded stream, as JSON (`[DONE]` as a string).
fn chunks(bytes: &[u8]) -> Vec<Value> {
    let mut parser = SseParser::new();
    let mut events = parser.feed(bytes);
    assert_eq!(parser.finish(), None, "the stream ends with a blank line");
    events
        .drain(..)
        .map(|e| {
            assert_eq!((e.event.as_deref(), e.id.as_deref()), (None, None));
            let data = e.data.unwrap();
            serde_json::from_str(&data).unwrap_or(Value::String(data))
        })
        .collect()
}

fn expected_usage() -> Usage {
    let mut usage = Usage::default();
    usage.update(&json!({"usage": {"prompt_tokens": 1117, "completion_tokens": 46, "total_tokens": 1163,
        "prompt_tokens_details": {"cached_tokens": 1024, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 20, "audio_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}}}));
    usage
}

fn expected_events() -> Vec<Event> {
    vec![
        Event::Start { id: ID.into(), model: MODEL.into() },
        Event::Reasoning("The user wants ".into()),
        Event::Reasoning("two cities.".into()),
        Event::Text("Let me check ".into()),
        Event::Text("both cities.".into()),
        Event::ToolCall { index: 0, id: "call_Dg8sQ7y2Hn1kVb4Rj0pL3xWe".into(), name: "get_weather".into() },
        Event::ToolArguments { index: 0, json: "{\"city\":".into() },
        Event::ToolArguments { index: 0, json: "\"Paris\"}".into() },
        Event::ToolCall { index: 1, id: "call_5TzNq9Ka2Lm7Pw3Ys8Xc1Vb0".into(), name: "get_weather".into() },
        Event::ToolArguments { index: 1, json: "{\"city\":\"Tokyo\"}".into() },
        Event::Finish(FinishReason::ToolCalls),
        Event::Usage(expected_usage()),
    ]
}

#[test]
fn decodes_a_full_stream() {
    assert_eq!(decode_chunks([STREAM.as_bytes()]), expected_events());
    // CRLF line endings decode the same.
    let crlf = STREAM.replace('\n', "\r\n");
    assert_eq!(decode_chunks([crlf.as_bytes()]), expected_events());
}

#[test]
fn encodes_a_full_stream() {
    let out = encode(&expected_events(), 1741570290);
    let text = String::from_utf8(out.clone()).unwrap();
    assert!(text.ends_with("data: [DONE]\n\n"));
    let chunk = |delta: Value, finish: Value| {
        json!({"id": ID, "object": "chat.completion.chunk", "created": 1741570290, "model": MODEL,
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}]})
    };
    let call = |index: usize, id: &str| json!({"tool_calls": [{"index": index, "id": id, "type": "function", "function": {"name": "get_weather", "arguments": ""}}]});
    let args = |index: usize, json: &str| json!({"tool_calls": [{"index": index, "function": {"arguments": json}}]});
    assert_eq!(
        chunks(&out),
        vec![
            chunk(json!({"role": "assistant", "content": ""}), Value::Null),
            chunk(json!({"reasoning_content": "The user wants "}), Value::Null),
            chunk(json!({"reasoning_content": "two cities."}), Value::Null),
            chunk(json!({"content": "Let me check "}), Value::Null),
            chunk(json!({"content": "both cities."}), Value::Null),
            chunk(call(0, "call_Dg8sQ7y2Hn1kVb4Rj0pL3xWe"), Value::Null),
            chunk(args(0, "{\"city\":"), Value::Null),
            chunk(args(0, "\"Paris\"}"), Value::Null),
            chunk(call(1, "call_5TzNq9Ka2Lm7Pw3Ys8Xc1Vb0"), Value::Null),
            chunk(args(1, "{\"city\":\"Tokyo\"}"), Value::Null),
            chunk(json!({}), json!("tool_calls")),
            json!({"id": ID, "object": "chat.completion.chunk", "created": 1741570290, "model": MODEL, "choices": [],
                "usage": {"prompt_tokens": 1117, "completion_tokens": 46, "total_tokens": 1163,
                    "prompt_tokens_details": {"cached_tokens": 1024}, "completion_tokens_details": {"reasoning_tokens": 20}}}),
            json!("[DONE]"),
        ]
    );
    // What the encoder writes decodes to what it was given.
    assert_eq!(decode_chunks([out.as_slice()]), expected_events());
}

/// Events as the Anthropic decoder gives them: usage in two pieces (input and cache at
/// `message_start`, cumulative output at `message_delta`), a signature, tool calls numbered
/// by ordinal.
#[test]
fn encodes_an_anthropic_stream() {
    let mut start_usage = Usage::default();
    start_usage.update(&json!({"message": {"usage": {"input_tokens": 25, "output_tokens": 1,
        "cache_read_input_tokens": 1000, "cache_creation_input_tokens": 200}}}));
    let mut end_usage = Usage::default();
    end_usage.update(&json!({"usage": {"output_tokens": 87}}));
    let events = vec![
        Event::Start { id: "msg_01XFDUDYJgAACzvnptvVoYEL".into(), model: "claude-sonnet-4-20250514".into() },
        Event::Usage(start_usage),
        Event::Reasoning("Need the weather.".into()),
        Event::ReasoningSignature("EqQBCkYIBxgCKkA=".into()),
        Event::Text("Checking.".into()),
        Event::ToolCall { index: 0, id: "toolu_01A".into(), name: "get_weather".into() },
        Event::ToolArguments { index: 0, json: String::new() },
        Event::ToolArguments { index: 0, json: "{\"city\": \"Paris\"}".into() },
        Event::Finish(FinishReason::ToolCalls),
        Event::Usage(end_usage),
    ];
    let out = chunks(&encode(&events, 7));
    assert_eq!(out.len(), 8);
    assert_eq!(out[0]["choices"][0]["delta"], json!({"role": "assistant", "content": ""}));
    assert_eq!(out[0]["id"], "msg_01XFDUDYJgAACzvnptvVoYEL");
    assert_eq!(out[1]["choices"][0]["delta"], json!({"reasoning_content": "Need the weather."}));
    assert_eq!(out[2]["choices"][0]["delta"], json!({"content": "Checking."}));
    // The tool call is 0, not Anthropic's content block 2 (Go wrote the block index).
    assert_eq!(out[3]["choices"][0]["delta"]["tool_calls"][0]["index"], 0);
    assert_eq!(out[4]["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"], "{\"city\": \"Paris\"}");
    assert_eq!(out[5]["choices"][0]["finish_reason"], "tool_calls");
    // Output replaced by the later, cumulative count (Go added them); cached tokens counted.
    assert_eq!(
        out[6]["usage"],
        json!({"prompt_tokens": 1225, "completion_tokens": 87, "total_tokens": 1312, "prompt_tokens_details": {"cached_tokens": 1000}})
    );
    assert_eq!(out[6]["choices"], json!([]));
    assert_eq!(out[7], "[DONE]");
    for chunk in &out[..7] {
        assert_eq!((chunk["created"].as_u64(), chunk["model"].as_str()), (Some(7), Some("claude-sonnet-4-20250514")));
    }
}

#[test]
fn errors_done_and_a_stream_without_start() {
    // An error mid-stream (Go dropped it), then [DONE] even so.
    let events =
        [Event::Text("Hel".into()), Event::Error { kind: "overloaded_error".into(), message: "Overloaded".into() }];
    let mut encoder = StreamEncoder::new(1);
    let mut out = Vec::new();
    for event in events {
        encoder.event(event, &mut out);
    }
    encoder.finish(&mut out);
    encoder.finish(&mut out);
    let out = chunks(&out);
    assert_eq!(out.len(), 4, "{out:?}");
    // Content before any Start gets the role chunk first.
    assert_eq!(out[0]["choices"][0]["delta"], json!({"role": "assistant", "content": ""}));
    assert_eq!(out[1]["choices"][0]["delta"], json!({"content": "Hel"}));
    assert_eq!(
        out[2],
        json!({"error": {"message": "Overloaded", "type": "overloaded_error", "param": null, "code": null}})
    );
    assert_eq!(out[3], "[DONE]", "one [DONE], however often finish is called");

    // Nothing at all: still [DONE]. Usage left out when not wanted.
    assert_eq!(encode(&[], 1), b"data: [DONE]\n\n");
    let mut encoder = StreamEncoder::new(1).include_usage(false);
    let mut out = Vec::new();
    encoder.event(Event::Usage(expected_usage()), &mut out);
    encoder.finish(&mut out);
    assert_eq!(out, b"data: [DONE]\n\n");
    // Empty deltas and a second Start write nothing.
    let out = encode(
        &[
            Event::Start { id: "a".into(), model: "m".into() },
            Event::Start { id: "b".into(), model: "n".into() },
            Event::Text(String::new()),
            Event::Reasoning(String::new()),
            Event::ToolArguments { index: 0, json: String::new() },
        ],
        1,
    );
    let out = chunks(&out);
    assert_eq!(out.len(), 2);
    assert_eq!(out[0]["id"], "a");
}

fn decode_one(decoder: &mut StreamDecoder, data: Value) -> Vec<Event> {
    decoder.decode(&SseEvent::data(data.to_string())).unwrap()
}

#[test]
fn decodes_provider_variations() {
    let mut decoder = StreamDecoder::new();
    // OpenRouter: `reasoning`; only choice 0 read.
    let events = decode_one(
        &mut decoder,
        json!({"id": "gen-1", "model": "deepseek/deepseek-r1", "choices": [
            {"index": 1, "delta": {"content": "ignored"}},
            {"index": 0, "delta": {"role": "assistant", "reasoning": "Hmm.", "content": null}}
        ]}),
    );
    assert_eq!(
        events,
        vec![
            Event::Start { id: "gen-1".into(), model: "deepseek/deepseek-r1".into() },
            Event::Reasoning("Hmm.".into())
        ]
    );
    // Azure's first chunk (only `prompt_filter_results`, empty id and model) gives no Start:
    // it comes with the first chunk that names the reply.
    let mut azure = StreamDecoder::new();
    let filter = json!({"choices": [], "created": 0, "id": "", "model": "", "object": "",
        "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": {}}]});
    assert_eq!(decode_one(&mut azure, filter), vec![]);
    assert_eq!(
        decode_one(
            &mut azure,
            json!({"id": "chatcmpl-1", "model": "gpt-4o", "choices": [{"delta": {"content": "A"}}]})
        ),
        vec![Event::Start { id: "chatcmpl-1".into(), model: "gpt-4o".into() }, Event::Text("A".into())]
    );
    // Start is given once.
    assert_eq!(
        decode_one(&mut decoder, json!({"id": "gen-1", "choices": [{"delta": {"content": "A"}}]})),
        vec![Event::Text("A".into())]
    );

    // Gemini's compatible endpoint: whole tool calls without `index`.
    let events = decode_one(
        &mut decoder,
        json!({"choices": [{"delta": {"tool_calls": [
            {"id": "function-call-1", "type": "function", "function": {"name": "a", "arguments": "{}"}},
            {"id": "function-call-2", "type": "function", "function": {"name": "b", "arguments": "{\"x\":1}"}}
        ]}}]}),
    );
    assert_eq!(
        events,
        vec![
            Event::ToolCall { index: 0, id: "function-call-1".into(), name: "a".into() },
            Event::ToolArguments { index: 0, json: "{}".into() },
            Event::ToolCall { index: 1, id: "function-call-2".into(), name: "b".into() },
            Event::ToolArguments { index: 1, json: "{\"x\":1}".into() },
        ]
    );
    // A provider repeating index 0 for a new call (a new id): a new ordinal; a delta without
    // id continues the latest call with that index; one without index continues the last.
    let events = decode_one(
        &mut decoder,
        json!({"choices": [{"delta": {"tool_calls": [
            {"index": 0, "id": "call_c", "function": {"name": "c", "arguments": "{\"y\""}},
            {"index": 0, "function": {"arguments": ":2}"}},
            {"function": {"arguments": " "}}
        ]}}]}),
    );
    assert_eq!(
        events,
        vec![
            Event::ToolCall { index: 2, id: "call_c".into(), name: "c".into() },
            Event::ToolArguments { index: 2, json: "{\"y\"".into() },
            Event::ToolArguments { index: 2, json: ":2}".into() },
            Event::ToolArguments { index: 2, json: " ".into() },
        ]
    );

    // Moonshot: usage inside the choice, with the finish reason.
    let events = decode_one(
        &mut decoder,
        json!({"choices": [{"index": 0, "delta": {}, "finish_reason": "length",
            "usage": {"prompt_tokens": 8, "completion_tokens": 100, "total_tokens": 108}}]}),
    );
    let Event::Usage(usage) = &events[1] else { panic!("{events:?}") };
    assert_eq!(events[0], Event::Finish(FinishReason::Length));
    assert_eq!((usage.input, usage.output, usage.total), (Some(8), Some(100), Some(108)));

    // `usage: null`, keep-alives, empty data and [DONE] carry nothing.
    assert_eq!(decode_one(&mut decoder, json!({"choices": [{"delta": {"content": ""}}], "usage": null})), vec![]);
    for event in [
        SseEvent { comments: vec!["keep-alive".into()], ..SseEvent::default() },
        SseEvent::data(""),
        SseEvent::data(" [DONE] "),
    ] {
        assert_eq!(decoder.decode(&event).unwrap(), vec![]);
    }
}

#[test]
fn decodes_errors_and_refuses_bad_chunks() {
    let mut decoder = StreamDecoder::new();
    assert_eq!(
        decode_one(
            &mut decoder,
            json!({"error": {"message": "The server had an error", "type": "server_error", "code": null}})
        ),
        vec![Event::Error { kind: "server_error".into(), message: "The server had an error".into() }]
    );
    let bad = [
        ("{not json", "data: expected JSON"),
        ("[1]", "body: expected an object"),
        (r#"{"choices": {}}"#, "choices: expected an array"),
        (r#"{"choices": [{"delta": {"content": 5}}]}"#, "choices[0].delta.content: expected a string"),
        (
            r#"{"choices": [{"delta": {"tool_calls": [{"index": -1}]}}]}"#,
            "choices[0].delta.tool_calls[0].index: expected a non-negative integer",
        ),
        (r#"{"choices": [{"delta": {"tool_calls": {}}}]}"#, "choices[0].delta.tool_calls: expected an array"),
        (r#"{"choices": [{"delta": {}, "finish_reason": 3}]}"#, "choices[0].finish_reason: expected a string"),
    ];
    for (data, message) in bad {
        let error = StreamDecoder::new().decode(&SseEvent::data(data)).unwrap_err();
        assert!(error.0.starts_with(message), "{data}: {error}");
    }
}

/// Decoded and re-encoded output of `chunks`, the whole stream given in those pieces.
fn translate<'a>(pieces: impl IntoIterator<Item = &'a [u8]>) -> (Vec<Event>, Vec<u8>) {
    let events = decode_chunks(pieces);
    let out = encode(&events, 1741570290);
    (events, out)
}

proptest! {
    /// The stream split at any bytes decodes and encodes the same as whole.
    #[test]
    fn any_split_translates_the_same(cuts in proptest::collection::vec(0usize..4000, 0..24), crlf in any::<bool>()) {
        let stream = if crlf { STREAM.replace('\n', "\r\n") } else { STREAM.to_string() };
        let bytes = stream.as_bytes();
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (bytes.len() + 1)).collect();
        cuts.sort_unstable();
        let mut pieces = Vec::new();
        let mut from = 0;
        for cut in cuts.into_iter().chain([bytes.len()]) {
            pieces.push(&bytes[from..cut]);
            from = cut;
        }
        let (events, out) = translate(pieces);
        let (whole_events, whole_out) = translate([bytes]);
        prop_assert_eq!(&events, &expected_events());
        prop_assert_eq!(events, whole_events);
        prop_assert_eq!(out, whole_out);
    }
}
