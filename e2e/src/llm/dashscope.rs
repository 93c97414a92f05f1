//! Alibaba Cloud DashScope's native generation API (`dashscope.aliyuncs.com`, ai-proxy's
//! `qwen` provider with `qwenEnableCompatible: false`): `POST
//! /api/v1/services/aigc/text-generation/generation` and
//! `/api/v1/services/aigc/multimodal-generation/generation`.
//!
//! Auth: `Authorization: Bearer <key>` (any key); none is a 401 `InvalidApiKey`. Errors are
//! `{"code", "message", "request_id"}`.
//!
//! Body: `{model, input: {messages}, parameters: {...}}`. Checks, each a 400
//! `InvalidParameter`: the top-level names are those ([`REQUEST_FIELDS`]; an OpenAI body's
//! `messages` or `stream` at the top is refused - a stream is asked for by a header); `model`
//! is given; `input.messages` is a non-empty list of `system` / `user` / `assistant` / `tool`
//! messages; on text-generation a content is a string, on multimodal-generation a list of
//! `{text}` / `{image}` / `{audio}` / `{video}` items, one each (a tool result's may be a
//! string); a `tool` message follows an assistant message with `tool_calls` (and its
//! `tool_call_id`, when given, is one of theirs); `parameters.tools` are `{type: "function",
//! function: {name}}`, a `tool_choice` names one of them; `top_p` is in (0, 1),
//! `temperature` in [0, 2), `max_tokens` >= 1; a thinking stream (`enable_thinking`) is
//! incremental.
//!
//! Reply (`parameters.result_format: "message"`; always on multimodal-generation):
//! `{output: {choices: [{finish_reason: stop | length | tool_calls, message: {role:
//! "assistant", content, reasoning_content?, tool_calls?}}]}, usage: {input_tokens,
//! output_tokens, total_tokens, output_tokens_details?: {reasoning_tokens},
//! prompt_tokens_details?: {cached_tokens}}, request_id}`. Text-generation's content is a
//! string, multimodal-generation's a list `[{text}]`. Tool calls are OpenAI's (`{id:
//! "call_<k>", type: "function", index, function: {name, arguments}}`, `content: ""`); reasoning
//! (`parameters.enable_thinking: true`) is `reasoning_content`. Without `result_format:
//! "message"`, text-generation answers `{output: {text, finish_reason}, usage, request_id}`.
//! Parallel tool calls only with `parallel_tool_calls: true` (DashScope's default is false).
//!
//! Stream (request header `X-DashScope-SSE: enable`, or `Accept: text/event-stream`): events
//! `id:<n>\nevent:result\n:HTTP_STATUS/200\ndata:<reply so far>\n\n`, one per reasoning word,
//! text word and tool call piece, then a last one with the `finish_reason` (`"null"`, the
//! string, until then). With `parameters.incremental_output: true` each event carries only the
//! new piece (a tool call's first event its id and name, the next ones pieces of `arguments`),
//! else all the message so far. Every event has the usage so far. A mid-stream error is
//! `event:error` with `:HTTP_STATUS/500` and an `InternalError` body.

use super::model::{self, Answer, Ask, Stop, ToolChoice};
use super::script::{Event, Script};
use super::Reply;
use serde_json::{json, Map, Value};

/// The top-level names of a generation request.
pub const REQUEST_FIELDS: &[&str] = &["model", "input", "parameters", "resources"];
/// The kinds of a multimodal content item.
const ITEM_KINDS: &[&str] = &["text", "image", "audio", "video"];
const ROLES: &[&str] = &["system", "user", "assistant", "tool"];

/// Which generation a path asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `text-generation`: string contents.
    Text,
    /// `multimodal-generation`: lists of items.
    Multimodal,
}

/// Whether `path` is DashScope's (`/api/v1/services/...`).
pub fn is_dashscope(path: &str) -> bool {
    path.starts_with("/api/v1/services/")
}

/// The generation a path asks for, if it is one.
pub fn route(path: &str) -> Option<Kind> {
    match path {
        "/api/v1/services/aigc/text-generation/generation" => Some(Kind::Text),
        "/api/v1/services/aigc/multimodal-generation/generation" => Some(Kind::Multimodal),
        _ => None,
    }
}

