//! OpenAI's Responses API (`POST /v1/responses`): what the official SDKs' `client.responses`
//! and Codex-style agents send, answered by the shared [`model`] - the same text, tool calls
//! and usage as the chat completions of the same conversation.
//!
//! Request: `model`, `input` (a string: one user message; or items: messages `{type?:
//! "message", role: user|assistant|system|developer, content: string | parts}` with parts
//! `input_text`, `input_image` (`image_url` or `file_id`), `input_file`, `output_text`,
//! `refusal` (an assistant's content only `output_text` and `refusal`), `function_call{call_id,
//! name, arguments}`, `function_call_output{call_id, output}`, `reasoning`), `instructions`,
//! `tools` (flat function tools `{type: "function", name, description, parameters, strict}`;
//! hosted tools are echoed, never called), `tool_choice` (`auto`, `none`, `required`,
//! `{type: "function", name}`), `max_output_tokens` (cuts the reply to that many words; the
//! API's minimum of 16 is not enforced, so a test can cut a short answer), `temperature`,
//! `top_p`, `stream`, `reasoning{effort, summary}` (an effort other than `none` reasons),
//! `text{format, verbosity}`, `store`, `parallel_tool_calls`, `metadata`, `user`, `include`
//! (`reasoning.encrypted_content` adds an `encrypted_content` to the reasoning item), and the
//! API's other stateless parameters (`background`, `max_tool_calls`, `prompt_cache_key`,
//! `prompt_cache_retention`, `safety_identifier`, `service_tier`, `stream_options`,
//! `top_logprobs`, `truncation`), accepted without effect.
//!
//! Refused with OpenAI's 400 (`{"error": {"message", "type": "invalid_request_error", "param",
//! "code"}}`): a parameter the API does not have (`Unknown parameter: 'messages'.` - a chat
//! body sent here), no `model` or `input`, a `previous_response_id` (the mock stores nothing:
//! `Previous response with id '...' not found.`), an item or content part of another shape
//! (chat's `{"type": "text"}` parts, an assistant's `input_text`), a `function_call_output`
//! whose `call_id` no `function_call` of the input has (`No tool call found for function call
//! output with call_id ...`) and a `function_call` without its output (`No tool output found
//! for function call ...`), a chat-shaped tool (`tools[i].name` missing), a `tool_choice`
//! naming an undeclared function, a `text.format` of another type or a `json_schema` without
//! `name` or `schema`, an unknown `reasoning.effort`, values of the wrong type.
//!
//! The answer's subject is the last user message or function call output; `call <tool>` in a
//! last user message calls that declared tool (call ids `call_<k>`, counting the input's
//! function calls). Input tokens are the words of `instructions`, of every message and of
//! every function call output (as the chat mock counts system, user, assistant and tool
//! messages); output tokens those of the reasoning, the text and the arguments.
//!
//! Reply: the `Response` object - `id: "resp_mock_<n>"`, `object: "response"`, `created_at`,
//! `status` (`completed`, or `incomplete` with `incomplete_details: {reason:
//! "max_output_tokens"}` when `max_output_tokens` cut the text), `completed_at`, `model` (as
//! asked), `output` (`reasoning{id, summary: [{type: "summary_text", text}]}`, `message{id,
//! role: "assistant", status, content: [{type: "output_text", text, annotations: [],
//! logprobs: []}]}` or `function_call{id, call_id, name, arguments, status}` items),
//! `usage{input_tokens, input_tokens_details{cached_tokens, cache_write_tokens}, output_tokens,
//! output_tokens_details{reasoning_tokens}, total_tokens}` (`x-mock-cached-tokens` and
//! `x-mock-cache-creation-tokens` fill the details), and the request's settings echoed with
//! the API's defaults (`instructions`, `tools`, `tool_choice`, `parallel_tool_calls`, `text`,
//! `reasoning`, `temperature`, `top_p`, `max_output_tokens`, `store`, `metadata`, `user`,
//! `truncation`, ...), every field the SDK's `Response` type requires.
//!
//! Stream (`stream: true`): `event: <type>\ndata: {"type", "sequence_number" (from 0), ...}`
//! events - `response.created` and `response.in_progress` (the response `in_progress`, no
//! output, `usage: null`), then per output item `response.output_item.added`; a reasoning
//! item's `response.reasoning_summary_part.added`, `response.reasoning_summary_text.delta`
//! (one per word), `.done`, `response.reasoning_summary_part.done`; a message's
//! `response.content_part.added`, `response.output_text.delta` (one per word, as the chat mock
//! streams), `response.output_text.done`, `response.content_part.done`; a function call's
//! `response.function_call_arguments.delta` (8 characters each) and `.done`;
//! `response.output_item.done` - and `response.completed` (`response.incomplete` when cut)
//! with the whole response. No `[DONE]`. A mid-stream error (`x-mock-error-mid-stream`) is an
//! `error` event (`server_error`) and `response.failed` (the output so far, `error`) after the
//! first delta.

use super::model::{self, Answer, Ask, Stop, ToolChoice};
use super::openai::error;
use super::script::{Event, Script};
use super::{now, Reply};
use serde_json::{json, Map, Value};

/// The create request's top-level parameters the mock reads.
const READ: [&str; 17] = [
    "model",
    "input",
    "instructions",
    "tools",
    "tool_choice",
    "max_output_tokens",
    "temperature",
    "top_p",
    "stream",
    "reasoning",
    "text",
    "store",
    "previous_response_id",
    "parallel_tool_calls",
    "metadata",
    "user",
    "include",
];

/// The API's other stateless parameters: accepted, without effect.
const IGNORED: [&str; 9] = [
    "background",
    "max_tool_calls",
    "prompt_cache_key",
    "prompt_cache_retention",
    "safety_identifier",
    "service_tier",
    "stream_options",
    "top_logprobs",
    "truncation",
];

const ROLES: [&str; 4] = ["user", "assistant", "system", "developer"];
const ROLE_LIST: &str = "'assistant', 'system', 'developer', and 'user'";
const ITEM_LIST: &str = "'message', 'function_call', 'function_call_output', and 'reasoning'";
/// The content part types the API names when it refuses one.
const PARTS: [&str; 9] = [
    "input_text",
    "input_image",
    "input_audio",
    "output_text",
    "refusal",
    "input_file",
    "computer_screenshot",
    "summary_text",
    "encrypted_content",
];
const PART_LIST: &str = "'input_text', 'input_image', 'input_audio', 'output_text', 'refusal', 'input_file', 'computer_screenshot', 'summary_text', and 'encrypted_content'";
const EFFORTS: [&str; 7] = ["none", "minimal", "low", "medium", "high", "xhigh", "max"];
const EFFORT_LIST: &str = "'none', 'minimal', 'low', 'medium', 'high', 'xhigh', and 'max'";
/// What OpenAI says when it fails mid-stream.
const SERVER_ERROR: &str = "An error occurred while processing your request. You can retry your request, or contact us through our help center at help.openai.com if the error persists.";

