//! A DashScope generation request (a client of Qwen's native protocol) read into the
//! canonical model.

use super::content::{content_text, read_content, read_tool_call};
use crate::chat::{Invalid, Message, Params, Part, Reasoning, Request, Role, Tool, ToolChoice};
use crate::json::{object, Loc, Obj};
use serde_json::{Map, Value};

/// Reads `{model, input: {messages | prompt}, parameters}`: system messages join the system
/// parts (every one, in order); user contents are strings or `{text}` / `{image}` items (audio
/// and video are refused, naming the item); assistant messages keep `reasoning_content` and
/// `tool_calls`; consecutive `tool` messages become one user message of tool results.
/// `parameters` gives `max_tokens`, sampling, `stop`, tools, `tool_choice`,
/// `parallel_tool_calls`, and `enable_thinking` (with `thinking_budget`) as reasoning.
///
/// `stream` stays `false`: DashScope streams when the request has the `X-DashScope-SSE:
/// enable` header, which the caller reads. `incremental_output` and `result_format` concern
/// the reply the client reads ([`super::StreamEncoder::incremental`]); `n`, `seed`,
/// penalties and `enable_search` have no place in the model and are dropped.
pub fn read_request(body: &Value) -> Result<Request, Invalid> {
    let root = Obj::new(body, Loc::Root)?;
    let mut request = Request { model: root.str("model")?.unwrap_or_default().to_string(), ..Request::default() };
    let input = root.req_obj("input")?;
    match (input.array("messages")?, input.str("prompt")?) {
        (Some(messages), _) => {
            let at = input.at("messages");
            for (index, message) in messages.iter().enumerate() {
                read_message(&mut request, Obj::new(message, at.index(index))?)?;
            }
        }
        (None, Some(prompt)) => request.messages.push(Message {
            role: Role::User,
            parts: vec![Part::Text { text: prompt.to_string(), cache: None }],
            name: None,
        }),
        (None, None) => return Err(input.at("messages").invalid("an array")),
    }
    if let Some(parameters) = root.obj("parameters")? {
        read_parameters(&mut request, &parameters)?;
    }
    Ok(request)
}

fn read_message(request: &mut Request, message: Obj) -> Result<(), Invalid> {
    let name = message.str("name")?.map(str::to_string);
    match message.req_str("role")? {
        "system" => request.system.extend(read_content(&message, "content", false)?),
        "user" => {
            let parts = read_content(&message, "content", true)?;
            request.messages.push(Message { role: Role::User, parts, name });
        }
        "assistant" => {
            let mut parts = Vec::new();
            if let Some(reasoning) = message.str("reasoning_content")?.filter(|r| !r.is_empty()) {
                parts.push(Part::Reasoning { text: reasoning.to_string(), signature: None });
            }
            let text = content_text(&message, "content")?;
            if !text.is_empty() {
                parts.push(Part::Text { text: text.into_owned(), cache: None });
            }
            if let Some(calls) = message.array("tool_calls")? {
                let at = message.at("tool_calls");
                for (index, call) in calls.iter().enumerate() {
                    parts.push(read_tool_call(&Obj::new(call, at.index(index))?, index)?);
                }
            }
            request.messages.push(Message { role: Role::Assistant, parts, name });
        }
        "tool" => {
            // The call it answers: `tool_call_id`, else (older clients) the function's name.
            let call_id = message.str("tool_call_id")?.filter(|id| !id.is_empty()).or(name.as_deref());
            let result = Part::ToolResult {
                call_id: call_id.unwrap_or_default().to_string(),
                content: read_content(&message, "content", false)?,
                is_error: false,
            };
            request.push_tool_result(result);
        }
        _ => return Err(message.at("role").invalid("system, user, assistant or tool")),
    }
    Ok(())
}

fn read_parameters(request: &mut Request, parameters: &Obj) -> Result<(), Invalid> {
    // DashScope also takes token ids, which no other protocol has: refused.
    let stop = crate::openai::read_stop(parameters)?;
    let reasoning = match parameters.bool("enable_thinking")? {
        Some(true) => Some(Reasoning { effort: None, budget_tokens: parameters.u64("thinking_budget")? }),
        _ => None,
    };
    request.params = Params {
        max_tokens: parameters.u64("max_tokens")?,
        temperature: parameters.number("temperature")?,
        top_p: parameters.number("top_p")?,
        top_k: parameters.number("top_k")?,
        stop,
        reasoning,
        parallel_tool_calls: parameters.bool("parallel_tool_calls")?,
        user: None,
        include_usage: None,
        // DashScope's parameters take chat's shape.
        response_format: parameters.obj("response_format")?.map(|format| format.value().clone()),
    };
    if let Some(tools) = parameters.array("tools")? {
        let at = parameters.at("tools");
        for (index, tool) in tools.iter().enumerate() {
            request.tools.push(read_tool(&Obj::new(tool, at.index(index))?)?);
        }
    }
    request.tool_choice = read_tool_choice(parameters)?;
    Ok(())
}

/// `{type?: function, function: {name, description?, parameters?}}`.
fn read_tool(tool: &Obj) -> Result<Tool, Invalid> {
    if let Some(kind) = tool.str("type")? {
        if kind != "function" {
            return Err(tool.at("type").invalid("function"));
        }
    }
    let function = tool.req_obj("function")?;
    let parameters = match function.get("parameters") {
        None => object([("type", "object".into()), ("properties", Value::Object(Map::new()))]),
        Some(schema @ Value::Object(_)) => schema.clone(),
        Some(_) => return Err(function.at("parameters").invalid("a JSON schema object")),
    };
    Ok(Tool {
        name: function.req_str("name")?.to_string(),
        description: function.str("description")?.map(str::to_string),
        parameters,
        cache: None,
    })
}

/// `"auto" | "none" | "required"` or `{type: function, function: {name}}`.
fn read_tool_choice(parameters: &Obj) -> Result<Option<ToolChoice>, Invalid> {
    let expected = "auto, none, required or {type: function, function: {name}}";
    match parameters.get("tool_choice") {
        None => Ok(None),
        Some(Value::String(choice)) => {
            ToolChoice::keyword(choice).map(Some).ok_or_else(|| parameters.at("tool_choice").invalid(expected))
        }
        Some(Value::Object(_)) => {
            let choice = parameters.req_obj("tool_choice")?;
            let function = choice.req_obj("function")?;
            Ok(Some(ToolChoice::Tool(function.req_str("name")?.to_string())))
        }
        Some(_) => Err(parameters.at("tool_choice").invalid(expected)),
    }
}
