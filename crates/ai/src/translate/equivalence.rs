//! The stream fast paths checked against the general ones on the same events: every event of
//! a stream decoded both ways (the fast path with its templates, and serde_json's `Value`
//! read field by field) must give the same events, the same error and leave the decoder in
//! the same state; the encoders' direct writes must be the bytes the `Value`s they replaced
//! serialise to; and a translated stream must be what the SDK's parser and the general path
//! make of it, however it is cut.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use super::{Protocol, StreamTranslator};
use crate::chat::{Event, EventSink, FinishReason, Invalid};
use crate::json::object;
use crate::usage::Usage;
use crate::{anthropic, openai};
use higress_sdk::sse::Framer;
use higress_sdk::sse::SseParser;
use proptest::prelude::*;
use serde_json::{json, Value};

type Fields = higress_sdk::sse::Fields<Vec<u8>>;

/// The `event` and `data` of each event of `stream`.
fn framed(stream: &[u8]) -> Vec<Fields> {
    let mut framer = Framer::default();
    let mut events = Vec::new();
    framer.feed(stream, &mut |name, data| events.push((name.map(<[u8]>::to_vec), data.map(<[u8]>::to_vec))));
    events.extend(framer.finish());
    events
}

/// Decodes `events` from an OpenAI-style provider both ways, checking they agree.
fn check_openai(events: &[Fields]) {
    let (mut fast, mut general) = (openai::StreamDecoder::new(), openai::StreamDecoder::new());
    for (_, data) in events {
        let mut got = Vec::new();
        let got = fast.decode_into(data.as_deref(), &mut got).map(|()| got);
        let expected = general.decode_general(data.as_deref());
        let text = data.as_deref().map(String::from_utf8_lossy);
        assert_eq!(got, expected, "data: {text:?}");
        assert_eq!(fast.state(), general.state(), "data: {text:?}");
    }
}

/// Decodes `events` from an Anthropic provider both ways, checking they agree.
fn check_anthropic(events: &[Fields]) {
    let (mut fast, mut general) = (anthropic::StreamDecoder::new(), anthropic::StreamDecoder::new());
    for (name, data) in events {
        let mut got = Vec::new();
        let got = fast.decode_into(name.as_deref(), data.as_deref(), &mut got).map(|()| got);
        let expected = general.decode_general(name.as_deref(), data.as_deref());
        let text = data.as_deref().map(String::from_utf8_lossy);
        assert_eq!(got, expected, "data: {text:?}");
        assert_eq!(fast.state(), general.state(), "data: {text:?}");
    }
}

#[test]
fn fixtures_decode_the_same_both_ways() {
    check_openai(&framed(include_bytes!("../../tests/fixtures/openai/stream.sse")));
    for stream in [
        &include_bytes!("../../tests/fixtures/anthropic/stream_tools.sse")[..],
        include_bytes!("../../tests/fixtures/anthropic/stream_error.sse"),
    ] {
        check_anthropic(&framed(stream));
    }
}

/// Choices drawn from proptest's numbers: the same numbers, the same events.
struct Dice<'a> {
    rolls: &'a [u32],
    at: usize,
}

impl Dice<'_> {
    /// 0..n.
    fn roll(&mut self, n: usize) -> usize {
        let roll = self.rolls.get(self.at).copied().unwrap_or(0) as usize;
        self.at += 1;
        roll % n.max(1)
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.roll(100) < percent
    }

    fn pick<'s>(&mut self, items: &[&'s str]) -> &'s str {
        items[self.roll(items.len())]
    }
}

/// Texts as providers write them in JSON (escapes, non-ASCII, and a few a reader must
/// refuse: a lone surrogate, a raw control character, an unfinished string).
const TEXTS: &[&str] = &[
    r#""Hello""#,
    r#""""#,
    r#"" world — 24 °C""#,
    r#""say \"hi\"\n\n""#,
    r#""\u00e9t\u00E9 \ud83d\ude00""#,
    r#""tab\there\\ /\/""#,
    r#""你好""#,
    r#""\ud800""#,
    "\"raw\u{1}control\"",
    r#""{\"city\":""#,
    r#""Paris\"}""#,
    r#""unfinished"#,
];