fn bad(message: &str, code: Option<&str>, param: Option<&str>) -> Reply {
    Reply::Json(400, error(message, "invalid_request_error", code, param))
}

fn missing(param: &str) -> Reply {
    bad(&format!("Missing required parameter: '{param}'."), Some("missing_required_parameter"), Some(param))
}

fn invalid_value(value: &str, supported: &str, param: &str) -> Reply {
    bad(&format!("Invalid value: '{value}'. Supported values are: {supported}."), Some("invalid_value"), Some(param))
}

fn invalid_type(param: &str, expected: &str, got: &Value) -> Reply {
    let got = match got {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a decimal",
        Value::Number(_) => "an integer",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    let message = format!("Invalid type for '{param}': expected {expected}, but got {got} instead.");
    bad(&message, Some("invalid_type"), Some(param))
}

/// An input item, as far as the answer needs it.
#[derive(Debug, Clone, PartialEq)]
enum Item {
    /// A message: its role and the text of its text parts.
    Message {
        role: String,
        text: String,
    },
    /// A function call of an earlier turn (its `call_id`).
    Call(String),
    /// A function call's output.
    Output {
        call_id: String,
        text: String,
    },
    Reasoning,
}

/// `item[name]`, a string the item must have.
fn string(item: &Value, at: &str, name: &str) -> Result<String, Reply> {
    match &item[name] {
        Value::String(s) => Ok(s.clone()),
        Value::Null => Err(missing(&format!("{at}.{name}"))),
        other => Err(invalid_type(&format!("{at}.{name}"), "a string", other)),
    }
}

/// The input: a string is one user message.
fn read_input(input: &Value) -> Result<Vec<Item>, Reply> {
    match input {
        Value::String(text) => Ok(vec![Item::Message { role: "user".into(), text: text.clone() }]),
        Value::Array(items) => {
            items.iter().enumerate().map(|(i, item)| read_item(&format!("input[{i}]"), item)).collect()
        }
        Value::Null => Err(missing("input")),
        other => Err(invalid_type("input", "one of a string or array of input items", other)),
    }
}

fn read_item(at: &str, item: &Value) -> Result<Item, Reply> {
    if !item.is_object() {
        return Err(invalid_type(at, "an object", item));
    }
    let kind = match (&item["type"], &item["role"]) {
        (Value::Null, Value::Null) => return Err(missing(&format!("{at}.type"))),
        // The short form of a message.
        (Value::Null, _) => "message",
        (Value::String(kind), _) => kind.as_str(),
        (other, _) => return Err(invalid_type(&format!("{at}.type"), "a string", other)),
    };
    match kind {
        "message" => read_message(at, item),
        "function_call" => {
            let call_id = string(item, at, "call_id")?;
            string(item, at, "name")?;
            string(item, at, "arguments")?;
            Ok(Item::Call(call_id))
        }
        "function_call_output" => {
            let call_id = string(item, at, "call_id")?;
            let text = match &item["output"] {
                Value::String(text) => text.clone(),
                parts @ Value::Array(_) => model::content_text(parts),
                Value::Null => return Err(missing(&format!("{at}.output"))),
                other => return Err(invalid_type(&format!("{at}.output"), "one of a string or array", other)),
            };
            Ok(Item::Output { call_id, text })
        }
        "reasoning" => Ok(Item::Reasoning),
        other => Err(invalid_value(other, ITEM_LIST, &format!("{at}.type"))),
    }
}

fn read_message(at: &str, item: &Value) -> Result<Item, Reply> {
    let role = string(item, at, "role")?;
    if !ROLES.contains(&role.as_str()) {
        return Err(invalid_value(&role, ROLE_LIST, &format!("{at}.role")));
    }
    let text = match &item["content"] {
        Value::String(text) => text.clone(),
        Value::Array(parts) => {
            let mut texts = Vec::new();
            for (j, part) in parts.iter().enumerate() {
                if let Some(text) = read_part(&format!("{at}.content[{j}]"), &role, part)? {
                    texts.push(text);
                }
            }
            texts.join(" ")
        }
        Value::Null => return Err(missing(&format!("{at}.content"))),
        other => {
            return Err(invalid_type(&format!("{at}.content"), "one of a string or array of content parts", other))
        }
    };
    Ok(Item::Message { role, text })
}

/// A content part's text (`None` for an image, a file, ...).
fn read_part(at: &str, role: &str, part: &Value) -> Result<Option<String>, Reply> {
    let kind = string(part, at, "type")?;
    if !PARTS.contains(&kind.as_str()) {
        return Err(invalid_value(&kind, PART_LIST, &format!("{at}.type")));
    }
    if role == "assistant" && !matches!(kind.as_str(), "output_text" | "refusal") {
        return Err(invalid_value(&kind, "'output_text' and 'refusal'", at));
    }
    match kind.as_str() {
        "input_text" | "output_text" => string(part, at, "text").map(Some),
        "refusal" => string(part, at, "refusal").map(|_| None),
        "input_image" if part["image_url"].is_null() && part["file_id"].is_null() => {
            Err(missing(&format!("{at}.image_url")))
        }
        _ => Ok(None),
    }
}

/// Every `function_call_output` answers a `function_call` of the input, and every call has
/// its output.
fn check_calls(items: &[Item]) -> Result<(), Reply> {
    let calls: Vec<&str> =
        items.iter().filter_map(|i| if let Item::Call(id) = i { Some(id.as_str()) } else { None }).collect();
    let outputs: Vec<&str> = items
        .iter()
        .filter_map(|i| if let Item::Output { call_id, .. } = i { Some(call_id.as_str()) } else { None })
        .collect();
    if let Some(orphan) = outputs.iter().find(|id| !calls.contains(id)) {
        return Err(bad(
            &format!("No tool call found for function call output with call_id {orphan}."),
            None,
            Some("input"),
        ));
    }
    if let Some(unanswered) = calls.iter().find(|id| !outputs.contains(id)) {
        return Err(bad(&format!("No tool output found for function call {unanswered}."), None, Some("input")));
    }
    Ok(())
}

/// The declared function names, and the tools as the reply echoes them.
fn read_tools(tools: &Value) -> Result<(Vec<String>, Vec<Value>), Reply> {
    let tools = match tools {
        Value::Null => return Ok((Vec::new(), Vec::new())),
        Value::Array(tools) => tools,
        other => return Err(invalid_type("tools", "an array", other)),
    };
    let mut names = Vec::new();
    let mut echoed = Vec::new();
    for (i, tool) in tools.iter().enumerate() {
        let at = format!("tools[{i}]");
        if string(tool, &at, "type")? != "function" {
            echoed.push(tool.clone());
            continue;
        }
        let name = string(tool, &at, "name")?;
        if name.is_empty() {
            return Err(missing(&format!("{at}.name")));
        }
        echoed.push(json!({
            "type": "function",
            "name": name,
            "description": tool["description"],
            "parameters": tool["parameters"],
            "strict": tool["strict"].as_bool().unwrap_or(true),
        }));
        names.push(name);
    }
    Ok((names, echoed))
}

fn read_tool_choice(choice: &Value, tools: &[String]) -> Result<ToolChoice, Reply> {
    match choice {
        Value::Null => Ok(ToolChoice::Auto),
        Value::String(mode) => match mode.as_str() {
            "auto" => Ok(ToolChoice::Auto),
            "none" => Ok(ToolChoice::None),
            "required" => Ok(ToolChoice::Any),
            other => Err(invalid_value(other, "'none', 'auto', and 'required'", "tool_choice")),
        },
        Value::Object(_) => match string(choice, "tool_choice", "type")?.as_str() {
            "function" => {
                let name = string(choice, "tool_choice", "name")?;
                if !tools.contains(&name) {
                    let message = format!("Tool choice 'function' with name '{name}' not found in 'tools' parameter.");
                    return Err(bad(&message, Some("invalid_value"), Some("tool_choice")));
                }
                Ok(ToolChoice::Tool(name))
            }
            // Hosted tools and allowed lists: the message decides.
            _ => Ok(ToolChoice::Auto),
        },
        other => Err(invalid_type("tool_choice", "one of a string or object", other)),
    }
}

/// `text` as the reply echoes it (the API's defaults filled in).
fn read_text(text: &Value) -> Result<Value, Reply> {
    let config = match text {
        Value::Null => Map::new(),
        Value::Object(config) => config.clone(),
        other => return Err(invalid_type("text", "an object", other)),
    };
    let format = config.get("format").filter(|f| !f.is_null()).cloned().unwrap_or_else(|| json!({"type": "text"}));
    if !format.is_object() {
        return Err(invalid_type("text.format", "an object", &format));
    }
    match string(&format, "text.format", "type")?.as_str() {
        "text" | "json_object" => {}
        "json_schema" => {
            string(&format, "text.format", "name")?;
            match &format["schema"] {
                Value::Object(_) => {}
                Value::Null => return Err(missing("text.format.schema")),
                other => return Err(invalid_type("text.format.schema", "an object", other)),
            }
        }
        other => return Err(invalid_value(other, "'text', 'json_schema', and 'json_object'", "text.format.type")),
    }
    let verbosity = config.get("verbosity").filter(|v| !v.is_null()).cloned().unwrap_or_else(|| json!("medium"));
    Ok(json!({"format": format, "verbosity": verbosity}))
}

/// `request[name]` when it is null or of the kind `ok` accepts.
fn typed<'v>(request: &'v Value, name: &str, expected: &str, ok: fn(&Value) -> bool) -> Result<&'v Value, Reply> {
    let value = &request[name];
    match value.is_null() || ok(value) {
        true => Ok(value),
        false => Err(invalid_type(name, expected, value)),
    }
}

