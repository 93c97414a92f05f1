//! ai-proxy to the cloud providers, through the gateway to the LLM mock: Vertex AI with a
//! service account (the token exchanged once for many concurrent requests, then cached),
//! express mode, Claude on Vertex and embeddings; Bedrock signed with SigV4 (the mock checks
//! the signature, and botocore computes the same one) with long-term and temporary
//! credentials, streamed through AWS's binary event stream; Qwen in DashScope's native
//! protocol.

use crate::sdk_clients::python;
use crate::{gateway, llm_mock, unique};
use higress_e2e::client::Reply;
use serde_json::{json, Value};
use std::io::Write;
use std::process::{Command, Stdio};

const VERTEX: &str = "ai-proxy-vertex.e2e.local";
const VERTEX_EXPRESS: &str = "ai-proxy-vertex-express.e2e.local";
const BEDROCK: &str = "ai-proxy-bedrock.e2e.local";
const BEDROCK_STS: &str = "ai-proxy-bedrock-sts.e2e.local";
const QWEN_NATIVE: &str = "ai-proxy-qwen-native.e2e.local";

fn chat(stream: bool) -> Value {
    json!({"model": "gpt-4o", "stream": stream, "messages": [{"role": "user", "content": "count to three"}]})
}

fn send(host: &str, path: &str, body: &Value, tag: &str) -> Reply {
    gateway()
        .post(host, path, body.to_string())
        .header("content-type", "application/json")
        .header("authorization", "Bearer client-key")
        .header("x-mock-tag", tag)
        .send()
}

/// What the mock received with `tag` (one request).
fn received(tag: &str) -> Value {
    let entries = llm_mock().get("llm-mock", &format!("/__mock/requests?tag={tag}")).send().json();
    assert_eq!(entries.as_array().map(Vec::len), Some(1), "{entries}");
    entries[0].clone()
}

/// The text of an OpenAI stream's deltas, checking it ends with `[DONE]`.
fn streamed_text(reply: &Reply) -> String {
    let text = reply.text();
    assert!(text.ends_with("data: [DONE]\n\n"), "{text}");
    text.split("\n\n")
        .filter_map(|event| event.lines().find_map(|l| l.strip_prefix("data: ")))
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter_map(|v| v["choices"][0]["delta"]["content"].as_str().map(str::to_string))
        .collect()
}

fn header<'v>(entry: &'v Value, name: &str) -> &'v str {
    entry["headers"][name][0].as_str().unwrap_or_default()
}

