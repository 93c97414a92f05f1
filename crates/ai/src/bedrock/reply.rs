//! A whole Converse reply: read from Bedrock, written for a Bedrock client.

use super::content::{read_blocks, write_part, Target};
use super::error::read_error;
use super::usage::{read_usage, write_usage};
use super::{finish_from_bedrock, finish_to_bedrock};
use crate::chat::{Invalid, Part, Reply};
use crate::json::{object, Loc, Obj};
use serde_json::{Map, Value};

/// Reads a Converse reply: `output.message.content` in order (every text block: Go kept the
/// last; reasoning as reasoning with its signature: Go wrapped it in `<think>` inside the
/// text; tool calls with `input` as JSON text), `stopReason` (with Claude's stop sequence
/// from `additionalModelResponseFields`) and `usage` with its cache counts apart. The body
/// names no id and no model: both are left empty for the caller (the `x-amzn-requestid`
/// header, the model asked for). An error body (`{"message"}`) is [`Invalid`] with its
/// message.
pub fn read_reply(body: &Value) -> Result<Reply, Invalid> {
    let root = Obj::of(body, Loc::Root).ok_or_else(|| Invalid::field("reply body", "a JSON object"))?;
    if root.get("output").is_none() {
        if let Some((kind, message)) = read_error(body) {
            return Err(Invalid(format!("{kind}: {message}")));
        }
    }
    let output = root.req_obj("output")?;
    let message = output.req_obj("message")?;
    let mut reply = Reply::default();
    read_blocks(message.array("content")?.unwrap_or_default(), message.at("content"), &mut reply.parts)?;
    if let Some(reason) = root.str("stopReason")? {
        let sequence = match root.obj("additionalModelResponseFields")? {
            Some(fields) => fields.str("stop_sequence")?,
            None => None,
        };
        reply.finish = Some(finish_from_bedrock(reason, sequence));
    }
    if let Some(usage) = root.get("usage").and_then(read_usage) {
        reply.usage = usage;
    }
    Ok(reply)
}

/// Writes a Converse reply: `{output: {message: {role: assistant, content}}, stopReason,
/// usage, metrics}` (`latencyMs` 0: the gateway does not know the provider's). A reply
/// without a stop reason ended its turn: `tool_use` after tool calls, else `end_turn`.
pub fn write_reply(reply: &Reply) -> Value {
    let mut content = Vec::with_capacity(reply.parts.len());
    for part in &reply.parts {
        // A reply has no image by URL or of another format; nothing else can fail.
        let _ = write_part(part, Target::Reply, &mut content);
    }
    let called_tools = reply.parts.iter().any(|part| matches!(part, Part::ToolCall { .. }));
    let stop = match &reply.finish {
        Some(finish) => finish_to_bedrock(finish),
        None if called_tools => "tool_use",
        None => "end_turn",
    };
    let message = object([("role", "assistant".into()), ("content", Value::Array(content))]);
    let mut body = Map::new();
    body.insert("output".into(), object([("message", message)]));
    body.insert("stopReason".into(), stop.into());
    body.insert("usage".into(), write_usage(&reply.usage));
    body.insert("metrics".into(), object([("latencyMs", 0.into())]));
    if let Some(sequence) = reply.finish.as_ref().and_then(|f| f.sequence()) {
        body.insert("additionalModelResponseFields".into(), object([("stop_sequence", sequence.into())]));
    }
    Value::Object(body)
}
