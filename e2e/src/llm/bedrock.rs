//! Amazon Bedrock's Converse API (`bedrock-runtime.{region}.amazonaws.com`):
//! `POST /model/{modelId}/converse` and `/converse-stream`, the model id percent-encoded in the
//! path (`anthropic.claude-3-5-sonnet-20240620-v1%3A0`, an ARN's `/` as `%2F`).
//!
//! Auth ([`authenticate`]): `Authorization: Bearer <key>` (a Bedrock API key; any key) or a
//! Signature Version 4 the mock recomputes ([`super::sigv4`]: the e2e credentials, the refusals
//! and their `x-amzn-errortype`). None is a 403 `MissingAuthenticationTokenException`. The key
//! recorded is the bearer key or the signature's access key id; a signed request's entry in
//! the journal also has the canonical request the mock computed, `sigv4_canonical`.
//!
//! Errors are `{"message": ...}` with the type in `x-amzn-errortype`
//! (`ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/`; the signature's
//! refusals name the bare type). Checks, each a 400 `ValidationException`: the body is a JSON
//! object whose top-level names are Converse's ([`REQUEST_FIELDS`]: `model`, `stream` or an
//! OpenAI body are refused: `extraneous key [model] is not permitted`), and so are those of
//! `inferenceConfig`, of each message (`role`, `content`), tool spec and content block (an
//! OpenAI `{"type": "text", ...}` part is refused); `messages` start with `user` and
//! alternate; every content block is one kind (`text`, `image`, `toolUse`, `toolResult`,
//! `reasoningContent`, `cachePoint`, ...), texts not blank, `toolUse` and `reasoningContent`
//! only in assistant turns and `toolResult` only in user turns; the `toolResult`s of a turn
//! answer exactly the `toolUse`s of the turn before (by `toolUseId`); `toolConfig` is there
//! when the messages hold `toolUse` or `toolResult`; tool specs have a name and an
//! `inputSchema.json` of `type: object`; a `toolChoice.tool` names a declared tool;
//! `maxTokens` >= 1, `temperature` and `topP` in [0, 1]; Claude's thinking
//! (`additionalModelRequestFields.thinking` or `reasoning_config`, `type: enabled`) has a
//! `budget_tokens` >= 1024 below `maxTokens` and no forced tool choice.
//!
//! Reply: `{output: {message: {role: "assistant", content: [{reasoningContent: {reasoningText:
//! {text, signature}}}?, {text} | {toolUse: {toolUseId, name, input: {q}}}...]}}, stopReason:
//! end_turn | tool_use | max_tokens | stop_sequence, usage: {inputTokens, outputTokens,
//! totalTokens, cacheReadInputTokens?, cacheWriteInputTokens?}, metrics: {latencyMs}}`, and
//! `additionalModelResponseFields: {stop_sequence}` when the request's
//! `additionalModelResponseFieldPaths` asks for `/stop_sequence`. Reasoning (the thinking
//! above, or Nova's `reasoningConfig`) is the first block; tool use ids are `tooluse_<k>`. The
//! cache headers of [`super::script`] fill `cacheReadInputTokens` / `cacheWriteInputTokens`,
//! which `inputTokens` leaves out (`totalTokens` counts them).
//!
//! Stream (`content-type: application/vnd.amazon.eventstream`, [`super::eventstream`]): frames
//! `messageStart {role}`; for reasoning `contentBlockDelta {delta: {reasoningContent: {text}}}`
//! per word, one with `{reasoningContent: {signature}}`, `contentBlockStop`; for text
//! `contentBlockDelta {delta: {text}}` per word and `contentBlockStop`; per tool use
//! `contentBlockStart {start: {toolUse: {toolUseId, name}}}`, `contentBlockDelta {delta:
//! {toolUse: {input}}}` in 8-character pieces of the input JSON, `contentBlockStop` (each with
//! its `contentBlockIndex`); `messageStop {stopReason}`; `metadata {usage, metrics}`. Every
//! payload has Bedrock's padding field `p`. The frames go out in several writes, some frames
//! split across two (inside the prelude, inside the payload): the reader must reassemble. A
//! mid-stream failure is an exception frame after the first delta: `throttlingException` for
//! `x-mock-error-mid-stream`, `internalServerException` for a close-mid-stream script or
//! fault; `x-mock-garbage` sends a frame whose CRC is wrong.

use super::eventstream;
use super::model::{self, Answer, Ask, Stop, ToolChoice};
use super::script::Script;
use super::sigv4::{self, Refusal};
use super::Reply;
use crate::body::{self, OutBody};
use hyper::header::HeaderValue;
use hyper::Response;
use serde_json::{json, Map, Value};
use std::time::Duration;

/// The top-level names of a Converse request.
pub const REQUEST_FIELDS: &[&str] = &[
    "messages",
    "system",
    "inferenceConfig",
    "toolConfig",
    "additionalModelRequestFields",
    "guardrailConfig",
    "promptVariables",
    "requestMetadata",
    "performanceConfig",
    "additionalModelResponseFieldPaths",
];

/// The kinds of a message's content block.
const BLOCK_KINDS: &[&str] = &[
    "text",
    "image",
    "document",
    "video",
    "toolUse",
    "toolResult",
    "guardContent",
    "cachePoint",
    "reasoningContent",
    "citationsContent",
];
/// The kinds of a system block.
const SYSTEM_KINDS: &[&str] = &["text", "guardContent", "cachePoint"];
/// The kinds of a tool result's content.
const RESULT_KINDS: &[&str] = &["text", "json", "image", "document", "video"];
/// The names of `inferenceConfig`.
const INFERENCE_FIELDS: &[&str] = &["maxTokens", "temperature", "topP", "stopSequences"];

/// What the `p` padding fields are cut from.
const PADDING: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
/// Pause between the writes of a stream (so that a split frame reaches the reader in pieces).
const WRITE_PAUSE: Duration = Duration::from_millis(3);
/// The message of a request without credentials.
pub const MISSING_TOKEN: &str = "Missing Authentication Token";
/// The suffix of Bedrock's own error types in `x-amzn-errortype`.
const CORAL: &str = ":http://internal.amazon.com/coral/com.amazon.bedrock/";

/// A Converse call: the model (decoded from the path) and whether it streams.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub model: String,
    pub stream: bool,
}

/// Whether `path` is Bedrock's (`/model/...`).
pub fn is_bedrock(path: &str) -> bool {
    path.starts_with("/model/")
}

