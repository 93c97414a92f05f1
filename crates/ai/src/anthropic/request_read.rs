//! An Anthropic messages request read into the canonical model (Anthropic client → another
//! provider).

use super::billing::strip_cch;
use super::blocks::{read_content, read_system_blocks, Context};
use crate::chat::{Invalid, Message, Params, Part, Reasoning, Request, Role, Tool, ToolChoice};
use crate::json::{Loc, Obj};
use serde_json::Value;

/// Reads a `/v1/messages` request body.
///
/// Kept: `model` (empty when absent: model mapping may name one), `system` (a string, or text blocks with their `cache_control`; Claude
/// Code's billing line loses its per-request `cch`), every message's text, images (base64
/// and URL sources), tool calls (`input` as JSON text), tool results (string or blocks,
/// `is_error`) and thinking (with its signature); client tools with their `cache_control`;
/// `tool_choice` (`any` is [`ToolChoice::Required`]: Go passed `any` on to OpenAI, which has
/// no such value) with `disable_parallel_tool_use`; `max_tokens`, `temperature`, `top_p`,
/// `top_k` (as JSON numbers), `stop_sequences`, `stream`, `thinking` and
/// `metadata.user_id`.
///
/// Dropped: `redacted_thinking` and `document` blocks and server-side tool exchanges (no
/// other provider can read them), and server tools (`{"type": "web_search_20250305", ...}`):
/// they run on Anthropic's side, so no other provider has them; the request works without.
pub fn read_request(body: &Value) -> Result<Request, Invalid> {
    let body = Obj::of(body, Loc::Root).ok_or_else(|| Invalid::field("request body", "a JSON object"))?;
    let stream = body.bool("stream")?.unwrap_or(false);
    let (tool_choice, parallel_tool_calls) = read_tool_choice(&body)?;
    Ok(Request {
        model: body.str("model")?.unwrap_or_default().to_string(),
        system: read_system(&body)?,
        messages: read_messages(&body)?,
        tools: read_tools(&body)?,
        tool_choice,
        params: Params {
            max_tokens: body.u64("max_tokens")?,
            temperature: body.number("temperature")?,
            top_p: body.number("top_p")?,
            top_k: body.number("top_k")?,
            stop: read_stop_sequences(&body)?,
            reasoning: read_thinking(&body)?,
            parallel_tool_calls,
            user: match body.obj("metadata")? {
                Some(metadata) => metadata.str("user_id")?.map(str::to_string),
                None => None,
            },
            // An Anthropic client always gets the usage at the end of a stream: an OpenAI
            // provider must be asked for it.
            include_usage: stream.then_some(true),
            response_format: None,
        },
        stream,
    })
}

/// `system`: a string, or an array of text blocks.
fn read_system(body: &Obj) -> Result<Vec<Part>, Invalid> {
    let texts = match body.get("system") {
        None => return Ok(Vec::new()),
        Some(Value::String(text)) if text.is_empty() => Vec::new(),
        Some(Value::String(text)) => vec![(text.clone(), None)],
        Some(blocks) => read_system_blocks(blocks, body.at("system"))?,
    };
    Ok(texts.into_iter().map(|(text, cache)| Part::Text { text: strip_cch(&text), cache }).collect())
}

fn read_messages(body: &Obj) -> Result<Vec<Message>, Invalid> {
    let messages_at = body.at("messages");
    let Some(messages) = body.array("messages")? else {
        return Err(messages_at.invalid("an array of messages"));
    };
    let mut out = Vec::with_capacity(messages.len());
    for (index, message) in messages.iter().enumerate() {
        let at = messages_at.index(index);
        let message = Obj::of(message, at).ok_or_else(|| at.invalid("a message object"))?;
        let role = match message.req_str("role") {
            Ok("user") => Role::User,
            Ok("assistant") => Role::Assistant,
            _ => return Err(message.at("role").invalid("user or assistant")),
        };
        let content_at = message.at("content");
        let Some(content) = message.get("content") else {
            return Err(content_at.invalid("a string or an array of content blocks"));
        };
        out.push(Message { role, parts: read_content(content, content_at, Context::Message)?, name: None });
    }
    Ok(out)
}

/// Client tools (`type` absent or `custom`); server tools are dropped.
fn read_tools(body: &Obj) -> Result<Vec<Tool>, Invalid> {
    let mut tools = Vec::new();
    let tools_at = body.at("tools");
    for (index, tool) in body.array("tools")?.into_iter().flatten().enumerate() {
        let at = tools_at.index(index);
        let tool = Obj::of(tool, at).ok_or_else(|| at.invalid("a tool object"))?;
        if !matches!(tool.str("type")?, None | Some("custom")) {
            continue;
        }
        tools.push(Tool {
            name: tool.req_str("name")?.to_string(),
            description: tool.str("description")?.map(str::to_string),
            parameters: tool.req_obj("input_schema")?.value().clone(),
            cache: tool.cache_control()?,
        });
    }
    Ok(tools)
}

/// `tool_choice` and, from its `disable_parallel_tool_use`, whether parallel calls are off.
fn read_tool_choice(body: &Obj) -> Result<(Option<ToolChoice>, Option<bool>), Invalid> {
    let Some(choice) = body.obj("tool_choice")? else { return Ok((None, None)) };
    let kind = match choice.req_str("type")? {
        "auto" => ToolChoice::Auto,
        "any" => ToolChoice::Required,
        "none" => ToolChoice::None,
        "tool" => ToolChoice::Tool(choice.req_str("name")?.to_string()),
        _ => return Err(choice.at("type").invalid("auto, any, none or tool")),
    };
    // Only `true` says something OpenAI's default (parallel calls allowed) does not.
    let parallel = choice.bool("disable_parallel_tool_use")?.filter(|disabled| *disabled).map(|_| false);
    Ok((Some(kind), parallel))
}

fn read_stop_sequences(body: &Obj) -> Result<Vec<String>, Invalid> {
    let mut stop = Vec::new();
    let at = body.at("stop_sequences");
    for (index, sequence) in body.array("stop_sequences")?.into_iter().flatten().enumerate() {
        let Some(sequence) = sequence.as_str() else {
            return Err(at.index(index).invalid("a string"));
        };
        stop.push(sequence.to_string());
    }
    Ok(stop)
}

/// `thinking`: `enabled` with its budget; `adaptive` (the model decides, guided by
/// `output_config.effort`); `disabled` is no reasoning.
fn read_thinking(body: &Obj) -> Result<Option<Reasoning>, Invalid> {
    let Some(thinking) = body.obj("thinking")? else { return Ok(None) };
    match thinking.req_str("type")? {
        "enabled" => {
            let Some(budget) = thinking.u64("budget_tokens")? else {
                return Err(thinking.at("budget_tokens").invalid("a non-negative integer"));
            };
            Ok(Some(Reasoning { effort: None, budget_tokens: Some(budget) }))
        }
        "adaptive" => {
            let effort = match body.obj("output_config")? {
                Some(config) => config.str("effort")?.map(str::to_string),
                None => None,
            };
            Ok(Some(Reasoning { effort, budget_tokens: None }))
        }
        "disabled" => Ok(None),
        _ => Err(thinking.at("type").invalid("enabled, adaptive or disabled")),
    }
}
