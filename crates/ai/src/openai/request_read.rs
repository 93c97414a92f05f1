//! An OpenAI chat completions request read into the canonical model.
//!
//! Only used when the request is translated for another protocol (a request that stays
//! OpenAI is edited in place), so what the model cannot carry is either refused with a 400
//! naming the field (content the provider would silently never see: audio, files) or dropped
//! when it only tunes the reply (`n`, `response_format`, penalties, `logprobs`, `seed`).

use crate::chat::{ImageSource, Invalid, Message, Params, Part, Reasoning, Request, Role, Tool, ToolChoice};
use crate::json::{Loc, Obj};
use serde_json::{json, Value};

/// Reads an OpenAI chat completions request body.
pub fn read_request(body: &Value) -> Result<Request, Invalid> {
    let root = Obj::new(body, Loc::Root)?;
    let mut request = Request { model: root.str("model")?.unwrap_or_default().to_string(), ..Request::default() };

    let messages = root.array("messages")?.ok_or_else(|| root.at("messages").invalid("an array"))?;
    let messages_at = root.at("messages");
    for (i, message) in messages.iter().enumerate() {
        let at = messages_at.index(i);
        read_message(&mut request, Obj::new(message, at)?)?;
    }

    if let Some(tools) = root.array("tools")? {
        let tools_at = root.at("tools");
        for (i, tool) in tools.iter().enumerate() {
            let at = tools_at.index(i);
            request.tools.push(read_tool(Obj::new(tool, at)?)?);
        }
    }
    request.tool_choice = read_tool_choice(&root)?;
    request.stream = root.bool("stream")?.unwrap_or(false);
    request.params = read_params(&root)?;
    Ok(request)
}

/// One message: system and developer messages join the system parts (every one, in order);
/// consecutive tool messages become one user message of tool results.
fn read_message(request: &mut Request, message: Obj) -> Result<(), Invalid> {
    let role = message.req_str("role")?;
    let name = message.str("name")?.map(str::to_string);
    match role {
        "system" | "developer" => {
            request.system.extend(text_content(&message, "content")?);
        }
        "user" => {
            let parts = user_content(&message)?;
            request.messages.push(Message { role: Role::User, parts, name });
        }
        "assistant" => {
            let parts = assistant_parts(&message)?;
            request.messages.push(Message { role: Role::Assistant, parts, name });
        }
        "tool" => {
            let result = Part::ToolResult {
                call_id: message.req_str("tool_call_id")?.to_string(),
                content: text_content(&message, "content")?,
                is_error: false,
            };
            request.push_tool_result(result);
        }
        _ => return Err(message.at("role").invalid("system, developer, user, assistant or tool")),
    }
    Ok(())
}

/// Content that may only be text (system, developer and tool messages): a string or an
/// array of `text` parts.
fn text_content(message: &Obj, key: &str) -> Result<Vec<Part>, Invalid> {
    if message.get(key).is_none() {
        return Ok(Vec::new());
    }
    content_parts(message, key, false)
}

/// Content as a string or an array of parts: `text`, and `image_url` when `images`.
fn content_parts(message: &Obj, key: &str, images: bool) -> Result<Vec<Part>, Invalid> {
    let items = match message.get(key) {
        Some(Value::String(text)) => return Ok(vec![Part::Text { text: text.clone(), cache: None }]),
        Some(Value::Array(items)) => items,
        _ => return Err(message.at(key).invalid("a string or an array of content parts")),
    };
    let at = message.at(key);
    let mut parts = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let item_at = at.index(i);
        let item = Obj::new(item, item_at)?;
        match item.req_str("type")? {
            "text" => parts.push(text_part(&item)?),
            "image_url" if images => parts.push(image_part(&item)?),
            _ if images => {
                return Err(item.at("type").invalid("text or image_url (audio and files cannot be translated)"))
            }
            _ => return Err(item.at("type").invalid("text")),
        }
    }
    Ok(parts)
}

