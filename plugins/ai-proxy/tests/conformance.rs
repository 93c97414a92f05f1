//! Higress's own ai-proxy conformance cases (`test/e2e/conformance/tests/go-wasm-ai-proxy.go`
//! and `.yaml`) for the provider types of this module, on the compiled module: the YAML's
//! match rules (one per provider host), each request as the Go test sends it, the reply of
//! Higress's test mock (`llm-mock-service`, modelled here: it echoes the last user message and
//! the model it received), and the exact reply the Go test expects.
//!
//! Left out: minimax and dify (not implemented yet: their configs fail to start, checked at
//! the end).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::*;
use higress_host::testing::request;
use serde_json::{json, Value};

/// The WasmPlugin's match rules, as `_rules_` (`ingress` rules become the ingress's host).
fn config() -> Value {
    let rule = |host: &str, provider: Value| json!({"_match_domain_": [host], "provider": provider});
    let mapped = |kind: &str, map: Value| json!({"apiTokens": ["fake_token"], "modelMapping": map, "type": kind});
    json!({"_rules_": [
        rule("api.360.cn", mapped("ai360", json!({"gpt-3": "360gpt-turbo", "*": "360gpt-pro"}))),
        rule("api.baichuan-ai.com", mapped("baichuan", json!({"gpt-3": "baichuan2-13b-chat-v1", "*": "baichuan-7b-v1"}))),
        rule("qianfan.baidubce.com", mapped("baidu", json!({"gpt-3": "ernie-3.5-8k", "*": "ernie-3.5-8k"}))),
        rule("api.deepseek.com", mapped("deepseek", json!({"gpt-3": "deepseek-reasoner", "*": "deepseek-chat"}))),
        rule("ark.cn-beijing.volces.com", mapped("doubao", json!({"*": "fake_doubao_endpoint"}))),
        rule("models.inference.ai.azure.com", mapped("github", json!({"gpt-3": "cohere-command-r-08-2024", "*": "Phi-3.5-MoE-instruct"}))),
        rule("api.groq.com", mapped("groq", json!({"gpt-3": "llama3-8b-8192", "*": "llama-3.1-8b-instant"}))),
        rule("api.mistral.ai", mapped("mistral", json!({"gpt-3": "mistral-tiny", "*": "mistral-large-latest"}))),
        rule("dashscope.aliyuncs.com-compatible-mode", {
            let mut p = mapped("qwen", json!({"gpt-3": "qwen-turbo", "gpt-35-turbo": "qwen-plus", "gpt-4-*": "qwen-max", "*": "qwen-turbo"}));
            p["qwenEnableCompatible"] = json!(true);
            p
        }),
        rule("dashscope.aliyuncs.com", mapped("qwen", json!({"gpt-3": "qwen-turbo", "gpt-35-turbo": "qwen-plus", "gpt-4-*": "qwen-max", "*": "qwen-turbo"}))),
        rule("api.stepfun.com", mapped("stepfun", json!({"gpt-3": "step-1-8k", "*": "step-1-32k"}))),
        rule("api.cloudflare.com", mapped("cloudflare", json!({"gpt-3": "meta/llama-3.1-8b-instruct", "*": "meta/llama-3.1-70b-instruct"}))),
        rule("api.together.xyz", mapped("together-ai", json!({"gpt-3": "meta-llama/Meta-Llama-3-8B-Instruct-Turbo", "*": "meta-llama/Llama-3-8b-chat-hf"}))),
        rule("api.lingyiwanwu.com", mapped("yi", json!({"gpt-3": "Yi-Medium", "*": "Yi-Large"}))),
        rule("open.bigmodel.cn", mapped("zhipuai", json!({"gpt-3": "glm-4-plus", "*": "glm-4-long"}))),
        rule("api.x.ai", mapped("grok", json!({"gpt-3": "grok-beta", "gpt-4": "grok-beta", "*": "grok-beta"}))),
        rule("api.openai.com", json!({"apiTokens": ["fake_token"], "type": "openai"})),
    ]})
}