/// Whether the request asks for a stream: `X-DashScope-SSE: enable` or `Accept:
/// text/event-stream`.
pub fn wants_stream(headers: &hyper::HeaderMap) -> bool {
    let value = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).unwrap_or_default();
    value("x-dashscope-sse").eq_ignore_ascii_case("enable") || value("accept").contains("text/event-stream")
}

/// A DashScope error body.
pub fn error(code: &str, message: &str, request_id: &str) -> Value {
    json!({"code": code, "message": message, "request_id": request_id})
}

/// The 401 of a request without a key.
pub fn unauthorized(request_id: &str) -> Value {
    error("InvalidApiKey", "Invalid API-key provided.", request_id)
}

/// The 404 of a path that is no generation.
pub fn not_found(request_id: &str) -> Value {
    error("InvalidURL", "url error, please check url!", request_id)
}

/// The error body DashScope answers `status` with.
pub fn status_error(status: u16, request_id: &str) -> Value {
    let (code, message) = match status {
        400 => ("InvalidParameter", "Mock: scripted invalid parameter."),
        401 => ("InvalidApiKey", "Invalid API-key provided."),
        403 => ("AccessDenied", "Access denied."),
        404 => ("ModelNotFound", "Model not exist."),
        413 => ("InvalidParameter", "Request body is too large."),
        429 => ("Throttling.RateQuota", "Requests rate limit exceeded, please try again later."),
        503 => ("ServiceUnavailable", "The service is temporarily unavailable, please try again later."),
        500..=599 => {
            ("InternalError", "An internal error has occured, please try again later or contact service support.")
        }
        _ => ("InvalidParameter", "Mock: scripted error."),
    };
    error(code, message, request_id)
}

fn bad(message: &str, request_id: &str) -> Reply {
    Reply::Json(400, error("InvalidParameter", message, request_id))
}

/// The checks of a message's content on `kind`'s path.
fn check_content(content: &Value, role: &str, kind: Kind, at: &str) -> Result<(), String> {
    match (content, kind) {
        (Value::Null, _) if role == "assistant" => Ok(()),
        (Value::String(_), Kind::Text) => Ok(()),
        (Value::String(_), Kind::Multimodal) if role == "tool" => Ok(()),
        (Value::Array(_), Kind::Text) => {
            Err(format!("Input should be a valid string: {at}.content (a list of items goes to multimodal-generation)"))
        }
        (Value::Array(items), Kind::Multimodal) => {
            for (j, item) in items.iter().enumerate() {
                let Some(object) = item.as_object() else {
                    return Err(format!("Input should be a valid dictionary: {at}.content[{j}]"));
                };
                if let Some(unknown) = object.keys().find(|k| !ITEM_KINDS.contains(&k.as_str())) {
                    return Err(format!("Unexpected field in {at}.content[{j}]: {unknown} (items are {{text}}, {{image}}, {{audio}} or {{video}})"));
                }
                if object.len() != 1 {
                    return Err(format!("{at}.content[{j}] must hold exactly one of text, image, audio, video"));
                }
            }
            Ok(())
        }
        (Value::String(_), Kind::Multimodal) => {
            Err(format!("Input should be a valid list: {at}.content (multimodal-generation takes lists of items)"))
        }
        _ => Err(format!("Input should be a valid string: {at}.content")),
    }
}

/// The checks of `input.messages`.
fn check_messages(messages: &[Value], kind: Kind) -> Result<(), String> {
    let mut pending: Vec<&str> = Vec::new();
    let mut after_calls = false;
    for (i, message) in messages.iter().enumerate() {
        let at = format!("input.messages[{i}]");
        let role = message["role"].as_str().unwrap_or_default();
        if !ROLES.contains(&role) {
            return Err(format!("Role must be in [system, user, assistant, tool]: {at}.role"));
        }
        check_content(&message["content"], role, kind, &at)?;
        if role == "user" && model::content_text(&message["content"]).is_empty() && !message["content"].is_array() {
            return Err("Role must be user or assistant and Content length must be greater than 0".into());
        }
        if role == "tool" {
            if !after_calls {
                return Err(format!("{at}: a tool message must follow an assistant message with tool_calls"));
            }
            if let Some(id) = message["tool_call_id"].as_str().filter(|id| !id.is_empty()) {
                if !pending.contains(&id) {
                    return Err(format!(
                        "{at}.tool_call_id: {id} is not the id of a tool call of the assistant message before"
                    ));
                }
            }
            continue;
        }
        pending = message["tool_calls"]
            .as_array()
            .map(|calls| calls.iter().filter_map(|c| c["id"].as_str()).collect())
            .unwrap_or_default();
        after_calls = role == "assistant" && message["tool_calls"].as_array().is_some_and(|c| !c.is_empty());
    }
    Ok(())
}

