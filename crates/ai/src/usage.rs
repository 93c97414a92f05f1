//! Token usage in LLM replies: OpenAI (chat completions and the Responses API), Anthropic
//! messages and Gemini, as one JSON body or as server-sent events split across chunks at any
//! byte.
//!
//! Streams report usage in pieces (Anthropic: input in `message_start`, output in
//! `message_delta`; OpenAI: one final chunk when `include_usage` is on), so each event updates
//! the fields it carries and keeps the others. Nothing is buffered beyond one unfinished event
//! (bounded) or, for a plain JSON reply, the body up to a bound.

use crate::scan::{Json, Kind};
use higress_sdk::sse::Framer;
use serde_json::Value;

/// Longest unfinished event kept between chunks; a longer one is dropped (its usage lost).
pub const MAX_EVENT_BYTES: usize = 1 << 20;
/// Longest JSON reply read whole for its usage.
pub const MAX_JSON_BYTES: usize = 16 << 20;

/// The token counts a reply reported (`None`: not reported).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Prompt tokens (Anthropic: without the cached ones, which are counted apart).
    pub input: Option<u64>,
    /// Completion tokens (reasoning included).
    pub output: Option<u64>,
    /// The provider's own total.
    pub total: Option<u64>,
    /// Prompt tokens read from a cache.
    pub cache_read: Option<u64>,
    /// Prompt tokens written to a cache (Anthropic).
    pub cache_creation: Option<u64>,
    /// Reasoning tokens within `output`.
    pub reasoning: Option<u64>,
    /// Whether cached prompt tokens are outside `input` (Anthropic) rather than within it.
    cache_apart: bool,
}

/// Where a reply's usage object is: chat completions and Anthropic replies (`usage`), the
/// Responses API's events (`response.usage`), Anthropic's `message_start` (`message.usage`),
/// Gemini (`usageMetadata`).
const USAGE_PATHS: [&[&str]; 4] = [&["usage"], &["response", "usage"], &["message", "usage"], &["usageMetadata"]];

fn at<'v>(value: &'v Value, path: &[&str]) -> Option<&'v Value> {
    path.iter().try_fold(value, |v, key| v.get(key))
}

/// The first of `paths` present in `usage` as a non-negative integer.
fn number(usage: &Value, paths: &[&[&str]]) -> Option<u64> {
    paths.iter().find_map(|path| at(usage, path).and_then(Value::as_u64))
}

impl Usage {
    /// Takes the usage fields `reply` (one JSON reply or event) carries; the others keep the
    /// values earlier events gave.
    pub fn update(&mut self, reply: &Value) {
        for path in USAGE_PATHS {
            let Some(usage) = at(reply, path).filter(|u| u.is_object()) else { continue };
            let set = |field: &mut Option<u64>, paths: &[&[&str]]| {
                if let Some(n) = number(usage, paths) {
                    *field = Some(n);
                }
            };
            set(&mut self.input, &[&["prompt_tokens"], &["input_tokens"], &["promptTokenCount"]]);
            set(&mut self.output, &[&["completion_tokens"], &["output_tokens"], &["candidatesTokenCount"]]);
            set(&mut self.total, &[&["total_tokens"], &["totalTokenCount"]]);
            set(
                &mut self.cache_read,
                &[
                    &["prompt_tokens_details", "cached_tokens"],
                    &["input_tokens_details", "cached_tokens"],
                    &["cache_read_input_tokens"],
                    &["cachedContentTokenCount"],
                ],
            );
            set(&mut self.cache_creation, &[&["cache_creation_input_tokens"]]);
            set(
                &mut self.reasoning,
                &[
                    &["completion_tokens_details", "reasoning_tokens"],
                    &["output_tokens_details", "reasoning_tokens"],
                    &["thoughtsTokenCount"],
                ],
            );
            if usage.get("cache_read_input_tokens").is_some() || usage.get("cache_creation_input_tokens").is_some() {
                self.cache_apart = true;
            }
        }
    }

