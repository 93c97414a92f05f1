//! Google's Gemini API (`generativelanguage.googleapis.com`):
//! `POST /{v1beta|v1}/models/{model}:generateContent` and `:streamGenerateContent` (server-sent
//! events with `?alt=sse`, else one JSON array of the chunks, as the API answers), and the
//! embeddings, `:embedContent` and `:batchEmbedContents` ([`super::embeddings`]). Vertex AI's
//! Gemini models are answered by the same code ([`super::vertex`]).
//!
//! Auth: `x-goog-api-key: <key>` or `?key=<key>`; none is a 403 `PERMISSION_DENIED`.
//!
//! Checks, each a 400 `INVALID_ARGUMENT` as the API words it: the body is a JSON object whose
//! top-level names are the API's (`Unknown name "messages"`: an OpenAI body sent as it is is
//! caught); `contents` is a non-empty list; roles are `user` or `model`; every content has
//! parts and every part one kind of data; a turn of `functionResponse` parts comes right after
//! a turn of `functionCall`s, with as many responses as calls (a translator that sends OpenAI's
//! `tool` role or loses calls is caught); tools declare functions with names;
//! `functionCallingConfig.mode` is one of the API's.
//!
//! Reply: `{candidates: [{content: {role: "model", parts: [thought {text, thought: true}?,
//! text | functionCall {name, args: {q}}...]}, finishReason: STOP | MAX_TOKENS, index: 0}],
//! usageMetadata: {promptTokenCount, candidatesTokenCount, totalTokenCount,
//! thoughtsTokenCount?, cachedContentTokenCount?}, modelVersion, responseId}`. The reasoning
//! (`generationConfig.thinkingConfig.includeThoughts`) is a thought part; the first function
//! call of a thinking answer carries a `thoughtSignature`. `candidatesTokenCount` leaves the
//! thoughts out, as the API does. Function calls have no `id`, as the API sends them.
//!
//! Stream: one chunk per reasoning word, one per text word, the function calls in one chunk,
//! each chunk with the running `usageMetadata`; the last has `finishReason`. Events end with
//! `\r\n\r\n`, as Google frames them. A mid-stream error is `data: {"error": {...}}`
//! (`UNAVAILABLE`).

use super::model::{self, Answer, Ask, Stop, ToolChoice};
use super::script::{Event, Script};
use super::Reply;
use serde_json::{json, Map, Value};

/// The names a `GenerateContentRequest` may have, in both spellings.
const REQUEST_FIELDS: &[&str] = &[
    "contents",
    "model",
    "systemInstruction",
    "system_instruction",
    "tools",
    "toolConfig",
    "tool_config",
    "generationConfig",
    "generation_config",
    "safetySettings",
    "safety_settings",
    "cachedContent",
    "cached_content",
    "labels",
];

/// Kinds of data a part may hold.
const PART_DATA: &[&str] =
    &["text", "inlineData", "fileData", "functionCall", "functionResponse", "executableCode", "codeExecutionResult"];

/// What a call asks of a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    GenerateContent,
    StreamGenerateContent,
    /// One embedding ([`super::embeddings::gemini_embed`]).
    EmbedContent,
    /// Several ([`super::embeddings::gemini_batch`]).
    BatchEmbedContents,
}

/// A Gemini call: `models/{model}:{method}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub model: String,
    pub method: Method,
}

impl Call {
    /// Whether the answer is streamed (`:streamGenerateContent`).
    pub fn stream(&self) -> bool {
        self.method == Method::StreamGenerateContent
    }
}

/// The call a path makes, if it is one.
pub fn route(path: &str) -> Option<Call> {
    let rest = path.strip_prefix("/v1beta/models/").or_else(|| path.strip_prefix("/v1/models/"))?;
    let (model, method) = rest.rsplit_once(':')?;
    let method = match method {
        "generateContent" => Method::GenerateContent,
        "streamGenerateContent" => Method::StreamGenerateContent,
        "embedContent" => Method::EmbedContent,
        "batchEmbedContents" => Method::BatchEmbedContents,
        _ => return None,
    };
    model_name(model).then(|| Call { model: model.to_string(), method })
}