/// The call a path makes, if it is one.
pub fn route(path: &str) -> Option<Call> {
    let (id, action) = path.strip_prefix("/model/")?.rsplit_once('/')?;
    let stream = match action {
        "converse" => false,
        "converse-stream" => true,
        _ => return None,
    };
    let model = String::from_utf8_lossy(&sigv4::percent_decode(id)).into_owned();
    (!id.is_empty() && !id.contains('/')).then_some(Call { model, stream })
}

/// A Bedrock error body.
pub fn error(message: &str) -> Value {
    json!({ "message": message })
}

/// The `x-amzn-errortype` of an error type: Bedrock's own carry their namespace, the
/// signature's refusals are bare.
pub fn error_type(kind: &str) -> String {
    match kind {
        "InvalidSignatureException"
        | "UnrecognizedClientException"
        | "IncompleteSignatureException"
        | "MissingAuthenticationTokenException" => kind.to_string(),
        _ => format!("{kind}{CORAL}"),
    }
}

/// An error answer: `{"message"}` and its `x-amzn-errortype`.
pub fn error_response(status: u16, kind: &str, message: &str) -> Response<OutBody> {
    let mut response = crate::server::json(status, &error(message));
    if let Ok(value) = HeaderValue::from_str(&error_type(kind)) {
        response.headers_mut().insert("x-amzn-errortype", value);
    }
    response
}

/// The type and message Bedrock answers `status` with.
pub fn status_error(status: u16) -> (&'static str, String) {
    let (kind, message) = match status {
        400 => ("ValidationException", "The provided request is not valid"),
        403 => ("AccessDeniedException", "You don't have access to the model with the specified model ID."),
        404 => {
            ("ResourceNotFoundException", "Could not resolve the foundation model from the provided model identifier.")
        }
        408 => ("ModelTimeoutException", "Model has timed out in processing the request. Try your request again."),
        413 => ("ValidationException", "Input is too long for requested model."),
        424 => ("ModelErrorException", "The model returned an error. Try your request again."),
        429 => ("ThrottlingException", "Too many requests, please wait before trying again."),
        503 => ("ServiceUnavailableException", "Bedrock is unable to process your request."),
        500..=599 => (
            "InternalServerException",
            "The system encountered an unexpected error during processing. Try your request again.",
        ),
        _ => ("ValidationException", "Mock: scripted error."),
    };
    (kind, message.to_string())
}

/// The 404 of a `/model/...` path that is no Converse call.
pub fn not_found(method: &str, path: &str) -> Response<OutBody> {
    error_response(404, "UnknownOperationException", &format!("Unknown operation: {method} {path}"))
}

/// The outcome of [`authenticate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authentication {
    pub result: Result<(), Refusal>,
    /// The canonical request of a signed request (for the journal).
    pub canonical_request: Option<String>,
}

/// Checks a request's credentials: a bearer API key, or a SigV4 signature by the e2e keys.
pub fn authenticate(parts: &hyper::http::request::Parts, body: &[u8], now: u64) -> Authentication {
    let authorization = parts.headers.get("authorization").and_then(|v| v.to_str().ok()).map(str::trim);
    match authorization {
        Some(value) if value.starts_with("Bearer ") && !value["Bearer ".len()..].trim().is_empty() => {
            Authentication { result: Ok(()), canonical_request: None }
        }
        None | Some("") => Authentication {
            result: Err(Refusal {
                status: 403,
                kind: "MissingAuthenticationTokenException",
                message: MISSING_TOKEN.into(),
            }),
            canonical_request: None,
        },
        Some(_) => {
            let request = sigv4::Signable {
                method: parts.method.as_str(),
                path: parts.uri.path(),
                query: parts.uri.query().unwrap_or_default(),
                headers: &parts.headers,
                body,
            };
            let verification = sigv4::verify(&request, now);
            Authentication { result: verification.result, canonical_request: verification.canonical_request }
        }
    }
}

/// The key a request is recorded with: the bearer key or the signature's access key id.
pub fn key(headers: &hyper::HeaderMap) -> Option<String> {
    let value = headers.get("authorization")?.to_str().ok()?.trim();
    match value.strip_prefix("Bearer ") {
        Some(key) => Some(key.trim().to_string()).filter(|k| !k.is_empty()),
        None => sigv4::access_key_of(value),
    }
}

fn extraneous(key: &str, at: &str) -> String {
    let place = if at.is_empty() { String::new() } else { format!(" at '{at}'") };
    format!("Malformed input request: extraneous key [{key}] is not permitted{place}, please reformat your input and try again.")
}

fn invalid(at: &str, constraint: &str) -> String {
    format!("1 validation error detected: Value at '{at}' failed to satisfy constraint: {constraint}")
}

/// `value` as an object whose names are all `allowed`.
fn object<'v>(value: &'v Value, at: &str, allowed: &[&str]) -> Result<&'v Map<String, Value>, String> {
    let object = value.as_object().ok_or_else(|| invalid(at, "Member must be an object"))?;
    match object.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(key) => Err(extraneous(key, at)),
        None => Ok(object),
    }
}

/// A union: an object with exactly one member, of `kinds`.
fn union<'v>(value: &'v Value, at: &str, kinds: &[&str]) -> Result<(&'v str, &'v Value), String> {
    let members = object(value, at, kinds)?;
    let mut set = members.iter().filter(|(_, v)| !v.is_null());
    match (set.next(), set.next()) {
        (Some((kind, value)), None) => Ok((kind.as_str(), value)),
        _ => Err(invalid(at, &format!("Member must have exactly one of [{}] set", kinds.join(", ")))),
    }
}

fn array<'v>(value: &'v Value, at: &str) -> Result<&'v [Value], String> {
    value.as_array().map(Vec::as_slice).ok_or_else(|| invalid(at, "Member must be a list"))
}

fn text_block(value: &Value, at: &str, kind: &str) -> Result<(), String> {
    match value.as_str() {
        Some(text) if !text.trim().is_empty() => Ok(()),
        Some(_) => Err(format!(
            "The text field in the {kind} object at {at} is blank. Add text to the text field, and try again."
        )),
        None => Err(invalid(&format!("{at}.text"), "Member must be a string")),
    }
}