fn tool_names(parameters: &Value) -> Result<Vec<String>, String> {
    let Some(tools) = parameters.get("tools").filter(|t| !t.is_null()) else { return Ok(Vec::new()) };
    let tools = tools.as_array().ok_or("parameters.tools must be a list")?;
    tools
        .iter()
        .enumerate()
        .map(|(i, tool)| match (tool["type"].as_str(), tool["function"]["name"].as_str()) {
            (Some("function"), Some(name)) if !name.is_empty() => Ok(name.to_string()),
            _ => Err(format!(
                "parameters.tools[{i}] must be {{\"type\": \"function\", \"function\": {{\"name\": ...}}}}"
            )),
        })
        .collect()
}

fn tool_choice(parameters: &Value, tools: &[String]) -> Result<ToolChoice, String> {
    let choice = &parameters["tool_choice"];
    match (choice.as_str(), choice["function"]["name"].as_str()) {
        (None, None) if choice.is_null() => Ok(ToolChoice::Auto),
        (Some("auto"), _) => Ok(ToolChoice::Auto),
        (Some("none"), _) => Ok(ToolChoice::None),
        (None, Some(name)) if tools.iter().any(|t| t == name) => Ok(ToolChoice::Tool(name.to_string())),
        _ => Err(format!("parameters.tool_choice is not valid: {choice}")),
    }
}

fn stop_sequences(parameters: &Value) -> Result<Vec<String>, String> {
    match &parameters["stop"] {
        Value::Null => Ok(Vec::new()),
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) if items.iter().all(Value::is_string) => {
            Ok(items.iter().filter_map(Value::as_str).map(str::to_string).collect())
        }
        // Token id sequences: they stop nothing the mock says.
        Value::Array(items) if items.iter().all(Value::is_array) => Ok(Vec::new()),
        _ => Err("parameters.stop must be a string or a list".into()),
    }
}

fn check_ranges(parameters: &Value) -> Result<(), String> {
    if let Some(top_p) = parameters.get("top_p").filter(|v| !v.is_null()) {
        if !top_p.as_f64().is_some_and(|p| p > 0.0 && p < 1.0) {
            return Err("Range of top_p should be (0.0, 1.0)".into());
        }
    }
    if let Some(temperature) = parameters.get("temperature").filter(|v| !v.is_null()) {
        if !temperature.as_f64().is_some_and(|t| (0.0..2.0).contains(&t)) {
            return Err("Range of temperature should be [0.0, 2.0)".into());
        }
    }
    if let Some(max) = parameters.get("max_tokens").filter(|v| !v.is_null()) {
        if max.as_u64().is_none_or(|m| m < 1) {
            return Err("Range of max_tokens should be [1, 2147483647]".into());
        }
    }
    Ok(())
}

/// A valid request: what it asks, its prompt tokens, its model.
struct Read {
    ask: Ask,
    prompt: u64,
    message_format: bool,
    incremental: bool,
}

