//! A chat request as MiniMax's ChatCompletion Pro takes it, and a Pro request read back as
//! one.

use super::{call_id, DEFAULT_BOT_NAME, DEFAULT_BOT_SETTING, DEFAULT_USER_NAME};
use crate::chat::{Invalid, Message, Part, Request, Role, Tool, ToolChoice};
use crate::json::{object, Loc, Obj};
use serde_json::{Map, Value};
use std::collections::HashMap;

/// Writes a Pro request.
///
/// - `bot_setting`: the system parts' text (joined with a newline) as the persona of
///   [`DEFAULT_BOT_NAME`]; without system instructions, Go's default persona (the API
///   requires one). `reply_constraints`: that bot answers.
/// - `messages`: a user message as `USER` (its `name`, else [`DEFAULT_USER_NAME`]), its tool
///   results first as `FUNCTION` messages named after the function called; an assistant
///   message as `BOT` (its `name`, else the bot's) with its first tool call as
///   `function_call`, each further call as one more `BOT` message (Go dropped both).
/// - `tokens_to_generate` (`max_tokens`), `temperature` and `top_p` as given, but not when
///   `0` (MiniMax takes (0, 1]; Go dropped `0` too), `stream` when streaming,
///   `mask_sensitive_info: true` (Go's), `functions` from the tools (only the one a
///   `tool_choice` names; none with `tool_choice: none`).
///
/// An image is [`Invalid`]: the Pro API takes text only. Stop sequences, reasoning and the
/// other parameters have no place in it.
pub fn write_request(request: &Request) -> Result<Value, Invalid> {
    let names: HashMap<&str, &str> = request
        .messages
        .iter()
        .flat_map(|m| m.parts.iter())
        .filter_map(|p| match p {
            Part::ToolCall { id, name, .. } => Some((id.as_str(), name.as_str())),
            _ => None,
        })
        .collect();
    let mut messages = Vec::with_capacity(request.messages.len());
    for (index, message) in request.messages.iter().enumerate() {
        match message.role {
            Role::User => user_messages(message, index, &names, &mut messages)?,
            Role::Assistant => bot_messages(message, &mut messages),
        }
    }
    let system: Vec<&str> = request
        .system
        .iter()
        .filter_map(|p| match p {
            Part::Text { text, .. } if !text.is_empty() => Some(text.as_str()),
            _ => None,
        })
        .collect();
    let persona = if system.is_empty() { DEFAULT_BOT_SETTING.to_string() } else { system.join("\n") };
    let mut body = Map::new();
    body.insert("model".into(), request.model.as_str().into());
    if request.stream {
        body.insert("stream".into(), true.into());
    }
    let params = &request.params;
    if let Some(max) = params.max_tokens {
        body.insert("tokens_to_generate".into(), max.into());
    }
    for (key, value) in [("temperature", &params.temperature), ("top_p", &params.top_p)] {
        if let Some(value) = value.as_ref().filter(|v| v.as_f64().is_some_and(|n| n > 0.0)) {
            body.insert(key.into(), value.clone());
        }
    }
    body.insert("mask_sensitive_info".into(), true.into());
    body.insert("messages".into(), Value::Array(messages));
    body.insert(
        "bot_setting".into(),
        Value::Array(vec![object([("bot_name", DEFAULT_BOT_NAME.into()), ("content", persona.into())])]),
    );
    body.insert(
        "reply_constraints".into(),
        object([("sender_type", "BOT".into()), ("sender_name", DEFAULT_BOT_NAME.into())]),
    );
    let functions = functions(request);
    if !functions.is_empty() {
        body.insert("functions".into(), Value::Array(functions));
    }
    Ok(Value::Object(body))
}

/// A user message: its tool results as `FUNCTION` messages, then its text as a `USER` one.
fn user_messages(
    message: &Message,
    index: usize,
    names: &HashMap<&str, &str>,
    out: &mut Vec<Value>,
) -> Result<(), Invalid> {
    let mut texts = Vec::new();
    let mut results = false;
    for part in &message.parts {
        match part {
            Part::ToolResult { call_id, content, .. } => {
                results = true;
                let name = names.get(call_id.as_str()).copied().unwrap_or(call_id.as_str());
                out.push(sender("FUNCTION", name, &joined(content, "\n")));
            }
            Part::Text { text, .. } => texts.push(text.as_str()),
            Part::Image { .. } => {
                return Err(Invalid(format!("messages[{index}]: MiniMax's ChatCompletion Pro takes no images")))
            }
            Part::Reasoning { .. } | Part::ToolCall { .. } => {}
        }
    }
    if texts.is_empty() && results {
        return Ok(());
    }
    let name = message.name.as_deref().unwrap_or(DEFAULT_USER_NAME);
    out.push(sender("USER", name, &texts.join("\n")));
    Ok(())
}

