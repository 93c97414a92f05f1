//! Every provider type on the compiled module: the host, path, key header and body a chat
//! request reaches the provider with, streamed or not, and none of the client's credentials.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::*;
use serde_json::{json, Value};

/// One provider type: its config (beside `type`, `apiTokens` and `modelMapping`), and where
/// a chat request must go.
struct Case {
    kind: &'static str,
    extra: Value,
    host: &'static str,
    path: &'static str,
    /// The key header and its value (`None`: no key at all).
    key: Option<(&'static str, &'static str)>,
}

fn cases() -> Vec<Case> {
    let bearer = Some(("authorization", "Bearer sk-1"));
    let compatible = |kind, host, path| Case { kind, extra: json!({}), host, path, key: bearer };
    vec![
        compatible("openai", "api.openai.com", "/v1/chat/completions"),
        compatible("deepseek", "api.deepseek.com", "/v1/chat/completions"),
        compatible("moonshot", "api.moonshot.cn", "/v1/chat/completions"),
        compatible("groq", "api.groq.com", "/openai/v1/chat/completions"),
        compatible("grok", "api.x.ai", "/v1/chat/completions"),
        compatible("mistral", "api.mistral.ai", "/v1/chat/completions"),
        compatible("together-ai", "api.together.xyz", "/v1/chat/completions"),
        compatible("fireworks", "api.fireworks.ai", "/v1/chat/completions"),
        compatible("openrouter", "openrouter.ai", "/api/v1/chat/completions"),
        compatible("yi", "api.lingyiwanwu.com", "/v1/chat/completions"),
        compatible("baichuan", "api.baichuan-ai.com", "/v1/chat/completions"),
        compatible("stepfun", "api.stepfun.com", "/v1/chat/completions"),
        Case { key: Some(("authorization", "sk-1")), ..compatible("ai360", "api.360.cn", "/v1/chat/completions") },
        Case {
            key: Some(("authorization", "sk-1")),
            ..compatible("github", "models.inference.ai.azure.com", "/chat/completions")
        },
        compatible("longcat", "api.longcat.chat", "/v1/chat/completions"),
        compatible("baidu", "qianfan.baidubce.com", "/v2/chat/completions"),
        compatible("doubao", "ark.cn-beijing.volces.com", "/api/v3/chat/completions"),
        compatible("zhipuai", "open.bigmodel.cn", "/api/paas/v4/chat/completions"),
        Case {
            extra: json!({"cloudflareAccountId": "acc-1"}),
            ..compatible("cloudflare", "api.cloudflare.com", "/client/v4/accounts/acc-1/ai/v1/chat/completions")
        },
        compatible("vllm", "vllm-service.cluster.local", "/v1/chat/completions"),
        Case {
            extra: json!({"ollamaServerHost": "ollama.local", "ollamaServerPort": 11434}),
            key: None,
            ..compatible("ollama", "ollama.local:11434", "/v1/chat/completions")
        },
        Case {
            extra: json!({"genericHost": "llm.internal"}),
            ..compatible("generic", "llm.internal", "/v1/chat/completions")
        },
        compatible("qwen", "dashscope.aliyuncs.com", "/compatible-mode/v1/chat/completions"),
        Case {
            extra: json!({"azureServiceUrl": "https://res.openai.azure.com?api-version=2024-10-21"}),
            key: Some(("api-key", "sk-1")),
            ..compatible(
                "azure",
                "res.openai.azure.com",
                "/openai/deployments/mapped-model/chat/completions?api-version=2024-10-21",
            )
        },
        Case { key: Some(("x-api-key", "sk-1")), ..compatible("claude", "api.anthropic.com", "/v1/messages") },
    ]
}

fn config(case: &Case) -> Value {
    let mut config = json!({"type": case.kind, "apiTokens": ["sk-1"], "modelMapping": {"*": "mapped-model"}});
    for (k, v) in case.extra.as_object().unwrap() {
        config[k] = v.clone();
    }
    config
}