fn read(request: &Value, kind: Kind, stream: bool) -> Result<Read, String> {
    let Some(fields) = request.as_object() else { return Err("The request body must be a JSON object.".into()) };
    if let Some(unknown) = fields.keys().find(|k| !REQUEST_FIELDS.contains(&k.as_str())) {
        let hint = match unknown.as_str() {
            "messages" => " (the messages go in input.messages)",
            "stream" => " (a stream is asked for with the header X-DashScope-SSE: enable)",
            _ => "",
        };
        return Err(format!("Unrecognized request argument supplied: {unknown}{hint}"));
    }
    if request["model"].as_str().is_none_or(str::is_empty) {
        return Err("Model not specified.".into());
    }
    let messages: Vec<Value> = match (&request["input"]["messages"], request["input"]["prompt"].as_str()) {
        (Value::Array(messages), _) if !messages.is_empty() => messages.clone(),
        (Value::Null, Some(prompt)) => vec![json!({"role": "user", "content": prompt})],
        _ => return Err("Field required: input.messages".into()),
    };
    check_messages(&messages, kind)?;
    let parameters = request.get("parameters").unwrap_or(&Value::Null);
    if !parameters.is_null() && !parameters.is_object() {
        return Err("Input should be a valid dictionary: parameters".into());
    }
    check_ranges(parameters)?;
    let tools = tool_names(parameters)?;
    let choice = tool_choice(parameters, &tools)?;
    let stop = stop_sequences(parameters)?;
    let reasoning = parameters["enable_thinking"] == true;
    let incremental = parameters["incremental_output"] == true;
    if stream && reasoning && !incremental {
        return Err(
            "The incremental_output parameter must be \"true\" when enable_thinking is true in a stream.".into()
        );
    }
    let last = messages.last().unwrap_or(&Value::Null);
    let ask = Ask {
        subject: model::subject(&messages),
        user_text: (last["role"] == "user").then(|| model::plain_text(&last["content"])),
        tools,
        choice,
        parallel: parameters["parallel_tool_calls"] == true,
        reasoning,
        max_tokens: parameters["max_tokens"].as_u64(),
        stop,
        prior_tool_calls: messages
            .iter()
            .filter(|m| m["role"] == "assistant")
            .filter_map(|m| m["tool_calls"].as_array())
            .map(Vec::len)
            .sum(),
        id_prefix: "call_",
    };
    let prompt = messages.iter().map(|m| model::tokens(&model::content_text(&m["content"]))).sum();
    let message_format = kind == Kind::Multimodal || parameters["result_format"] == "message";
    Ok(Read { ask, prompt, message_format, incremental })
}

fn finish_reason(stop: &Stop) -> &'static str {
    match stop {
        Stop::End | Stop::Sequence(_) => "stop",
        Stop::Length => "length",
        Stop::ToolUse => "tool_calls",
    }
}

/// `usage` after `output` tokens of which `reasoning` are reasoning.
fn usage(prompt: u64, output: u64, reasoning: u64, cached: u64) -> Value {
    let mut usage = json!({"input_tokens": prompt, "output_tokens": output, "total_tokens": prompt + output});
    if reasoning > 0 {
        usage["output_tokens_details"] = json!({ "reasoning_tokens": reasoning });
    }
    if cached > 0 {
        usage["prompt_tokens_details"] = json!({ "cached_tokens": cached });
    }
    usage
}

/// The message's content: a string, or multimodal-generation's list.
fn content(text: &str, kind: Kind) -> Value {
    match kind {
        Kind::Text => json!(text),
        Kind::Multimodal if text.is_empty() => json!([]),
        Kind::Multimodal => json!([{ "text": text }]),
    }
}

/// The reply's message: the text, the reasoning (when asked for) and the tool calls (`id`,
/// `name`, `arguments`).
fn message(text: &str, reasoning: Option<&str>, calls: &[Value], kind: Kind) -> Value {
    let mut message = Map::new();
    message.insert("role".into(), json!("assistant"));
    message.insert("content".into(), content(text, kind));
    if let Some(reasoning) = reasoning {
        message.insert("reasoning_content".into(), json!(reasoning));
    }
    if !calls.is_empty() {
        message.insert("tool_calls".into(), Value::Array(calls.to_vec()));
    }
    Value::Object(message)
}

fn tool_call(index: usize, id: &str, name: &str, arguments: &str) -> Value {
    json!({"index": index, "id": id, "type": "function", "function": {"name": name, "arguments": arguments}})
}

/// A reply body (or a stream event's data): `message` in the message format, else `text`.
fn body(message: Value, text: &str, finish: &str, read: &Read, usage: Value, request_id: &str) -> Value {
    let output = match read.message_format {
        true => json!({"choices": [{"finish_reason": finish, "message": message}]}),
        false => json!({"text": text, "finish_reason": finish}),
    };
    json!({"output": output, "usage": usage, "request_id": request_id})
}