/// The checks of a content block of a `role` message; its kind.
fn check_block<'v>(block: &'v Value, at: &str, role: &str) -> Result<(&'v str, &'v Value), String> {
    let (kind, value) = union(block, at, BLOCK_KINDS)?;
    let only = |wanted: &str| -> Result<(), String> {
        match role == wanted {
            true => Ok(()),
            false => Err(invalid(at, &format!("{kind} blocks are only allowed in {wanted} messages"))),
        }
    };
    match kind {
        "text" => text_block(value, at, "ContentBlock")?,
        "image" => {
            let image = object(value, &format!("{at}.image"), &["format", "source"])?;
            if !matches!(image.get("format").and_then(Value::as_str), Some("png" | "jpeg" | "gif" | "webp")) {
                return Err(invalid(
                    &format!("{at}.image.format"),
                    "Member must satisfy enum value set: [png, jpeg, gif, webp]",
                ));
            }
            union(
                image.get("source").unwrap_or(&Value::Null),
                &format!("{at}.image.source"),
                &["bytes", "s3Location"],
            )?;
        }
        "toolUse" => {
            only("assistant")?;
            let call = object(value, &format!("{at}.toolUse"), &["toolUseId", "name", "input", "type"])?;
            for field in ["toolUseId", "name"] {
                if call.get(field).and_then(Value::as_str).is_none_or(str::is_empty) {
                    return Err(invalid(&format!("{at}.toolUse.{field}"), "Member must not be null"));
                }
            }
            if call.get("input").is_none_or(Value::is_null) {
                return Err(invalid(&format!("{at}.toolUse.input"), "Member must not be null"));
            }
        }
        "toolResult" => {
            only("user")?;
            let result = object(value, &format!("{at}.toolResult"), &["toolUseId", "content", "status", "type"])?;
            if result.get("toolUseId").and_then(Value::as_str).is_none_or(str::is_empty) {
                return Err(invalid(&format!("{at}.toolResult.toolUseId"), "Member must not be null"));
            }
            let content_at = format!("{at}.toolResult.content");
            for (j, item) in array(result.get("content").unwrap_or(&Value::Null), &content_at)?.iter().enumerate() {
                union(item, &format!("{content_at}.{j}"), RESULT_KINDS)?;
            }
            if !matches!(result.get("status"), None | Some(Value::Null)) {
                let status = result.get("status").and_then(Value::as_str);
                if !matches!(status, Some("success" | "error")) {
                    return Err(invalid(
                        &format!("{at}.toolResult.status"),
                        "Member must satisfy enum value set: [success, error]",
                    ));
                }
            }
        }
        "reasoningContent" => {
            only("assistant")?;
            let (variant, reasoning) =
                union(value, &format!("{at}.reasoningContent"), &["reasoningText", "redactedContent"])?;
            if variant == "reasoningText" {
                let text = object(reasoning, &format!("{at}.reasoningContent.reasoningText"), &["text", "signature"])?;
                if !text.get("text").is_some_and(Value::is_string) {
                    return Err(invalid(
                        &format!("{at}.reasoningContent.reasoningText.text"),
                        "Member must not be null",
                    ));
                }
            }
        }
        "cachePoint" => {
            let point = object(value, &format!("{at}.cachePoint"), &["type", "ttl"])?;
            if point.get("type").and_then(Value::as_str) != Some("default") {
                return Err(invalid(&format!("{at}.cachePoint.type"), "Member must satisfy enum value set: [default]"));
            }
        }
        _ => {}
    }
    Ok((kind, value))
}

fn ids<'v>(blocks: &[(&str, &'v Value)], kind: &str) -> Vec<&'v str> {
    blocks.iter().filter(|(k, _)| *k == kind).filter_map(|(_, v)| v["toolUseId"].as_str()).collect()
}

/// The checks of `messages`; whether they hold tool blocks.
fn check_messages(messages: &[Value]) -> Result<bool, String> {
    if messages.is_empty() {
        return Err("A conversation must start with a user message. Try again with a conversation that starts with a user message.".into());
    }
    let mut previous: Option<&str> = None;
    let mut pending: Vec<&str> = Vec::new();
    let mut tools = false;
    for (i, message) in messages.iter().enumerate() {
        let at = format!("messages.{i}");
        let fields = object(message, &at, &["role", "content"])?;
        let role = match fields.get("role").and_then(Value::as_str) {
            Some(role @ ("user" | "assistant")) => role,
            _ => return Err(invalid(&format!("{at}.role"), "Member must satisfy enum value set: [user, assistant]")),
        };
        match previous {
            None if role != "user" => {
                return Err("A conversation must start with a user message. Try again with a conversation that starts with a user message.".into())
            }
            Some(p) if p == role => {
                return Err("A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again.".into())
            }
            _ => {}
        }
        let content = array(fields.get("content").unwrap_or(&Value::Null), &format!("{at}.content"))?;
        if content.is_empty() {
            return Err(format!("The content field in the Message object at {at} is empty. Add a ContentBlock object to the content field and try again."));
        }
        let blocks = content
            .iter()
            .enumerate()
            .map(|(j, block)| check_block(block, &format!("{at}.content.{j}"), role))
            .collect::<Result<Vec<_>, _>>()?;
        let results = ids(&blocks, "toolResult");
        tools |= !results.is_empty() || blocks.iter().any(|(k, _)| *k == "toolUse");
        if results.len() > pending.len() {
            return Err(format!("The number of toolResult blocks at {at}.content exceeds the number of toolUse blocks of previous turn."));
        }
        if let Some(stray) = results.iter().find(|id| !pending.contains(id)) {
            return Err(format!("The toolResult block with toolUseId {stray} at {at}.content has no toolUse block with that id in the previous turn."));
        }
        let missing: Vec<&str> = pending.iter().filter(|id| !results.contains(id)).copied().collect();
        if !missing.is_empty() {
            return Err(format!(
                "Expected toolResult blocks at {at}.content for the following Ids: {}",
                missing.join(", ")
            ));
        }
        pending = if role == "assistant" { ids(&blocks, "toolUse") } else { Vec::new() };
        previous = Some(role);
    }
    if !pending.is_empty() {
        let at = format!("messages.{}", messages.len());
        return Err(format!(
            "Expected toolResult blocks at {at}.content for the following Ids: {}",
            pending.join(", ")
        ));
    }
    Ok(tools)
}

