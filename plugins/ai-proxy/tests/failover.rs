//! `retryOnFailure` and `failover` on the compiled module: a failed reply retried with
//! another key while it waits (the same translated request; a stream's answer streamed in the
//! client's protocol), the first failure passed on when every retry fails, status patterns
//! anchored; a key failing `failureThreshold` times taken out of rotation for every VM,
//! health checks by one VM bringing it back.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::*;
use higress_host::testing::{self, request};
use higress_host::{Env, HttpResponse, Stream, Vm};
use serde_json::{json, Value};
use std::time::Duration;

const CLUSTER: &str = "outbound|443||llm.dns";

fn vm_in(env: &Env, provider: Value) -> Vm {
    Vm::builder(&testing::plugin(PLUGIN))
        .env(env)
        .config_json(&json!({"provider": provider}))
        .start()
        .unwrap_or_else(|e| panic!("{e}"))
}

fn chat(vm: &Vm, body: &Value) -> Stream {
    request("POST", "gw", "/v1/chat/completions")
        .header("content-type", "application/json")
        .property("cluster_name", CLUSTER)
        .body(body.to_string())
        .send(vm)
}

fn key_of(s: &Stream) -> String {
    let headers = s.upstream().headers.clone().unwrap();
    headers.get("x-api-key").or_else(|| headers.get("authorization")).unwrap().to_string()
}

fn claude_reply(text: &str) -> String {
    json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "claude",
        "content": [{"type": "text", "text": text}], "stop_reason": "end_turn",
        "usage": {"input_tokens": 3, "output_tokens": 2}})
    .to_string()
}

#[test]
fn a_failed_reply_is_retried_with_the_other_key_and_the_same_request() {
    let env = Env::with_manual_clock(Duration::from_secs(NOW));
    let vm = vm_in(
        &env,
        json!({"type": "claude", "apiTokens": ["key-a", "key-b"],
        "retryOnFailure": {"enabled": true}}),
    );
    let s = chat(&vm, &chat_body("claude-sonnet", false));
    let first_key = key_of(&s);
    let first_body = s.upstream().body.clone();
    answer(
        &s,
        429,
        "application/json",
        &[br#"{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}"#],
    );
    let calls = vm.take_new_http_calls();
    assert_eq!(calls.len(), 1, "one retry");
    let retry = &calls[0];
    assert_eq!(retry.cluster, CLUSTER, "the route's cluster");
    assert_eq!(retry.headers.get(":path"), Some("/v1/messages"));
    assert_eq!(retry.headers.get(":authority"), Some("api.anthropic.com"));
    let other = if first_key == "key-a" { "key-b" } else { "key-a" };
    assert_eq!(retry.headers.get("x-api-key"), Some(other), "another key");
    assert_eq!(retry.headers.get("anthropic-version"), Some("2023-06-01"));
    assert_eq!(retry.body, first_body, "the request as it left, translated (Go re-sent the client's body)");
    assert!(s.response().headers.is_none(), "the failed reply waits");

    vm.respond_http_call(
        retry.token,
        HttpResponse::new(200, &[("content-type", "application/json")], claude_reply("Hi").as_str()),
    )
    .unwrap();
    let (status, headers, body) = received(&s);
    assert_eq!(status, 200);
    assert_eq!(headers.get("content-type"), Some("application/json"));
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["choices"][0]["message"]["content"], "Hi", "translated to the client's protocol");
}

#[test]
fn a_retried_stream_reaches_the_client_as_a_stream() {
    let vm = provider(json!({"type": "claude", "apiTokens": ["key-a", "key-b"],
        "retryOnFailure": {"enabled": true, "retryOnStatus": ["5.*"]}}));
    let s = chat(&vm, &chat_body("claude-sonnet", true));
    answer(&s, 503, "application/json", &[b"{}"]);
    let call = vm.take_new_http_calls().remove(0);
    assert_eq!(call.headers.get("accept"), Some("text/event-stream"));
    let stream = concat!(
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude\",\"content\":[],\"usage\":{\"input_tokens\":1,\"output_tokens\":0}}}\n\n",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}\n\n",
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":1}}\n\n",
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
    );
    vm.respond_http_call(call.token, HttpResponse::new(200, &[("content-type", "text/event-stream")], stream)).unwrap();
    let (status, headers, body) = received(&s);
    assert_eq!(status, 200);
    assert!(headers.get("content-type").unwrap().starts_with("text/event-stream"));
    let events = data_events(&body);
    let text: String = events.iter().filter_map(|e| e["choices"][0]["delta"]["content"].as_str()).collect();
    assert_eq!(text, "Hello", "Go parsed a retried stream as one JSON body");
    assert_eq!(events.last().unwrap(), &json!("[DONE]"));
}

