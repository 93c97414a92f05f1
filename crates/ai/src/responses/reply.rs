//! A whole (not streamed) response: read from a Responses provider, written for a Responses
//! client. The response object is also what a stream's lifecycle events carry.

use super::error::read_error;
use super::items::{arguments_text, function_call_item, function_call_part, message_item, message_text, output_text};
use super::items::{reasoning_item, reasoning_part};
use super::usage::{read_usage, write_usage};
use super::{finish_of, item_id, response_id, status_of};
use crate::chat::{Invalid, Part, Reply};
use crate::json::{object, Loc, Obj};
use crate::usage::Usage;
use serde_json::{Map, Value};

/// Reads a response: its output items in order (`reasoning`, the text of `message`s,
/// `function_call`s; hosted tools' items are dropped), why it stopped (from `status` and
/// `incomplete_details`), usage, id, model and `created_at`.
///
/// An error body, or a failed response, is [`Invalid`] with the error's type and message.
pub fn read_reply(body: &Value) -> Result<Reply, Invalid> {
    let Some(root) = Obj::of(body, Loc::Root) else {
        return Err(Invalid::field("reply body", "a JSON object"));
    };
    if let Some((kind, message)) = read_error(body) {
        return Err(Invalid(format!("error: {kind}: {message}")));
    }
    let (parts, called) = read_output(&root)?;
    let reason = match root.obj("incomplete_details")? {
        Some(details) => details.str("reason")?,
        None => None,
    };
    let status = root.str("status")?.unwrap_or("completed");
    Ok(Reply {
        id: root.str("id")?.unwrap_or_default().to_string(),
        model: root.str("model")?.unwrap_or_default().to_string(),
        parts,
        finish: finish_of(status, reason, called),
        usage: read_usage(body),
        created: created_at(&root)?,
    })
}

/// `created_at`: seconds, which the SDKs type as a number that may have a fraction.
fn created_at(root: &Obj) -> Result<Option<u64>, Invalid> {
    match root.number("created_at")? {
        // `as` saturates: a negative or huge time cannot trap.
        Some(number) => Ok(number.as_u64().or_else(|| number.as_f64().map(|seconds| seconds as u64))),
        None => Ok(None),
    }
}

/// The parts of a response's `output`, and whether it called a tool.
pub(super) fn read_output(root: &Obj) -> Result<(Vec<Part>, bool), Invalid> {
    let output = root.array("output")?.unwrap_or_default();
    let at = root.at("output");
    let mut parts = Vec::with_capacity(output.len());
    let mut called = false;
    for (i, item) in output.iter().enumerate() {
        let item_at = at.index(i);
        let item = Obj::new(item, item_at)?;
        match item.req_str("type")? {
            "message" => {
                let text = message_text(&item)?;
                if !text.is_empty() {
                    parts.push(Part::Text { text, cache: None });
                }
            }
            "reasoning" => parts.extend(reasoning_part(&item)?),
            "function_call" => {
                called = true;
                parts.push(function_call_part(&item)?);
            }
            // Hosted tools' calls (web search, ...) ran at the provider: nothing for the model.
            _ => {}
        }
    }
    Ok((parts, called))
}

/// Writes a response: `object: response`, the output items in the reply's order (consecutive
/// texts as one `message`, reasoning as a `reasoning` item, each tool call a `function_call`),
/// `status` (`incomplete` for the token limit and a content filter), usage, and the echo of
/// the request's settings every response carries, at their defaults (the gateway does not
/// keep the request). `created_at` is 0 when the reply has no time: the caller sets it.
pub fn write_reply(reply: &Reply) -> Value {
    let created = reply.created.unwrap_or(0);
    let id = response_id(&reply.id, created);
    let mut output = Vec::with_capacity(reply.parts.len());
    let mut text: Option<String> = None;
    for part in &reply.parts {
        if let Part::Text { text: more, .. } = part {
            text.get_or_insert_with(String::new).push_str(more);
            continue;
        }
        if let Some(text) = text.take() {
            output.push(message_item(&item_id("msg", &id, output.len()), vec![output_text(&text)], "completed"));
        }
        match part {
            Part::Reasoning { text, signature } => {
                output.push(reasoning_item(&item_id("rs", &id, output.len()), text, signature.as_deref()));
            }
            Part::ToolCall { id: call_id, name, arguments } => {
                let item = item_id("fc", &id, output.len());
                output.push(function_call_item(&item, call_id, name, arguments_text(arguments), "completed"));
            }
            Part::Text { .. } | Part::Image { .. } | Part::ToolResult { .. } => {}
        }
    }
    if let Some(text) = text {
        output.push(message_item(&item_id("msg", &id, output.len()), vec![output_text(&text)], "completed"));
    }
    let (status, incomplete) = status_of(reply.finish.as_ref());
    let envelope = Envelope { id: &id, model: &reply.model, created, status, incomplete, error: None };
    envelope.response(output, &reply.usage)
}

/// What a response object says besides its output and usage.
pub(super) struct Envelope<'a> {
    pub id: &'a str,
    pub model: &'a str,
    pub created: u64,
    pub status: &'a str,
    /// `incomplete_details.reason`.
    pub incomplete: Option<&'a str>,
    /// A failed response's `error`.
    pub error: Option<Value>,
}

impl Envelope<'_> {
    /// The response object, with every field the SDKs require (`tools`, `tool_choice`,
    /// `parallel_tool_calls`, ...) at the API's defaults.
    pub fn response(self, output: Vec<Value>, usage: &Usage) -> Value {
        let mut response = Map::new();
        let mut put = |key: &str, value: Value| {
            response.insert(key.to_string(), value);
        };
        put("id", self.id.into());
        put("object", "response".into());
        put("created_at", self.created.into());
        put("status", self.status.into());
        put("error", self.error.unwrap_or(Value::Null));
        put("incomplete_details", self.incomplete.map_or(Value::Null, |reason| object([("reason", reason.into())])));
        put("instructions", Value::Null);
        put("max_output_tokens", Value::Null);
        put("metadata", Value::Object(Map::new()));
        put("model", self.model.into());
        put("output", Value::Array(output));
        put("parallel_tool_calls", true.into());
        put("previous_response_id", Value::Null);
        put("reasoning", object([("effort", Value::Null), ("summary", Value::Null)]));
        put("store", false.into());
        put("temperature", Value::Null);
        put("text", object([("format", object([("type", "text".into())]))]));
        put("tool_choice", "auto".into());
        put("tools", Value::Array(Vec::new()));
        put("top_p", Value::Null);
        put("truncation", "disabled".into());
        put("usage", write_usage(usage).unwrap_or(Value::Null));
        put("user", Value::Null);
        Value::Object(response)
    }
}
