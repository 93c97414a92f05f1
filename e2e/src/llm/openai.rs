//! OpenAI chat completions (also what Azure OpenAI answers, with its additions).
//!
//! Reply: `{id: "chatcmpl-mock-<n>", object: "chat.completion", created, model,
//! system_fingerprint, choices: [{index: 0, message: {role: "assistant", content, refusal: null,
//! reasoning_content?, tool_calls?}, logprobs: null, finish_reason}], usage: {prompt_tokens,
//! completion_tokens, total_tokens, prompt_tokens_details: {cached_tokens},
//! completion_tokens_details: {reasoning_tokens}}}`. `finish_reason` is `stop`, `length`
//! (`max_completion_tokens`/`max_tokens` cut the text) or `tool_calls`.
//!
//! Stream (`stream: true`): `data: <chunk>` events - a role delta (`content: ""`, `null` when
//! the answer calls tools), `reasoning_content` deltas (one per word), `content` deltas (one
//! per word) or per tool call a delta with `index`, `id`, `type`, `function.name` and empty
//! `arguments` followed by `arguments` deltas (8 characters each), a finish chunk (`delta: {}`,
//! `finish_reason`), with `stream_options.include_usage` a usage chunk (`choices: []`; every
//! other chunk then has `usage: null`), and `data: [DONE]`. A mid-stream error is
//! `data: {"error": {...}}` with no `[DONE]` after it.

use super::model::{self, Answer, Ask, Stop, ToolChoice};
use super::script::{Event, Script};
use super::{now, Reply};
use serde_json::{json, Value};

/// Whose chat completions these are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Flavor {
    OpenAi,
    /// Azure OpenAI: the deployment of the path (its name is the reply's model), content
    /// filter results in replies and a first stream chunk with only `prompt_filter_results`.
    Azure {
        deployment: Option<String>,
    },
}

/// An OpenAI error body.
pub fn error(message: &str, kind: &str, code: Option<&str>, param: Option<&str>) -> Value {
    json!({"error": {"message": message, "type": kind, "param": param, "code": code}})
}

fn bad(message: &str, code: Option<&str>, param: Option<&str>) -> Reply {
    Reply::Json(400, error(message, "invalid_request_error", code, param))
}

/// The error body OpenAI answers `status` with.
pub fn status_error(status: u16) -> Value {
    match status {
        401 => error("Incorrect API key provided.", "invalid_request_error", Some("invalid_api_key"), None),
        403 => error("You are not allowed to use this model.", "invalid_request_error", None, None),
        404 => error(
            "The model does not exist or you do not have access to it.",
            "invalid_request_error",
            Some("model_not_found"),
            None,
        ),
        429 => error(
            "Rate limit reached for requests. Please try again in 1s.",
            "requests",
            Some("rate_limit_exceeded"),
            None,
        ),
        500 => error(
            "The server had an error while processing your request. Sorry about that!",
            "server_error",
            None,
            None,
        ),
        501..=599 => error("The server is overloaded or not ready yet.", "server_error", None, None),
        _ => error(&format!("Mock: scripted status {status}."), "invalid_request_error", None, None),
    }
}

fn mid_stream_error() -> String {
    format!("data: {}\n\n", status_error(500))
}

const ROLES: [&str; 6] = ["system", "developer", "user", "assistant", "tool", "function"];

/// Checks the messages as the API does: known roles, and every assistant `tool_calls`
/// answered by `tool` messages right after it (and no `tool` message without one).
fn check_messages(messages: &[Value]) -> Result<(), Reply> {
    let mut pending: Vec<String> = Vec::new();
    for (i, message) in messages.iter().enumerate() {
        let role = message["role"].as_str().unwrap_or_default();
        if !ROLES.contains(&role) {
            let param = format!("messages.[{i}].role");
            let text = format!(
                "Invalid value: '{role}'. Supported values are: 'system', 'assistant', 'user', 'tool', and 'function'."
            );
            return Err(bad(&text, Some("invalid_value"), Some(&param)));
        }
        if role == "tool" {
            let id = message["tool_call_id"].as_str().unwrap_or_default();
            let Some(at) = pending.iter().position(|p| p == id) else {
                let param = format!("messages.[{i}].role");
                return Err(bad("Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.", None, Some(&param)));
            };
            pending.remove(at);
            continue;
        }
        if !pending.is_empty() {
            return Err(unanswered(&pending, i));
        }
        if role == "assistant" {
            pending = message["tool_calls"]
                .as_array()
                .map(|calls| calls.iter().filter_map(|c| c["id"].as_str().map(str::to_string)).collect())
                .unwrap_or_default();
        }
    }
    match pending.is_empty() {
        true => Ok(()),
        false => Err(unanswered(&pending, messages.len())),
    }
}

/// The API's 400 for tool calls of the assistant message before message `next` left unanswered.
fn unanswered(pending: &[String], next: usize) -> Reply {
    let param = format!("messages.[{}].role", next.saturating_sub(1));
    let text = format!("An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: {}", pending.join(", "));
    bad(&text, None, Some(&param))
}

