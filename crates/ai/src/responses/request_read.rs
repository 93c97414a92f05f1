//! A Responses request read into the canonical model, for a provider of another protocol.
//!
//! What a stateless gateway cannot serve is refused with a 400 naming the field:
//! `previous_response_id`, `conversation`, a stored `prompt`, `background`, item references,
//! hosted tools and items of theirs, files, images by file id. What only tunes the reply and
//! the model has no place for is dropped (`truncation`, `include`, `metadata`,
//! `store`, `prompt_cache_key`, `service_tier`).

use super::items::{function_call_part, message_text, reasoning_part};
use crate::chat::{ImageSource, Invalid, Message, Params, Part, Reasoning, Request, Role, Tool, ToolChoice};
use crate::json::{Loc, Obj};
use serde_json::{json, Value};

/// Reads a Responses request body.
pub fn read_request(body: &Value) -> Result<Request, Invalid> {
    let root = Obj::new(body, Loc::Root)?;
    refuse_state(&root)?;
    let mut request = Request { model: root.str("model")?.unwrap_or_default().to_string(), ..Request::default() };
    if let Some(instructions) = root.str("instructions")?.filter(|text| !text.is_empty()) {
        request.system.push(Part::Text { text: instructions.to_string(), cache: None });
    }
    match root.get("input") {
        Some(Value::String(text)) => request.messages.push(Message {
            role: Role::User,
            parts: vec![Part::Text { text: text.clone(), cache: None }],
            name: None,
        }),
        Some(Value::Array(items)) => {
            let at = root.at("input");
            for (i, item) in items.iter().enumerate() {
                let item_at = at.index(i);
                read_item(&mut request, &Obj::new(item, item_at)?)?;
            }
        }
        _ => return Err(root.at("input").invalid("a string or an array of input items")),
    }
    if let Some(tools) = root.array("tools")? {
        let at = root.at("tools");
        for (i, tool) in tools.iter().enumerate() {
            let tool_at = at.index(i);
            request.tools.push(read_tool(&Obj::new(tool, tool_at)?)?);
        }
    }
    request.tool_choice = read_tool_choice(&root)?;
    request.stream = root.bool("stream")?.unwrap_or(false);
    request.params = read_params(&root)?;
    Ok(request)
}

/// Refuses what needs the state of earlier responses (the gateway keeps none).
fn refuse_state(root: &Obj) -> Result<(), Invalid> {
    let stateless = "absent: the gateway keeps no responses; send the whole conversation in `input` (store: false)";
    for key in ["previous_response_id", "conversation", "prompt"] {
        if root.get(key).is_some() {
            return Err(root.at(key).invalid(stateless));
        }
    }
    if root.bool("background")? == Some(true) {
        return Err(root.at("background").invalid("false: the gateway keeps no responses to poll"));
    }
    Ok(())
}

/// One input item: a message (with or without `type`), a function call or its output, or
/// reasoning. The model's items join the assistant turn before them; tool outputs join the
/// user turn of tool results before them.
fn read_item(request: &mut Request, item: &Obj) -> Result<(), Invalid> {
    let kind = match item.str("type")? {
        Some(kind) => kind,
        None if item.get("role").is_some() => "message",
        None => return Err(item.at("type").invalid("an input item type")),
    };
    match kind {
        "message" => read_message(request, item),
        "function_call" => {
            push_assistant(request, function_call_part(item)?);
            Ok(())
        }
        "function_call_output" => {
            let result = Part::ToolResult {
                call_id: item.req_str("call_id")?.to_string(),
                content: tool_output(item)?,
                is_error: false,
            };
            request.push_tool_result(result);
            Ok(())
        }
        "reasoning" => {
            if let Some(part) = reasoning_part(item)? {
                push_assistant(request, part);
            }
            Ok(())
        }
        "item_reference" => Err(item.at("type").invalid("an item given whole: the gateway keeps no items to refer to")),
        _ => Err(item.at("type").invalid(
            "message, function_call, function_call_output or reasoning (hosted tools cannot be served by this provider)",
        )),
    }
}

/// Adds `part` to the assistant turn the conversation ends with (a new one when it ends
/// otherwise).
fn push_assistant(request: &mut Request, part: Part) {
    match request.messages.last_mut() {
        Some(last) if last.role == Role::Assistant => last.parts.push(part),
        _ => request.messages.push(Message { role: Role::Assistant, parts: vec![part], name: None }),
    }
}

/// A message: system and developer messages join the system parts, user messages are turns
/// of text and images, assistant messages join the assistant turn.
fn read_message(request: &mut Request, item: &Obj) -> Result<(), Invalid> {
    match item.req_str("role")? {
        "system" | "developer" => {
            let parts = content_parts(item, false)?;
            request.system.extend(parts);
        }
        "user" => {
            let parts = content_parts(item, true)?;
            request.messages.push(Message { role: Role::User, parts, name: None });
        }
        "assistant" => {
            let text = message_text(item)?;
            if !text.is_empty() {
                push_assistant(request, Part::Text { text, cache: None });
            }
        }
        _ => return Err(item.at("role").invalid("user, assistant, system or developer")),
    }
    Ok(())
}

