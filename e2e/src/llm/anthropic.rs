//! Anthropic messages (`POST /v1/messages`, and the same path under deepseek's `/anthropic`
//! and qwen's `/apps/anthropic` prefixes; Claude on Vertex AI answers through [`respond`], the
//! model taken from the path - see [`super::vertex`]).
//!
//! Checks, each a 400 `invalid_request_error` as the API answers it: `model`, `max_tokens`
//! (>= 1) and a non-empty `messages` present; roles `user`/`assistant` only (a `system` role
//! is refused with the API's hint), starting with `user` and alternating (stricter than
//! today's API, which merges consecutive turns of one role: a translator that forgets to merge
//! is caught); every `tool_use` answered by a `tool_result` in the next message and no
//! `tool_result` without its `tool_use`; tools with a `name` (and an `input_schema` for
//! custom tools); a forced `tool_choice` naming a declared tool and not combined with
//! thinking; `thinking.budget_tokens` >= 1024 and below `max_tokens`.
//!
//! Reply: `{id: "msg_mock_<n>", type: "message", role: "assistant", model, content: [thinking
//! {thinking, signature}?, text | tool_use {id, name, input: {q}}...], stop_reason: end_turn |
//! max_tokens | stop_sequence | tool_use, stop_sequence, usage: {input_tokens,
//! cache_creation_input_tokens, cache_read_input_tokens, output_tokens, service_tier}}`;
//! `input_tokens` leaves the cached tokens out, as the API does.
//!
//! Stream: `event: <type>\ndata: <json>` events - `message_start` (the message with empty
//! content, `output_tokens: 1`), per block `content_block_start` (a `ping` after the first),
//! `content_block_delta`s (`thinking_delta` per word then one `signature_delta`; `text_delta`
//! per word; `input_json_delta` in 8-character pieces), `content_block_stop`, then
//! `message_delta` (`stop_reason`, `stop_sequence`, cumulative `usage.output_tokens`) and
//! `message_stop`. A mid-stream error is `event: error` with an `overloaded_error`.

use super::model::{self, Answer, Ask, Stop, ToolChoice};
use super::script::{Event, Script};
use super::Reply;
use serde_json::{json, Value};

/// An Anthropic error body.
pub fn error(kind: &str, message: &str, request_id: &str) -> Value {
    json!({"type": "error", "error": {"type": kind, "message": message}, "request_id": request_id})
}

fn bad(message: &str, request_id: &str) -> Reply {
    Reply::Json(400, error("invalid_request_error", message, request_id))
}

/// The error body Anthropic answers `status` with.
pub fn status_error(status: u16, request_id: &str) -> Value {
    let (kind, message) = match status {
        401 => ("authentication_error", "invalid x-api-key"),
        403 => ("permission_error", "Your API key does not have permission to use the specified resource."),
        404 => ("not_found_error", "Not found"),
        413 => ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
        429 => ("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit."),
        529 => ("overloaded_error", "Overloaded"),
        500..=599 => ("api_error", "Internal server error"),
        _ => ("invalid_request_error", "Mock: scripted error."),
    };
    error(kind, message, request_id)
}

fn mid_stream_error() -> String {
    let event = json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}});
    format!("event: error\ndata: {event}\n\n")
}

fn blocks(content: &Value) -> Vec<&Value> {
    content.as_array().map(|b| b.iter().collect()).unwrap_or_default()
}

fn ids_of<'v>(content: &'v Value, kind: &str, field: &str) -> Vec<&'v str> {
    blocks(content).into_iter().filter(|b| b["type"] == kind).filter_map(|b| b[field].as_str()).collect()
}

