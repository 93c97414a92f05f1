//! Higress's own ai-proxy conformance cases (`test/e2e/conformance/tests/go-wasm-ai-proxy.go`
//! and `.yaml`) for the provider types of this module, on the compiled module: the YAML's
//! match rules (one per provider host), each request as the Go test sends it, the reply of
//! Higress's test mock (`llm-mock-service`, modelled here: it echoes the last user message and
//! the model it received, in OpenAI's protocol, MiniMax Pro's or Dify's), and the reply the Go
//! test expects.
//!
//! Every case is here, all but two with the exact reply Go expects. The two streams Go
//! translates itself (MiniMax Pro's, Dify's) expect Go's bugs byte for byte - a MiniMax stream
//! missing its last event and written as whole `chat.completion` objects, a Dify stream that
//! repeats the whole answer in its last chunk, neither ending with `[DONE]`: there the exact
//! OpenAI stream this module writes is checked, and the difference from Go's expected body is
//! checked to be exactly those bugs (README, "Differences from Higress"). MiniMax Pro's whole
//! reply lacks Go's `message.name` (the bot's name, not an OpenAI field), and is otherwise
//! Go's.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::*;
use higress_host::testing::request;
use higress_host::Stream;
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
        rule(
            "api.minimax.chat-v2-api",
            mapped("minimax", json!({"gpt-3": "abab6.5s-chat", "gpt-4": "abab6.5g-chat", "*": "abab6.5t-chat"})),
        ),
        rule("api.minimax.chat-pro-api", {
            let map = json!({"gpt-3": "abab6.5s-chat", "gpt-4": "abab6.5g-chat", "*": "abab6.5t-chat"});
            let mut p = mapped("minimax", map);
            p["minimaxApiType"] = json!("pro");
            // YAML's `minimaxGroupId: 1` is a number.
            p["minimaxGroupId"] = json!(1);
            p
        }),
        rule("api.dify.ai", {
            let mut p = mapped("dify", json!({"*": "dify"}));
            p["botType"] = json!("Completion");
            p
        }),
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
        // MiniMax's ChatCompletion v2 speaks OpenAI's protocol (the mock answers it so).
        ("minimax v2", "api.minimax.chat-v2-api", "abab6.5s-chat"),
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

/// Where the request went (`:authority`, `:path`), its key and its body.
type Sent = (String, String, String, Value);
/// The client's status, content type and body.
type Got = (u16, String, String);

/// The request as it reached the mock.
fn upstream(s: &Stream) -> Sent {
    let up = s.upstream();
    assert!(s.local_response().is_none(), "{:?}", s.local_response().map(|r| r.body_text()));
    let headers = up.headers.clone().unwrap();
    let header = |name: &str| headers.get(name).unwrap_or_default().to_string();
    (header(":authority"), header(":path"), header("authorization"), serde_json::from_slice(&up.body).unwrap())
}

