//! An OpenAI-style stream (`chat.completion.chunk` events) decoded into canonical events, one
//! upstream event at a time.

use super::reply::first_choice;
use super::request_read::arguments;
use crate::chat::{Event, FinishReason, Invalid};
use crate::json::{event_data, Loc, Obj};
use crate::usage::Usage;
use higress_sdk::sse::SseEvent;
use serde_json::Value;

/// Decodes one stream. Its state is the stream's own: a new decoder per request.
#[derive(Debug, Default)]
pub struct StreamDecoder {
    /// Whether `Start` was given.
    started: bool,
    /// The tool calls met so far, by ordinal: OpenAI's `index` and the call's id.
    calls: Vec<CallKey>,
}

/// How a tool call is recognised in later deltas.
#[derive(Debug)]
struct CallKey {
    index: Option<u64>,
    id: String,
}

impl StreamDecoder {
    /// A decoder for a new stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// The events one upstream event carries, in order: `Start` (first chunk only),
    /// reasoning, text, tool calls, `Finish`, `Usage`. `data: [DONE]`, comments and
    /// keep-alives carry none; an `{"error": ...}` event is an `Event::Error`. Only choice 0
    /// is read (the model has one). A chunk that is not JSON, or whose fields have the wrong
    /// types, is refused naming the field.
    pub fn decode(&mut self, event: &SseEvent) -> Result<Vec<Event>, Invalid> {
        let Some(data) = event_data(event) else { return Ok(Vec::new()) };
        let chunk: Value = serde_json::from_str(data).map_err(|e| Invalid(format!("data: expected JSON ({e})")))?;
        if let Some((kind, message)) = super::read_error(&chunk) {
            return Ok(vec![Event::Error { kind, message }]);
        }
        let root = Obj::new(&chunk, Loc::Root)?;
        let mut events = Vec::new();
        if !self.started {
            let id = root.str("id")?.unwrap_or_default().to_string();
            let model = root.str("model")?.unwrap_or_default().to_string();
            self.started = true;
            events.push(Event::Start { id, model });
        }

        let choices = root.array("choices")?.unwrap_or_default();
        let choices_at = root.at("choices");
        let first = first_choice(choices);
        if let Some((i, choice)) = first {
            let choice_at = choices_at.index(i);
            let choice = Obj::new(choice, choice_at)?;
            if let Some(delta) = choice.obj("delta")? {
                self.delta(&delta, &mut events)?;
            }
            if let Some(reason) = choice.str("finish_reason")? {
                events.push(Event::Finish(FinishReason::from_openai(reason)));
            }
        }

        // OpenAI's usage chunk (`choices: []`); Moonshot and a few others put it in the choice.
        let mut usage = Usage::default();
        match (root.get("usage"), first) {
            (Some(_), _) => usage.update(&chunk),
            (None, Some((_, choice))) => usage.update(choice),
            (None, None) => {}
        }
        if usage.is_any_known() {
            events.push(Event::Usage(usage));
        }
        Ok(events)
    }

    /// A choice's delta: `reasoning_content` (DeepSeek, vLLM) or `reasoning` (OpenRouter,
    /// Ollama), then `content` (or a `refusal`), then `tool_calls`.
    fn delta(&mut self, delta: &Obj, events: &mut Vec<Event>) -> Result<(), Invalid> {
        let reasoning = super::reasoning(delta)?;
        if let Some(text) = reasoning.filter(|t| !t.is_empty()) {
            events.push(Event::Reasoning(text.to_string()));
        }
        for key in ["content", "refusal"] {
            if let Some(text) = delta.str(key)?.filter(|t| !t.is_empty()) {
                events.push(Event::Text(text.to_string()));
            }
        }
        if let Some(calls) = delta.array("tool_calls")? {
            let at = delta.at("tool_calls");
            for (i, call) in calls.iter().enumerate() {
                let call_at = at.index(i);
                self.tool_call(&Obj::new(call, call_at)?, events)?;
            }
        }
        Ok(())
    }

    /// One `tool_calls[]` delta. The first delta of a call carries its id and name; later
    /// ones only `index` and more arguments. The call's ordinal (0, 1, ... in order of
    /// appearance) replaces OpenAI's `index`, which some compatible providers leave out or
    /// repeat for every call (a new id then starts a new call).
    fn tool_call(&mut self, call: &Obj, events: &mut Vec<Event>) -> Result<(), Invalid> {
        let index = call.u64("index")?;
        let id = call.str("id")?.filter(|id| !id.is_empty());
        let function = call.obj("function")?;
        let name = match &function {
            Some(function) => function.str("name")?,
            None => None,
        };
        let json = match &function {
            Some(function) => arguments(function)?,
            None => String::new(),
        };

        let same = |key: &CallKey| match id {
            Some(id) => key.id.is_empty() || key.id == id,
            None => true,
        };
        let known = match index {
            Some(index) => self.calls.iter().rposition(|key| key.index == Some(index) && same(key)),
            None => match id {
                Some(id) => self.calls.iter().rposition(|key| key.id == id),
                None => self.calls.len().checked_sub(1),
            },
        };
        let ordinal = match known {
            Some(ordinal) => {
                if let (Some(id), Some(key)) = (id, self.calls.get_mut(ordinal)) {
                    if key.id.is_empty() {
                        key.id = id.to_string();
                    }
                }
                ordinal
            }
            None => {
                let ordinal = self.calls.len();
                self.calls.push(CallKey { index, id: id.unwrap_or_default().to_string() });
                events.push(Event::ToolCall {
                    index: ordinal,
                    id: id.unwrap_or_default().to_string(),
                    name: name.unwrap_or_default().to_string(),
                });
                ordinal
            }
        };
        if !json.is_empty() {
            events.push(Event::ToolArguments { index: ordinal, json });
        }
        Ok(())
    }
}