/// What the reply echoes of the request, and what the answer is asked.
struct Request {
    items: Vec<Item>,
    instructions: Option<String>,
    ask: Ask,
    stream: bool,
    encrypted_reasoning: bool,
    /// The response's fields but `id`, `status`, `output`, `usage`: the settings echoed.
    echo: Value,
}

fn read(body: &[u8]) -> Result<Request, Reply> {
    let request: Value = match serde_json::from_slice(body) {
        Ok(value @ Value::Object(_)) => value,
        Ok(_) => return Err(bad("The body of your request must be a JSON object.", Some("invalid_json"), None)),
        Err(e) => {
            let message = format!("We could not parse the JSON body of your request: {e}");
            return Err(bad(&message, Some("invalid_json"), None));
        }
    };
    if let Some(unknown) = request
        .as_object()
        .and_then(|fields| fields.keys().find(|k| !READ.contains(&k.as_str()) && !IGNORED.contains(&k.as_str())))
    {
        return Err(bad(&format!("Unknown parameter: '{unknown}'."), Some("unknown_parameter"), Some(unknown)));
    }
    let model = match &request["model"] {
        Value::String(model) if !model.is_empty() => model.clone(),
        Value::Null | Value::String(_) => return Err(missing("model")),
        other => return Err(invalid_type("model", "a string", other)),
    };
    match &request["previous_response_id"] {
        Value::Null => {}
        Value::String(id) => {
            let message = format!("Previous response with id '{id}' not found.");
            return Err(bad(&message, Some("previous_response_not_found"), Some("previous_response_id")));
        }
        other => return Err(invalid_type("previous_response_id", "a string", other)),
    }
    let items = read_input(&request["input"])?;
    check_calls(&items)?;
    let instructions = typed(&request, "instructions", "a string", Value::is_string)?.as_str().map(str::to_string);
    let (tools, echoed_tools) = read_tools(&request["tools"])?;
    let choice = read_tool_choice(&request["tool_choice"], &tools)?;
    let max_output_tokens = typed(&request, "max_output_tokens", "an integer", Value::is_u64)?.as_u64();
    let temperature = typed(&request, "temperature", "a decimal", Value::is_number)?;
    let top_p = typed(&request, "top_p", "a decimal", Value::is_number)?;
    let stream = typed(&request, "stream", "a boolean", Value::is_boolean)?.as_bool() == Some(true);
    let store = typed(&request, "store", "a boolean", Value::is_boolean)?.as_bool().unwrap_or(true);
    let parallel = typed(&request, "parallel_tool_calls", "a boolean", Value::is_boolean)?.as_bool().unwrap_or(true);
    let metadata = typed(&request, "metadata", "an object", Value::is_object)?;
    let user = typed(&request, "user", "a string", Value::is_string)?;
    let include = typed(&request, "include", "an array", Value::is_array)?;
    let reasoning = typed(&request, "reasoning", "an object", Value::is_object)?;
    let effort = match &reasoning["effort"] {
        Value::Null => None,
        Value::String(effort) if EFFORTS.contains(&effort.as_str()) => Some(effort.clone()),
        Value::String(other) => return Err(invalid_value(other, EFFORT_LIST, "reasoning.effort")),
        other => return Err(invalid_type("reasoning.effort", "a string", other)),
    };
    let text = read_text(&request["text"])?;
    let last = items.last();
    let ask = Ask {
        subject: subject(&items),
        user_text: match last {
            Some(Item::Message { role, text }) if role == "user" => Some(text.clone()),
            _ => None,
        },
        tools,
        choice,
        parallel,
        reasoning: effort.as_deref().is_some_and(|e| e != "none"),
        max_tokens: max_output_tokens,
        stop: Vec::new(),
        prior_tool_calls: items.iter().filter(|i| matches!(i, Item::Call(_))).count(),
        id_prefix: "call_",
    };
    let echo = json!({
        "object": "response",
        "created_at": now(),
        "background": false,
        "error": null,
        "incomplete_details": null,
        "instructions": instructions,
        "max_output_tokens": max_output_tokens,
        "max_tool_calls": null,
        "model": model,
        "parallel_tool_calls": parallel,
        "previous_response_id": null,
        "prompt_cache_key": null,
        "reasoning": {"effort": effort, "summary": reasoning["summary"]},
        "safety_identifier": null,
        "service_tier": "default",
        "store": store,
        "temperature": if temperature.is_null() { json!(1.0) } else { temperature.clone() },
        "text": text,
        "tool_choice": if request["tool_choice"].is_null() { json!("auto") } else { request["tool_choice"].clone() },
        "tools": echoed_tools,
        "top_logprobs": 0,
        "top_p": if top_p.is_null() { json!(1.0) } else { top_p.clone() },
        "truncation": "disabled",
        "user": user,
        "metadata": if metadata.is_null() { json!({}) } else { metadata.clone() },
    });
    let encrypted_reasoning =
        include.as_array().is_some_and(|names| names.iter().any(|n| n == "reasoning.encrypted_content"));
    Ok(Request { items, instructions, ask, stream, encrypted_reasoning, echo })
}

