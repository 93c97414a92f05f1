//! [`Event`]s written as a ConverseStream (AWS event-stream frames), for a Bedrock client
//! (the AWS SDKs' `converse_stream`) whatever the provider.

use super::error::stream_exception_name;
use super::eventstream::{write_event, write_exception};
use super::finish_to_bedrock;
use super::usage::write_usage;
use crate::chat::{Event, EventSink, FinishReason};
use crate::json::object;
use crate::usage::Usage;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Writes one reply as Bedrock streams it: `messageStart`; per content block its deltas
/// (a tool call's opened by `contentBlockStart`) and `contentBlockStop`, blocks numbered from
/// 0 in order; `messageStop` with the stop reason; `metadata` with the usage.
///
/// - One block is open at a time; a change of kind (text, reasoning, a tool call) closes it.
///   Reasoning after a signature starts a new block.
/// - A tool call that begins while another is open (OpenAI's parallel calls, whose
///   arguments may interleave) is held with its arguments and written whole when the open
///   one closes, so no argument lands in a closed block.
/// - [`Event::Finish`] is held: `messageStop` and `metadata` are written at
///   [`EventSink::finish`], with the usage of the whole stream (OpenAI providers report it
///   after the finish reason). Without a finish reason the turn ended: `tool_use` after tool
///   calls, else `end_turn`.
/// - [`Event::Error`] is an `exception` frame and ends the stream, as in Bedrock's.
#[derive(Debug, Default)]
pub struct StreamEncoder {
    started: bool,
    open: Option<Open>,
    /// The open block's index (the next one's while none is open).
    block: usize,
    /// Tool calls by their index in the reply.
    tools: BTreeMap<usize, ToolCall>,
    finish: Option<FinishReason>,
    usage: Usage,
    ended: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Open {
    Text,
    Reasoning { signed: bool },
    Tool(usize),
}

#[derive(Debug)]
struct ToolCall {
    id: String,
    name: String,
    /// The arguments while held; `None` once its block was opened.
    held: Option<String>,
}

impl StreamEncoder {
    /// An encoder for a new stream.
    pub fn new() -> Self {
        Self::default()
    }

    fn write(&self, event_type: &str, payload: Value, out: &mut Vec<u8>) {
        write_event(event_type, payload.to_string().as_bytes(), out);
    }

    fn start(&mut self, out: &mut Vec<u8>) {
        if !self.started {
            self.started = true;
            self.write("messageStart", object([("role", "assistant".into())]), out);
        }
    }

    fn delta(&self, delta: Value, out: &mut Vec<u8>) {
        self.write("contentBlockDelta", object([("contentBlockIndex", self.block.into()), ("delta", delta)]), out);
    }

    /// Makes `block` the open block: closes another, opens this one.
    fn open(&mut self, block: Open, out: &mut Vec<u8>) {
        if self.open == Some(block) {
            return;
        }
        self.start(out);
        self.close(out);
        self.open = Some(block);
        if let Open::Tool(index) = block {
            self.tool_start(index, out);
        }
    }

    fn tool_start(&mut self, index: usize, out: &mut Vec<u8>) {
        let Some(call) = self.tools.get_mut(&index) else { return };
        call.held = None;
        let tool = object([("toolUseId", call.id.as_str().into()), ("name", call.name.as_str().into())]);
        let start = object([("contentBlockIndex", self.block.into()), ("start", object([("toolUse", tool)]))]);
        self.write("contentBlockStart", start, out);
    }

    /// Closes the open block, then writes whole the tool calls held meanwhile.
    fn close(&mut self, out: &mut Vec<u8>) {
        if self.open.take().is_none() {
            return;
        }
        self.stop_block(out);
        let held: Vec<(usize, String)> =
            self.tools.iter().filter_map(|(index, call)| Some((*index, call.held.clone()?))).collect();
        for (index, arguments) in held {
            self.tool_start(index, out);
            if !arguments.is_empty() {
                self.delta(tool_input(&arguments), out);
            }
            self.stop_block(out);
        }
    }

    fn stop_block(&mut self, out: &mut Vec<u8>) {
        self.write("contentBlockStop", object([("contentBlockIndex", self.block.into())]), out);
        self.block += 1;
    }
}

fn tool_input(json: &str) -> Value {
    object([("toolUse", object([("input", json.into())]))])
}

fn reasoning_delta(key: &str, value: String) -> Value {
    let mut reasoning = Map::new();
    reasoning.insert(key.into(), value.into());
    object([("reasoningContent", Value::Object(reasoning))])
}

impl EventSink for StreamEncoder {
    fn event(&mut self, event: Event, out: &mut Vec<u8>) {
        if self.ended {
            return;
        }
        match event {
            Event::Start { .. } => self.start(out),
            Event::Text(text) if !text.is_empty() => {
                self.open(Open::Text, out);
                self.delta(object([("text", text.into())]), out);
            }
            Event::Reasoning(text) if !text.is_empty() => {
                if self.open == Some(Open::Reasoning { signed: true }) {
                    self.close(out);
                }
                self.open(Open::Reasoning { signed: false }, out);
                self.delta(reasoning_delta("text", text), out);
            }
            Event::ReasoningSignature(signature) => {
                if !matches!(self.open, Some(Open::Reasoning { .. })) {
                    self.open(Open::Reasoning { signed: false }, out);
                }
                self.open = Some(Open::Reasoning { signed: true });
                self.delta(reasoning_delta("signature", signature), out);
            }
            Event::ToolCall { index, id, name } => {
                let another_open = matches!(self.open, Some(Open::Tool(open)) if open != index);
                self.tools.insert(index, ToolCall { id, name, held: another_open.then(String::new) });
                if !another_open {
                    self.open(Open::Tool(index), out);
                }
            }
            Event::ToolArguments { index, json } => match self.tools.get_mut(&index) {
                Some(ToolCall { held: Some(held), .. }) => held.push_str(&json),
                Some(_) if self.open == Some(Open::Tool(index)) && !json.is_empty() => {
                    self.delta(tool_input(&json), out)
                }
                // A call whose block is closed: nowhere to put them.
                _ => {}
            },
            Event::Finish(reason) => {
                self.close(out);
                self.finish = Some(reason);
            }
            Event::Usage(usage) => self.usage.merge(&usage),
            Event::Error { kind, message } => {
                let payload = object([("message", message.into())]).to_string();
                write_exception(stream_exception_name(&kind), payload.as_bytes(), out);
                self.ended = true;
            }
            Event::Text(_) | Event::Reasoning(_) => {}
        }
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        if self.ended {
            return;
        }
        self.ended = true;
        self.start(out);
        self.close(out);
        let stop = match &self.finish {
            Some(finish) => finish_to_bedrock(finish),
            None if !self.tools.is_empty() => "tool_use",
            None => "end_turn",
        };
        let mut message_stop = Map::new();
        message_stop.insert("stopReason".into(), stop.into());
        if let Some(sequence) = self.finish.as_ref().and_then(FinishReason::sequence) {
            message_stop.insert("additionalModelResponseFields".into(), object([("stop_sequence", sequence.into())]));
        }
        self.write("messageStop", Value::Object(message_stop), out);
        let metrics = object([("latencyMs", 0.into())]);
        self.write("metadata", object([("usage", write_usage(&self.usage)), ("metrics", metrics)]), out);
    }
}
