//! The canonical model written as a DashScope generation request:
//! `{model, input: {messages}, parameters}`.

use super::content::{image_item, joined_text, text_item, write_tool_call};
use super::is_multimodal;
use crate::chat::{Message, Part, Request, Role, Tool, ToolChoice};
use crate::json::object;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// Nearest `top_p` values DashScope takes: it refuses 0 and 1 (Go's clamp, kept).
const TOP_P_MIN: f64 = 0.000_001;
const TOP_P_MAX: f64 = 0.999_999;

/// Writes a DashScope request.
///
/// - Messages: the system parts as ONE leading `system` message (their text joined with a
///   blank line: Qwen wants it first and single); a user message's tool results as `role:
///   tool` messages first, with `tool_call_id` and the function's `name` (Go lost the id),
///   then its text (joined with a blank line) and images; an assistant message's text, its
///   `reasoning_content` (thinking models hosted by DashScope want it back within a tool loop;
///   others ignore it) and `tool_calls`.
/// - The [`is_multimodal`] shape writes every content but a tool result's as a list of
///   `{text}` / `{image}` items (an inline image as a `data:` URL); the text shape, strings.
/// - `parameters`: `result_format: "message"`, `incremental_output: true` when streaming
///   (thinking models stream only so, and tool calls stream so too: Go turned it off with
///   tools), `max_tokens`, `temperature`, `top_p` (clamped into (0, 1), only when given),
///   `top_k`, `stop`, `enable_thinking` with `thinking_budget` for a reasoning request, and
///   with tools `tools`, `tool_choice`, `parallel_tool_calls`.
///
/// `stream` is not written: it is a header ([`super::wants_stream`]). What the model does not
/// carry (`n`, `seed`, penalties, `enable_search`) is left to the caller,
/// who edits the written value.
pub fn write_request(request: &Request) -> Value {
    let multimodal = is_multimodal(request);
    let names: HashMap<&str, &str> = request
        .messages
        .iter()
        .flat_map(|m| m.parts.iter())
        .filter_map(|p| match p {
            Part::ToolCall { id, name, .. } => Some((id.as_str(), name.as_str())),
            _ => None,
        })
        .collect();
    let mut messages = Vec::with_capacity(request.messages.len() + 1);
    let system = joined_text(&request.system, "\n\n");
    if !system.is_empty() {
        let content = if multimodal { Value::Array(vec![text_item(&system)]) } else { system.into() };
        messages.push(object([("role", "system".into()), ("content", content)]));
    }
    for message in &request.messages {
        match message.role {
            Role::User => user_messages(message, multimodal, &names, &mut messages),
            Role::Assistant => messages.push(assistant_message(message, multimodal)),
        }
    }
    object([
        ("model", request.model.as_str().into()),
        ("input", object([("messages", Value::Array(messages))])),
        ("parameters", Value::Object(parameters(request))),
    ])
}

/// A user message: its tool results (each a `tool` message, which must follow the assistant's
/// calls), then the rest as one `user` message: its texts joined with a blank line, or in the
/// multimodal shape its images and texts as items in their order.
fn user_messages(message: &Message, multimodal: bool, names: &HashMap<&str, &str>, out: &mut Vec<Value>) {
    let mut items = Vec::new();
    let mut texts = Vec::new();
    let mut has_results = false;
    for part in &message.parts {
        match part {
            Part::ToolResult { call_id, content, .. } => {
                has_results = true;
                let mut tool = Map::new();
                tool.insert("role".into(), "tool".into());
                tool.insert("content".into(), joined_text(content, "\n").into());
                tool.insert("tool_call_id".into(), call_id.as_str().into());
                if let Some(name) = names.get(call_id.as_str()) {
                    tool.insert("name".into(), (*name).into());
                }
                out.push(Value::Object(tool));
            }
            Part::Text { text, .. } => {
                texts.push(text.as_str());
                items.push(text_item(text));
            }
            Part::Image { source, .. } => items.push(image_item(source)),
            // Reasoning and tool calls are the model's, never the user's.
            Part::Reasoning { .. } | Part::ToolCall { .. } => {}
        }
    }
    if items.is_empty() && has_results {
        return;
    }
    let content = if multimodal { Value::Array(items) } else { Value::from(texts.join("\n\n")) };
    let mut user = object([("role", "user".into()), ("content", content)]);
    add_name(&mut user, message);
    out.push(user);
}

