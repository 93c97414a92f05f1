//! ai-proxy when providers fail, through the gateway to the LLM mock and its fault switches:
//! a failed request retried with the other key, a key that keeps failing taken out of
//! rotation and brought back by health checks, and a fallback to another provider and model
//! on an error status or a timeout, streamed or not. Each route's scenarios run in one test,
//! in order: they share the keys' faults and health.

use crate::{gateway, llm_mock, unique};
use higress_e2e::client::Reply;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const RETRY: &str = "ai-proxy-retry.e2e.local";
const FALLBACK: &str = "ai-proxy-fallback.e2e.local";
const KEY_A: &str = "sk-e2e-retry-a";
const KEY_B: &str = "sk-e2e-retry-b";

fn arm(fault: Value) {
    let reply = llm_mock().post("llm-mock", "/__mock/faults", fault.to_string()).send();
    assert_eq!(reply.status, 200, "{}", reply.text());
}

fn chat(host: &str, stream: bool, tag: &str) -> Reply {
    let body = json!({"model": "gpt-4o", "stream": stream, "messages": [{"role": "user", "content": "are you there"}]});
    gateway()
        .post(host, "/v1/chat/completions", body.to_string())
        .header("content-type", "application/json")
        .header("x-mock-tag", tag)
        .send()
}

/// The requests the mock received with the API key `key`, oldest first.
fn with_key(key: &str) -> Vec<Value> {
    let entries = llm_mock().get("llm-mock", &format!("/__mock/requests?key={key}")).send().json();
    entries.as_array().cloned().unwrap_or_default()
}

/// The key of the one request the mock received with `tag`.
fn key_of(tag: &str) -> String {
    let entries = llm_mock().get("llm-mock", &format!("/__mock/requests?tag={tag}")).send().json();
    assert_eq!(entries.as_array().map(Vec::len), Some(1), "{entries}");
    entries[0]["key"].as_str().unwrap_or_default().to_string()
}

#[test]
fn failing_keys_are_retried_taken_out_and_checked_back() {
    // Key A fails its next two requests: each is retried with key B, the client sees 200s.
    arm(json!({"count": 2, "key": KEY_A, "status": 503}));
    let before = with_key(KEY_A).len();
    let mut sent = 0;
    while with_key(KEY_A).len() < before + 2 {
        let reply = chat(RETRY, sent % 2 == 1, &unique("retry"));
        assert_eq!(reply.status, 200, "a failure of key A is retried with key B: {}", reply.text());
        sent += 1;
        assert!(sent < 100, "key A was never picked");
    }
    let failed: Vec<Value> = with_key(KEY_A).into_iter().skip(before).collect();
    assert!(failed.iter().all(|e| e["status"] == 503), "{failed:?}");

    // Two failures in a row: key A is out of rotation.
    for _ in 0..10 {
        let tag = unique("failover");
        assert_eq!(chat(RETRY, false, &tag).status, 200);
        assert_eq!(key_of(&tag), KEY_B, "key A is out of rotation");
    }

    // One VM checks it every second with Higress's question; the mock answers 200: it is back.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let tag = unique("failover-back");
        assert_eq!(chat(RETRY, false, &tag).status, 200);
        if key_of(&tag) == KEY_A {
            break;
        }
        assert!(Instant::now() < deadline, "key A never came back");
        std::thread::sleep(Duration::from_millis(200));
    }
    let checks: Vec<Value> =
        with_key(KEY_A).into_iter().filter(|e| e["body"]["messages"][0]["content"] == "who are you?").collect();
    assert!(!checks.is_empty(), "a health check asked with key A");
    assert_eq!(checks[0]["body"]["model"], "mock-gpt-4o-mini");
}

#[test]
fn a_failing_provider_falls_back_to_another_provider_and_model() {
    let backup = "sk-e2e-fallback-backup";
    // An error status.
    arm(json!({"count": 1, "key": "sk-e2e-fallback-main", "status": 503}));
    let before = with_key(backup).len();
    let reply = chat(FALLBACK, false, &unique("fallback"));
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json()["choices"][0]["message"]["content"], "Mock reply to: are you there");
    let fell_back = with_key(backup);
    assert_eq!(fell_back.len(), before + 1);
    let last = fell_back.last().unwrap();
    assert_eq!(last["protocol"], "anthropic", "translated to the backup's protocol: {last}");
    assert_eq!(last["body"]["model"], "mock-claude-haiku");

    // Streamed: the backup's stream in the client's protocol.
    arm(json!({"count": 1, "key": "sk-e2e-fallback-main", "status": 429}));
    let reply = chat(FALLBACK, true, &unique("fallback-stream"));
    assert_eq!(reply.status, 200, "{}", reply.text());
    let text = reply.text();
    assert!(text.ends_with("data: [DONE]\n\n"), "{text}");
    let said: String = text
        .split("\n\n")
        .filter_map(|e| e.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter_map(|v| v["choices"][0]["delta"]["content"].as_str().map(str::to_string))
        .collect();
    assert_eq!(said, "Mock reply to: are you there");

    // A timeout: the provider in use stalls past the route's 2 s.
    arm(json!({"count": 1, "key": "sk-e2e-fallback-main", "stall_ms": 5000}));
    let started = Instant::now();
    let reply = chat(FALLBACK, false, &unique("fallback-timeout"));
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json()["choices"][0]["message"]["content"], "Mock reply to: are you there");
    assert!(started.elapsed() < Duration::from_secs(5), "the fallback did not wait for the stalled provider");

    // A status fallback does not cover (400) goes on as it came.
    arm(json!({"count": 1, "key": "sk-e2e-fallback-main", "status": 400}));
    assert_eq!(chat(FALLBACK, false, &unique("fallback-400")).status, 400);
}