#[test]
fn vertex_exchanges_one_token_for_concurrent_requests_and_serves_gemini_claude_and_embeddings() {
    // Nothing else uses this route: its first requests find no token.
    let tag = unique("vertex");
    let replies: Vec<Reply> = std::thread::scope(|scope| {
        let handles: Vec<_> =
            (0..6).map(|_| scope.spawn(|| send(VERTEX, "/v1/chat/completions", &chat(false), &tag))).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for reply in &replies {
        assert_eq!(reply.status, 200, "{}", reply.text());
        assert_eq!(reply.json()["choices"][0]["message"]["content"], "Mock reply to: count to three");
    }
    let exchanges = llm_mock().get("llm-mock", "/__mock/requests?protocol=google-oauth").send().json();
    assert_eq!(exchanges.as_array().map(Vec::len), Some(1), "one token exchange for six requests: {exchanges}");
    let sent = llm_mock().get("llm-mock", &format!("/__mock/requests?tag={tag}")).send().json();
    let first = &sent[0];
    assert_eq!(
        first["path"],
        "/v1/projects/e2e-project/locations/us-central1/publishers/google/models/mock-gemini-flash:generateContent"
    );
    assert!(header(first, "authorization").starts_with("Bearer ya29.mock-"), "{first}");

    // Streamed, with the cached token.
    let tag = unique("vertex-stream");
    let reply = send(VERTEX, "/v1/chat/completions", &chat(true), &tag);
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(streamed_text(&reply), "Mock reply to: count to three");
    assert!(received(&tag)["path"].as_str().unwrap().ends_with(":streamGenerateContent?alt=sse"));

    // Claude on Vertex: Anthropic's protocol at rawPredict, for an OpenAI client.
    let tag = unique("vertex-claude");
    let body = json!({"model": "claude-haiku", "messages": [{"role": "user", "content": "hello"}]});
    let reply = send(VERTEX, "/v1/chat/completions", &body, &tag);
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json()["choices"][0]["message"]["content"], "Mock reply to: hello");
    let sent = received(&tag);
    assert!(sent["path"]
        .as_str()
        .unwrap()
        .ends_with("/publishers/anthropic/models/claude-3-5-haiku@20241022:rawPredict"));
    assert_eq!(sent["body"]["anthropic_version"], "vertex-2023-10-16");

    // Embeddings: OpenAI's API in front of Vertex's predict, each vector at its index.
    let tag = unique("vertex-embeddings");
    let body = json!({"model": "text-embedding-3-small", "input": ["one", "two"]});
    let reply = send(VERTEX, "/v1/embeddings", &body, &tag);
    assert_eq!(reply.status, 200, "{}", reply.text());
    let reply = reply.json();
    assert_eq!(reply["data"][1]["index"], 1);
    let expected: Vec<f32> = higress_e2e::llm::embeddings::embedding("two", 8);
    let got: Vec<f32> =
        reply["data"][1]["embedding"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32).collect();
    assert_eq!(got, expected);
    assert!(received(&tag)["path"].as_str().unwrap().ends_with("/models/text-embedding-005:predict"));
}

#[test]
fn vertex_express_mode_sends_the_key_in_a_header() {
    let tag = unique("vertex-express");
    let reply = send(VERTEX_EXPRESS, "/v1/chat/completions", &chat(false), &tag);
    assert_eq!(reply.status, 200, "{}", reply.text());
    let sent = received(&tag);
    assert_eq!(sent["path"], "/v1/publishers/google/models/mock-gemini-flash:generateContent");
    assert_eq!(header(&sent, "x-goog-api-key"), "AQ.e2e-vertex-express");
    assert!(sent["headers"].get("authorization").is_none(), "{sent}");
}

/// What botocore signs for the request the mock recorded, with these credentials.
fn botocore_signature(
    entry: &Value,
    access_key: &str,
    secret_key: &str,
    session: Option<&str>,
    region: &str,
) -> String {
    let (path, query) =
        entry["path"].as_str().unwrap().split_once('?').unwrap_or((entry["path"].as_str().unwrap(), ""));
    let given = json!({
        "method": entry["method"], "host": header(entry, "host"), "path": path, "query": query,
        "body": entry["body_text"], "amz_date": header(entry, "x-amz-date"),
        "access_key": access_key, "secret_key": secret_key, "session_token": session, "region": region,
    });
    let mut child = Command::new(python())
        .arg(crate::sdk_clients::root().join("e2e/clients/sigv4_check.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(given.to_string().as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

#[test]
fn bedrock_requests_are_signed_as_aws_signs_them() {
    let tag = unique("bedrock");
    let reply = send(BEDROCK, "/v1/chat/completions", &chat(false), &tag);
    assert_eq!(reply.status, 200, "the mock checked the signature: {}", reply.text());
    assert_eq!(reply.json()["choices"][0]["message"]["content"], "Mock reply to: count to three");
    let sent = received(&tag);
    assert_eq!(sent["path"], "/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/converse");
    let expected = botocore_signature(&sent, "AKIDE2EEXAMPLE", "e2e/bedrock/secret/key/EXAMPLE", None, "us-east-1");
    assert_eq!(header(&sent, "authorization"), expected, "botocore signs the same");

    // Streamed: AWS's binary event stream, as server-sent events.
    let tag = unique("bedrock-stream");
    let reply = send(BEDROCK, "/v1/chat/completions", &chat(true), &tag);
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert!(reply.header("content-type").unwrap_or_default().starts_with("text/event-stream"));
    assert_eq!(streamed_text(&reply), "Mock reply to: count to three");
}

#[test]
fn bedrock_temporary_credentials_sign_the_session_token() {
    let tag = unique("bedrock-sts");
    let reply = send(BEDROCK_STS, "/v1/chat/completions", &chat(false), &tag);
    assert_eq!(reply.status, 200, "{}", reply.text());
    let sent = received(&tag);
    assert_eq!(header(&sent, "x-amz-security-token"), "e2e-session-token");
    let expected =
        botocore_signature(&sent, "ASIAE2EEXAMPLE", "e2e/bedrock/temp/secret", Some("e2e-session-token"), "us-west-2");
    assert_eq!(header(&sent, "authorization"), expected);
}

#[test]
fn qwen_native_speaks_dashscopes_protocol() {
    let tag = unique("qwen-native");
    let reply = send(QWEN_NATIVE, "/v1/chat/completions", &chat(false), &tag);
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json()["choices"][0]["message"]["content"], "Mock reply to: count to three");
    let sent = received(&tag);
    assert_eq!(sent["path"], "/api/v1/services/aigc/text-generation/generation");
    assert_eq!(sent["body"]["input"]["messages"][0]["content"], "count to three");

    let tag = unique("qwen-native-stream");
    let reply = send(QWEN_NATIVE, "/v1/chat/completions", &chat(true), &tag);
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(streamed_text(&reply), "Mock reply to: count to three");
    assert_eq!(header(&received(&tag), "x-dashscope-sse"), "enable");
}
