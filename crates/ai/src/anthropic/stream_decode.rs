//! Claude's streamed reply (server-sent events) turned into [`Event`]s, one upstream event at
//! a time.

use super::error::read_error;
use crate::chat::{Event, FinishReason, Invalid};
use crate::json::{data_text, event_data, Loc, Obj};
use crate::scan::{lossy, Json, Kind, Template, Token};
use crate::usage::Usage;
use higress_sdk::sse::SseEvent;
use serde_json::Value;
use std::borrow::Cow;

/// Decodes one Anthropic stream; one per request.
///
/// What each event becomes:
/// - `message_start` → [`Event::Start`] and [`Event::Usage`] (input and cache counts);
/// - `content_block_start` → for `tool_use`, [`Event::ToolCall`] whose `index` counts the
///   reply's tool calls from 0 (Anthropic's `index` counts every block, text and thinking
///   included; Go passed it on, so a tool call after text was OpenAI's tool call 1 and
///   clients looked for a call 0 that never came); text and thinking blocks pass on any text
///   they start with;
/// - `content_block_delta` → [`Event::Text`], [`Event::Reasoning`],
///   [`Event::ReasoningSignature`], [`Event::ToolArguments`] (its block's call);
/// - `content_block_stop` of a tool call that had no arguments → `{}` as its arguments
///   (OpenAI clients parse them and `""` is not JSON);
/// - `message_delta` → [`Event::Finish`] and [`Event::Usage`], whose `output_tokens` is the
///   running total and replaces the earlier count (Go added it to the count of
///   `message_start`);
/// - `error` → [`Event::Error`] (Go dropped it, and the client saw a stream just stop);
/// - `message_stop`, `ping` and events this protocol may add later → nothing.
///
/// Redacted thinking and server-side tool blocks (with their `input_json_delta`s) are
/// dropped. Every [`Event::Usage`] carries the counts of the whole stream so far.
#[derive(Debug, Default)]
pub struct StreamDecoder {
    usage: Usage,
    /// The reply's tool calls in order: the content block index of each.
    tool_blocks: Vec<ToolBlock>,
    /// The fast path's tokens, kept from one event to the next.
    tokens: Vec<Token>,
    /// The last delta, as the template of the next.
    template: Option<(Template, Replay)>,
}

#[derive(Debug)]
struct ToolBlock {
    index: u64,
    has_arguments: bool,
}

impl StreamDecoder {
    /// A decoder for a new stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// What `event` says, in order. An event without data (a comment, a keep-alive) or
    /// `[DONE]` says nothing; data that is not a JSON object, or a known event missing a field it needs,
    /// is [`Invalid`].
    pub fn decode(&mut self, event: &SseEvent) -> Result<Vec<Event>, Invalid> {
        let mut events = Vec::new();
        let name = event.event.as_deref().map(str::as_bytes);
        self.decode_into(name, event_data(event).map(str::as_bytes), &mut events)?;
        Ok(events)
    }

    /// [`StreamDecoder::decode`] of an event whose `event` and `data` fields are `name` and
    /// `data` (as bytes: what is not UTF-8 is replaced, as the SDK's parser replaces it), its
    /// events appended to `events`.
    pub(crate) fn decode_into(
        &mut self,
        name: Option<&[u8]>,
        data: Option<&[u8]>,
        events: &mut Vec<Event>,
    ) -> Result<(), Invalid> {
        let Some(data) = data else { return Ok(()) };
        // What `event_data` trims off, but for whitespace beyond ASCII (then not JSON's, and
        // the fast path gives up). Some Anthropic-compatible endpoints end with OpenAI's
        // `data: [DONE]`: nothing to say.
        let trimmed = data.trim_ascii();
        if trimmed.is_empty() || trimmed == b"[DONE]" {
            return Ok(());
        }
        // Events the fast path does not read (`message_start`, ...) go straight to the
        // general one: tokenizing them first would only cost.
        let fast = matches!(
            name.map(<[u8]>::trim_ascii),
            None | Some(
                b"content_block_delta"
                    | b"content_block_stop"
                    | b"ping"
                    | b"message_start"
                    | b"message_delta"
                    | b"message_stop"
            )
        );
        let before = events.len();
        if fast && self.fast(trimmed, events).is_some() {
            return Ok(());
        }
        events.truncate(before);
        let data = lossy(data);
        let Some(data) = data_text(Some(&data)) else { return Ok(()) };
        events.extend(self.general(name.map(lossy).as_deref(), data)?);
        Ok(())
    }