/// Answers a generation request (`n`: the request's number; `stream`: the request asked for
/// one).
pub fn generate(kind: Kind, stream: bool, request_body: &[u8], n: u64, script: &Script) -> Reply {
    let request_id = format!("req_mock_{n}");
    let request: Value = match serde_json::from_slice(request_body) {
        Ok(value) => value,
        Err(e) => return bad(&format!("The request body is not valid JSON: {e}"), &request_id),
    };
    let read = match read(&request, kind, stream) {
        Ok(read) => read,
        Err(message) => return bad(&message, &request_id),
    };
    let answer = model::answer(&read.ask);
    let cached = script.cached_tokens.min(read.prompt);
    if stream {
        return stream_events(&answer, &read, kind, cached, &request_id);
    }
    let usage = usage(read.prompt, answer.output_tokens(), answer.reasoning_tokens(), cached);
    let text = answer.text.clone().unwrap_or_default();
    let calls: Vec<Value> =
        answer.tool_calls.iter().enumerate().map(|(i, c)| tool_call(i, &c.id, &c.name, &c.arguments)).collect();
    let reasoning = read.ask.reasoning.then(|| answer.reasoning.clone().unwrap_or_default());
    let message = message(&text, reasoning.as_deref(), &calls, kind);
    Reply::Json(200, body(message, &text, finish_reason(&answer.stop), &read, usage, &request_id))
}

/// What one stream event shows: the piece it adds (incremental) and all so far (whole).
struct Step {
    piece: Value,
    piece_text: String,
    so_far: Value,
    text_so_far: String,
    /// Output and reasoning tokens so far.
    spent: (u64, u64),
}

