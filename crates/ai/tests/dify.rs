//! Dify's app APIs as a provider for OpenAI and Anthropic clients, and as a client's
//! protocol: requests by app kind, blocking replies, streams of Chat, Agent and Workflow apps
//! (split at any byte), errors.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::*;
use higress_ai::chat::{Event, FinishReason};
use higress_ai::dify::{self, App, Kind};
use higress_ai::translate::{self, Protocol};
use proptest::prelude::*;
use serde_json::{json, Value};

fn fixture_json(path: &str) -> Value {
    serde_json::from_slice(&fixture(path)).unwrap()
}

fn workflow() -> Protocol {
    Protocol::Dify(App::new(Kind::Workflow, "question", "answer"))
}

#[test]
fn an_openai_request_becomes_each_kind_of_app_request() {
    let body = json!({"model": "dify", "stream": true, "user": "u-7", "temperature": 0.1,
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello"},
            {"role": "user", "content": [{"type": "text", "text": "What is this?"},
                {"type": "image_url", "image_url": {"url": "https://x.com/cat.png"}}]}],
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}]});
    let text = "SYSTEM: \nBe brief.\nUSER: \nHi\nASSISTANT: \nHello\nUSER: \nWhat is this?\n";
    let files = json!([{"type": "image", "transfer_method": "remote_url", "url": "https://x.com/cat.png"}]);
    let chat = translate::request(Protocol::OpenAi, Protocol::Dify(App::CHAT), &body).unwrap();
    assert_eq!(
        chat,
        json!({"inputs": {}, "query": text, "response_mode": "streaming", "user": "u-7",
            "auto_generate_name": false, "conversation_id": "", "files": files})
    );
    let agent = translate::request(Protocol::OpenAi, Protocol::Dify(App::new(Kind::Agent, "", "")), &body).unwrap();
    assert_eq!(agent, chat);
    let completion =
        translate::request(Protocol::OpenAi, Protocol::Dify(App::new(Kind::Completion, "prompt", "")), &body).unwrap();
    assert_eq!(
        completion,
        json!({"inputs": {"prompt": text}, "response_mode": "streaming", "user": "u-7", "files": files})
    );
    let run = translate::request(Protocol::OpenAi, workflow(), &body).unwrap();
    assert_eq!(run, json!({"inputs": {"question": text}, "response_mode": "streaming", "user": "u-7"}));
    // An Anthropic client's request too.
    let anthropic =
        json!({"model": "m", "max_tokens": 10, "system": "S", "messages": [{"role": "user", "content": "Hi"}]});
    let chat = translate::request(Protocol::Anthropic, Protocol::Dify(App::CHAT), &anthropic).unwrap();
    assert_eq!(chat["query"], "SYSTEM: \nS\nUSER: \nHi\n");
    assert_eq!(chat["response_mode"], "blocking");
}

