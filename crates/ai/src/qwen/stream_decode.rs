//! DashScope's streamed reply turned into [`Event`]s. Each event is `id:<n>`, `event:result`
//! (or `event:error`), a `:HTTP_STATUS/<code>` comment and `data:` holding a reply of the
//! whole-reply shape: the choices' new (or whole, see [`super::delta`]) content, reasoning and
//! tool calls, `finish_reason` (the string `"null"` while running), the running usage.

use super::content::{arguments, content_text};
use super::delta::{Mode, Received};
use super::error::read_error;
use super::finish_from_qwen;
use super::usage::read_usage;
use crate::chat::{Event, Invalid};
use crate::json::{data_text, event_data, Loc, Obj};
use higress_sdk::sse::SseEvent;
use serde_json::Value;
use std::borrow::Cow;

/// Decodes one DashScope stream; one per request.
///
/// The first event gives [`Event::Start`] (`request_id`, and the model set by
/// [`StreamDecoder::with_model`]: DashScope names none); the first choice's
/// `reasoning_content`, content and tool calls give [`Event::Reasoning`], [`Event::Text`],
/// [`Event::ToolCall`] (numbered from 0 across the reply, once its name is known, its id
/// `call_<n>` when Qwen gave none) and [`Event::ToolArguments`]; the first `finish_reason`
/// other than `"null"` gives [`Event::Finish`]; each `usage` gives [`Event::Usage`]; an error
/// event gives [`Event::Error`]. Nothing waits for the end: the stream is never `[DONE]`.
///
/// Incremental and whole-text streams are both read. The caller knows which it asked for
/// ([`StreamDecoder::incremental`]); left unsaid, the decoder takes a text that begins with
/// everything received so far as the whole text again (and passes on its tail) until some
/// text does not, which shows the stream is incremental. The cost of guessing: in an
/// incremental stream, a delta that repeats all the text before it ("-" then "-") is taken for
/// a repeat, until the first delta that does not.
#[derive(Debug, Default)]
pub struct StreamDecoder {
    mode: Mode,
    model: String,
    started: bool,
    content: Received,
    reasoning: Received,
    calls: Vec<Call>,
    /// Calls announced (the next one's index).
    announced: usize,
    finished: bool,
}

/// A tool call of the reply.
#[derive(Debug, Default)]
struct Call {
    /// Qwen's `index` of it (its position in `tool_calls` when it gives none).
    key: u64,
    id: String,
    name: String,
    arguments: Received,
    /// Its index in the reply, once announced (when its name is known).
    ordinal: Option<usize>,
    /// Arguments received before its name.
    pending: String,
}

impl StreamDecoder {
    /// A decoder for a new stream that tells incremental from whole texts itself.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the request asked for `incremental_output` (the decoder then does not guess).
    pub fn incremental(mut self, incremental: bool) -> Self {
        self.mode = if incremental { Mode::Incremental } else { Mode::Whole };
        self
    }

    /// The model [`Event::Start`] names (DashScope's events do not).
    pub fn with_model(mut self, model: impl Into<String>) -> Self {
        self.model = model.into();
        self
    }

    /// What `event` says, in order. An event without data says nothing; data that is not a
    /// JSON object, or a field of the wrong type, is [`Invalid`].
    pub fn decode(&mut self, event: &SseEvent) -> Result<Vec<Event>, Invalid> {
        let mut events = Vec::new();
        let name = event.event.as_deref().map(str::as_bytes);
        self.decode_into(name, event_data(event).map(str::as_bytes), &mut events)?;
        Ok(events)
    }

    /// [`StreamDecoder::decode`] of an event whose `event` and `data` fields are `name` and
    /// `data`, its events appended to `events`.
    pub(crate) fn decode_into(
        &mut self,
        name: Option<&[u8]>,
        data: Option<&[u8]>,
        events: &mut Vec<Event>,
    ) -> Result<(), Invalid> {
        let text = data.map(String::from_utf8_lossy);
        let Some(text) = data_text(text.as_ref().map(Cow::as_ref)) else { return Ok(()) };
        let chunk: Value = serde_json::from_str(text).map_err(|e| Invalid(format!("stream event: {e}")))?;
        let root = Obj::of(&chunk, Loc::Named("stream event"))
            .ok_or_else(|| Invalid::field("stream event", "a JSON object"))?;
        let error_event = name.map(<[u8]>::trim_ascii) == Some(b"error".as_slice());
        if let Some((code, message)) = read_error(&chunk) {
            events.push(Event::Error { kind: code, message });
            return Ok(());
        }
        if error_event {
            events.push(Event::Error { kind: "InternalError".into(), message: text.to_string() });
            return Ok(());
        }
        if !self.started {
            self.started = true;
            let id = root.str("request_id")?.unwrap_or_default().to_string();
            events.push(Event::Start { id, model: self.model.clone() });
        }
        if let Some(output) = root.obj("output")? {
            self.output(&output, events)?;
        }
        if let Some(usage) = read_usage(&chunk) {
            events.push(Event::Usage(usage));
        }
        Ok(())
    }