#[test]
fn every_type_gets_its_host_path_key_and_body() {
    for case in cases() {
        let vm = provider(config(&case));
        for stream in [false, true] {
            let what = format!("{} (stream: {stream})", case.kind);
            let s = post(&vm, "gateway.local", "/v1/chat/completions", &chat_body("gpt-3", stream));
            let (headers, body) = sent(&s);
            assert_eq!(headers.get(":authority"), Some(case.host), "{what}");
            assert_eq!(headers.get(":path"), Some(case.path), "{what}");
            assert_eq!(headers.get("x-envoy-original-host"), Some("gateway.local"), "{what}");
            for header in ["authorization", "x-api-key", "api-key"] {
                let expected = case.key.filter(|(name, _)| *name == header).map(|(_, value)| value);
                assert_eq!(headers.get(header), expected, "{what}: {header}");
            }
            assert!(!headers.contains("x-hi-original-auth"), "{what}: the client's key never goes upstream");
            assert!(!headers.contains("accept-encoding"), "{what}");
            match case.kind {
                "generic" => {
                    assert_eq!(body, chat_body("gpt-3", stream), "{what}: generic passes the body untouched");
                    assert!(headers.contains("content-length"), "{what}: an untouched body keeps its length");
                }
                "claude" => {
                    assert_eq!(headers.get("anthropic-version"), Some("2023-06-01"));
                    assert_eq!(body["model"], "mapped-model", "{what}");
                    assert_eq!(body["max_tokens"], 4096, "{what}");
                    assert_eq!(body["messages"][0]["content"][0]["text"], "你好，你是谁？", "{what}");
                    assert_eq!(body.get("stream"), stream.then_some(&Value::Bool(true)), "{what}");
                    assert!(!headers.contains("content-length"), "{what}");
                }
                _ => {
                    assert_eq!(body["model"], "mapped-model", "{what}");
                    assert_eq!(body["messages"], chat_body("gpt-3", stream)["messages"], "{what}");
                    let usage = body.pointer("/stream_options/include_usage").cloned();
                    assert_eq!(usage, stream.then_some(Value::Bool(true)), "{what}: the stream's usage is asked for");
                    assert!(!headers.contains("content-length"), "{what}: the body changed");
                }
            }
            let accept = headers.get("accept");
            assert_eq!(accept, (stream && case.kind != "generic").then_some("text/event-stream"), "{what}");
        }
    }
}

#[test]
fn openai_passes_the_clients_own_key_without_api_tokens() {
    let vm = provider(json!({"type": "openai"}));
    let (headers, _) = sent(&post(&vm, "gw", "/v1/chat/completions", &chat_body("m", false)));
    assert_eq!(headers.get("authorization"), Some("Bearer client-x-key"), "x-api-key comes before Authorization");
    assert!(!headers.contains("x-api-key"));

    let vm = provider(json!({"type": "openai", "authHeaderKey": "x-my-key"}));
    let s = higress_host::testing::request("POST", "gw", "/v1/chat/completions")
        .header("content-type", "application/json")
        .header("x-my-key", "mine")
        .header("authorization", "Bearer other")
        .body(chat_body("m", false).to_string())
        .send(&vm);
    let (headers, _) = sent(&s);
    assert_eq!(headers.get("authorization"), Some("Bearer mine"));
    assert!(!headers.contains("x-my-key"));

    let vm = provider(json!({"type": "vllm"}));
    let s = higress_host::testing::request("POST", "gw", "/v1/chat/completions")
        .header("authorization", "Bearer own")
        .body(chat_body("m", false).to_string())
        .send(&vm);
    assert_eq!(sent(&s).0.get("authorization"), Some("Bearer own"));
}

#[test]
fn openai_custom_urls_and_paths_of_other_apis() {
    let vm = provider(
        json!({"type": "openai", "apiTokens": ["k"], "openaiCustomUrl": "https://proxy.example.com/v1/chat/completions"}),
    );
    let (headers, _) = sent(&post(&vm, "gw", "/v1/chat/completions", &chat_body("m", false)));
    assert_eq!(headers.get(":authority"), Some("proxy.example.com"));
    assert_eq!(headers.get(":path"), Some("/v1/chat/completions"));

    let vm = provider(json!({"type": "openai", "apiTokens": ["k"], "openaiCustomUrl": "proxy.example.com/api/ai"}));
    let (headers, _) = sent(&post(&vm, "gw", "/v1/embeddings", &json!({"model": "e", "input": "x"})));
    assert_eq!(headers.get(":path"), Some("/api/ai/embeddings"));
    let s = higress_host::testing::request("GET", "gw", "/v1/files/file-9/content?x=1").send(&vm);
    assert_eq!(sent(&s).0.get(":path"), Some("/api/ai/files/file-9/content?x=1"));

    let vm = provider(json!({"type": "qwen", "apiTokens": ["k"]}));
    let s = higress_host::testing::request("GET", "gw", "/v1/files/file-9").send(&vm);
    assert_eq!(sent(&s).0.get(":path"), Some("/compatible-mode/v1/files/file-9"));
}