#[test]
fn when_every_retry_fails_the_first_failure_goes_on_and_patterns_are_anchored() {
    let vm = provider(json!({"type": "openai", "apiTokens": ["key-a", "key-b", "key-c"],
        "retryOnFailure": {"enabled": true, "maxRetries": 2}}));
    let s = chat(&vm, &chat_body("gpt-4o", false));
    answer(&s, 500, "application/json", &[br#"{"error":{"message":"first"}}"#]);
    for _ in 0..2 {
        let call = vm.take_new_http_calls().remove(0);
        vm.respond_http_call(call.token, HttpResponse::new(502, &[], "no")).unwrap();
    }
    assert!(vm.take_new_http_calls().is_empty(), "maxRetries: 2");
    let (status, _, body) = received(&s);
    assert_eq!((status, body.as_str()), (500, r#"{"error":{"message":"first"}}"#));

    // `5.*` is the whole status: a 429 is not retried.
    let vm = provider(json!({"type": "openai", "apiTokens": ["a", "b"],
        "retryOnFailure": {"enabled": true, "retryOnStatus": ["5.*", "42"]}}));
    let s = chat(&vm, &chat_body("gpt-4o", false));
    answer(&s, 429, "application/json", &[b"{}"]);
    assert!(vm.take_new_http_calls().is_empty());
    assert_eq!(received(&s).0, 429);

    // One key: nothing to retry with.
    let vm = provider(json!({"type": "openai", "apiTokens": ["a"], "retryOnFailure": {"enabled": true}}));
    let s = chat(&vm, &chat_body("gpt-4o", false));
    answer(&s, 503, "application/json", &[b"{}"]);
    assert!(vm.take_new_http_calls().is_empty());
    assert_eq!(received(&s).0, 503);
}

fn failover_config() -> Value {
    json!({"type": "openai", "apiTokens": ["key-a", "key-b"], "modelMapping": {"*": "gpt-4o-mini"},
        "failover": {"enabled": true, "failureThreshold": 2, "successThreshold": 1,
            "healthCheckInterval": 1000, "healthCheckModel": "gpt-4o-health", "failoverOnStatus": ["5.*"]}})
}

/// Sends requests through `vm`, failing those with key A, until A failed `times` times.
fn fail_key_a(vm: &Vm, times: usize) {
    let mut failed = 0;
    for _ in 0..500 {
        let s = chat(vm, &chat_body("gpt-4o", false));
        if key_of(&s) == "Bearer key-a" {
            answer(&s, 503, "application/json", &[b"{}"]);
            failed += 1;
            if failed == times {
                return;
            }
        } else {
            answer(&s, 200, "application/json", &[br#"{"choices":[]}"#]);
        }
    }
    panic!("key A was never picked");
}

#[test]
fn a_failing_key_leaves_rotation_for_every_vm_and_one_vm_checks_it_back() {
    let env = Env::with_manual_clock(Duration::from_secs(NOW));
    let (a, b) = (vm_in(&env, failover_config()), vm_in(&env, failover_config()));
    fail_key_a(&a, 2);
    for vm in [&a, &b] {
        for _ in 0..20 {
            let s = chat(vm, &chat_body("gpt-4o", false));
            assert_eq!(key_of(&s), "Bearer key-b", "key A is out of rotation on every VM");
            answer(&s, 200, "application/json", &[br#"{"choices":[]}"#]);
        }
    }
    // Health checks: one VM (the lease holder) asks with key A.
    env.advance(Duration::from_millis(1000));
    a.tick().unwrap();
    b.tick().unwrap();
    let (calls_a, calls_b) = (a.take_new_http_calls(), b.take_new_http_calls());
    assert_eq!(calls_a.len() + calls_b.len(), 1, "only one VM checks");
    let (vm, check) = if calls_a.is_empty() { (&b, &calls_b[0]) } else { (&a, &calls_a[0]) };
    assert_eq!(check.cluster, CLUSTER, "where the failing requests went");
    assert_eq!(check.headers.get(":path"), Some("/v1/chat/completions"));
    assert_eq!(check.headers.get("authorization"), Some("Bearer key-a"));
    let body: Value = serde_json::from_slice(&check.body).unwrap();
    assert_eq!(body, json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "who are you?"}]}));
    vm.respond_http_call(check.token, HttpResponse::new(200, &[], "{}")).unwrap();
    let used: Vec<String> = (0..40)
        .map(|_| {
            let s = chat(&b, &chat_body("gpt-4o", false));
            let key = key_of(&s);
            answer(&s, 200, "application/json", &[br#"{"choices":[]}"#]);
            key
        })
        .collect();
    assert!(used.iter().any(|k| k == "Bearer key-a"), "key A is back after a good health check");
}

#[test]
fn a_success_clears_the_failure_count_and_other_statuses_do_not_count() {
    let env = Env::with_manual_clock(Duration::from_secs(NOW));
    let vm = vm_in(&env, failover_config());
    fail_key_a(&vm, 1);
    // A success of key A clears its count: one more failure does not take it out.
    loop {
        let s = chat(&vm, &chat_body("gpt-4o", false));
        let a = key_of(&s) == "Bearer key-a";
        answer(&s, 200, "application/json", &[br#"{"choices":[]}"#]);
        if a {
            break;
        }
    }
    fail_key_a(&vm, 1);
    // 429 is not a failover status here.
    let mut seen_a = false;
    for _ in 0..60 {
        let s = chat(&vm, &chat_body("gpt-4o", false));
        seen_a |= key_of(&s) == "Bearer key-a";
        answer(&s, 429, "application/json", &[b"{}"]);
    }
    assert!(seen_a, "key A is still in rotation");
    assert_eq!(env.shared_data(PLUGIN, "openai--unavailableApiTokens").map(|(v, _)| v), Some(b"[]".to_vec()));
}

fn fallback_config(fallback: Value) -> Value {
    json!({
        "providers": [
            {"id": "main", "type": "openai", "apiTokens": ["sk-main"], "modelMapping": {"*": "gpt-4o"}},
            {"id": "backup", "type": "claude", "apiTokens": ["sk-ant-backup"]},
        ],
        "activeProviderId": "main",
        "fallback": fallback,
    })
}

fn fallback_vm(fallback: Value) -> Vm {
    vm(fallback_config(fallback))
}

#[test]
fn a_failed_request_falls_back_to_another_provider_and_model_in_its_protocol() {
    let vm = fallback_vm(json!({"targets": [
        {"providerId": "backup", "model": "claude-3-5-haiku-latest", "serviceName": "anthropic.dns", "servicePort": 443}]}));
    let s = chat(&vm, &chat_body("gpt-4o", false));
    answer(&s, 503, "application/json", &[br#"{"error":{"message":"overloaded"}}"#]);
    let call = vm.take_new_http_calls().remove(0);
    assert_eq!(call.cluster, "outbound|443||anthropic.dns");
    assert_eq!(call.headers.get(":authority"), Some("api.anthropic.com"));
    assert_eq!(call.headers.get(":path"), Some("/v1/messages"));
    assert_eq!(call.headers.get("x-api-key"), Some("sk-ant-backup"));
    assert!(call.headers.get("authorization").is_none());
    let sent: Value = serde_json::from_slice(&call.body).unwrap();
    assert_eq!(sent["model"], "claude-3-5-haiku-latest");
    assert_eq!(sent["messages"][0]["content"][0]["text"], "你好，你是谁？", "translated to Anthropic's protocol");
    vm.respond_http_call(
        call.token,
        HttpResponse::new(200, &[("content-type", "application/json")], claude_reply("Backup here").as_str()),
    )
    .unwrap();
    let (status, _, body) = received(&s);
    assert_eq!(status, 200);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["choices"][0]["message"]["content"], "Backup here");
}

#[test]
fn fallback_goes_through_the_targets_in_order_and_streams_the_answer() {
    let vm = fallback_vm(json!({"onStatus": ["429"], "targets": [
        {"model": "gpt-4o-mini"},
        {"providerId": "backup", "model": "claude-3-5-haiku-latest", "serviceName": "anthropic.dns"}]}));
    let s = chat(&vm, &chat_body("gpt-4o", true));
    answer(&s, 429, "application/json", &[b"{}"]);
    // First: the same provider, another model, through the route's cluster.
    let call = vm.take_new_http_calls().remove(0);
    assert_eq!(call.cluster, CLUSTER);
    assert_eq!(call.headers.get("authorization"), Some("Bearer sk-main"));
    let sent: Value = serde_json::from_slice(&call.body).unwrap();
    assert_eq!(sent["model"], "gpt-4o", "the model is mapped by the provider (`*`: gpt-4o)");
    vm.respond_http_call(call.token, HttpResponse::new(500, &[], "down")).unwrap();
    // Then: the other provider, streamed.
    let call = vm.take_new_http_calls().remove(0);
    assert_eq!(call.headers.get("accept"), Some("text/event-stream"));
    let stream = concat!(
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude\",\"content\":[],\"usage\":{\"input_tokens\":1,\"output_tokens\":0}}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"From backup\"}}\n\n",
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
    );
    vm.respond_http_call(call.token, HttpResponse::new(200, &[("content-type", "text/event-stream")], stream)).unwrap();
    let (status, headers, body) = received(&s);
    assert_eq!(status, 200);
    assert!(headers.get("content-type").unwrap().starts_with("text/event-stream"));
    let text: String = data_events(&body).iter().filter_map(|e| e["choices"][0]["delta"]["content"].as_str()).collect();
    assert_eq!(text, "From backup");
}

#[test]
fn no_fallback_on_other_statuses_and_the_first_failure_goes_on_when_every_target_fails() {
    let vm = fallback_vm(json!({"targets": [{"model": "gpt-4o-mini"}]}));
    let s = chat(&vm, &chat_body("gpt-4o", false));
    answer(&s, 400, "application/json", &[br#"{"error":{"message":"bad"}}"#]);
    assert!(vm.take_new_http_calls().is_empty(), "400 is not in onStatus (429, 5.*)");
    assert_eq!(received(&s).0, 400);

    let s = chat(&vm, &chat_body("gpt-4o", false));
    answer(&s, 502, "application/json", &[br#"{"error":{"message":"first"}}"#]);
    let call = vm.take_new_http_calls().remove(0);
    vm.respond_http_call(call.token, HttpResponse::new(503, &[], "second")).unwrap();
    let (status, _, body) = received(&s);
    assert_eq!((status, body.as_str()), (502, r#"{"error":{"message":"first"}}"#));
}

#[test]
fn an_upstream_timeout_falls_back_unless_switched_off() {
    for (on_timeout, falls_back) in [(true, true), (false, false)] {
        let vm = fallback_vm(json!({"onTimeout": on_timeout, "targets": [{"model": "gpt-4o-mini"}]}));
        let s = request("POST", "gw", "/v1/chat/completions")
            .header("content-type", "application/json")
            .property("cluster_name", CLUSTER)
            .property("response.code_details", "upstream_response_timeout")
            .body(chat_body("gpt-4o", false).to_string())
            .send(&vm);
        answer(&s, 504, "text/plain", &[b"upstream request timeout"]);
        assert_eq!(!vm.take_new_http_calls().is_empty(), falls_back, "onTimeout: {on_timeout}");
    }
}

#[test]
fn fallback_config_errors_name_the_field() {
    for (fallback, expected) in [
        (json!({"targets": []}), "fallback.targets: expected a non-empty array"),
        (json!({"targets": [{"providerId": "nope"}]}), "fallback.targets[0].providerId: `nope` names no provider"),
        (json!({"targets": [{}]}), "fallback.targets[0]: names neither a providerId nor a model"),
        (json!({"targets": [{"model": "m"}], "onStatus": ["("]}), "fallback.onStatus[0]"),
        (json!({"targets": [{"model": "m"}], "onTimeout": "yes"}), "fallback.onTimeout"),
    ] {
        let line = config_error(fallback_config(fallback.clone()));
        assert!(line.contains(expected), "{fallback}: {line}");
    }
}

#[test]
fn no_fallback_once_the_reply_has_begun() {
    let vm = fallback_vm(json!({"targets": [{"model": "gpt-4o-mini"}]}));
    let s = chat(&vm, &chat_body("gpt-4o", true));
    // A 200 whose stream breaks off: its headers and first bytes have left for the client.
    let first = "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"},\"finish_reason\":null}]}\n\n";
    s.send_response_headers([(":status", "200"), ("content-type", "text/event-stream")], false).unwrap();
    s.send_response_body(first, false).unwrap();
    s.send_response_body("data: {\"error\":{\"message\":\"overloaded\"}}\n\n", true).unwrap();
    assert!(vm.take_new_http_calls().is_empty(), "bytes reached the client: no fallback");
    let (status, _, body) = received(&s);
    assert_eq!(status, 200);
    assert!(body.contains("Hel") && body.contains("overloaded"), "{body}");
}