#[test]
fn blocking_replies_reach_openai_and_anthropic_clients() {
    let openai =
        translate::reply(Protocol::Dify(App::CHAT), Protocol::OpenAi, &fixture_json("dify/chat_reply.json")).unwrap();
    assert_eq!(openai["id"], "45701982-8118-4bc5-8e9b-64562b4555f2", "the conversation, as Go");
    assert_eq!(openai["created"], 1705407629);
    assert_eq!(openai["choices"][0]["message"]["content"], "iPhone 13 Pro Max specs are listed here:...");
    assert_eq!(openai["choices"][0]["finish_reason"], "stop");
    assert_eq!(openai["usage"], json!({"prompt_tokens": 1033, "completion_tokens": 128, "total_tokens": 1161}));
    let completion = App::new(Kind::Completion, "", "");
    let openai =
        translate::reply(Protocol::Dify(completion), Protocol::OpenAi, &fixture_json("dify/chat_reply.json")).unwrap();
    assert_eq!(openai["id"], "9da23599-e713-473b-982c-4328d4f5c78a", "the message");

    let run = translate::reply(workflow(), Protocol::OpenAi, &fixture_json("dify/workflow_reply.json")).unwrap();
    assert_eq!(run["id"], "djflajgkldjgd", "the run, not the workflow");
    assert_eq!(run["choices"][0]["message"]["content"], "Nice to meet you.");
    assert_eq!(run["usage"]["total_tokens"], 3562);
    let sources = App::new(Kind::Workflow, "question", "sources");
    let run =
        translate::reply(Protocol::Dify(sources), Protocol::OpenAi, &fixture_json("dify/workflow_reply.json")).unwrap();
    assert_eq!(run["choices"][0]["message"]["content"], r#"["a","b"]"#);

    let claude =
        translate::reply(Protocol::Dify(App::CHAT), Protocol::Anthropic, &fixture_json("dify/chat_reply.json"))
            .unwrap();
    assert_eq!(claude["content"][0]["text"], "iPhone 13 Pro Max specs are listed here:...");
    assert_eq!(claude["usage"]["output_tokens"], 128);
}

#[test]
fn a_chat_stream_reaches_openai_and_anthropic_clients() {
    let out = translate_split(Protocol::Dify(App::CHAT), Protocol::OpenAi, &fixture("dify/chat_stream.sse"), &[]);
    let text = String::from_utf8(out.clone()).unwrap();
    assert!(text.ends_with("data: [DONE]\n\n"), "{text}");
    assert!(text.contains("\"id\":\"c216c595-2d89-438c-b33c-aae5ddddd142\""));
    let events = client_events(Protocol::OpenAi, &out);
    assert_eq!(text_of(&events), " I'm glad to meet you! 很高兴");
    assert_eq!(events.iter().filter(|e| matches!(e, Event::Finish(FinishReason::Stop))).count(), 1);
    assert!(events.iter().any(|e| matches!(e, Event::Usage(u) if u.total == Some(1168) && u.input == Some(1033))));
    let claude = translate_split(Protocol::Dify(App::CHAT), Protocol::Anthropic, &fixture("dify/chat_stream.sse"), &[]);
    assert_eq!(text_of(&client_events(Protocol::Anthropic, &claude)), " I'm glad to meet you! 很高兴");
}

#[test]
fn an_agent_streams_its_messages_not_its_thoughts() {
    let agent = Protocol::Dify(App::new(Kind::Agent, "", ""));
    let out = translate_split(agent, Protocol::OpenAi, &fixture("dify/agent_stream.sse"), &[]);
    let events = client_events(Protocol::OpenAi, &out);
    assert_eq!(text_of(&events), "Here is your cat.");
    assert!(events.iter().any(|e| matches!(e, Event::Usage(u) if u.total == Some(5))));
}

#[test]
fn a_workflow_streams_its_output_once_at_the_end() {
    let out = translate_split(workflow(), Protocol::OpenAi, &fixture("dify/workflow_stream.sse"), &[]);
    let events = client_events(Protocol::OpenAi, &out);
    assert_eq!(text_of(&events), "Paris is the capital.", "text chunks are not the output: not passed on");
    assert_eq!(events[0], Event::Start { id: "5ad498-f0c7-4085-b384-88cbe6290".into(), model: String::new() });
    // The same events in a Chat app (a chatflow) are its steps, not its answer.
    let chat = translate_split(Protocol::Dify(App::CHAT), Protocol::OpenAi, &fixture("dify/workflow_stream.sse"), &[]);
    assert_eq!(text_of(&client_events(Protocol::OpenAi, &chat)), "");
    let failed = br#"data: {"event":"workflow_finished","workflow_run_id":"r","data":{"status":"failed","error":"boom","outputs":null}}

"#;
    let events = client_events(Protocol::OpenAi, &translate_split(workflow(), Protocol::OpenAi, failed, &[]));
    assert!(events.iter().any(|e| matches!(e, Event::Error { message, .. } if message == "boom")));
}

#[test]
fn errors_reach_the_client() {
    let out = translate_split(Protocol::Dify(App::CHAT), Protocol::OpenAi, &fixture("dify/stream_error.sse"), &[]);
    let events = client_events(Protocol::OpenAi, &out);
    assert_eq!(text_of(&events), "Hel");
    assert!(
        events.iter().any(|e| matches!(e, Event::Error { kind, .. } if kind == "provider_quota_exceeded")),
        "{events:?} {}",
        String::from_utf8_lossy(&out)
    );
    let body = br#"{"status":400,"code":"invalid_param","message":"Required parameter missing"}"#;
    let error = translate::error(Protocol::Dify(App::CHAT), Protocol::Anthropic, 400, body);
    assert_eq!(
        error,
        json!({"type": "error", "error": {"type": "invalid_request_error", "message": "Required parameter missing"}})
    );
}

#[test]
fn every_dify_stream_split_at_every_byte_translates_the_same() {
    for (name, app) in [
        ("dify/chat_stream.sse", Protocol::Dify(App::CHAT)),
        ("dify/agent_stream.sse", Protocol::Dify(App::new(Kind::Agent, "", ""))),
        ("dify/workflow_stream.sse", workflow()),
        ("dify/stream_error.sse", Protocol::Dify(App::CHAT)),
    ] {
        let stream = fixture(name);
        let whole = translate_split(app, Protocol::OpenAi, &stream, &[]);
        for cut in 0..=stream.len() {
            assert_eq!(translate_split(app, Protocol::OpenAi, &stream, &[cut]), whole, "{name} cut at {cut}");
        }
    }
}

#[test]
fn a_dify_client_gets_dify_replies_and_streams() {
    for app in [App::CHAT, App::new(Kind::Workflow, "q", "answer")] {
        let reply =
            translate::reply(Protocol::OpenAi, Protocol::Dify(app), &fixture_json("openai/reply_text.json")).unwrap();
        let original =
            translate::reply(Protocol::OpenAi, Protocol::OpenAi, &fixture_json("openai/reply_text.json")).unwrap();
        let back = dify::read_reply(&app, &reply).unwrap();
        assert_eq!(Some(back.joined().0.as_str()), original["choices"][0]["message"]["content"].as_str(), "{app:?}");

        let openai = fixture("openai/stream.sse");
        let out = translate_split(Protocol::OpenAi, Protocol::Dify(app), &openai, &[]);
        let events = client_events(Protocol::Dify(app), &out);
        let expected =
            client_events(Protocol::OpenAi, &translate_split(Protocol::OpenAi, Protocol::OpenAi, &openai, &[]));
        assert_eq!(text_of(&events), text_of(&expected), "{app:?}");
    }
    let request =
        dify::read_request(&json!({"inputs": {}, "query": "Hi", "response_mode": "streaming", "user": "u"})).unwrap();
    let openai = translate::Protocol::OpenAi.write_request(&request).unwrap();
    assert_eq!(openai["messages"], json!([{"role": "user", "content": "Hi"}]));
    assert_eq!((openai["stream"].clone(), openai["user"].clone()), (json!(true), json!("u")));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
    #[test]
    fn any_bytes_from_dify_are_translated_without_a_trap(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        for app in [App::CHAT, App::new(Kind::Workflow, "q", "a")] {
            prop_assert!(translate_split(Protocol::Dify(app), Protocol::OpenAi, &bytes, &[]).ends_with(b"data: [DONE]\n\n"));
            let _ = translate_split(Protocol::Dify(app), Protocol::Anthropic, &bytes, &[]);
            let _ = translate_split(Protocol::OpenAi, Protocol::Dify(app), &bytes, &[]);
        }
    }

    #[test]
    fn events_of_the_usual_shape_with_any_values_never_trap(
        event in prop_oneof![Just(json!("message")), Just(json!("message_end")), Just(json!("workflow_finished")), Just(json!("error")), Just(json!(1))],
        answer in prop_oneof![Just(json!("x")), Just(json!(2)), Just(json!(null))],
        data in prop_oneof![Just(json!({"outputs": {"a": 1}, "status": "succeeded"})), Just(json!({"outputs": "o"})), Just(json!("d")), Just(json!(null))],
        metadata in prop_oneof![Just(json!({"usage": {"prompt_tokens": 1}})), Just(json!({"usage": "u"})), Just(json!(3))],
    ) {
        let chunk = json!({"event": event, "answer": answer, "data": data, "metadata": metadata, "conversation_id": "c"});
        let stream = format!("data: {chunk}\n\n");
        for app in [App::CHAT, App::new(Kind::Workflow, "q", "a"), App::new(Kind::Workflow, "q", "")] {
            for to in [Protocol::OpenAi, Protocol::Anthropic, Protocol::Dify(app)] {
                prop_assert!(!translate_split(Protocol::Dify(app), to, stream.as_bytes(), &[]).is_empty());
            }
            let _ = dify::read_reply(&app, &chunk);
        }
        let _ = dify::read_request(&chunk);
        let _ = dify::read_error(&chunk);
    }
}
