//! A streamed response (the Responses API's server-sent events) turned into [`Event`]s, one
//! upstream event at a time.

use super::finish_of;
use super::items::{function_call_part, message_text, reasoning_part};
use super::reply::read_output;
use super::usage::read_usage;
use crate::chat::{Event, Invalid, Part};
use crate::json::{data_text, event_data, Loc, Obj};
use crate::scan::lossy;
use higress_sdk::sse::SseEvent;
use serde_json::Value;
use std::collections::BTreeMap;

/// Decodes one Responses stream; one per request.
///
/// What each event becomes:
/// - `response.created` (or the first lifecycle event) → [`Event::Start`] (the response's
///   id and model);
/// - `response.output_text.delta`, `response.refusal.delta` → [`Event::Text`];
///   `response.reasoning_summary_text.delta`, `response.reasoning_text.delta` →
///   [`Event::Reasoning`] (a blank line between summary parts);
/// - `response.output_item.added` of a `function_call` → [`Event::ToolCall`] numbered from 0
///   in order; `response.function_call_arguments.delta` → [`Event::ToolArguments`];
/// - `response.output_item.done` → what its item has that no delta carried (a provider may
///   send items whole), and a reasoning item's `encrypted_content` as
///   [`Event::ReasoningSignature`];
/// - `response.completed` / `response.incomplete` → [`Event::Finish`] (from `status` and
///   `incomplete_details`) and [`Event::Usage`];
/// - `error` and `response.failed` → one [`Event::Error`];
/// - anything else (hosted tools' progress, `response.in_progress`, ...) → nothing.
#[derive(Debug, Default)]
pub struct StreamDecoder {
    started: bool,
    /// The output items met, by `output_index`.
    items: BTreeMap<u64, Item>,
    /// Function calls met so far (the next one's index).
    calls: usize,
    /// Whether an error was passed on (a `response.failed` after an `error` is the same one).
    failed: bool,
}

#[derive(Debug, Default)]
struct Item {
    /// The tool call's index, for a function call.
    call: Option<usize>,
    /// Whether its text, reasoning or arguments came in deltas.
    streamed: bool,
}

impl StreamDecoder {
    /// A decoder for a new stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// What `event` says, in order. An event without data says nothing; data that is not a
    /// JSON object, or a known event missing a field it needs, is [`Invalid`].
    pub fn decode(&mut self, event: &SseEvent) -> Result<Vec<Event>, Invalid> {
        let mut events = Vec::new();
        let name = event.event.as_deref().map(str::as_bytes);
        self.decode_into(name, event_data(event).map(str::as_bytes), &mut events)?;
        Ok(events)
    }

    /// [`StreamDecoder::decode`] of an event whose `event` and `data` fields are `name` and
    /// `data` (as bytes: what is not UTF-8 is replaced, as the SDK's parser replaces it), its
    /// events appended to `events`.
    pub(crate) fn decode_into(
        &mut self,
        name: Option<&[u8]>,
        data: Option<&[u8]>,
        events: &mut Vec<Event>,
    ) -> Result<(), Invalid> {
        let Some(data) = data else { return Ok(()) };
        let data = lossy(data);
        let Some(data) = data_text(Some(&data)) else { return Ok(()) };
        let name = name.map(lossy);
        let name = name.as_deref().map(str::trim).unwrap_or("event");
        let value = serde_json::from_str::<Value>(data).ok();
        let Some(event) = value.as_ref().and_then(|value| Obj::of(value, Loc::Named(name))) else {
            return Err(Invalid::field(&format!("{name} data"), "a JSON object"));
        };
        let kind = match event.str("type")? {
            Some(kind) => kind,
            None => name,
        };
        // The event's fields are named after its type (`response.output_text.delta.delta`).
        let event = event.with_loc(Loc::Named(kind));
        match kind {
            "response.created" | "response.queued" | "response.in_progress" => {
                self.start(&event.req_obj("response")?, events)?;
            }
            "response.output_item.added" => self.item_added(&event, events)?,
            "response.output_text.delta" | "response.refusal.delta" => {
                self.streamed(&event)?;
                push_text(events, Event::Text, event.req_str("delta")?);
            }
            "response.reasoning_summary_text.delta" | "response.reasoning_text.delta" => {
                self.streamed(&event)?;
                push_text(events, Event::Reasoning, event.req_str("delta")?);
            }
            // Summary parts are paragraphs: a blank line keeps them apart.
            "response.reasoning_summary_part.added" if event.u64("summary_index")?.unwrap_or(0) > 0 => {
                events.push(Event::Reasoning("\n\n".into()));
            }
            "response.function_call_arguments.delta" => {
                let delta = event.req_str("delta")?;
                if let Some(item) = self.streamed(&event)? {
                    if let (Some(index), false) = (item.call, delta.is_empty()) {
                        events.push(Event::ToolArguments { index, json: delta.to_string() });
                    }
                }
            }
            "response.output_item.done" => self.item_done(&event, events)?,
            "response.completed" | "response.incomplete" => self.completed(&event.req_obj("response")?, events)?,
            "response.failed" => {
                let response = event.req_obj("response")?;
                let error = response.obj("error")?;
                let kind = match &error {
                    Some(error) => error.str("type")?.or(error.str("code")?).unwrap_or("api_error"),
                    None => "api_error",
                };
                let message = match &error {
                    Some(error) => error.str("message")?.unwrap_or_default(),
                    None => "the response failed",
                };
                self.fail(kind, message, events);
            }
            "error" => {
                // The Responses API's `{code, message, param}`; OpenAI's `{error: {...}}` too.
                let (kind, message) = match super::read_error(event.value()) {
                    Some(error) => error,
                    None => (
                        event.str("code")?.unwrap_or("api_error").to_string(),
                        event.str("message")?.unwrap_or_default().to_string(),
                    ),
                };
                self.fail(&kind, &message, events);
            }
            _ => {}
        }
        Ok(())
    }

