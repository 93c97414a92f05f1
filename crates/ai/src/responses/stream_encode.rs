//! [`Event`]s written as a streamed response, for a Responses client (Codex, the OpenAI
//! SDKs) whatever the provider.

use super::error::failure;
use super::items::{arguments_text, function_call_item, message_item, output_text, reasoning_item, summary_text};
use super::reply::Envelope;
use super::{item_id, response_id, status_of};
use crate::chat::{Event, EventSink, FinishReason};
use crate::json::write_value;
use crate::scan::{write_str, write_u64};
use crate::usage::Usage;
use serde_json::Value;
use std::collections::BTreeMap;

/// Writes one response as the Responses API streams it (a new encoder per request): each
/// event `event: <type>\ndata: {"type", "sequence_number", ...}\n\n`, numbered from 0.
///
/// - `response.created` and `response.in_progress` first (at [`Event::Start`], or before
///   the first content when no `Start` came);
/// - one output item open at a time, each `response.output_item.added` ... `.done` with the
///   events of its kind between: a message's `content_part.added`, `output_text.delta`s,
///   `output_text.done`, `content_part.done`; reasoning's `reasoning_summary_part.added`,
///   `reasoning_summary_text.delta`s, `.done`s (its signature becomes the item's
///   `encrypted_content`; reasoning after a signature is a new item); a function call's
///   `function_call_arguments.delta`s and `.done`. A change of kind closes the open item.
/// - A tool call that begins while another is open (parallel calls, whose arguments may
///   interleave) is held and written whole when the open one closes, so items never
///   interleave; arguments of a call already closed are dropped.
/// - The finish reason is held: `response.completed` (or `response.incomplete` for the token
///   limit and a content filter) is written at [`EventSink::finish`] with every item and the
///   usage of the whole stream (OpenAI providers report it after the finish reason).
/// - [`Event::Error`] is an `error` event then `response.failed` (with the output so far),
///   and ends the stream. The Responses API has no `[DONE]`.
#[derive(Debug)]
pub struct StreamEncoder {
    created: u64,
    /// The response's id (`resp_...` once started).
    id: String,
    model: String,
    sequence: u64,
    started: bool,
    ended: bool,
    open: Option<Open>,
    /// The items closed so far (the open one's `output_index` is their count).
    output: Vec<Value>,
    /// Tool calls by their index in the reply.
    calls: BTreeMap<usize, Call>,
    finish: Option<FinishReason>,
    usage: Usage,
}

/// The open output item, with what the closing events repeat.
#[derive(Debug)]
enum Open {
    Message {
        id: String,
        text: String,
    },
    /// Its summary part is open once it has text.
    Reasoning {
        id: String,
        text: String,
        signature: Option<String>,
    },
    Call {
        index: usize,
        id: String,
        arguments: String,
    },
}

#[derive(Debug)]
struct Call {
    call_id: String,
    name: String,
    state: CallState,
}

#[derive(Debug, PartialEq, Eq)]
enum CallState {
    /// Waiting for the open call to close, with its arguments so far.
    Held(String),
    Open,
    Closed,
}