/// A `{type: text, text, cache_control?}` part (`cache_control` is what OpenAI-compatible
/// gateways in front of Claude accept; kept for an Anthropic provider).
fn text_part(item: &Obj) -> Result<Part, Invalid> {
    Ok(Part::Text { text: item.req_str("text")?.to_string(), cache: item.get("cache_control").cloned() })
}

/// A user message's content: a string, or text and image parts.
fn user_content(message: &Obj) -> Result<Vec<Part>, Invalid> {
    content_parts(message, "content", true)
}

/// `{type: image_url, image_url: {url, detail?}}` (some clients send `image_url` as the URL
/// string itself); a `data:` URL becomes inline base64.
fn image_part(item: &Obj) -> Result<Part, Invalid> {
    let url = match item.get("image_url") {
        Some(Value::String(url)) => url.as_str(),
        Some(Value::Object(_)) => match item.obj("image_url")? {
            Some(image) => image.req_str("url")?,
            None => return Err(item.at("image_url").invalid("an object with url")),
        },
        _ => return Err(item.at("image_url").invalid("an object with url")),
    };
    Ok(Part::Image { source: ImageSource::from_url(url), cache: item.get("cache_control").cloned() })
}

/// An assistant message: its reasoning (`reasoning_content`, DeepSeek-style, or `reasoning`),
/// its text, then its tool calls, the order the model produced them in.
fn assistant_parts(message: &Obj) -> Result<Vec<Part>, Invalid> {
    let mut parts = Vec::new();
    let reasoning = super::reasoning(message)?;
    if let Some(text) = reasoning.filter(|t| !t.is_empty()) {
        parts.push(Part::Reasoning { text: text.to_string(), signature: None });
    }
    match message.get("content") {
        // An empty text beside tool calls is no text (Anthropic refuses empty text blocks).
        None => {}
        Some(Value::String(text)) if text.is_empty() => {}
        Some(Value::String(text)) => parts.push(Part::Text { text: text.clone(), cache: None }),
        Some(Value::Array(items)) => {
            let at = message.at("content");
            for (i, item) in items.iter().enumerate() {
                let item_at = at.index(i);
                let item = Obj::new(item, item_at)?;
                match item.req_str("type")? {
                    "text" => parts.push(text_part(&item)?),
                    "refusal" => {
                        parts.push(Part::Text { text: item.req_str("refusal")?.to_string(), cache: None });
                    }
                    _ => return Err(item.at("type").invalid("text or refusal")),
                }
            }
        }
        Some(_) => return Err(message.at("content").invalid("a string, an array of content parts or null")),
    }
    if let Some(calls) = message.array("tool_calls")? {
        let at = message.at("tool_calls");
        for (i, call) in calls.iter().enumerate() {
            let call_at = at.index(i);
            parts.push(tool_call(Obj::new(call, call_at)?)?);
        }
    }
    Ok(parts)
}

/// `{id, type: function, function: {name, arguments}}`.
fn tool_call(call: Obj) -> Result<Part, Invalid> {
    if let Some(kind) = call.str("type")? {
        if kind != "function" {
            return Err(call.at("type").invalid("function"));
        }
    }
    let function = call.obj("function")?.ok_or_else(|| call.at("function").invalid("an object"))?;
    Ok(Part::ToolCall {
        id: call.req_str("id")?.to_string(),
        name: function.req_str("name")?.to_string(),
        arguments: arguments(&function)?,
    })
}

/// A call's arguments as JSON text: OpenAI sends a string; some compatible providers send
/// the object itself, which is serialized.
pub(crate) fn arguments(function: &Obj) -> Result<String, Invalid> {
    match function.get("arguments") {
        None => Ok(String::new()),
        Some(Value::String(text)) => Ok(text.clone()),
        Some(value @ Value::Object(_)) => Ok(value.to_string()),
        Some(_) => Err(function.at("arguments").invalid("a string of JSON")),
    }
}

