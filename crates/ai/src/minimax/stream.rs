//! A ChatCompletion Pro stream turned into [`Event`]s, and [`Event`]s written as one.

use super::reply::{last_message, message_parts, read_error, write_usage};
use super::{finish_from_minimax, DEFAULT_BOT_NAME};
use crate::chat::{Event, EventSink, FinishReason, Invalid, Part};
use crate::json::{data_text, event_data, object, write_value, Loc, Obj};
use crate::usage::Usage;
use higress_sdk::sse::SseEvent;
use serde_json::{Map, Value};
use std::borrow::Cow;

/// Decodes one Pro stream; one per request.
///
/// The first event gives [`Event::Start`] (its `id`, often empty until the last event, and
/// `model`, else the one set by [`StreamDecoder::with_model`]). An event without a
/// `finish_reason` gives the text of its last message as [`Event::Text`]. The last event
/// (with a `finish_reason`) holds the whole answer again: only what was not streamed yet is
/// passed on, then its function call ([`Event::ToolCall`] and [`Event::ToolArguments`]),
/// [`Event::Finish`] and [`Event::Usage`]. A `base_resp` with a non-zero `status_code` is
/// [`Event::Error`].
#[derive(Debug, Default)]
pub struct StreamDecoder {
    model: String,
    started: bool,
    finished: bool,
    /// The text passed on so far (the last event repeats it whole).
    text: String,
}

impl StreamDecoder {
    /// A decoder for a new stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// The model [`Event::Start`] names when the stream names none.
    pub fn with_model(mut self, model: impl Into<String>) -> Self {
        self.model = model.into();
        self
    }

    /// What `event` says, in order. An event without data says nothing; data that is not a
    /// JSON object, or a field of the wrong type, is [`Invalid`].
    pub fn decode(&mut self, event: &SseEvent) -> Result<Vec<Event>, Invalid> {
        let mut events = Vec::new();
        self.decode_into(event_data(event).map(str::as_bytes), &mut events)?;
        Ok(events)
    }

    /// [`StreamDecoder::decode`] of an event whose `data` field is `data`, its events
    /// appended to `events`.
    pub(crate) fn decode_into(&mut self, data: Option<&[u8]>, events: &mut Vec<Event>) -> Result<(), Invalid> {
        let text = data.map(String::from_utf8_lossy);
        let Some(text) = data_text(text.as_ref().map(Cow::as_ref)) else { return Ok(()) };
        let chunk: Value = serde_json::from_str(text).map_err(|e| Invalid(format!("stream event: {e}")))?;
        let root = Obj::of(&chunk, Loc::Named("stream event"))
            .ok_or_else(|| Invalid::field("stream event", "a JSON object"))?;
        if let Some((code, message)) = read_error(&chunk) {
            events.push(Event::Error { kind: code, message });
            return Ok(());
        }
        if !self.started {
            self.started = true;
            let id = root.str("id")?.unwrap_or_default().to_string();
            let model = root.str("model")?.filter(|m| !m.is_empty()).map_or_else(|| self.model.clone(), str::to_string);
            events.push(Event::Start { id, model });
        }
        let choices_at = root.at("choices");
        let Some(choice) = root.array("choices")?.and_then(|c| c.first()) else { return Ok(()) };
        let choice = Obj::new(choice, choices_at.index(0))?;
        let reason = choice.str("finish_reason")?.unwrap_or_default();
        let message = last_message(&choice)?;
        if reason.is_empty() {
            let delta = match &message {
                Some(message) => message.str("text")?.unwrap_or_default(),
                None => "",
            };
            if !delta.is_empty() {
                self.text.push_str(delta);
                events.push(Event::Text(delta.to_string()));
            }
            return Ok(());
        }
        if self.finished {
            return Ok(());
        }
        self.finished = true;
        let parts = match &message {
            Some(message) => message_parts(message, 0)?,
            None => Vec::new(),
        };
        let mut called = false;
        for part in parts {
            match part {
                Part::Text { text, .. } => {
                    // The whole answer: what follows the streamed text, if it continues it.
                    if let Some(rest) = text.strip_prefix(self.text.as_str()).filter(|r| !r.is_empty()) {
                        events.push(Event::Text(rest.to_string()));
                    }
                }
                Part::ToolCall { id, name, arguments } => {
                    called = true;
                    events.push(Event::ToolCall { index: 0, id, name });
                    if !arguments.is_empty() {
                        events.push(Event::ToolArguments { index: 0, json: arguments });
                    }
                }
                Part::Reasoning { .. } | Part::Image { .. } | Part::ToolResult { .. } => {}
            }
        }
        self.text = String::new();
        if let Some(finish) = finish_from_minimax(reason, called) {
            events.push(Event::Finish(finish));
        }
        let mut usage = Usage::default();
        usage.update(&chunk);
        if usage.is_any_known() {
            events.push(Event::Usage(usage));
        }
        Ok(())
    }
}

