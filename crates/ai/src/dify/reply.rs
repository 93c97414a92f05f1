//! A Dify app's blocking reply read into the canonical model (and written for a client of
//! Dify's API), and Dify's error bodies.

use super::{App, Kind};
use crate::chat::{FinishReason, Invalid, Part, Reply};
use crate::json::{object, Loc, Obj};
use crate::usage::Usage;
use serde_json::{Map, Value};

/// Reads a blocking reply of `app`: a Chat, Agent or Completion app's `{answer,
/// message_id, conversation_id, created_at, metadata: {usage}}`; a workflow's
/// `{workflow_run_id, data: {outputs, status, error, total_tokens, created_at}}`. The id is
/// the conversation's for Chat and Agent apps (as Go: the client continues it with the
/// `ConversationId` header), the message's for Completion apps, the run's for workflows. A
/// reply always ends with `stop`; Dify names no model (the caller sets the one it asked
/// for). An error body, or a failed run, is [`Invalid`] with its code and message.
pub fn read_reply(app: &App, body: &Value) -> Result<Reply, Invalid> {
    let root = Obj::of(body, Loc::Root).ok_or_else(|| Invalid::field("reply body", "a JSON object"))?;
    if let Some((code, message)) = read_error(body) {
        return Err(Invalid(format!("{code}: {message}")));
    }
    let mut reply = Reply { finish: Some(FinishReason::Stop), ..Reply::default() };
    if app.kind == Kind::Workflow {
        let data = root.req_obj("data")?;
        if let Some(message) = failure(&data)? {
            return Err(Invalid(format!("workflow run failed: {message}")));
        }
        reply.id = [root.str("workflow_run_id")?, data.str("id")?, data.str("workflow_id")?]
            .into_iter()
            .flatten()
            .find(|id| !id.is_empty())
            .unwrap_or_default()
            .to_string();
        reply.created = data.u64("created_at")?;
        let text = output(app, &data)?;
        if !text.is_empty() {
            reply.parts.push(Part::Text { text, cache: None });
        }
        reply.usage.total = data.u64("total_tokens")?;
        return Ok(reply);
    }
    let conversation = root.str("conversation_id")?.filter(|id| !id.is_empty());
    let message = root.str("message_id")?.or(root.str("id")?);
    reply.id = match (app.kind.converses(), conversation) {
        (true, Some(conversation)) => conversation,
        _ => message.unwrap_or_default(),
    }
    .to_string();
    reply.created = root.u64("created_at")?;
    let answer = root.str("answer")?.unwrap_or_default();
    if !answer.is_empty() {
        reply.parts.push(Part::Text { text: answer.to_string(), cache: None });
    }
    if let Some(metadata) = root.obj("metadata")? {
        reply.usage.update(metadata.value());
    }
    Ok(reply)
}

/// The message of a run that failed (`status: failed`, or an `error` and no outputs).
pub(super) fn failure(data: &Obj) -> Result<Option<String>, Invalid> {
    let error = data.str("error")?.filter(|e| !e.is_empty());
    match data.str("status")? {
        Some("failed" | "stopped") => Ok(Some(error.unwrap_or("the run did not succeed").to_string())),
        _ if data.get("outputs").is_none() => Ok(error.map(str::to_string)),
        _ => Ok(None),
    }
}

/// A run's answer: its output variable `app.output()` (the only output when none is
/// configured), a string as it is, any other value as its JSON text.
pub(super) fn output(app: &App, data: &Obj) -> Result<String, Invalid> {
    let Some(outputs) = data.obj("outputs")? else { return Ok(String::new()) };
    let Some(map) = outputs.value().as_object() else { return Ok(String::new()) };
    let value = match app.output() {
        "" if map.len() == 1 => map.values().next(),
        "" => Some(outputs.value()),
        name => map.get(name),
    };
    Ok(match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
    })
}