/// The declared tools and the choice.
fn tool_config(config: &Value) -> Result<(Vec<String>, ToolChoice), String> {
    let fields = object(config, "toolConfig", &["tools", "toolChoice"])?;
    let tools = array(fields.get("tools").unwrap_or(&Value::Null), "toolConfig.tools")?;
    if tools.is_empty() {
        return Err(invalid("toolConfig.tools", "Member must have length greater than or equal to 1"));
    }
    let mut names = Vec::new();
    for (i, tool) in tools.iter().enumerate() {
        let at = format!("toolConfig.tools.{i}");
        let (kind, spec) = union(tool, &at, &["toolSpec", "cachePoint", "systemTool"])?;
        if kind != "toolSpec" {
            continue;
        }
        let spec = object(spec, &format!("{at}.toolSpec"), &["name", "description", "inputSchema", "strict"])?;
        let name = spec.get("name").and_then(Value::as_str).unwrap_or_default();
        let valid =
            (1..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !valid {
            return Err(invalid(
                &format!("{at}.toolSpec.name"),
                "Member must satisfy regular expression pattern: [a-zA-Z0-9_-]+",
            ));
        }
        let (_, schema) =
            union(spec.get("inputSchema").unwrap_or(&Value::Null), &format!("{at}.toolSpec.inputSchema"), &["json"])?;
        if schema.get("type").and_then(Value::as_str) != Some("object") {
            return Err(format!(
                "The value at {at}.toolSpec.inputSchema.json.type must be one of the following: object."
            ));
        }
        names.push(name.to_string());
    }
    let choice = match fields.get("toolChoice") {
        None | Some(Value::Null) => ToolChoice::Auto,
        Some(choice) => match union(choice, "toolConfig.toolChoice", &["auto", "any", "tool"])? {
            ("auto", _) => ToolChoice::Auto,
            ("any", _) => ToolChoice::Any,
            (_, tool) => {
                let name = tool["name"].as_str().unwrap_or_default();
                if !names.iter().any(|n| n == name) {
                    return Err(format!("The tool name in toolConfig.toolChoice.tool ({name}) is not the name of a tool in toolConfig.tools."));
                }
                ToolChoice::Tool(name.to_string())
            }
        },
    };
    Ok((names, choice))
}

/// `inferenceConfig`: `maxTokens` and the stop sequences.
fn inference(config: &Value) -> Result<(Option<u64>, Vec<String>), String> {
    if config.is_null() {
        return Ok((None, Vec::new()));
    }
    let fields = object(config, "inferenceConfig", INFERENCE_FIELDS)?;
    let max_tokens = match fields.get("maxTokens") {
        None | Some(Value::Null) => None,
        Some(value) => Some(value.as_u64().filter(|n| *n >= 1).ok_or_else(|| {
            invalid("inferenceConfig.maxTokens", "Member must have value greater than or equal to 1")
        })?),
    };
    for name in ["temperature", "topP"] {
        if let Some(value) = fields.get(name).filter(|v| !v.is_null()) {
            if !value.as_f64().is_some_and(|v| (0.0..=1.0).contains(&v)) {
                return Err(invalid(&format!("inferenceConfig.{name}"), "Member must have value between 0 and 1"));
            }
        }
    }
    let stop = match fields.get("stopSequences") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => {
            items.iter().filter_map(Value::as_str).map(str::to_string).collect()
        }
        Some(_) => return Err(invalid("inferenceConfig.stopSequences", "Member must be a list of strings")),
    };
    Ok((max_tokens, stop))
}

/// Whether the request reasons (Claude's `thinking` / `reasoning_config`, Nova's
/// `reasoningConfig`), after Claude's checks.
fn reasoning(fields: &Value, max_tokens: Option<u64>, choice: &ToolChoice) -> Result<bool, String> {
    if !fields.is_null() && !fields.is_object() {
        return Err(invalid("additionalModelRequestFields", "Member must be an object"));
    }
    let model_error = |message: &str| format!("The model returned the following errors: {message}");
    let thinking = fields.get("thinking").or_else(|| fields.get("reasoning_config")).unwrap_or(&Value::Null);
    let on = match thinking["type"].as_str() {
        None if thinking.is_null() => fields["reasoningConfig"]["type"] == "enabled",
        Some("disabled") => false,
        Some("adaptive") => true,
        Some("enabled") => {
            let budget = thinking["budget_tokens"].as_u64();
            let Some(budget) = budget.filter(|b| *b >= 1024) else {
                return Err(model_error("thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"));
            };
            if max_tokens.is_some_and(|max| budget >= max) {
                return Err(model_error("`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#max-tokens-and-context-window-size"));
            }
            true
        }
        other => {
            return Err(model_error(&format!(
                "thinking: Input tag '{}' found using 'type' does not match any of the expected tags: 'disabled', 'enabled', 'adaptive'",
                other.unwrap_or_default()
            )))
        }
    };
    if on && matches!(choice, ToolChoice::Any | ToolChoice::Tool(_)) {
        return Err(model_error("Thinking may not be enabled when tool_choice forces tool use."));
    }
    Ok(on)
}

/// The text of a block: a text, or (`with_results`) a tool result's texts and JSON.
fn block_text(block: &Value, with_results: bool) -> Option<String> {
    if let Some(text) = block["text"].as_str() {
        return Some(text.to_string());
    }
    let result = block.get("toolResult").filter(|_| with_results)?;
    let parts: Vec<String> = result["content"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|item| match (item["text"].as_str(), item.get("json")) {
            (Some(text), _) => Some(text.to_string()),
            (None, Some(json)) => Some(json.to_string()),
            _ => None,
        })
        .collect();
    Some(parts.join(" "))
}

fn message_text(message: &Value, with_results: bool) -> String {
    let blocks = message["content"].as_array().map(Vec::as_slice).unwrap_or_default();
    blocks.iter().filter_map(|b| block_text(b, with_results)).collect::<Vec<_>>().join(" ")
}

/// What a valid request asks: the [`Ask`], the prompt tokens and whether the reply names its
/// stop sequence (`additionalModelResponseFieldPaths: ["/stop_sequence"]`).
struct Read {
    ask: Ask,
    prompt: u64,
    stop_sequence_field: bool,
}

