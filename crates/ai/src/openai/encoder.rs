//! Canonical stream events written as an OpenAI chat completions stream:
//! `data: {chat.completion.chunk}\n\n` ... `data: [DONE]\n\n`.

use super::usage::write_usage;
use crate::chat::{Event, EventSink};
use crate::json::object;
use crate::usage::Usage;
use serde_json::{json, Value};

/// Writes one stream (a new encoder per request: the state is the stream's).
///
/// Every chunk carries the same `id`, `model` (from `Event::Start`) and `created`. The first
/// is `delta: {role: assistant, content: ""}`, as OpenAI sends it; content before any
/// `Start` gets that chunk first (with an empty id and model). Tool calls carry their
/// ordinal as `index`, with id, type and name on their first delta. Usage is held and sent
/// at the end in OpenAI's `include_usage` form (a last chunk with `choices: []`), since
/// providers report it in pieces (Anthropic: input at the start, output at the end); the
/// stream always ends with `data: [DONE]` (Go's translated streams never did).
#[derive(Debug)]
pub struct StreamEncoder {
    created: u64,
    id: String,
    model: String,
    /// Whether the role chunk was written.
    started: bool,
    usage: Usage,
    include_usage: bool,
    /// Whether `finish` ran.
    finished: bool,
}

impl StreamEncoder {
    /// An encoder whose chunks say they were created at `created` (seconds since the epoch,
    /// from the host's clock: every chunk of a stream has the same).
    pub fn new(created: u64) -> Self {
        StreamEncoder {
            created,
            id: String::new(),
            model: String::new(),
            started: false,
            usage: Usage::default(),
            include_usage: true,
            finished: false,
        }
    }

    /// Whether the last chunk carries the usage (default yes: the gateway asks every
    /// provider for it; a client that did not ask may be spared a chunk without choices).
    pub fn include_usage(mut self, include: bool) -> Self {
        self.include_usage = include;
        self
    }

    /// A chunk: `{id, object, created, model, choices}` (+ `usage`).
    fn chunk(&self, choices: Value, usage: Option<Value>) -> Value {
        let mut chunk = object([
            ("id", self.id.as_str().into()),
            ("object", "chat.completion.chunk".into()),
            ("created", self.created.into()),
            ("model", self.model.as_str().into()),
            ("choices", choices),
        ]);
        if let (Some(usage), Value::Object(map)) = (usage, &mut chunk) {
            map.insert("usage".into(), usage);
        }
        chunk
    }

    /// A chunk of choice 0 with `delta` and `finish_reason`.
    fn write_delta(&self, delta: Value, finish: Option<&str>, out: &mut Vec<u8>) {
        let choice = object([
            ("index", 0.into()),
            ("delta", delta),
            ("logprobs", Value::Null),
            ("finish_reason", finish.map_or(Value::Null, Value::from)),
        ]);
        write_data(&self.chunk(Value::Array(vec![choice]), None), out);
    }

    /// The role chunk, once, before any content.
    fn start(&mut self, out: &mut Vec<u8>) {
        if !self.started {
            self.started = true;
            self.write_delta(json!({"role": "assistant", "content": ""}), None, out);
        }
    }
}

impl EventSink for StreamEncoder {
    fn event(&mut self, event: Event, out: &mut Vec<u8>) {
        match event {
            Event::Start { id, model } => {
                if !self.started {
                    self.id = id;
                    self.model = model;
                    self.start(out);
                }
            }
            Event::Text(text) => {
                if !text.is_empty() {
                    self.start(out);
                    self.write_delta(json!({"content": text}), None, out);
                }
            }
            Event::Reasoning(text) => {
                if !text.is_empty() {
                    self.start(out);
                    self.write_delta(json!({"reasoning_content": text}), None, out);
                }
            }
            // OpenAI has no place for a reasoning signature.
            Event::ReasoningSignature(_) => {}
            Event::ToolCall { index, id, name } => {
                self.start(out);
                let call =
                    json!({"index": index, "id": id, "type": "function", "function": {"name": name, "arguments": ""}});
                self.write_delta(json!({"tool_calls": [call]}), None, out);
            }
            Event::ToolArguments { index, json } => {
                if !json.is_empty() {
                    self.start(out);
                    let call = json!({"index": index, "function": {"arguments": json}});
                    self.write_delta(json!({"tool_calls": [call]}), None, out);
                }
            }
            Event::Finish(reason) => {
                self.start(out);
                self.write_delta(json!({}), Some(reason.to_openai()), out);
            }
            Event::Usage(usage) => self.usage.merge(&usage),
            Event::Error { kind, message } => {
                write_data(&super::write_error(&kind, &message), out);
            }
        }
    }

    /// The usage chunk (when usage is known and wanted), then `data: [DONE]`. A second call
    /// writes nothing.
    fn finish(&mut self, out: &mut Vec<u8>) {
        if self.finished {
            return;
        }
        self.finished = true;
        if self.include_usage {
            if let Some(usage) = write_usage(&self.usage) {
                write_data(&self.chunk(Value::Array(Vec::new()), Some(usage)), out);
            }
        }
        out.extend_from_slice(b"data: [DONE]\n\n");
    }
}

/// `data: <json>\n\n` (serialized JSON has no raw newline, so one `data:` line is enough).
fn write_data(value: &Value, out: &mut Vec<u8>) {
    out.extend_from_slice(b"data: ");
    out.extend_from_slice(value.to_string().as_bytes());
    out.extend_from_slice(b"\n\n");
}
