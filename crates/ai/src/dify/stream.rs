//! A Dify app's stream (`response_mode: streaming`) turned into [`Event`]s, and [`Event`]s
//! written as one. Each event is `data: {"event": "<name>", ...}`: the name is in the data.

use super::reply::{failure, output, read_error, write_usage};
use super::{App, Kind};
use crate::chat::{Event, EventSink, FinishReason, Invalid};
use crate::json::{data_text, event_data, object, write_value, Loc, Obj};
use crate::usage::Usage;
use higress_sdk::sse::SseEvent;
use serde_json::Value;
use std::borrow::Cow;

/// Decodes one Dify stream; one per request.
///
/// The first event gives [`Event::Start`], its id chosen as [`super::read_reply`] chooses it
/// (the conversation's for Chat and Agent apps, the message's for Completion apps, the run's
/// for workflows), its model the one set by [`StreamDecoder::with_model`] (Dify names none).
/// Then:
/// - the `answer` of `message` and `agent_message` events (and of any other event that
///   carries one) is [`Event::Text`];
/// - `message_end` is [`Event::Finish`] and [`Event::Usage`] (`metadata.usage`); an `answer`
///   it carries is the whole answer again, of which only what was not streamed yet is
///   passed on;
/// - a workflow's `workflow_finished` is its output as text, [`Event::Finish`] and its
///   `total_tokens`; a failed run is [`Event::Error`] (a Chat app's chatflow events are not its
///   answer: they are skipped, as are nodes, thoughts, files, speech and pings);
/// - `error` is [`Event::Error`] with its code and message.
#[derive(Debug, Default)]
pub struct StreamDecoder {
    app: App,
    model: String,
    started: bool,
    finished: bool,
    /// The text passed on so far, as its length and hash (a last event may repeat it whole:
    /// this recognises the repeat without keeping the answer).
    passed: Passed,
}

/// A text's length and FNV-1a hash, extended as the text grows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Passed {
    len: usize,
    hash: u64,
}

impl Default for Passed {
    fn default() -> Self {
        Passed { len: 0, hash: 0xcbf2_9ce4_8422_2325 }
    }
}

impl Passed {
    fn push(&mut self, text: &str) {
        self.len += text.len();
        self.hash = text.bytes().fold(self.hash, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x100_0000_01b3));
    }

    /// `whole` beyond the text passed so far, when `whole` begins with it.
    fn rest<'w>(&self, whole: &'w str) -> Option<&'w str> {
        let (head, rest) = (whole.get(..self.len)?, whole.get(self.len..)?);
        let mut same = Passed::default();
        same.push(head);
        (same == *self).then_some(rest)
    }
}

impl StreamDecoder {
    /// A decoder for a new stream of `app`.
    pub fn new(app: App) -> Self {
        StreamDecoder { app, ..StreamDecoder::default() }
    }

    /// The model [`Event::Start`] names (Dify's events do not).
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
        let name = root.str("event")?.unwrap_or_default();
        if name == "error" || (name.is_empty() && read_error(&chunk).is_some()) {
            let (code, message) = read_error(&chunk).unwrap_or_else(|| ("internal_server_error".into(), text.into()));
            events.push(Event::Error { kind: code, message });
            return Ok(());
        }
        if matches!(name, "ping" | "tts_message" | "tts_message_end" | "message_file") {
            return Ok(());
        }
        if !self.started {
            self.started = true;
            events.push(Event::Start { id: self.id(&root)?, model: self.model.clone() });
        }
        match name {
            "message_end" => {
                self.rest(root.str("answer")?.unwrap_or_default(), events);
                if let Some(metadata) = root.obj("metadata")? {
                    let mut usage = Usage::default();
                    usage.update(metadata.value());
                    if usage.is_any_known() {
                        events.push(Event::Usage(usage));
                    }
                }
                self.finish(events);
            }
            "workflow_finished" if self.app.kind == Kind::Workflow => {
                let data = root.req_obj("data")?;
                if let Some(message) = failure(&data)? {
                    events.push(Event::Error { kind: "workflow_failed".into(), message });
                    return Ok(());
                }
                let answer = output(&self.app, &data)?;
                self.rest(&answer, events);
                if let Some(total) = data.u64("total_tokens")? {
                    let mut usage = Usage::default();
                    usage.total = Some(total);
                    events.push(Event::Usage(usage));
                }
                self.finish(events);
            }
            // A chatflow's (or a workflow's) steps; an agent's thoughts, which Dify also
            // gives as `agent_message` answers.
            n if n.starts_with("workflow_") || n.starts_with("node_") || n == "text_chunk" => {}
            _ => {
                let answer = root.str("answer")?.unwrap_or_default();
                if !answer.is_empty() {
                    self.passed.push(answer);
                    events.push(Event::Text(answer.to_string()));
                }
            }
        }
        Ok(())
    }

    /// The id of the reply, from its first event.
    fn id(&self, root: &Obj) -> Result<String, Invalid> {
        let conversation = root.str("conversation_id")?.filter(|id| !id.is_empty());
        let message = root.str("message_id")?.filter(|id| !id.is_empty());
        let run = root.str("workflow_run_id")?.filter(|id| !id.is_empty());
        let id = match self.app.kind {
            Kind::Chat | Kind::Agent => conversation.or(message),
            Kind::Completion => message,
            Kind::Workflow => run,
        };
        Ok(id.or(message).or(run).unwrap_or_default().to_string())
    }

    /// What `whole` (the whole answer) has beyond the text passed on so far: all of it when
    /// nothing was, nothing when it is not a continuation of it.
    fn rest(&mut self, whole: &str, events: &mut Vec<Event>) {
        let rest = self.passed.rest(whole).unwrap_or_default();
        if !rest.is_empty() {
            events.push(Event::Text(rest.to_string()));
            self.passed.push(rest);
        }
    }

    fn finish(&mut self, events: &mut Vec<Event>) {
        if !self.finished {
            self.finished = true;
            events.push(Event::Finish(FinishReason::Stop));
        }
    }
}