/// The declared tool names.
fn tool_names(request: &Value) -> Result<Vec<String>, Reply> {
    let Some(tools) = request.get("tools").filter(|t| !t.is_null()) else { return Ok(Vec::new()) };
    let Some(tools) = tools.as_array() else {
        return Err(bad("Invalid type for 'tools': expected an array.", Some("invalid_type"), Some("tools")));
    };
    let mut names = Vec::new();
    for (i, tool) in tools.iter().enumerate() {
        let Some(name) = tool["function"]["name"].as_str().filter(|n| !n.is_empty() && tool["type"] == "function")
        else {
            let param = format!("tools[{i}].function");
            return Err(bad(
                &format!("Missing required parameter: '{param}'."),
                Some("missing_required_parameter"),
                Some(&param),
            ));
        };
        names.push(name.to_string());
    }
    Ok(names)
}

fn tool_choice(request: &Value, tools: &[String]) -> Result<ToolChoice, Reply> {
    let choice = &request["tool_choice"];
    if !choice.is_null() && tools.is_empty() {
        return Err(bad(
            "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.",
            None,
            Some("tool_choice"),
        ));
    }
    match (choice.as_str(), choice["function"]["name"].as_str()) {
        (None, None) if choice.is_null() => Ok(ToolChoice::Auto),
        (Some("auto"), _) => Ok(ToolChoice::Auto),
        (Some("none"), _) => Ok(ToolChoice::None),
        (Some("required"), _) => Ok(ToolChoice::Any),
        (None, Some(name)) if tools.iter().any(|t| t == name) => Ok(ToolChoice::Tool(name.to_string())),
        _ => Err(bad("Invalid value for 'tool_choice'.", Some("invalid_value"), Some("tool_choice"))),
    }
}

fn stop_sequences(request: &Value) -> Result<Vec<String>, Reply> {
    match &request["stop"] {
        Value::Null => Ok(Vec::new()),
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) if items.iter().all(Value::is_string) => {
            Ok(items.iter().filter_map(Value::as_str).map(str::to_string).collect())
        }
        _ => Err(bad("Invalid type for 'stop'.", Some("invalid_type"), Some("stop"))),
    }
}

fn finish_reason(stop: &Stop) -> &'static str {
    match stop {
        Stop::End | Stop::Sequence(_) => "stop",
        Stop::Length => "length",
        Stop::ToolUse => "tool_calls",
    }
}

fn filter_results() -> Value {
    let safe = json!({"filtered": false, "severity": "safe"});
    json!({"hate": safe, "self_harm": safe, "sexual": safe, "violence": safe})
}

