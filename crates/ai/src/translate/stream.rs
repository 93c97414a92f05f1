//! A streamed reply translated event by event as its chunks arrive.
//!
//! Chunks are framed into events as the SDK's SSE parser frames them (an event split across
//! chunks at any byte comes out whole; `frame`, which lends each event's fields from the chunk
//! instead of copying them), each event is decoded from the provider's protocol into chat events
//! and written at once in the client's protocol. Only the unfinished tail of one event is
//! held, up to a bound: an event longer than that is dropped (counted) and the stream
//! resynchronises at the next blank line, so a provider that never ends an event cannot make
//! the gateway hold its whole output.
//!
//! Bedrock streams AWS's binary event stream instead: its bytes are framed by
//! `bedrock::eventstream` (a frame split at any byte comes out whole; a broken frame is
//! reported to the client as an error and ends the stream) and its frames decoded as events.

use super::Protocol;
use crate::bedrock::{self, eventstream};
use crate::chat::{Event, EventSink, Invalid};
use crate::{anthropic, dify, gemini, minimax, openai, qwen, responses};
use higress_sdk::sse::Framer;

/// The longest unfinished event held by default: 1 MiB.
pub const DEFAULT_EVENT_LIMIT: usize = 1 << 20;

enum Decoder {
    OpenAi(openai::StreamDecoder),
    Anthropic(anthropic::StreamDecoder),
    Gemini(gemini::StreamDecoder),
    Qwen(qwen::StreamDecoder),
    Responses(responses::StreamDecoder),
    MiniMax(minimax::StreamDecoder),
    Dify(dify::StreamDecoder),
    /// Framed by `frames`, not by the SSE parser.
    Bedrock {
        frames: eventstream::Decoder,
        decoder: bedrock::StreamDecoder,
    },
}

enum Encoder {
    OpenAi(openai::StreamEncoder),
    Anthropic(anthropic::StreamEncoder),
    Gemini(gemini::StreamEncoder),
    Qwen(qwen::StreamEncoder),
    Bedrock(bedrock::StreamEncoder),
    Responses(responses::StreamEncoder),
    MiniMax(minimax::StreamEncoder),
    Dify(dify::StreamEncoder),
}

impl Encoder {
    fn sink(&mut self) -> &mut dyn EventSink {
        match self {
            Encoder::OpenAi(e) => e,
            Encoder::Anthropic(e) => e,
            Encoder::Gemini(e) => e,
            Encoder::Qwen(e) => e,
            Encoder::Bedrock(e) => e,
            Encoder::Responses(e) => e,
            Encoder::MiniMax(e) => e,
            Encoder::Dify(e) => e,
        }
    }
}

/// Translates one stream (a new translator per request: all its state is the stream's).
pub struct StreamTranslator {
    parser: Framer,
    decoder: Decoder,
    encoder: Encoder,
    limit: usize,
    /// Dropping the rest of an oversized event until a blank line.
    skipping: bool,
    /// While skipping: the last line seen was empty so far (a blank line ends the event).
    line_empty: bool,
    dropped: usize,
    malformed: usize,
    finished: bool,
    /// The decoded events of one upstream event, kept from one to the next.
    events: Vec<Event>,
}

