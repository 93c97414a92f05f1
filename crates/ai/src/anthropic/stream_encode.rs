//! [`Event`]s written as Anthropic's streamed reply, for an Anthropic client (Claude Code,
//! Anthropic's SDKs) whatever the provider.

use super::error::write_error;
use super::reply::stop_reason;
use super::usage::write_usage;
use crate::chat::{Event, EventSink, FinishReason};
use crate::json::object;
use crate::usage::Usage;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Writes one reply as Anthropic's server-sent events (`event: <type>\ndata: <json>\n\n`),
/// in the order Anthropic's streaming reference gives and its SDKs accumulate:
/// `message_start`; per content block `content_block_start`, its deltas and
/// `content_block_stop`, indexes counting from 0 in order; one `message_delta` with the stop
/// reason and the usage; `message_stop`.
///
/// - `message_start` is written before the first content (so a [`Event::Usage`] that follows
///   [`Event::Start`] still gives it its input tokens), also when no `Start` came.
/// - One block is open at a time; a change of kind (reasoning, text, a tool call) closes it
///   and opens the next. Reasoning after a signature starts a new thinking block.
/// - Tool calls stream as they come while no other call is open. A call that begins while
///   another is open (OpenAI's parallel calls, whose arguments may interleave) is held with
///   its arguments and written whole when the open call closes, so no argument lands in a
///   closed block. Arguments for a call already closed are dropped; that happens only if a
///   provider sends more arguments for a call after text or reasoning that came later.
/// - [`Event::Finish`] closes the open block and is held: `message_delta` and `message_stop`
///   are written once, at [`EventSink::finish`], with the usage of the whole stream (usage
///   arrives after the finish reason from OpenAI providers; Anthropic's output count is a
///   running total). Without a finish reason the turn is taken as ended
///   (`tool_use` after tool calls, else `end_turn`).
/// - [`Event::Error`] is written as `event: error` and ends the stream, as Anthropic does.
#[derive(Debug, Default)]
pub struct StreamEncoder {
    id: String,
    model: String,
    usage: Usage,
    started: bool,
    open: Option<Open>,
    /// Index of the open content block (of the next one while none is open).
    next_block: usize,
    /// Tool calls by their index in the reply.
    tools: BTreeMap<usize, ToolCall>,
    finish: Option<FinishReason>,
    ended: bool,
}

/// The open content block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Open {
    Thinking { signed: bool },
    Text,
    Tool(usize),
}

#[derive(Debug)]
struct ToolCall {
    id: String,
    name: String,
    state: ToolState,
}

#[derive(Debug, PartialEq, Eq)]
enum ToolState {
    /// Waiting for the open call to close, with the arguments so far.
    Held(String),
    /// Its block is open.
    Streaming,
    /// Its block is closed.
    Closed,
}

impl StreamEncoder {
    /// An encoder for a new stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Writes `message_start` unless written.
    fn start(&mut self, out: &mut Vec<u8>) {
        if self.started {
            return;
        }
        self.started = true;
        let message = object([
            ("id", self.id.as_str().into()),
            ("type", "message".into()),
            ("role", "assistant".into()),
            ("model", self.model.as_str().into()),
            ("content", Value::Array(Vec::new())),
            ("stop_reason", Value::Null),
            ("stop_sequence", Value::Null),
            ("usage", write_usage(&self.usage)),
        ]);
        write(out, "message_start", [("message", message)]);
    }

    /// Makes `block` the open block: closes another, opens this one.
    fn open(&mut self, block: Open, out: &mut Vec<u8>) {
        if self.open == Some(block) {
            return;
        }
        self.start(out);
        self.close(out);
        let content_block = match block {
            Open::Thinking { .. } => object([("type", "thinking".into()), ("thinking", "".into())]),
            Open::Text => object([("type", "text".into()), ("text", "".into())]),
            Open::Tool(index) => {
                let Some(call) = self.tools.get_mut(&index) else { return };
                call.state = ToolState::Streaming;
                object([
                    ("type", "tool_use".into()),
                    ("id", call.id.as_str().into()),
                    ("name", call.name.as_str().into()),
                    ("input", Value::Object(Map::new())),
                ])
            }
        };
        write(out, "content_block_start", [("index", self.next_block.into()), ("content_block", content_block)]);
        self.open = Some(block);
    }

    /// Closes the open block; after a tool call, writes the held calls whole.
    fn close(&mut self, out: &mut Vec<u8>) {
        let Some(block) = self.open.take() else { return };
        self.stop_block(out);
        if let Open::Tool(index) = block {
            if let Some(call) = self.tools.get_mut(&index) {
                call.state = ToolState::Closed;
            }
            self.flush_held(out);
        }
    }

    fn stop_block(&mut self, out: &mut Vec<u8>) {
        write(out, "content_block_stop", [("index", self.next_block.into())]);
        self.next_block += 1;
    }