/// The API's checks of `messages`.
fn check_messages(messages: &[Value]) -> Result<(), String> {
    let mut previous: Option<&str> = None;
    let mut pending: Vec<&str> = Vec::new();
    for (i, message) in messages.iter().enumerate() {
        let role = match message["role"].as_str() {
            Some(role @ ("user" | "assistant")) => role,
            Some("system") => {
                return Err("messages: Unexpected role \"system\". The Messages API accepts a top-level `system` parameter, not \"system\" as an input message role.".into())
            }
            _ => return Err(format!("messages.{i}.role: Input should be 'user' or 'assistant'")),
        };
        if !message["content"].is_string() && !message["content"].is_array() {
            return Err(format!("messages.{i}.content: Input should be a valid list"));
        }
        match previous {
            None if role != "user" => return Err("messages: first message must use the \"user\" role".into()),
            Some(p) if p == role => {
                return Err(format!(
                    "messages: roles must alternate between \"user\" and \"assistant\", but found multiple \"{role}\" roles in a row"
                ))
            }
            _ => {}
        }
        let results = ids_of(&message["content"], "tool_result", "tool_use_id");
        if let Some(unexpected) = results.iter().find(|id| !pending.contains(id)) {
            return Err(format!("messages.{i}.content: unexpected `tool_use_id` found in `tool_result` blocks: {unexpected}. Each `tool_result` block must have a corresponding `tool_use` block in the previous message."));
        }
        let missing: Vec<&str> = pending.iter().filter(|id| !results.contains(id)).copied().collect();
        if !missing.is_empty() {
            return Err(format!("messages.{i}: `tool_use` ids were found without `tool_result` blocks immediately after: {}. Each `tool_use` block must have a corresponding `tool_result` block in the next message.", missing.join(", ")));
        }
        pending = if role == "assistant" { ids_of(&message["content"], "tool_use", "id") } else { Vec::new() };
        previous = Some(role);
    }
    if !pending.is_empty() {
        return Err(format!("messages.{}: `tool_use` ids were found without `tool_result` blocks immediately after: {}. Each `tool_use` block must have a corresponding `tool_result` block in the next message.", messages.len().saturating_sub(1), pending.join(", ")));
    }
    Ok(())
}

fn tool_names(request: &Value) -> Result<Vec<String>, String> {
    let tools = &request["tools"];
    if tools.is_null() {
        return Ok(Vec::new());
    }
    let Some(tools) = tools.as_array() else { return Err("tools: Input should be a valid list".into()) };
    let mut names = Vec::new();
    for (i, tool) in tools.iter().enumerate() {
        let Some(name) = tool["name"].as_str().filter(|n| !n.is_empty()) else {
            return Err(format!("tools.{i}.custom.name: Field required"));
        };
        let custom = tool["type"].as_str().is_none_or(|t| t == "custom");
        if custom && !tool["input_schema"].is_object() {
            return Err(format!("tools.{i}.custom.input_schema: Field required"));
        }
        names.push(name.to_string());
    }
    Ok(names)
}

fn tool_choice(request: &Value, tools: &[String]) -> Result<(ToolChoice, bool), String> {
    let choice = &request["tool_choice"];
    let parallel = choice["disable_parallel_tool_use"].as_bool() != Some(true);
    let kind = match choice["type"].as_str() {
        None if choice.is_null() => ToolChoice::Auto,
        Some("auto") => ToolChoice::Auto,
        Some("none") => ToolChoice::None,
        Some("any") if !tools.is_empty() => ToolChoice::Any,
        Some("tool") => match choice["name"].as_str() {
            Some(name) if tools.iter().any(|t| t == name) => ToolChoice::Tool(name.to_string()),
            name => return Err(format!("Tool '{}' not found in provided tools", name.unwrap_or_default())),
        },
        _ => {
            return Err(
                "tool_choice: Input tag does not match any of the expected tags: 'auto', 'any', 'tool', 'none'".into()
            )
        }
    };
    Ok((kind, parallel))
}

/// Whether the request thinks (`enabled` or `adaptive`), after the API's checks.
fn thinking(request: &Value, max_tokens: u64, choice: &ToolChoice) -> Result<bool, String> {
    let thinking = &request["thinking"];
    let on = match thinking["type"].as_str() {
        None if thinking.is_null() => false,
        Some("disabled") => false,
        Some("adaptive") => true,
        Some("enabled") => {
            let Some(budget) = thinking["budget_tokens"].as_u64() else {
                return Err("thinking.enabled.budget_tokens: Field required".into());
            };
            if budget < 1024 {
                return Err("thinking.enabled.budget_tokens: Input should be greater than or equal to 1024".into());
            }
            if budget >= max_tokens {
                return Err("`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#max-tokens-and-context-window-size".into());
            }
            true
        }
        _ => {
            return Err(
                "thinking: Input tag does not match any of the expected tags: 'enabled', 'disabled', 'adaptive'".into(),
            )
        }
    };
    if on && matches!(choice, ToolChoice::Any | ToolChoice::Tool(_)) {
        return Err("Thinking may not be enabled when tool_choice forces tool use.".into());
    }
    Ok(on)
}