    /// [`Usage::update`] of the object at token `at` of `json`, read from its tokens; `None`
    /// (nothing taken) when a field is written in a way the tokens cannot say as `update`
    /// would read it (a key met twice, a negative integer): the caller then reads the
    /// `Value`.
    pub(crate) fn update_tokens(&mut self, json: &Json, at: usize) -> Option<()> {
        let object = |at: Option<usize>| at.filter(|at| json.token(*at).is_some_and(|t| t.kind() == Kind::Object));
        let [usage, response, message, gemini] =
            json.fields(at, [b"usage", b"response", b"message", b"usageMetadata"])?;
        // `usage` of an object `at`, if it is one (`Value::get` of anything else is `None`).
        let inner = |at: Option<usize>| -> Option<Option<usize>> {
            match object(at) {
                Some(at) => Some(json.fields(at, [b"usage"])?[0]),
                None => Some(None),
            }
        };
        let mut updated = *self;
        for usage in [object(usage), object(inner(response)?), object(inner(message)?), object(gemini)] {
            let Some(usage) = usage else { continue };
            let [prompt, input, prompt_count, completion, output, candidates, total, total_count, prompt_details, input_details, cache_read, cached_content, cache_creation, completion_details, output_details, thoughts] =
                json.fields(
                    usage,
                    [
                        b"prompt_tokens",
                        b"input_tokens",
                        b"promptTokenCount",
                        b"completion_tokens",
                        b"output_tokens",
                        b"candidatesTokenCount",
                        b"total_tokens",
                        b"totalTokenCount",
                        b"prompt_tokens_details",
                        b"input_tokens_details",
                        b"cache_read_input_tokens",
                        b"cachedContentTokenCount",
                        b"cache_creation_input_tokens",
                        b"completion_tokens_details",
                        b"output_tokens_details",
                        b"thoughtsTokenCount",
                    ],
                )?;
            // A count as `Value::as_u64` reads it: `Some(None)` for anything but a
            // non-negative integer.
            let count = |at: Option<usize>| -> Option<Option<u64>> {
                let Some(token) = at.and_then(|at| json.token(at)) else { return Some(None) };
                if token.kind() != Kind::Number {
                    return Some(None);
                }
                match json.u64(at?) {
                    Some(n) => Some(Some(n)),
                    // `-0` is the integer 0 to serde_json: leave signs to it.
                    None if json.text(token.range())?.starts_with(b"-") => None,
                    None => Some(None),
                }
            };
            // The count at `key` of the object at `at`, if `at` is one.
            let nested = |at: Option<usize>, key: &[u8]| -> Option<Option<u64>> {
                match object(at) {
                    Some(at) => count(json.fields(at, [key])?[0]),
                    None => Some(None),
                }
            };
            let first = |counts: &[Option<u64>]| counts.iter().find_map(|n| *n);
            let set = |field: &mut Option<u64>, found: Option<u64>| {
                if found.is_some() {
                    *field = found;
                }
            };
            set(&mut updated.input, first(&[count(prompt)?, count(input)?, count(prompt_count)?]));
            set(&mut updated.output, first(&[count(completion)?, count(output)?, count(candidates)?]));
            set(&mut updated.total, first(&[count(total)?, count(total_count)?]));
            let read = [
                nested(prompt_details, b"cached_tokens")?,
                nested(input_details, b"cached_tokens")?,
                count(cache_read)?,
                count(cached_content)?,
            ];
            set(&mut updated.cache_read, first(&read));
            set(&mut updated.cache_creation, count(cache_creation)?);
            let reasoning = [
                nested(completion_details, b"reasoning_tokens")?,
                nested(output_details, b"reasoning_tokens")?,
                count(thoughts)?,
            ];
            set(&mut updated.reasoning, first(&reasoning));
            if cache_read.is_some() || cache_creation.is_some() {
                updated.cache_apart = true;
            }
        }
        *self = updated;
        Some(())
    }

    /// Takes the fields a later report of the same reply carries (a stream's `Event::Usage`);
    /// the others keep their values. Counts are replaced, never added: every provider reports
    /// running totals (Anthropic's `message_delta` output_tokens is cumulative).
    pub fn merge(&mut self, later: &Usage) {
        let fields = [
            (&mut self.input, later.input),
            (&mut self.output, later.output),
            (&mut self.total, later.total),
            (&mut self.cache_read, later.cache_read),
            (&mut self.cache_creation, later.cache_creation),
            (&mut self.reasoning, later.reasoning),
        ];
        for (field, value) in fields {
            if value.is_some() {
                *field = value;
            }
        }
        // One reply comes from one provider: once its counts are known to be Anthropic-style
        // they stay so, even when a later report (output only) cannot tell.
        self.cache_apart |= later.cache_apart;
    }

    /// Whether any count at all is known (token counts, cache or reasoning details).
    pub fn is_any_known(&self) -> bool {
        self.is_known() || self.cache_read.is_some() || self.cache_creation.is_some() || self.reasoning.is_some()
    }