/// A message's content: a string, or `input_text` parts (and `input_image` ones when
/// `images`).
fn content_parts(item: &Obj, images: bool) -> Result<Vec<Part>, Invalid> {
    let content = match item.get("content") {
        Some(Value::String(text)) => return Ok(vec![Part::Text { text: text.clone(), cache: None }]),
        Some(Value::Array(content)) => content,
        _ => return Err(item.at("content").invalid("a string or an array of content parts")),
    };
    let at = item.at("content");
    let mut parts = Vec::with_capacity(content.len());
    for (i, part) in content.iter().enumerate() {
        let part_at = at.index(i);
        let part = Obj::new(part, part_at)?;
        parts.push(content_part(&part, images)?);
    }
    Ok(parts)
}

/// One content part: text (`input_text`; `output_text` as some clients echo it) or an image.
fn content_part(part: &Obj, images: bool) -> Result<Part, Invalid> {
    match part.req_str("type")? {
        "input_text" | "output_text" | "text" => {
            Ok(Part::Text { text: part.req_str("text")?.to_string(), cache: None })
        }
        "input_image" if images => image_part(part),
        "input_file" => Err(part.at("type").invalid("input_text or input_image (files cannot be translated)")),
        _ if images => Err(part.at("type").invalid("input_text or input_image")),
        _ => Err(part.at("type").invalid("input_text")),
    }
}

/// `{type: input_image, image_url}` (a URL or a `data:` URL, which becomes inline bytes). An
/// image by `file_id` lives in OpenAI's file store, which another provider cannot read.
fn image_part(part: &Obj) -> Result<Part, Invalid> {
    if let Some(url) = part.str("image_url")? {
        return Ok(Part::Image { source: ImageSource::from_url(url), cache: None });
    }
    if part.get("file_id").is_some() {
        return Err(part.at("file_id").invalid("absent: an image by file id cannot be served; send image_url"));
    }
    Err(part.at("image_url").invalid("a string"))
}

/// A tool call's output: a string, or text and image parts.
fn tool_output(item: &Obj) -> Result<Vec<Part>, Invalid> {
    match item.get("output") {
        Some(Value::String(text)) => Ok(vec![Part::Text { text: text.clone(), cache: None }]),
        Some(Value::Array(parts)) => {
            let at = item.at("output");
            let mut out = Vec::with_capacity(parts.len());
            for (i, part) in parts.iter().enumerate() {
                let part_at = at.index(i);
                out.push(content_part(&Obj::new(part, part_at)?, true)?);
            }
            Ok(out)
        }
        _ => Err(item.at("output").invalid("a string or an array of content parts")),
    }
}

/// `{type: function, name, description?, parameters?, strict?}` (flat, unlike chat
/// completions). Hosted tools run at OpenAI: no other provider can serve them.
fn read_tool(tool: &Obj) -> Result<Tool, Invalid> {
    if tool.req_str("type")? != "function" {
        return Err(tool.at("type").invalid(
            "function (web_search, file_search and OpenAI's other hosted tools cannot be served by this provider)",
        ));
    }
    let parameters = match tool.get("parameters") {
        None => json!({"type": "object", "properties": {}}),
        Some(schema @ Value::Object(_)) => schema.clone(),
        Some(_) => return Err(tool.at("parameters").invalid("a JSON schema object")),
    };
    Ok(Tool {
        name: tool.req_str("name")?.to_string(),
        description: tool.str("description")?.map(str::to_string),
        parameters,
        cache: None,
    })
}

/// `"auto" | "none" | "required"` or `{type: function, name}`.
fn read_tool_choice(root: &Obj) -> Result<Option<ToolChoice>, Invalid> {
    let expected = "auto, none, required or {type: function, name}";
    match root.get("tool_choice") {
        None => Ok(None),
        Some(Value::String(choice)) => {
            ToolChoice::keyword(choice).map(Some).ok_or_else(|| root.at("tool_choice").invalid(expected))
        }
        Some(_) => {
            let choice = root.obj("tool_choice")?.ok_or_else(|| root.at("tool_choice").invalid(expected))?;
            if choice.req_str("type")? != "function" {
                return Err(choice.at("type").invalid("function (hosted tools cannot be served by this provider)"));
            }
            Ok(Some(ToolChoice::Tool(choice.req_str("name")?.to_string())))
        }
    }
}

/// Sampling and output parameters; `reasoning.effort` (`none` asks for no reasoning).
fn read_params(root: &Obj) -> Result<Params, Invalid> {
    let reasoning = match root.obj("reasoning")? {
        Some(reasoning) => reasoning
            .str("effort")?
            .filter(|effort| *effort != "none")
            .map(|effort| Reasoning { effort: Some(effort.to_string()), budget_tokens: None }),
        None => None,
    };
    // `text.format` is chat's `response_format` with the schema's fields inline.
    let mut response_format = None;
    if let Some(text) = root.obj("text")? {
        if let Some(format) = text.obj("format")? {
            response_format = match format.req_str("type")? {
                "text" => None,
                "json_schema" => {
                    let mut schema = format.value().as_object().cloned().unwrap_or_default();
                    schema.remove("type");
                    Some(serde_json::json!({"type": "json_schema", "json_schema": schema}))
                }
                _ => Some(format.value().clone()),
            };
        }
    }
    Ok(Params {
        max_tokens: root.u64("max_output_tokens")?,
        temperature: root.number("temperature")?,
        top_p: root.number("top_p")?,
        reasoning,
        parallel_tool_calls: root.bool("parallel_tool_calls")?,
        // `safety_identifier` replaces `user` for abuse monitoring.
        user: match root.str("user")? {
            Some(user) => Some(user.to_string()),
            None => root.str("safety_identifier")?.map(str::to_string),
        },
        response_format,
        ..Params::default()
    })
}