    /// Writes each held tool call as a whole block, in the reply's order.
    fn flush_held(&mut self, out: &mut Vec<u8>) {
        let held: Vec<(usize, String)> = self
            .tools
            .iter_mut()
            .filter_map(|(index, call)| match &mut call.state {
                ToolState::Held(arguments) => Some((*index, std::mem::take(arguments))),
                _ => None,
            })
            .collect();
        for (index, arguments) in held {
            // No block is open here (`close` took it), so this only opens the call's block.
            self.open(Open::Tool(index), out);
            if !arguments.is_empty() {
                self.delta(out, "input_json_delta", "partial_json", &arguments);
            }
            self.open = None;
            self.stop_block(out);
            if let Some(call) = self.tools.get_mut(&index) {
                call.state = ToolState::Closed;
            }
        }
    }

    fn delta(&self, out: &mut Vec<u8>, kind: &str, field: &str, text: &str) {
        let delta = object([("type", kind.into()), (field, text.into())]);
        write(out, "content_block_delta", [("index", self.next_block.into()), ("delta", delta)]);
    }

    fn tool_call(&mut self, index: usize, id: String, name: String, out: &mut Vec<u8>) {
        if self.tools.contains_key(&index) {
            return;
        }
        let streaming_another = matches!(self.open, Some(Open::Tool(_)));
        let state = if streaming_another { ToolState::Held(String::new()) } else { ToolState::Streaming };
        self.tools.insert(index, ToolCall { id, name, state });
        if !streaming_another {
            self.open(Open::Tool(index), out);
        }
    }

    fn tool_arguments(&mut self, index: usize, json: &str, out: &mut Vec<u8>) {
        match self.tools.get_mut(&index).map(|call| &mut call.state) {
            Some(ToolState::Held(arguments)) => arguments.push_str(json),
            Some(ToolState::Streaming) => self.delta(out, "input_json_delta", "partial_json", json),
            Some(ToolState::Closed) | None => {}
        }
    }
}

impl EventSink for StreamEncoder {
    fn event(&mut self, event: Event, out: &mut Vec<u8>) {
        if self.ended {
            return;
        }
        match event {
            Event::Start { id, model } => {
                if !self.started {
                    self.id = id;
                    self.model = model;
                }
            }
            Event::Usage(usage) => self.usage.merge(&usage),
            Event::Text(text) if !text.is_empty() => {
                self.open(Open::Text, out);
                self.delta(out, "text_delta", "text", &text);
            }
            Event::Reasoning(text) if !text.is_empty() => {
                self.open(Open::Thinking { signed: false }, out);
                self.delta(out, "thinking_delta", "thinking", &text);
            }
            Event::ReasoningSignature(signature) if !signature.is_empty() => {
                self.open(Open::Thinking { signed: false }, out);
                self.delta(out, "signature_delta", "signature", &signature);
                self.open = Some(Open::Thinking { signed: true });
            }
            Event::ToolCall { index, id, name } => self.tool_call(index, id, name, out),
            Event::ToolArguments { index, json } if !json.is_empty() => self.tool_arguments(index, &json, out),
            Event::Finish(reason) => {
                self.close(out);
                self.finish = Some(reason);
            }
            Event::Error { kind, message } => {
                let kind = if kind.is_empty() { "api_error" } else { kind.as_str() };
                // Anthropic's error body (`write_error`), `type` first like every event.
                let error = write_error(kind, &message).get("error").cloned().unwrap_or_default();
                write(out, "error", [("error", error)]);
                self.ended = true;
            }
            Event::Text(_) | Event::Reasoning(_) | Event::ReasoningSignature(_) | Event::ToolArguments { .. } => {}
        }
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        if self.ended {
            return;
        }
        self.ended = true;
        self.start(out);
        self.close(out);
        let delta = object([
            ("stop_reason", stop_reason(self.finish.as_ref(), !self.tools.is_empty()).into()),
            ("stop_sequence", self.finish.as_ref().and_then(FinishReason::sequence).into()),
        ]);
        write(out, "message_delta", [("delta", delta), ("usage", write_usage(&self.usage))]);
        write(out, "message_stop", []);
    }
}

/// `event: <kind>\ndata: {"type":"<kind>",...fields}\n\n`, `type` first as Anthropic writes
/// it (the other fields follow in serde_json's key order).
fn write<const N: usize>(out: &mut Vec<u8>, kind: &str, fields: [(&str, Value); N]) {
    let rest = object(fields).to_string();
    let rest = rest.strip_prefix('{').and_then(|r| r.strip_suffix('}')).unwrap_or_default();
    let separator = if rest.is_empty() { "" } else { "," };
    let data = format!("{{\"type\":{}{separator}{rest}}}", Value::from(kind));
    write_line(out, kind, &data);
}

fn write_line(out: &mut Vec<u8>, kind: &str, data: &str) {
    out.extend_from_slice(b"event: ");
    out.extend_from_slice(kind.as_bytes());
    out.extend_from_slice(b"\ndata: ");
    out.extend_from_slice(data.as_bytes());
    out.extend_from_slice(b"\n\n");
}