impl StreamTranslator {
    /// A translator from a provider speaking `from` to a client speaking `to`. `created` is
    /// the time OpenAI chunks (and a response's `created_at`) say they were made (the host
    /// clock's seconds); `include_usage`
    /// whether an OpenAI client gets the usage chunk (an Anthropic client always gets usage).
    pub fn new(from: Protocol, to: Protocol, created: u64, include_usage: bool) -> Self {
        let decoder = match from {
            Protocol::OpenAi => Decoder::OpenAi(openai::StreamDecoder::new()),
            Protocol::Anthropic => Decoder::Anthropic(anthropic::StreamDecoder::new()),
            Protocol::Gemini => Decoder::Gemini(gemini::StreamDecoder::new()),
            // Told nothing of the request, it reads incremental and whole-text streams alike.
            Protocol::Qwen => Decoder::Qwen(qwen::StreamDecoder::new()),
            Protocol::Bedrock => {
                Decoder::Bedrock { frames: eventstream::Decoder::new(), decoder: bedrock::StreamDecoder::new() }
            }
            Protocol::Responses => Decoder::Responses(responses::StreamDecoder::new()),
            Protocol::MiniMaxPro => Decoder::MiniMax(minimax::StreamDecoder::new()),
            Protocol::Dify(app) => Decoder::Dify(dify::StreamDecoder::new(app)),
        };
        let encoder = match to {
            Protocol::OpenAi => Encoder::OpenAi(openai::StreamEncoder::new(created).include_usage(include_usage)),
            Protocol::Anthropic => Encoder::Anthropic(anthropic::StreamEncoder::new()),
            Protocol::Gemini => Encoder::Gemini(gemini::StreamEncoder::new()),
            Protocol::Qwen => Encoder::Qwen(qwen::StreamEncoder::new()),
            Protocol::Bedrock => Encoder::Bedrock(bedrock::StreamEncoder::new()),
            // A Responses client always gets the usage, in `response.completed`.
            Protocol::Responses => Encoder::Responses(responses::StreamEncoder::new(created)),
            Protocol::MiniMaxPro => Encoder::MiniMax(minimax::StreamEncoder::new()),
            Protocol::Dify(app) => Encoder::Dify(dify::StreamEncoder::new(app)),
        };
        StreamTranslator {
            parser: Framer::default(),
            decoder,
            encoder,
            limit: DEFAULT_EVENT_LIMIT,
            skipping: false,
            line_empty: false,
            dropped: 0,
            malformed: 0,
            finished: false,
            events: Vec::new(),
        }
    }

    /// Holds at most `bytes` of an unfinished event.
    pub fn with_event_limit(mut self, bytes: usize) -> Self {
        self.limit = bytes;
        self
    }

    /// The reply's id and model, for a provider whose stream names neither (Bedrock: the
    /// `x-amzn-requestid` header and the model asked for; DashScope and Dify name no model,
    /// MiniMax's Pro may not); other providers' own are kept.
    pub fn with_identity(mut self, id: &str, model: &str) -> Self {
        match &mut self.decoder {
            Decoder::Bedrock { decoder, .. } => *decoder = bedrock::StreamDecoder::with_identity(id, model),
            Decoder::Qwen(decoder) => *decoder = qwen::StreamDecoder::new().with_model(model),
            Decoder::MiniMax(decoder) => *decoder = minimax::StreamDecoder::new().with_model(model),
            Decoder::Dify(decoder) => *decoder = std::mem::take(decoder).with_model(model),
            _ => {}
        }
        self
    }

    /// Events dropped for being longer than the limit.
    pub fn dropped(&self) -> usize {
        self.dropped
    }

    /// Events that did not decode as the provider's protocol (the first is reported to the
    /// client as an error event, the others skipped).
    pub fn malformed(&self) -> usize {
        self.malformed
    }

    /// Translates a chunk of the provider's stream; returns what the client gets now.
    pub fn feed(&mut self, chunk: &[u8]) -> Vec<u8> {
        if self.finished {
            return Vec::new();
        }
        if let Decoder::Bedrock { .. } = self.decoder {
            return self.feed_frames(chunk);
        }
        // A translated event is about as long as the provider's: room for all at once.
        let mut out = Vec::with_capacity(chunk.len() + 128);
        let chunk = if self.skipping { self.skip(chunk) } else { chunk };
        let (decoder, encoder, malformed, events) =
            (&mut self.decoder, &mut self.encoder, &mut self.malformed, &mut self.events);
        self.parser
            .feed(chunk, &mut |name, data| translate(decoder, encoder, malformed, events, (name, data), &mut out));
        if self.parser.pending().len() > self.limit {
            self.line_empty = self.parser.pending().ends_with(b"\n");
            self.parser = Framer::default();
            self.skipping = true;
            self.dropped += 1;
        }
        out
    }