/// The text of the last user message or function call output.
fn subject(items: &[Item]) -> String {
    items
        .iter()
        .rev()
        .find_map(|item| match item {
            Item::Message { role, text } if role == "user" => Some(text.clone()),
            Item::Output { text, .. } => Some(text.clone()),
            _ => None,
        })
        .unwrap_or_default()
}

/// Input tokens: the words of the instructions, the messages and the function call outputs.
fn input_tokens(request: &Request) -> u64 {
    let items: u64 = request
        .items
        .iter()
        .map(|item| match item {
            Item::Message { text, .. } | Item::Output { text, .. } => model::tokens(text),
            Item::Call(_) | Item::Reasoning => 0,
        })
        .sum();
    request.instructions.as_deref().map_or(0, model::tokens) + items
}

/// The output items of `answer`, complete.
fn output(answer: &Answer, n: u64, encrypted_reasoning: bool) -> Vec<Value> {
    let mut items = Vec::new();
    if let Some(reasoning) = &answer.reasoning {
        let mut item = json!({"id": format!("rs_mock_{n}_{}", items.len()), "type": "reasoning",
            "summary": [{"type": "summary_text", "text": reasoning}]});
        if encrypted_reasoning {
            item["encrypted_content"] = json!(model::signature(reasoning));
        }
        items.push(item);
    }
    // A text cut to nothing (the reasoning used every token) is no message.
    if let Some(text) = answer.text.as_deref().filter(|t| !t.is_empty() || answer.stop != Stop::Length) {
        let status = if answer.stop == Stop::Length { "incomplete" } else { "completed" };
        items.push(json!({
            "id": format!("msg_mock_{n}_{}", items.len()), "type": "message", "status": status, "role": "assistant",
            "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}],
        }));
    }
    for call in &answer.tool_calls {
        items.push(json!({
            "id": format!("fc_mock_{n}_{}", items.len()), "type": "function_call", "status": "completed",
            "arguments": call.arguments, "call_id": call.id, "name": call.name,
        }));
    }
    items
}

/// The whole response: `echo` with its id, status, output and usage.
fn response(echo: &Value, id: &str, status: &str, output: Vec<Value>, usage: Value) -> Value {
    let mut response = echo.clone();
    response["id"] = json!(id);
    response["status"] = json!(status);
    response["output"] = json!(output);
    response["usage"] = usage;
    response["completed_at"] = if status == "completed" { json!(now()) } else { Value::Null };
    if status == "incomplete" {
        response["incomplete_details"] = json!({"reason": "max_output_tokens"});
    }
    response
}

/// Answers a create request.
pub fn respond(body: &[u8], n: u64, script: &Script) -> Reply {
    let request = match read(body) {
        Ok(request) => request,
        Err(reply) => return reply,
    };
    let answer = model::answer(&request.ask);
    let input_tokens = input_tokens(&request);
    let output_tokens = answer.output_tokens();
    let usage = json!({
        "input_tokens": input_tokens,
        "input_tokens_details": {
            "cached_tokens": script.cached_tokens.min(input_tokens),
            "cache_write_tokens": script.cache_creation_tokens.min(input_tokens),
        },
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": answer.reasoning_tokens()},
        "total_tokens": input_tokens + output_tokens,
    });
    let id = format!("resp_mock_{n}");
    let status = if answer.stop == Stop::Length { "incomplete" } else { "completed" };
    let items = output(&answer, n, request.encrypted_reasoning);
    let whole = response(&request.echo, &id, status, items.clone(), usage);
    if !request.stream {
        return Reply::Json(200, whole);
    }
    let mut stream = Stream::new(response(&request.echo, &id, "in_progress", Vec::new(), Value::Null));
    stream.emit("response.created", json!({"response": stream.started}), false);
    stream.emit("response.in_progress", json!({"response": stream.started}), false);
    for (index, item) in items.iter().enumerate() {
        stream.item(index, item);
    }
    let last = if status == "incomplete" { "response.incomplete" } else { "response.completed" };
    stream.emit(last, json!({ "response": whole }), false);
    let failure = stream.failure.take().unwrap_or_else(|| stream.failure_events());
    Reply::Stream(stream.events, failure)
}

/// A response's events as they are built, and its failure at the first delta.
struct Stream {
    events: Vec<Event>,
    /// The response as `response.created` shows it.
    started: Value,
    /// The output items as they stand.
    output: Vec<Value>,
    /// The `error` and `response.failed` events that follow the first delta when the stream fails.
    failure: Option<String>,
}

impl Stream {
    fn new(started: Value) -> Stream {
        Stream { events: Vec::new(), started, output: Vec::new(), failure: None }
    }

    /// Adds event `kind` with `fields` (its `type` and `sequence_number` added).
    fn emit(&mut self, kind: &str, mut fields: Value, delta: bool) {
        fields["type"] = json!(kind);
        fields["sequence_number"] = json!(self.events.len());
        let text = format!("event: {kind}\ndata: {fields}\n\n");
        self.events.push(if delta { Event::delta(text) } else { Event::new(text) });
        if delta && self.failure.is_none() {
            self.failure = Some(self.failure_events());
        }
    }

    /// An `error` event and `response.failed` with the output so far, numbered after the
    /// events sent.
    fn failure_events(&self) -> String {
        let seq = self.events.len();
        let error = json!({"type": "error", "code": "server_error", "message": SERVER_ERROR, "param": null,
            "sequence_number": seq});
        let mut response = self.started.clone();
        response["status"] = json!("failed");
        response["output"] = json!(self.output);
        response["error"] = json!({"code": "server_error", "message": SERVER_ERROR});
        let failed = json!({"type": "response.failed", "sequence_number": seq + 1, "response": response});
        format!("event: error\ndata: {error}\n\nevent: response.failed\ndata: {failed}\n\n")
    }

