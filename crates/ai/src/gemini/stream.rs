//! Gemini's streamed reply (`streamGenerateContent?alt=sse`: each event's data is a whole
//! `GenerateContentResponse` holding the new parts) turned into [`Event`]s, and events
//! written as such a stream for a Gemini client.

use super::error::{read_error, write_error};
use super::fast;
use super::parts::read_parts;
use super::usage::{read_usage, write_usage};
use super::{finish_from_gemini, finish_to_gemini};
use crate::chat::{Event, EventSink, FinishReason, Invalid, Part};
use crate::json::{data_text, event_data, object, write_value, Loc, Obj};
use crate::usage::Usage;
use higress_sdk::sse::SseEvent;
use serde_json::{Map, Value};
use std::borrow::Cow;

/// Decodes one Gemini stream; one per request.
///
/// The first chunk gives [`Event::Start`] (`responseId`, `modelVersion`); each chunk's parts
/// give [`Event::Text`], [`Event::Reasoning`] (thoughts) with [`Event::ReasoningSignature`],
/// and for each `functionCall` an [`Event::ToolCall`] numbered from 0 across the stream with
/// its whole arguments in one [`Event::ToolArguments`] (Gemini sends a call whole; Go dropped
/// them); `finishReason` gives [`Event::Finish`]; `usageMetadata` (a running total on every
/// chunk) gives [`Event::Usage`]; an `error` object gives [`Event::Error`]. Go emitted each
/// chunk as an OpenAI chunk with a new id and never ended the stream with `[DONE]`; the
/// encoders here keep one id and always close the stream.
#[derive(Debug, Default)]
pub struct StreamDecoder {
    started: bool,
    /// Function calls so far (the next one's index).
    calls: usize,
}

impl StreamDecoder {
    /// A decoder for a new stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// What `event` says, in order; an event without data says nothing, data that is not a
    /// JSON object is [`Invalid`].
    pub fn decode(&mut self, event: &SseEvent) -> Result<Vec<Event>, Invalid> {
        let mut events = Vec::new();
        self.decode_into(event_data(event).map(str::as_bytes), &mut events)?;
        Ok(events)
    }

    /// [`StreamDecoder::decode`] of an event whose `data` field is `data`, its events appended
    /// to `events`.
    pub(crate) fn decode_into(&mut self, data: Option<&[u8]>, events: &mut Vec<Event>) -> Result<(), Invalid> {
        let trimmed = data.map(<[u8]>::trim_ascii).unwrap_or_default();
        if !trimmed.is_empty()
            && trimmed != b"[DONE]"
            && fast::decode(trimmed, &mut self.started, self.calls, events).is_some()
        {
            return Ok(());
        }
        self.decode_general(data, events)
    }

    /// [`StreamDecoder::decode_into`] through a `Value`: every chunk the typed reader gives up on.
    pub(crate) fn decode_general(&mut self, data: Option<&[u8]>, events: &mut Vec<Event>) -> Result<(), Invalid> {
        let text = data.map(String::from_utf8_lossy);
        let Some(text) = data_text(text.as_ref().map(Cow::as_ref)) else { return Ok(()) };
        let chunk: Value = serde_json::from_str(text).map_err(|e| Invalid(format!("stream event: {e}")))?;
        let root = Obj::of(&chunk, Loc::Named("stream event"))
            .ok_or_else(|| Invalid::field("stream event", "a JSON object"))?;
        if let Some((status, message)) = read_error(&chunk) {
            events.push(Event::Error { kind: status, message });
            return Ok(());
        }
        if !self.started {
            self.started = true;
            let id = root.str("responseId")?.unwrap_or_default().to_string();
            let model = root.str("modelVersion")?.unwrap_or_default().to_string();
            events.push(Event::Start { id, model });
        }
        let candidates_at = root.at("candidates");
        let candidate = root.array("candidates")?.and_then(|c| c.first());
        if let Some(candidate) = candidate {
            let at = candidates_at.index(0);
            let candidate = Obj::new(candidate, at)?;
            if let Some(content) = candidate.obj("content")? {
                let parts = content.array("parts")?.unwrap_or_default();
                for part in read_parts(parts, content.at("parts"), &mut self.calls.clone())? {
                    self.push_part(part, events);
                }
            }
            if let Some(reason) = candidate.str("finishReason")? {
                events.push(Event::Finish(finish_from_gemini(reason, self.calls > 0)));
            }
        } else if root.obj("promptFeedback")?.map(|f| f.str("blockReason")).transpose()?.flatten().is_some() {
            events.push(Event::Finish(FinishReason::ContentFilter));
        }
        if let Some(usage) = read_usage(&chunk) {
            events.push(Event::Usage(usage));
        }
        Ok(())
    }