/// A JSON value that is no string (for fields of the wrong type).
const OTHERS: &[&str] = &[
    "null",
    "0",
    "7",
    "-1",
    "1.5",
    "1e3",
    "1e999",
    "-0",
    "01",
    "1.",
    "-",
    "true",
    "nul",
    "[]",
    "{}",
    r#"["x"]"#,
    r#"{"a":1}"#,
    r#"{"a":"\udc00"}"#,
];

fn text(dice: &mut Dice) -> String {
    if dice.chance(85) {
        dice.pick(TEXTS).to_string()
    } else {
        dice.pick(OTHERS).to_string()
    }
}

/// `{"k":v,...}` from members, sometimes shuffled, duplicated, spaced or cut short.
fn object_text(dice: &mut Dice, mut members: Vec<(String, String)>) -> String {
    if dice.chance(10) && members.len() > 1 {
        let i = dice.roll(members.len());
        let j = dice.roll(members.len());
        members.swap(i, j);
    }
    if dice.chance(4) && !members.is_empty() {
        let i = dice.roll(members.len());
        let (key, _) = members[i].clone();
        members.push((key, text(dice)));
    }
    let space = if dice.chance(8) { " " } else { "" };
    let body: Vec<String> = members.iter().map(|(k, v)| format!("\"{k}\":{space}{v}")).collect();
    let mut out = format!("{{{}}}", body.join(&format!(",{space}")));
    if dice.chance(2) {
        let mut cut = out.len() / 2;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
    }
    out
}

/// A usage object as providers write them (OpenAI's, Anthropic's, Gemini's, with details,
/// cache counts, and now and then a count of the wrong kind or a key met twice).
fn usage(dice: &mut Dice) -> String {
    let counts = ["0", "12", "1117", "-0", "-3", "2.0", "null", "\"7\"", "18446744073709551616"];
    let names = [
        "prompt_tokens",
        "completion_tokens",
        "total_tokens",
        "input_tokens",
        "output_tokens",
        "cache_read_input_tokens",
        "cache_creation_input_tokens",
        "promptTokenCount",
        "candidatesTokenCount",
        "totalTokenCount",
        "thoughtsTokenCount",
        "cachedContentTokenCount",
    ];
    let mut members = Vec::new();
    for _ in 0..1 + dice.roll(5) {
        let name = names[dice.roll(names.len())];
        members.push((name.to_string(), dice.pick(&counts).to_string()));
    }
    if dice.chance(30) {
        let details = dice.pick(&[
            "prompt_tokens_details",
            "completion_tokens_details",
            "input_tokens_details",
            "output_tokens_details",
        ]);
        let inner = dice.pick(&["cached_tokens", "reasoning_tokens", "audio_tokens"]);
        let count = dice.pick(&counts);
        let value = if dice.chance(10) { count.to_string() } else { format!("{{\"{inner}\":{count}}}") };
        members.push((details.to_string(), value));
    }
    object_text(dice, members)
}