fn stop_reason(stop: &Stop) -> (&'static str, Value) {
    match stop {
        Stop::End => ("end_turn", Value::Null),
        Stop::Length => ("max_tokens", Value::Null),
        Stop::Sequence(s) => ("stop_sequence", json!(s)),
        Stop::ToolUse => ("tool_use", Value::Null),
    }
}

/// The request's checks (but `model`'s); the [`Ask`] and prompt tokens of a valid one.
fn read(request: &Value) -> Result<(Ask, u64), String> {
    let max_tokens = match &request["max_tokens"] {
        Value::Null => return Err("max_tokens: Field required".into()),
        value => value.as_u64().filter(|n| *n >= 1).ok_or("max_tokens: Input should be greater than or equal to 1")?,
    };
    let messages = match &request["messages"] {
        Value::Null => return Err("messages: Field required".into()),
        Value::Array(m) if m.is_empty() => return Err("messages: at least one message is required".into()),
        Value::Array(m) => m,
        _ => return Err("messages: Input should be a valid list".into()),
    };
    check_messages(messages)?;
    let system = match &request["system"] {
        Value::Null => String::new(),
        system @ (Value::String(_) | Value::Array(_)) => model::content_text(system),
        _ => return Err("system: Input should be a valid string".into()),
    };
    let tools = tool_names(request)?;
    let (choice, parallel) = tool_choice(request, &tools)?;
    let reasoning = thinking(request, max_tokens, &choice)?;
    let stop = match &request["stop_sequences"] {
        Value::Null => Vec::new(),
        Value::Array(items) if items.iter().all(Value::is_string) => {
            items.iter().filter_map(Value::as_str).map(str::to_string).collect()
        }
        _ => return Err("stop_sequences: Input should be a valid list".into()),
    };
    let last = messages.last().unwrap_or(&Value::Null);
    let ask = Ask {
        subject: model::subject(messages),
        user_text: (last["role"] == "user").then(|| model::plain_text(&last["content"])),
        tools,
        choice,
        parallel,
        reasoning,
        max_tokens: Some(max_tokens),
        stop,
        prior_tool_calls: messages
            .iter()
            .filter(|m| m["role"] == "assistant")
            .map(|m| ids_of(&m["content"], "tool_use", "id").len())
            .sum(),
        id_prefix: "toolu_",
    };
    let prompt_tokens = model::tokens(&system)
        + messages.iter().map(|m| model::tokens(&model::content_text(&m["content"]))).sum::<u64>();
    Ok((ask, prompt_tokens))
}

/// The body of request `n` as a JSON object, or the API's 400.
pub fn parse(body: &[u8], n: u64) -> Result<Value, Reply> {
    let request_id = format!("req_mock_{n}");
    match serde_json::from_slice(body) {
        Ok(value @ Value::Object(_)) => Ok(value),
        Ok(_) => Err(bad("The request body must be a JSON object.", &request_id)),
        Err(e) => Err(bad(&format!("There was an error parsing the body of your request: {e}"), &request_id)),
    }
}

/// The API's 400 for request `n`.
pub fn invalid(message: &str, n: u64) -> Reply {
    bad(message, &format!("req_mock_{n}"))
}

/// Answers a messages request (`n`: the request's number).
pub fn messages(body: &[u8], n: u64, script: &Script) -> Reply {
    let request = match parse(body, n) {
        Ok(request) => request,
        Err(reply) => return reply,
    };
    match request["model"].as_str().filter(|m| !m.is_empty()) {
        Some(model) => respond(&request, model, n, script),
        None => invalid("model: Field required", n),
    }
}

