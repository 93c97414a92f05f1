//! The canonical model written as an Anthropic messages request (another client → Claude).

use super::blocks::{image_block, text_block, thinking_block, tool_use_block};
use super::budget::Budget;
use crate::chat::{Message, Params, Part, Request, Role, Tool, ToolChoice};
use crate::json::object;
use serde_json::{Map, Value};

/// The text of the user turn put first when a conversation does not start with one
/// (Anthropic on Bedrock and Vertex refuses "first message must use the user role"; a
/// system-only OpenAI request has no message at all). Text blocks may not be blank.
const OPENING_TURN: &str = "(continued)";

/// Writes a `/v1/messages` request body.
///
/// - `max_tokens` is always sent: as given, else 4096; with thinking, raised or the budget
///   shrunk so the budget fits below it (`budget.rs`).
/// - `temperature` and `top_p` are sent as given, `0` included (Go dropped zeros). With
///   thinking on, Anthropic takes neither `temperature` nor `top_k` and only a `top_p` of at
///   least 0.95: `temperature` and `top_k` are left out and `top_p` raised to 0.95.
/// - Every system part is kept: a lone plain text as the `system` string (the form every
///   Anthropic-compatible endpoint takes), several or cached ones as text blocks, so each keeps
///   its `cache_control` and its boundary (Go kept only the last system message).
/// - Messages: consecutive messages of one role are merged into one turn (Anthropic wants
///   turns to alternate, and tool results in the one user turn right after the tool calls),
///   a user turn's tool results come before its other blocks (Anthropic's rule), and a turn
///   is put first when the first is not a user's (`(continued)`). Blank texts are left
///   out (Anthropic refuses them), and so is reasoning without a signature (text another
///   provider reasoned: Anthropic refuses a thinking block it did not sign).
/// - Tool calls: `input` is the arguments' JSON object, `{}` when they are not one (Anthropic
///   refuses any other `input`, and the result that follows says what happened).
/// - `tool_choice`: auto → `auto`, required → `any`, none → `none`, a tool → `{type: tool,
///   name}`; `parallel_tool_calls: false` → `disable_parallel_tool_use: true` (Go converted
///   none of it). Sent only with tools, which Anthropic requires for it.
/// - Reasoning → `thinking: {type: enabled, budget_tokens}`, unless `tool_choice` forces a
///   call (Anthropic refuses both together, and the caller relies on the call) or the
///   conversation is in a tool loop whose tool calls came without a signed thinking block
///   before them (from another provider), which Anthropic refuses with thinking on.
/// - The user → `metadata.user_id`.
pub fn write_request(request: &Request) -> Value {
    let params = &request.params;
    let mut budget = Budget::of(request);
    let messages = write_messages(&request.messages);
    if !thinking_fits(&messages) {
        budget.thinking = None;
    }
    let mut body = Map::new();
    body.insert("model".into(), request.model.as_str().into());
    body.insert("max_tokens".into(), budget.max_tokens.into());
    if let Some(system) = write_system(&request.system) {
        body.insert("system".into(), system);
    }
    body.insert("messages".into(), Value::Array(messages));
    if !request.tools.is_empty() {
        body.insert("tools".into(), request.tools.iter().map(write_tool).collect());
        if let Some(choice) = write_tool_choice(request.tool_choice.as_ref(), params.parallel_tool_calls) {
            body.insert("tool_choice".into(), choice);
        }
    }
    write_sampling(params, budget.thinking.is_some(), &mut body);
    if !params.stop.is_empty() {
        body.insert("stop_sequences".into(), params.stop.iter().map(|s| Value::from(s.as_str())).collect());
    }
    if request.stream {
        body.insert("stream".into(), true.into());
    }
    if let Some(budget) = budget.thinking {
        body.insert("thinking".into(), object([("type", "enabled".into()), ("budget_tokens", budget.into())]));
    }
    if let Some(user) = &params.user {
        body.insert("metadata".into(), object([("user_id", user.as_str().into())]));
    }
    Value::Object(body)
}

/// `temperature`, `top_p` and `top_k`, as Anthropic takes them with thinking on or off.
fn write_sampling(params: &Params, thinking: bool, body: &mut Map<String, Value>) {
    if let Some(top_p) = &params.top_p {
        let top_p = match top_p.as_f64() {
            Some(p) if thinking && p < 0.95 => Value::from(0.95),
            _ => top_p.clone(),
        };
        body.insert("top_p".into(), top_p);
    }
    if thinking {
        return;
    }
    if let Some(temperature) = &params.temperature {
        body.insert("temperature".into(), temperature.clone());
    }
    if let Some(top_k) = &params.top_k {
        body.insert("top_k".into(), top_k.clone());
    }
}

/// Whether `text` can be a text block (Anthropic refuses empty and blank ones).
fn has_text(text: &str) -> bool {
    !text.trim().is_empty()
}

fn write_system(system: &[Part]) -> Option<Value> {
    // Only text can be a system prompt; an image there has nowhere to go.
    let texts: Vec<(&str, Option<&Value>)> = system
        .iter()
        .filter_map(|part| match part {
            Part::Text { text, cache } if has_text(text) => Some((text.as_str(), cache.as_ref())),
            _ => None,
        })
        .collect();
    match texts.as_slice() {
        [] => None,
        [(text, None)] => Some((*text).into()),
        _ => Some(texts.iter().map(|(text, cache)| text_block(text, *cache)).collect()),
    }
}