/// The API's checks; what a valid request asks.
fn read(request: &Value) -> Result<Read, String> {
    let Some(fields) = request.as_object() else {
        return Err("Malformed input request, please reformat your input and try again.".into());
    };
    if let Some(key) = fields.keys().find(|k| !REQUEST_FIELDS.contains(&k.as_str())) {
        return Err(extraneous(key, ""));
    }
    let messages = match fields.get("messages") {
        None | Some(Value::Null) => return Err(invalid("messages", "Member must not be null")),
        Some(messages) => array(messages, "messages")?,
    };
    let has_tool_blocks = check_messages(messages)?;
    let system = match fields.get("system") {
        None | Some(Value::Null) => &[][..],
        Some(system) => array(system, "system")?,
    };
    for (i, block) in system.iter().enumerate() {
        let at = format!("system.{i}");
        if let ("text", text) = union(block, &at, SYSTEM_KINDS)? {
            text_block(text, &at, "SystemContentBlock")?;
        }
    }
    let (tools, choice) = match fields.get("toolConfig").filter(|c| !c.is_null()) {
        Some(config) => tool_config(config)?,
        None if has_tool_blocks => {
            return Err("The toolConfig field must be defined when using toolUse and toolResult content blocks.".into())
        }
        None => (Vec::new(), ToolChoice::Auto),
    };
    let (max_tokens, stop) = inference(fields.get("inferenceConfig").unwrap_or(&Value::Null))?;
    let reasoning = reasoning(fields.get("additionalModelRequestFields").unwrap_or(&Value::Null), max_tokens, &choice)?;
    if let Some(config) = fields.get("performanceConfig").filter(|c| !c.is_null()) {
        let config = object(config, "performanceConfig", &["latency"])?;
        if !matches!(config.get("latency").and_then(Value::as_str), Some("standard" | "optimized")) {
            return Err(invalid(
                "performanceConfig.latency",
                "Member must satisfy enum value set: [standard, optimized]",
            ));
        }
    }
    let paths = match fields.get("additionalModelResponseFieldPaths") {
        None | Some(Value::Null) => &[][..],
        Some(paths) => array(paths, "additionalModelResponseFieldPaths")?,
    };
    if paths.iter().any(|p| !p.as_str().is_some_and(|p| p.starts_with('/'))) {
        return Err(invalid("additionalModelResponseFieldPaths", "Member must be a list of JSON pointers"));
    }
    if let Some(metadata) = fields.get("requestMetadata").filter(|m| !m.is_null()) {
        if !metadata.as_object().is_some_and(|m| m.values().all(Value::is_string)) {
            return Err(invalid("requestMetadata", "Member must be a map of strings"));
        }
    }
    let last = messages.last().unwrap_or(&Value::Null);
    let last_has_results = last["content"].as_array().is_some_and(|b| b.iter().any(|b| b.get("toolResult").is_some()));
    let ask = Ask {
        subject: messages.iter().rev().find(|m| m["role"] == "user").map(|m| message_text(m, true)).unwrap_or_default(),
        user_text: (last["role"] == "user" && !last_has_results).then(|| message_text(last, false)),
        tools,
        choice,
        parallel: true,
        reasoning,
        max_tokens,
        stop,
        prior_tool_calls: messages
            .iter()
            .filter_map(|m| m["content"].as_array())
            .map(|blocks| blocks.iter().filter(|b| b.get("toolUse").is_some()).count())
            .sum(),
        id_prefix: "tooluse_",
    };
    let system_text: Vec<&str> = system.iter().filter_map(|b| b["text"].as_str()).collect();
    let prompt = model::tokens(&system_text.join(" "))
        + messages.iter().map(|m| model::tokens(&message_text(m, true))).sum::<u64>();
    let stop_sequence_field = paths.iter().any(|p| p == "/stop_sequence");
    Ok(Read { ask, prompt, stop_sequence_field })
}

fn stop_reason(stop: &Stop) -> &'static str {
    match stop {
        Stop::End => "end_turn",
        Stop::Length => "max_tokens",
        Stop::Sequence(_) => "stop_sequence",
        Stop::ToolUse => "tool_use",
    }
}

/// `usage`: the cache's reads and writes (from the script) apart from `inputTokens`.
fn usage(prompt: u64, output: u64, script: &Script) -> Value {
    let read = script.cached_tokens.min(prompt);
    let written = script.cache_creation_tokens.min(prompt - read);
    let input = prompt - read - written;
    let mut usage =
        json!({"inputTokens": input, "outputTokens": output, "totalTokens": input + output + read + written});
    if read + written > 0 {
        usage["cacheReadInputTokens"] = json!(read);
        usage["cacheWriteInputTokens"] = json!(written);
    }
    usage
}

fn metrics(output: u64) -> Value {
    json!({ "latencyMs": 100 + 10 * output })
}

fn tool_input(call: &model::ToolCall) -> Value {
    serde_json::from_str(&call.arguments).unwrap_or_else(|_| json!({}))
}

fn response_fields(answer: &Answer) -> Value {
    match &answer.stop {
        Stop::Sequence(sequence) => json!({ "stop_sequence": sequence }),
        _ => json!({ "stop_sequence": null }),
    }
}

/// A Converse answer: a JSON reply, or the frames of a stream (each with whether it carries a
/// piece of the answer).
pub enum Converse {
    Reply(Reply),
    Stream(Vec<(Vec<u8>, bool)>),
}

/// Answers a Converse call.
pub fn converse(call: &Call, body: &[u8], script: &Script) -> Converse {
    let request: Value = match serde_json::from_slice(body) {
        Ok(value) => value,
        Err(_) => {
            return Converse::Reply(Reply::Json(
                400,
                error("Malformed input request, please reformat your input and try again."),
            ))
        }
    };
    let read = match read(&request) {
        Ok(read) => read,
        Err(message) => return Converse::Reply(Reply::Json(400, error(&message))),
    };
    let answer = model::answer(&read.ask);
    let output = answer.output_tokens();
    if call.stream {
        return Converse::Stream(stream_frames(&answer, read.prompt, script, read.stop_sequence_field));
    }
    let mut content = Vec::new();
    if let Some(reasoning) = &answer.reasoning {
        content.push(json!({"reasoningContent": {"reasoningText": {"text": reasoning, "signature": model::signature(reasoning)}}}));
    }
    if let Some(text) = &answer.text {
        content.push(json!({ "text": text }));
    }
    for call in &answer.tool_calls {
        content.push(json!({"toolUse": {"toolUseId": call.id, "name": call.name, "input": tool_input(call)}}));
    }
    let mut reply = json!({
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": stop_reason(&answer.stop),
        "usage": usage(read.prompt, output, script),
        "metrics": metrics(output),
    });
    if read.stop_sequence_field {
        reply["additionalModelResponseFields"] = response_fields(&answer);
    }
    Converse::Reply(Reply::Json(200, reply))
}