#[test]
fn azure_service_url_shapes() {
    let config = |url: &str| json!({"type": "azure", "apiTokens": ["k"], "azureServiceUrl": url});
    let vm =
        provider(config("https://r.openai.azure.com/openai/deployments/dep/chat/completions?api-version=2024-06-01"));
    let (headers, _) = sent(&post(&vm, "gw", "/v1/chat/completions", &chat_body("m", false)));
    assert_eq!(headers.get(":path"), Some("/openai/deployments/dep/chat/completions?api-version=2024-06-01"));
    assert_eq!(headers.get(":authority"), Some("r.openai.azure.com"));

    let vm = provider(config("https://r.openai.azure.com/openai/deployments/dep?api-version=2024-06-01"));
    let (headers, _) = sent(&post(&vm, "gw", "/v1/embeddings", &json!({"model": "m", "input": "x"})));
    assert_eq!(headers.get(":path"), Some("/openai/deployments/dep/embeddings?api-version=2024-06-01"));

    let vm = provider(config("https://r.openai.azure.com?api-version=2024-06-01"));
    let (headers, _) = sent(&post(&vm, "gw", "/v1/chat/completions?trace=1", &chat_body("gpt-4o", false)));
    assert_eq!(
        headers.get(":path"),
        Some("/openai/deployments/gpt-4o/chat/completions?trace=1&api-version=2024-06-01")
    );
    let s = higress_host::testing::request("GET", "gw", "/v1/models").header("authorization", "Bearer c").send(&vm);
    let (headers, _) = sent(&s);
    assert_eq!(headers.get(":path"), Some("/openai/models?api-version=2024-06-01"));
    assert_eq!(headers.get("api-key"), Some("k"));
    assert!(!headers.contains("authorization"), "the client's Authorization is removed");
}

#[test]
fn developer_messages_become_system_ones_except_for_azure() {
    let body = json!({"model": "m", "messages": [{"role": "developer", "content": "rules"}, {"role": "user", "content": "hi"}]});
    let vm = provider(json!({"type": "deepseek", "apiTokens": ["k"]}));
    let (_, sent_body) = sent(&post(&vm, "gw", "/v1/chat/completions", &body));
    assert_eq!(sent_body["messages"][0]["role"], "system");
    let vm = provider(json!({"type": "azure", "apiTokens": ["k"], "azureServiceUrl": "https://a.com?api-version=1"}));
    let (_, sent_body) = sent(&post(&vm, "gw", "/v1/chat/completions", &body));
    assert_eq!(sent_body["messages"][0]["role"], "developer");
}

#[test]
fn same_protocol_bodies_are_edited_in_place() {
    let text = "{\"model\" : \"gpt-3\",\n \"temperature\": 0.0, \"x_vendor\": {\"keep\": [1, 2.50]}, \"messages\": [{\"role\":\"user\",\"content\":\"hi\"}]}";
    let vm = provider(json!({"type": "deepseek", "apiTokens": ["k"], "modelMapping": {"gpt-3": "deepseek-chat"}}));
    let s = higress_host::testing::request("POST", "gw", "/v1/chat/completions")
        .header("content-type", "application/json")
        .body(text)
        .send(&vm);
    let up = s.upstream();
    assert_eq!(
        up.body_text(),
        text.replace("\"gpt-3\"", "\"deepseek-chat\""),
        "only the model's value changes: order, spacing and numbers stay"
    );

    let vm = provider(json!({"type": "deepseek", "apiTokens": ["k"]}));
    let s = higress_host::testing::request("POST", "gw", "/v1/chat/completions")
        .header("content-type", "application/json")
        .header("content-length", &text.len().to_string())
        .body(text)
        .send(&vm);
    let up = s.upstream();
    assert_eq!(up.body_text(), text, "nothing to change: the body goes as it came");
    assert_eq!(up.header("content-length"), Some(text.len().to_string().as_str()));
}

