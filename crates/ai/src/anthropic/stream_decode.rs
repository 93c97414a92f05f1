//! Claude's streamed reply (server-sent events) turned into [`Event`]s, one upstream event at
//! a time.

use super::error::read_error;
use crate::chat::{Event, FinishReason, Invalid};
use crate::json::{event_data, Loc, Obj};
use crate::usage::Usage;
use higress_sdk::sse::SseEvent;
use serde_json::Value;

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
        // Some Anthropic-compatible endpoints end with OpenAI's `data: [DONE]`: nothing to say.
        let Some(data) = event_data(event) else { return Ok(Vec::new()) };
        let name = event.event.as_deref().unwrap_or("event");
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
            "input_json_delta" => {
                let json = delta.req_str("partial_json")?;
                let call = self.tool_blocks.iter_mut().enumerate().find(|(_, block)| block.index == index);
                // A block that is no tool call of ours is a server-side tool's: dropped.
                if let (Some((ordinal, block)), false) = (call, json.is_empty()) {
                    block.has_arguments = true;
                    events.push(Event::ToolArguments { index: ordinal, json: json.to_string() });
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn block_stop(&mut self, data: &Obj, events: &mut Vec<Event>) -> Result<(), Invalid> {
        let index = block_index(data)?;
        let call = self.tool_blocks.iter_mut().enumerate().find(|(_, block)| block.index == index);
        if let Some((ordinal, block)) = call.filter(|(_, block)| !block.has_arguments) {
            block.has_arguments = true;
            events.push(Event::ToolArguments { index: ordinal, json: "{}".to_string() });
        }
        Ok(())
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
