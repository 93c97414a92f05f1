//! Amazon Bedrock (`type: bedrock`) on the compiled module: chat sent to the mapped model's
//! Converse API, signed with SigV4 (a session token signed too) or with an API key, the reply
//! translated back, and the binary event stream turned into server-sent events whatever its
//! cuts.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::*;
use higress_ai::bedrock::eventstream;
use higress_ai::bedrock::sigv4::{self, Credentials, Request};
use higress_host::Vm;
use serde_json::{json, Value};

const MODEL: &str = "anthropic.claude-3-5-sonnet-20240620-v1:0";

fn signed(session: Option<&str>) -> Vm {
    let mut config = json!({"type": "bedrock", "awsRegion": "us-east-1", "awsAccessKey": "AKIDE2EEXAMPLE",
        "awsSecretKey": "e2e/bedrock/secret/key/EXAMPLE", "modelMapping": {"*": MODEL},
        "bedrockAdditionalFields": {"top_k": 40}});
    if let Some(token) = session {
        config["awsSessionToken"] = json!(token);
    }
    provider(config)
}

fn fixture(path: &str) -> Vec<u8> {
    let path = format!("{}/../../crates/ai/tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The event-stream bytes of the fixture's events.
fn event_stream() -> Vec<u8> {
    let events: Vec<Value> = serde_json::from_slice(&fixture("bedrock/stream_tools.json")).unwrap();
    let mut out = Vec::new();
    for event in events {
        let payload = event["payload"].to_string();
        eventstream::write_event(event["event"].as_str().unwrap(), payload.as_bytes(), &mut out);
    }
    out
}

#[test]
fn chat_goes_to_converse_signed_with_sigv4() {
    let vm = signed(None);
    let s = post(&vm, "gw", "/v1/chat/completions", &chat_body("gpt-4o", false));
    let (headers, sent) = sent(&s);
    assert_eq!(headers.get(":authority"), Some("bedrock-runtime.us-east-1.amazonaws.com"));
    assert_eq!(headers.get(":path"), Some("/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse"));
    assert!(sent.get("model").is_none() && sent.get("stream").is_none(), "the model is in the path: {sent}");
    assert_eq!(sent["messages"][0], json!({"role": "user", "content": [{"text": "你好，你是谁？"}]}));
    assert_eq!(sent["additionalModelRequestFields"]["top_k"], 40, "bedrockAdditionalFields");
    assert!(!headers.contains("x-api-key") && !headers.contains("x-amz-security-token"));

    // The signature: what the signer computes over the body as it left.
    let body = &s.upstream().body;
    let date = sigv4::amz_date(NOW);
    assert_eq!(headers.get("x-amz-date"), Some(date.as_str()));
    let request = Request {
        method: "POST",
        host: "bedrock-runtime.us-east-1.amazonaws.com",
        path: "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse",
        query: "",
        headers: &[],
        payload_sha256: &sigv4::payload_hash(body),
    };
    let keys =
        Credentials { access_key: "AKIDE2EEXAMPLE", secret_key: "e2e/bedrock/secret/key/EXAMPLE", session_token: None };
    let expected = sigv4::sign(&request, &keys, "us-east-1", "bedrock", NOW);
    assert_eq!(headers.get("authorization"), Some(expected.authorization.as_str()));
    assert!(expected.authorization.starts_with(&format!(
        "AWS4-HMAC-SHA256 Credential=AKIDE2EEXAMPLE/{}/us-east-1/bedrock/aws4_request, SignedHeaders=host;x-amz-date, Signature=",
        &date[..8]
    )));
    assert!(
        expected.canonical_request.contains("/model/anthropic.claude-3-5-sonnet-20240620-v1%253A0/converse"),
        "AWS encodes the path's segments again: {}",
        expected.canonical_request
    );
}

#[test]
fn temporary_credentials_send_and_sign_the_session_token() {
    let vm = signed(Some("e2e-session-token"));
    let s = post(&vm, "gw", "/v1/chat/completions", &chat_body("gpt-4o", true));
    let (headers, _) = sent(&s);
    assert_eq!(headers.get(":path"), Some("/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse-stream"));
    assert_eq!(headers.get("x-amz-security-token"), Some("e2e-session-token"));
    let authorization = headers.get("authorization").unwrap();
    assert!(authorization.contains("SignedHeaders=host;x-amz-date;x-amz-security-token,"), "{authorization}");
}

#[test]
fn api_keys_go_as_bearer_without_a_signature() {
    let vm = provider(json!({"type": "bedrock", "awsRegion": "eu-west-1", "apiTokens": ["ABSK-key"]}));
    let s = post(&vm, "gw", "/v1/chat/completions", &chat_body("amazon.nova-pro-v1:0", false));
    let (headers, _) = sent(&s);
    assert_eq!(headers.get("authorization"), Some("Bearer ABSK-key"));
    assert_eq!(headers.get(":authority"), Some("bedrock-runtime.eu-west-1.amazonaws.com"));
    assert!(!headers.contains("x-amz-date"));
}

#[test]
fn a_converse_reply_comes_back_as_a_chat_completion() {
    let vm = signed(None);
    let s = post(&vm, "gw", "/v1/chat/completions", &chat_body("gpt-4o", false));
    let reply = fixture("bedrock/reply_tools.json");
    let headers = [(":status", "200"), ("content-type", "application/json"), ("x-amzn-requestid", "req-abc")];
    s.send_response_headers(headers, false).unwrap();
    s.send_response_body(&reply, true).unwrap();
    let (status, _, body) = received(&s);
    assert_eq!(status, 200);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["id"], "req-abc", "Bedrock names its reply in x-amzn-requestid");
    assert_eq!(body["model"], MODEL);
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(body["choices"][0]["finish_reason"], "tool_calls");
    assert!(body["choices"][0]["message"]["tool_calls"][0]["function"]["name"].is_string());
}

#[test]
fn the_event_stream_becomes_server_sent_events_whatever_its_cuts() {
    let stream = event_stream();
    let mut whole = None;
    for size in [1, 7, 64, stream.len()] {
        let vm = signed(None);
        let s = post(&vm, "gw", "/v1/chat/completions", &chat_body("gpt-4o", true));
        let headers = [
            (":status", "200"),
            ("content-type", "application/vnd.amazon.eventstream"),
            ("x-amzn-requestid", "req-stream"),
        ];
        s.send_response_headers(headers, false).unwrap();
        let pieces = pieces(&stream, size);
        for (i, piece) in pieces.iter().enumerate() {
            s.send_response_body(*piece, i + 1 == pieces.len()).unwrap();
        }
        let (status, headers, body) = received(&s);
        assert_eq!(status, 200);
        assert_eq!(headers.get("content-type"), Some("text/event-stream; charset=utf-8"));
        let events = data_events(&body);
        assert_eq!(events.last().unwrap(), &json!("[DONE]"));
        assert_eq!(events[0]["id"], "req-stream");
        assert_eq!(events[0]["model"], MODEL);
        let calls: Vec<&Value> =
            events.iter().filter_map(|e| e["choices"][0]["delta"]["tool_calls"].as_array()).flatten().collect();
        assert!(!calls.is_empty(), "tool calls reach the client: {body}");
        assert!(events.iter().any(|e| e["usage"]["prompt_tokens"].is_u64()));
        match &whole {
            None => whole = Some(body),
            Some(first) => assert_eq!(first, &body, "cut in pieces of {size}"),
        }
    }
}

#[test]
fn a_corrupted_frame_ends_the_stream_with_an_error_not_a_trap() {
    let mut stream = event_stream();
    let last = stream.len() - 1;
    stream[last] ^= 0xff;
    let vm = signed(None);
    let s = post(&vm, "gw", "/v1/chat/completions", &chat_body("gpt-4o", true));
    answer(&s, 200, "application/vnd.amazon.eventstream", &[&stream]);
    let (status, _, body) = received(&s);
    assert_eq!(status, 200);
    assert!(body.contains("error"), "{body}");
    assert!(body.ends_with("data: [DONE]\n\n"), "{body}");
    // The VM lives on.
    let s = post(&vm, "gw", "/v1/chat/completions", &chat_body("gpt-4o", false));
    assert!(s.upstream().headers.is_some());
}

#[test]
fn an_anthropic_client_reaches_bedrock() {
    let vm = signed(None);
    let s = post(&vm, "gw", "/v1/messages", &messages_body("claude", true));
    let (headers, sent) = sent(&s);
    assert_eq!(headers.get(":path"), Some("/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse-stream"));
    assert_eq!(sent["system"], json!([{"text": "Be brief."}]));
    answer(&s, 200, "application/vnd.amazon.eventstream", &[&event_stream()]);
    let body = received(&s).2;
    let names = event_names(&body);
    assert_eq!(names.first().map(String::as_str), Some("message_start"));
    assert_eq!(names.last().map(String::as_str), Some("message_stop"));
}

#[test]
fn config_errors_name_the_field() {
    let error = config_error(json!({"provider": {"type": "bedrock", "apiTokens": ["k"]}}));
    assert!(error.contains("provider.awsRegion: missing"), "{error}");
    let error = config_error(json!({"provider": {"type": "bedrock", "awsRegion": "us-east-1"}}));
    assert!(error.contains("provider.awsAccessKey: missing"), "{error}");
}
