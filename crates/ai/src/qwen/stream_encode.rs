//! [`Event`]s written as DashScope's streamed reply, for a client of Qwen's native protocol.

use super::error::{code_for_kind, status_for_code, write_error};
use super::usage::write_usage;
use crate::chat::{Event, EventSink, FinishReason};
use crate::json::{object, write_value};
use crate::scan::write_u64;
use crate::usage::Usage;
use serde_json::{Map, Value};

/// Writes one stream as DashScope does (a new encoder per request): each event is
/// `id:<n>\nevent:result\n:HTTP_STATUS/200\ndata:<reply>\n\n`, the reply holding one choice
/// with `finish_reason: "null"`, the usage so far (when known) and the stream's `request_id`.
///
/// Incremental by default (`incremental_output: true`: each event holds what is new); with
/// [`StreamEncoder::incremental`]`(false)` each event holds the whole message so far, as
/// DashScope streams then. Text and reasoning go out as they come; a tool call goes out when
/// it begins (`index`, `id`, `name`) and with each piece of its arguments. The finish reason
/// is held and written in a last event with the usage of the whole stream, which comes after
/// it from most providers; there is no `[DONE]`. An error is an `event:error` with its
/// status and DashScope's error body, and ends the stream.
#[derive(Debug)]
pub struct StreamEncoder {
    incremental: bool,
    id: String,
    /// Events written (the next one's `id:` less one).
    written: u64,
    usage: Usage,
    finish: Option<FinishReason>,
    /// Whether the reply called a tool.
    called: bool,
    ended: bool,
    /// The message so far (whole-text streams only).
    content: String,
    reasoning: String,
    /// Tool calls so far: id, name, arguments (whole-text streams only).
    calls: Vec<(String, String, String)>,
}

impl Default for StreamEncoder {
    fn default() -> Self {
        Self::new()
    }
}

impl StreamEncoder {
    /// An encoder for a new, incremental stream.
    pub fn new() -> Self {
        StreamEncoder {
            incremental: true,
            id: String::new(),
            written: 0,
            usage: Usage::default(),
            finish: None,
            called: false,
            ended: false,
            content: String::new(),
            reasoning: String::new(),
            calls: Vec::new(),
        }
    }

    /// Whether the client asked for `incremental_output` (else each event holds the whole
    /// message so far).
    pub fn incremental(mut self, incremental: bool) -> Self {
        self.incremental = incremental;
        self
    }

    /// The head of the next event, up to `data:`.
    fn head(&mut self, name: &str, status: u16, out: &mut Vec<u8>) {
        self.written += 1;
        out.extend_from_slice(b"id:");
        write_u64(out, self.written);
        out.extend_from_slice(b"\nevent:");
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"\n:HTTP_STATUS/");
        write_u64(out, u64::from(status));
        out.extend_from_slice(b"\ndata:");
    }

    /// A `result` event whose message has `fields` besides its role (and, in a whole-text
    /// stream, everything so far instead).
    fn result(&mut self, fields: Map<String, Value>, finish: &str, out: &mut Vec<u8>) {
        let mut message = if self.incremental { fields } else { self.whole() };
        message.insert("role".into(), "assistant".into());
        message.entry("content").or_insert_with(|| "".into());
        let choice = object([("finish_reason", finish.into()), ("message", Value::Object(message))]);
        let mut body = Map::new();
        body.insert("output".into(), object([("choices", Value::Array(vec![choice]))]));
        if let Some(usage) = write_usage(&self.usage) {
            body.insert("usage".into(), usage);
        }
        body.insert("request_id".into(), self.id.as_str().into());
        self.head("result", 200, out);
        write_value(&Value::Object(body), out);
        out.extend_from_slice(b"\n\n");
    }

    /// The whole message so far.
    fn whole(&self) -> Map<String, Value> {
        let mut message = Map::new();
        message.insert("content".into(), self.content.as_str().into());
        if !self.reasoning.is_empty() {
            message.insert("reasoning_content".into(), self.reasoning.as_str().into());
        }
        if !self.calls.is_empty() {
            // The arguments as received so far (`""` before the first piece), so each event's
            // extend the last's.
            let calls = self.calls.iter().enumerate().map(|(index, (id, name, arguments))| {
                let function = object([("name", name.as_str().into()), ("arguments", arguments.as_str().into())]);
                object([
                    ("index", index.into()),
                    ("id", id.as_str().into()),
                    ("type", "function".into()),
                    ("function", function),
                ])
            });
            message.insert("tool_calls".into(), calls.collect());
        }
        message
    }
}

/// A one-field message.
fn field(key: &str, value: Value) -> Map<String, Value> {
    let mut map = Map::new();
    map.insert(key.into(), value);
    map
}

/// `tool_calls: [{index, id, type: function, function}]`.
fn tool_calls(index: usize, id: &str, function: Value) -> Map<String, Value> {
    let call =
        object([("index", index.into()), ("id", id.into()), ("type", "function".into()), ("function", function)]);
    field("tool_calls", Value::Array(vec![call]))
}

impl EventSink for StreamEncoder {
    fn event(&mut self, event: Event, out: &mut Vec<u8>) {
        if self.ended {
            return;
        }
        match event {
            Event::Start { id, .. } => {
                if self.written == 0 {
                    self.id = id;
                }
            }
            Event::Text(text) if !text.is_empty() => {
                if !self.incremental {
                    self.content.push_str(&text);
                }
                self.result(field("content", text.into()), "null", out);
            }
            Event::Reasoning(text) if !text.is_empty() => {
                if !self.incremental {
                    self.reasoning.push_str(&text);
                }
                self.result(field("reasoning_content", text.into()), "null", out);
            }
            Event::ToolCall { index, id, name } => {
                self.called = true;
                if !self.incremental {
                    if self.calls.len() <= index {
                        self.calls.resize(index + 1, Default::default());
                    }
                    if let Some(call) = self.calls.get_mut(index) {
                        (call.0, call.1) = (id.clone(), name.clone());
                    }
                }
                let function = object([("name", name.into()), ("arguments", "".into())]);
                self.result(tool_calls(index, &id, function), "null", out);
            }
            Event::ToolArguments { index, json } if !json.is_empty() => {
                if !self.incremental {
                    if let Some(call) = self.calls.get_mut(index) {
                        call.2.push_str(&json);
                    }
                }
                self.result(tool_calls(index, "", object([("arguments", json.into())])), "null", out);
            }
            Event::Finish(reason) => self.finish = Some(reason),
            Event::Usage(usage) => self.usage.merge(&usage),
            Event::Error { kind, message } => {
                let code = code_for_kind(&kind);
                self.head("error", status_for_code(code), out);
                write_value(&write_error(code, &message), out);
                out.extend_from_slice(b"\n\n");
                self.ended = true;
            }
            Event::Text(_) | Event::Reasoning(_) | Event::ToolArguments { .. } | Event::ReasoningSignature(_) => {}
        }
    }

    /// The last event: the finish reason (`tool_calls` after calls, else `stop`, when the
    /// provider gave none) and the usage of the whole stream. A second call, or one after an
    /// error, writes nothing.
    fn finish(&mut self, out: &mut Vec<u8>) {
        if self.ended {
            return;
        }
        self.ended = true;
        let finish = match self.finish.take() {
            Some(reason) => reason.to_openai().to_string(),
            None if self.called => "tool_calls".into(),
            None => "stop".into(),
        };
        self.result(Map::new(), &finish, out);
    }
}