/// MiniMax Pro as Higress's mock answers it (`llm-mock-server`, `pkg/provider/chat/minimax.go`):
/// the last message's text, from the bot `reply_constraints` names; streamed, one event per
/// character (an empty `finish_reason`, zero usage, no id), then the whole reply again.
fn minimax_pro_mock(request: &Value) -> (&'static str, String) {
    let model = request["model"].as_str().unwrap();
    let constraints = &request["reply_constraints"];
    let text = request["messages"].as_array().unwrap().last().unwrap()["text"].as_str().unwrap();
    let message = |text: &str| json!({"sender_type": constraints["sender_type"], "sender_name": constraints["sender_name"], "text": text});
    let whole = json!({"created": 10, "model": model, "reply": text,
        "choices": [{"messages": [message(text)], "index": 0, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 9, "completion_tokens": 1, "total_tokens": 10},
        "id": "chatcmpl-llm-mock", "base_resp": {"status_code": 0, "status_msg": ""}});
    if request["stream"] != true {
        return ("application/json", whole.to_string());
    }
    let mut body = String::new();
    for c in text.chars() {
        let event = json!({"created": 10, "model": model, "reply": "",
            "choices": [{"messages": [message(&c.to_string())], "index": 0, "finish_reason": ""}],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
            "id": "", "base_resp": {"status_code": 0, "status_msg": ""}});
        body.push_str(&format!("data: {event}\n\n"));
    }
    body.push_str(&format!("data: {whole}\n\n"));
    ("text/event-stream", body)
}

/// Dify as Higress's mock answers it (`pkg/provider/chat/dify.go`): a Completion app's
/// `inputs.query` (a Chat app's `query`) back; streamed, one `agent_thought` event per
/// character, then a `message_end` with the whole answer again and the usage.
fn dify_mock(path: &str, request: &Value) -> (&'static str, String) {
    let text = match path {
        "/v1/completion-messages" => request["inputs"]["query"].as_str().unwrap(),
        _ => request["query"].as_str().unwrap(),
    };
    let usage = json!({"prompt_tokens": 9, "completion_tokens": 1, "total_tokens": 10});
    let data = json!({"workflow_id": "", "id": "", "outputs": null});
    if request["response_mode"] != "streaming" {
        let conversation = request["conversation_id"].as_str().unwrap_or_default();
        let reply = json!({"conversation_id": conversation, "message_id": "chatcmpl-llm-mock", "answer": text,
            "created_at": 10, "data": data, "metadata": {"usage": usage}});
        return ("application/json", reply.to_string());
    }
    let mut body = String::new();
    for c in text.chars() {
        let event = json!({"event": "agent_thought", "conversation_id": "chatcmpl-llm-mock",
            "message_id": "chatcmpl-llm-mock", "answer": c.to_string(), "created_at": 10, "data": data,
            "metadata": {"usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}}});
        body.push_str(&format!("data: {event}\n\n"));
    }
    let end = json!({"event": "message_end", "conversation_id": "chatcmpl-llm-mock",
        "message_id": "chatcmpl-llm-mock", "answer": text, "created_at": 0, "data": data, "metadata": {"usage": usage}});
    body.push_str(&format!("data: {end}\n\n"));
    ("text/event-stream", body)
}

/// The OpenAI stream this module writes for a translated reply of `texts`, with `id`, `model`
/// and the usage 9/1/10: the role chunk, one chunk per text, the finish, the usage chunk,
/// `[DONE]` (every chunk `created` at the gateway's clock).
fn openai_stream(id: &str, model: &str, texts: &[String]) -> String {
    let chunk = |delta: Value, finish: Value| {
        json!({"choices": [{"delta": delta, "finish_reason": finish, "index": 0, "logprobs": null}],
            "created": NOW, "id": id, "model": model, "object": "chat.completion.chunk"})
    };
    let mut out = format!("data: {}\n\n", chunk(json!({"content": "", "role": "assistant"}), Value::Null));
    for text in texts {
        out.push_str(&format!("data: {}\n\n", chunk(json!({"content": text}), Value::Null)));
    }
    out.push_str(&format!("data: {}\n\n", chunk(json!({}), json!("stop"))));
    let usage = json!({"choices": [], "created": NOW, "id": id, "model": model, "object": "chat.completion.chunk",
        "usage": {"completion_tokens": 1, "prompt_tokens": 9, "total_tokens": 10}});
    out.push_str(&format!("data: {usage}\n\ndata: [DONE]\n\n"));
    out
}

/// The text of the chunks of an OpenAI-style stream, read from `delta` or (Go's MiniMax
/// chunks) `message`.
fn streamed_text(stream: &str) -> String {
    let events = data_events(stream);
    let content = |e: &Value, key: &str| e["choices"][0][key]["content"].as_str().map(str::to_string);
    events.iter().filter_map(|e| content(e, "delta").or_else(|| content(e, "message"))).collect()
}

/// Sends one of the Go test's requests to `host`; the mock answers with `mock`, cut in
/// pieces; the client's status, content type and body.
fn exchange(
    vm: &higress_host::Vm,
    host: &str,
    body: &str,
    mock: impl Fn(&str, &Value) -> (&'static str, String),
) -> (Sent, Got) {
    let s =
        request("POST", host, "/v1/chat/completions").header("content-type", "application/json").body(body).send(vm);
    let sent = upstream(&s);
    let (content_type, reply) = mock(&sent.1, &sent.3);
    answer(&s, 200, content_type, &pieces(reply.as_bytes(), 37));
    let (status, headers, got) = common::received(&s);
    let content_type = headers.get("content-type").unwrap_or_default().to_string();
    (sent, (status, content_type, got))
}

// Go's expected replies, verbatim.
const MINIMAX_PRO: &str = r#"{"id":"chatcmpl-llm-mock","choices":[{"index":0,"message":{"name":"MM智能助理","role":"assistant","content":"你好，你是谁？"},"finish_reason":"stop","logprobs":null}],"created":10,"model":"abab6.5s-chat","object":"chat.completion","usage":{"prompt_tokens":9,"completion_tokens":1,"total_tokens":10}}"#;
const MINIMAX_PRO_STREAM: &str = r#"data: {"choices":[{"index":0,"message":{"name":"MM智能助理","role":"assistant","content":"你"},"finish_reason":"","logprobs":null}],"created":10,"model":"abab6.5s-chat","object":"chat.completion","usage":{}}

data: {"choices":[{"index":0,"message":{"name":"MM智能助理","role":"assistant","content":"好"},"finish_reason":"","logprobs":null}],"created":10,"model":"abab6.5s-chat","object":"chat.completion","usage":{}}

data: {"choices":[{"index":0,"message":{"name":"MM智能助理","role":"assistant","content":"，"},"finish_reason":"","logprobs":null}],"created":10,"model":"abab6.5s-chat","object":"chat.completion","usage":{}}

data: {"choices":[{"index":0,"message":{"name":"MM智能助理","role":"assistant","content":"你"},"finish_reason":"","logprobs":null}],"created":10,"model":"abab6.5s-chat","object":"chat.completion","usage":{}}

data: {"choices":[{"index":0,"message":{"name":"MM智能助理","role":"assistant","content":"是"},"finish_reason":"","logprobs":null}],"created":10,"model":"abab6.5s-chat","object":"chat.completion","usage":{}}

data: {"choices":[{"index":0,"message":{"name":"MM智能助理","role":"assistant","content":"谁"},"finish_reason":"","logprobs":null}],"created":10,"model":"abab6.5s-chat","object":"chat.completion","usage":{}}
"#;
const DIFY: &str = r#"{"id":"chatcmpl-llm-mock","choices":[{"index":0,"message":{"role":"assistant","content":"USER: \n你好\n"},"finish_reason":"stop","logprobs":null}],"created":10,"model":"dify","object":"chat.completion","usage":{"prompt_tokens":9,"completion_tokens":1,"total_tokens":10}}"#;
const DIFY_STREAM: &str = r#"data: {"id":"chatcmpl-llm-mock","choices":[{"index":0,"delta":{"role":"assistant","content":"U"},"finish_reason":null,"logprobs":null}],"created":10,"model":"dify","object":"chat.completion.chunk","usage":null}

data: {"id":"chatcmpl-llm-mock","choices":[{"index":0,"delta":{"role":"assistant","content":"S"},"finish_reason":null,"logprobs":null}],"created":10,"model":"dify","object":"chat.completion.chunk","usage":null}

data: {"id":"chatcmpl-llm-mock","choices":[{"index":0,"delta":{"role":"assistant","content":"E"},"finish_reason":null,"logprobs":null}],"created":10,"model":"dify","object":"chat.completion.chunk","usage":null}

data: {"id":"chatcmpl-llm-mock","choices":[{"index":0,"delta":{"role":"assistant","content":"R"},"finish_reason":null,"logprobs":null}],"created":10,"model":"dify","object":"chat.completion.chunk","usage":null}

data: {"id":"chatcmpl-llm-mock","choices":[{"index":0,"delta":{"role":"assistant","content":":"},"finish_reason":null,"logprobs":null}],"created":10,"model":"dify","object":"chat.completion.chunk","usage":null}

data: {"id":"chatcmpl-llm-mock","choices":[{"index":0,"delta":{"role":"assistant","content":" "},"finish_reason":null,"logprobs":null}],"created":10,"model":"dify","object":"chat.completion.chunk","usage":null}

data: {"id":"chatcmpl-llm-mock","choices":[{"index":0,"delta":{"role":"assistant","content":"\n"},"finish_reason":null,"logprobs":null}],"created":10,"model":"dify","object":"chat.completion.chunk","usage":null}

data: {"id":"chatcmpl-llm-mock","choices":[{"index":0,"delta":{"role":"assistant","content":"你"},"finish_reason":null,"logprobs":null}],"created":10,"model":"dify","object":"chat.completion.chunk","usage":null}

data: {"id":"chatcmpl-llm-mock","choices":[{"index":0,"delta":{"role":"assistant","content":"好"},"finish_reason":null,"logprobs":null}],"created":10,"model":"dify","object":"chat.completion.chunk","usage":null}

data: {"id":"chatcmpl-llm-mock","choices":[{"index":0,"delta":{"role":"assistant","content":"\n"},"finish_reason":null,"logprobs":null}],"created":10,"model":"dify","object":"chat.completion.chunk","usage":null}

data: {"id":"chatcmpl-llm-mock","choices":[{"index":0,"delta":{"role":"assistant","content":"USER: \n你好\n"},"finish_reason":"stop","logprobs":null}],"model":"dify","object":"chat.completion.chunk","usage":{"prompt_tokens":9,"completion_tokens":1,"total_tokens":10}}

"#;

fn go_request(content: &str, stream: bool) -> String {
    format!(r#"{{"model":"gpt-3","messages":[{{"role":"user","content":"{content}"}}],"stream":{stream}}}"#)
}

#[test]
fn minimax_cases_1_and_2_go_to_chatcompletion_v2() {
    let vm = vm(config());
    for stream in [false, true] {
        let ((host, path, key, body), _) =
            exchange(&vm, "api.minimax.chat-v2-api", &go_request("你好，你是谁？", stream), |_, r| {
                let (content_type, body) = mock_reply(r);
                (if content_type == "application/json" { "application/json" } else { "text/event-stream" }, body)
            });
        assert_eq!(
            (host.as_str(), path.as_str(), key.as_str()),
            ("api.minimax.chat", "/v1/text/chatcompletion_v2", "Bearer fake_token")
        );
        assert_eq!(body["model"], "abab6.5s-chat", "only the model changes");
    }
    // The replies: in `higress_conformance_cases` with the other OpenAI-compatible types.
}

#[test]
fn minimax_case_3_chatcompletion_pro_non_streaming() {
    let vm = vm(config());
    let (sent, (status, content_type, got)) =
        exchange(&vm, "api.minimax.chat-pro-api", &go_request("你好，你是谁？", false), |_, r| {
            minimax_pro_mock(r)
        });
    let (host, path, key, body) = sent;
    assert_eq!(
        (host.as_str(), path.as_str(), key.as_str()),
        ("api.minimax.chat", "/v1/text/chatcompletion_pro?GroupId=1", "Bearer fake_token")
    );
    assert_eq!(
        body,
        json!({"model": "abab6.5s-chat", "mask_sensitive_info": true,
            "messages": [{"sender_type": "USER", "sender_name": "小明", "text": "你好，你是谁？"}],
            "bot_setting": [{"bot_name": "MM智能助理", "content": higress_ai::minimax::DEFAULT_BOT_SETTING}],
            "reply_constraints": {"sender_type": "BOT", "sender_name": "MM智能助理"}}),
        "Go's request"
    );
    assert_eq!((status, content_type.as_str()), (200, "application/json"));
    let got: Value = serde_json::from_str(&got).unwrap();
    let mut expected: Value = serde_json::from_str(MINIMAX_PRO).unwrap();
    // The one difference: the bot's name, which OpenAI's replies have no place for.
    let name = expected["choices"][0]["message"].as_object_mut().unwrap().remove("name");
    assert_eq!(name, Some(json!("MM智能助理")));
    assert_eq!(got, expected);
}

#[test]
fn minimax_case_4_chatcompletion_pro_streaming() {
    let vm = vm(config());
    let (sent, (status, content_type, got)) =
        exchange(&vm, "api.minimax.chat-pro-api", &go_request("你好，你是谁？", true), |_, r| {
            minimax_pro_mock(r)
        });
    assert_eq!(sent.3["stream"], true);
    assert_eq!((status, content_type.as_str()), (200, "text/event-stream"));
    // Pro's events name no id before the last one.
    let texts: Vec<String> = "你好，你是谁？".chars().map(String::from).collect();
    assert_eq!(got, openai_stream("", "abab6.5s-chat", &texts));
    // Go's expected stream is this reply with Go's bugs: its last event lost (the last
    // character with it), whole `chat.completion` objects with `message` and an empty
    // `finish_reason`, no finish, no usage, no `[DONE]`.
    let go = data_events(MINIMAX_PRO_STREAM);
    assert_eq!(streamed_text(MINIMAX_PRO_STREAM) + "？", streamed_text(&got));
    assert!(go.iter().all(|e| e["object"] == "chat.completion" && e["choices"][0]["finish_reason"] == ""));
    assert!(!MINIMAX_PRO_STREAM.contains("[DONE]") && got.ends_with("data: [DONE]\n\n"));
}

#[test]
fn dify_case_1_completion_app_non_streaming() {
    let vm = vm(config());
    let (sent, (status, content_type, got)) = exchange(&vm, "api.dify.ai", &go_request("你好", false), dify_mock);
    let (host, path, key, body) = sent;
    assert_eq!(
        (host.as_str(), path.as_str(), key.as_str()),
        ("api.dify.ai", "/v1/completion-messages", "Bearer fake_token")
    );
    assert_eq!(body, json!({"inputs": {"query": "USER: \n你好\n"}, "response_mode": "blocking", "user": "api-user"}));
    assert_eq!((status, content_type.as_str()), (200, "application/json"));
    let (got, expected): (Value, Value) = (serde_json::from_str(&got).unwrap(), serde_json::from_str(DIFY).unwrap());
    assert_eq!(got, expected, "exactly Go's");
}

#[test]
fn dify_case_2_completion_app_streaming() {
    let vm = vm(config());
    let (sent, (status, content_type, got)) = exchange(&vm, "api.dify.ai", &go_request("你好", true), dify_mock);
    assert_eq!(sent.3["response_mode"], "streaming");
    assert_eq!((status, content_type.as_str()), (200, "text/event-stream"));
    let texts: Vec<String> = "USER: \n你好\n".chars().map(String::from).collect();
    assert_eq!(got, openai_stream("chatcmpl-llm-mock", "dify", &texts));
    // Go's expected stream is this reply with Go's bugs: the mock's `message_end` repeats the
    // whole answer, which Go streams again with the finish; no `[DONE]`.
    assert_eq!(streamed_text(DIFY_STREAM), streamed_text(&got).repeat(2));
    let go = data_events(DIFY_STREAM);
    assert_eq!(go.last().unwrap()["usage"], json!({"prompt_tokens": 9, "completion_tokens": 1, "total_tokens": 10}));
    assert!(!DIFY_STREAM.contains("[DONE]") && got.ends_with("data: [DONE]\n\n"));
}