/// Writes [`Event`]s as a Dify app streams them (a new encoder per request): each text as a
/// `message` event (`{event, task_id, message_id, conversation_id, answer, created_at}`),
/// the end as `message_end` with the usage of the whole stream; a workflow's as one
/// `workflow_finished` event whose output holds the whole text. Reasoning and tool calls have
/// no place in it. An error is an `error` event (`{event, status, code, message}`) and ends
/// the stream.
#[derive(Debug, Default)]
pub struct StreamEncoder {
    app: App,
    id: String,
    usage: Usage,
    /// A workflow's text so far (its only event holds it all).
    text: String,
    ended: bool,
}

impl StreamEncoder {
    /// An encoder for a new stream of `app`.
    pub fn new(app: App) -> Self {
        StreamEncoder { app, ..StreamEncoder::default() }
    }

    fn write(value: &Value, out: &mut Vec<u8>) {
        out.extend_from_slice(b"data: ");
        write_value(value, out);
        out.extend_from_slice(b"\n\n");
    }

    fn ids(&self) -> (&str, &str) {
        let conversation = if self.app.kind.converses() { self.id.as_str() } else { "" };
        (self.id.as_str(), conversation)
    }
}

impl EventSink for StreamEncoder {
    fn event(&mut self, event: Event, out: &mut Vec<u8>) {
        if self.ended {
            return;
        }
        match event {
            Event::Start { id, .. } => self.id = id,
            Event::Text(text) if !text.is_empty() => {
                if self.app.kind == Kind::Workflow {
                    self.text.push_str(&text);
                    return;
                }
                let (message, conversation) = self.ids();
                let event = object([
                    ("event", "message".into()),
                    ("task_id", "".into()),
                    ("message_id", message.into()),
                    ("conversation_id", conversation.into()),
                    ("answer", text.into()),
                    ("created_at", 0.into()),
                ]);
                Self::write(&event, out);
            }
            Event::Usage(usage) => self.usage.merge(&usage),
            Event::Error { kind, message } => {
                let mut error = super::write_error(&kind, &message);
                if let Value::Object(map) = &mut error {
                    map.insert("event".into(), "error".into());
                }
                Self::write(&error, out);
                self.ended = true;
            }
            Event::Text(_)
            | Event::Reasoning(_)
            | Event::ReasoningSignature(_)
            | Event::ToolCall { .. }
            | Event::ToolArguments { .. }
            | Event::Finish(_) => {}
        }
    }

    /// The last event: `message_end` (or a workflow's `workflow_finished`) with the usage of
    /// the whole stream. A second call, or one after an error, writes nothing.
    fn finish(&mut self, out: &mut Vec<u8>) {
        if self.ended {
            return;
        }
        self.ended = true;
        if self.app.kind == Kind::Workflow {
            let name = if self.app.output().is_empty() { "text" } else { self.app.output() };
            let mut outputs = serde_json::Map::new();
            outputs.insert(name.to_string(), std::mem::take(&mut self.text).into());
            let data = object([
                ("id", self.id.as_str().into()),
                ("status", "succeeded".into()),
                ("outputs", Value::Object(outputs)),
                ("total_tokens", self.usage.total_tokens().into()),
            ]);
            let event = object([
                ("event", "workflow_finished".into()),
                ("workflow_run_id", self.id.as_str().into()),
                ("data", data),
            ]);
            Self::write(&event, out);
            return;
        }
        let (message, conversation) = self.ids();
        let event = object([
            ("event", "message_end".into()),
            ("task_id", "".into()),
            ("message_id", message.into()),
            ("conversation_id", conversation.into()),
            ("metadata", object([("usage", write_usage(&self.usage))])),
        ]);
        Self::write(&event, out);
    }
}