/// An assistant message: its text with its first tool call, each further call alone.
fn bot_messages(message: &Message, out: &mut Vec<Value>) {
    let name = message.name.as_deref().unwrap_or(DEFAULT_BOT_NAME);
    let mut bot = sender("BOT", name, &joined(&message.parts, ""));
    let mut calls = message.parts.iter().filter_map(|p| match p {
        Part::ToolCall { name, arguments, .. } => Some(object([
            ("name", name.as_str().into()),
            ("arguments", if arguments.is_empty() { "{}" } else { arguments.as_str() }.into()),
        ])),
        _ => None,
    });
    if let (Some(call), Value::Object(map)) = (calls.next(), &mut bot) {
        map.insert("function_call".into(), call);
    }
    out.push(bot);
    for call in calls {
        let mut more = sender("BOT", name, "");
        if let Value::Object(map) = &mut more {
            map.insert("function_call".into(), call);
        }
        out.push(more);
    }
}

fn sender(kind: &str, name: &str, text: &str) -> Value {
    object([("sender_type", kind.into()), ("sender_name", name.into()), ("text", text.into())])
}

/// The text parts of `parts`, joined with `separator`.
fn joined(parts: &[Part], separator: &str) -> String {
    let texts: Vec<&str> = parts
        .iter()
        .filter_map(|p| match p {
            Part::Text { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    texts.join(separator)
}

/// `functions`: the tools the model may call.
fn functions(request: &Request) -> Vec<Value> {
    let only = match &request.tool_choice {
        Some(ToolChoice::None) => return Vec::new(),
        Some(ToolChoice::Tool(name)) => Some(name.as_str()),
        _ => None,
    };
    request
        .tools
        .iter()
        .filter(|tool| only.is_none_or(|name| tool.name == name))
        .map(|tool| {
            let mut function = Map::new();
            function.insert("name".into(), tool.name.as_str().into());
            if let Some(description) = &tool.description {
                function.insert("description".into(), description.as_str().into());
            }
            function.insert("parameters".into(), tool.parameters.clone());
            Value::Object(function)
        })
        .collect()
}

/// Reads a Pro request (a client speaking Pro's protocol): `bot_setting` as the system text,
/// `USER` messages as user messages, `BOT` ones as assistant messages (a `function_call` as
/// a tool call, `call_<n>`), `FUNCTION` ones as the result of the last call of that
/// function; `functions` as tools, `tokens_to_generate`, `temperature`, `top_p`, `stream`.
pub fn read_request(body: &Value) -> Result<Request, Invalid> {
    let root = Obj::new(body, Loc::Root)?;
    let mut request = Request {
        model: root.str("model")?.unwrap_or_default().to_string(),
        stream: root.bool("stream")?.unwrap_or(false),
        ..Request::default()
    };
    request.params.max_tokens = root.u64("tokens_to_generate")?;
    request.params.temperature = root.number("temperature")?;
    request.params.top_p = root.number("top_p")?;
    if let Some(settings) = root.array("bot_setting")? {
        let at = root.at("bot_setting");
        for (index, setting) in settings.iter().enumerate() {
            let setting = Obj::new(setting, at.index(index))?;
            if let Some(content) = setting.str("content")?.filter(|c| !c.is_empty()) {
                request.system.push(Part::Text { text: content.to_string(), cache: None });
            }
        }
    }
    let messages = root.array("messages")?.ok_or_else(|| root.at("messages").invalid("an array"))?;
    let at = root.at("messages");
    let mut calls: Vec<(String, String)> = Vec::new();
    for (index, message) in messages.iter().enumerate() {
        let message = Obj::new(message, at.index(index))?;
        let text = message.str("text")?.unwrap_or_default();
        let name = message.str("sender_name")?.filter(|n| !n.is_empty()).map(str::to_string);
        let text_part = || Part::Text { text: text.to_string(), cache: None };
        match message.req_str("sender_type")? {
            "USER" => request.messages.push(Message { role: Role::User, parts: vec![text_part()], name }),
            "BOT" => {
                let mut parts = Vec::new();
                if !text.is_empty() {
                    parts.push(text_part());
                }
                if let Some(call) = message.obj("function_call")? {
                    let id = call_id(calls.len());
                    let function = call.req_str("name")?.to_string();
                    let arguments = call.str("arguments")?.unwrap_or_default().to_string();
                    calls.push((id.clone(), function.clone()));
                    parts.push(Part::ToolCall { id, name: function, arguments });
                }
                request.messages.push(Message { role: Role::Assistant, parts, name });
            }
            "FUNCTION" => {
                let function = name.as_deref().unwrap_or_default();
                let call_id = calls
                    .iter()
                    .rev()
                    .find(|(_, called)| called == function)
                    .map_or_else(|| function.to_string(), |(id, _)| id.clone());
                let result = Part::ToolResult { call_id, content: vec![text_part()], is_error: false };
                request.messages.push(Message { role: Role::User, parts: vec![result], name: None });
            }
            _ => return Err(message.at("sender_type").invalid("USER, BOT or FUNCTION")),
        }
    }
    if let Some(functions) = root.array("functions")? {
        let at = root.at("functions");
        for (index, function) in functions.iter().enumerate() {
            let function = Obj::new(function, at.index(index))?;
            request.tools.push(Tool {
                name: function.req_str("name")?.to_string(),
                description: function.str("description")?.map(str::to_string),
                parameters: function.get("parameters").cloned().unwrap_or_else(|| Value::Object(Map::new())),
                cache: None,
            });
        }
    }
    Ok(request)
}