    /// The provider's stream ended: translates an event left without its blank line and
    /// closes the client's stream (`[DONE]`, `message_stop`), whatever the provider sent.
    pub fn finish(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        if self.finished {
            return out;
        }
        if let Decoder::Bedrock { frames, .. } = &mut self.decoder {
            // A stream cut inside a frame (one that broke was reported when it broke).
            let broke = frames.failed().is_some();
            if let (false, Err(error)) = (broke, frames.finish()) {
                self.malformed += 1;
                let message = format!("malformed upstream event stream: {error}");
                self.encoder.sink().event(Event::Error { kind: "api_error".into(), message }, &mut out);
            }
        }
        if let Some((name, data)) = self.parser.finish().filter(|_| !self.skipping) {
            let (decoder, encoder, malformed, events) =
                (&mut self.decoder, &mut self.encoder, &mut self.malformed, &mut self.events);
            translate(decoder, encoder, malformed, events, (name.as_deref(), data.as_deref()), &mut out);
        }
        self.encoder.sink().finish(&mut out);
        self.finished = true;
        out
    }

    /// [`StreamTranslator::feed`] of a Bedrock stream: its frames, each translated as it
    /// completes. A broken frame is reported once and nothing after it is read.
    fn feed_frames(&mut self, chunk: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(chunk.len() + 128);
        let Decoder::Bedrock { frames, decoder } = &mut self.decoder else { return out };
        if frames.failed().is_some() {
            return out;
        }
        let (encoder, malformed, events) = (&mut self.encoder, &mut self.malformed, &mut self.events);
        let fed = frames.feed(chunk, &mut |frame| {
            events.clear();
            let decoded = decoder.decode_into(&frame, events);
            write_events(encoder, malformed, events, decoded, &mut out);
        });
        if let Err(error) = fed {
            self.malformed += 1;
            let message = format!("malformed upstream event stream: {error}");
            self.encoder.sink().event(Event::Error { kind: "api_error".into(), message }, &mut out);
        }
        out
    }

    /// Drops bytes of an oversized event up to and including its blank line; the rest.
    fn skip<'c>(&mut self, chunk: &'c [u8]) -> &'c [u8] {
        for (i, &byte) in chunk.iter().enumerate() {
            match byte {
                b'\r' => {}
                b'\n' if self.line_empty => {
                    self.skipping = false;
                    return chunk.get(i + 1..).unwrap_or_default();
                }
                b'\n' => self.line_empty = true,
                _ => self.line_empty = false,
            }
        }
        &[]
    }
}

/// Translates one event (its `event` and `data` fields) into `out`; `events` is a buffer
/// kept from one event to the next.
fn translate(
    decoder: &mut Decoder,
    encoder: &mut Encoder,
    malformed: &mut usize,
    events: &mut Vec<Event>,
    (name, data): (Option<&[u8]>, Option<&[u8]>),
    out: &mut Vec<u8>,
) {
    events.clear();
    let decoded = match decoder {
        Decoder::OpenAi(d) => d.decode_into(data, events),
        Decoder::Anthropic(d) => d.decode_into(name, data, events),
        Decoder::Gemini(d) => d.decode_into(data, events),
        Decoder::Qwen(d) => d.decode_into(name, data, events),
        Decoder::Responses(d) => d.decode_into(name, data, events),
        // Their events name themselves in their data.
        Decoder::MiniMax(d) => d.decode_into(data, events),
        Decoder::Dify(d) => d.decode_into(data, events),
        // Framed by the event stream (`feed_frames`), never as SSE.
        Decoder::Bedrock { .. } => Ok(()),
    };
    write_events(encoder, malformed, events, decoded, out);
}

/// Writes the events one upstream event decoded to (the first malformed event as an error,
/// the others skipped) in the client's protocol.
#[inline]
fn write_events(
    encoder: &mut Encoder,
    malformed: &mut usize,
    events: &mut Vec<Event>,
    decoded: Result<(), Invalid>,
    out: &mut Vec<u8>,
) {
    if let Err(invalid) = decoded {
        *malformed += 1;
        if *malformed > 1 {
            return;
        }
        events.clear();
        events.push(Event::Error { kind: "api_error".into(), message: format!("malformed upstream event: {invalid}") });
    }
    let sink = encoder.sink();
    for event in events.drain(..) {
        sink.event(event, out);
    }
}
