//! MiniMax's Pro API and Dify apps on the compiled module, beyond Higress's conformance
//! cases (`conformance.rs`): Dify's conversations, workflows, self-hosted URLs and agents'
//! streams; Anthropic clients; MiniMax's errors under HTTP 200; the context file in both
//! protocols.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::*;
use higress_host::testing::request;
use higress_host::{HttpResponse, Vm};
use serde_json::{json, Value};

fn dify(extra: Value) -> Vm {
    let mut config = json!({"type": "dify", "apiTokens": ["app-key"], "modelMapping": {"*": "dify"}});
    for (key, value) in extra.as_object().unwrap() {
        config[key] = value.clone();
    }
    provider(config)
}

#[test]
fn a_dify_chat_continues_the_clients_conversation() {
    let vm = dify(json!({}));
    let body = chat_body("gpt-4o", false);
    let s = request("POST", "gw", "/v1/chat/completions")
        .header("content-type", "application/json")
        .header("ConversationId", "45701982-8118-4bc5-8e9b-64562b4555f2")
        .body(body.to_string())
        .send(&vm);
    let (headers, sent) = sent(&s);
    assert_eq!(headers.get(":authority"), Some("api.dify.ai"));
    assert_eq!(headers.get(":path"), Some("/v1/chat-messages"));
    assert_eq!(headers.get("authorization"), Some("Bearer app-key"));
    assert_eq!(
        sent,
        json!({"inputs": {}, "query": "USER: \n你好，你是谁？\n", "response_mode": "blocking", "user": "api-user",
            "auto_generate_name": false, "conversation_id": "45701982-8118-4bc5-8e9b-64562b4555f2"})
    );
    let reply = json!({"event": "message", "message_id": "m-1", "conversation_id": "45701982-8118-4bc5-8e9b-64562b4555f2",
        "mode": "chat", "answer": "我是 Dify。", "metadata": {"usage": {"prompt_tokens": 5, "completion_tokens": 4,
        "total_tokens": 9}}, "created_at": 1705407629});
    answer(&s, 200, "application/json", &[reply.to_string().as_bytes()]);
    let (status, _, got) = received(&s);
    let got: Value = serde_json::from_str(&got).unwrap();
    assert_eq!(status, 200);
    assert_eq!(got["id"], "45701982-8118-4bc5-8e9b-64562b4555f2", "the conversation to continue, as Go");
    assert_eq!(got["model"], "dify");
    assert_eq!(got["choices"][0]["message"]["content"], "我是 Dify。");
    assert_eq!(got["usage"]["total_tokens"], 9);
}

#[test]
fn a_self_hosted_workflow_answers_its_output_variable() {
    let vm = dify(json!({"botType": "Workflow", "inputVariable": "question", "outputVariable": "answer",
        "difyApiUrl": "https://dify.example.com/api/v1"}));
    let s = post(&vm, "gw", "/v1/chat/completions", &chat_body("gpt-4o", false));
    let (headers, sent) = sent(&s);
    assert_eq!(headers.get(":authority"), Some("dify.example.com"));
    assert_eq!(headers.get(":path"), Some("/api/v1/workflows/run"));
    assert_eq!(
        sent,
        json!({"inputs": {"question": "USER: \n你好，你是谁？\n"}, "response_mode": "blocking", "user": "api-user"})
    );
    let run = json!({"workflow_run_id": "run-1", "task_id": "t", "data": {"id": "run-1", "workflow_id": "wf",
        "status": "succeeded", "outputs": {"answer": "A workflow."}, "total_tokens": 12, "created_at": 1}});
    answer(&s, 200, "application/json", &pieces(run.to_string().as_bytes(), 7));
    let got: Value = serde_json::from_str(&received(&s).2).unwrap();
    assert_eq!(
        (got["id"].clone(), got["choices"][0]["message"]["content"].clone()),
        (json!("run-1"), json!("A workflow."))
    );
    assert_eq!(got["usage"]["total_tokens"], 12);
}

#[test]
fn an_agent_streams_to_an_anthropic_client() {
    let vm = dify(json!({"botType": "Agent"}));
    let s = post(&vm, "gw", "/v1/messages", &messages_body("claude-sonnet-4-5", true));
    let (headers, sent) = sent(&s);
    assert_eq!(headers.get(":path"), Some("/v1/chat-messages"));
    assert_eq!(
        (sent["query"].clone(), sent["response_mode"].clone()),
        (json!("SYSTEM: \nBe brief.\nUSER: \nHello\n"), json!("streaming"))
    );
    let stream = [
        r#"{"event":"agent_thought","id":"t1","message_id":"m","conversation_id":"c","position":1,"thought":"Greet.","tool":""}"#,
        r#"{"event":"agent_message","message_id":"m","conversation_id":"c","answer":"Hi"}"#,
        r#"{"event":"agent_message","message_id":"m","conversation_id":"c","answer":" there."}"#,
        r#"{"event":"message_end","message_id":"m","conversation_id":"c","metadata":{"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}}"#,
    ]
    .map(|data| format!("data: {data}\n\n"))
    .concat();
    answer(&s, 200, "text/event-stream", &pieces(stream.as_bytes(), 11));
    let (status, _, got) = received(&s);
    assert_eq!(status, 200);
    assert_eq!(
        event_names(&got),
        [
            "message_start",
            "content_block_start",
            "content_block_delta",
            "content_block_delta",
            "content_block_stop",
            "message_delta",
            "message_stop"
        ]
    );
    let text: String =
        data_events(&got).iter().filter_map(|e| e["delta"]["text"].as_str().map(str::to_string)).collect();
    assert_eq!(text, "Hi there.");
}