/// Whether `model` can be a model id in a path (not empty, no `/`).
pub fn model_name(model: &str) -> bool {
    !model.is_empty() && !model.contains('/')
}

/// A Gemini error body.
pub fn error(code: u16, status: &str, message: &str) -> Value {
    json!({"error": {"code": code, "message": message, "status": status}})
}

fn bad(message: &str) -> Reply {
    Reply::Json(400, error(400, "INVALID_ARGUMENT", message))
}

/// The error body Gemini answers `status` with.
pub fn status_error(status: u16) -> Value {
    let (name, message) = match status {
        400 => ("INVALID_ARGUMENT", "Request contains an invalid argument."),
        401 => ("UNAUTHENTICATED", "Request had invalid authentication credentials."),
        403 => ("PERMISSION_DENIED", "The caller does not have permission"),
        404 => ("NOT_FOUND", "Requested entity was not found."),
        413 => ("INVALID_ARGUMENT", "Request payload size exceeds the limit."),
        429 => ("RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota)."),
        503 => ("UNAVAILABLE", "The model is overloaded. Please try again later."),
        504 => ("DEADLINE_EXCEEDED", "Deadline exceeded."),
        _ => ("INTERNAL", "An internal error has occurred."),
    };
    error(status, name, message)
}

/// The 403 of a request without a key.
pub fn no_key() -> Value {
    error(403, "PERMISSION_DENIED", "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.")
}

/// The 404 of a path that is no Gemini call.
pub fn not_found(path: &str) -> Value {
    error(404, "NOT_FOUND", &format!("models{path} is not found for API version v1beta, or is not supported."))
}

fn mid_stream_error() -> String {
    format!("data: {}\r\n\r\n", status_error(503))
}

/// A member in either spelling.
fn either<'v>(object: &'v Value, camel: &str, snake: &str) -> &'v Value {
    match object.get(camel) {
        Some(value) if !value.is_null() => value,
        _ => object.get(snake).unwrap_or(&Value::Null),
    }
}

/// The parts of a content.
fn parts(content: &Value) -> &[Value] {
    content["parts"].as_array().map(Vec::as_slice).unwrap_or_default()
}

