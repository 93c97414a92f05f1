use super::*;
use crate::chat::{Event, FinishReason, ImageSource, Message, Request, Role};
use serde_json::json;

fn text(role: Role, text: &str) -> Message {
    Message { role, parts: vec![Part::Text { text: text.into(), cache: None }], name: None }
}

fn conversation() -> Request {
    Request {
        model: "dify".into(),
        system: vec![Part::Text { text: "Be brief.".into(), cache: None }],
        messages: vec![text(Role::User, "Hi"), text(Role::Assistant, "Hello!"), text(Role::User, "Who are you?")],
        ..Request::default()
    }
}

#[test]
fn the_conversation_is_flattened_as_go_flattens_it() {
    assert_eq!(query(&conversation()), "SYSTEM: \nBe brief.\nUSER: \nHi\nASSISTANT: \nHello!\nUSER: \nWho are you?\n");
    let request = Request { messages: vec![text(Role::User, "你好")], ..Request::default() };
    assert_eq!(query(&request), "USER: \n你好\n", "Higress's conformance case");
}

#[test]
fn each_kind_of_app_gets_its_own_request() {
    let mut request = conversation();
    let chat = write_request(&App::CHAT, &request).unwrap();
    assert_eq!(
        chat,
        json!({"inputs": {}, "query": query(&request), "response_mode": "blocking", "user": "api-user",
            "auto_generate_name": false, "conversation_id": ""})
    );
    request.stream = true;
    request.params.user = Some("u-1".into());
    let completion = write_request(&App::new(Kind::Completion, "", ""), &request).unwrap();
    assert_eq!(completion, json!({"inputs": {"query": query(&request)}, "response_mode": "streaming", "user": "u-1"}));
    let workflow = write_request(&App::new(Kind::Workflow, "question", "answer"), &request).unwrap();
    assert_eq!(workflow["inputs"], json!({"question": query(&request)}));
    assert_eq!(Kind::Agent.path(), CHAT_PATH);
    assert_eq!(Kind::Workflow.path(), WORKFLOW_PATH);
    assert_eq!(Kind::named("Completion"), Some(Kind::Completion));
    assert_eq!(Kind::named("chat"), None, "names are Go's, exactly");
}

#[test]
fn images_by_url_are_files_and_inline_ones_are_refused() {
    let mut request = conversation();
    request.messages[2].parts.push(Part::Image { source: ImageSource::Url("https://x/cat.png".into()), cache: None });
    let body = write_request(&App::CHAT, &request).unwrap();
    assert_eq!(body["files"], json!([{"type": "image", "transfer_method": "remote_url", "url": "https://x/cat.png"}]));
    request.messages[2]
        .parts
        .push(Part::Image { source: ImageSource::from_url("data:image/png;base64,AAAA"), cache: None });
    let error = write_request(&App::CHAT, &request).unwrap_err();
    assert!(error.0.starts_with("messages[2]: Dify takes images by URL only"), "{error}");
}

#[test]
fn names_are_interned_once() {
    let (a, b) = (App::new(Kind::Workflow, "in", "out"), App::new(Kind::Workflow, &String::from("in"), "out"));
    assert_eq!(a, b);
    assert!(std::ptr::eq(a.input(), b.input()), "one copy of each name");
    assert_eq!(App::new(Kind::Completion, "", "").input(), "query");
}

#[test]
fn the_conversation_and_the_context_go_into_the_written_request() {
    let request = Request { messages: vec![text(Role::User, "Hi")], ..Request::default() };
    let mut chat = write_request(&App::CHAT, &request).unwrap();
    set_conversation(&mut chat, "c-1");
    insert_context(&mut chat, "Facts.");
    assert_eq!(chat["conversation_id"], "c-1");
    assert_eq!(chat["query"], "SYSTEM: \nFacts.\nUSER: \nHi\n");
    let mut workflow = write_request(&App::new(Kind::Workflow, "q", "a"), &request).unwrap();
    set_conversation(&mut workflow, "c-1");
    insert_context(&mut workflow, "Facts.");
    assert!(workflow.get("conversation_id").is_none(), "workflows keep no conversation");
    assert_eq!(workflow["inputs"]["q"], "SYSTEM: \nFacts.\nUSER: \nHi\n");
}