/// The stream's frames.
fn stream_frames(answer: &Answer, prompt: u64, script: &Script, stop_sequence_field: bool) -> Vec<(Vec<u8>, bool)> {
    let mut frames = Vec::new();
    let mut push = |event: &str, mut payload: Value, delta: bool| {
        let n = frames.len();
        let len = 1 + (n * 7 + 3) % (PADDING.len() - 1);
        payload["p"] = json!(PADDING.get(..len).unwrap_or(PADDING));
        frames.push((eventstream::event(event, &payload), delta));
    };
    push("messageStart", json!({"role": "assistant"}), false);
    let mut index = 0;
    if let Some(reasoning) = &answer.reasoning {
        for piece in model::word_pieces(reasoning) {
            let delta = json!({"reasoningContent": {"text": piece}});
            push("contentBlockDelta", json!({"contentBlockIndex": index, "delta": delta}), true);
        }
        let signed = json!({"reasoningContent": {"signature": model::signature(reasoning)}});
        push("contentBlockDelta", json!({"contentBlockIndex": index, "delta": signed}), true);
        push("contentBlockStop", json!({ "contentBlockIndex": index }), false);
        index += 1;
    }
    if let Some(text) = &answer.text {
        for piece in model::word_pieces(text) {
            push("contentBlockDelta", json!({"contentBlockIndex": index, "delta": {"text": piece}}), true);
        }
        push("contentBlockStop", json!({ "contentBlockIndex": index }), false);
        index += 1;
    }
    for call in &answer.tool_calls {
        let start = json!({"toolUse": {"toolUseId": call.id, "name": call.name}});
        push("contentBlockStart", json!({"contentBlockIndex": index, "start": start}), false);
        let input = tool_input(call).to_string();
        for piece in model::char_pieces(&input, 8) {
            let delta = json!({"toolUse": {"input": piece}});
            push("contentBlockDelta", json!({"contentBlockIndex": index, "delta": delta}), true);
        }
        push("contentBlockStop", json!({ "contentBlockIndex": index }), false);
        index += 1;
    }
    let mut stop = json!({ "stopReason": stop_reason(&answer.stop) });
    if stop_sequence_field {
        stop["additionalModelResponseFields"] = response_fields(answer);
    }
    push("messageStop", stop, false);
    let output = answer.output_tokens();
    push("metadata", json!({"usage": usage(prompt, output, script), "metrics": metrics(output)}), false);
    frames
}

/// How the frames are written: frame 0, 3, ... with what is left of the one before; frame 1,
/// 4, ... cut inside its prelude; frame 2, 5, ... cut inside its payload - so that writes
/// end inside frames and begin inside others.
pub fn writes(frames: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut writes = Vec::new();
    let mut carry: Vec<u8> = Vec::new();
    for (i, frame) in frames.iter().enumerate() {
        let cut = match i % 3 {
            0 => frame.len(),
            1 => 7,
            _ => frame.len() - 6,
        }
        .min(frame.len());
        carry.extend_from_slice(&frame[..cut]);
        writes.push(std::mem::take(&mut carry));
        carry.extend_from_slice(&frame[cut..]);
    }
    if !carry.is_empty() {
        writes.push(carry);
    }
    writes
}

/// The exception frame a failure sends mid-stream, as `script` asks (none when it asks none).
fn failure(script: &Script) -> Option<Vec<u8>> {
    if script.error_mid_stream {
        Some(eventstream::exception("throttlingException", "Too many tokens, please wait before trying again."))
    } else if script.close_mid_stream {
        Some(eventstream::exception(
            "internalServerException",
            "The system encountered an unexpected error during processing. Try your request again.",
        ))
    } else {
        None
    }
}

fn event_stream_response(writes: Vec<Vec<u8>>, pause: Duration) -> Response<OutBody> {
    let (tx, out) = body::channel();
    tokio::spawn(async move {
        for (i, write) in writes.into_iter().enumerate() {
            if i > 0 {
                tokio::time::sleep(pause).await;
            }
            if tx.send(body::data(write)).await.is_err() {
                return;
            }
        }
    });
    let mut response = Response::new(out);
    response.headers_mut().insert("content-type", HeaderValue::from_static(eventstream::CONTENT_TYPE));
    response
}

/// A `converse-stream` answer sending `frames` as `script` says.
pub fn stream(mut frames: Vec<(Vec<u8>, bool)>, script: &Script) -> Response<OutBody> {
    if let Some(exception) = failure(script) {
        let at = frames.iter().position(|(_, delta)| *delta).map_or(frames.len(), |i| i + 1);
        frames.truncate(at);
        frames.push((exception, false));
    }
    let frames: Vec<Vec<u8>> = frames.into_iter().map(|(frame, _)| frame).collect();
    event_stream_response(writes(&frames), script.chunk_delay.max(WRITE_PAUSE))
}