#[test]
fn minimax_pro_errors_under_200_reach_the_client_as_errors() {
    let vm = provider(
        json!({"type": "minimax", "apiTokens": ["mm-key"], "minimaxApiType": "pro", "minimaxGroupId": "1234"}),
    );
    let s = post(&vm, "gw", "/v1/chat/completions", &chat_body("abab6.5s-chat", false));
    assert_eq!(sent(&s).0.get(":path"), Some("/v1/text/chatcompletion_pro?GroupId=1234"));
    answer(&s, 200, "application/json", &[br#"{"base_resp":{"status_code":1004,"status_msg":"login fail"}}"#]);
    let got: Value = serde_json::from_str(&received(&s).2).unwrap();
    assert!(got["error"]["message"].as_str().unwrap().contains("1004: login fail"), "{got}");

    let s = post(&vm, "gw", "/v1/chat/completions", &chat_body("abab6.5s-chat", true));
    let stream = concat!(
        r#"data: {"created":1,"model":"abab6.5s-chat","reply":"","choices":[{"messages":[{"sender_type":"BOT","text":"I"}]}]}"#,
        "\n\n",
        r#"data: {"base_resp":{"status_code":1002,"status_msg":"rate limited"}}"#,
        "\n\n"
    );
    answer(&s, 200, "text/event-stream", &[stream.as_bytes()]);
    let got = received(&s).2;
    let events = data_events(&got);
    assert_eq!(events.iter().filter_map(|e| e["choices"][0]["delta"]["content"].as_str()).collect::<String>(), "I");
    assert!(events.iter().any(|e| e["error"]["message"] == "rate limited"), "{got}");
    assert_eq!(events.last().unwrap(), "[DONE]");
}

#[test]
fn an_anthropic_client_reaches_minimax_pro() {
    let vm =
        provider(json!({"type": "minimax", "apiTokens": ["mm-key"], "minimaxApiType": "pro", "minimaxGroupId": 7}));
    let s = post(&vm, "gw", "/v1/messages", &messages_body("abab6.5s-chat", false));
    let (_, sent) = sent(&s);
    assert_eq!(sent["bot_setting"], json!([{"bot_name": "MM智能助理", "content": "Be brief."}]));
    assert_eq!(sent["tokens_to_generate"], 64);
    let reply = json!({"created": 1, "model": "abab6.5s-chat", "reply": "Hello!", "id": "r1",
        "choices": [{"finish_reason": "stop", "messages": [{"sender_type": "BOT", "sender_name": "MM智能助理", "text": "Hello!"}]}],
        "usage": {"total_tokens": 20}, "base_resp": {"status_code": 0, "status_msg": ""}});
    answer(&s, 200, "application/json", &[reply.to_string().as_bytes()]);
    let got: Value = serde_json::from_str(&received(&s).2).unwrap();
    assert_eq!((got["type"].clone(), got["content"][0]["text"].clone()), (json!("message"), json!("Hello!")));
    assert_eq!(got["stop_reason"], "end_turn");
}

#[test]
fn the_context_file_goes_into_the_persona_and_the_query() {
    let context = json!({"fileUrl": "http://files.local/ctx.txt", "serviceName": "files.static", "servicePort": 80});
    for (config, check) in [
        (
            json!({"type": "minimax", "apiTokens": ["k"], "minimaxApiType": "pro", "minimaxGroupId": 1, "context": context}),
            Box::new(|sent: &Value| {
                assert_eq!(sent["bot_setting"], json!([{"bot_name": "MM智能助理", "content": "Known facts."}]));
            }) as Box<dyn Fn(&Value)>,
        ),
        (
            json!({"type": "dify", "apiTokens": ["k"], "botType": "Completion", "context": context}),
            Box::new(|sent: &Value| {
                assert_eq!(sent["inputs"]["query"], "SYSTEM: \nKnown facts.\nUSER: \n你好，你是谁？\n")
            }),
        ),
    ] {
        let vm = provider(config);
        let s = post(&vm, "gw", "/v1/chat/completions", &chat_body("m", false));
        let call = vm.take_new_http_calls().remove(0);
        vm.respond_http_call(call.token, HttpResponse::new(200, &[], "Known facts.")).unwrap();
        check(&sent(&s).1);
    }
}
