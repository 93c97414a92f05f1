//! The canonical model written as an OpenAI chat completions request, for OpenAI and the many
//! providers that speak its protocol (DeepSeek, Qwen, Moonshot, vLLM, Groq, ...).
//!
//! Where providers differ, the form the most of them accept is written:
//! - the system parts become ONE leading `system` message: several system messages, or one
//!   after another turn, are refused by the chat templates of many open models (Mistral,
//!   Llama, Qwen under vLLM: "roles must alternate" / "system message must be first"). Its
//!   content is the parts' text joined with a blank line, or, when a part carries
//!   `cache_control`, the parts themselves (so an OpenAI-compatible front of Claude keeps the
//!   cache breakpoints).
//! - an assistant turn's text is one string (joined with nothing, as a streaming client saw
//!   it), `null` when the turn is only tool calls;
//! - `tool_choice` and `parallel_tool_calls` only with tools (OpenAI refuses them otherwise);
//! - `max_tokens`, which every compatible provider knows (OpenAI's reasoning models want
//!   `max_completion_tokens`: rename it for them).

use crate::chat::{Message, Part, Request, Role, Tool, ToolChoice};
use crate::json::{object, with_cache};
use serde_json::{json, Map, Value};

/// Writes `request` as an OpenAI chat completions request body.
pub fn write_request(request: &Request) -> Value {
    let mut body = Map::new();
    body.insert("model".into(), Value::String(request.model.clone()));
    body.insert("messages".into(), Value::Array(messages(request)));

    if !request.tools.is_empty() {
        body.insert("tools".into(), request.tools.iter().map(tool).collect());
        if let Some(choice) = &request.tool_choice {
            body.insert("tool_choice".into(), tool_choice(choice));
        }
        if let Some(parallel) = request.params.parallel_tool_calls {
            body.insert("parallel_tool_calls".into(), Value::Bool(parallel));
        }
    }

    let params = &request.params;
    if let Some(max) = params.max_tokens {
        body.insert("max_tokens".into(), max.into());
    }
    if let Some(temperature) = &params.temperature {
        body.insert("temperature".into(), temperature.clone());
    }
    if let Some(top_p) = &params.top_p {
        body.insert("top_p".into(), top_p.clone());
    }
    // `top_k` is not OpenAI's: OpenAI refuses unknown parameters, so it is dropped.
    if !params.stop.is_empty() {
        body.insert("stop".into(), params.stop.iter().map(|s| Value::String(s.clone())).collect());
    }
    if let Some(reasoning) = &params.reasoning {
        body.insert("reasoning_effort".into(), reasoning.effort().into());
    }
    if let Some(user) = &params.user {
        body.insert("user".into(), Value::String(user.clone()));
    }
    if let Some(format) = &params.response_format {
        body.insert("response_format".into(), format.clone());
    }
    if request.stream {
        body.insert("stream".into(), Value::Bool(true));
        // The gateway counts tokens from the stream's last chunk: always ask for it.
        body.insert("stream_options".into(), json!({"include_usage": true}));
    }
    Value::Object(body)
}

/// The system message, then the conversation.
fn messages(request: &Request) -> Vec<Value> {
    let mut out = Vec::with_capacity(request.messages.len() + 1);
    if let Some(system) = system_message(&request.system) {
        out.push(system);
    }
    for message in &request.messages {
        match message.role {
            Role::User => user_messages(message, &mut out),
            Role::Assistant => out.push(assistant_message(message)),
        }
    }
    out
}

/// The system parts as one `system` message (text only: OpenAI's system messages hold no
/// images).
fn system_message(parts: &[Part]) -> Option<Value> {
    let texts: Vec<(&String, &Option<Value>)> = parts
        .iter()
        .filter_map(|p| match p {
            Part::Text { text, cache } => Some((text, cache)),
            _ => None,
        })
        .collect();
    if texts.is_empty() {
        return None;
    }
    let content = if texts.iter().any(|(_, cache)| cache.is_some()) {
        texts.iter().map(|(text, cache)| text_item(text, cache)).collect()
    } else {
        Value::String(texts.iter().map(|(text, _)| text.as_str()).collect::<Vec<_>>().join("\n\n"))
    };
    Some(object([("role", "system".into()), ("content", content)]))
}

/// `{type: text, text, cache_control?}`.
fn text_item(text: &str, cache: &Option<Value>) -> Value {
    with_cache(object([("type", "text".into()), ("text", text.into())]), cache.as_ref())
}