/// The answer of `x-mock-garbage` to a stream: a good `messageStart`, then a frame whose
/// message CRC is wrong.
pub fn garbage_stream() -> Response<OutBody> {
    let first = eventstream::event("messageStart", &json!({"p": "abc", "role": "assistant"}));
    let mut broken =
        eventstream::event("contentBlockDelta", &json!({"contentBlockIndex": 0, "delta": {"text": "x"}, "p": "a"}));
    let last = broken.len() - 1;
    broken[last] ^= 0xff;
    event_stream_response(vec![first, broken], WRITE_PAUSE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn converse_json(body: Value) -> (u16, Value) {
        match converse(&Call { model: "m".into(), stream: false }, body.to_string().as_bytes(), &Script::default()) {
            Converse::Reply(Reply::Json(status, value)) => (status, value),
            _ => (0, Value::Null),
        }
    }

    fn refused(body: Value) -> String {
        let (status, value) = converse_json(body);
        assert_eq!(status, 400, "{value}");
        value["message"].as_str().unwrap_or_default().to_string()
    }

    fn user(text: &str) -> Value {
        json!({"role": "user", "content": [{"text": text}]})
    }

    fn tools() -> Value {
        json!({"tools": [{"toolSpec": {"name": "f", "inputSchema": {"json": {"type": "object"}}}}]})
    }

    #[test]
    fn routes() {
        let call = route("/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse");
        assert_eq!(call, Some(Call { model: "anthropic.claude-3-5-sonnet-20240620-v1:0".into(), stream: false }));
        let arn = route("/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A1%3Ainference-profile%2Fus.x/converse-stream");
        assert_eq!(
            arn,
            Some(Call { model: "arn:aws:bedrock:us-east-1:1:inference-profile/us.x".into(), stream: true })
        );
        assert_eq!(route("/model/a+b/converse").map(|c| c.model), Some("a+b".into()));
        assert_eq!(route("/model/m/invoke"), None);
        assert_eq!(route("/model//converse"), None);
        assert_eq!(route("/model/a/b/converse"), None);
        assert!(is_bedrock("/model/m/invoke"));
        assert_eq!(
            error_type("ValidationException"),
            "ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/"
        );
        assert_eq!(error_type("InvalidSignatureException"), "InvalidSignatureException");
        assert_eq!(status_error(429).0, "ThrottlingException");
    }

    #[test]
    fn answers_a_converse_call() {
        let (status, reply) = converse_json(json!({
            "system": [{"text": "be brief"}],
            "messages": [user("hi there")],
            "inferenceConfig": {"maxTokens": 2048},
            "additionalModelRequestFields": {"thinking": {"type": "enabled", "budget_tokens": 1024}}
        }));
        assert_eq!(status, 200, "{reply}");
        let content = &reply["output"]["message"]["content"];
        assert_eq!(reply["output"]["message"]["role"], "assistant");
        assert_eq!(content[0]["reasoningContent"]["reasoningText"]["text"], "Mock reasoning about: hi there");
        assert_eq!(
            content[0]["reasoningContent"]["reasoningText"]["signature"],
            model::signature("Mock reasoning about: hi there")
        );
        assert_eq!(content[1], json!({"text": "Mock reply to: hi there"}));
        assert_eq!(reply["stopReason"], "end_turn");
        assert_eq!(reply["usage"], json!({"inputTokens": 4, "outputTokens": 10, "totalTokens": 14}));
        assert_eq!(reply["metrics"]["latencyMs"], 200);
        // Tools: a call, then its result answered.
        let (_, called) = converse_json(json!({"messages": [user("call f Paris")], "toolConfig": tools()}));
        assert_eq!(called["stopReason"], "tool_use");
        let call = &called["output"]["message"]["content"][0]["toolUse"];
        assert_eq!(*call, json!({"toolUseId": "tooluse_1", "name": "f", "input": {"q": "Paris"}}));
        let answered = json!({"messages": [
            user("call f Paris"),
            {"role": "assistant", "content": [{"toolUse": call.clone()}]},
            {"role": "user", "content": [{"toolResult": {"toolUseId": "tooluse_1", "content": [{"json": {"t": 20}}], "status": "success"}}]}
        ], "toolConfig": tools()});
        let (status, reply) = converse_json(answered);
        assert_eq!(status, 200, "{reply}");
        assert_eq!(reply["output"]["message"]["content"][0]["text"], "Mock reply to: {\"t\":20}");
        // Stop sequences, cut lengths, the cache and the stop sequence field.
        let body = json!({"messages": [user("one two")], "inferenceConfig": {"stopSequences": ["to:"]},
            "additionalModelResponseFieldPaths": ["/stop_sequence"]});
        let (_, reply) = converse_json(body);
        assert_eq!(
            (reply["stopReason"].clone(), reply["additionalModelResponseFields"].clone()),
            (json!("stop_sequence"), json!({"stop_sequence": "to:"}))
        );
        let (_, reply) = converse_json(json!({"messages": [user("one two")], "inferenceConfig": {"maxTokens": 2}}));
        assert_eq!(
            (reply["stopReason"].clone(), reply["output"]["message"]["content"][0]["text"].clone()),
            (json!("max_tokens"), json!("Mock reply"))
        );
        let script = Script { cached_tokens: 1, cache_creation_tokens: 1, ..Script::default() };
        let body = json!({"messages": [user("a b c")]}).to_string();
        let Converse::Reply(Reply::Json(_, reply)) =
            converse(&Call { model: "m".into(), stream: false }, body.as_bytes(), &script)
        else {
            panic!()
        };
        assert_eq!(
            reply["usage"],
            json!({"inputTokens": 1, "outputTokens": 6, "totalTokens": 9, "cacheReadInputTokens": 1, "cacheWriteInputTokens": 1})
        );
    }

    #[test]
    fn validates_as_bedrock_does() {
        let extraneous = refused(json!({"model": "m", "messages": [user("x")]}));
        assert!(extraneous.contains("extraneous key [model] is not permitted"), "{extraneous}");
        assert!(refused(json!({"stream": true, "messages": [user("x")]})).contains("[stream]"));
        let openai_part = json!({"messages": [{"role": "user", "content": [{"type": "text", "text": "x"}]}]});
        assert!(refused(openai_part).contains("extraneous key [type]"));
        assert!(refused(json!({"messages": [{"role": "user", "content": "x"}]})).contains("Member must be a list"));
        assert!(refused(json!({"messages": [{"role": "system", "content": [{"text": "x"}]}]}))
            .contains("[user, assistant]"));
        let first = refused(json!({"messages": [{"role": "assistant", "content": [{"text": "x"}]}]}));
        assert!(first.starts_with("A conversation must start with a user message."), "{first}");
        assert!(refused(json!({"messages": [user("a"), user("b")]})).starts_with("A conversation must alternate"));
        assert!(refused(json!({"messages": []})).starts_with("A conversation must start with a user message"));
        assert!(refused(json!({"messages": [user(" ")]})).contains("is blank"));
        assert!(refused(json!({"messages": [{"role": "user", "content": []}]})).contains("is empty"));
        let two_kinds = json!({"messages": [{"role": "user", "content": [{"text": "x", "image": {}}]}]});
        assert!(refused(two_kinds).contains("exactly one of"));
        assert!(
            refused(json!({"messages": [user("x")], "inferenceConfig": {"max_tokens": 5}})).contains("[max_tokens]")
        );
        assert!(
            refused(json!({"messages": [user("x")], "inferenceConfig": {"temperature": 1.5}})).contains("temperature")
        );
        // Tool blocks: toolConfig, pairing, places.
        let call =
            json!({"role": "assistant", "content": [{"toolUse": {"toolUseId": "t1", "name": "f", "input": {}}}]});
        let result = |id: &str| json!({"role": "user", "content": [{"toolResult": {"toolUseId": id, "content": [{"text": "r"}]}}]});
        let no_config = refused(json!({"messages": [user("x"), call.clone(), result("t1")]}));
        assert_eq!(no_config, "The toolConfig field must be defined when using toolUse and toolResult content blocks.");
        let stray = refused(json!({"messages": [user("x"), call.clone(), result("t2")], "toolConfig": tools()}));
        assert!(stray.contains("toolUseId t2"), "{stray}");
        let missing = refused(json!({"messages": [user("x"), call.clone(), user("y")], "toolConfig": tools()}));
        assert_eq!(missing, "Expected toolResult blocks at messages.2.content for the following Ids: t1");
        let unanswered = refused(json!({"messages": [user("x"), call.clone()], "toolConfig": tools()}));
        assert!(unanswered.contains("following Ids: t1"));
        let orphan = refused(json!({"messages": [result("t1")], "toolConfig": tools()}));
        assert!(orphan.starts_with("The number of toolResult blocks at messages.0.content exceeds"), "{orphan}");
        let in_user = json!({"role": "user", "content": [{"toolUse": {"toolUseId": "t", "name": "f", "input": {}}}]});
        assert!(refused(json!({"messages": [in_user], "toolConfig": tools()}))
            .contains("only allowed in assistant messages"));
        let openai_tool = json!({"tools": [{"type": "function", "function": {"name": "f"}}]});
        assert!(
            refused(json!({"messages": [user("x")], "toolConfig": openai_tool})).contains("extraneous key [function]")
        );
        let no_type = json!({"tools": [{"toolSpec": {"name": "f", "inputSchema": {"json": {}}}}]});
        assert!(refused(json!({"messages": [user("x")], "toolConfig": no_type}))
            .contains("must be one of the following: object."));
        let unknown_choice = json!({"tools": tools()["tools"], "toolChoice": {"tool": {"name": "g"}}});
        assert!(refused(json!({"messages": [user("x")], "toolConfig": unknown_choice})).contains("(g)"));
        // Claude's thinking.
        let thinking = |budget: u64, max: u64| {
            json!({"messages": [user("x")], "inferenceConfig": {"maxTokens": max},
            "additionalModelRequestFields": {"thinking": {"type": "enabled", "budget_tokens": budget}}})
        };
        assert!(refused(thinking(100, 5000)).contains("greater than or equal to 1024"));
        assert!(refused(thinking(2048, 2048)).contains("`max_tokens` must be greater than `thinking.budget_tokens`"));
        let forced = json!({"messages": [user("x")], "toolConfig": {"tools": tools()["tools"], "toolChoice": {"any": {}}},
            "additionalModelRequestFields": {"reasoning_config": {"type": "enabled", "budget_tokens": 1024}}});
        assert!(refused(forced).contains("Thinking may not be enabled"));
        // What is allowed.
        let full = json!({"messages": [user("x")], "system": [{"text": "s"}, {"cachePoint": {"type": "default"}}],
            "performanceConfig": {"latency": "standard"}, "requestMetadata": {"a": "b"},
            "additionalModelRequestFields": {"top_k": 5}, "inferenceConfig": {"temperature": 0, "topP": 1, "maxTokens": 10}});
        assert_eq!(converse_json(full).0, 200);
    }

    #[test]
    fn streams_frames_split_across_writes() {
        let body = json!({"messages": [user("call f a b")], "toolConfig": tools(),
            "additionalModelRequestFields": {"thinking": {"type": "adaptive"}}});
        let Converse::Stream(frames) =
            converse(&Call { model: "m".into(), stream: true }, body.to_string().as_bytes(), &Script::default())
        else {
            panic!("a stream")
        };
        let bytes: Vec<u8> = frames.iter().flat_map(|(f, _)| f.clone()).collect();
        let decoded = eventstream::decode(&bytes).unwrap();
        let kinds: Vec<&str> = decoded.iter().map(|f| f.header(":event-type").unwrap()).collect();
        // 7 reasoning words and the signature, the tool call's start, 2 input pieces, stops.
        let mut expected = vec!["messageStart"];
        expected.extend(["contentBlockDelta"; 8]);
        expected.extend(["contentBlockStop", "contentBlockStart", "contentBlockDelta", "contentBlockDelta"]);
        expected.extend(["contentBlockStop", "messageStop", "metadata"]);
        assert_eq!(kinds, expected);
        assert!(decoded.iter().all(
            |f| f.header(":message-type") == Some("event") && f.header(":content-type") == Some("application/json")
        ));
        assert!(
            decoded.iter().all(|f| f.json()["p"].as_str().is_some_and(|p| !p.is_empty())),
            "padding in every payload"
        );
        assert_eq!(decoded[0].json()["role"], "assistant");
        assert_eq!(decoded[1].json()["delta"]["reasoningContent"]["text"], "Mock ");
        assert_eq!(
            decoded[8].json()["delta"]["reasoningContent"]["signature"],
            model::signature("Mock reasoning about: call f a b")
        );
        assert_eq!(decoded[10].json()["start"], json!({"toolUse": {"toolUseId": "tooluse_1", "name": "f"}}));
        assert_eq!(decoded[10].json()["contentBlockIndex"], 1);
        let input: String = decoded[11..13]
            .iter()
            .map(|f| f.json()["delta"]["toolUse"]["input"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(input, r#"{"q":"a b"}"#);
        assert_eq!(decoded[14].json()["stopReason"], "tool_use");
        assert_eq!(decoded[15].json()["usage"]["outputTokens"], 9);
        assert!(decoded[15].json()["metrics"]["latencyMs"].is_u64());
        // The writes: the same bytes, some frames cut across two writes.
        let frames: Vec<Vec<u8>> = frames.into_iter().map(|(f, _)| f).collect();
        let writes = writes(&frames);
        assert_eq!(writes.concat(), bytes);
        assert!(writes.len() >= frames.len(), "{} writes", writes.len());
        let mut boundaries = vec![0];
        for frame in &frames {
            boundaries.push(boundaries.last().unwrap() + frame.len());
        }
        let mut at = 0;
        let mut cut = 0;
        for write in &writes {
            at += write.len();
            cut += usize::from(!boundaries.contains(&at));
        }
        assert!(cut >= frames.len() / 2, "{cut} writes end inside a frame");
    }

    #[test]
    fn text_streams_and_failures() {
        let body = json!({"messages": [user("hi")]}).to_string();
        let frames =
            |script: &Script| match converse(&Call { model: "m".into(), stream: true }, body.as_bytes(), script) {
                Converse::Stream(frames) => frames,
                Converse::Reply(_) => panic!("a stream"),
            };
        let all = frames(&Script::default());
        let decoded = eventstream::decode(&all.iter().flat_map(|(f, _)| f.clone()).collect::<Vec<_>>()).unwrap();
        let text: String =
            decoded.iter().filter_map(|f| f.json()["delta"]["text"].as_str().map(str::to_string)).collect();
        assert_eq!(text, "Mock reply to: hi");
        assert_eq!(decoded.len(), 1 + 4 + 1 + 2);
        assert_eq!(decoded[6].json()["stopReason"], "end_turn");
        assert_eq!(decoded[7].json()["usage"], json!({"inputTokens": 1, "outputTokens": 4, "totalTokens": 5}));
        // A scripted error: an exception frame after the first delta.
        let script = Script { error_mid_stream: true, ..Script::default() };
        let exception = failure(&script).unwrap();
        let decoded = eventstream::decode(&exception).unwrap();
        assert_eq!(decoded[0].header(":message-type"), Some("exception"));
        assert_eq!(decoded[0].header(":exception-type"), Some("throttlingException"));
        assert_eq!(decoded[0].json()["message"], "Too many tokens, please wait before trying again.");
        let closed = failure(&Script { close_mid_stream: true, ..Script::default() }).unwrap();
        assert_eq!(eventstream::decode(&closed).unwrap()[0].header(":exception-type"), Some("internalServerException"));
        assert!(failure(&Script::default()).is_none());
    }
}
