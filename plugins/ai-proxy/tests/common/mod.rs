//! What the ai-proxy tests share: a VM with a config, requests as clients send them, replies
//! as providers send them, and what each side received.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use higress_host::testing::{self, request};
use higress_host::{Env, HeaderMap, Stream, Vm};
use serde_json::{json, Value};
use std::time::Duration;

pub const PLUGIN: &str = "ai-proxy";
/// The host clock's seconds in VMs made by [`vm`] (OpenAI's `created` in translated replies).
pub const NOW: u64 = 1_750_000_000;

/// A VM of the plugin with `config` (the whole plugin config) and a fixed clock.
pub fn vm(config: Value) -> Vm {
    let env = Env::with_manual_clock(Duration::from_secs(NOW));
    Vm::builder(&testing::plugin(PLUGIN)).env(&env).config_json(&config).start().unwrap_or_else(|e| panic!("{e}"))
}

/// A VM with one `provider`.
pub fn provider(config: Value) -> Vm {
    vm(json!({ "provider": config }))
}

/// The log line of a config the plugin refuses.
pub fn config_error(config: Value) -> String {
    testing::config_error(&testing::plugin(PLUGIN), &config)
}

/// A JSON POST to `path` on `host`, as a client sends it (with a key of its own).
pub fn post(vm: &Vm, host: &str, path: &str, body: &Value) -> Stream {
    request("POST", host, path)
        .header("content-type", "application/json")
        .header("authorization", "Bearer client-key")
        .header("x-api-key", "client-x-key")
        .header("accept-encoding", "gzip")
        .header("content-length", &body.to_string().len().to_string())
        .body(body.to_string())
        .send(vm)
}

/// An OpenAI chat request for `model`.
pub fn chat_body(model: &str, stream: bool) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": "你好，你是谁？"}], "stream": stream})
}

/// An Anthropic messages request for `model`.
pub fn messages_body(model: &str, stream: bool) -> Value {
    json!({"model": model, "max_tokens": 64, "system": "Be brief.",
           "messages": [{"role": "user", "content": "Hello"}], "stream": stream})
}

/// The request as it left the gateway: its headers and its body as JSON.
pub fn sent(s: &Stream) -> (HeaderMap, Value) {
    let up = s.upstream();
    assert!(s.local_response().is_none(), "answered locally: {:?}", s.local_response().map(|r| r.body_text()));
    let headers = up.headers.clone().unwrap_or_else(|| panic!("no request reached the upstream"));
    let body = if up.body.is_empty() { Value::Null } else { serde_json::from_slice(&up.body).unwrap() };
    (headers, body)
}

/// The upstream answers `status` with `content_type` and `chunks` of body.
pub fn answer(s: &Stream, status: u16, content_type: &str, chunks: &[&[u8]]) {
    let status = status.to_string();
    let headers = [(":status", status.as_str()), ("content-type", content_type), ("content-length", "1")];
    s.send_response_headers(headers, chunks.is_empty()).unwrap();
    for (i, chunk) in chunks.iter().enumerate() {
        s.send_response_body(*chunk, i + 1 == chunks.len()).unwrap();
    }
}

/// What the client received: status, headers and body.
pub fn received(s: &Stream) -> (u16, HeaderMap, String) {
    let response = s.response();
    let headers = response.headers.clone().unwrap_or_default();
    (response.status().unwrap_or(0), headers, response.body_text())
}

/// `bytes` cut in pieces of `size`.
pub fn pieces(bytes: &[u8], size: usize) -> Vec<&[u8]> {
    bytes.chunks(size.max(1)).collect()
}

/// The JSON values of a stream's `data:` lines (`[DONE]` as a string).
pub fn data_events(stream: &str) -> Vec<Value> {
    stream
        .split("\n\n")
        .filter_map(|event| event.lines().find_map(|line| line.strip_prefix("data:")))
        .map(|data| serde_json::from_str(data.trim()).unwrap_or_else(|_| Value::String(data.trim().to_string())))
        .collect()
}

/// The `event:` names of an Anthropic stream, in order.
pub fn event_names(stream: &str) -> Vec<String> {
    stream.lines().filter_map(|l| l.strip_prefix("event: ")).map(str::to_string).collect()
}
