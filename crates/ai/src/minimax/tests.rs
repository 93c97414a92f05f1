use super::*;
use crate::chat::{Event, FinishReason, ImageSource, Message, Part, Request, Role, Tool, ToolChoice};
use serde_json::json;

fn text(role: Role, text: &str) -> Message {
    Message { role, parts: vec![Part::Text { text: text.into(), cache: None }], name: None }
}

#[test]
fn a_request_without_system_instructions_gets_gos_persona() {
    let request = Request {
        model: "abab6.5s-chat".into(),
        messages: vec![text(Role::User, "你好，你是谁？")],
        ..Request::default()
    };
    assert_eq!(
        write_request(&request).unwrap(),
        json!({
            "model": "abab6.5s-chat",
            "mask_sensitive_info": true,
            "messages": [{"sender_type": "USER", "sender_name": "小明", "text": "你好，你是谁？"}],
            "bot_setting": [{"bot_name": "MM智能助理", "content": DEFAULT_BOT_SETTING}],
            "reply_constraints": {"sender_type": "BOT", "sender_name": "MM智能助理"},
        })
    );
}

#[test]
fn tools_calls_and_results_are_carried() {
    let mut request = Request {
        model: "m".into(),
        system: vec![Part::Text { text: "A".into(), cache: None }, Part::Text { text: "B".into(), cache: None }],
        messages: vec![
            text(Role::User, "Weather in Paris and Rome?"),
            Message {
                role: Role::Assistant,
                parts: vec![
                    Part::ToolCall { id: "x1".into(), name: "weather".into(), arguments: r#"{"city":"Paris"}"#.into() },
                    Part::ToolCall { id: "x2".into(), name: "weather".into(), arguments: r#"{"city":"Rome"}"#.into() },
                ],
                name: None,
            },
            Message {
                role: Role::User,
                parts: vec![
                    Part::ToolResult {
                        call_id: "x1".into(),
                        content: vec![Part::Text { text: "sunny".into(), cache: None }],
                        is_error: false,
                    },
                    Part::ToolResult {
                        call_id: "x2".into(),
                        content: vec![Part::Text { text: "rain".into(), cache: None }],
                        is_error: false,
                    },
                ],
                name: None,
            },
        ],
        tools: vec![
            Tool {
                name: "weather".into(),
                description: Some("W".into()),
                parameters: json!({"type": "object"}),
                cache: None,
            },
            Tool { name: "time".into(), description: None, parameters: json!({}), cache: None },
        ],
        stream: true,
        ..Request::default()
    };
    request.params.max_tokens = Some(100);
    request.params.temperature = Some(json!(0));
    request.params.top_p = Some(json!(0.5));
    let body = write_request(&request).unwrap();
    assert_eq!(body["bot_setting"], json!([{"bot_name": "MM智能助理", "content": "A\nB"}]), "every system part");
    assert_eq!((body["stream"].clone(), body["tokens_to_generate"].clone()), (json!(true), json!(100)));
    assert!(body.get("temperature").is_none(), "MiniMax takes (0, 1]");
    assert_eq!(body["top_p"], json!(0.5));
    assert_eq!(
        body["messages"],
        json!([
            {"sender_type": "USER", "sender_name": "小明", "text": "Weather in Paris and Rome?"},
            {"sender_type": "BOT", "sender_name": "MM智能助理", "text": "",
                "function_call": {"name": "weather", "arguments": "{\"city\":\"Paris\"}"}},
            {"sender_type": "BOT", "sender_name": "MM智能助理", "text": "",
                "function_call": {"name": "weather", "arguments": "{\"city\":\"Rome\"}"}},
            {"sender_type": "FUNCTION", "sender_name": "weather", "text": "sunny"},
            {"sender_type": "FUNCTION", "sender_name": "weather", "text": "rain"},
        ])
    );
    assert_eq!(body["functions"].as_array().unwrap().len(), 2);
    request.tool_choice = Some(ToolChoice::Tool("time".into()));
    assert_eq!(write_request(&request).unwrap()["functions"], json!([{"name": "time", "parameters": {}}]));
    request.tool_choice = Some(ToolChoice::None);
    assert!(write_request(&request).unwrap().get("functions").is_none());

    let read = read_request(&body).unwrap();
    assert_eq!(read.messages.len(), 5);
    assert!(matches!(&read.messages[4].parts[0], Part::ToolResult { call_id, .. } if call_id == "call_1"));
}

#[test]
fn images_are_refused() {
    let mut message = text(Role::User, "What is this?");
    message.parts.push(Part::Image { source: ImageSource::Url("https://x/a.png".into()), cache: None });
    let request = Request { messages: vec![message], ..Request::default() };
    assert_eq!(write_request(&request).unwrap_err().0, "messages[0]: MiniMax's ChatCompletion Pro takes no images");
}

#[test]
fn replies_errors_and_the_context() {
    let body = json!({"created": 1689747645, "model": "abab6.5s-chat", "reply": "Hi",
        "choices": [{"finish_reason": "stop", "messages": [{"sender_type": "BOT", "sender_name": "MM智能助理", "text": "Hi"}]}],
        "usage": {"total_tokens": 187}, "id": "0106b3bc", "base_resp": {"status_code": 0, "status_msg": ""}});
    let reply = read_reply(&body).unwrap();
    assert_eq!((reply.id.as_str(), reply.joined().0.as_str(), reply.usage.total), ("0106b3bc", "Hi", Some(187)));
    assert_eq!(reply.finish, Some(FinishReason::Stop));
    let called = json!({"choices": [{"finish_reason": "stop", "messages": [{"sender_type": "BOT", "text": "",
        "function_call": {"name": "weather", "arguments": "{}"}}]}], "base_resp": {"status_code": 0}});
    let reply = read_reply(&called).unwrap();
    assert_eq!(reply.finish, Some(FinishReason::ToolCalls));
    assert_eq!(
        reply.parts,
        vec![Part::ToolCall { id: "call_0".into(), name: "weather".into(), arguments: "{}".into() }]
    );

    let error = json!({"base_resp": {"status_code": 1004, "status_msg": "login fail"}});
    assert_eq!(read_reply(&error).unwrap_err().0, "1004: login fail");
    assert_eq!(write_error("1004", "login fail"), error);
    assert_eq!(write_error("rate_limit_error", "slow")["base_resp"]["status_code"], 1002);

    let mut request = write_request(&Request { messages: vec![text(Role::User, "q")], ..Request::default() }).unwrap();
    insert_context(&mut request, "CTX");
    assert_eq!(request["bot_setting"], json!([{"bot_name": "MM智能助理", "content": "CTX"}]), "Go's: the default goes");
    let system = Request { system: vec![Part::Text { text: "S".into(), cache: None }], ..Request::default() };
    let mut request = write_request(&system).unwrap();
    insert_context(&mut request, "CTX");
    assert_eq!(request["bot_setting"][0]["content"], "CTX");
    assert_eq!(request["bot_setting"][1]["content"], "S");
    assert_eq!(pro_path("1"), "/v1/text/chatcompletion_pro?GroupId=1");
}

#[test]
fn the_last_event_adds_only_what_was_not_streamed() {
    let mut decoder = StreamDecoder::new();
    let mut events = Vec::new();
    for data in [
        r#"{"created":1,"model":"abab6.5s-chat","reply":"","choices":[{"messages":[{"sender_type":"BOT","text":"I am"}]}]}"#,
        r#"{"created":1,"model":"abab6.5s-chat","reply":"","choices":[{"messages":[{"sender_type":"BOT","text":" here"}]}]}"#,
        r#"{"created":1,"model":"abab6.5s-chat","reply":"I am here.","choices":[{"finish_reason":"stop","messages":[{"sender_type":"BOT","text":"I am here."}]}],"usage":{"total_tokens":9},"id":"r1","base_resp":{"status_code":0,"status_msg":""}}"#,
    ] {
        decoder.decode_into(Some(data.as_bytes()), &mut events).unwrap();
    }
    assert_eq!(events[0], Event::Start { id: "".into(), model: "abab6.5s-chat".into() });
    assert_eq!(events[1..4], [Event::Text("I am".into()), Event::Text(" here".into()), Event::Text(".".into())]);
    assert_eq!(events[4], Event::Finish(FinishReason::Stop));
    assert!(matches!(events[5], Event::Usage(u) if u.total == Some(9)));
    let mut error = Vec::new();
    decoder
        .decode_into(Some(br#"{"base_resp":{"status_code":1002,"status_msg":"rate limited"}}"#), &mut error)
        .unwrap();
    assert_eq!(error, [Event::Error { kind: "1002".into(), message: "rate limited".into() }]);
}