/// A field of an event, written without building a `Value` for the frequent events.
enum Field<'a> {
    Str(&'a str),
    Num(usize),
    Json(&'a Value),
    /// JSON text as it is (`[]`, `null`).
    Raw(&'static str),
}

impl StreamEncoder {
    /// An encoder whose response says it was created at `created` (seconds since the epoch,
    /// from the host's clock).
    pub fn new(created: u64) -> Self {
        StreamEncoder {
            created,
            id: String::new(),
            model: String::new(),
            sequence: 0,
            started: false,
            ended: false,
            open: None,
            output: Vec::new(),
            calls: BTreeMap::new(),
            finish: None,
            usage: Usage::default(),
        }
    }

    /// Writes event `kind` (see [`emit`]).
    fn emit(&mut self, kind: &str, fields: &[(&str, Field)], out: &mut Vec<u8>) {
        emit(&mut self.sequence, kind, fields, out);
    }

    /// The response object as it stands.
    fn response(&self, status: &str, incomplete: Option<&str>, error: Option<Value>, output: Vec<Value>) -> Value {
        let envelope = Envelope { id: &self.id, model: &self.model, created: self.created, status, incomplete, error };
        envelope.response(output, &self.usage)
    }

    /// `response.created` and `response.in_progress`, unless written.
    fn start(&mut self, out: &mut Vec<u8>) {
        if self.started {
            return;
        }
        self.started = true;
        self.id = response_id(&self.id, self.created);
        let response = self.response("in_progress", None, None, Vec::new());
        self.emit("response.created", &[("response", Field::Json(&response))], out);
        self.emit("response.in_progress", &[("response", Field::Json(&response))], out);
    }

    /// Adds output item `item` (the next one).
    fn add_item(&mut self, item: &Value, out: &mut Vec<u8>) {
        let index = self.output.len();
        self.emit(
            "response.output_item.added",
            &[("output_index", Field::Num(index)), ("item", Field::Json(item))],
            out,
        );
    }

    /// Ends the open item with `item`, its final form, and keeps it for the response.
    fn done_item(&mut self, item: Value, out: &mut Vec<u8>) {
        let index = self.output.len();
        self.emit(
            "response.output_item.done",
            &[("output_index", Field::Num(index)), ("item", Field::Json(&item))],
            out,
        );
        self.output.push(item);
    }

    /// Makes a message the open item.
    fn open_message(&mut self, out: &mut Vec<u8>) {
        if let Some(Open::Message { .. }) = self.open {
            return;
        }
        self.close(out);
        let index = self.output.len();
        let id = item_id("msg", &self.id, index);
        self.add_item(&message_item(&id, Vec::new(), "in_progress"), out);
        let part = output_text("");
        let fields = [
            ("item_id", Field::Str(&id)),
            ("output_index", Field::Num(index)),
            ("content_index", Field::Num(0)),
            ("part", Field::Json(&part)),
        ];
        self.emit("response.content_part.added", &fields, out);
        self.open = Some(Open::Message { id, text: String::new() });
    }

    /// Makes reasoning the open item: the open one unless it is signed.
    fn open_reasoning(&mut self, out: &mut Vec<u8>) {
        if let Some(Open::Reasoning { signature: None, .. }) = self.open {
            return;
        }
        self.close(out);
        let id = item_id("rs", &self.id, self.output.len());
        self.add_item(&reasoning_item(&id, "", None), out);
        self.open = Some(Open::Reasoning { id, text: String::new(), signature: None });
    }

    /// Makes tool call `index` the open item.
    fn open_call(&mut self, index: usize, out: &mut Vec<u8>) {
        self.close(out);
        let Some(call) = self.calls.get_mut(&index) else { return };
        call.state = CallState::Open;
        let id = item_id("fc", &self.id, self.output.len());
        let item = function_call_item(&id, &call.call_id, &call.name, "", "in_progress");
        self.add_item(&item, out);
        self.open = Some(Open::Call { index, id, arguments: String::new() });
    }

    /// Closes the open item; after a tool call, writes the held calls whole.
    fn close(&mut self, out: &mut Vec<u8>) {
        let index = self.output.len();
        match self.open.take() {
            None => {}
            Some(Open::Message { id, text }) => {
                let fields = [
                    ("item_id", Field::Str(&id)),
                    ("output_index", Field::Num(index)),
                    ("content_index", Field::Num(0)),
                    ("text", Field::Str(&text)),
                    ("logprobs", Field::Raw("[]")),
                ];
                self.emit("response.output_text.done", &fields, out);
                let part = output_text(&text);
                let fields = [
                    ("item_id", Field::Str(&id)),
                    ("output_index", Field::Num(index)),
                    ("content_index", Field::Num(0)),
                    ("part", Field::Json(&part)),
                ];
                self.emit("response.content_part.done", &fields, out);
                self.done_item(message_item(&id, vec![part.clone()], "completed"), out);
            }
            Some(Open::Reasoning { id, text, signature }) => {
                if !text.is_empty() {
                    let fields = [
                        ("item_id", Field::Str(&id)),
                        ("output_index", Field::Num(index)),
                        ("summary_index", Field::Num(0)),
                        ("text", Field::Str(&text)),
                    ];
                    self.emit("response.reasoning_summary_text.done", &fields, out);
                    let part = summary_text(&text);
                    let fields = [
                        ("item_id", Field::Str(&id)),
                        ("output_index", Field::Num(index)),
                        ("summary_index", Field::Num(0)),
                        ("part", Field::Json(&part)),
                    ];
                    self.emit("response.reasoning_summary_part.done", &fields, out);
                }
                self.done_item(reasoning_item(&id, &text, signature.as_deref()), out);
            }
            Some(Open::Call { index: call, id, arguments }) => {
                let arguments = arguments_text(&arguments);
                let fields = [
                    ("item_id", Field::Str(&id)),
                    ("output_index", Field::Num(index)),
                    ("arguments", Field::Str(arguments)),
                ];
                self.emit("response.function_call_arguments.done", &fields, out);
                let item = self.calls.get_mut(&call).map(|call| {
                    call.state = CallState::Closed;
                    function_call_item(&id, &call.call_id, &call.name, arguments, "completed")
                });
                if let Some(item) = item {
                    self.done_item(item, out);
                }
                self.flush_held(out);
            }
        }
    }

    /// Writes each held tool call whole, in the reply's order.
    fn flush_held(&mut self, out: &mut Vec<u8>) {
        let held: Vec<(usize, String)> = self
            .calls
            .iter_mut()
            .filter_map(|(index, call)| match &mut call.state {
                CallState::Held(arguments) => Some((*index, std::mem::take(arguments))),
                _ => None,
            })
            .collect();
        for (index, arguments) in held {
            self.open_call(index, out);
            self.arguments(&arguments, out);
            // Closing a call flushes the held ones: none are left, as all were taken.
            self.close(out);
        }
    }

    /// More arguments for the open call.
    fn arguments(&mut self, json: &str, out: &mut Vec<u8>) {
        let index = self.output.len();
        let Some(Open::Call { id, arguments, .. }) = &mut self.open else { return };
        if json.is_empty() {
            return;
        }
        arguments.push_str(json);
        let fields = [("item_id", Field::Str(id)), ("output_index", Field::Num(index)), ("delta", Field::Str(json))];
        emit(&mut self.sequence, "response.function_call_arguments.delta", &fields, out);
    }

    fn text(&mut self, text: &str, out: &mut Vec<u8>) {
        self.open_message(out);
        let index = self.output.len();
        let Some(Open::Message { id, text: so_far }) = &mut self.open else { return };
        so_far.push_str(text);
        let fields = [
            ("item_id", Field::Str(id)),
            ("output_index", Field::Num(index)),
            ("content_index", Field::Num(0)),
            ("delta", Field::Str(text)),
            ("logprobs", Field::Raw("[]")),
        ];
        emit(&mut self.sequence, "response.output_text.delta", &fields, out);
    }

    fn reasoning(&mut self, text: &str, out: &mut Vec<u8>) {
        self.open_reasoning(out);
        let index = self.output.len();
        let Some(Open::Reasoning { id, text: so_far, .. }) = &mut self.open else { return };
        if so_far.is_empty() {
            let part = summary_text("");
            let fields = [
                ("item_id", Field::Str(id)),
                ("output_index", Field::Num(index)),
                ("summary_index", Field::Num(0)),
                ("part", Field::Json(&part)),
            ];
            emit(&mut self.sequence, "response.reasoning_summary_part.added", &fields, out);
        }
        so_far.push_str(text);
        let fields = [
            ("item_id", Field::Str(id)),
            ("output_index", Field::Num(index)),
            ("summary_index", Field::Num(0)),
            ("delta", Field::Str(text)),
        ];
        emit(&mut self.sequence, "response.reasoning_summary_text.delta", &fields, out);
    }

    fn signature(&mut self, signature: String, out: &mut Vec<u8>) {
        self.open_reasoning(out);
        if let Some(Open::Reasoning { signature: signed, .. }) = &mut self.open {
            *signed = Some(signature);
        }
    }

    fn tool_call(&mut self, index: usize, id: String, name: String, out: &mut Vec<u8>) {
        if self.calls.contains_key(&index) {
            return;
        }
        // Clients key calls by `call_id`: a provider that gave none gets one.
        let call_id = if id.is_empty() { item_id("call", &self.id, index) } else { id };
        let another = matches!(self.open, Some(Open::Call { .. }));
        let state = if another { CallState::Held(String::new()) } else { CallState::Open };
        self.calls.insert(index, Call { call_id, name, state });
        if !another {
            self.open_call(index, out);
        }
    }

    fn tool_arguments(&mut self, index: usize, json: &str, out: &mut Vec<u8>) {
        match self.calls.get_mut(&index).map(|call| &mut call.state) {
            Some(CallState::Held(arguments)) => arguments.push_str(json),
            Some(CallState::Open) => self.arguments(json, out),
            Some(CallState::Closed) | None => {}
        }
    }

    /// The open item as it stands, for a failed response.
    fn partial(&self) -> Option<Value> {
        match self.open.as_ref()? {
            Open::Message { id, text } => Some(message_item(id, vec![output_text(text)], "incomplete")),
            Open::Reasoning { id, text, signature } => Some(reasoning_item(id, text, signature.as_deref())),
            Open::Call { index, id, arguments } => {
                let call = self.calls.get(index)?;
                Some(function_call_item(id, &call.call_id, &call.name, arguments, "incomplete"))
            }
        }
    }

    fn error(&mut self, kind: &str, message: &str, out: &mut Vec<u8>) {
        let kind = if kind.is_empty() { "api_error" } else { kind };
        self.start(out);
        let fields = [("code", Field::Str(kind)), ("message", Field::Str(message)), ("param", Field::Raw("null"))];
        self.emit("error", &fields, out);
        let mut output = std::mem::take(&mut self.output);
        output.extend(self.partial());
        let response = self.response("failed", None, Some(failure(kind, message)), output);
        self.emit("response.failed", &[("response", Field::Json(&response))], out);
        self.ended = true;
    }
}

/// `event: <kind>\ndata: {"type":"<kind>","sequence_number":n,<fields>}\n\n`, the next
/// number taken from `sequence` (`kind` and the keys are names that need no escaping). Apart
/// from the encoder, so a delta can name the open item while the number is taken.
fn emit(sequence: &mut u64, kind: &str, fields: &[(&str, Field)], out: &mut Vec<u8>) {
    out.extend_from_slice(b"event: ");
    out.extend_from_slice(kind.as_bytes());
    out.extend_from_slice(b"\ndata: {\"type\":\"");
    out.extend_from_slice(kind.as_bytes());
    out.extend_from_slice(b"\",\"sequence_number\":");
    write_u64(out, *sequence);
    for (key, value) in fields {
        out.extend_from_slice(b",\"");
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(b"\":");
        match value {
            Field::Str(text) => write_str(out, text),
            Field::Num(n) => write_u64(out, *n as u64),
            Field::Json(value) => write_value(value, out),
            Field::Raw(json) => out.extend_from_slice(json.as_bytes()),
        }
    }
    out.extend_from_slice(b"}\n\n");
    *sequence += 1;
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
                    self.start(out);
                }
            }
            Event::Usage(usage) => self.usage.merge(&usage),
            Event::Text(text) if !text.is_empty() => {
                self.start(out);
                self.text(&text, out);
            }
            Event::Reasoning(text) if !text.is_empty() => {
                self.start(out);
                self.reasoning(&text, out);
            }
            Event::ReasoningSignature(signature) if !signature.is_empty() => {
                self.start(out);
                self.signature(signature, out);
            }
            Event::ToolCall { index, id, name } => {
                self.start(out);
                self.tool_call(index, id, name, out);
            }
            Event::ToolArguments { index, json } if !json.is_empty() => self.tool_arguments(index, &json, out),
            Event::Finish(reason) => {
                self.start(out);
                self.close(out);
                self.finish = Some(reason);
            }
            Event::Error { kind, message } => self.error(&kind, &message, out),
            Event::Text(_) | Event::Reasoning(_) | Event::ReasoningSignature(_) | Event::ToolArguments { .. } => {}
        }
    }

    /// Closes the open item and writes `response.completed` (or `response.incomplete`) with
    /// the whole response. A second call writes nothing.
    fn finish(&mut self, out: &mut Vec<u8>) {
        if self.ended {
            return;
        }
        self.start(out);
        self.close(out);
        self.ended = true;
        let (status, incomplete) = status_of(self.finish.as_ref());
        let kind = if status == "completed" { "response.completed" } else { "response.incomplete" };
        let output = std::mem::take(&mut self.output);
        let response = self.response(status, incomplete, None, output);
        self.emit(kind, &[("response", Field::Json(&response))], out);
    }
}
