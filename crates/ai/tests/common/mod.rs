//! What the stream tests share: fixtures, a translator fed in pieces, and a client reading
//! the result.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use higress_ai::bedrock::{self, eventstream};
use higress_ai::chat::Event;
use higress_ai::translate::{Protocol, StreamTranslator};
use higress_ai::{anthropic, dify, gemini, minimax, openai, qwen, responses};
use higress_sdk::sse::SseParser;

pub const CREATED: u64 = 1_741_570_283;

pub fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

pub fn translator(from: Protocol, to: Protocol) -> StreamTranslator {
    StreamTranslator::new(from, to, CREATED, true)
}

/// The whole stream translated, fed in pieces cut at `cuts`.
pub fn translate_split(from: Protocol, to: Protocol, stream: &[u8], cuts: &[usize]) -> Vec<u8> {
    let mut t = translator(from, to);
    let mut out = Vec::new();
    let mut start = 0;
    for &cut in cuts.iter().chain(std::iter::once(&stream.len())) {
        let cut = cut.clamp(start, stream.len());
        out.extend(t.feed(&stream[start..cut]));
        start = cut;
    }
    out.extend(t.finish());
    out
}

/// The events a client of `protocol` reads from `bytes`.
pub fn client_events(protocol: Protocol, bytes: &[u8]) -> Vec<Event> {
    if protocol == Protocol::Bedrock {
        return bedrock_events(bytes);
    }
    let mut parser = SseParser::new();
    let mut events = Vec::new();
    let mut openai = openai::StreamDecoder::new();
    let mut anthropic = anthropic::StreamDecoder::new();
    let mut gemini = gemini::StreamDecoder::new();
    // The encoders write incremental DashScope streams: the client that asked for them says so.
    let mut qwen = qwen::StreamDecoder::new().incremental(true);
    let mut responses = responses::StreamDecoder::new();
    let mut minimax = minimax::StreamDecoder::new();
    let mut dify = dify::StreamDecoder::new(match protocol {
        Protocol::Dify(app) => app,
        _ => dify::App::CHAT,
    });
    for event in parser.feed(bytes) {
        let decoded = match protocol {
            Protocol::OpenAi => openai.decode(&event),
            Protocol::Anthropic => anthropic.decode(&event),
            Protocol::Gemini => gemini.decode(&event),
            Protocol::Qwen => qwen.decode(&event),
            Protocol::Responses => responses.decode(&event),
            Protocol::MiniMaxPro => minimax.decode(&event),
            Protocol::Dify(_) => dify.decode(&event),
            Protocol::Bedrock => unreachable!("Bedrock streams are binary frames"),
        };
        events.extend(decoded.unwrap_or_else(|e| panic!("the client cannot read {event:?}: {e}")));
    }
    assert!(parser.pending().is_empty(), "the stream ends with a whole event");
    events
}

/// The events a Bedrock client reads from the event stream `bytes` (AWS's binary frames).
pub fn bedrock_events(bytes: &[u8]) -> Vec<Event> {
    let mut frames = eventstream::Decoder::new();
    let mut decoder = bedrock::StreamDecoder::new();
    let mut events = Vec::new();
    frames
        .feed(bytes, &mut |frame| {
            let decoded = decoder.decode(&frame);
            events.extend(decoded.unwrap_or_else(|e| panic!("the client cannot read {:?}: {e}", frame.message())));
        })
        .unwrap();
    frames.finish().expect("the stream ends with a whole frame");
    events
}

pub fn text_of(events: &[Event]) -> String {
    events.iter().filter_map(|e| if let Event::Text(t) = e { Some(t.as_str()) } else { None }).collect()
}