    /// Prompt tokens with those read from or written to a cache (OpenAI's `prompt_tokens`,
    /// which counts cached tokens within it).
    pub fn prompt_tokens(&self) -> Option<u64> {
        let input = self.input?;
        Some(match self.cache_apart {
            true => input.saturating_add(self.cache_read.unwrap_or(0)).saturating_add(self.cache_creation.unwrap_or(0)),
            false => input,
        })
    }

    /// Prompt tokens outside any cache (Anthropic's `input_tokens`).
    pub fn uncached_input(&self) -> Option<u64> {
        let input = self.input?;
        Some(match self.cache_apart {
            true => input,
            false => {
                input.saturating_sub(self.cache_read.unwrap_or(0)).saturating_sub(self.cache_creation.unwrap_or(0))
            }
        })
    }

    /// Whether the reply reported any token count.
    pub fn is_known(&self) -> bool {
        self.input.is_some() || self.output.is_some() || self.total.is_some()
    }

    /// Every token of the exchange: the provider's total when it gives one, else input and
    /// output (with Anthropic's cache reads and writes, which its input leaves out).
    pub fn total_tokens(&self) -> u64 {
        if let Some(total) = self.total {
            return total;
        }
        let cached = if self.cache_apart {
            self.cache_read.unwrap_or(0).saturating_add(self.cache_creation.unwrap_or(0))
        } else {
            0
        };
        self.input.unwrap_or(0).saturating_add(self.output.unwrap_or(0)).saturating_add(cached)
    }
}

/// How the reply's body is read.
#[derive(Debug)]
enum Format {
    /// Not known yet: the first bytes tell.
    Unknown(Vec<u8>),
    Sse(Framer),
    /// A JSON reply, kept up to [`MAX_JSON_BYTES`] (`None` once over).
    Json(Option<Vec<u8>>),
}

/// Reads the usage of a reply fed chunk by chunk.
#[derive(Debug)]
pub struct UsageExtractor {
    format: Format,
    usage: Usage,
    /// Events longer than [`MAX_EVENT_BYTES`] or a JSON body over [`MAX_JSON_BYTES`] met.
    overflowed: bool,
}

impl UsageExtractor {
    /// For a reply with `content_type` (`text/event-stream` is a stream, JSON is whole;
    /// anything else is told by its first bytes).
    pub fn new(content_type: &str) -> Self {
        let content_type = content_type.to_ascii_lowercase();
        let format = if content_type.contains("text/event-stream") {
            Format::Sse(Framer::default())
        } else if content_type.contains("json") {
            Format::Json(Some(Vec::new()))
        } else {
            Format::Unknown(Vec::new())
        };
        UsageExtractor { format, usage: Usage::default(), overflowed: false }
    }

    /// Takes the next chunk of the body.
    pub fn feed(&mut self, chunk: &[u8]) {
        if let Format::Unknown(seen) = &mut self.format {
            seen.extend_from_slice(chunk);
            let Some(&first) = seen.iter().find(|b| !b.is_ascii_whitespace()) else { return };
            let seen = std::mem::take(seen);
            self.format = if first == b'{' || first == b'[' {
                Format::Json(Some(Vec::new()))
            } else {
                Format::Sse(Framer::default())
            };
            return self.feed(&seen);
        }
        match &mut self.format {
            Format::Sse(parser) => {
                let usage = &mut self.usage;
                // Each event's data is lent from the chunk, not copied (what is not UTF-8 is
                // replaced, as `SseParser` replaces it).
                parser.feed(chunk, &mut |_, data| {
                    if let Some(data) = data {
                        read_event(usage, &String::from_utf8_lossy(data));
                    }
                });
                if parser.pending().len() > MAX_EVENT_BYTES {
                    // An event this long carries no usage worth holding the memory for.
                    *parser = Framer::default();
                    self.overflowed = true;
                }
            }
            Format::Json(body) => {
                if let Some(buffer) = body {
                    if buffer.len() + chunk.len() > MAX_JSON_BYTES {
                        *body = None;
                        self.overflowed = true;
                    } else {
                        buffer.extend_from_slice(chunk);
                    }
                }
            }
            Format::Unknown(_) => {}
        }
    }

    /// Ends the body: the usage it reported.
    pub fn finish(&mut self) -> Usage {
        match &mut self.format {
            Format::Sse(parser) => {
                if let Some(data) = parser.finish().and_then(|(_, data)| data) {
                    read_event(&mut self.usage, &String::from_utf8_lossy(&data));
                }
            }
            Format::Json(Some(body)) => {
                if let Ok(reply) = serde_json::from_slice::<Value>(body) {
                    self.usage.update(&reply);
                }
                body.clear();
            }
            Format::Unknown(seen) => {
                if let Ok(reply) = serde_json::from_slice::<Value>(seen) {
                    self.usage.update(&reply);
                }
            }
            Format::Json(None) => {}
        }
        self.usage
    }