#[test]
fn quirks_of_zhipu_openrouter_doubao_and_json_schema() {
    let vm = provider(json!({"type": "zhipuai", "apiTokens": ["k"]}));
    let body = json!({"model": "glm", "reasoning_effort": "high", "messages": [{"role": "user", "content": "x"}]});
    let (_, b) = sent(&post(&vm, "gw", "/v1/chat/completions", &body));
    assert_eq!(b["thinking"], json!({"type": "enabled"}));
    assert!(b.get("reasoning_effort").is_none());

    let vm = provider(json!({"type": "openrouter", "apiTokens": ["k"]}));
    let body = json!({"model": "m", "reasoning_effort": "high", "reasoning_max_tokens": 2000, "messages": [{"role": "user", "content": "x"}]});
    let (_, b) = sent(&post(&vm, "gw", "/v1/chat/completions", &body));
    assert_eq!(b["reasoning"], json!({"max_tokens": 2000}));
    assert!(b.get("reasoning_effort").is_none() && b.get("reasoning_max_tokens").is_none());

    let vm = provider(json!({"type": "doubao", "apiTokens": ["k"]}));
    let (h, b) = sent(&post(&vm, "gw", "/v1/images/generations", &json!({"model": "m", "prompt": "cat"})));
    assert_eq!(h.get(":path"), Some("/api/v3/images/generations"));
    assert_eq!(b["watermark"], false);
    let (_, b) = sent(&post(
        &vm,
        "gw",
        "/v1/responses",
        &json!({"model": "m", "input": "x", "tool_choice": "auto", "parallel_tool_calls": true}),
    ));
    assert!(b.get("tool_choice").is_none() && b.get("parallel_tool_calls").is_none());

    let vm = provider(
        json!({"type": "openai", "apiTokens": ["k"], "responseJsonSchema": {"type": "json_schema", "json_schema": {"name": "x"}}}),
    );
    let (_, b) = sent(&post(&vm, "gw", "/v1/chat/completions", &chat_body("m", false)));
    assert_eq!(b["response_format"]["type"], "json_schema");
}

#[test]
fn moonshot_stream_usage_moves_out_of_the_choice() {
    let vm = provider(json!({"type": "moonshot", "apiTokens": ["k"]}));
    let s = post(&vm, "gw", "/v1/chat/completions", &chat_body("m", true));
    let stream = "data: {\"id\":\"1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"},\"finish_reason\":\"stop\",\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2,\"total_tokens\":3}}]}\n\ndata: [DONE]\n\n";
    answer(&s, 200, "text/event-stream", &pieces(stream.as_bytes(), 7));
    let (_, _, body) = received(&s);
    let events = data_events(&body);
    assert_eq!(events[0]["usage"]["total_tokens"], 3);
    assert!(events[0]["choices"][0].get("usage").is_none());
    assert_eq!(events[1], "[DONE]");
}

#[test]
fn same_protocol_replies_pass_untouched() {
    let vm = provider(json!({"type": "deepseek", "apiTokens": ["k"]}));
    let s = post(&vm, "gw", "/v1/chat/completions", &chat_body("m", true));
    let stream = b"data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\nda";
    answer(&s, 200, "text/event-stream", &[&stream[..10], &stream[10..]]);
    let (status, headers, body) = received(&s);
    assert_eq!(status, 200);
    assert_eq!(body.as_bytes(), stream);
    assert_eq!(headers.get("content-length"), Some("1"), "untouched replies keep their headers");
}

#[test]
fn first_byte_timeout_is_set_on_streams() {
    let vm = provider(json!({"type": "deepseek", "apiTokens": ["k"], "firstByteTimeout": 3000}));
    let (h, _) = sent(&post(&vm, "gw", "/v1/chat/completions", &chat_body("m", true)));
    assert_eq!(h.get("x-envoy-upstream-rq-first-byte-timeout-ms"), Some("3000"));
    let (h, _) = sent(&post(&vm, "gw", "/v1/chat/completions", &chat_body("m", false)));
    assert!(!h.contains("x-envoy-upstream-rq-first-byte-timeout-ms"));
}

#[test]
fn keys_rotate_and_stick_to_consumers_on_stateful_apis() {
    let vm = provider(json!({"type": "openai", "apiTokens": ["k0", "k1", "k2"]}));
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..60 {
        let (h, _) = sent(&post(&vm, "gw", "/v1/chat/completions", &chat_body("m", false)));
        seen.insert(h.get("authorization").unwrap().to_string());
    }
    assert_eq!(seen.len(), 3, "{seen:?}");
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..20 {
        let s = higress_host::testing::request("GET", "gw", "/v1/files").header("x-mse-consumer", "alice").send(&vm);
        seen.insert(sent(&s).0.get("authorization").unwrap().to_string());
    }
    assert_eq!(seen.len(), 1, "{seen:?}");
}