    fn push_part(&mut self, part: Part, events: &mut Vec<Event>) {
        match part {
            Part::Text { text, .. } if !text.is_empty() => events.push(Event::Text(text)),
            Part::Reasoning { text, signature } => {
                if !text.is_empty() {
                    events.push(Event::Reasoning(text));
                }
                if let Some(signature) = signature {
                    events.push(Event::ReasoningSignature(signature));
                }
            }
            Part::ToolCall { id, name, arguments } => {
                let index = self.calls;
                self.calls += 1;
                events.push(Event::ToolCall { index, id, name });
                events.push(Event::ToolArguments { index, json: arguments });
            }
            Part::Text { .. } | Part::Image { .. } | Part::ToolResult { .. } => {}
        }
    }
}

/// Writes one stream as Gemini's `alt=sse` chunks (a new encoder per request).
///
/// Text and thoughts go out as they come, one chunk each; a tool call is held until its
/// arguments are complete (Gemini clients expect whole `functionCall`s) and sent before the
/// last chunk, which carries `finishReason` and `usageMetadata`. Every chunk has the
/// stream's `responseId` and `modelVersion`.
#[derive(Debug, Default)]
pub struct StreamEncoder {
    id: String,
    model: String,
    /// Tool calls in progress: id, name, arguments so far.
    calls: Vec<(String, String, String)>,
    finish: Option<FinishReason>,
    usage: Usage,
    finished: bool,
}

impl StreamEncoder {
    /// An encoder for a new stream.
    pub fn new() -> Self {
        Self::default()
    }

    fn chunk(&self, parts: Vec<Value>, finish: Option<String>, usage: Option<Value>, out: &mut Vec<u8>) {
        let mut candidate = Map::new();
        candidate.insert("content".into(), object([("role", "model".into()), ("parts", Value::Array(parts))]));
        if let Some(finish) = finish {
            candidate.insert("finishReason".into(), finish.into());
        }
        candidate.insert("index".into(), 0.into());
        let mut chunk = Map::new();
        chunk.insert("candidates".into(), Value::Array(vec![Value::Object(candidate)]));
        if let Some(usage) = usage {
            chunk.insert("usageMetadata".into(), usage);
        }
        chunk.insert("modelVersion".into(), self.model.as_str().into());
        chunk.insert("responseId".into(), self.id.as_str().into());
        write_event(&Value::Object(chunk), out);
    }
}

/// `data: <json>\r\n\r\n`, as Gemini frames its events.
fn write_event(value: &Value, out: &mut Vec<u8>) {
    out.extend_from_slice(b"data: ");
    write_value(value, out);
    out.extend_from_slice(b"\r\n\r\n");
}

impl EventSink for StreamEncoder {
    fn event(&mut self, event: Event, out: &mut Vec<u8>) {
        if self.finished {
            return;
        }
        match event {
            Event::Start { id, model } => {
                self.id = id;
                self.model = model;
            }
            Event::Text(text) if !text.is_empty() => {
                self.chunk(vec![object([("text", text.into())])], None, None, out);
            }
            Event::Reasoning(text) if !text.is_empty() => {
                self.chunk(vec![object([("text", text.into()), ("thought", true.into())])], None, None, out);
            }
            Event::ReasoningSignature(signature) => {
                let part =
                    object([("text", "".into()), ("thought", true.into()), ("thoughtSignature", signature.into())]);
                self.chunk(vec![part], None, None, out);
            }
            Event::ToolCall { index, id, name } => {
                if self.calls.len() <= index {
                    self.calls.resize(index + 1, Default::default());
                }
                if let Some(call) = self.calls.get_mut(index) {
                    call.0 = id;
                    call.1 = name;
                }
            }
            Event::ToolArguments { index, json } => {
                if let Some(call) = self.calls.get_mut(index) {
                    call.2.push_str(&json);
                }
            }
            Event::Finish(reason) => self.finish = Some(reason),
            Event::Usage(usage) => self.usage.merge(&usage),
            Event::Error { kind, message } => write_event(&write_error(&kind, &message), out),
            Event::Text(_) | Event::Reasoning(_) => {}
        }
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        if self.finished {
            return;
        }
        self.finished = true;
        let mut parts: Vec<Value> = Vec::with_capacity(self.calls.len());
        for (id, name, arguments) in std::mem::take(&mut self.calls) {
            let args = match serde_json::from_str::<Value>(&arguments) {
                Ok(args @ Value::Object(_)) => args,
                _ => Value::Object(Map::new()),
            };
            let call = object([("id", id.into()), ("name", name.into()), ("args", args)]);
            parts.push(object([("functionCall", call)]));
        }
        if parts.is_empty() {
            parts.push(object([("text", "".into())]));
        }
        let finish = finish_to_gemini(self.finish.as_ref().unwrap_or(&FinishReason::Stop));
        self.chunk(parts, Some(finish), write_usage(&self.usage), out);
    }
}