/// A user message: its tool results first, each a `role: tool` message (they must follow
/// the assistant's tool calls directly), then the rest as one `user` message.
fn user_messages(message: &Message, out: &mut Vec<Value>) {
    let mut content = Vec::new();
    for part in &message.parts {
        match part {
            Part::ToolResult { call_id, content: result, .. } => out.push(object([
                ("role", "tool".into()),
                ("tool_call_id", call_id.as_str().into()),
                ("content", joined_text(result, "\n").into()),
            ])),
            Part::Text { text, cache } => content.push(text_item(text, cache)),
            Part::Image { source, cache } => {
                let item = object([("type", "image_url".into()), ("image_url", json!({"url": source.to_url()}))]);
                content.push(with_cache(item, cache.as_ref()));
            }
            // Reasoning and tool calls are the model's, never the user's.
            Part::Reasoning { .. } | Part::ToolCall { .. } => {}
        }
    }
    let has_results = message.parts.iter().any(|p| matches!(p, Part::ToolResult { .. }));
    if content.is_empty() && has_results {
        return;
    }
    // One plain text is written as a string, the form every compatible provider takes.
    let content = match content.as_slice() {
        [Value::Object(item)] if item.len() == 2 && item.get("type") == Some(&Value::from("text")) => {
            item.get("text").cloned().unwrap_or_default()
        }
        [] => Value::String(String::new()),
        _ => Value::Array(content),
    };
    let mut user = object([("role", "user".into()), ("content", content)]);
    add_name(&mut user, message);
    out.push(user);
}

/// The text of `parts` (images in a tool result cannot be sent in a `tool` message).
fn joined_text(parts: &[Part], separator: &str) -> String {
    let texts: Vec<&str> = parts
        .iter()
        .filter_map(|p| match p {
            Part::Text { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    texts.join(separator)
}

/// An assistant message: `content` (null when it only calls tools), `reasoning_content`,
/// `tool_calls`.
fn assistant_message(message: &Message) -> Value {
    let text = joined_text(&message.parts, "");
    let reasoning: String = message
        .parts
        .iter()
        .filter_map(|p| match p {
            Part::Reasoning { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    let calls: Vec<Value> = message
        .parts
        .iter()
        .filter_map(|p| match p {
            Part::ToolCall { id, name, arguments } => Some(tool_call(id, name, arguments)),
            _ => None,
        })
        .collect();
    let content = match (text.is_empty(), calls.is_empty()) {
        (true, false) => Value::Null,
        _ => Value::String(text),
    };
    let mut assistant = object([("role", "assistant".into()), ("content", content)]);
    if let Value::Object(map) = &mut assistant {
        if !reasoning.is_empty() {
            map.insert("reasoning_content".into(), Value::String(reasoning));
        }
        if !calls.is_empty() {
            map.insert("tool_calls".into(), Value::Array(calls));
        }
    }
    add_name(&mut assistant, message);
    assistant
}

/// `{id, type: function, function: {name, arguments}}`; no arguments are written as `{}`
/// (providers parse the text when the history is sent back).
pub(crate) fn tool_call(id: &str, name: &str, arguments: &str) -> Value {
    let arguments = if arguments.trim().is_empty() { "{}" } else { arguments };
    json!({"id": id, "type": "function", "function": {"name": name, "arguments": arguments}})
}

fn add_name(value: &mut Value, message: &Message) {
    if let (Some(name), Value::Object(map)) = (&message.name, value) {
        map.insert("name".into(), Value::String(name.clone()));
    }
}

/// `{type: function, function: {name, description?, parameters}}` (no schema: no parameters).
fn tool(tool: &Tool) -> Value {
    let parameters = match &tool.parameters {
        Value::Null => json!({"type": "object", "properties": {}}),
        schema => schema.clone(),
    };
    let mut function = object([("name", tool.name.as_str().into()), ("parameters", parameters)]);
    if let (Some(description), Value::Object(map)) = (&tool.description, &mut function) {
        map.insert("description".into(), description.as_str().into());
    }
    object([("type", "function".into()), ("function", function)])
}

fn tool_choice(choice: &ToolChoice) -> Value {
    match choice {
        ToolChoice::Auto => "auto".into(),
        ToolChoice::Required => "required".into(),
        ToolChoice::None => "none".into(),
        ToolChoice::Tool(name) => json!({"type": "function", "function": {"name": name}}),
    }
}