/// Writes [`Event`]s as a Pro stream (a new encoder per request): each text as an event
/// whose last message holds it, then a last event with the whole answer (and its first tool
/// call), the finish reason, the usage, the id and `base_resp`. An error is an event with
/// its `base_resp` and ends the stream.
#[derive(Debug, Default)]
pub struct StreamEncoder {
    id: String,
    model: String,
    text: String,
    /// The first tool call: name, arguments.
    call: Option<(String, String)>,
    finish: Option<FinishReason>,
    usage: Usage,
    ended: bool,
}

impl StreamEncoder {
    /// An encoder for a new stream.
    pub fn new() -> Self {
        Self::default()
    }

    fn message(&self, text: &str, call: bool) -> Value {
        let mut message = Map::new();
        message.insert("sender_type".into(), "BOT".into());
        message.insert("sender_name".into(), DEFAULT_BOT_NAME.into());
        message.insert("text".into(), text.into());
        if let (true, Some((name, arguments))) = (call, &self.call) {
            message.insert(
                "function_call".into(),
                object([("name", name.as_str().into()), ("arguments", arguments.as_str().into())]),
            );
        }
        Value::Object(message)
    }

    fn write(value: &Value, out: &mut Vec<u8>) {
        out.extend_from_slice(b"data: ");
        write_value(value, out);
        out.extend_from_slice(b"\n\n");
    }
}

impl EventSink for StreamEncoder {
    fn event(&mut self, event: Event, out: &mut Vec<u8>) {
        if self.ended {
            return;
        }
        match event {
            Event::Start { id, model } => {
                self.id = id;
                self.model = model;
            }
            Event::Text(text) if !text.is_empty() => {
                self.text.push_str(&text);
                let choice = object([("messages", Value::Array(vec![self.message(&text, false)]))]);
                let event = object([
                    ("created", 0.into()),
                    ("model", self.model.as_str().into()),
                    ("reply", "".into()),
                    ("choices", Value::Array(vec![choice])),
                ]);
                Self::write(&event, out);
            }
            Event::ToolCall { index: 0, name, .. } => self.call = Some((name, String::new())),
            Event::ToolArguments { index: 0, json } => {
                if let Some((_, arguments)) = &mut self.call {
                    arguments.push_str(&json);
                }
            }
            Event::Finish(reason) => self.finish = Some(reason),
            Event::Usage(usage) => self.usage.merge(&usage),
            Event::Error { kind, message } => {
                Self::write(&super::write_error(&kind, &message), out);
                self.ended = true;
            }
            Event::Text(_)
            | Event::Reasoning(_)
            | Event::ReasoningSignature(_)
            | Event::ToolCall { .. }
            | Event::ToolArguments { .. } => {}
        }
    }

    /// The last event. A second call, or one after an error, writes nothing.
    fn finish(&mut self, out: &mut Vec<u8>) {
        if self.ended {
            return;
        }
        self.ended = true;
        let finish = match self.finish.take() {
            Some(FinishReason::ToolCalls) | None => "stop".to_string(),
            Some(reason) => reason.to_openai().to_string(),
        };
        let choice = object([
            ("index", 0.into()),
            ("finish_reason", finish.into()),
            ("messages", Value::Array(vec![self.message(&self.text, true)])),
        ]);
        let event = object([
            ("id", self.id.as_str().into()),
            ("created", 0.into()),
            ("model", self.model.as_str().into()),
            ("reply", self.text.as_str().into()),
            ("choices", Value::Array(vec![choice])),
            ("usage", write_usage(&self.usage)),
            ("base_resp", object([("status_code", 0.into()), ("status_msg", "".into())])),
        ]);
        Self::write(&event, out);
    }
}