/// An assistant message: its text (joined with nothing, as a streaming client saw it; `""` or
/// no item when it only calls tools), `reasoning_content`, `tool_calls`.
fn assistant_message(message: &Message, multimodal: bool) -> Value {
    let text = joined_text(&message.parts, "");
    let mut reasoning = String::new();
    let mut calls = Vec::new();
    for part in &message.parts {
        match part {
            Part::Reasoning { text, .. } => reasoning.push_str(text),
            Part::ToolCall { id, name, arguments } => calls.push(write_tool_call(id, name, arguments)),
            Part::Text { .. } | Part::Image { .. } | Part::ToolResult { .. } => {}
        }
    }
    let content = match (multimodal, text.is_empty()) {
        (false, _) => Value::from(text),
        (true, true) => Value::Array(Vec::new()),
        (true, false) => Value::Array(vec![text_item(&text)]),
    };
    let mut assistant = Map::new();
    assistant.insert("role".into(), "assistant".into());
    assistant.insert("content".into(), content);
    if !reasoning.is_empty() {
        assistant.insert("reasoning_content".into(), reasoning.into());
    }
    if !calls.is_empty() {
        assistant.insert("tool_calls".into(), Value::Array(calls));
    }
    let mut assistant = Value::Object(assistant);
    add_name(&mut assistant, message);
    assistant
}

fn add_name(value: &mut Value, message: &Message) {
    if let (Some(name), Value::Object(map)) = (&message.name, value) {
        map.insert("name".into(), name.as_str().into());
    }
}

/// `parameters`, keys only for what was given.
fn parameters(request: &Request) -> Map<String, Value> {
    let params = &request.params;
    let mut out = Map::new();
    out.insert("result_format".into(), "message".into());
    if request.stream {
        out.insert("incremental_output".into(), true.into());
    }
    if let Some(max) = params.max_tokens {
        out.insert("max_tokens".into(), max.into());
    }
    if let Some(temperature) = &params.temperature {
        out.insert("temperature".into(), temperature.clone());
    }
    if let Some(top_p) = &params.top_p {
        out.insert("top_p".into(), clamp_top_p(top_p));
    }
    if let Some(top_k) = &params.top_k {
        out.insert("top_k".into(), top_k.clone());
    }
    if !params.stop.is_empty() {
        out.insert("stop".into(), params.stop.iter().map(|s| Value::from(s.as_str())).collect());
    }
    if let Some(reasoning) = &params.reasoning {
        out.insert("enable_thinking".into(), true.into());
        out.insert("thinking_budget".into(), reasoning.budget().into());
    }
    if let Some(format) = &params.response_format {
        out.insert("response_format".into(), format.clone());
    }
    if !request.tools.is_empty() {
        out.insert("tools".into(), request.tools.iter().map(tool).collect());
        if let Some(choice) = &request.tool_choice {
            out.insert("tool_choice".into(), tool_choice(choice, &request.tools));
        }
        if let Some(parallel) = params.parallel_tool_calls {
            out.insert("parallel_tool_calls".into(), parallel.into());
        }
    }
    out
}

/// `top_p` as given, or the nearest value DashScope takes.
fn clamp_top_p(top_p: &Value) -> Value {
    match top_p.as_f64() {
        Some(p) if p < TOP_P_MIN => TOP_P_MIN.into(),
        Some(p) if p > TOP_P_MAX => TOP_P_MAX.into(),
        _ => top_p.clone(),
    }
}

/// `{type: function, function: {name, description?, parameters}}`.
fn tool(tool: &Tool) -> Value {
    let parameters = match &tool.parameters {
        Value::Null => object([("type", "object".into()), ("properties", Value::Object(Map::new()))]),
        schema => schema.clone(),
    };
    let mut function = Map::new();
    function.insert("name".into(), tool.name.as_str().into());
    if let Some(description) = &tool.description {
        function.insert("description".into(), description.as_str().into());
    }
    function.insert("parameters".into(), parameters);
    object([("type", "function".into()), ("function", Value::Object(function))])
}

/// DashScope takes `auto`, `none` and `{type: function, function: {name}}`. "Must call one"
/// has no word of its own: with one tool it is that tool, else `auto` (the model may then
/// answer without a call).
fn tool_choice(choice: &ToolChoice, tools: &[Tool]) -> Value {
    let function = |name: &str| object([("type", "function".into()), ("function", object([("name", name.into())]))]);
    match (choice, tools) {
        (ToolChoice::Auto, _) => "auto".into(),
        (ToolChoice::None, _) => "none".into(),
        (ToolChoice::Tool(name), _) => function(name),
        (ToolChoice::Required, [only]) => function(&only.name),
        (ToolChoice::Required, _) => "auto".into(),
    }
}
