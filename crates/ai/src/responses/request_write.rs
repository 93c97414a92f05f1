//! The canonical model written as a Responses request, for a provider that serves
//! `/v1/responses`.
//!
//! The gateway keeps no state, so the request is stateless: `store: false`, the whole
//! conversation in `input`, and, when reasoning is asked for, `include:
//! ["reasoning.encrypted_content"]` so the reasoning can be sent back on the next turn.
//! Reasoning without a signature (from another provider) is dropped from the history: the
//! Responses API only takes reasoning back as its own encrypted content.

use crate::chat::{Message, Part, Request, Role, Tool, ToolChoice};
use crate::json::object;
use serde_json::{json, Map, Value};

/// Writes `request` as a Responses request body.
pub fn write_request(request: &Request) -> Value {
    let mut body = Map::new();
    body.insert("model".into(), request.model.as_str().into());
    let instructions: Vec<&str> = request
        .system
        .iter()
        .filter_map(|part| match part {
            Part::Text { text, .. } if !text.is_empty() => Some(text.as_str()),
            _ => None,
        })
        .collect();
    if !instructions.is_empty() {
        body.insert("instructions".into(), instructions.join("\n\n").into());
    }
    let mut input = Vec::with_capacity(request.messages.len());
    for message in &request.messages {
        match message.role {
            Role::User => user_items(message, &mut input),
            Role::Assistant => assistant_items(message, &mut input),
        }
    }
    body.insert("input".into(), Value::Array(input));
    if !request.tools.is_empty() {
        body.insert("tools".into(), request.tools.iter().map(tool).collect());
        if let Some(choice) = &request.tool_choice {
            body.insert("tool_choice".into(), tool_choice(choice));
        }
        if let Some(parallel) = request.params.parallel_tool_calls {
            body.insert("parallel_tool_calls".into(), parallel.into());
        }
    }
    let params = &request.params;
    if let Some(max) = params.max_tokens {
        body.insert("max_output_tokens".into(), max.into());
    }
    if let Some(temperature) = &params.temperature {
        body.insert("temperature".into(), temperature.clone());
    }
    if let Some(top_p) = &params.top_p {
        body.insert("top_p".into(), top_p.clone());
    }
    // Chat's `response_format` as `text.format` (a JSON schema's fields inline).
    if let Some(Value::Object(format)) = &params.response_format {
        let written = match (format.get("type").and_then(Value::as_str), format.get("json_schema")) {
            (Some("json_schema"), Some(Value::Object(schema))) => {
                let mut inline = schema.clone();
                inline.insert("type".into(), "json_schema".into());
                Value::Object(inline)
            }
            _ => Value::Object(format.clone()),
        };
        body.insert("text".into(), serde_json::json!({"format": written}));
    }
    // `stop` and `top_k` have no place in the Responses API: dropped.
    if let Some(reasoning) = &params.reasoning {
        body.insert("reasoning".into(), json!({"effort": reasoning.effort()}));
        body.insert("include".into(), json!(["reasoning.encrypted_content"]));
    }
    if let Some(user) = &params.user {
        body.insert("user".into(), user.as_str().into());
    }
    if request.stream {
        body.insert("stream".into(), true.into());
    }
    body.insert("store".into(), false.into());
    Value::Object(body)
}

/// A user turn: its tool results as `function_call_output` items (they follow the calls),
/// then the rest as one `user` message.
fn user_items(message: &Message, out: &mut Vec<Value>) {
    let mut content = Vec::new();
    for part in &message.parts {
        match part {
            Part::ToolResult { call_id, content: result, .. } => out.push(object([
                ("type", "function_call_output".into()),
                ("call_id", call_id.as_str().into()),
                ("output", tool_output(result)),
            ])),
            Part::Text { .. } | Part::Image { .. } => content.extend(input_part(part)),
            Part::Reasoning { .. } | Part::ToolCall { .. } => {}
        }
    }
    if content.is_empty() && !message.parts.is_empty() {
        return;
    }
    out.push(object([("type", "message".into()), ("role", "user".into()), ("content", Value::Array(content))]));
}

/// `input_text` or `input_image` (by URL, inline bytes as a `data:` URL).
fn input_part(part: &Part) -> Option<Value> {
    match part {
        Part::Text { text, .. } => Some(object([("type", "input_text".into()), ("text", text.as_str().into())])),
        Part::Image { source, .. } => Some(object([
            ("type", "input_image".into()),
            ("image_url", source.to_url().into()),
            ("detail", "auto".into()),
        ])),
        _ => None,
    }
}

/// A tool result: its text, or its parts when it holds an image.
fn tool_output(result: &[Part]) -> Value {
    if result.iter().any(|part| matches!(part, Part::Image { .. })) {
        return Value::Array(result.iter().filter_map(input_part).collect());
    }
    let texts: Vec<&str> = result
        .iter()
        .filter_map(|part| match part {
            Part::Text { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    texts.join("\n").into()
}

/// An assistant turn, in order: signed reasoning as `reasoning` items, text as `assistant`
/// messages (consecutive texts joined), tool calls as `function_call` items.
fn assistant_items(message: &Message, out: &mut Vec<Value>) {
    let mut text = String::new();
    let flush = |text: &mut String, out: &mut Vec<Value>| {
        if !text.is_empty() {
            let content = std::mem::take(text);
            out.push(object([("type", "message".into()), ("role", "assistant".into()), ("content", content.into())]));
        }
    };
    for part in &message.parts {
        match part {
            Part::Text { text: more, .. } => text.push_str(more),
            Part::Reasoning { text: reasoning, signature: Some(signature) } => {
                flush(&mut text, out);
                let summary = match reasoning.as_str() {
                    "" => json!([]),
                    reasoning => json!([{"type": "summary_text", "text": reasoning}]),
                };
                out.push(object([
                    ("type", "reasoning".into()),
                    ("summary", summary),
                    ("encrypted_content", signature.as_str().into()),
                ]));
            }
            Part::ToolCall { id, name, arguments } => {
                flush(&mut text, out);
                out.push(object([
                    ("type", "function_call".into()),
                    ("call_id", id.as_str().into()),
                    ("name", name.as_str().into()),
                    ("arguments", super::items::arguments_text(arguments).into()),
                ]));
            }
            Part::Reasoning { signature: None, .. } | Part::Image { .. } | Part::ToolResult { .. } => {}
        }
    }
    flush(&mut text, out);
}

/// `{type: function, name, description?, parameters}`.
fn tool(tool: &Tool) -> Value {
    let parameters = match &tool.parameters {
        Value::Null => json!({"type": "object", "properties": {}}),
        schema => schema.clone(),
    };
    let mut out =
        object([("type", "function".into()), ("name", tool.name.as_str().into()), ("parameters", parameters)]);
    if let (Some(description), Value::Object(map)) = (&tool.description, &mut out) {
        map.insert("description".into(), description.as_str().into());
    }
    out
}

fn tool_choice(choice: &ToolChoice) -> Value {
    match choice {
        ToolChoice::Auto => "auto".into(),
        ToolChoice::Required => "required".into(),
        ToolChoice::None => "none".into(),
        ToolChoice::Tool(name) => json!({"type": "function", "name": name}),
    }
}