    /// The events of output item `index` (`item` complete).
    fn item(&mut self, index: usize, item: &Value) {
        let id = item["id"].clone();
        let mut added = item.clone();
        match item["type"].as_str() {
            Some("reasoning") => added["summary"] = json!([]),
            Some("message") => {
                added["status"] = json!("in_progress");
                added["content"] = json!([]);
            }
            _ => {
                added["status"] = json!("in_progress");
                added["arguments"] = json!("");
            }
        }
        self.output.push(added.clone());
        self.emit("response.output_item.added", json!({"output_index": index, "item": added}), false);
        match item["type"].as_str() {
            Some("reasoning") => {
                let text = item["summary"][0]["text"].as_str().unwrap_or_default();
                let at = json!({"item_id": id, "output_index": index, "summary_index": 0});
                let part = |text: &str| json!({"type": "summary_text", "text": text});
                self.set(index, "summary", json!([part("")]));
                self.emit("response.reasoning_summary_part.added", with(&at, "part", part("")), false);
                let mut sent = String::new();
                for piece in model::word_pieces(text) {
                    sent.push_str(&piece);
                    self.set(index, "summary", json!([part(&sent)]));
                    self.emit("response.reasoning_summary_text.delta", with(&at, "delta", json!(piece)), true);
                }
                self.emit("response.reasoning_summary_text.done", with(&at, "text", json!(text)), false);
                self.emit("response.reasoning_summary_part.done", with(&at, "part", part(text)), false);
            }
            Some("message") => {
                let text = item["content"][0]["text"].as_str().unwrap_or_default();
                let at = json!({"item_id": id, "output_index": index, "content_index": 0});
                let part = |text: &str| json!({"type": "output_text", "text": text, "annotations": [], "logprobs": []});
                self.set(index, "content", json!([part("")]));
                self.emit("response.content_part.added", with(&at, "part", part("")), false);
                let mut sent = String::new();
                for piece in model::word_pieces(text) {
                    sent.push_str(&piece);
                    self.set(index, "content", json!([part(&sent)]));
                    let delta = with(&with(&at, "delta", json!(piece)), "logprobs", json!([]));
                    self.emit("response.output_text.delta", delta, true);
                }
                let done = with(&with(&at, "text", json!(text)), "logprobs", json!([]));
                self.emit("response.output_text.done", done, false);
                self.emit("response.content_part.done", with(&at, "part", part(text)), false);
            }
            _ => {
                let arguments = item["arguments"].as_str().unwrap_or_default();
                let at = json!({"item_id": id, "output_index": index});
                let mut sent = String::new();
                for piece in model::char_pieces(arguments, 8) {
                    sent.push_str(&piece);
                    self.set(index, "arguments", json!(sent));
                    self.emit("response.function_call_arguments.delta", with(&at, "delta", json!(piece)), true);
                }
                self.emit("response.function_call_arguments.done", with(&at, "arguments", json!(arguments)), false);
            }
        }
        self.set_item(index, item.clone());
        self.emit("response.output_item.done", json!({"output_index": index, "item": item}), false);
    }

    /// Sets field `name` of output item `index` as it stands.
    fn set(&mut self, index: usize, name: &str, value: Value) {
        if let Some(item) = self.output.get_mut(index) {
            item[name] = value;
        }
    }

    fn set_item(&mut self, index: usize, item: Value) {
        if let Some(slot) = self.output.get_mut(index) {
            *slot = item;
        }
    }
}

/// `fields` with `name: value` added.
fn with(fields: &Value, name: &str, value: Value) -> Value {
    let mut fields = fields.clone();
    fields[name] = value;
    fields
}

#[cfg(test)]
mod tests {
    use super::super::{openai, spawn, LlmMock, Protocol, Route};
    use super::*;
    use crate::client::Gateway;
    use std::time::Duration;

    fn answer(request: Value) -> (u16, Value) {
        answer_with(request, &Script::default())
    }

    fn answer_with(request: Value, script: &Script) -> (u16, Value) {
        match respond(request.to_string().as_bytes(), 7, script) {
            Reply::Json(status, value) => (status, value),
            Reply::Stream(..) => (0, Value::Null),
        }
    }

    /// The events of a stream: `(event name, data)`.
    fn events(text: &str) -> Vec<(String, Value)> {
        text.split("\n\n")
            .filter(|e| !e.is_empty())
            .map(|event| {
                let (name, data) = event.split_once('\n').unwrap_or_default();
                let data = data.strip_prefix("data: ").unwrap_or_default();
                (name.trim_start_matches("event: ").to_string(), serde_json::from_str(data).unwrap_or_default())
            })
            .collect()
    }

    fn streamed(request: Value) -> (Vec<(String, Value)>, String) {
        match respond(request.to_string().as_bytes(), 7, &Script::default()) {
            Reply::Stream(list, failure) => {
                (events(&list.iter().map(|e| e.text.as_str()).collect::<String>()), failure)
            }
            Reply::Json(status, value) => panic!("not a stream: {status} {value}"),
        }
    }

    fn refusal(request: Value) -> (u16, String, Value) {
        let (status, value) = answer(request);
        (status, value["error"]["message"].as_str().unwrap_or_default().to_string(), value["error"]["param"].clone())
    }

    const TOOL: &str = "get_weather";

    fn tool() -> Value {
        json!({"type": "function", "name": TOOL, "description": "Weather", "parameters": {"type": "object"}})
    }

    #[test]
    fn routes() {
        assert_eq!(Route::of("/v1/responses"), Route::OpenAiResponses);
        assert_eq!(Route::of("/compatible-mode/v1/responses"), Route::OpenAiResponses);
        assert_eq!(Route::of("/api/v3/responses").protocol(), Protocol::Responses);
        assert_eq!(Route::of("/openai/responses"), Route::Unknown(Protocol::Azure), "Azure's: not served");
        assert_eq!(Route::of("/openai/v1/responses").protocol(), Protocol::Azure);
        assert_eq!(Route::of("/v1/responses/resp_1"), Route::Unknown(Protocol::OpenAi));
        assert_eq!(Protocol::Responses.as_str(), "responses");
    }

