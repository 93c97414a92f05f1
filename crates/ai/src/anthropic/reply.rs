//! A whole (not streamed) Anthropic message: read from Claude, written for an Anthropic
//! client.

use super::blocks::{read_blocks, text_block, thinking_block, tool_use_block, Context};
use super::error::read_error;
use super::usage::write_usage;
use crate::chat::{FinishReason, Invalid, Part, Reply};
use crate::json::{object, Loc, Obj};
use crate::usage::Usage;
use serde_json::Value;

/// Reads a `/v1/messages` reply body: every content block in order (every text block: Go
/// kept only the last; thinking with its signature; tool calls with `input` as JSON text;
/// redacted thinking and server-side tool blocks dropped), `stop_reason` with
/// `stop_sequence`, the usage with its cache counts, `id` and `model`.
///
/// An error body (`{"type": "error", "error": {...}}`) is [`Invalid`] with its type and
/// message: the caller answers it as an error, not as an empty reply.
pub fn read_reply(body: &Value) -> Result<Reply, Invalid> {
    let Some(root) = Obj::of(body, Loc::Root) else {
        return Err(Invalid::field("reply body", "a JSON object"));
    };
    if let Some((kind, message)) = read_error(body) {
        return Err(Invalid(format!("{kind}: {message}")));
    }
    let content_at = root.at("content");
    let Some(content) = root.array("content")? else {
        return Err(content_at.invalid("an array of content blocks"));
    };
    let finish = match root.str("stop_reason")? {
        Some(reason) => Some(FinishReason::from_anthropic(reason, root.str("stop_sequence")?)),
        None => None,
    };
    let mut usage = Usage::default();
    usage.update(body);
    Ok(Reply {
        id: root.str("id")?.unwrap_or_default().to_string(),
        model: root.str("model")?.unwrap_or_default().to_string(),
        parts: read_blocks(content, content_at, Context::Message)?,
        finish,
        usage,
        created: None,
    })
}

/// Writes a `/v1/messages` reply: `{id, type: message, role: assistant, model, content,
/// stop_reason, stop_sequence, usage}`.
///
/// Content keeps the reply's order: reasoning as `thinking` blocks (signature `""` when the
/// provider gave none: Anthropic's clients require the field), every non-empty text as a
/// `text` block, tool calls as `tool_use` blocks with `input` parsed from the arguments.
/// Usage: `input_tokens` without the cached tokens, which are counted apart
/// (Go counted them in `input_tokens`).
pub fn write_reply(reply: &Reply) -> Value {
    let mut content = Vec::with_capacity(reply.parts.len());
    for part in &reply.parts {
        match part {
            Part::Reasoning { text, signature } => {
                content.push(thinking_block(text, signature.as_deref().unwrap_or_default()));
            }
            Part::Text { text, .. } if !text.is_empty() => content.push(text_block(text, None)),
            Part::ToolCall { id, name, arguments } => content.push(tool_use_block(id, name, arguments)),
            Part::Text { .. } | Part::Image { .. } | Part::ToolResult { .. } => {}
        }
    }
    let called_tools = reply.parts.iter().any(|part| matches!(part, Part::ToolCall { .. }));
    object([
        ("id", reply.id.as_str().into()),
        ("type", "message".into()),
        ("role", "assistant".into()),
        ("model", reply.model.as_str().into()),
        ("content", Value::Array(content)),
        ("stop_reason", stop_reason(reply.finish.as_ref(), called_tools).into()),
        ("stop_sequence", reply.finish.as_ref().and_then(FinishReason::sequence).into()),
        ("usage", write_usage(&reply.usage)),
    ])
}

/// Anthropic's `stop_reason`. A provider that gave none (some OpenAI-compatible ones end a
/// stream without a `finish_reason`) is taken to have finished its turn: `tool_use` when it
/// called tools (so the client runs them), else `end_turn`.
pub(super) fn stop_reason(finish: Option<&FinishReason>, called_tools: bool) -> &str {
    match finish {
        Some(finish) => finish.to_anthropic(),
        None if called_tools => "tool_use",
        None => "end_turn",
    }
}