/// `{type: function, function: {name, description?, parameters?}}`; a function without
/// parameters takes none (an empty object schema, which every provider accepts).
fn read_tool(tool: Obj) -> Result<Tool, Invalid> {
    if tool.req_str("type")? != "function" {
        return Err(tool.at("type").invalid("function"));
    }
    let function = tool.obj("function")?.ok_or_else(|| tool.at("function").invalid("an object"))?;
    let parameters = match function.get("parameters") {
        None => json!({"type": "object", "properties": {}}),
        Some(schema @ Value::Object(_)) => schema.clone(),
        Some(_) => return Err(function.at("parameters").invalid("a JSON schema object")),
    };
    Ok(Tool {
        name: function.req_str("name")?.to_string(),
        description: function.str("description")?.map(str::to_string),
        parameters,
        cache: tool.get("cache_control").cloned(),
    })
}

/// `"auto" | "none" | "required"` or `{type: function, function: {name}}`.
fn read_tool_choice(root: &Obj) -> Result<Option<ToolChoice>, Invalid> {
    let expected = "auto, none, required or {type: function, function: {name}}";
    match root.get("tool_choice") {
        None => Ok(None),
        Some(Value::String(choice)) => {
            ToolChoice::keyword(choice).map(Some).ok_or_else(|| root.at("tool_choice").invalid(expected))
        }
        Some(_) => {
            let choice = root.obj("tool_choice")?.ok_or_else(|| root.at("tool_choice").invalid(expected))?;
            if choice.req_str("type")? != "function" {
                return Err(choice.at("type").invalid("function"));
            }
            let function = choice.obj("function")?.ok_or_else(|| choice.at("function").invalid("an object"))?;
            Ok(Some(ToolChoice::Tool(function.req_str("name")?.to_string())))
        }
    }
}

/// `stop`: a string or an array of strings (DashScope's parameters have it too).
pub(crate) fn read_stop(root: &Obj) -> Result<Vec<String>, Invalid> {
    Ok(match root.get("stop") {
        None => Vec::new(),
        Some(Value::String(stop)) => vec![stop.clone()],
        Some(Value::Array(items)) => {
            let at = root.at("stop");
            let mut stop = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                match item {
                    Value::String(s) => stop.push(s.clone()),
                    _ => return Err(at.index(i).invalid("a string")),
                }
            }
            stop
        }
        Some(_) => return Err(root.at("stop").invalid("a string or an array of strings")),
    })
}

/// Sampling and output parameters.
fn read_params(root: &Obj) -> Result<Params, Invalid> {
    let stop = read_stop(root)?;
    let include_usage = match root.obj("stream_options")? {
        Some(options) => options.bool("include_usage")?,
        None => None,
    };
    Ok(Params {
        // `max_tokens` is deprecated in favour of `max_completion_tokens`, which wins.
        max_tokens: root.u64("max_completion_tokens")?.or(root.u64("max_tokens")?),
        temperature: root.number("temperature")?,
        top_p: root.number("top_p")?,
        // Not OpenAI's, but vLLM and other compatible servers take it.
        top_k: root.number("top_k")?,
        stop,
        reasoning: read_reasoning(root)?,
        parallel_tool_calls: root.bool("parallel_tool_calls")?,
        user: root.str("user")?.map(str::to_string),
        include_usage,
        response_format: root.obj("response_format")?.map(|format| format.value().clone()),
    })
}

/// `reasoning_effort` (`none` asks for no reasoning), and Higress's `reasoning_max_tokens`
/// budget.
fn read_reasoning(root: &Obj) -> Result<Option<Reasoning>, Invalid> {
    let effort = root.str("reasoning_effort")?.filter(|e| *e != "none");
    let budget_tokens = root.u64("reasoning_max_tokens")?;
    if effort.is_none() && budget_tokens.is_none() {
        return Ok(None);
    }
    Ok(Some(Reasoning { effort: effort.map(str::to_string), budget_tokens }))
}