    /// The fast path: the events that make up nearly all of a stream (`content_block_delta`,
    /// `content_block_stop`, `ping`, `message_start`, `message_delta`, `message_stop`) read
    /// in one pass over their text,
    /// without a `Value`. `None` for any other event, or anything unusual in one of these
    /// (the general path then reads it, and says what is wrong). What it returns, and the
    /// state it leaves, are the general path's for the same data: a change to what the
    /// general path reads must be made here too (`translate::equivalence` checks that the two
    /// agree). Its events are appended to `events`.
    pub(crate) fn fast(&mut self, data: &[u8], events: &mut Vec<Event>) -> Option<()> {
        if let Some((mut template, replay)) = self.template.take() {
            let text = template.text(data).map(Cow::into_owned);
            let matched = text.is_some();
            if let Some(text) = text {
                self.replay(replay, text, events);
            }
            self.template = Some((template, replay));
            if matched {
                return Some(());
            }
        }
        let mut tokens = std::mem::take(&mut self.tokens);
        let read = match Json::parse(data, &mut tokens) {
            Some(json) => self.read_fast(&json, events),
            None => None,
        };
        self.tokens = tokens;
        read
    }

    /// Takes the counts of an event that carries a usage object, read from its tokens (as
    /// `take_usage`), and passes on the stream's counts so far.
    fn count(&mut self, json: &Json, events: &mut Vec<Event>) -> Option<()> {
        let mut usage = self.usage;
        usage.update_tokens(json, 0)?;
        self.usage = usage;
        events.push(Event::Usage(usage));
        Some(())
    }

    /// The events of a delta whose text is `text`.
    fn replay(&mut self, replay: Replay, text: String, events: &mut Vec<Event>) {
        match replay {
            _ if text.is_empty() => {}
            Replay::Text => events.push(Event::Text(text)),
            Replay::Thinking => events.push(Event::Reasoning(text)),
            Replay::Signature => events.push(Event::ReasoningSignature(text)),
            Replay::InputJson(index) => self.input_json(index, &text, events),
        }
    }

    fn read_fast(&mut self, json: &Json, events: &mut Vec<Event>) -> Option<()> {
        let [kind, index, delta, message, usage] =
            json.fields(0, [b"type", b"index", b"delta", b"message", b"usage"])?;
        let is_object = |at: Option<usize>| at.and_then(|at| json.token(at)).is_some_and(|t| t.kind() == Kind::Object);
        let text = |at: Option<usize>| -> Option<Option<String>> {
            match at {
                Some(at) => Some(json.opt_str(at)?.map(Cow::into_owned)),
                None => Some(None),
            }
        };
        match &*json.str(kind?)? {
            "message_start" => {
                let [id, model, message_usage] = json.fields(message?, [b"id", b"model", b"usage"])?;
                events
                    .push(Event::Start { id: text(id)?.unwrap_or_default(), model: text(model)?.unwrap_or_default() });
                if is_object(message_usage) {
                    self.count(json, events)?;
                }
            }
            "message_delta" => {
                if is_object(delta) {
                    let [reason, sequence] = json.fields(delta?, [b"stop_reason", b"stop_sequence"])?;
                    if let Some(reason) = text(reason)? {
                        let sequence = text(sequence)?;
                        events.push(Event::Finish(FinishReason::from_anthropic(&reason, sequence.as_deref())));
                    }
                }
                if is_object(usage) {
                    self.count(json, events)?;
                }
            }
            "content_block_delta" => {
                let index = json.u64(index?)?;
                let [kind, text, thinking, signature, partial_json] =
                    json.fields(delta?, [b"type", b"text", b"thinking", b"signature", b"partial_json"])?;
                let (at, replay) = match &*json.str(kind?)? {
                    "text_delta" => (text?, Replay::Text),
                    "thinking_delta" => (thinking?, Replay::Thinking),
                    "signature_delta" => (signature?, Replay::Signature),
                    "input_json_delta" => (partial_json?, Replay::InputJson(index)),
                    // A delta of a type this protocol may add later: nothing.
                    _ => return Some(()),
                };
                let text = json.str(at)?.into_owned();
                self.template = Template::new(json, at, reads).map(|template| (template, replay));
                self.replay(replay, text, events);
            }
            "content_block_stop" => self.stop(json.u64(index?)?, events),
            "ping" | "message_stop" => {}
            _ => return None,
        }
        Some(())
    }

