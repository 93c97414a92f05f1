//! ai-proxy in front of the LLM mock: an OpenAI client to an OpenAI-protocol provider, an
//! OpenAI client to Claude (translated both ways), a Claude client to an OpenAI-protocol
//! provider (translated both ways), Azure, Gemini, streamed and not. What reached the "provider" is
//! read from the mock's journal (`x-mock-tag`).

use crate::{gateway, llm_mock, unique};
use higress_e2e::client::Reply;
use serde_json::{json, Value};

const OPENAI: &str = "ai-proxy-openai.e2e.local";
const CLAUDE: &str = "ai-proxy-claude.e2e.local";
const AZURE: &str = "ai-proxy-azure.e2e.local";
const GEMINI: &str = "ai-proxy-gemini.e2e.local";

/// What the mock received with `tag` (one request).
fn received(tag: &str) -> Value {
    let entries = llm_mock().get("llm-mock", &format!("/__mock/requests?tag={tag}")).send().json();
    assert_eq!(entries.as_array().map(Vec::len), Some(1), "{entries}");
    entries[0].clone()
}

fn openai_chat(stream: bool) -> Value {
    json!({"model": "gpt-4o", "stream": stream,
           "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "count to three"}]})
}

fn send(host: &str, path: &str, body: &Value, tag: &str) -> Reply {
    gateway()
        .post(host, path, body.to_string())
        .header("content-type", "application/json")
        .header("authorization", "Bearer client-key")
        .header("x-api-key", "client-key")
        .header("anthropic-version", "2023-06-01")
        .header("x-mock-tag", tag)
        .send()
}

/// The `data:` payloads of a stream, as JSON (`[DONE]` as a string).
fn data(reply: &Reply) -> Vec<Value> {
    reply
        .text()
        .split("\n\n")
        .filter_map(|event| event.lines().find_map(|l| l.strip_prefix("data: ")))
        .map(|d| serde_json::from_str(d).unwrap_or_else(|_| Value::String(d.to_string())))
        .collect()
}

#[test]
fn an_openai_client_reaches_an_openai_provider_with_the_configured_key() {
    let tag = unique("ai-proxy-openai");
    let reply = send(OPENAI, "/v1/chat/completions", &openai_chat(false), &tag);
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json()["choices"][0]["message"]["content"], "Mock reply to: count to three");
    let sent = received(&tag);
    assert_eq!(sent["headers"]["authorization"], json!(["Bearer sk-e2e-openai"]));
    assert!(sent["headers"].get("x-api-key").is_none(), "the client's key stays behind: {sent}");
    assert_eq!(sent["body"]["model"], "mock-gpt-4o-mini");
    assert_eq!(sent["path"], "/v1/chat/completions");
}

#[test]
fn an_openai_stream_gets_its_usage_chunk() {
    let tag = unique("ai-proxy-openai-stream");
    let reply = send(OPENAI, "/v1/chat/completions", &openai_chat(true), &tag);
    assert_eq!(reply.status, 200);
    let events = data(&reply);
    assert_eq!(events.last(), Some(&json!("[DONE]")));
    assert!(events.iter().any(|e| e["usage"]["total_tokens"].as_u64().is_some_and(|t| t > 0)), "{}", reply.text());
    assert_eq!(received(&tag)["body"]["stream_options"]["include_usage"], true);
}

#[test]
fn an_openai_client_reaches_claude_translated_both_ways() {
    let tag = unique("ai-proxy-claude");
    let reply = send(CLAUDE, "/v1/chat/completions", &openai_chat(false), &tag);
    assert_eq!(reply.status, 200, "{}", reply.text());
    let body = reply.json();
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["choices"][0]["message"]["content"], "Mock reply to: count to three");
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    assert!(body["usage"]["prompt_tokens"].as_u64().unwrap_or(0) > 0, "{body}");
    let sent = received(&tag);
    assert_eq!(sent["protocol"], "anthropic");
    assert_eq!(sent["path"], "/v1/messages");
    assert_eq!(sent["headers"]["x-api-key"], json!(["sk-e2e-anthropic"]));
    assert!(sent["headers"].get("authorization").is_none(), "{sent}");
    assert_eq!(sent["body"]["model"], "mock-claude-sonnet");
    assert_eq!(sent["body"]["system"], "be brief");
}

#[test]
fn a_claude_stream_reaches_an_openai_client() {
    let tag = unique("ai-proxy-claude-stream");
    let reply = send(CLAUDE, "/v1/chat/completions", &openai_chat(true), &tag);
    assert_eq!(reply.status, 200);
    let events = data(&reply);
    assert_eq!(events.last(), Some(&json!("[DONE]")), "{}", reply.text());
    let text: String = events.iter().filter_map(|e| e["choices"][0]["delta"]["content"].as_str()).collect();
    assert_eq!(text, "Mock reply to: count to three");
    assert!(events.iter().any(|e| e["usage"]["completion_tokens"].as_u64().is_some_and(|t| t > 0)));
}

fn claude_messages(stream: bool) -> Value {
    json!({"model": "claude-sonnet-4-5", "max_tokens": 256, "stream": stream, "system": "be brief",
           "messages": [{"role": "user", "content": "count to three"}]})
}

#[test]
fn a_claude_client_reaches_an_openai_provider_translated_both_ways() {
    let tag = unique("ai-proxy-messages");
    let reply = send(OPENAI, "/v1/messages", &claude_messages(false), &tag);
    assert_eq!(reply.status, 200, "{}", reply.text());
    let body = reply.json();
    assert_eq!(body["type"], "message");
    assert_eq!(body["content"][0], json!({"type": "text", "text": "Mock reply to: count to three"}));
    assert_eq!(body["stop_reason"], "end_turn");
    let sent = received(&tag);
    assert_eq!(sent["protocol"], "openai");
    assert_eq!(sent["path"], "/v1/chat/completions");
    assert_eq!(sent["body"]["model"], "mock-gpt-4o");
    assert_eq!(sent["body"]["messages"][0], json!({"role": "system", "content": "be brief"}));
}