/// The text of a content: its text parts and its function responses' outputs, joined by spaces.
fn text_of(content: &Value, with_responses: bool) -> String {
    parts(content)
        .iter()
        .filter(|p| p["thought"] != true)
        .filter_map(|p| match (p["text"].as_str(), &p["functionResponse"]) {
            (Some(text), _) => Some(text.to_string()),
            (None, response) if with_responses && response.is_object() => {
                let output = &response["response"];
                let value = output.get("output").or_else(|| output.get("error")).unwrap_or(output);
                Some(value.as_str().map_or_else(|| value.to_string(), str::to_string))
            }
            _ => None,
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn count(content: &Value, kind: &str) -> usize {
    parts(content).iter().filter(|p| p[kind].is_object()).count()
}

/// The API's checks of `contents`.
fn check_contents(contents: &[Value]) -> Result<(), String> {
    let mut calls_before = 0;
    for (i, content) in contents.iter().enumerate() {
        let role = content["role"].as_str().unwrap_or("user");
        if role != "user" && role != "model" {
            return Err(format!("Please use a valid role: user, model. (contents[{i}].role: \"{role}\")"));
        }
        let list = parts(content);
        if list.is_empty() {
            return Err(format!("* GenerateContentRequest.contents[{i}].parts: contents.parts must not be empty.\n"));
        }
        for (j, part) in list.iter().enumerate() {
            let Some(object) = part.as_object() else {
                return Err(format!("Invalid value at 'contents[{i}].parts[{j}]': expected an object"));
            };
            if let Some(unknown) = object.keys().find(|k| !PART_DATA.contains(&k.as_str()) && !is_part_meta(k)) {
                return Err(format!(
                    "Invalid JSON payload received. Unknown name \"{unknown}\" at 'contents[{i}].parts[{j}]': Cannot find field."
                ));
            }
            if PART_DATA.iter().filter(|k| object.contains_key(**k)).count() != 1 {
                return Err(format!("* GenerateContentRequest.contents[{i}].parts[{j}].data: required oneof field 'data' must have one initialized field\n"));
            }
        }
        let responses = count(content, "functionResponse");
        if responses > 0 {
            if calls_before == 0 {
                return Err(
                    "Please ensure that function response turn comes immediately after a function call turn.".into()
                );
            }
            if responses != calls_before {
                return Err("Please ensure that the number of function response parts is equal to the number of function call parts of the function call turn.".into());
            }
        }
        calls_before = if role == "model" { count(content, "functionCall") } else { 0 };
    }
    Ok(())
}

/// Part members besides its data.
fn is_part_meta(key: &str) -> bool {
    matches!(key, "thought" | "thoughtSignature" | "thought_signature" | "videoMetadata" | "video_metadata")
}

fn tool_names(request: &Value) -> Result<Vec<String>, String> {
    let mut names = Vec::new();
    let tools = match &request["tools"] {
        Value::Null => return Ok(names),
        Value::Array(tools) => tools,
        _ => return Err("Invalid value at 'tools': expected a list".into()),
    };
    for (i, tool) in tools.iter().enumerate() {
        let declarations = either(tool, "functionDeclarations", "function_declarations");
        for (j, declaration) in declarations.as_array().map(Vec::as_slice).unwrap_or_default().iter().enumerate() {
            match declaration["name"].as_str().filter(|n| !n.is_empty()) {
                Some(name) => names.push(name.to_string()),
                None => {
                    return Err(format!(
                        "* GenerateContentRequest.tools[{i}].function_declarations[{j}].name: Name cannot be empty.\n"
                    ))
                }
            }
        }
    }
    Ok(names)
}

fn tool_choice(request: &Value, tools: &[String]) -> Result<ToolChoice, String> {
    let calling =
        either(either(request, "toolConfig", "tool_config"), "functionCallingConfig", "function_calling_config");
    let allowed: Vec<&str> = either(calling, "allowedFunctionNames", "allowed_function_names")
        .as_array()
        .map(|names| names.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    Ok(match calling["mode"].as_str() {
        None | Some("AUTO") | Some("MODE_UNSPECIFIED") => ToolChoice::Auto,
        Some("NONE") => ToolChoice::None,
        Some("ANY") | Some("VALIDATED") => match allowed.as_slice() {
            [one] if tools.iter().any(|t| t == one) => ToolChoice::Tool((*one).to_string()),
            [_] => return Err("allowed_function_names must be a subset of the declared functions.".into()),
            _ => ToolChoice::Any,
        },
        Some(other) => {
            return Err(format!(
                "Invalid value at 'tool_config.function_calling_config.mode' (type.googleapis.com/google.ai.generativelanguage.v1beta.FunctionCallingConfig.Mode), \"{other}\""
            ))
        }
    })
}

/// The request's checks; the [`Ask`] and prompt tokens of a valid one.
fn read(request: &Value) -> Result<(Ask, u64), String> {
    let Some(object) = request.as_object() else { return Err("The request body must be a JSON object.".into()) };
    if let Some(unknown) = object.keys().find(|k| !REQUEST_FIELDS.contains(&k.as_str())) {
        return Err(format!("Invalid JSON payload received. Unknown name \"{unknown}\": Cannot find field."));
    }
    let contents = match &request["contents"] {
        Value::Array(c) if !c.is_empty() => c,
        _ => return Err("* GenerateContentRequest.contents: contents is not specified\n".into()),
    };
    check_contents(contents)?;
    let tools = tool_names(request)?;
    let choice = tool_choice(request, &tools)?;
    let config = either(request, "generationConfig", "generation_config");
    let thinking = either(config, "thinkingConfig", "thinking_config");
    let reasoning = either(thinking, "includeThoughts", "include_thoughts") == true
        && either(thinking, "thinkingBudget", "thinking_budget").as_u64() != Some(0);
    let stop = either(config, "stopSequences", "stop_sequences")
        .as_array()
        .map(|s| s.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default();
    let last = contents.last().unwrap_or(&Value::Null);
    let last_is_user = last["role"].as_str().unwrap_or("user") == "user";
    let system = text_of(either(request, "systemInstruction", "system_instruction"), false);
    let ask = Ask {
        subject: contents
            .iter()
            .rev()
            .find(|c| c["role"].as_str().unwrap_or("user") == "user")
            .map(|c| text_of(c, true))
            .unwrap_or_default(),
        user_text: (last_is_user && count(last, "functionResponse") == 0).then(|| text_of(last, false)),
        tools,
        choice,
        parallel: true,
        reasoning,
        max_tokens: either(config, "maxOutputTokens", "max_output_tokens").as_u64(),
        stop,
        prior_tool_calls: contents.iter().map(|c| count(c, "functionCall")).sum(),
        id_prefix: "call_",
    };
    let prompt = model::tokens(&system) + contents.iter().map(|c| model::tokens(&text_of(c, true))).sum::<u64>();
    Ok((ask, prompt))
}

fn finish_reason(stop: &Stop) -> &'static str {
    match stop {
        Stop::Length => "MAX_TOKENS",
        Stop::End | Stop::Sequence(_) | Stop::ToolUse => "STOP",
    }
}

/// `usageMetadata` after `output` tokens of which `thoughts` are thoughts.
fn usage(prompt: u64, cached: u64, output: u64, thoughts: u64) -> Value {
    let mut meta = Map::new();
    meta.insert("promptTokenCount".into(), prompt.into());
    meta.insert("candidatesTokenCount".into(), (output - thoughts).into());
    meta.insert("totalTokenCount".into(), (prompt + output).into());
    if thoughts > 0 {
        meta.insert("thoughtsTokenCount".into(), thoughts.into());
    }
    if cached > 0 {
        meta.insert("cachedContentTokenCount".into(), cached.into());
    }
    meta.insert("promptTokensDetails".into(), json!([{"modality": "TEXT", "tokenCount": prompt}]));
    Value::Object(meta)
}

/// The function call parts of `answer` (the first signed when the answer thought).
fn call_parts(answer: &Answer) -> Vec<Value> {
    answer
        .tool_calls
        .iter()
        .enumerate()
        .map(|(i, call)| {
            let args: Value = serde_json::from_str(&call.arguments).unwrap_or_else(|_| json!({}));
            let mut part = json!({"functionCall": {"name": call.name, "args": args}});
            if i == 0 {
                if let Some(thought) = &answer.reasoning {
                    part["thoughtSignature"] = json!(model::signature(thought));
                }
            }
            part
        })
        .collect()
}

fn chunk(parts: Vec<Value>, finish: Option<&str>, usage: Value, model: &str, id: &str) -> Value {
    let mut candidate = json!({"content": {"parts": parts, "role": "model"}, "index": 0});
    if let Some(finish) = finish {
        candidate["finishReason"] = json!(finish);
    }
    json!({"candidates": [candidate], "usageMetadata": usage, "modelVersion": model, "responseId": id})
}

/// Answers a `generateContent` call (`n`: the request's number; `sse`: `?alt=sse`).
pub fn generate(call: &Call, sse: bool, body: &[u8], n: u64, script: &Script) -> Reply {
    let request: Value = match serde_json::from_slice(body) {
        Ok(value) => value,
        Err(e) => return bad(&format!("Invalid JSON payload received. {e}")),
    };
    let (ask, prompt) = match read(&request) {
        Ok(read) => read,
        Err(message) => return bad(&message),
    };
    let answer = model::answer(&ask);
    let cached = script.cached_tokens.min(prompt);
    let id = format!("mock-gemini-{n}");
    let thoughts = answer.reasoning_tokens();
    let total = answer.output_tokens();
    let reason = finish_reason(&answer.stop);
    if !call.stream() {
        let mut parts = Vec::new();
        if let Some(thought) = &answer.reasoning {
            parts.push(json!({"text": thought, "thought": true}));
        }
        if let Some(text) = &answer.text {
            parts.push(json!({"text": text}));
        }
        parts.extend(call_parts(&answer));
        return Reply::Json(200, chunk(parts, Some(reason), usage(prompt, cached, total, thoughts), &call.model, &id));
    }
    let mut chunks = Vec::new();
    let mut spent = 0;
    for piece in answer.reasoning.as_deref().map(model::word_pieces).unwrap_or_default() {
        spent += model::tokens(&piece);
        let meta = usage(prompt, cached, spent, spent);
        chunks.push(chunk(vec![json!({"text": piece, "thought": true})], None, meta, &call.model, &id));
    }
    for piece in answer.text.as_deref().map(model::word_pieces).unwrap_or_default() {
        spent += model::tokens(&piece);
        chunks.push(chunk(
            vec![json!({"text": piece})],
            None,
            usage(prompt, cached, spent, thoughts),
            &call.model,
            &id,
        ));
    }
    let calls = call_parts(&answer);
    let last_parts = if calls.is_empty() { vec![json!({"text": ""})] } else { calls };
    chunks.push(chunk(last_parts, Some(reason), usage(prompt, cached, total, thoughts), &call.model, &id));
    if !sse {
        return Reply::Json(200, Value::Array(chunks));
    }
    let events = chunks.iter().map(|c| Event::delta(format!("data: {c}\r\n\r\n"))).collect();
    Reply::Stream(events, mid_stream_error())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_and_checks() {
        assert_eq!(
            route("/v1beta/models/gemini-2.5-flash:generateContent"),
            Some(Call { model: "gemini-2.5-flash".into(), method: Method::GenerateContent })
        );
        assert_eq!(route("/v1/models/g:streamGenerateContent").map(|c| c.stream()), Some(true));
        assert_eq!(route("/v1beta/models/e:batchEmbedContents").map(|c| c.method), Some(Method::BatchEmbedContents));
        assert_eq!(route("/v1/models/e:embedContent").map(|c| c.method), Some(Method::EmbedContent));
        assert_eq!(route("/v1beta/models/g:countTokens"), None);
        assert_eq!(route("/v1/chat/completions"), None);
        let openai = json!({"model": "g", "messages": [{"role": "user", "content": "hi"}]});
        assert!(read(&openai).unwrap_err().contains("Unknown name \"messages\""));
        let tool_role = json!({"contents": [{"role": "tool", "parts": [{"text": "x"}]}]});
        assert!(read(&tool_role).unwrap_err().contains("valid role"));
        let orphan =
            json!({"contents": [{"role": "user", "parts": [{"functionResponse": {"name": "f", "response": {}}}]}]});
        assert!(read(&orphan).unwrap_err().contains("immediately after a function call turn"));
        let two_parts = json!({"contents": [{"role": "user", "parts": [{"text": "a", "inlineData": {"mimeType": "x", "data": ""}}]}]});
        assert!(read(&two_parts).unwrap_err().contains("oneof"));
        let ok = json!({
            "systemInstruction": {"parts": [{"text": "be brief"}]},
            "contents": [
                {"role": "user", "parts": [{"text": "call f x"}]},
                {"role": "model", "parts": [{"functionCall": {"name": "f", "args": {"q": "x"}}}]},
                {"role": "user", "parts": [{"functionResponse": {"name": "f", "response": {"output": "sunny"}}}]}
            ],
            "tools": [{"functionDeclarations": [{"name": "f"}]}]
        });
        let (ask, prompt) = read(&ok).unwrap();
        assert_eq!((ask.subject.as_str(), ask.user_text, ask.prior_tool_calls, prompt), ("sunny", None, 1, 6));
    }
}