    /// The general path: the event's data read as a `Value`, field by field.
    pub(crate) fn general(&mut self, name: Option<&str>, data: &str) -> Result<Vec<Event>, Invalid> {
        let name = name.unwrap_or("event");
        let value = serde_json::from_str(data).ok();
        let Some(data) = value.as_ref().and_then(|value| Obj::of(value, Loc::Named(name))) else {
            return Err(Invalid::field(&format!("{name} data"), "a JSON object"));
        };
        let kind = match data.str("type")? {
            Some(kind) => kind,
            None => name,
        };
        // The event's fields are named after its type (`content_block_delta.index`).
        let data = data.with_loc(Loc::Named(kind));
        let mut events = Vec::new();
        match kind {
            "message_start" => self.message_start(&data, &mut events)?,
            "content_block_start" => self.block_start(&data, &mut events)?,
            "content_block_delta" => self.block_delta(&data, &mut events)?,
            "content_block_stop" => self.block_stop(&data, &mut events)?,
            "message_delta" => self.message_delta(&data, &mut events)?,
            "error" => {
                let (kind, message) =
                    read_error(data.value()).ok_or_else(|| Invalid::field("error.error.type", "a string"))?;
                events.push(Event::Error { kind, message });
            }
            _ => {}
        }
        Ok(events)
    }

    fn message_start(&mut self, data: &Obj, events: &mut Vec<Event>) -> Result<(), Invalid> {
        let message = data.req_obj("message")?;
        events.push(Event::Start {
            id: message.str("id")?.unwrap_or_default().to_string(),
            model: message.str("model")?.unwrap_or_default().to_string(),
        });
        self.take_usage(data, message.get("usage"), events);
        Ok(())
    }

    fn block_start(&mut self, data: &Obj, events: &mut Vec<Event>) -> Result<(), Invalid> {
        let index = block_index(data)?;
        let block = data.req_obj("content_block")?;
        match block.req_str("type")? {
            "text" => push_text(events, Event::Text, block.str("text")?),
            "thinking" => {
                push_text(events, Event::Reasoning, block.str("thinking")?);
                push_text(events, Event::ReasoningSignature, block.str("signature")?);
            }
            "tool_use" => {
                let ordinal = self.tool_blocks.len();
                events.push(Event::ToolCall {
                    index: ordinal,
                    id: block.req_str("id")?.to_string(),
                    name: block.req_str("name")?.to_string(),
                });
                // Anthropic starts a call with `input: {}` and streams the input; a non-empty
                // one here is the whole input.
                let input = block.get("input").filter(|input| input.as_object().is_some_and(|i| !i.is_empty()));
                if let Some(input) = input {
                    events.push(Event::ToolArguments { index: ordinal, json: input.to_string() });
                }
                self.tool_blocks.push(ToolBlock { index, has_arguments: input.is_some() });
            }
            _ => {}
        }
        Ok(())
    }

    fn block_delta(&mut self, data: &Obj, events: &mut Vec<Event>) -> Result<(), Invalid> {
        let index = block_index(data)?;
        let delta = data.req_obj("delta")?;
        match delta.req_str("type")? {
            "text_delta" => push_text(events, Event::Text, Some(delta.req_str("text")?)),
            "thinking_delta" => push_text(events, Event::Reasoning, Some(delta.req_str("thinking")?)),
            "signature_delta" => push_text(events, Event::ReasoningSignature, Some(delta.req_str("signature")?)),
            "input_json_delta" => self.input_json(index, delta.req_str("partial_json")?, events),
            _ => {}
        }
        Ok(())
    }