#[test]
fn a_claude_client_streams_from_an_openai_provider() {
    let tag = unique("ai-proxy-messages-stream");
    let reply = send(OPENAI, "/v1/messages", &claude_messages(true), &tag);
    assert_eq!(reply.status, 200);
    let text = reply.text();
    let names: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix("event: ")).collect();
    assert_eq!(names.first(), Some(&"message_start"), "{text}");
    assert_eq!(names.last(), Some(&"message_stop"), "{text}");
    let said: String = data(&reply).iter().filter_map(|e| e["delta"]["text"].as_str()).collect();
    assert_eq!(said, "Mock reply to: count to three");
}

#[test]
fn a_claude_client_gets_errors_in_anthropics_shape() {
    let tag = unique("ai-proxy-messages-error");
    let reply = gateway()
        .post(OPENAI, "/v1/messages", claude_messages(false).to_string())
        .header("content-type", "application/json")
        .header("x-mock-tag", &tag)
        .header("x-mock-status", "429")
        .send();
    assert_eq!(reply.status, 429);
    let body = reply.json();
    assert_eq!(body["type"], "error", "{body}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
}

#[test]
fn azure_gets_the_deployment_path_and_api_key() {
    let tag = unique("ai-proxy-azure");
    let reply = send(AZURE, "/v1/chat/completions", &openai_chat(false), &tag);
    assert_eq!(reply.status, 200, "{}", reply.text());
    let sent = received(&tag);
    assert_eq!(sent["path"], "/openai/deployments/mock-deployment/chat/completions?api-version=2024-10-21");
    assert_eq!(sent["headers"]["api-key"], json!(["sk-e2e-azure"]));
    assert!(sent["headers"].get("authorization").is_none(), "{sent}");
}

#[test]
fn a_chat_body_that_is_not_json_is_refused() {
    let reply =
        gateway().post(OPENAI, "/v1/chat/completions", "not json").header("content-type", "application/json").send();
    assert_eq!(reply.status, 400);
    assert_eq!(reply.json()["error"]["type"], "invalid_request_error");
}

#[test]
fn an_openai_client_reaches_gemini_translated_both_ways() {
    let tag = unique("ai-proxy-gemini");
    let mut body = openai_chat(false);
    body["tools"] = json!([{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}]);
    body["messages"][1]["content"] = json!("please call lookup the weather");
    let reply = send(GEMINI, "/v1/chat/completions", &body, &tag);
    assert_eq!(reply.status, 200, "{}", reply.text());
    let answer = reply.json();
    assert_eq!(answer["object"], "chat.completion");
    let call = &answer["choices"][0]["message"]["tool_calls"][0];
    assert_eq!(call["function"]["name"], "lookup", "{answer}");
    assert_eq!(call["function"]["arguments"], "{\"q\":\"the weather\"}");
    assert_eq!(answer["choices"][0]["finish_reason"], "tool_calls");
    let sent = received(&tag);
    assert_eq!(sent["protocol"], "gemini");
    assert_eq!(sent["path"], "/v1beta/models/mock-gemini-flash:generateContent");
    assert_eq!(sent["headers"]["x-goog-api-key"], json!(["AIza-e2e-gemini"]));
    assert!(sent["headers"].get("authorization").is_none() && sent["headers"].get("x-api-key").is_none(), "{sent}");
    assert_eq!(sent["body"]["systemInstruction"], json!({"parts": [{"text": "be brief"}]}));
    assert_eq!(sent["body"]["safetySettings"][0]["threshold"], "BLOCK_ONLY_HIGH");

    // The tool's result goes back as a functionResponse; the mock (which checks that it
    // follows the call) answers from it.
    let tag = unique("ai-proxy-gemini-result");
    let mut next = body.clone();
    let messages = next["messages"].as_array_mut().unwrap();
    messages.push(answer["choices"][0]["message"].clone());
    messages.push(json!({"role": "tool", "tool_call_id": call["id"], "content": "sunny"}));
    let reply = send(GEMINI, "/v1/chat/completions", &next, &tag);
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json()["choices"][0]["message"]["content"], "Mock reply to: sunny");
}

#[test]
fn a_gemini_stream_reaches_openai_and_claude_clients() {
    let tag = unique("ai-proxy-gemini-stream");
    let reply = send(GEMINI, "/v1/chat/completions", &openai_chat(true), &tag);
    assert_eq!(reply.status, 200);
    let events = data(&reply);
    assert_eq!(events.last(), Some(&json!("[DONE]")), "{}", reply.text());
    let text: String = events.iter().filter_map(|e| e["choices"][0]["delta"]["content"].as_str()).collect();
    assert_eq!(text, "Mock reply to: count to three");
    assert!(events.iter().any(|e| e["usage"]["completion_tokens"] == 6), "{}", reply.text());
    assert_eq!(received(&tag)["path"], "/v1beta/models/mock-gemini-flash:streamGenerateContent?alt=sse");

    let tag = unique("ai-proxy-gemini-claude");
    let reply = send(GEMINI, "/v1/messages", &claude_messages(true), &tag);
    assert_eq!(reply.status, 200);
    let text = reply.text();
    assert!(text.starts_with("event: message_start\n"), "{text}");
    assert!(text.contains("\"text\":\"Mock \""), "{text}");
    assert!(text.ends_with("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"), "{text}");
}