/// Writes the blocking reply of `app`: a message (`{event: message, message_id,
/// conversation_id, mode, answer, metadata: {usage}, created_at}`) or a workflow run
/// (`{workflow_run_id, task_id, data: {id, status: succeeded, outputs: {<output>: text},
/// total_tokens, created_at}}`). Reasoning and tool calls have no place in it.
pub fn write_reply(app: &App, reply: &Reply) -> Value {
    let (text, _, _) = reply.joined();
    let created = reply.created.unwrap_or(0);
    if app.kind == Kind::Workflow {
        let name = if app.output().is_empty() { "text" } else { app.output() };
        let mut outputs = Map::new();
        outputs.insert(name.to_string(), text.into());
        let data = object([
            ("id", reply.id.as_str().into()),
            ("status", "succeeded".into()),
            ("outputs", Value::Object(outputs)),
            ("error", Value::Null),
            ("total_tokens", reply.usage.total_tokens().into()),
            ("created_at", created.into()),
        ]);
        return object([("workflow_run_id", reply.id.as_str().into()), ("task_id", "".into()), ("data", data)]);
    }
    let mode = match app.kind {
        Kind::Completion => "completion",
        Kind::Agent => "agent-chat",
        Kind::Chat | Kind::Workflow => "chat",
    };
    let conversation = if app.kind.converses() { reply.id.as_str() } else { "" };
    object([
        ("event", "message".into()),
        ("message_id", reply.id.as_str().into()),
        ("conversation_id", conversation.into()),
        ("mode", mode.into()),
        ("answer", text.into()),
        ("metadata", object([("usage", write_usage(&reply.usage))])),
        ("created_at", created.into()),
    ])
}

/// Dify's usage: `{prompt_tokens, completion_tokens, total_tokens}`.
pub(super) fn write_usage(usage: &Usage) -> Value {
    let prompt = usage.prompt_tokens().unwrap_or(0);
    let completion = usage.output.unwrap_or(0);
    object([
        ("prompt_tokens", prompt.into()),
        ("completion_tokens", completion.into()),
        ("total_tokens", usage.total.unwrap_or_else(|| prompt.saturating_add(completion)).into()),
    ])
}

/// The code and message of a Dify error body (`{status, code, message}`; a proxy's
/// OpenAI-style `{error: {type, message}}` too). Any other body is `None`.
pub fn read_error(body: &Value) -> Option<(String, String)> {
    if let Some(error) = crate::openai::read_error(body) {
        return Some(error);
    }
    let text = |key: &str| body.get(key).and_then(Value::as_str).filter(|s| !s.is_empty());
    let (code, message) = (text("code")?, text("message").unwrap_or_default());
    // A reply has an answer or a run; an error (a stream's `error` event too) has neither.
    let reply = ["answer", "data"].iter().any(|key| body.get(*key).is_some_and(|v| !v.is_null()));
    let error_event = body.get("event").and_then(Value::as_str) == Some("error");
    (error_event || !reply).then(|| (code.to_string(), message.to_string()))
}

/// A Dify error body with `message`, its code `kind` when it is Dify's, else the one nearest
/// another protocol's error type.
pub fn write_error(kind: &str, message: &str) -> Value {
    let code = code_for_kind(kind);
    object([("status", status_for_code(code).into()), ("code", code.into()), ("message", message.into())])
}

/// The Dify code for an error type of any protocol.
fn code_for_kind(kind: &str) -> &str {
    match kind {
        "invalid_request_error" | "request_too_large" | "INVALID_ARGUMENT" | "InvalidParameter" => "invalid_param",
        "authentication_error" | "invalid_api_key" | "UNAUTHENTICATED" | "InvalidApiKey" => "unauthorized",
        "permission_error" | "PERMISSION_DENIED" | "AccessDenied" => "forbidden",
        "not_found_error" | "NOT_FOUND" | "ModelNotFound" => "not_found",
        "rate_limit_error" | "RESOURCE_EXHAUSTED" | "Throttling" => "too_many_requests",
        "billing_error" | "insufficient_quota" => "provider_quota_exceeded",
        "" | "api_error" | "server_error" | "overloaded_error" | "INTERNAL" | "InternalError" => {
            "internal_server_error"
        }
        other => other,
    }
}

/// The HTTP status of a Dify code.
fn status_for_code(code: &str) -> u16 {
    match code {
        "invalid_param"
        | "app_unavailable"
        | "provider_not_initialize"
        | "provider_quota_exceeded"
        | "model_currently_not_support"
        | "completion_request_error"
        | "bad_request" => 400,
        "unauthorized" => 401,
        "forbidden" => 403,
        "not_found" => 404,
        "too_many_requests" => 429,
        _ => 500,
    }
}

/// The code Dify's errors have for an HTTP status, for an error body that says none.
pub(crate) fn code_for_status(status: u16) -> &'static str {
    match status {
        400 | 413 | 422 => "invalid_param",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        429 => "too_many_requests",
        _ => "internal_server_error",
    }
}