fn write_messages(messages: &[Message]) -> Vec<Value> {
    let mut turns: Vec<(Role, Vec<Value>)> = Vec::with_capacity(messages.len());
    for message in messages {
        let blocks = message_blocks(message);
        if blocks.is_empty() {
            continue;
        }
        match turns.last_mut() {
            Some((role, last)) if *role == message.role => last.extend(blocks),
            _ => turns.push((message.role, blocks)),
        }
    }
    if turns.first().map(|(role, _)| *role) != Some(Role::User) {
        turns.insert(0, (Role::User, vec![text_block(OPENING_TURN, None)]));
    }
    turns
        .into_iter()
        .map(|(role, blocks)| {
            let (role, blocks) = match role {
                Role::User => ("user", results_first(blocks)),
                Role::Assistant => ("assistant", blocks),
            };
            object([("role", role.into()), ("content", Value::Array(blocks))])
        })
        .collect()
}

/// Whether Anthropic takes thinking with these messages: with thinking on, the assistant turn
/// whose tool calls the last user turn answers must start with a (signed) thinking block,
/// and one from another provider has none (Anthropic: "a final assistant message must start
/// with a thinking block ... To avoid this requirement, disable thinking").
fn thinking_fits(messages: &[Value]) -> bool {
    let [.., assistant, user] = messages else { return true };
    let role = |message: &Value| message.get("role").and_then(Value::as_str).map(str::to_string);
    let answers_tools = role(user).as_deref() == Some("user") && block_types(user).any(|kind| kind == "tool_result");
    !answers_tools || block_types(assistant).next() == Some("thinking")
}

/// The `type` of each content block of a written message.
fn block_types(message: &Value) -> impl Iterator<Item = &str> {
    let blocks = message.get("content").and_then(Value::as_array);
    blocks.into_iter().flatten().filter_map(|block| block.get("type").and_then(Value::as_str))
}

/// The blocks with the `tool_result` ones first, each group in its order.
fn results_first(blocks: Vec<Value>) -> Vec<Value> {
    let (mut results, others): (Vec<Value>, Vec<Value>) =
        blocks.into_iter().partition(|block| block.get("type").and_then(Value::as_str) == Some("tool_result"));
    results.extend(others);
    results
}

fn message_blocks(message: &Message) -> Vec<Value> {
    let mut blocks = Vec::with_capacity(message.parts.len());
    for part in &message.parts {
        match part {
            Part::Text { text, cache } if has_text(text) => blocks.push(text_block(text, cache.as_ref())),
            Part::Text { .. } => {}
            Part::Image { source, cache } => blocks.push(image_block(source, cache.as_ref())),
            Part::Reasoning { text, signature: Some(signature) } => blocks.push(thinking_block(text, signature)),
            Part::Reasoning { signature: None, .. } => {}
            Part::ToolCall { id, name, arguments } => blocks.push(tool_use_block(id, name, arguments)),
            Part::ToolResult { call_id, content, is_error } => {
                blocks.push(tool_result_block(call_id, content, *is_error))
            }
        }
    }
    blocks
}

/// `{"type": "tool_result", "tool_use_id", "content"?, "is_error"?}`: the content as text and
/// image blocks (the only kinds a tool result holds), left out when there is none.
fn tool_result_block(call_id: &str, content: &[Part], is_error: bool) -> Value {
    let mut block = Map::new();
    block.insert("type".into(), "tool_result".into());
    block.insert("tool_use_id".into(), call_id.into());
    let content: Vec<Value> = content
        .iter()
        .filter_map(|part| match part {
            Part::Text { text, cache } if has_text(text) => Some(text_block(text, cache.as_ref())),
            Part::Image { source, cache } => Some(image_block(source, cache.as_ref())),
            _ => None,
        })
        .collect();
    if !content.is_empty() {
        block.insert("content".into(), Value::Array(content));
    }
    if is_error {
        block.insert("is_error".into(), true.into());
    }
    Value::Object(block)
}

/// `{"name", "description"?, "input_schema", "cache_control"?}`.
fn write_tool(tool: &Tool) -> Value {
    let mut out = Map::new();
    out.insert("name".into(), tool.name.as_str().into());
    if let Some(description) = &tool.description {
        out.insert("description".into(), description.as_str().into());
    }
    out.insert("input_schema".into(), tool.object_schema());
    if let Some(cache) = &tool.cache {
        out.insert("cache_control".into(), cache.clone());
    }
    Value::Object(out)
}

fn write_tool_choice(choice: Option<&ToolChoice>, parallel: Option<bool>) -> Option<Value> {
    let no_parallel = parallel == Some(false);
    let mut out = Map::new();
    match choice {
        None if no_parallel => out.insert("type".into(), "auto".into()),
        None => return None,
        Some(ToolChoice::Auto) => out.insert("type".into(), "auto".into()),
        Some(ToolChoice::Required) => out.insert("type".into(), "any".into()),
        // `none` takes no `disable_parallel_tool_use`: no call, parallel or not.
        Some(ToolChoice::None) => return Some(object([("type", "none".into())])),
        Some(ToolChoice::Tool(name)) => {
            out.insert("name".into(), name.as_str().into());
            out.insert("type".into(), "tool".into())
        }
    };
    if no_parallel {
        out.insert("disable_parallel_tool_use".into(), true.into());
    }
    Some(Value::Object(out))
}
