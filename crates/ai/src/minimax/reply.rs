//! A whole ChatCompletion Pro reply read into the canonical model (and written for a client
//! of Pro's protocol), and Pro's errors (`base_resp`).

use super::{call_id, finish_from_minimax, DEFAULT_BOT_NAME};
use crate::chat::{Invalid, Part, Reply};
use crate::json::{object, Loc, Obj};
use crate::usage::Usage;
use serde_json::{Map, Value};

/// Reads `{id, created, model, reply, choices: [{finish_reason, messages: [...]}], usage,
/// base_resp}`: the bot's answer is the last message of the first choice (earlier ones are
/// a plugin's call and its result), its `text` and `function_call` (a tool call `call_0`);
/// `reply` when there is no message. A `base_resp` with a non-zero `status_code` (MiniMax
/// answers errors with HTTP 200) is [`Invalid`] with its code and message.
pub fn read_reply(body: &Value) -> Result<Reply, Invalid> {
    let root = Obj::of(body, Loc::Root).ok_or_else(|| Invalid::field("reply body", "a JSON object"))?;
    if let Some((code, message)) = read_error(body) {
        return Err(Invalid(format!("{code}: {message}")));
    }
    let mut reply = Reply {
        id: root.str("id")?.unwrap_or_default().to_string(),
        model: root.str("model")?.unwrap_or_default().to_string(),
        created: root.u64("created")?,
        ..Reply::default()
    };
    reply.usage.update(body);
    let choices_at = root.at("choices");
    let choice = match root.array("choices")?.and_then(|c| c.first()) {
        Some(choice) => Some(Obj::new(choice, choices_at.index(0))?),
        None => None,
    };
    let mut reason = "";
    if let Some(choice) = &choice {
        reason = choice.str("finish_reason")?.unwrap_or_default();
        if let Some(message) = last_message(choice)? {
            reply.parts = message_parts(&message, 0)?;
        }
    }
    if reply.parts.is_empty() {
        let text = root.str("reply")?.unwrap_or_default();
        if !text.is_empty() {
            reply.parts.push(Part::Text { text: text.to_string(), cache: None });
        }
    }
    let called = reply.parts.iter().any(|p| matches!(p, Part::ToolCall { .. }));
    reply.finish = finish_from_minimax(reason, called);
    Ok(reply)
}

/// The last message of a choice.
pub(super) fn last_message<'v, 'c>(choice: &'c Obj<'v, '_>) -> Result<Option<Obj<'v, 'c>>, Invalid> {
    let Some(messages) = choice.array("messages")? else { return Ok(None) };
    let Some(last) = messages.len().checked_sub(1) else { return Ok(None) };
    let at = choice.at("messages");
    match messages.get(last) {
        Some(message) => Ok(Some(Obj::new(message, at.index(last))?.with_loc(Loc::Named("choices[0].messages[last]")))),
        None => Ok(None),
    }
}

/// A message's text and function call (numbered `calls`).
pub(super) fn message_parts(message: &Obj, calls: usize) -> Result<Vec<Part>, Invalid> {
    let mut parts = Vec::new();
    let text = message.str("text")?.unwrap_or_default();
    if !text.is_empty() {
        parts.push(Part::Text { text: text.to_string(), cache: None });
    }
    if let Some(call) = message.obj("function_call")? {
        let name = call.str("name")?.unwrap_or_default();
        if !name.is_empty() {
            let arguments = call.str("arguments")?.unwrap_or_default().to_string();
            parts.push(Part::ToolCall { id: call_id(calls), name: name.to_string(), arguments });
        }
    }
    Ok(parts)
}

/// Writes a Pro reply: one choice whose one message is the bot's (its text, its first tool
/// call as `function_call`), `reply`, `usage`, `base_resp` with status 0.
pub fn write_reply(reply: &Reply) -> Value {
    let (text, _, calls) = reply.joined();
    let mut message = Map::new();
    message.insert("sender_type".into(), "BOT".into());
    message.insert("sender_name".into(), DEFAULT_BOT_NAME.into());
    message.insert("text".into(), text.as_str().into());
    if let Some((_, name, arguments)) = calls.first() {
        message.insert("function_call".into(), object([("name", (*name).into()), ("arguments", (*arguments).into())]));
    }
    let finish = reply.finish.as_ref().map_or("stop", |f| match f.to_openai() {
        "tool_calls" => "stop",
        other => other,
    });
    let choice = object([
        ("index", 0.into()),
        ("finish_reason", finish.into()),
        ("messages", Value::Array(vec![Value::Object(message)])),
    ]);
    object([
        ("id", reply.id.as_str().into()),
        ("created", reply.created.unwrap_or(0).into()),
        ("model", reply.model.as_str().into()),
        ("reply", text.into()),
        ("choices", Value::Array(vec![choice])),
        ("usage", write_usage(&reply.usage)),
        ("input_sensitive", false.into()),
        ("output_sensitive", false.into()),
        ("base_resp", object([("status_code", 0.into()), ("status_msg", "".into())])),
    ])
}

/// Pro's usage: `{total_tokens, prompt_tokens, completion_tokens}`.
pub(super) fn write_usage(usage: &Usage) -> Value {
    let prompt = usage.prompt_tokens().unwrap_or(0);
    let completion = usage.output.unwrap_or(0);
    object([
        ("total_tokens", usage.total.unwrap_or_else(|| prompt.saturating_add(completion)).into()),
        ("prompt_tokens", prompt.into()),
        ("completion_tokens", completion.into()),
    ])
}

/// The code (as text) and message of an error: a `base_resp` whose `status_code` is not 0,
/// or a proxy's OpenAI-style `{error}`. Any other body is `None`.
pub fn read_error(body: &Value) -> Option<(String, String)> {
    if let Some(base) = body.get("base_resp").filter(|b| b.is_object()) {
        let code = base.get("status_code").and_then(Value::as_i64).unwrap_or(0);
        if code != 0 {
            let message = base.get("status_msg").and_then(Value::as_str).unwrap_or_default();
            return Some((code.to_string(), message.to_string()));
        }
        return None;
    }
    crate::openai::read_error(body)
}

/// An error body: `{base_resp: {status_code, status_msg}}`, the code `kind` when it is
/// MiniMax's (a number), else the one nearest another protocol's error type.
pub fn write_error(kind: &str, message: &str) -> Value {
    let code: i64 = kind.parse().unwrap_or_else(|_| code_for_kind(kind));
    object([("base_resp", object([("status_code", code.into()), ("status_msg", message.into())]))])
}

/// MiniMax's code for an error type of any protocol.
fn code_for_kind(kind: &str) -> i64 {
    match kind {
        "invalid_request_error" | "request_too_large" | "INVALID_ARGUMENT" | "InvalidParameter" | "invalid_param" => {
            2013
        }
        "authentication_error" | "invalid_api_key" | "UNAUTHENTICATED" | "InvalidApiKey" | "unauthorized" => 1004,
        "rate_limit_error" | "RESOURCE_EXHAUSTED" | "Throttling" | "too_many_requests" => 1002,
        "billing_error" | "insufficient_quota" | "Arrearage" => 1008,
        "timeout_error" | "DEADLINE_EXCEEDED" | "RequestTimeOut" => 1001,
        _ => 1000,
    }
}

/// The code MiniMax's errors have for an HTTP status, for an error body that says none.
pub(crate) fn code_for_status(status: u16) -> &'static str {
    match status {
        400 | 413 | 422 => "2013",
        401 | 403 => "1004",
        402 => "1008",
        408 | 504 => "1001",
        429 => "1002",
        _ => "1000",
    }
}
