//! An OpenAI-style stream (`chat.completion.chunk` events) decoded into canonical events, one
//! upstream event at a time.

use super::reply::first_choice;
use super::request_read::arguments;
use crate::chat::{Event, FinishReason, Invalid};
use crate::json::{data_text, event_data, Loc, Obj};
use crate::scan::{lossy, Json, Template, Token};
use crate::usage::Usage;
use higress_sdk::sse::SseEvent;
use serde_json::Value;
use std::borrow::Cow;

/// Decodes one stream. Its state is the stream's own: a new decoder per request.
#[derive(Debug, Default)]
pub struct StreamDecoder {
    /// Whether `Start` was given.
    started: bool,
    /// The tool calls met so far, by ordinal: OpenAI's `index` and the call's id.
    calls: Vec<CallKey>,
    /// The fast path's tokens, kept from one event to the next.
    tokens: Vec<Token>,
    /// The last chunk whose events were made of one string, as the template of the next.
    template: Option<(Template, Replay)>,
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

    /// The events one upstream event carries, in order: `Start` (the first chunk with an id
    /// or a model), reasoning, text, tool calls, `Finish`, `Usage`. `data: [DONE]`, comments
    /// and keep-alives carry none; an `{"error": ...}` event is an `Event::Error`. Only choice
    /// 0 is read (the model has one). A chunk that is not JSON, or whose fields have the wrong
    /// types, is refused naming the field.
    pub fn decode(&mut self, event: &SseEvent) -> Result<Vec<Event>, Invalid> {
        let mut events = Vec::new();
        self.decode_into(event_data(event).map(str::as_bytes), &mut events)?;
        Ok(events)
    }

    /// [`StreamDecoder::decode`] of an event whose `data` field is `data` (as bytes: what is
    /// not UTF-8 is replaced, as the SDK's parser replaces it), its events appended to
    /// `events`.
    pub(crate) fn decode_into(&mut self, data: Option<&[u8]>, events: &mut Vec<Event>) -> Result<(), Invalid> {
        let Some(data) = data else { return Ok(()) };
        // What `event_data` trims off, but for whitespace beyond ASCII (then not JSON's, and
        // the fast path gives up).
        let trimmed = data.trim_ascii();
        if trimmed.is_empty() || trimmed == b"[DONE]" {
            return Ok(());
        }
        let before = events.len();
        if self.fast(trimmed, events).is_some() {
            return Ok(());
        }
        events.truncate(before);
        let data = lossy(data);
        let Some(data) = data_text(Some(&data)) else { return Ok(()) };
        events.extend(self.general(data)?);
        Ok(())
    }

    /// The fast path: a chunk with at most one choice (nearly every chunk of a stream, its
    /// first and its usage included) read in one pass over its text, without a `Value`. `None`
    /// for any other chunk or anything unusual in one (the general path then reads it, and
    /// says what is wrong). What it returns, and the state it leaves, are the general path's
    /// for the same data: a change to what the general path reads must be made here too
    /// (`translate::equivalence` checks that the two agree). Its events are appended to
    /// `events` (which, when it gives up, may hold some of them: the caller takes them off).
    pub(crate) fn fast(&mut self, data: &[u8], events: &mut Vec<Event>) -> Option<()> {
        if let Some((mut template, replay)) = self.template.take() {
            let text = template.text(data).map(Cow::into_owned);
            let matched = text.is_some();
            if let Some(text) = text {
                self.replay(&replay, text, events);
            }
            self.template = Some((template, replay));
            if matched {
                return Some(());
            }
        }
        let mut tokens = std::mem::take(&mut self.tokens);
        let read = match Json::parse(data, &mut tokens) {
            Some(json) => self.read_fast(&json, events),
            None => None,
        };
        self.tokens = tokens;
        read
    }

    /// The events of a chunk that matched the template whose events `replay` says how to make.
    fn replay(&mut self, replay: &Replay, text: String, events: &mut Vec<Event>) {
        match replay {
            Replay::Reasoning if !text.is_empty() => events.push(Event::Reasoning(text)),
            Replay::Text if !text.is_empty() => events.push(Event::Text(text)),
            Replay::Reasoning | Replay::Text => {}
            Replay::Arguments { index, id, name } => {
                let id = id.as_deref().filter(|id| !id.is_empty());
                self.call(*index, id, name.as_deref(), text, events);
            }
        }
    }