    /// The usage read so far.
    pub fn usage(&self) -> Usage {
        self.usage
    }

    /// Whether part of the body was too long to read (its usage, if any, is lost).
    pub fn overflowed(&self) -> bool {
        self.overflowed
    }
}

/// One event's data: parsed only when it can hold usage.
fn read_event(usage: &mut Usage, data: &str) {
    // `usage`, `usageMetadata`: no other event is parsed.
    if !data.contains("usage") {
        return;
    }
    if let Ok(event) = serde_json::from_str::<Value>(data.trim()) {
        usage.update(&event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const OPENAI_STREAM: &str = "data: {\"id\":\"c1\",\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\n\
        data: {\"id\":\"c1\",\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":7,\"total_tokens\":19,\
        \"prompt_tokens_details\":{\"cached_tokens\":4},\"completion_tokens_details\":{\"reasoning_tokens\":2}}}\n\n\
        data: [DONE]\n\n";
    const ANTHROPIC_STREAM: &str = "event: message_start\r\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\
        \"usage\":{\"input_tokens\":25,\"output_tokens\":1,\"cache_read_input_tokens\":100,\"cache_creation_input_tokens\":8}}}\r\n\r\n\
        event: content_block_delta\r\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"text\":\"usage is fine\"}}\r\n\r\n\
        event: message_delta\r\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":15}}\r\n\r\n\
        event: message_stop\r\ndata: {\"type\":\"message_stop\"}\r\n\r\n";
    const GEMINI_STREAM: &str = "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"a\"}]}}],\
        \"usageMetadata\":{\"promptTokenCount\":9,\"candidatesTokenCount\":1,\"totalTokenCount\":10}}\n\n\
        data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"b\"}]},\"finishReason\":\"STOP\"}],\
        \"usageMetadata\":{\"promptTokenCount\":9,\"candidatesTokenCount\":5,\"totalTokenCount\":14,\"thoughtsTokenCount\":3}}\n\n";
    const RESPONSES_STREAM: &str = "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\",\"delta\":\"x\"}\n\n\
        event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":{\"id\":\"r\",\
        \"usage\":{\"input_tokens\":30,\"output_tokens\":20,\"total_tokens\":50,\"input_tokens_details\":{\"cached_tokens\":10}}}}\n\n";

    fn read(content_type: &str, body: &str) -> Usage {
        let mut extractor = UsageExtractor::new(content_type);
        extractor.feed(body.as_bytes());
        extractor.finish()
    }

    #[test]
    fn every_provider_shape() {
        let openai = read("text/event-stream", OPENAI_STREAM);
        assert_eq!((openai.input, openai.output, openai.total), (Some(12), Some(7), Some(19)));
        assert_eq!((openai.cache_read, openai.reasoning, openai.total_tokens()), (Some(4), Some(2), 19));

        let anthropic = read("text/event-stream; charset=utf-8", ANTHROPIC_STREAM);
        assert_eq!((anthropic.input, anthropic.output, anthropic.total), (Some(25), Some(15), None));
        assert_eq!((anthropic.cache_read, anthropic.cache_creation), (Some(100), Some(8)));
        // Anthropic's input leaves the cached tokens out: they count too.
        assert_eq!(anthropic.total_tokens(), 25 + 15 + 100 + 8);

        let gemini = read("text/event-stream", GEMINI_STREAM);
        assert_eq!(
            (gemini.input, gemini.output, gemini.reasoning, gemini.total_tokens()),
            (Some(9), Some(5), Some(3), 14)
        );

        let responses = read("text/event-stream", RESPONSES_STREAM);
        assert_eq!(
            (responses.input, responses.output, responses.cache_read, responses.total_tokens()),
            (Some(30), Some(20), Some(10), 50)
        );

        let json = read(
            "application/json",
            r#"{"id":"c","object":"chat.completion","usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}}"#,
        );
        assert_eq!(json.total_tokens(), 7);
        let claude = read("application/json", r#"{"type":"message","usage":{"input_tokens":5,"output_tokens":6}}"#);
        assert_eq!((claude.total, claude.total_tokens()), (None, 11));
        let gemini = read(
            "application/json; charset=UTF-8",
            r#"{"usageMetadata":{"promptTokenCount":2,"candidatesTokenCount":3}}"#,
        );
        assert_eq!(gemini.total_tokens(), 5);
    }

    #[test]
    fn no_usage_and_odd_bodies() {
        let none = read("text/event-stream", "data: {\"choices\":[]}\n\ndata: [DONE]\n\n");
        assert!(!none.is_known());
        assert_eq!(none.total_tokens(), 0);
        assert!(!read("application/json", "{not json").is_known());
        assert!(!read("application/json", "").is_known());
        assert!(!read("text/event-stream", "data: {\"usage\": \"oops\"}\n\n").is_known());
        assert!(!read("text/event-stream", "data: {\"usage\":{\"prompt_tokens\":-3}}\n\n").is_known());
        // No content type: the first bytes tell.
        assert_eq!(read("", OPENAI_STREAM).total_tokens(), 19);
        assert_eq!(read("", "  {\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":1}}").total_tokens(), 2);
        // A stream cut before its last blank line still counts its last event.
        assert_eq!(
            read("text/event-stream", OPENAI_STREAM.trim_end_matches("data: [DONE]\n\n").trim_end()).total_tokens(),
            19
        );
    }

    #[test]
    fn a_huge_event_is_dropped_not_held() {
        let mut extractor = UsageExtractor::new("text/event-stream");
        extractor.feed(b"data: ");
        let filler = vec![b'x'; 64 * 1024];
        for _ in 0..20 {
            extractor.feed(&filler);
        }
        assert!(extractor.overflowed());
        extractor.feed(b"\n\n");
        extractor.feed(OPENAI_STREAM.as_bytes());
        assert_eq!(extractor.finish().total_tokens(), 19);
    }

    #[test]
    fn merge_replaces_what_a_later_report_carries() {
        // Anthropic: input and cache at message_start, cumulative output at message_delta.
        let mut start = Usage::default();
        start.update(&serde_json::json!({"message": {"usage": {"input_tokens": 25, "output_tokens": 1,
            "cache_read_input_tokens": 100, "cache_creation_input_tokens": 8}}}));
        let mut delta = Usage::default();
        delta.update(&serde_json::json!({"usage": {"output_tokens": 15}}));
        let mut usage = Usage::default();
        assert!(!usage.is_any_known());
        usage.merge(&start);
        usage.merge(&delta);
        assert_eq!(
            (usage.input, usage.output, usage.cache_read, usage.cache_creation),
            (Some(25), Some(15), Some(100), Some(8))
        );
        // Still Anthropic-style after the output-only report.
        assert_eq!((usage.prompt_tokens(), usage.uncached_input()), (Some(133), Some(25)));
        assert_eq!(usage.total_tokens(), 148);

        let mut reasoning_only = Usage::default();
        reasoning_only.update(&serde_json::json!({"usage": {"completion_tokens_details": {"reasoning_tokens": 3}}}));
        assert!(!reasoning_only.is_known());
        assert!(reasoning_only.is_any_known());
    }

    proptest! {
        /// Usage split at any bytes counts the same as whole.
        #[test]
        fn any_split_counts_the_same(cuts in proptest::collection::vec(0usize..2000, 0..12), which in 0usize..4) {
            let (body, expected) = [(OPENAI_STREAM, 19), (ANTHROPIC_STREAM, 148), (GEMINI_STREAM, 14), (RESPONSES_STREAM, 50)][which];
            let bytes = body.as_bytes();
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (bytes.len() + 1)).collect();
            cuts.sort_unstable();
            let mut extractor = UsageExtractor::new("text/event-stream");
            let mut from = 0;
            for cut in cuts.into_iter().chain([bytes.len()]) {
                extractor.feed(bytes.get(from..cut).unwrap_or_default());
                from = cut;
            }
            prop_assert_eq!(extractor.finish().total_tokens(), expected);
        }
    }

    #[test]
    fn every_single_split_point() {
        for (body, expected) in
            [(OPENAI_STREAM, 19), (ANTHROPIC_STREAM, 148), (GEMINI_STREAM, 14), (RESPONSES_STREAM, 50)]
        {
            let bytes = body.as_bytes();
            for cut in 0..=bytes.len() {
                let mut extractor = UsageExtractor::new("text/event-stream");
                extractor.feed(bytes.get(..cut).unwrap_or_default());
                extractor.feed(bytes.get(cut..).unwrap_or_default());
                assert_eq!(extractor.finish().total_tokens(), expected, "cut at {cut}");
            }
        }
    }
}
