//! A whole DashScope reply: read from Qwen, written for a client of Qwen's protocol.

use super::content::{content_text, read_tool_call, write_tool_call};
use super::error::read_error;
use super::finish_from_qwen;
use super::usage::{read_usage, write_usage};
use crate::chat::{Invalid, Part, Reply};
use crate::json::{object, Loc, Obj};
use serde_json::{Map, Value};

/// Reads `{output: {choices: [{finish_reason, message}]}, usage, request_id}`: the first
/// choice's `reasoning_content`, content (a string, or a multimodal reply's `[{text}]` items
/// joined) and `tool_calls`, in that order; its finish reason (`stop` after tool calls is
/// `tool_calls`); the usage with cached and reasoning tokens; `request_id` as the id. A reply
/// of `result_format: "text"` (`output.text`, `output.finish_reason`) is read too. An error
/// body is [`Invalid`] with its code and message.
///
/// DashScope names no model in its reply: the caller sets [`Reply::model`] (Go used the mapped
/// model).
pub fn read_reply(body: &Value) -> Result<Reply, Invalid> {
    let root = Obj::of(body, Loc::Root).ok_or_else(|| Invalid::field("reply body", "a JSON object"))?;
    if let Some((code, message)) = read_error(body) {
        return Err(Invalid(format!("{code}: {message}")));
    }
    let mut reply = Reply {
        id: root.str("request_id")?.unwrap_or_default().to_string(),
        usage: read_usage(body).unwrap_or_default(),
        ..Reply::default()
    };
    let output = root.req_obj("output")?;
    let choices_at = output.at("choices");
    let reason = match output.array("choices")?.and_then(|c| c.first()) {
        Some(choice) => {
            let choice = Obj::new(choice, choices_at.index(0))?;
            if let Some(message) = choice.obj("message")? {
                reply.parts = message_parts(&message)?;
            }
            choice.str("finish_reason")?
        }
        None => {
            let text = output.str("text")?.unwrap_or_default();
            if !text.is_empty() {
                reply.parts.push(Part::Text { text: text.to_string(), cache: None });
            }
            output.str("finish_reason")?
        }
    };
    let called = reply.parts.iter().any(|p| matches!(p, Part::ToolCall { .. }));
    reply.finish = reason.and_then(|reason| finish_from_qwen(reason, called));
    Ok(reply)
}

/// Reasoning, text, then tool calls.
fn message_parts(message: &Obj) -> Result<Vec<Part>, Invalid> {
    let mut parts = Vec::new();
    if let Some(reasoning) = message.str("reasoning_content")?.filter(|r| !r.is_empty()) {
        parts.push(Part::Reasoning { text: reasoning.to_string(), signature: None });
    }
    let text = content_text(message, "content")?;
    if !text.is_empty() {
        parts.push(Part::Text { text: text.into_owned(), cache: None });
    }
    if let Some(calls) = message.array("tool_calls")? {
        let at = message.at("tool_calls");
        for (index, call) in calls.iter().enumerate() {
            parts.push(read_tool_call(&Obj::new(call, at.index(index))?, index)?);
        }
    }
    Ok(parts)
}

/// Writes `{output: {choices: [{finish_reason, message: {role, content, reasoning_content?,
/// tool_calls?}}]}, usage, request_id}`, as `result_format: "message"` has it: content is
/// every text part joined, a string (a multimodal model's list form is not known here); a
/// reply without a finish reason says `stop`.
pub fn write_reply(reply: &Reply) -> Value {
    let (text, reasoning, calls) = reply.joined();
    let calls: Vec<Value> =
        calls.into_iter().map(|(id, name, arguments)| write_tool_call(id, name, arguments)).collect();
    let mut message = Map::new();
    message.insert("role".into(), "assistant".into());
    message.insert("content".into(), text.into());
    if !reasoning.is_empty() {
        message.insert("reasoning_content".into(), reasoning.into());
    }
    if !calls.is_empty() {
        message.insert("tool_calls".into(), Value::Array(calls));
    }
    let finish = reply.finish.as_ref().map_or("stop", |f| f.to_openai());
    let choice = object([("finish_reason", finish.into()), ("message", Value::Object(message))]);
    let mut body = Map::new();
    body.insert("output".into(), object([("choices", Value::Array(vec![choice]))]));
    if let Some(usage) = write_usage(&reply.usage) {
        body.insert("usage".into(), usage);
    }
    body.insert("request_id".into(), reply.id.as_str().into());
    Value::Object(body)
}
