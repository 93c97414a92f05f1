//! Canonical stream events written as an OpenAI chat completions stream:
//! `data: {chat.completion.chunk}\n\n` ... `data: [DONE]\n\n`.

use super::usage::write_usage_json;
use crate::chat::{Event, EventSink};
use crate::json::write_value;
use crate::scan::{write_str, write_u64};
use crate::usage::Usage;
use serde_json::Value;

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
    /// The end of every chunk after its finish reason (the same for the whole stream once
    /// it started: index, `created`, `id`, `model`, `object`), written once.
    tail: Vec<u8>,
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
            tail: Vec::new(),
        }
    }

    /// Whether the last chunk carries the usage (default yes: the gateway asks every
    /// provider for it; a client that did not ask may be spared a chunk without choices).
    pub fn include_usage(mut self, include: bool) -> Self {
        self.include_usage = include;
        self
    }

    /// A chunk of choice 0 with the delta `delta` writes and `finish_reason`: the bytes
    /// `self.chunk` would serialise (keys in serde_json's order), written directly.
    fn write_delta(&mut self, delta: impl FnOnce(&mut Vec<u8>), finish: Option<&str>, out: &mut Vec<u8>) {
        out.extend_from_slice(b"data: {\"choices\":[{\"delta\":");
        delta(out);
        out.extend_from_slice(b",\"finish_reason\":");
        match finish {
            Some(reason) => write_str(out, reason),
            None => out.extend_from_slice(b"null"),
        }
        if self.tail.is_empty() {
            // What follows the finish reason is the same in every chunk of the stream.
            self.tail.extend_from_slice(b",\"index\":0,\"logprobs\":null}],\"created\":");
            write_u64(&mut self.tail, self.created);
            self.tail.extend_from_slice(b",\"id\":");
            write_str(&mut self.tail, &self.id);
            self.tail.extend_from_slice(b",\"model\":");
            write_str(&mut self.tail, &self.model);
            self.tail.extend_from_slice(b",\"object\":\"chat.completion.chunk\"}\n\n");
        }
        out.extend_from_slice(&self.tail);
    }

    /// A chunk whose delta is `{"<field>": text}` (`field` a name that needs no escaping).
    fn write_text(&mut self, field: &str, text: &str, out: &mut Vec<u8>) {
        self.write_delta(
            |out| {
                out.extend_from_slice(b"{\"");
                out.extend_from_slice(field.as_bytes());
                out.extend_from_slice(b"\":");
                write_str(out, text);
                out.push(b'}');
            },
            None,
            out,
        );
    }

    /// The role chunk, once, before any content.
    fn start(&mut self, out: &mut Vec<u8>) {
        if !self.started {
            self.started = true;
            self.write_delta(|out| out.extend_from_slice(b"{\"content\":\"\",\"role\":\"assistant\"}"), None, out);
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
                    self.write_text("content", &text, out);
                }
            }
            Event::Reasoning(text) => {
                if !text.is_empty() {
                    self.start(out);
                    self.write_text("reasoning_content", &text, out);
                }
            }
            // OpenAI has no place for a reasoning signature.
            Event::ReasoningSignature(_) => {}
            Event::ToolCall { index, id, name } => {
                self.start(out);
                // {"tool_calls": [{"index", "id", "type": "function", "function": {"name", "arguments": ""}}]}
                let delta = |out: &mut Vec<u8>| {
                    out.extend_from_slice(b"{\"tool_calls\":[{\"function\":{\"arguments\":\"\",\"name\":");
                    write_str(out, &name);
                    out.extend_from_slice(b"},\"id\":");
                    write_str(out, &id);
                    out.extend_from_slice(b",\"index\":");
                    write_u64(out, index as u64);
                    out.extend_from_slice(b",\"type\":\"function\"}]}");
                };
                self.write_delta(delta, None, out);
            }
            Event::ToolArguments { index, json } => {
                if !json.is_empty() {
                    self.start(out);
                    // {"tool_calls": [{"index", "function": {"arguments"}}]}
                    let delta = |out: &mut Vec<u8>| {
                        out.extend_from_slice(b"{\"tool_calls\":[{\"function\":{\"arguments\":");
                        write_str(out, &json);
                        out.extend_from_slice(b"},\"index\":");
                        write_u64(out, index as u64);
                        out.extend_from_slice(b"}]}");
                    };
                    self.write_delta(delta, None, out);
                }
            }
            Event::Finish(reason) => {
                self.start(out);
                self.write_delta(|out| out.extend_from_slice(b"{}"), Some(reason.to_openai()), out);
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
        if self.include_usage && self.usage.is_any_known() {
            // `{id, object, created, model, choices: [], usage}`, keys in serde_json's order.
            out.extend_from_slice(b"data: {\"choices\":[],\"created\":");
            write_u64(out, self.created);
            out.extend_from_slice(b",\"id\":");
            write_str(out, &self.id);
            out.extend_from_slice(b",\"model\":");
            write_str(out, &self.model);
            out.extend_from_slice(b",\"object\":\"chat.completion.chunk\",\"usage\":");
            write_usage_json(&self.usage, out);
            out.extend_from_slice(b"}\n\n");
        }
        out.extend_from_slice(b"data: [DONE]\n\n");
    }
}

/// `data: <json>\n\n` (serialized JSON has no raw newline, so one `data:` line is enough).
fn write_data(value: &Value, out: &mut Vec<u8>) {
    out.extend_from_slice(b"data: ");
    write_value(value, out);
    out.extend_from_slice(b"\n\n");
}
