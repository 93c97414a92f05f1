//! Input the gateway cannot use, on the compiled module: each gets a clear reply (or passes
//! untouched where the gateway does not interpret it), never a trap. Random requests and
//! replies are thrown at it too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::*;
use higress_host::testing::request;
use proptest::prelude::*;
use serde_json::{json, Value};

fn deepseek() -> higress_host::Vm {
    provider(json!({"type": "deepseek", "apiTokens": ["k"]}))
}

#[test]
fn a_chat_body_that_is_not_json_is_a_400_in_the_clients_protocol() {
    let vm = deepseek();
    for body in [&b"not json"[..], b"", b"[1,2,3]", b"{\"model\": 5, \"messages\": []}", b"{\"model\":\"m\""] {
        let s = request("POST", "gw", "/v1/chat/completions")
            .header("content-type", "application/json")
            .body(body)
            .send(&vm);
        let local = s.local_response().unwrap_or_else(|| panic!("{}: went upstream", String::from_utf8_lossy(body)));
        assert_eq!(local.status, 400, "{}", String::from_utf8_lossy(body));
        assert_eq!(local.details, "ai-proxy.proc_req_body_failed");
        let error: Value = serde_json::from_slice(&local.body).unwrap();
        assert_eq!(error["error"]["type"], "invalid_request_error", "{error}");
        assert!(s.traps().is_empty());
    }
    let s =
        request("POST", "gw", "/v1/messages").header("content-type", "application/json").body("{").send(&deepseek());
    let error: Value = serde_json::from_slice(&s.local_response().unwrap().body).unwrap();
    assert_eq!(error["type"], "error", "an Anthropic client gets Anthropic's error shape");
}

#[test]
fn a_body_over_the_limit_is_a_413() {
    let vm = deepseek();
    let s = vm.stream();
    let headers = [
        (":method", "POST"),
        (":authority", "gw"),
        (":path", "/v1/chat/completions"),
        ("content-type", "application/json"),
    ];
    s.send_request_headers(headers, false).unwrap();
    let chunk = vec![b' '; 60 << 20];
    s.send_request_body(&chunk, false).unwrap();
    let _ = s.send_request_body(&chunk, true);
    let local = s.local_response().unwrap();
    assert_eq!(local.status, 413);
    assert!(s.traps().is_empty());
    assert!(s.upstream().body.is_empty());
}

#[test]
fn an_api_the_provider_lacks_is_a_500_as_in_higress() {
    let vm = deepseek();
    let s = post(&vm, "gw", "/v1/embeddings", &json!({"model": "m", "input": "x"}));
    let local = s.local_response().unwrap();
    assert_eq!(
        (local.status, local.body_text().as_str()),
        (500, "failed to process request body: unsupported API name")
    );
    assert_eq!(local.details, "ai-proxy.proc_req_body_failed");
    // Without a body there is nothing to refuse: the request goes on (as in Higress).
    let s = request("GET", "gw", "/v1/embeddings").send(&vm);
    assert!(s.local_response().is_none());
    // Providers that pass unknown APIs on do so.
    let vm = provider(json!({"type": "ollama", "ollamaServerHost": "o", "ollamaServerPort": 1}));
    let (headers, _) = sent(&post(&vm, "gw", "/v1/images/generations", &json!({"model": "m", "prompt": "x"})));
    assert_eq!(headers.get(":path"), Some("/v1/images/generations"));
}

#[test]
fn unknown_paths_and_other_bodies_pass_untouched() {
    let vm = deepseek();
    let s = post(&vm, "gw", "/custom/thing", &json!({"model": "m"}));
    let (headers, body) = sent(&s);
    assert_eq!(headers.get(":path"), Some("/custom/thing"));
    assert_eq!(headers.get(":authority"), Some("api.deepseek.com"));
    assert_eq!(headers.get("authorization"), Some("Bearer k"));
    assert_eq!(body, json!({"model": "m"}));
    answer(&s, 200, "application/json", &[b"{\"x\":1}"]);
    assert_eq!(received(&s).2, "{\"x\":1}");

    let s = request("POST", "gw", "/v1/chat/completions").header("content-type", "text/plain").body("hello").send(&vm);
    assert_eq!(s.upstream().body_text(), "hello", "a body that is not JSON by its type is not read");

    let vm = provider(json!({"type": "generic", "customSettings": [{"name": "max_tokens", "value": 1}]}));
    let s = request("POST", "gw", "/v1/chat/completions")
        .header("content-type", "application/json")
        .body("{oops")
        .send(&vm);
    assert_eq!(s.upstream().body_text(), "{oops", "generic passes what it cannot read");
}

#[test]
fn a_non_200_reply_passes_through() {
    let vm = deepseek();
    let s = post(&vm, "gw", "/v1/chat/completions", &chat_body("m", false));
    answer(&s, 401, "application/json", &[b"{\"error\":{\"message\":\"bad key\"}}"]);
    let (status, headers, body) = received(&s);
    assert_eq!((status, body.as_str()), (401, "{\"error\":{\"message\":\"bad key\"}}"));
    assert_eq!(headers.get("content-length"), Some("1"), "untouched");
}

/// A JSON value of a few shapes, for random bodies.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        "[a-z\\\\\"\\u{4f60}]{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                "(model|messages|stream|role|content|tools|system|max_tokens|[a-z]{1,5})",
                inner,
                0..5
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Random bodies on the chat paths of every protocol pair, and random replies: an answer
    /// or a request sent on, and never a trap.
    #[test]
    fn random_requests_never_trap(body in json_value(), raw in prop::collection::vec(any::<u8>(), 0..64), reply in json_value(), stream in any::<bool>()) {
        thread_local! {
            static VMS: Vec<higress_host::Vm> = vec![
                provider(json!({"type": "deepseek", "apiTokens": ["k"]})),
                provider(json!({"type": "claude", "apiTokens": ["k"]})),
                provider(json!({"type": "openai", "apiTokens": ["k"], "modelMapping": {"~(.*)": "x-$1"}})),
            ];
        }
        VMS.with(|vms| {
            for vm in vms {
                for path in ["/v1/chat/completions", "/v1/messages"] {
                    for sent_body in [body.to_string().into_bytes(), raw.clone()] {
                        let s = request("POST", "gw", path).header("content-type", "application/json").body(sent_body).send(vm);
                        prop_assert!(s.traps().is_empty(), "{:?}", s.traps());
                        if s.local_response().is_some() {
                            continue;
                        }
                        let content_type = if stream { "text/event-stream" } else { "application/json" };
                        let reply_bytes = if stream { format!("data: {reply}\n\nevent: x\ndata: {reply}\n\n") } else { reply.to_string() };
                        let headers = [(":status", "200"), ("content-type", content_type)];
                        s.send_response_headers(headers, false).unwrap();
                        for (i, chunk) in reply_bytes.as_bytes().chunks(5).enumerate() {
                            let last = (i + 1) * 5 >= reply_bytes.len();
                            let _ = s.send_response_body(chunk, last);
                        }
                        prop_assert!(s.traps().is_empty(), "{:?}", s.traps());
                    }
                }
            }
            Ok(())
        })?;
    }
}
