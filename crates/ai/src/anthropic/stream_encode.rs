//! [`Event`]s written as Anthropic's streamed reply, for an Anthropic client (Claude Code,
//! Anthropic's SDKs) whatever the provider.

use super::error::write_error;
use super::reply::stop_reason;
use super::usage::write_usage_json;
use crate::chat::{Event, EventSink, FinishReason};
use crate::json::{object, write_value};
use crate::scan::{write_str, write_u64};
use crate::usage::Usage;
use serde_json::Value;
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
        // `message: {id, type: message, role: assistant, model, content: [], stop_reason: null,
        // stop_sequence: null, usage}`, keys in serde_json's order.
        out.extend_from_slice(
            b"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"content\":[],\"id\":",
        );
        write_str(out, &self.id);
        out.extend_from_slice(b",\"model\":");
        write_str(out, &self.model);
        out.extend_from_slice(
            b",\"role\":\"assistant\",\"stop_reason\":null,\"stop_sequence\":null,\"type\":\"message\",\"usage\":",
        );
        write_usage_json(&self.usage, out);
        out.extend_from_slice(b"}}\n\n");
    }

    /// Makes `block` the open block: closes another, opens this one.
    fn open(&mut self, block: Open, out: &mut Vec<u8>) {
        if self.open == Some(block) {
            return;
        }
        self.start(out);
        self.close(out);
        const START: &[u8] = b"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"content_block\":";
        // The block (keys in serde_json's order), then its index.
        match block {
            Open::Thinking { .. } => {
                out.extend_from_slice(START);
                out.extend_from_slice(b"{\"thinking\":\"\",\"type\":\"thinking\"}");
            }
            Open::Text => {
                out.extend_from_slice(START);
                out.extend_from_slice(b"{\"text\":\"\",\"type\":\"text\"}");
            }
            Open::Tool(index) => {
                let Some(call) = self.tools.get_mut(&index) else { return };
                call.state = ToolState::Streaming;
                out.extend_from_slice(START);
                out.extend_from_slice(b"{\"id\":");
                write_str(out, &call.id);
                out.extend_from_slice(b",\"input\":{},\"name\":");
                write_str(out, &call.name);
                out.extend_from_slice(b",\"type\":\"tool_use\"}");
            }
        }
        out.extend_from_slice(b",\"index\":");
        write_u64(out, self.next_block as u64);
        out.extend_from_slice(b"}\n\n");
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
        // `write(out, "content_block_stop", [("index", ...)])`, written directly.
        out.extend_from_slice(b"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":");
        write_u64(out, self.next_block as u64);
        out.extend_from_slice(b"}\n\n");
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

    /// A `content_block_delta` whose delta is `{"type": kind, field: text}`: the bytes
    /// [`write`] would make of it (`field` sorts before `type`; both names need no
    /// escaping), written directly.
    fn delta(&self, out: &mut Vec<u8>, kind: &str, field: &str, text: &str) {
        out.extend_from_slice(b"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"");
        out.extend_from_slice(field.as_bytes());
        out.extend_from_slice(b"\":");
        write_str(out, text);
        out.extend_from_slice(b",\"type\":\"");
        out.extend_from_slice(kind.as_bytes());
        out.extend_from_slice(b"\"},\"index\":");
        write_u64(out, self.next_block as u64);
        out.extend_from_slice(b"}\n\n");
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
        // `delta: {stop_reason, stop_sequence}, usage`, keys in serde_json's order.
        out.extend_from_slice(b"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":");
        write_str(out, stop_reason(self.finish.as_ref(), !self.tools.is_empty()));
        out.extend_from_slice(b",\"stop_sequence\":");
        match self.finish.as_ref().and_then(FinishReason::sequence) {
            Some(sequence) => write_str(out, sequence),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b"},\"usage\":");
        write_usage_json(&self.usage, out);
        out.extend_from_slice(b"}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
    }
}

/// `event: <kind>\ndata: {"type":"<kind>",...fields}\n\n`, `type` first as Anthropic writes
/// it (the other fields follow in serde_json's key order).
fn write<const N: usize>(out: &mut Vec<u8>, kind: &str, fields: [(&str, Value); N]) {
    let mut rest = Vec::new();
    write_value(&object(fields), &mut rest);
    out.extend_from_slice(b"event: ");
    out.extend_from_slice(kind.as_bytes());
    out.extend_from_slice(b"\ndata: {\"type\":");
    write_str(out, kind);
    // The fields, without the braces around them.
    let fields = rest.get(1..rest.len().saturating_sub(1)).unwrap_or_default();
    if !fields.is_empty() {
        out.push(b',');
        out.extend_from_slice(fields);
    }
    out.extend_from_slice(b"}\n\n");
}