fn stream_events(answer: &Answer, read: &Read, kind: Kind, cached: u64, request_id: &str) -> Reply {
    let with_reasoning = read.ask.reasoning;
    let reasoning_of = |text: &str| with_reasoning.then(|| text.to_string());
    let mut steps = Vec::new();
    let (mut reasoning, mut text, mut calls) = (String::new(), String::new(), Vec::<Value>::new());
    let mut spent = (0, 0);
    for piece in answer.reasoning.as_deref().map(model::word_pieces).unwrap_or_default() {
        reasoning.push_str(&piece);
        spent = (spent.0 + model::tokens(&piece), spent.1 + model::tokens(&piece));
        steps.push(Step {
            piece: message("", Some(&piece), &[], kind),
            piece_text: String::new(),
            so_far: message("", reasoning_of(&reasoning).as_deref(), &[], kind),
            text_so_far: String::new(),
            spent,
        });
    }
    for piece in answer.text.as_deref().map(model::word_pieces).unwrap_or_default() {
        text.push_str(&piece);
        spent.0 += model::tokens(&piece);
        steps.push(Step {
            piece: message(&piece, reasoning_of("").as_deref(), &[], kind),
            piece_text: piece,
            so_far: message(&text, reasoning_of(&reasoning).as_deref(), &[], kind),
            text_so_far: text.clone(),
            spent,
        });
    }
    for (index, call) in answer.tool_calls.iter().enumerate() {
        let pieces = model::char_pieces(&call.arguments, 8);
        let mut arguments = String::new();
        for (k, piece) in pieces.iter().enumerate() {
            arguments.push_str(piece);
            if k + 1 == pieces.len() {
                spent.0 += model::tokens(&call.arguments);
            }
            // The first event of a call names it; the next ones carry pieces of its arguments.
            let delta = match k {
                0 => tool_call(index, &call.id, &call.name, piece),
                _ => json!({"index": index, "type": "function", "function": {"arguments": piece}}),
            };
            let mut all = calls.clone();
            all.push(tool_call(index, &call.id, &call.name, &arguments));
            steps.push(Step {
                piece: message("", reasoning_of("").as_deref(), &[delta], kind),
                piece_text: String::new(),
                so_far: message(&text, reasoning_of(&reasoning).as_deref(), &all, kind),
                text_so_far: text.clone(),
                spent,
            });
        }
        calls.push(tool_call(index, &call.id, &call.name, &call.arguments));
    }
    let usage_of = |(output, reasoning): (u64, u64)| usage(read.prompt, output, reasoning, cached);
    let frame = |id: usize, data: Value| format!("id:{id}\nevent:result\n:HTTP_STATUS/200\ndata:{data}\n\n");
    let mut events: Vec<Event> = steps
        .into_iter()
        .enumerate()
        .map(|(i, step)| {
            let data = match read.incremental {
                true => body(step.piece, &step.piece_text, "null", read, usage_of(step.spent), request_id),
                false => body(step.so_far, &step.text_so_far, "null", read, usage_of(step.spent), request_id),
            };
            Event::delta(frame(i + 1, data))
        })
        .collect();
    let finish = finish_reason(&answer.stop);
    let total = usage(read.prompt, answer.output_tokens(), answer.reasoning_tokens(), cached);
    let last = match read.incremental {
        true => body(message("", reasoning_of("").as_deref(), &[], kind), "", finish, read, total, request_id),
        false => {
            let whole = message(&text, reasoning_of(&reasoning).as_deref(), &calls, kind);
            body(whole, &text, finish, read, total, request_id)
        }
    };
    events.push(Event::new(frame(events.len() + 1, last)));
    // The script sends the error after the first delta: it is the second event.
    let error = error(
        "InternalError",
        "An internal error has occured, please try again later or contact service support.",
        request_id,
    );
    Reply::Stream(events, format!("id:2\nevent:error\n:HTTP_STATUS/500\ndata:{error}\n\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(messages: Value, parameters: Value) -> Vec<u8> {
        json!({"model": "qwen-plus", "input": {"messages": messages}, "parameters": parameters})
            .to_string()
            .into_bytes()
    }

    fn whole(kind: Kind, body: &[u8]) -> (u16, Value) {
        match generate(kind, false, body, 7, &Script::default()) {
            Reply::Json(status, value) => (status, value),
            Reply::Stream(..) => (0, Value::Null),
        }
    }

    /// The data of each event, and the raw text.
    fn events(kind: Kind, body: &[u8]) -> (Vec<Value>, String) {
        let Reply::Stream(events, _) = generate(kind, true, body, 7, &Script::default()) else { panic!("a stream") };
        let text: String = events.iter().map(|e| e.text.as_str()).collect();
        let data = events
            .iter()
            .map(|e| serde_json::from_str(e.text.split_once("data:").unwrap().1.trim_end()).unwrap())
            .collect();
        (data, text)
    }

    fn user(text: &str) -> Value {
        json!([{"role": "user", "content": text}])
    }

    #[test]
    fn routes_and_checks() {
        assert_eq!(route("/api/v1/services/aigc/text-generation/generation"), Some(Kind::Text));
        assert_eq!(route("/api/v1/services/aigc/multimodal-generation/generation"), Some(Kind::Multimodal));
        assert_eq!(route("/api/v1/services/embeddings/text-embedding/text-embedding"), None);
        assert!(is_dashscope("/api/v1/services/x"));
        let mut headers = hyper::HeaderMap::new();
        assert!(!wants_stream(&headers));
        headers.insert("x-dashscope-sse", "enable".parse().unwrap());
        assert!(wants_stream(&headers));
        let refused = |kind: Kind, body: Value| {
            let (status, value) = whole(kind, body.to_string().as_bytes());
            assert_eq!(
                (status, value["code"].clone(), value["request_id"].clone()),
                (400, json!("InvalidParameter"), json!("req_mock_7")),
                "{value}"
            );
            value["message"].as_str().unwrap().to_string()
        };
        let openai = json!({"model": "qwen-plus", "messages": [{"role": "user", "content": "x"}]});
        assert!(refused(Kind::Text, openai).contains("messages"));
        let stream = json!({"model": "qwen-plus", "stream": true, "input": {"messages": user("x")}});
        assert!(refused(Kind::Text, stream).contains("X-DashScope-SSE"));
        assert!(refused(Kind::Text, json!({"input": {"messages": user("x")}})).contains("Model"));
        assert!(refused(Kind::Text, json!({"model": "m", "input": {}})).contains("input.messages"));
        let list = json!([{"role": "user", "content": [{"text": "x"}]}]);
        assert!(
            refused(Kind::Text, json!({"model": "m", "input": {"messages": list.clone()}})).contains("valid string")
        );
        assert!(
            refused(Kind::Multimodal, json!({"model": "m", "input": {"messages": user("x")}})).contains("valid list")
        );
        let typed = json!([{"role": "user", "content": [{"type": "text", "text": "x"}]}]);
        assert!(refused(Kind::Multimodal, json!({"model": "m", "input": {"messages": typed}})).contains("type"));
        let orphan = json!([{"role": "user", "content": "x"}, {"role": "tool", "content": "r"}]);
        assert!(refused(Kind::Text, json!({"model": "m", "input": {"messages": orphan}})).contains("must follow"));
        let top_p = json!({"model": "m", "input": {"messages": user("x")}, "parameters": {"top_p": 1.0}});
        assert_eq!(refused(Kind::Text, top_p), "Range of top_p should be (0.0, 1.0)");
        let tools = json!({"model": "m", "input": {"messages": user("x")}, "parameters": {"tools": [{"name": "f"}]}});
        assert!(refused(Kind::Text, tools).contains("parameters.tools[0]"));
        // A tool loop that is right; a multimodal conversation.
        let call = json!({"role": "assistant", "content": "", "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]});
        let loop_ = json!([{"role": "user", "content": "call f x"}, call, {"role": "tool", "tool_call_id": "call_1", "name": "f", "content": "sunny"}]);
        let tools = json!({"tools": [{"type": "function", "function": {"name": "f"}}], "result_format": "message"});
        let (status, reply) = whole(Kind::Text, &request(loop_, tools));
        assert_eq!(status, 200, "{reply}");
        assert_eq!(reply["output"]["choices"][0]["message"]["content"], "Mock reply to: sunny");
        let image = json!([{"role": "user", "content": [{"image": "https://x/y.png"}, {"text": "what is it"}]}]);
        let (status, reply) = whole(Kind::Multimodal, &request(image, json!({})));
        assert_eq!(status, 200, "{reply}");
        assert_eq!(reply["output"]["choices"][0]["message"]["content"], json!([{"text": "Mock reply to: what is it"}]));
    }

    #[test]
    fn whole_replies() {
        let (_, reply) = whole(Kind::Text, &request(user("hi there"), json!({"result_format": "message"})));
        assert_eq!(
            reply,
            json!({"output": {"choices": [{"finish_reason": "stop", "message": {"role": "assistant", "content": "Mock reply to: hi there"}}]},
                "usage": {"input_tokens": 2, "output_tokens": 5, "total_tokens": 7}, "request_id": "req_mock_7"})
        );
        let (_, text) = whole(Kind::Text, &request(user("hi"), json!({})));
        assert_eq!(text["output"], json!({"text": "Mock reply to: hi", "finish_reason": "stop"}));
        let thinking = json!({"result_format": "message", "enable_thinking": true});
        let (_, reply) = whole(Kind::Text, &request(user("hi"), thinking));
        assert_eq!(reply["output"]["choices"][0]["message"]["reasoning_content"], "Mock reasoning about: hi");
        assert_eq!(reply["usage"]["output_tokens_details"]["reasoning_tokens"], 4);
        let tools = json!({"result_format": "message", "tools": [{"type": "function", "function": {"name": "f"}}]});
        let (_, reply) = whole(Kind::Text, &request(user("call f a call f b"), tools.clone()));
        let choice = &reply["output"]["choices"][0];
        assert_eq!(choice["finish_reason"], "tool_calls");
        assert_eq!(choice["message"]["content"], "");
        assert_eq!(
            choice["message"]["tool_calls"],
            json!([{"index": 0, "id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{\"q\":\"a\"}"}}]),
            "one call: parallel_tool_calls is off by default"
        );
        let mut parallel = tools;
        parallel["parallel_tool_calls"] = json!(true);
        let (_, reply) = whole(Kind::Text, &request(user("call f a call f b"), parallel));
        assert_eq!(reply["output"]["choices"][0]["message"]["tool_calls"].as_array().map(Vec::len), Some(2));
        let (_, cut) =
            whole(Kind::Text, &request(user("one two"), json!({"result_format": "message", "max_tokens": 2})));
        assert_eq!(cut["output"]["choices"][0]["finish_reason"], "length");
    }

    #[test]
    fn incremental_streams_send_the_new_piece() {
        let parameters = json!({"result_format": "message", "incremental_output": true, "enable_thinking": true});
        let (data, text) = events(Kind::Text, &request(user("hi"), parameters));
        assert!(text.starts_with("id:1\nevent:result\n:HTTP_STATUS/200\ndata:{"), "{text}");
        assert!(text.contains("\n\nid:2\nevent:result\n"));
        // 4 reasoning words, 4 text words, the finish.
        assert_eq!(data.len(), 9);
        let message = |i: usize| data[i]["output"]["choices"][0]["message"].clone();
        let finish = |i: usize| data[i]["output"]["choices"][0]["finish_reason"].clone();
        assert_eq!(
            (message(0)["reasoning_content"].clone(), message(0)["content"].clone()),
            (json!("Mock "), json!(""))
        );
        assert_eq!(
            (message(4)["reasoning_content"].clone(), message(4)["content"].clone()),
            (json!(""), json!("Mock "))
        );
        assert_eq!(message(7)["content"], "hi");
        assert!((0..8).all(|i| finish(i) == "null"), "the string null until the end");
        assert_eq!((finish(8), message(8)["content"].clone()), (json!("stop"), json!("")));
        assert_eq!(
            data[8]["usage"],
            json!({"input_tokens": 1, "output_tokens": 8, "total_tokens": 9, "output_tokens_details": {"reasoning_tokens": 4}})
        );
        assert_eq!(data[5]["usage"]["output_tokens"], 6, "the usage so far");
        let pieces: String = (0..9).map(|i| message(i)["content"].as_str().unwrap().to_string()).collect();
        assert_eq!(pieces, "Mock reply to: hi");
        // Tool calls: the first event names the call, the next ones carry argument pieces.
        let tools = json!({"result_format": "message", "incremental_output": true, "tools": [{"type": "function", "function": {"name": "f"}}]});
        let (data, _) = events(Kind::Text, &request(user("call f abc"), tools));
        let calls: Vec<Value> =
            data.iter().map(|d| d["output"]["choices"][0]["message"]["tool_calls"][0].clone()).collect();
        assert_eq!(
            calls[0],
            json!({"index": 0, "id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{\"q\":\"ab"}})
        );
        assert_eq!(calls[1], json!({"index": 0, "type": "function", "function": {"arguments": "c\"}"}}));
        assert_eq!(data.last().unwrap()["output"]["choices"][0]["finish_reason"], "tool_calls");
    }

    #[test]
    fn whole_streams_send_everything_so_far() {
        let (data, _) = events(Kind::Text, &request(user("hi"), json!({"result_format": "message"})));
        let contents: Vec<Value> =
            data.iter().map(|d| d["output"]["choices"][0]["message"]["content"].clone()).collect();
        assert_eq!(
            contents,
            vec![
                json!("Mock "),
                json!("Mock reply "),
                json!("Mock reply to: "),
                json!("Mock reply to: hi"),
                json!("Mock reply to: hi")
            ]
        );
        assert_eq!(data[4]["output"]["choices"][0]["finish_reason"], "stop");
        assert_eq!(data[3]["output"]["choices"][0]["finish_reason"], "null");
        let (data, _) =
            events(Kind::Multimodal, &request(json!([{"role": "user", "content": [{"text": "hi"}]}]), json!({})));
        assert_eq!(data[1]["output"]["choices"][0]["message"]["content"], json!([{"text": "Mock reply "}]));
        let (text, _) = events(Kind::Text, &request(user("hi"), json!({})));
        assert_eq!(text[1]["output"], json!({"text": "Mock reply ", "finish_reason": "null"}));
        // Thinking streams must be incremental.
        let thinking = request(user("hi"), json!({"enable_thinking": true}));
        let Reply::Json(status, error) = generate(Kind::Text, true, &thinking, 1, &Script::default()) else { panic!() };
        assert_eq!((status, error["code"].clone()), (400, json!("InvalidParameter")));
    }
}