    #[test]
    fn answers_a_response() {
        let (status, reply) =
            answer(json!({"model": "gpt-4o", "instructions": "Be brief.", "input": "hi there", "store": false}));
        assert_eq!(status, 200, "{reply}");
        assert_eq!(
            (reply["id"].clone(), reply["object"].clone(), reply["status"].clone(), reply["model"].clone()),
            (json!("resp_mock_7"), json!("response"), json!("completed"), json!("gpt-4o"))
        );
        assert_eq!(
            reply["output"],
            json!([{"id": "msg_mock_7_0", "type": "message", "status": "completed", "role": "assistant",
                "content": [{"type": "output_text", "text": "Mock reply to: hi there", "annotations": [], "logprobs": []}]}])
        );
        assert_eq!(
            reply["usage"],
            json!({"input_tokens": 4, "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
                "output_tokens": 5, "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 9})
        );
        // The settings echoed, with the API's defaults.
        assert_eq!(
            (
                reply["instructions"].clone(),
                reply["store"].clone(),
                reply["tools"].clone(),
                reply["tool_choice"].clone()
            ),
            (json!("Be brief."), json!(false), json!([]), json!("auto"))
        );
        assert_eq!(reply["text"], json!({"format": {"type": "text"}, "verbosity": "medium"}));
        assert_eq!((reply["parallel_tool_calls"].clone(), reply["metadata"].clone()), (json!(true), json!({})));
        assert_eq!((reply["incomplete_details"].clone(), reply["error"].clone()), (Value::Null, Value::Null));
        assert!(reply["created_at"].is_u64() && reply["completed_at"].is_u64());
        // Cached tokens as scripted; items given as parts; the short form of a message.
        let script = Script { cached_tokens: 3, ..Script::default() };
        let input = json!([
            {"type": "message", "role": "developer", "content": "Be brief."},
            {"role": "user", "content": [{"type": "input_text", "text": "what is"},
                {"type": "input_image", "image_url": "data:image/png;base64,AAAA", "detail": "auto"},
                {"type": "input_text", "text": "this?"}]},
        ]);
        let (_, reply) = answer_with(json!({"model": "m", "input": input}), &script);
        assert_eq!(reply["output"][0]["content"][0]["text"], "Mock reply to: what is this?");
        assert_eq!(reply["usage"]["input_tokens"], 5);
        assert_eq!(reply["usage"]["input_tokens_details"]["cached_tokens"], 3);
    }

    #[test]
    fn answers_as_the_chat_mock_does() {
        // One conversation as chat messages and as response items: the same text and usage.
        let chat = json!({"model": "m", "tools": [{"type": "function", "function": {"name": TOOL}}], "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "call get_weather Paris now"},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function",
                "function": {"name": TOOL, "arguments": "{\"q\":\"Paris now\"}"}}]},
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny and warm"},
        ]});
        let Reply::Json(200, chat) =
            openai::chat(chat.to_string().as_bytes(), &openai::Flavor::OpenAi, 1, &Script::default())
        else {
            panic!("the chat mock refused")
        };
        let (status, reply) = answer(json!({"model": "m", "instructions": "Be brief.", "tools": [tool()], "input": [
            {"role": "user", "content": "call get_weather Paris now"},
            {"type": "function_call", "call_id": "call_1", "name": TOOL, "arguments": "{\"q\":\"Paris now\"}"},
            {"type": "function_call_output", "call_id": "call_1", "output": "sunny and warm"},
        ]}));
        assert_eq!(status, 200, "{reply}");
        assert_eq!(reply["output"][0]["content"][0]["text"], chat["choices"][0]["message"]["content"]);
        assert_eq!(reply["output"][0]["content"][0]["text"], "Mock reply to: sunny and warm");
        let usage = &chat["usage"];
        assert_eq!(
            (reply["usage"]["input_tokens"].clone(), reply["usage"]["output_tokens"].clone()),
            (usage["prompt_tokens"].clone(), usage["completion_tokens"].clone())
        );
    }

    #[test]
    fn calls_tools() {
        let request = json!({"model": "m", "tools": [tool(), {"type": "web_search"}],
            "input": "call get_weather Paris today", "parallel_tool_calls": false});
        let (status, reply) = answer(request);
        assert_eq!(status, 200, "{reply}");
        assert_eq!(
            reply["output"],
            json!([{"id": "fc_mock_7_0", "type": "function_call", "status": "completed",
                "arguments": "{\"q\":\"Paris today\"}", "call_id": "call_1", "name": TOOL}])
        );
        assert_eq!(
            reply["tools"],
            json!([{"type": "function", "name": TOOL, "description": "Weather", "parameters": {"type": "object"},
                "strict": true}, {"type": "web_search"}])
        );
        assert_eq!((reply["status"].clone(), reply["parallel_tool_calls"].clone()), (json!("completed"), json!(false)));
        assert_eq!(reply["usage"]["output_tokens"], 2);
        // A forced function; call ids go on after the input's calls.
        let forced = json!({"model": "m", "tools": [tool()], "tool_choice": {"type": "function", "name": TOOL}, "input": [
            {"role": "user", "content": "call get_weather x"},
            {"type": "function_call", "call_id": "call_1", "name": TOOL, "arguments": "{}"},
            {"type": "function_call_output", "call_id": "call_1", "output": [{"type": "input_text", "text": "rain"}]},
            {"role": "user", "content": "and Rome?"},
        ]});
        let (_, reply) = answer(forced);
        assert_eq!(
            (reply["output"][0]["call_id"].clone(), reply["output"][0]["arguments"].clone()),
            (json!("call_2"), json!("{\"q\":\"and Rome?\"}"))
        );
        assert_eq!(reply["tool_choice"], json!({"type": "function", "name": TOOL}));
        let none = json!({"model": "m", "tools": [tool()], "tool_choice": "none", "input": "call get_weather x"});
        assert_eq!(answer(none).1["output"][0]["type"], "message");
    }

    #[test]
    fn reasons_and_stops_at_max_output_tokens() {
        let request = json!({"model": "m", "input": "one two", "reasoning": {"effort": "low", "summary": "auto"},
            "include": ["reasoning.encrypted_content"]});
        let (_, reply) = answer(request);
        let reasoning = &reply["output"][0];
        assert_eq!((reasoning["id"].clone(), reasoning["type"].clone()), (json!("rs_mock_7_0"), json!("reasoning")));
        assert_eq!(reasoning["summary"], json!([{"type": "summary_text", "text": "Mock reasoning about: one two"}]));
        assert_eq!(reasoning["encrypted_content"], json!(model::signature("Mock reasoning about: one two")));
        assert_eq!(reply["output"][1]["id"], "msg_mock_7_1");
        assert_eq!(reply["usage"]["output_tokens_details"]["reasoning_tokens"], 5);
        assert_eq!(reply["usage"]["output_tokens"], 10);
        assert_eq!(reply["reasoning"], json!({"effort": "low", "summary": "auto"}));
        let (_, none) = answer(json!({"model": "m", "input": "x", "reasoning": {"effort": "none"}}));
        assert_eq!(none["output"][0]["type"], "message");
        let (_, cut) = answer(json!({"model": "m", "input": "one two", "max_output_tokens": 2}));
        assert_eq!(
            (cut["status"].clone(), cut["incomplete_details"].clone(), cut["completed_at"].clone()),
            (json!("incomplete"), json!({"reason": "max_output_tokens"}), Value::Null)
        );
        assert_eq!(
            (cut["output"][0]["status"].clone(), cut["output"][0]["content"][0]["text"].clone()),
            (json!("incomplete"), json!("Mock reply"))
        );
        assert_eq!(cut["max_output_tokens"], 2);
        // Reasoning that uses every token leaves no message.
        let (_, spent) =
            answer(json!({"model": "m", "input": "a", "max_output_tokens": 4, "reasoning": {"effort": "high"}}));
        assert_eq!(spent["output"].as_array().map(Vec::len), Some(1));
        assert_eq!(spent["status"], "incomplete");
    }

    #[test]
    fn refuses_what_the_api_refuses() {
        let chat = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]});
        assert_eq!(refusal(chat), (400, "Unknown parameter: 'messages'.".into(), json!("messages")));
        assert_eq!(answer(json!({"model": "m", "messages": [], "input": "x"})).1["error"]["code"], "unknown_parameter");
        assert_eq!(
            refusal(json!({"input": "x"})),
            (400, "Missing required parameter: 'model'.".into(), json!("model"))
        );
        assert_eq!(refusal(json!({"model": "m"})).2, json!("input"));
        assert_eq!(
            refusal(json!({"model": "m", "input": "x", "previous_response_id": "resp_1"})),
            (400, "Previous response with id 'resp_1' not found.".into(), json!("previous_response_id"))
        );
        let orphan = json!({"model": "m", "input": [{"role": "user", "content": "x"},
            {"type": "function_call_output", "call_id": "call_9", "output": "r"}]});
        assert_eq!(
            refusal(orphan),
            (400, "No tool call found for function call output with call_id call_9.".into(), json!("input"))
        );
        let unanswered = json!({"model": "m", "input": [{"role": "user", "content": "x"},
            {"type": "function_call", "call_id": "call_1", "name": "f", "arguments": "{}"}]});
        assert_eq!(refusal(unanswered).1, "No tool output found for function call call_1.");
        let chat_tool = json!({"model": "m", "input": "x", "tools": [{"type": "function", "function": {"name": "f"}}]});
        assert_eq!(refusal(chat_tool).2, json!("tools[0].name"));
        let chat_part = json!({"model": "m", "input": [{"role": "user", "content": [{"type": "text", "text": "x"}]}]});
        let (status, message, param) = refusal(chat_part);
        assert_eq!((status, param), (400, json!("input[0].content[0].type")));
        assert!(message.starts_with("Invalid value: 'text'. Supported values are: 'input_text', "), "{message}");
        let assistant = json!({"model": "m", "input": [{"role": "assistant", "content": [{"type": "input_text", "text": "x"}]},
            {"role": "user", "content": "y"}]});
        assert_eq!(
            refusal(assistant),
            (
                400,
                "Invalid value: 'input_text'. Supported values are: 'output_text' and 'refusal'.".into(),
                json!("input[0].content[0]")
            )
        );
        let role = json!({"model": "m", "input": [{"role": "tool", "content": "x"}]});
        assert_eq!(refusal(role).2, json!("input[0].role"));
        let item = json!({"model": "m", "input": [{"type": "item_reference", "id": "msg_1"}]});
        assert_eq!(refusal(item).2, json!("input[0].type"));
        let choice =
            json!({"model": "m", "input": "x", "tools": [tool()], "tool_choice": {"type": "function", "name": "g"}});
        assert_eq!(refusal(choice).2, json!("tool_choice"));
        assert_eq!(refusal(json!({"model": "m", "input": "x", "tool_choice": "any"})).2, json!("tool_choice"));
        let effort = json!({"model": "m", "input": "x", "reasoning": {"effort": "extreme"}});
        assert_eq!(refusal(effort).2, json!("reasoning.effort"));
        let schema = json!({"model": "m", "input": "x", "text": {"format": {"type": "json_schema", "schema": {}}}});
        assert_eq!(refusal(schema).2, json!("text.format.name"));
        let (status, message, _) = refusal(json!({"model": "m", "input": "x", "max_output_tokens": "5"}));
        assert_eq!(
            (status, message.as_str()),
            (400, "Invalid type for 'max_output_tokens': expected an integer, but got a string instead.")
        );
        assert_eq!(refusal(json!({"model": "m", "input": {"role": "user"}})).2, json!("input"));
        let (status, reply) = match respond(b"{", 1, &Script::default()) {
            Reply::Json(status, value) => (status, value),
            Reply::Stream(..) => (0, Value::Null),
        };
        assert_eq!((status, reply["error"]["code"].clone()), (400, json!("invalid_json")));
        // Stateless parameters the mock does not use are accepted.
        let accepted = json!({"model": "m", "input": "x", "truncation": "auto", "service_tier": "auto",
            "prompt_cache_key": "k", "metadata": {"a": "b"}, "user": "u", "temperature": 0.5, "top_p": 0.9,
            "text": {"format": {"type": "json_schema", "name": "s", "schema": {"type": "object"}}}});
        let (status, reply) = answer(accepted);
        assert_eq!(status, 200, "{reply}");
        assert_eq!((reply["temperature"].clone(), reply["metadata"]["a"].clone()), (json!(0.5), json!("b")));
        assert_eq!(reply["text"]["format"]["name"], "s");
    }

    /// Checks a stream's framing and numbering; returns its event types.
    fn check_stream(events: &[(String, Value)]) -> Vec<String> {
        for (i, (name, data)) in events.iter().enumerate() {
            assert_eq!(data["type"].as_str(), Some(name.as_str()), "event {i}: {data}");
            assert_eq!(data["sequence_number"], json!(i), "event {i}: {data}");
        }
        events.iter().map(|(name, _)| name.clone()).collect()
    }

    fn concat(events: &[(String, Value)], kind: &str) -> String {
        events.iter().filter(|(name, _)| name == kind).filter_map(|(_, data)| data["delta"].as_str()).collect()
    }

    #[test]
    fn streams_events_in_order() {
        let request = json!({"model": "m", "input": "one two", "stream": true, "reasoning": {"effort": "low"}});
        let (events, _) = streamed(request.clone());
        let kinds = check_stream(&events);
        let mut expected = vec![
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.reasoning_summary_part.added",
        ];
        expected.extend(["response.reasoning_summary_text.delta"; 5]);
        expected.extend([
            "response.reasoning_summary_text.done",
            "response.reasoning_summary_part.done",
            "response.output_item.done",
            "response.output_item.added",
            "response.content_part.added",
        ]);
        expected.extend(["response.output_text.delta"; 5]);
        expected.extend([
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.completed",
        ]);
        assert_eq!(kinds, expected);
        assert_eq!(concat(&events, "response.output_text.delta"), "Mock reply to: one two");
        assert_eq!(concat(&events, "response.reasoning_summary_text.delta"), "Mock reasoning about: one two");
        let created = &events[0].1["response"];
        assert_eq!(
            (created["status"].clone(), created["output"].clone(), created["usage"].clone()),
            (json!("in_progress"), json!([]), Value::Null)
        );
        let added = &events[12].1;
        assert_eq!(
            added["item"],
            json!({"id": "msg_mock_7_1", "type": "message", "status": "in_progress", "role": "assistant", "content": []})
        );
        assert_eq!(added["output_index"], 1);
        let delta = &events[14].1;
        assert_eq!(
            (delta["item_id"].clone(), delta["content_index"].clone(), delta["logprobs"].clone()),
            (json!("msg_mock_7_1"), json!(0), json!([]))
        );
        // The last event has the whole response: what the request answers without a stream.
        let mut whole = answer(json!({"model": "m", "input": "one two", "reasoning": {"effort": "low"}})).1;
        let mut last = events.last().map(|(_, data)| data["response"].clone()).unwrap_or_default();
        for response in [&mut whole, &mut last] {
            response["created_at"] = Value::Null;
            response["completed_at"] = Value::Null;
        }
        assert_eq!(last, whole);
        assert!(!events.iter().any(|(name, _)| name.contains("DONE")));
    }

    #[test]
    fn streams_function_calls_and_incomplete_answers() {
        let request =
            json!({"model": "m", "input": "call get_weather Paris in spring", "tools": [tool()], "stream": true});
        let (events, _) = streamed(request);
        let kinds = check_stream(&events);
        assert_eq!(kinds.iter().filter(|k| *k == "response.function_call_arguments.delta").count(), 3);
        assert_eq!(concat(&events, "response.function_call_arguments.delta"), r#"{"q":"Paris in spring"}"#);
        let added = &events[2].1["item"];
        assert_eq!(
            (added["status"].clone(), added["arguments"].clone(), added["call_id"].clone()),
            (json!("in_progress"), json!(""), json!("call_1"))
        );
        let done = events.iter().find(|(name, _)| name == "response.function_call_arguments.done");
        assert_eq!(done.map(|(_, d)| d["arguments"].clone()), Some(json!(r#"{"q":"Paris in spring"}"#)));
        assert_eq!(kinds.last().map(String::as_str), Some("response.completed"));
        let (events, _) = streamed(json!({"model": "m", "input": "one two", "stream": true, "max_output_tokens": 3}));
        let last = &events.last().map(|(_, data)| data.clone()).unwrap_or_default();
        assert_eq!(
            (last["type"].clone(), last["response"]["incomplete_details"]["reason"].clone()),
            (json!("response.incomplete"), json!("max_output_tokens"))
        );
    }

    #[test]
    fn fails_mid_stream_as_scripted() {
        let mock = LlmMock::new(Duration::ZERO);
        let journal = mock.journal().clone();
        let address = crate::server::spawn_background(move |req| mock.clone().handle(req));
        let client = Gateway::new(&address.to_string());
        let body = json!({"model": "m", "input": "one two", "stream": true}).to_string();
        let reply = client
            .post("llm", "/v1/responses", body.clone())
            .header("authorization", "Bearer k")
            .header("x-mock-tag", "responses-a")
            .header("x-mock-error-mid-stream", "1")
            .send();
        assert_eq!(
            (reply.status, reply.header("content-type"), reply.header("x-llm-mock-protocol")),
            (200, Some("text/event-stream"), Some("responses"))
        );
        let text = reply.text();
        let events = events(&text);
        let kinds = check_stream(&events);
        assert_eq!(
            kinds,
            [
                "response.created",
                "response.in_progress",
                "response.output_item.added",
                "response.content_part.added",
                "response.output_text.delta",
                "error",
                "response.failed"
            ]
        );
        assert_eq!(events[5].1["code"], "server_error");
        let failed = &events[6].1["response"];
        assert_eq!(
            (failed["status"].clone(), failed["error"]["code"].clone()),
            (json!("failed"), json!("server_error"))
        );
        assert_eq!(failed["output"][0]["content"][0]["text"], "Mock ");
        assert_eq!(failed["output"][0]["status"], "in_progress");
        let entry = journal.find(Some("responses-a"), None).remove(0);
        assert_eq!((entry["protocol"].clone(), entry["key"].clone()), (json!("responses"), json!("k")));
        // Scripted statuses and faults as for chat.
        let busy = client
            .post("llm", "/v1/responses", body.clone())
            .header("authorization", "Bearer k")
            .header("x-mock-status", "429")
            .send();
        assert_eq!((busy.status, busy.header("retry-after")), (429, Some("1")));
        assert_eq!(busy.json()["error"]["code"], "rate_limit_exceeded");
        client.post("llm", "/__mock/faults", r#"{"count": 1, "close_mid_stream": true, "key": "k-cut"}"#).send();
        let (cut, error) =
            client.post("llm", "/v1/responses", body).header("authorization", "Bearer k-cut").stream().rest_or_error();
        assert!(error.is_some(), "the connection is cut");
        assert_eq!(self::events(&String::from_utf8_lossy(&cut)).len(), 1, "response.created only");
    }

    #[test]
    fn answers_over_http() {
        let mock = Gateway::new(&spawn(Duration::ZERO).to_string());
        let body = json!({"model": "m", "input": "hi there"}).to_string();
        let reply =
            mock.post("llm", "/compatible-mode/v1/responses", body.clone()).header("authorization", "Bearer k1").send();
        assert_eq!(reply.status, 200, "{}", reply.text());
        assert_eq!(reply.json()["output"][0]["content"][0]["text"], "Mock reply to: hi there");
        assert_eq!(
            reply.json()["id"],
            format!("resp_mock_{}", reply.header("x-request-id").unwrap_or_default().trim_start_matches("req_mock_"))
        );
        assert_eq!(
            (reply.header("x-llm-mock-protocol"), reply.header("x-llm-mock-api-key")),
            (Some("responses"), Some("k1"))
        );
        let unauthorized = mock.post("llm", "/v1/responses", body.clone()).send();
        assert_eq!(
            (unauthorized.status, unauthorized.json()["error"]["code"].clone()),
            (401, json!("invalid_api_key"))
        );
        let azure = mock
            .post("llm", "/openai/responses?api-version=2025-04-01-preview", body.clone())
            .header("api-key", "z")
            .send();
        assert_eq!(azure.status, 404, "Azure's responses are not served");
        let get = mock.get("llm", "/v1/responses").header("authorization", "Bearer k").send();
        assert_eq!((get.status, get.header("x-llm-mock-protocol")), (405, Some("responses")));
        let garbage = mock
            .post("llm", "/v1/responses", body)
            .header("authorization", "Bearer k")
            .header("x-mock-garbage", "1")
            .send();
        assert!(serde_json::from_slice::<Value>(&garbage.body).is_err());
    }
}
