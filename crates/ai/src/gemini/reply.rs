//! A whole `generateContent` reply: read from Gemini, written for a Gemini client.

use super::error::read_error;
use super::parts::{read_parts, write_parts, Target};
use super::usage::{read_usage, write_usage};
use super::{finish_from_gemini, finish_to_gemini};
use crate::chat::{FinishReason, Invalid, Part, Reply};
use crate::json::{object, Loc, Obj};
use serde_json::{Map, Value};

/// Reads a `generateContent` reply: the first candidate's parts in order (thoughts as
/// reasoning, `functionCall`s as tool calls), its `finishReason` (`STOP` after tool calls is
/// `tool_calls`, as OpenAI clients expect), `usageMetadata`, `responseId` and `modelVersion`.
/// A prompt Gemini blocked (no candidate, `promptFeedback.blockReason`) is an empty reply
/// filtered for content. An error body is [`Invalid`] with its status and message.
///
/// Only the first candidate is read: the model has one answer per reply, and ai-proxy does
/// not ask for more (`candidateCount`).
pub fn read_reply(body: &Value) -> Result<Reply, Invalid> {
    let root = Obj::of(body, Loc::Root).ok_or_else(|| Invalid::field("reply body", "a JSON object"))?;
    if let Some((status, message)) = read_error(body) {
        return Err(Invalid(format!("{status}: {message}")));
    }
    let mut reply = Reply {
        id: root.str("responseId")?.unwrap_or_default().to_string(),
        model: root.str("modelVersion")?.unwrap_or_default().to_string(),
        usage: read_usage(body).unwrap_or_default(),
        ..Reply::default()
    };
    let candidates_at = root.at("candidates");
    let Some(candidate) = root.array("candidates")?.and_then(|c| c.first()) else {
        let blocked = root.obj("promptFeedback")?.map(|f| f.str("blockReason")).transpose()?.flatten();
        if blocked.is_some() {
            reply.finish = Some(FinishReason::ContentFilter);
            return Ok(reply);
        }
        return Err(candidates_at.invalid("an array with a candidate"));
    };
    let at = candidates_at.index(0);
    let candidate = Obj::new(candidate, at)?;
    if let Some(content) = candidate.obj("content")? {
        let parts = content.array("parts")?.unwrap_or_default();
        reply.parts = read_parts(parts, content.at("parts"), &mut 0)?;
    }
    let called = reply.parts.iter().any(|p| matches!(p, Part::ToolCall { .. }));
    reply.finish = candidate.str("finishReason")?.map(|reason| finish_from_gemini(reason, called));
    Ok(reply)
}

/// Writes a `generateContent` reply: one candidate (`role: model`, the parts, `finishReason`,
/// `index: 0`), `usageMetadata`, `modelVersion` and `responseId`.
pub fn write_reply(reply: &Reply) -> Value {
    let parts = write_parts(&reply.parts, Target::Reply, &|_| None);
    let mut candidate = Map::new();
    candidate.insert("content".into(), object([("role", "model".into()), ("parts", Value::Array(parts))]));
    if let Some(finish) = &reply.finish {
        candidate.insert("finishReason".into(), finish_to_gemini(finish).into());
    }
    candidate.insert("index".into(), 0.into());
    let mut body = Map::new();
    body.insert("candidates".into(), Value::Array(vec![Value::Object(candidate)]));
    if let Some(usage) = write_usage(&reply.usage) {
        body.insert("usageMetadata".into(), usage);
    }
    body.insert("modelVersion".into(), reply.model.as_str().into());
    body.insert("responseId".into(), reply.id.as_str().into());
    Value::Object(body)
}