    /// More input for the tool call of block `index`.
    fn input_json(&mut self, index: u64, json: &str, events: &mut Vec<Event>) {
        let call = self.tool_blocks.iter_mut().enumerate().find(|(_, block)| block.index == index);
        // A block that is no tool call of ours is a server-side tool's: dropped.
        if let (Some((ordinal, block)), false) = (call, json.is_empty()) {
            block.has_arguments = true;
            events.push(Event::ToolArguments { index: ordinal, json: json.to_string() });
        }
    }

    fn block_stop(&mut self, data: &Obj, events: &mut Vec<Event>) -> Result<(), Invalid> {
        self.stop(block_index(data)?, events);
        Ok(())
    }

    /// Block `index` ended.
    fn stop(&mut self, index: u64, events: &mut Vec<Event>) {
        let call = self.tool_blocks.iter_mut().enumerate().find(|(_, block)| block.index == index);
        if let Some((ordinal, block)) = call.filter(|(_, block)| !block.has_arguments) {
            block.has_arguments = true;
            events.push(Event::ToolArguments { index: ordinal, json: "{}".to_string() });
        }
    }

    fn message_delta(&mut self, data: &Obj, events: &mut Vec<Event>) -> Result<(), Invalid> {
        // A `delta` that is no object says nothing.
        if let Some(delta) = data.get("delta").and_then(|delta| Obj::of(delta, data.at("delta"))) {
            if let Some(reason) = delta.str("stop_reason")? {
                events.push(Event::Finish(FinishReason::from_anthropic(reason, delta.str("stop_sequence")?)));
            }
        }
        self.take_usage(data, data.get("usage"), events);
        Ok(())
    }

    /// Takes the counts of an event that carries a usage object (each count replaces the
    /// earlier one) and passes on the stream's counts so far.
    fn take_usage(&mut self, data: &Obj, usage: Option<&Value>, events: &mut Vec<Event>) {
        if usage.is_some_and(Value::is_object) {
            self.usage.update(data.value());
            events.push(Event::Usage(self.usage));
        }
    }
}

#[cfg(test)]
impl StreamDecoder {
    /// [`StreamDecoder::decode_into`] without the fast path: the reference it is checked
    /// against.
    pub(crate) fn decode_general(&mut self, name: Option<&[u8]>, data: Option<&[u8]>) -> Result<Vec<Event>, Invalid> {
        let Some(data) = data else { return Ok(Vec::new()) };
        let data = lossy(data);
        match data_text(Some(&data)) {
            Some(data) => self.general(name.map(lossy).as_deref(), data),
            None => Ok(Vec::new()),
        }
    }

    /// What the decoder remembers of the stream (its fast path's buffers aside).
    pub(crate) fn state(&self) -> String {
        format!("{:?} {:?}", self.usage, self.tool_blocks)
    }
}

/// The keys the fast path reads, wherever they are: a template keeps their values.
fn reads(key: &[u8]) -> bool {
    matches!(key, b"type" | b"index" | b"delta" | b"text" | b"thinking" | b"signature" | b"partial_json")
}

/// How the events of a `content_block_delta` are made of its text.
#[derive(Debug, Clone, Copy)]
enum Replay {
    Text,
    Thinking,
    Signature,
    /// More input for the tool call of the block at this index.
    InputJson(u64),
}

/// The event's content block `index`.
fn block_index(data: &Obj) -> Result<u64, Invalid> {
    data.u64("index")?.ok_or_else(|| data.at("index").invalid("a non-negative integer"))
}

/// `make(text)` unless the text is absent or empty.
fn push_text(events: &mut Vec<Event>, make: fn(String) -> Event, text: Option<&str>) {
    if let Some(text) = text.filter(|text| !text.is_empty()) {
        events.push(make(text.to_string()));
    }
}