    /// [`Event::Start`] from the first response object.
    fn start(&mut self, response: &Obj, events: &mut Vec<Event>) -> Result<(), Invalid> {
        if !self.started {
            self.started = true;
            let id = response.str("id")?.unwrap_or_default().to_string();
            let model = response.str("model")?.unwrap_or_default().to_string();
            events.push(Event::Start { id, model });
        }
        Ok(())
    }

    /// The item at `output_index`, met now if not before.
    fn item(&mut self, output_index: u64) -> &mut Item {
        self.items.entry(output_index).or_default()
    }

    /// Marks the item of a delta event as streamed; the item, when the event names one.
    fn streamed(&mut self, event: &Obj) -> Result<Option<&Item>, Invalid> {
        let Some(output_index) = event.u64("output_index")? else { return Ok(None) };
        let item = self.item(output_index);
        item.streamed = true;
        Ok(Some(item))
    }

    fn item_added(&mut self, event: &Obj, events: &mut Vec<Event>) -> Result<(), Invalid> {
        let output_index = output_index(event)?;
        let item = event.req_obj("item")?;
        if item.req_str("type")? != "function_call" {
            self.item(output_index);
            return Ok(());
        }
        let Part::ToolCall { id, name, arguments } = function_call_part(&item)? else { return Ok(()) };
        let index = self.calls;
        self.calls += 1;
        let entry = self.item(output_index);
        entry.call = Some(index);
        entry.streamed = !arguments.is_empty();
        events.push(Event::ToolCall { index, id, name });
        if !arguments.is_empty() {
            events.push(Event::ToolArguments { index, json: arguments });
        }
        Ok(())
    }

    /// What a finished item has that its deltas did not carry.
    fn item_done(&mut self, event: &Obj, events: &mut Vec<Event>) -> Result<(), Invalid> {
        let output_index = output_index(event)?;
        let item = event.req_obj("item")?;
        let kind = item.req_str("type")?;
        let (call, streamed) = {
            let entry = self.item(output_index);
            (entry.call, entry.streamed)
        };
        match kind {
            "message" if !streamed => push_text(events, Event::Text, &message_text(&item)?),
            "reasoning" => {
                if let Some(Part::Reasoning { text, signature }) = reasoning_part(&item)? {
                    if !streamed {
                        push_text(events, Event::Reasoning, &text);
                    }
                    if let Some(signature) = signature {
                        events.push(Event::ReasoningSignature(signature));
                    }
                }
            }
            "function_call" => {
                let Part::ToolCall { id, name, arguments } = function_call_part(&item)? else { return Ok(()) };
                let index = match call {
                    Some(index) => index,
                    None => {
                        let index = self.calls;
                        self.calls += 1;
                        self.item(output_index).call = Some(index);
                        events.push(Event::ToolCall { index, id, name });
                        index
                    }
                };
                if !streamed && !arguments.is_empty() {
                    events.push(Event::ToolArguments { index, json: arguments });
                }
            }
            _ => {}
        }
        self.item(output_index).streamed = true;
        Ok(())
    }

    /// The end: why it stopped, and the usage. A provider that streamed no items gets the
    /// response's output passed on whole.
    fn completed(&mut self, response: &Obj, events: &mut Vec<Event>) -> Result<(), Invalid> {
        self.start(response, events)?;
        if self.items.is_empty() {
            let (parts, _) = read_output(response)?;
            for part in parts {
                self.push_part(part, events);
            }
        }
        let reason = match response.obj("incomplete_details")? {
            Some(details) => details.str("reason")?,
            None => None,
        };
        let status = response.str("status")?.unwrap_or("completed");
        if let Some(finish) = finish_of(status, reason, self.calls > 0) {
            events.push(Event::Finish(finish));
        }
        let usage = read_usage(response.value());
        if usage.is_any_known() {
            events.push(Event::Usage(usage));
        }
        Ok(())
    }

    fn push_part(&mut self, part: Part, events: &mut Vec<Event>) {
        match part {
            Part::Text { text, .. } => push_text(events, Event::Text, &text),
            Part::Reasoning { text, signature } => {
                push_text(events, Event::Reasoning, &text);
                if let Some(signature) = signature {
                    events.push(Event::ReasoningSignature(signature));
                }
            }
            Part::ToolCall { id, name, arguments } => {
                let index = self.calls;
                self.calls += 1;
                events.push(Event::ToolCall { index, id, name });
                push_text(events, |json| Event::ToolArguments { index, json }, &arguments);
            }
            Part::Image { .. } | Part::ToolResult { .. } => {}
        }
    }

    /// One [`Event::Error`] for a failure, however many events report it.
    fn fail(&mut self, kind: &str, message: &str, events: &mut Vec<Event>) {
        if !self.failed {
            self.failed = true;
            events.push(Event::Error { kind: kind.to_string(), message: message.to_string() });
        }
    }
}

/// The event's `output_index`.
fn output_index(event: &Obj) -> Result<u64, Invalid> {
    event.u64("output_index")?.ok_or_else(|| event.at("output_index").invalid("a non-negative integer"))
}

/// `make(text)` unless the text is empty.
fn push_text(events: &mut Vec<Event>, make: impl FnOnce(String) -> Event, text: &str) {
    if !text.is_empty() {
        events.push(make(text.to_string()));
    }
}
