//! Bedrock's `converse-stream` reply (frames of AWS's event stream, see [`super::eventstream`])
//! turned into [`Event`]s, one frame at a time.

use super::error::kind_of_exception;
use super::eventstream::{Frame, Message};
use super::finish_from_bedrock;
use super::usage::read_usage;
use crate::chat::{Event, Invalid};
use crate::json::{Loc, Obj};
use serde_json::Value;

/// Decodes one ConverseStream; one per request.
///
/// What each frame becomes:
/// - the first event → [`Event::Start`] (the id and model given to
///   [`StreamDecoder::with_identity`]: Bedrock's events name neither);
/// - `contentBlockStart` of a `toolUse` → [`Event::ToolCall`] whose `index` counts the reply's
///   tool calls from 0 (Bedrock's `contentBlockIndex` counts every block; Go sent no index at
///   all, and OpenAI clients could not assemble the calls);
/// - `contentBlockDelta` → [`Event::Text`], [`Event::Reasoning`] (Go wrapped it in `<think>`
///   inside the text), [`Event::ReasoningSignature`], [`Event::ToolArguments`];
/// - `contentBlockStop` of a tool call that had no arguments → `{}` as its arguments;
/// - `messageStop` → [`Event::Finish`];
/// - `metadata` → [`Event::Usage`], cache reads and writes apart;
/// - an `exception` frame (`throttlingException`, `modelStreamErrorException`, ...) or an
///   `error` frame → [`Event::Error`] (Go ignored them and the client saw the stream stop).
///
/// `messageStart`, redacted reasoning, citations and events Bedrock may add later say
/// nothing. A payload that is not a JSON object, or an event missing a field it needs, is
/// [`Invalid`].
#[derive(Debug, Default)]
pub struct StreamDecoder {
    id: String,
    model: String,
    started: bool,
    /// The reply's tool calls in order: the content block of each.
    calls: Vec<Call>,
}

#[derive(Debug)]
struct Call {
    block: u64,
    has_arguments: bool,
}

impl StreamDecoder {
    /// A decoder for a new stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// A decoder whose [`Event::Start`] names the reply `id` (the `x-amzn-requestid` header)
    /// and the `model` asked for.
    pub fn with_identity(id: &str, model: &str) -> Self {
        StreamDecoder { id: id.to_string(), model: model.to_string(), ..Self::default() }
    }

    /// What `frame` says, in order.
    pub fn decode(&mut self, frame: &Frame<'_>) -> Result<Vec<Event>, Invalid> {
        let mut events = Vec::new();
        self.decode_into(frame, &mut events)?;
        Ok(events)
    }

    /// [`StreamDecoder::decode`], its events appended to `events`.
    pub(crate) fn decode_into(&mut self, frame: &Frame<'_>, events: &mut Vec<Event>) -> Result<(), Invalid> {
        match frame.message() {
            Message::Event { event_type, payload } => self.event(event_type, payload, events),
            Message::Exception { exception_type, payload } => {
                let body = serde_json::from_slice::<Value>(payload).ok();
                let message = body.as_ref().and_then(|b| b.get("message").or_else(|| b.get("Message")));
                let message = match message.and_then(Value::as_str) {
                    Some(message) => message.to_string(),
                    None => String::from_utf8_lossy(payload).into_owned(),
                };
                events.push(Event::Error { kind: kind_of_exception(exception_type).into(), message });
                Ok(())
            }
            Message::Error { code, message } => {
                events.push(Event::Error { kind: kind_of_exception(code).into(), message: message.to_string() });
                Ok(())
            }
            Message::Other => Ok(()),
        }
    }

    fn event(&mut self, event_type: &str, payload: &[u8], events: &mut Vec<Event>) -> Result<(), Invalid> {
        let body: Value = serde_json::from_slice(payload).map_err(|e| Invalid(format!("{event_type}: {e}")))?;
        let root = Obj::new(&body, Loc::Named(event_type))?;
        if !self.started {
            self.started = true;
            events.push(Event::Start { id: std::mem::take(&mut self.id), model: std::mem::take(&mut self.model) });
        }
        match event_type {
            "contentBlockStart" => {
                let block = root.u64("contentBlockIndex")?.unwrap_or_default();
                let Some(start) = root.obj("start")? else { return Ok(()) };
                if let Some(call) = start.obj("toolUse")? {
                    let index = self.calls.len();
                    self.calls.push(Call { block, has_arguments: false });
                    let id = call.req_str("toolUseId")?.to_string();
                    events.push(Event::ToolCall { index, id, name: call.req_str("name")?.to_string() });
                }
            }
            "contentBlockDelta" => {
                let block = root.u64("contentBlockIndex")?.unwrap_or_default();
                let delta = root.req_obj("delta")?;
                if let Some(text) = delta.str("text")? {
                    if !text.is_empty() {
                        events.push(Event::Text(text.to_string()));
                    }
                } else if let Some(reasoning) = delta.obj("reasoningContent")? {
                    if let Some(text) = reasoning.str("text")?.filter(|t| !t.is_empty()) {
                        events.push(Event::Reasoning(text.to_string()));
                    }
                    if let Some(signature) = reasoning.str("signature")? {
                        events.push(Event::ReasoningSignature(signature.to_string()));
                    }
                } else if let Some(call) = delta.obj("toolUse")? {
                    let input = call.str("input")?.unwrap_or_default();
                    let Some(index) = self.calls.iter().rposition(|c| c.block == block) else {
                        return Err(root.at("contentBlockIndex").invalid("the block of a started toolUse"));
                    };
                    if let Some(call) = self.calls.get_mut(index) {
                        call.has_arguments |= !input.is_empty();
                    }
                    if !input.is_empty() {
                        events.push(Event::ToolArguments { index, json: input.to_string() });
                    }
                }
            }
            "contentBlockStop" => {
                let block = root.u64("contentBlockIndex")?.unwrap_or_default();
                if let Some(index) = self.calls.iter().rposition(|c| c.block == block && !c.has_arguments) {
                    if let Some(call) = self.calls.get_mut(index) {
                        call.has_arguments = true;
                    }
                    // OpenAI clients parse the arguments, and "" is not JSON.
                    events.push(Event::ToolArguments { index, json: "{}".into() });
                }
            }
            "messageStop" => {
                if let Some(reason) = root.str("stopReason")? {
                    let sequence = match root.obj("additionalModelResponseFields")? {
                        Some(fields) => fields.str("stop_sequence")?,
                        None => None,
                    };
                    events.push(Event::Finish(finish_from_bedrock(reason, sequence)));
                }
            }
            "metadata" => {
                if let Some(usage) = root.get("usage").and_then(read_usage) {
                    events.push(Event::Usage(usage));
                }
            }
            _ => {}
        }
        Ok(())
    }
}