/// One OpenAI-style chunk: mostly what providers send (content, reasoning, tool calls, the
/// finish and usage chunks), with wrong types, extra keys, errors and broken JSON now and then.
fn openai_chunk(dice: &mut Dice, shape: usize) -> String {
    let mut delta = Vec::new();
    match shape % 6 {
        0 | 1 => delta.push(("content".to_string(), text(dice))),
        2 => delta.push((if dice.chance(50) { "reasoning_content" } else { "reasoning" }.to_string(), text(dice))),
        3 => {
            let mut call = vec![("index".to_string(), dice.pick(&["0", "1", "null", "\"x\""]).to_string())];
            if dice.chance(30) {
                call.push(("id".to_string(), dice.pick(&[r#""call_1""#, r#""call_2""#, r#""""#, "null"]).to_string()));
                call.push(("type".to_string(), r#""function""#.to_string()));
            }
            let mut function = vec![("arguments".to_string(), text(dice))];
            if dice.chance(30) {
                function.insert(0, ("name".to_string(), dice.pick(&[r#""get_weather""#, "null", "3"]).to_string()));
            }
            call.push(("function".to_string(), object_text(dice, function)));
            let calls = if dice.chance(10) {
                format!("[{},{}]", object_text(dice, call.clone()), object_text(dice, call))
            } else {
                format!("[{}]", object_text(dice, call))
            };
            delta.push(("tool_calls".to_string(), calls));
        }
        4 => {
            delta.push(("content".to_string(), text(dice)));
            delta.push(("refusal".to_string(), dice.pick(&["null", r#""no""#]).to_string()));
        }
        _ => {}
    }
    if dice.chance(10) {
        delta.push(("role".to_string(), r#""assistant""#.to_string()));
    }
    let mut choice = vec![
        ("index".to_string(), "0".to_string()),
        ("delta".to_string(), if dice.chance(3) { dice.pick(OTHERS).to_string() } else { object_text(dice, delta) }),
        ("logprobs".to_string(), "null".to_string()),
        ("finish_reason".to_string(), if dice.chance(10) { text(dice) } else { "null".to_string() }),
    ];
    if dice.chance(3) {
        let key = dice.pick(&["usage", "usage", "usageMetadata", "response", "message"]);
        let value =
            if key == "response" || key == "message" { format!("{{\"usage\":{}}}", usage(dice)) } else { usage(dice) };
        choice.push((key.to_string(), value));
    }
    let choices = match dice.roll(20) {
        0 => "[]".to_string(),
        1 => format!("[{},{}]", object_text(dice, choice.clone()), object_text(dice, choice)),
        2 => dice.pick(OTHERS).to_string(),
        _ => format!("[{}]", object_text(dice, choice)),
    };
    let mut chunk = vec![
        ("id".to_string(), if dice.chance(10) { text(dice) } else { r#""chatcmpl-1""#.to_string() }),
        ("model".to_string(), if dice.chance(10) { text(dice) } else { r#""gpt-4o""#.to_string() }),
        (
            "object".to_string(),
            dice.pick(&[r#""chat.completion.chunk""#, r#""chat.completion.chunk""#, r#""error""#]).to_string(),
        ),
        ("created".to_string(), dice.pick(&["1741570283", "1741570284", "-5", "1.5", "1e999", "01"]).to_string()),
        ("choices".to_string(), choices),
        ("usage".to_string(), if dice.chance(8) { usage(dice) } else { "null".to_string() }),
    ];
    if dice.chance(3) {
        let key = dice.pick(&["response", "message", "usageMetadata"]);
        let value = if key == "usageMetadata" { usage(dice) } else { format!("{{\"usage\":{}}}", usage(dice)) };
        chunk.push((key.to_string(), value));
    }
    if dice.chance(30) {
        chunk.push(("obfuscation".to_string(), text(dice)));
    }
    if dice.chance(2) {
        chunk.push(("error".to_string(), r#"{"message":"boom","type":"server_error"}"#.to_string()));
    }
    object_text(dice, chunk)
}

/// One Anthropic event (its name and data): mostly deltas of the kinds Claude streams, with
/// block starts and stops, pings, wrong types and broken JSON now and then.
fn anthropic_event(dice: &mut Dice, shape: usize) -> (String, String) {
    let index = dice.pick(&["0", "1", "2", "null", "\"1\"", "1.0"]).to_string();
    let (name, members) = match shape % 8 {
        0..=2 => {
            let (kind, field) = [
                ("text_delta", "text"),
                ("thinking_delta", "thinking"),
                ("signature_delta", "signature"),
                ("input_json_delta", "partial_json"),
                ("citations_delta", "citation"),
            ][dice.roll(5)];
            let mut delta = vec![("type".to_string(), format!("\"{kind}\"")), (field.to_string(), text(dice))];
            if dice.chance(10) {
                delta.push(("text".to_string(), text(dice)));
            }
            let delta = if dice.chance(3) { dice.pick(OTHERS).to_string() } else { object_text(dice, delta) };
            let members = vec![
                ("type".to_string(), r#""content_block_delta""#.to_string()),
                ("index".to_string(), index),
                ("delta".to_string(), delta),
            ];
            ("content_block_delta", members)
        }
        3 => {
            let block = match dice.roll(3) {
                0 => r#"{"type":"text","text":""}"#.to_string(),
                1 => r#"{"type":"thinking","thinking":"","signature":""}"#.to_string(),
                _ => {
                    format!(r#"{{"type":"tool_use","id":"toolu_{}","name":"get_weather","input":{{}}}}"#, dice.roll(3))
                }
            };
            let members = vec![
                ("type".to_string(), r#""content_block_start""#.to_string()),
                ("index".to_string(), index),
                ("content_block".to_string(), block),
            ];
            ("content_block_start", members)
        }
        4 => (
            "content_block_stop",
            vec![("type".to_string(), r#""content_block_stop""#.to_string()), ("index".to_string(), index)],
        ),
        5 => ("ping", vec![("type".to_string(), r#""ping""#.to_string())]),
        6 => {
            let reason =
                dice.pick(&[r#""tool_use""#, r#""end_turn""#, r#""stop_sequence""#, "null", "5", r#""refusal""#]);
            let sequence = dice.pick(&["null", r#""END""#, "3"]);
            let delta = if dice.chance(10) {
                dice.pick(OTHERS).to_string()
            } else {
                format!(r#"{{"stop_reason":{reason},"stop_sequence":{sequence}}}"#)
            };
            let mut members =
                vec![("type".to_string(), r#""message_delta""#.to_string()), ("delta".to_string(), delta)];
            if dice.chance(80) {
                members.push((
                    "usage".to_string(),
                    if dice.chance(10) { dice.pick(OTHERS).to_string() } else { usage(dice) },
                ));
            }
            ("message_delta", members)
        }
        _ => {
            let mut message = vec![
                ("id".to_string(), text(dice)),
                ("type".to_string(), r#""message""#.to_string()),
                ("model".to_string(), text(dice)),
                ("content".to_string(), "[]".to_string()),
            ];
            if dice.chance(80) {
                message.push(("usage".to_string(), usage(dice)));
            }
            let message = if dice.chance(5) { dice.pick(OTHERS).to_string() } else { object_text(dice, message) };
            (
                "message_start",
                vec![("type".to_string(), r#""message_start""#.to_string()), ("message".to_string(), message)],
            )
        }
    };
    let name = if dice.chance(5) { "" } else { name };
    (name.to_string(), object_text(dice, members))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Usage read from tokens is what `Usage::update` reads from the `Value`, wherever the
    /// usage object is.
    #[test]
    fn usage_from_tokens_is_usage_from_values(rolls in proptest::collection::vec(any::<u32>(), 40..120)) {
        let mut dice = Dice { rolls: &rolls, at: 0 };
        let mut members = Vec::new();
        for _ in 0..1 + dice.roll(3) {
            let key = dice.pick(&["usage", "response", "message", "usageMetadata", "other"]);
            let value = match key {
                "response" | "message" if dice.chance(80) => format!("{{\"usage\":{}}}", usage(&mut dice)),
                _ if dice.chance(10) => dice.pick(OTHERS).to_string(),
                _ => usage(&mut dice),
            };
            members.push((key.to_string(), value));
        }
        let text = object_text(&mut dice, members);
        let mut tokens = Vec::new();
        let Some(json) = crate::scan::Json::parse(text.as_bytes(), &mut tokens) else { return Ok(()) };
        let Ok(value) = serde_json::from_str::<Value>(&text) else { return Ok(()) };
        let mut before = Usage::default();
        before.update(&json!({"usage": {"input_tokens": 1, "output_tokens": 2, "cache_read_input_tokens": 3}}));
        let (mut from_tokens, mut from_value) = (before, before);
        if from_tokens.update_tokens(&json, 0).is_some() {
            from_value.update(&value);
            prop_assert_eq!(from_tokens, from_value, "{}", text);
        } else {
            prop_assert_eq!(from_tokens, before, "nothing taken when it gives up");
        }
    }
}

/// A stream of `count` events, each shape repeated a few times (as in real streams, where
/// templates are made and met) before the next.
fn shapes(dice: &mut Dice, count: usize) -> Vec<usize> {
    let mut out = Vec::new();
    while out.len() < count {
        let shape = dice.roll(12);
        let times = 1 + dice.roll(5);
        out.extend(std::iter::repeat_n(shape, times));
    }
    out.truncate(count);
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Whatever a provider sends, the fast path (templates included) says what the general
    /// path says.
    #[test]
    fn openai_chunks_decode_the_same_both_ways(rolls in proptest::collection::vec(any::<u32>(), 400..1200)) {
        let mut dice = Dice { rolls: &rolls, at: 0 };
        let start = r#"{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"gpt-4o","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}"#;
        // Mostly a proper first chunk; now and then the stream starts with any chunk.
        let mut events: Vec<Fields> = Vec::new();
        if dice.chance(20) {
            // Azure's first chunk: no id, no model, only the prompt's filter results.
            let filter = r#"{"choices":[],"created":0,"id":"","model":"","object":"","prompt_filter_results":[{"prompt_index":0}]}"#;
            events.push((None, Some(filter.as_bytes().to_vec())));
        }
        if dice.chance(70) {
            events.push((None, Some(start.as_bytes().to_vec())));
        }
        for shape in shapes(&mut dice, 30) {
            let chunk = openai_chunk(&mut dice, shape);
            let mut data = chunk.into_bytes();
            if dice.chance(2) {
                // Bytes that are not UTF-8, inside a string.
                if let Some(at) = data.iter().position(|b| *b == b'"') {
                    data.insert(at + 1, 0xff);
                }
            }
            events.push((None, Some(data)));
        }
        events.push((None, Some(b"[DONE]".to_vec())));
        check_openai(&events);
    }

    #[test]
    fn anthropic_events_decode_the_same_both_ways(rolls in proptest::collection::vec(any::<u32>(), 400..1200)) {
        let mut dice = Dice { rolls: &rolls, at: 0 };
        let start = r#"{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude","content":[],"usage":{"input_tokens":5,"output_tokens":1}}}"#;
        let mut events: Vec<Fields> = vec![(Some(b"message_start".to_vec()), Some(start.as_bytes().to_vec()))];
        for shape in shapes(&mut dice, 30) {
            let (name, data) = anthropic_event(&mut dice, shape);
            let name = if name.is_empty() { None } else { Some(name.into_bytes()) };
            events.push((name, Some(data.into_bytes())));
        }
        check_anthropic(&events);
    }
}

/// A stream translated by [`StreamTranslator`], cut in pieces of `size`.
fn translated(from: Protocol, to: Protocol, stream: &[u8], size: usize) -> Vec<u8> {
    let mut translator = StreamTranslator::new(from, to, 1_750_000_000, true);
    let mut out = Vec::new();
    for piece in stream.chunks(size.max(1)) {
        out.extend(translator.feed(piece));
    }
    out.extend(translator.finish());
    out
}

/// The same stream through the SDK's parser, the general path and the encoders.
fn reference(from: Protocol, to: Protocol, stream: &[u8]) -> Vec<u8> {
    let mut parser = SseParser::new();
    let mut events = parser.feed(stream);
    events.extend(parser.finish());
    let (mut openai_in, mut anthropic_in) = (openai::StreamDecoder::new(), anthropic::StreamDecoder::new());
    let mut openai_out = openai::StreamEncoder::new(1_750_000_000);
    let mut anthropic_out = anthropic::StreamEncoder::new();
    let mut gemini_out = crate::gemini::StreamEncoder::new();
    let mut gemini_in = crate::gemini::StreamDecoder::new();
    let (mut qwen_in, mut qwen_out) = (crate::qwen::StreamDecoder::new(), crate::qwen::StreamEncoder::new());
    let mut bedrock_out = crate::bedrock::StreamEncoder::new();
    let mut responses_in = crate::responses::StreamDecoder::new();
    let mut responses_out = crate::responses::StreamEncoder::new(1_750_000_000);
    let (mut minimax_in, mut minimax_out) =
        (crate::minimax::StreamDecoder::new(), crate::minimax::StreamEncoder::new());
    let app = match (from, to) {
        (Protocol::Dify(app), _) | (_, Protocol::Dify(app)) => app,
        _ => crate::dify::App::CHAT,
    };
    let (mut dify_in, mut dify_out) = (crate::dify::StreamDecoder::new(app), crate::dify::StreamEncoder::new(app));
    let sink: &mut dyn EventSink = match to {
        Protocol::OpenAi => &mut openai_out,
        Protocol::Anthropic => &mut anthropic_out,
        Protocol::Gemini => &mut gemini_out,
        Protocol::Qwen => &mut qwen_out,
        Protocol::Bedrock => &mut bedrock_out,
        Protocol::Responses => &mut responses_out,
        Protocol::MiniMaxPro => &mut minimax_out,
        Protocol::Dify(_) => &mut dify_out,
    };
    let mut out = Vec::new();
    let mut malformed = 0;
    for event in events {
        let data = event.data.as_deref().map(str::as_bytes);
        let decoded = match from {
            Protocol::OpenAi => openai_in.decode_general(data),
            Protocol::Anthropic => anthropic_in.decode_general(event.event.as_deref().map(str::as_bytes), data),
            Protocol::Gemini => {
                let mut events = Vec::new();
                gemini_in.decode_into(data, &mut events).map(|_| events)
            }
            Protocol::Qwen => {
                let mut events = Vec::new();
                let name = event.event.as_deref().map(str::as_bytes);
                qwen_in.decode_into(name, data, &mut events).map(|_| events)
            }
            Protocol::Responses => {
                let mut events = Vec::new();
                let name = event.event.as_deref().map(str::as_bytes);
                responses_in.decode_into(name, data, &mut events).map(|_| events)
            }
            Protocol::MiniMaxPro => {
                let mut events = Vec::new();
                minimax_in.decode_into(data, &mut events).map(|_| events)
            }
            Protocol::Dify(_) => {
                let mut events = Vec::new();
                dify_in.decode_into(data, &mut events).map(|_| events)
            }
            // Bedrock's streams are binary frames, not events: compared in `tests/bedrock.rs`.
            Protocol::Bedrock => Ok(Vec::new()),
        };
        let decoded = match decoded {
            Ok(decoded) => decoded,
            Err(invalid) => {
                malformed += 1;
                if malformed > 1 {
                    continue;
                }
                vec![Event::Error { kind: "api_error".into(), message: format!("malformed upstream event: {invalid}") }]
            }
        };
        for event in decoded {
            sink.event(event, &mut out);
        }
    }
    sink.finish(&mut out);
    out
}

#[test]
fn streams_translate_as_the_general_path_translates_them() {
    let bench_like: String = (0..40)
        .map(|i| {
            let text = Value::from(["Tokyo is warmer", " today: 24 °C", " in Paris.\n\n", "take a \"light\" jacket"][i % 4]);
            format!(
                "data: {{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\
                 \"obfuscation\":\"{}\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":{text}}},\"finish_reason\":null}}],\
                 \"usage\":null}}\n\n",
                "x".repeat(i % 5)
            )
        })
        .collect();
    let claude: String = (0..40)
        .map(|i| {
            let text = Value::from(["I'll check", " — “Paris”", "\u{1f600}", "a\\b"][i % 4]);
            let index = i / 10;
            format!(
                "event: content_block_delta\r\ndata: {{\"type\":\"content_block_delta\",\"index\":{index},\
                 \"delta\":{{\"type\":\"text_delta\",\"text\":{text}}}}}\r\n\r\n"
            )
        })
        .collect();
    let cases: [(Protocol, &[u8]); 5] = [
        (Protocol::OpenAi, include_bytes!("../../tests/fixtures/openai/stream.sse")),
        (Protocol::OpenAi, bench_like.as_bytes()),
        (Protocol::Anthropic, include_bytes!("../../tests/fixtures/anthropic/stream_tools.sse")),
        (Protocol::Anthropic, include_bytes!("../../tests/fixtures/anthropic/stream_error.sse")),
        (Protocol::Anthropic, claude.as_bytes()),
    ];
    for (from, stream) in cases {
        for to in [Protocol::OpenAi, Protocol::Anthropic] {
            let expected = reference(from, to, stream);
            for size in [1, 7, 64, 300, stream.len()] {
                assert_eq!(
                    String::from_utf8_lossy(&translated(from, to, stream, size)),
                    String::from_utf8_lossy(&expected),
                    "{from:?} to {to:?} in pieces of {size}"
                );
            }
        }
    }
}

/// The OpenAI encoder's chunk, as it was built before it wrote its bytes directly.
fn openai_chunk_value(id: &str, model: &str, delta: Value, finish: Option<&str>) -> String {
    let choice =
        object([("index", 0.into()), ("delta", delta), ("logprobs", Value::Null), ("finish_reason", finish.into())]);
    let chunk = object([
        ("id", id.into()),
        ("object", "chat.completion.chunk".into()),
        ("created", 1_750_000_000u64.into()),
        ("model", model.into()),
        ("choices", Value::Array(vec![choice])),
    ]);
    format!("data: {chunk}\n\n")
}

const STRINGS: &[&str] = &["", "plain", "a\"b\\c/d", "\u{0}\u{8}\u{c}\u{1f}\u{7f}\n\r\t", "°C — “x” 你好 😀"];

#[test]
fn the_openai_encoder_writes_what_its_values_serialised_to() {
    for id in STRINGS {
        for text in STRINGS {
            let mut encoder = openai::StreamEncoder::new(1_750_000_000);
            let mut out = Vec::new();
            encoder.event(Event::Start { id: id.to_string(), model: format!("m{text}") }, &mut out);
            let model = format!("m{text}");
            let mut expected = openai_chunk_value(id, &model, json!({"role": "assistant", "content": ""}), None);
            let events = [
                (Event::Text(format!("t{text}")), json!({"content": format!("t{text}")}), None),
                (Event::Reasoning(format!("r{text}")), json!({"reasoning_content": format!("r{text}")}), None),
                (
                    Event::ToolCall { index: 3, id: text.to_string(), name: format!("n{text}") },
                    json!({"tool_calls": [{"index": 3, "id": text, "type": "function",
                        "function": {"name": format!("n{text}"), "arguments": ""}}]}),
                    None,
                ),
                (
                    Event::ToolArguments { index: 12, json: format!("{{{text}") },
                    json!({"tool_calls": [{"index": 12, "function": {"arguments": format!("{{{text}")}}]}),
                    None,
                ),
                (Event::Finish(FinishReason::Other(format!("o{text}"))), json!({}), Some(format!("o{text}"))),
            ];
            for (event, delta, finish) in events {
                encoder.event(event, &mut out);
                expected.push_str(&openai_chunk_value(id, &model, delta, finish.as_deref()));
            }
            assert_eq!(String::from_utf8(out).unwrap(), expected);
        }
    }
}

#[test]
fn the_anthropic_encoder_writes_what_its_values_serialised_to() {
    for text in STRINGS {
        let mut encoder = anthropic::StreamEncoder::new();
        let mut out = Vec::new();
        encoder.event(Event::Start { id: "msg".into(), model: "m".into() }, &mut out);
        encoder.event(Event::Usage(Usage::default()), &mut out);
        encoder.event(Event::Text(format!("x{text}")), &mut out);
        let before = out.len();
        let steps: [(Event, &str, &str, String); 3] = [
            (Event::Text(text.to_string()), "text_delta", "text", text.to_string()),
            (Event::Reasoning(format!("r{text}")), "thinking_delta", "thinking", format!("r{text}")),
            (Event::ReasoningSignature(format!("s{text}")), "signature_delta", "signature", format!("s{text}")),
        ];
        let mut expected = String::new();
        let mut block = 0;
        for (event, kind, field, value) in steps {
            let opens = !matches!(event, Event::Text(_));
            encoder.event(event, &mut out);
            if opens && kind == "thinking_delta" {
                // The text block closes and a thinking block opens.
                expected.push_str(&format!(
                    "event: content_block_stop\ndata: {{\"type\":\"content_block_stop\",\"index\":{block}}}\n\n"
                ));
                block += 1;
                let start =
                    object([("content_block", json!({"type": "thinking", "thinking": ""})), ("index", block.into())]);
                let start = start.to_string();
                expected.push_str(&format!(
                    "event: content_block_start\ndata: {{\"type\":\"content_block_start\",{}\n\n",
                    &start[1..]
                ));
            }
            if !value.is_empty() {
                let delta = object([
                    ("delta", object([("type", kind.into()), (field, value.as_str().into())])),
                    ("index", block.into()),
                ]);
                let delta = delta.to_string();
                expected.push_str(&format!(
                    "event: content_block_delta\ndata: {{\"type\":\"content_block_delta\",{}\n\n",
                    &delta[1..]
                ));
            }
        }
        assert_eq!(String::from_utf8_lossy(&out[before..]), expected, "{text:?}");
    }
}

/// Invalid: the decoder's errors come back as they did (the first one reported).
#[test]
fn malformed_events_are_reported_once_as_before() {
    let stream = b"data: {\"id\":\"1\",\"choices\":[]}\n\ndata: {not json\n\ndata: {\"choices\":5}\n\n";
    for to in [Protocol::OpenAi, Protocol::Anthropic] {
        assert_eq!(translated(Protocol::OpenAi, to, stream, 5), reference(Protocol::OpenAi, to, stream));
    }
    let _ = Invalid("unused".into());
}

/// Usages with every combination of counts known and unknown.
fn usages() -> Vec<Usage> {
    let mut out = vec![Usage::default()];
    for body in [
        json!({"usage": {"prompt_tokens": 2006, "completion_tokens": 300, "total_tokens": 2306}}),
        json!({"usage": {"prompt_tokens": 20, "completion_tokens": 3, "prompt_tokens_details": {"cached_tokens": 9},
            "completion_tokens_details": {"reasoning_tokens": 2}}}),
        json!({"usage": {"input_tokens": 12, "output_tokens": 5, "cache_read_input_tokens": 100,
            "cache_creation_input_tokens": 40}}),
        json!({"usage": {"output_tokens": 7}}),
        json!({"usage": {"cache_creation_input_tokens": 1}}),
        json!({"usage": {"completion_tokens_details": {"reasoning_tokens": 4}}}),
    ] {
        let mut usage = Usage::default();
        usage.update(&body);
        out.push(usage);
    }
    out
}

#[test]
fn the_stream_events_written_directly_are_what_their_values_were() {
    for usage in usages() {
        for (id, model) in [("msg_1", "claude"), ("", ""), ("a\"b", "m\u{1}")] {
            // Anthropic: message_start, a block of each kind, message_delta and message_stop.
            let mut encoder = anthropic::StreamEncoder::new();
            let mut out = Vec::new();
            encoder.event(Event::Start { id: id.into(), model: model.into() }, &mut out);
            encoder.event(Event::Usage(usage), &mut out);
            encoder.event(Event::Reasoning("r".into()), &mut out);
            encoder.event(Event::Text("t".into()), &mut out);
            encoder.event(Event::ToolCall { index: 0, id: format!("call{id}"), name: format!("n{model}") }, &mut out);
            encoder.event(Event::Finish(FinishReason::StopSequence(Some(format!("END{id}")))), &mut out);
            encoder.finish(&mut out);
            let usage_value = super::super::anthropic::write_usage_for_tests(&usage);
            let event = |kind: &str, fields: Value| {
                let fields = fields.to_string();
                let fields = &fields[1..fields.len() - 1];
                let separator = if fields.is_empty() { "" } else { "," };
                format!("event: {kind}\ndata: {{\"type\":{}{separator}{fields}}}\n\n", Value::from(kind))
            };
            let expected = [
                event(
                    "message_start",
                    json!({"message": {"id": id, "type": "message", "role": "assistant", "model": model,
                    "content": [], "stop_reason": null, "stop_sequence": null, "usage": usage_value}}),
                ),
                event(
                    "content_block_start",
                    json!({"index": 0, "content_block": {"type": "thinking", "thinking": ""}}),
                ),
                event("content_block_delta", json!({"index": 0, "delta": {"type": "thinking_delta", "thinking": "r"}})),
                event("content_block_stop", json!({"index": 0})),
                event("content_block_start", json!({"index": 1, "content_block": {"type": "text", "text": ""}})),
                event("content_block_delta", json!({"index": 1, "delta": {"type": "text_delta", "text": "t"}})),
                event("content_block_stop", json!({"index": 1})),
                event(
                    "content_block_start",
                    json!({"index": 2, "content_block": {"type": "tool_use",
                    "id": format!("call{id}"), "name": format!("n{model}"), "input": {}}}),
                ),
                event("content_block_stop", json!({"index": 2})),
                event(
                    "message_delta",
                    json!({"delta": {"stop_reason": "stop_sequence", "stop_sequence": format!("END{id}")},
                    "usage": usage_value}),
                ),
                event("message_stop", json!({})),
            ]
            .concat();
            assert_eq!(String::from_utf8_lossy(&out), expected);

            // OpenAI: the usage chunk.
            let mut encoder = openai::StreamEncoder::new(1_750_000_000);
            let mut out = Vec::new();
            encoder.event(Event::Start { id: id.into(), model: model.into() }, &mut out);
            encoder.event(Event::Usage(usage), &mut out);
            out.clear();
            encoder.finish(&mut out);
            let mut expected = String::new();
            if let Some(usage) = super::super::openai::write_usage_for_tests(&usage) {
                let chunk = object([
                    ("id", id.into()),
                    ("object", "chat.completion.chunk".into()),
                    ("created", 1_750_000_000u64.into()),
                    ("model", model.into()),
                    ("choices", Value::Array(Vec::new())),
                    ("usage", usage),
                ]);
                expected.push_str(&format!("data: {chunk}\n\n"));
            }
            expected.push_str("data: [DONE]\n\n");
            assert_eq!(String::from_utf8_lossy(&out), expected);
        }
    }
}