    /// The first choice (or, with `result_format: "text"`, `output.text`).
    fn output(&mut self, output: &Obj, events: &mut Vec<Event>) -> Result<(), Invalid> {
        let choices_at = output.at("choices");
        let reason = match output.array("choices")?.and_then(|c| c.first()) {
            Some(choice) => {
                let choice = Obj::new(choice, choices_at.index(0))?;
                if let Some(message) = choice.obj("message")? {
                    self.message(&message, events)?;
                }
                choice.str("finish_reason")?
            }
            None => {
                let text = output.str("text")?.unwrap_or_default();
                self.text(text, events);
                output.str("finish_reason")?
            }
        };
        if let Some(finish) = reason.and_then(|r| finish_from_qwen(r, self.announced > 0)) {
            if !self.finished {
                self.finished = true;
                events.push(Event::Finish(finish));
            }
        }
        Ok(())
    }

    fn message(&mut self, message: &Obj, events: &mut Vec<Event>) -> Result<(), Invalid> {
        if let Some(reasoning) = message.str("reasoning_content")? {
            let new = self.reasoning.delta(reasoning, &mut self.mode);
            if !new.is_empty() {
                events.push(Event::Reasoning(new.to_string()));
            }
            self.forget_if_incremental();
        }
        self.text(&content_text(message, "content")?, events);
        if let Some(calls) = message.array("tool_calls")? {
            let at = message.at("tool_calls");
            for (position, call) in calls.iter().enumerate() {
                self.tool_call(&Obj::new(call, at.index(position))?, position, events)?;
            }
        }
        Ok(())
    }

    fn text(&mut self, text: &str, events: &mut Vec<Event>) {
        let new = self.content.delta(text, &mut self.mode);
        if !new.is_empty() {
            events.push(Event::Text(new.to_string()));
        }
        self.forget_if_incremental();
    }

    /// One entry of `tool_calls`: a new call, or more of one (its key, and its id if it has
    /// one: Qwen has omitted `index`, so two calls can come at one position).
    fn tool_call(&mut self, call: &Obj, position: usize, events: &mut Vec<Event>) -> Result<(), Invalid> {
        let key = call.u64("index")?.unwrap_or(position as u64);
        let id = call.str("id")?.unwrap_or_default();
        let function = call.obj("function")?;
        let name = match &function {
            Some(function) => function.str("name")?.unwrap_or_default(),
            None => "",
        };
        let arguments = match &function {
            Some(function) => arguments(function)?,
            None => Cow::Borrowed(""),
        };
        let found = self.calls.iter().rposition(|c| c.key == key && (id.is_empty() || c.id.is_empty() || c.id == id));
        let at = match found {
            Some(at) => at,
            None => {
                self.calls.push(Call { key, ..Call::default() });
                self.calls.len() - 1
            }
        };
        let Some(entry) = self.calls.get_mut(at) else { return Ok(()) };
        if entry.id.is_empty() {
            entry.id = id.to_string();
        }
        if entry.name.is_empty() {
            entry.name = name.to_string();
        }
        let new = entry.arguments.delta(&arguments, &mut self.mode);
        match entry.ordinal {
            Some(index) if !new.is_empty() => events.push(Event::ToolArguments { index, json: new.to_string() }),
            Some(_) => {}
            None => {
                entry.pending.push_str(new);
                if !entry.name.is_empty() {
                    let index = self.announced;
                    self.announced += 1;
                    entry.ordinal = Some(index);
                    let id = if entry.id.is_empty() { format!("call_{index}") } else { entry.id.clone() };
                    events.push(Event::ToolCall { index, id, name: entry.name.clone() });
                    let pending = std::mem::take(&mut entry.pending);
                    if !pending.is_empty() {
                        events.push(Event::ToolArguments { index, json: pending });
                    }
                }
            }
        }
        self.forget_if_incremental();
        Ok(())
    }

    /// Once the stream shows it is incremental, what was received is no longer compared:
    /// dropped, so a long reply is not held twice.
    fn forget_if_incremental(&mut self) {
        if self.mode == Mode::Incremental {
            self.content.forget();
            self.reasoning.forget();
            for call in &mut self.calls {
                call.arguments.forget();
            }
        }
    }
}
