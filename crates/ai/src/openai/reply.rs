//! A whole (not streamed) chat completion, read into the canonical model and written from it.

use super::request_read::arguments;
use super::request_write::tool_call;
use super::usage::write_usage;
use crate::chat::{FinishReason, Invalid, Part, Reply};
use crate::json::{object, Loc, Obj};
use serde_json::{Map, Value};

/// Reads a chat completion: its first choice (the model has one), usage, id, model, created.
///
/// A reply without choices (some providers answer a filtered prompt so) reads as an empty
/// reply; a body that is an error (`{"error": ...}`) is refused with its message.
pub fn read_reply(body: &Value) -> Result<Reply, Invalid> {
    let root = Obj::new(body, Loc::Root)?;
    if let Some((kind, message)) = super::read_error(body) {
        return Err(Invalid(format!("error: {kind}: {message}")));
    }
    let mut reply = Reply {
        id: root.str("id")?.unwrap_or_default().to_string(),
        model: root.str("model")?.unwrap_or_default().to_string(),
        created: root.u64("created")?,
        ..Reply::default()
    };
    reply.usage.update(body);

    let choices = root.array("choices")?.unwrap_or_default();
    let choices_at = root.at("choices");
    let Some((i, choice)) = first_choice(choices) else { return Ok(reply) };
    let choice_at = choices_at.index(i);
    let choice = Obj::new(choice, choice_at)?;
    reply.finish = choice.str("finish_reason")?.map(FinishReason::from_openai);
    if let Some(message) = choice.obj("message")? {
        reply.parts = message_parts(&message)?;
    }
    Ok(reply)
}

/// The choice with `index` 0 (or the first, when none says so), and where it is.
pub(crate) fn first_choice(choices: &[Value]) -> Option<(usize, &Value)> {
    choices
        .iter()
        .enumerate()
        .find(|(_, c)| c.get("index").and_then(Value::as_u64) == Some(0))
        .or_else(|| choices.first().map(|c| (0, c)))
}

/// Reasoning, text, then tool calls.
fn message_parts(message: &Obj) -> Result<Vec<Part>, Invalid> {
    let mut parts = Vec::new();
    let reasoning = super::reasoning(message)?;
    if let Some(text) = reasoning.filter(|t| !t.is_empty()) {
        parts.push(Part::Reasoning { text: text.to_string(), signature: None });
    }
    let text = match message.get("content") {
        None => None,
        Some(Value::String(text)) => Some(text.clone()),
        // Some compatible providers answer with content parts.
        Some(Value::Array(items)) => Some(items.iter().filter_map(|i| i.get("text").and_then(Value::as_str)).collect()),
        Some(_) => return Err(message.at("content").invalid("a string or null")),
    };
    // A refusal is what the model said instead of content.
    let text = text.filter(|t| !t.is_empty()).or(message.str("refusal")?.map(str::to_string));
    if let Some(text) = text.filter(|t| !t.is_empty()) {
        parts.push(Part::Text { text, cache: None });
    }
    if let Some(calls) = message.array("tool_calls")? {
        let at = message.at("tool_calls");
        for (i, call) in calls.iter().enumerate() {
            let call_at = at.index(i);
            let call = Obj::new(call, call_at)?;
            let function = call.obj("function")?.ok_or_else(|| call.at("function").invalid("an object"))?;
            parts.push(Part::ToolCall {
                id: call.str("id")?.unwrap_or_default().to_string(),
                name: function.req_str("name")?.to_string(),
                arguments: arguments(&function)?,
            });
        }
    }
    Ok(parts)
}

/// Writes a chat completion (`object: chat.completion`, one choice): content is every text
/// part joined (Go kept the last), `null` when the reply only calls tools; reasoning as
/// `reasoning_content`; usage with cached and reasoning tokens, omitted only when nothing is
/// known. `created` is 0 when the reply has none: the caller sets it from its clock.
pub fn write_reply(reply: &Reply) -> Value {
    let (text, reasoning, calls) = reply.joined();
    let calls: Vec<Value> = calls.into_iter().map(|(id, name, arguments)| tool_call(id, name, arguments)).collect();
    let mut message = Map::new();
    message.insert("role".into(), "assistant".into());
    let content = match text.is_empty() && !calls.is_empty() {
        true => Value::Null,
        false => Value::String(text),
    };
    message.insert("content".into(), content);
    if !reasoning.is_empty() {
        message.insert("reasoning_content".into(), Value::String(reasoning));
    }
    if !calls.is_empty() {
        message.insert("tool_calls".into(), Value::Array(calls));
    }
    let finish = reply.finish.as_ref().map_or(Value::Null, |f| f.to_openai().into());
    let choice = object([
        ("index", 0.into()),
        ("message", Value::Object(message)),
        ("logprobs", Value::Null),
        ("finish_reason", finish),
    ]);
    let mut body = object([
        ("id", reply.id.as_str().into()),
        ("object", "chat.completion".into()),
        ("created", reply.created.unwrap_or(0).into()),
        ("model", reply.model.as_str().into()),
        ("choices", Value::Array(vec![choice])),
    ]);
    if let (Some(usage), Value::Object(map)) = (write_usage(&reply.usage), &mut body) {
        map.insert("usage".into(), usage);
    }
    body
}