    fn read_fast(&mut self, json: &Json, events: &mut Vec<Event>) -> Option<()> {
        let [choices, error, usage, object, id, model] =
            json.fields(0, [b"choices", b"error", b"usage", b"object", b"id", b"model"])?;
        // An error: the general path.
        if error.is_some() {
            return None;
        }
        if let Some(object) = object {
            if json.str(object)? == "error" {
                return None;
            }
        }
        let text = |at: Option<usize>| -> Option<String> {
            match at {
                Some(at) => Some(json.opt_str(at)?.map(Cow::into_owned).unwrap_or_default()),
                None => Some(String::new()),
            }
        };
        let starts = !self.started;
        // Whether this chunk starts the reply (as the general path: Azure's first chunk, with
        // an empty id and model, does not).
        let mut started = self.started;
        if starts {
            let (id, model) = (text(id)?, text(model)?);
            if !id.is_empty() || !model.is_empty() {
                started = true;
                events.push(Event::Start { id, model });
            }
        }
        let choice = match choices.filter(|at| !json.is_null(*at)) {
            Some(choices) => {
                let mut elements = json.elements(choices)?;
                let choice = elements.next();
                // Several choices: which one is read is the general path's to say.
                if elements.next().is_some() {
                    return None;
                }
                choice
            }
            None => None,
        };
        // OpenAI's usage chunk; Moonshot and a few others put it in the choice.
        let mut counted = Usage::default();
        match (usage.filter(|at| !json.is_null(*at)), choice) {
            (Some(_), _) => counted.update_tokens(json, 0)?,
            (None, Some(choice)) => counted.update_tokens(json, choice)?,
            (None, None) => {}
        }
        let Some(choice) = choice else {
            self.started = started;
            if counted.is_any_known() {
                events.push(Event::Usage(counted));
            }
            return Some(());
        };
        let [delta, finish] = json.fields(choice, [b"delta", b"finish_reason"])?;
        let finish = match finish {
            Some(at) => json.opt_str(at)?,
            None => None,
        };
        let mut calls = Vec::new();
        // The one string the events are made of, when there is one: the next chunks' template.
        let mut template = None;
        if let Some(delta) = delta.filter(|at| !json.is_null(*at)) {
            let [reasoning_content, reasoning, content, refusal, tool_calls] =
                json.fields(delta, [b"reasoning_content", b"reasoning", b"content", b"refusal", b"tool_calls"])?;
            // Each text with its token.
            let text = |at: Option<usize>| match at {
                Some(at) => Some(json.opt_str(at)?.map(|text| (text, at))),
                None => Some(None),
            };
            let reasoning = match text(reasoning_content)? {
                Some(text) => Some(text),
                None => text(reasoning)?,
            };
            let texts =
                [(reasoning, Replay::Reasoning), (text(content)?, Replay::Text), (text(refusal)?, Replay::Text)];
            if let Some(tool_calls) = tool_calls.filter(|at| !json.is_null(*at)) {
                for call in json.elements(tool_calls)? {
                    calls.push(read_call(json, call)?);
                }
            }
            let strings = texts.iter().filter(|(text, _)| text.is_some()).count();
            for (text, replay) in texts {
                let Some((text, at)) = text else { continue };
                if strings == 1 && calls.is_empty() {
                    template = Some((at, replay.clone()));
                }
                if !text.is_empty() {
                    events.push(match replay {
                        Replay::Reasoning => Event::Reasoning(text.into_owned()),
                        _ => Event::Text(text.into_owned()),
                    });
                }
            }
            if let ([(call, Some(at))], 0) = (calls.as_slice(), strings) {
                let replay = Replay::Arguments {
                    index: call.index,
                    id: call.id.as_deref().map(str::to_string),
                    name: call.name.as_deref().map(str::to_string),
                };
                template = Some((*at, replay));
            }
        }
        // Read whole: the decoder's state changes only now.
        self.started = started;
        for (call, _) in calls {
            let id = call.id.as_deref().filter(|id| !id.is_empty());
            let arguments = call.arguments.map(Cow::into_owned).unwrap_or_default();
            self.call(call.index, id, call.name.as_deref(), arguments, events);
        }
        let finished = finish.is_some();
        if let Some(reason) = finish {
            events.push(Event::Finish(FinishReason::from_openai(&reason)));
        }
        if counted.is_any_known() {
            events.push(Event::Usage(counted));
        } else if let (Some((at, replay)), false, false) = (template, finished, starts) {
            self.template = Template::new(json, at, reads).map(|template| (template, replay));
        }
        Some(())
    }