/// Answers a chat completion request.
pub fn chat(body: &[u8], flavor: &Flavor, n: u64, script: &Script) -> Reply {
    let request: Value = match serde_json::from_slice(body) {
        Ok(value @ Value::Object(_)) => value,
        Ok(_) => return bad("The body of your request must be a JSON object.", Some("invalid_json"), None),
        Err(e) => {
            return bad(&format!("We could not parse the JSON body of your request: {e}"), Some("invalid_json"), None)
        }
    };
    let deployment = match flavor {
        Flavor::Azure { deployment: Some(d) } => Some(d.clone()),
        _ => None,
    };
    let Some(model) = deployment.or_else(|| request["model"].as_str().filter(|m| !m.is_empty()).map(str::to_string))
    else {
        return bad("you must provide a model parameter", Some("missing_model"), Some("model"));
    };
    let Some(messages) = request["messages"].as_array().filter(|m| !m.is_empty()) else {
        return bad("'messages' must be a non-empty array", Some("invalid_messages"), Some("messages"));
    };
    if let Err(reply) = check_messages(messages) {
        return reply;
    }
    let tools = match tool_names(&request) {
        Ok(tools) => tools,
        Err(reply) => return reply,
    };
    let choice = match tool_choice(&request, &tools) {
        Ok(choice) => choice,
        Err(reply) => return reply,
    };
    let stop = match stop_sequences(&request) {
        Ok(stop) => stop,
        Err(reply) => return reply,
    };
    let last = messages.last().unwrap_or(&Value::Null);
    let ask = Ask {
        subject: model::subject(messages),
        user_text: (last["role"] == "user").then(|| model::plain_text(&last["content"])),
        tools,
        choice,
        parallel: request["parallel_tool_calls"].as_bool() != Some(false),
        reasoning: !request["reasoning_effort"].is_null(),
        max_tokens: request["max_completion_tokens"].as_u64().or_else(|| request["max_tokens"].as_u64()),
        stop,
        prior_tool_calls: messages
            .iter()
            .filter(|m| m["role"] == "assistant")
            .filter_map(|m| m["tool_calls"].as_array())
            .map(Vec::len)
            .sum(),
        id_prefix: "call_",
    };
    let answer = model::answer(&ask);
    let prompt_tokens: u64 = messages.iter().map(|m| model::tokens(&model::content_text(&m["content"]))).sum();
    let completion_tokens = answer.output_tokens();
    let usage = json!({
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": script.cached_tokens.min(prompt_tokens)},
        "completion_tokens_details": {"reasoning_tokens": answer.reasoning_tokens()},
    });
    let id = format!("chatcmpl-mock-{n}");
    let azure = matches!(flavor, Flavor::Azure { .. });
    if request["stream"].as_bool() == Some(true) {
        let include_usage = request["stream_options"]["include_usage"].as_bool() == Some(true);
        return Reply::Stream(stream_events(&answer, &id, &model, usage, include_usage, azure), mid_stream_error());
    }
    let mut message = json!({"role": "assistant", "content": answer.text, "refusal": null});
    if let Some(reasoning) = &answer.reasoning {
        message["reasoning_content"] = json!(reasoning);
    }
    if !answer.tool_calls.is_empty() {
        let calls: Vec<Value> = answer
            .tool_calls
            .iter()
            .map(|c| json!({"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}))
            .collect();
        message["tool_calls"] = json!(calls);
    }
    let mut choice =
        json!({"index": 0, "message": message, "logprobs": null, "finish_reason": finish_reason(&answer.stop)});
    let mut reply = json!({
        "id": id, "object": "chat.completion", "created": now(), "model": model,
        "system_fingerprint": "fp_mock", "choices": [], "usage": usage,
    });
    if azure {
        choice["content_filter_results"] = filter_results();
        reply["prompt_filter_results"] = json!([{"prompt_index": 0, "content_filter_results": filter_results()}]);
    }
    reply["choices"] = json!([choice]);
    Reply::Json(200, reply)
}

fn stream_events(answer: &Answer, id: &str, model: &str, usage: Value, include_usage: bool, azure: bool) -> Vec<Event> {
    let created = now();
    let chunk = |delta: Value, finish: Option<&str>| {
        let mut chunk = json!({
            "id": id, "object": "chat.completion.chunk", "created": created, "model": model,
            "system_fingerprint": "fp_mock",
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}],
        });
        if include_usage {
            chunk["usage"] = Value::Null;
        }
        format!("data: {chunk}\n\n")
    };
    let mut events = Vec::new();
    if azure {
        let first = json!({"choices": [], "created": 0, "id": "", "model": "", "object": "",
            "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": filter_results()}]});
        events.push(Event::new(format!("data: {first}\n\n")));
    }
    let content = if answer.tool_calls.is_empty() { json!("") } else { Value::Null };
    events.push(Event::new(chunk(json!({"role": "assistant", "content": content, "refusal": null}), None)));
    for piece in answer.reasoning.as_deref().map(model::word_pieces).unwrap_or_default() {
        events.push(Event::delta(chunk(json!({"reasoning_content": piece}), None)));
    }
    for piece in answer.text.as_deref().map(model::word_pieces).unwrap_or_default() {
        events.push(Event::delta(chunk(json!({"content": piece}), None)));
    }
    for (index, call) in answer.tool_calls.iter().enumerate() {
        let start = json!({"tool_calls": [{"index": index, "id": call.id, "type": "function",
            "function": {"name": call.name, "arguments": ""}}]});
        events.push(Event::delta(chunk(start, None)));
        for piece in model::char_pieces(&call.arguments, 8) {
            let delta = json!({"tool_calls": [{"index": index, "function": {"arguments": piece}}]});
            events.push(Event::delta(chunk(delta, None)));
        }
    }
    events.push(Event::new(chunk(json!({}), Some(finish_reason(&answer.stop)))));
    if include_usage {
        let last = json!({"id": id, "object": "chat.completion.chunk", "created": created, "model": model,
            "system_fingerprint": "fp_mock", "choices": [], "usage": usage});
        events.push(Event::new(format!("data: {last}\n\n")));
    }
    events.push(Event::new("data: [DONE]\n\n".to_string()));
    events
}

/// `GET /v1/models`.
pub fn models() -> Value {
    let data: Vec<Value> =
        super::MODELS.iter().map(|id| json!({"id": id, "object": "model", "created": 0, "owned_by": "mock"})).collect();
    json!({"object": "list", "data": data})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(messages: Value) -> u16 {
        let body = json!({"model": "m", "messages": messages}).to_string();
        match chat(body.as_bytes(), &Flavor::OpenAi, 1, &Script::default()) {
            Reply::Json(status, _) => status,
            Reply::Stream(..) => 0,
        }
    }

    #[test]
    fn tool_messages_answer_tool_calls() {
        let call = json!({"role": "assistant", "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]});
        let user = json!({"role": "user", "content": "x"});
        let tool = json!({"role": "tool", "tool_call_id": "c1", "content": "r"});
        assert_eq!(status(json!([user, call, tool])), 200);
        assert_eq!(status(json!([user, call])), 400, "unanswered at the end");
        assert_eq!(status(json!([user, call, user])), 400, "unanswered before the next message");
        assert_eq!(status(json!([user, tool])), 400, "a tool message without a call");
        assert_eq!(status(json!([{"role": "robot", "content": "x"}])), 400);
    }
}