/// Answers `request` (a JSON object) as `model` does: the checks, then the message or its
/// stream. Vertex AI's `rawPredict` comes here too, the model taken from its path.
pub fn respond(request: &Value, model: &str, n: u64, script: &Script) -> Reply {
    let request_id = format!("req_mock_{n}");
    let (ask, prompt_tokens) = match read(request) {
        Ok(read) => read,
        Err(message) => return bad(&message, &request_id),
    };
    let answer = model::answer(&ask);
    let cache_read = script.cached_tokens.min(prompt_tokens);
    let cache_creation = script.cache_creation_tokens.min(prompt_tokens - cache_read);
    let usage = json!({
        "input_tokens": prompt_tokens - cache_read - cache_creation,
        "cache_creation_input_tokens": cache_creation,
        "cache_read_input_tokens": cache_read,
        "output_tokens": answer.output_tokens(),
        "service_tier": "standard",
    });
    let id = format!("msg_mock_{n}");
    if request["stream"].as_bool() == Some(true) {
        return Reply::Stream(stream_events(&answer, &id, model, usage), mid_stream_error());
    }
    let (reason, sequence) = stop_reason(&answer.stop);
    Reply::Json(
        200,
        json!({
            "id": id, "type": "message", "role": "assistant", "model": model,
            "content": content(&answer), "stop_reason": reason, "stop_sequence": sequence, "usage": usage,
        }),
    )
}

/// The content blocks of `answer`.
fn content(answer: &Answer) -> Vec<Value> {
    let mut blocks = Vec::new();
    if let Some(thinking) = &answer.reasoning {
        blocks.push(json!({"type": "thinking", "thinking": thinking, "signature": model::signature(thinking)}));
    }
    if let Some(text) = &answer.text {
        blocks.push(json!({"type": "text", "text": text}));
    }
    for call in &answer.tool_calls {
        let input: Value = serde_json::from_str(&call.arguments).unwrap_or_else(|_| json!({}));
        blocks.push(json!({"type": "tool_use", "id": call.id, "name": call.name, "input": input}));
    }
    blocks
}

fn event(kind: &str, data: &Value) -> String {
    format!("event: {kind}\ndata: {data}\n\n")
}

fn stream_events(answer: &Answer, id: &str, model: &str, usage: Value) -> Vec<Event> {
    let mut start_usage = usage.clone();
    start_usage["output_tokens"] = json!(1);
    let message = json!({"id": id, "type": "message", "role": "assistant", "model": model, "content": [],
        "stop_reason": null, "stop_sequence": null, "usage": start_usage});
    let mut events = vec![Event::new(event("message_start", &json!({"type": "message_start", "message": message})))];
    let delta = |index: usize, delta: Value| {
        Event::delta(event(
            "content_block_delta",
            &json!({"type": "content_block_delta", "index": index, "delta": delta}),
        ))
    };
    for (index, block) in content(answer).into_iter().enumerate() {
        let (start, deltas) = match block["type"].as_str() {
            Some("thinking") => {
                let text = block["thinking"].as_str().unwrap_or_default();
                let mut deltas: Vec<Event> = model::word_pieces(text)
                    .into_iter()
                    .map(|piece| delta(index, json!({"type": "thinking_delta", "thinking": piece})))
                    .collect();
                deltas.push(delta(index, json!({"type": "signature_delta", "signature": block["signature"]})));
                (json!({"type": "thinking", "thinking": ""}), deltas)
            }
            Some("tool_use") => {
                let arguments = block["input"].to_string();
                let deltas = model::char_pieces(&arguments, 8)
                    .into_iter()
                    .map(|piece| delta(index, json!({"type": "input_json_delta", "partial_json": piece})))
                    .collect();
                (json!({"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}}), deltas)
            }
            _ => {
                let text = block["text"].as_str().unwrap_or_default();
                let deltas = model::word_pieces(text)
                    .into_iter()
                    .map(|piece| delta(index, json!({"type": "text_delta", "text": piece})))
                    .collect();
                (json!({"type": "text", "text": ""}), deltas)
            }
        };
        let start = json!({"type": "content_block_start", "index": index, "content_block": start});
        events.push(Event::new(event("content_block_start", &start)));
        if index == 0 {
            events.push(Event::new(event("ping", &json!({"type": "ping"}))));
        }
        events.extend(deltas);
        let stop = json!({"type": "content_block_stop", "index": index});
        events.push(Event::new(event("content_block_stop", &stop)));
    }
    let (reason, sequence) = stop_reason(&answer.stop);
    let message_delta = json!({"type": "message_delta", "delta": {"stop_reason": reason, "stop_sequence": sequence},
        "usage": {"output_tokens": usage["output_tokens"]}});
    events.push(Event::new(event("message_delta", &message_delta)));
    events.push(Event::new(event("message_stop", &json!({"type": "message_stop"}))));
    events
}