    /// The general path: the chunk read as a `Value`, field by field.
    pub(crate) fn general(&mut self, data: &str) -> Result<Vec<Event>, Invalid> {
        let chunk: Value = serde_json::from_str(data).map_err(|e| Invalid(format!("data: expected JSON ({e})")))?;
        if let Some((kind, message)) = super::read_error(&chunk) {
            return Ok(vec![Event::Error { kind, message }]);
        }
        let root = Obj::new(&chunk, Loc::Root)?;
        let mut events = Vec::new();
        if !self.started {
            let id = root.str("id")?.unwrap_or_default();
            let model = root.str("model")?.unwrap_or_default();
            // Azure's first chunk carries only `prompt_filter_results`, with an empty id and
            // model: the reply's id and model come with the next one.
            if !id.is_empty() || !model.is_empty() {
                self.started = true;
                events.push(Event::Start { id: id.to_string(), model: model.to_string() });
            }
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
        self.call(index, id, name, json, events);
        Ok(())
    }

    /// A tool call's delta, with its `index`, `id`, `name` and arguments as read.
    fn call(
        &mut self,
        index: Option<u64>,
        id: Option<&str>,
        name: Option<&str>,
        json: String,
        events: &mut Vec<Event>,
    ) {
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
    }
}

#[cfg(test)]
impl StreamDecoder {
    /// [`StreamDecoder::decode_into`] without the fast path: the reference it is checked
    /// against.
    pub(crate) fn decode_general(&mut self, data: Option<&[u8]>) -> Result<Vec<Event>, Invalid> {
        let Some(data) = data else { return Ok(Vec::new()) };
        let data = lossy(data);
        match data_text(Some(&data)) {
            Some(data) => self.general(data),
            None => Ok(Vec::new()),
        }
    }

    /// What the decoder remembers of the stream (its fast path's buffers aside).
    pub(crate) fn state(&self) -> String {
        format!("{} {:?}", self.started, self.calls)
    }
}

/// One `tool_calls[]` delta as the fast path reads it.
struct CallDelta<'a> {
    index: Option<u64>,
    id: Option<Cow<'a, str>>,
    name: Option<Cow<'a, str>>,
    arguments: Option<Cow<'a, str>>,
}

/// The keys the fast path reads, wherever they are: a template keeps their values.
fn reads(key: &[u8]) -> bool {
    matches!(
        key,
        b"choices"
            | b"error"
            | b"usage"
            | b"object"
            | b"delta"
            | b"finish_reason"
            | b"response"
            | b"message"
            | b"usageMetadata"
            | b"reasoning_content"
            | b"reasoning"
            | b"content"
            | b"refusal"
            | b"tool_calls"
            | b"index"
            | b"id"
            | b"function"
            | b"name"
            | b"arguments"
    )
}

/// How the events of a chunk that matches a template are made of its text.
#[derive(Debug, Clone)]
enum Replay {
    Reasoning,
    Text,
    /// More arguments of a tool call (with what its delta said besides).
    Arguments {
        index: Option<u64>,
        id: Option<String>,
        name: Option<String>,
    },
}

/// The tool call delta at `at`: `index`, `id`, `function.name`, `function.arguments` (each
/// may be `null` or absent; arguments that are not a string take the general path), and
/// the token of arguments that are a string.
fn read_call<'a>(json: &Json<'a>, at: usize) -> Option<(CallDelta<'a>, Option<usize>)> {
    let [index, id, function] = json.fields(at, [b"index", b"id", b"function"])?;
    let index = match index.filter(|at| !json.is_null(*at)) {
        Some(at) => Some(json.u64(at)?),
        None => None,
    };
    let id = match id {
        Some(at) => json.opt_str(at)?,
        None => None,
    };
    let [name, arguments] = match function.filter(|at| !json.is_null(*at)) {
        Some(function) => json.fields(function, [b"name", b"arguments"])?,
        None => [None, None],
    };
    let text = |at: Option<usize>| match at {
        Some(at) => json.opt_str(at),
        None => Some(None),
    };
    let call = CallDelta { index, id, name: text(name)?, arguments: text(arguments)? };
    let token = arguments.filter(|_| call.arguments.is_some());
    Some((call, token))
}