/// Higress's test mock: the last user message back, with the model it received.
fn mock_reply(request: &Value) -> (String, String) {
    let model = request["model"].as_str().unwrap_or_default();
    let content = request["messages"].as_array().unwrap().iter().rev().find(|m| m["role"] == "user").unwrap()
        ["content"]
        .as_str()
        .unwrap()
        .to_string();
    if request["stream"] != true {
        let body = format!(
            r#"{{"id":"chatcmpl-llm-mock","choices":[{{"index":0,"message":{{"role":"assistant","content":{}}},"finish_reason":"stop","logprobs":null}}],"created":10,"model":"{model}","object":"chat.completion","usage":{{"prompt_tokens":9,"completion_tokens":1,"total_tokens":10}}}}"#,
            Value::String(content)
        );
        return ("application/json".into(), body);
    }
    let chars: Vec<char> = content.chars().collect();
    let mut body = String::new();
    for (i, c) in chars.iter().enumerate() {
        let finish = if i + 1 == chars.len() { "\"stop\"" } else { "null" };
        body.push_str(&format!(
            r#"data: {{"id":"chatcmpl-llm-mock","choices":[{{"index":0,"delta":{{"content":"{c}"}},"finish_reason":{finish},"logprobs":null}}],"created":10,"model":"{model}","object":"chat.completion.chunk","usage":null}}"#
        ));
        body.push_str("\n\n");
    }
    body.push_str("data: [DONE]\n\n");
    ("text/event-stream".into(), body)
}

/// The reply the Go test expects (its bodies, generated from the same text and model).
fn expected(model: &str, stream: bool) -> String {
    let request =
        json!({"model": model, "messages": [{"role": "user", "content": "你好，你是谁？"}], "stream": stream});
    mock_reply(&request).1
}

#[test]
fn higress_conformance_cases() {
    let vm = vm(config());
    let cases = [
        ("ai360", "api.360.cn", "360gpt-turbo"),
        ("baichuan", "api.baichuan-ai.com", "baichuan2-13b-chat-v1"),
        ("baidu", "qianfan.baidubce.com", "ernie-3.5-8k"),
        ("deepseek", "api.deepseek.com", "deepseek-reasoner"),
        ("doubao", "ark.cn-beijing.volces.com", "fake_doubao_endpoint"),
        ("github", "models.inference.ai.azure.com", "cohere-command-r-08-2024"),
        ("groq", "api.groq.com", "llama3-8b-8192"),
        ("mistral", "api.mistral.ai", "mistral-tiny"),
        ("qwen compatible", "dashscope.aliyuncs.com-compatible-mode", "qwen-turbo"),
        ("qwen (case 3)", "dashscope.aliyuncs.com", "qwen-turbo"),
        ("stepfun", "api.stepfun.com", "step-1-8k"),
        ("cloudflare", "api.cloudflare.com", "meta/llama-3.1-8b-instruct"),
        ("together-ai", "api.together.xyz", "meta-llama/Meta-Llama-3-8B-Instruct-Turbo"),
        ("yi", "api.lingyiwanwu.com", "Yi-Medium"),
        ("zhipuai", "open.bigmodel.cn", "glm-4-plus"),
        ("grok", "api.x.ai", "grok-beta"),
        ("openai", "api.openai.com", "gpt-3"),
    ];
    for (name, host, model) in cases {
        for stream in [false, true] {
            // Qwen's case 3 has no streaming half.
            if name == "qwen (case 3)" && stream {
                continue;
            }
            let what = format!("{name} case {}", if stream { "2: streaming" } else { "1: non-streaming" });
            let body = format!(
                r#"{{"model":"gpt-3","messages":[{{"role":"user","content":"你好，你是谁？"}}],"stream":{stream}}}"#
            );
            let s = request("POST", host, "/v1/chat/completions")
                .header("content-type", "application/json")
                .body(body)
                .send(&vm);
            let up = s.upstream();
            assert!(s.local_response().is_none(), "{what}: {:?}", s.local_response());
            let received: Value = serde_json::from_slice(&up.body).unwrap();
            let (content_type, reply) = mock_reply(&received);
            answer(&s, 200, &content_type, &pieces(reply.as_bytes(), 37));
            let (status, headers, got) = common::received(&s);
            assert_eq!(status, 200, "{what}");
            assert_eq!(headers.get("content-type"), Some(content_type.as_str()), "{what}");
            let want = expected(model, stream);
            if stream {
                assert_eq!(got, want, "{what}");
            } else {
                let (got, want): (Value, Value) =
                    (serde_json::from_str(&got).unwrap(), serde_json::from_str(&want).unwrap());
                assert_eq!(got, want, "{what}");
            }
        }
    }
}

#[test]
fn the_types_of_part_two_fail_to_start_rather_than_misbehave() {
    for kind in ["minimax", "dify"] {
        let line =
            config_error(json!({"provider": {"type": kind, "apiTokens": ["fake_token"], "modelMapping": {"*": "x"}}}));
        assert!(line.contains("does not implement yet"), "{kind}: {line}");
    }
}