#[test]
fn replies_are_read_by_kind() {
    let chat = json!({"event": "message", "message_id": "m-1", "conversation_id": "c-1", "mode": "chat",
        "answer": "Hello", "metadata": {"usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5,
        "total_price": "0.1"}}, "created_at": 1705407629});
    let reply = read_reply(&App::CHAT, &chat).unwrap();
    assert_eq!((reply.id.as_str(), reply.created, reply.finish), ("c-1", Some(1705407629), Some(FinishReason::Stop)));
    assert_eq!((reply.usage.input, reply.usage.output, reply.usage.total), (Some(3), Some(2), Some(5)));
    let completion = read_reply(&App::new(Kind::Completion, "", ""), &chat).unwrap();
    assert_eq!(completion.id, "m-1", "a Completion app's reply is its message");

    let app = App::new(Kind::Workflow, "q", "answer");
    let run = json!({"workflow_run_id": "r-1", "task_id": "t", "data": {"id": "r-1", "workflow_id": "w",
        "status": "succeeded", "outputs": {"answer": "42", "other": 1}, "total_tokens": 9, "created_at": 7}});
    let reply = read_reply(&app, &run).unwrap();
    assert_eq!((reply.id.as_str(), reply.joined().0.as_str(), reply.usage.total), ("r-1", "42", Some(9)));
    let object = json!({"workflow_run_id": "r", "data": {"status": "succeeded", "outputs": {"answer": {"a": [1]}}}});
    assert_eq!(read_reply(&app, &object).unwrap().joined().0, r#"{"a":[1]}"#, "JSON text, not a JSON value");
    let only = json!({"workflow_run_id": "r", "data": {"status": "succeeded", "outputs": {"text": "t"}}});
    assert_eq!(read_reply(&App::new(Kind::Workflow, "q", ""), &only).unwrap().joined().0, "t");
    let failed =
        json!({"workflow_run_id": "r", "data": {"status": "failed", "error": "node 2 timed out", "outputs": null}});
    assert_eq!(read_reply(&app, &failed).unwrap_err().0, "workflow run failed: node 2 timed out");
}

#[test]
fn errors_both_ways() {
    let error = json!({"status": 400, "code": "invalid_param", "message": "query is required"});
    assert_eq!(read_error(&error), Some(("invalid_param".into(), "query is required".into())));
    assert_eq!(read_reply(&App::CHAT, &error).unwrap_err().0, "invalid_param: query is required");
    assert_eq!(read_error(&json!({"answer": "a", "code": "x"})), None);
    assert_eq!(
        write_error("rate_limit_error", "slow down"),
        json!({"status": 429, "code": "too_many_requests", "message": "slow down"})
    );
    assert_eq!(code_for_status(401), "unauthorized");
}

#[test]
fn a_message_end_that_repeats_the_answer_adds_nothing() {
    let mut decoder = StreamDecoder::new(App::CHAT).with_model("dify");
    let mut events = Vec::new();
    for data in [
        r#"{"event":"message","conversation_id":"c","message_id":"m","answer":"Hel"}"#,
        r#"{"event":"message","conversation_id":"c","message_id":"m","answer":"lo"}"#,
        r#"{"event":"message_end","conversation_id":"c","message_id":"m","answer":"Hello","metadata":{"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}}"#,
    ] {
        decoder.decode_into(Some(data.as_bytes()), &mut events).unwrap();
    }
    assert_eq!(events[0], Event::Start { id: "c".into(), model: "dify".into() });
    assert_eq!(events[1..3], [Event::Text("Hel".into()), Event::Text("lo".into())]);
    assert!(matches!(events[3], Event::Usage(_)));
    assert_eq!(events[4], Event::Finish(FinishReason::Stop));
    assert_eq!(events.len(), 5);
}
