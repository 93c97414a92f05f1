//! Vertex AI (`type: vertex`) on the compiled module: express mode with `apiTokens`, OAuth
//! with a service account (the signed assertion, one token exchange for every waiting
//! request of every VM, the cached token, its renewal, the 500 when the exchange fails),
//! `claude*` models in Anthropic's protocol, embeddings, the OpenAI-compatible endpoint and
//! Vertex's own paths.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use common::*;
use higress_host::testing::{self, request};
use higress_host::{Env, HttpResponse, Stream, Vm};
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::pkcs8::DecodePrivateKey;
use rsa::signature::Verifier;
use rsa::RsaPrivateKey;
use serde_json::{json, Value};
use sha2::Sha256;
use std::time::Duration;

/// The test service account the e2e stack uses too.
fn account() -> String {
    std::fs::read_to_string(format!("{}/../../e2e/config/vertex-service-account.json", env!("CARGO_MANIFEST_DIR")))
        .unwrap()
}

fn oauth_config() -> Value {
    json!({"provider": {"type": "vertex", "vertexAuthKey": account(), "vertexRegion": "us-central1",
        "vertexProjectId": "e2e-project", "vertexAuthServiceName": "vertex-auth.dns",
        "modelMapping": {"gpt-4o": "gemini-2.5-flash"}}})
}

fn vm_in(env: &Env, config: &Value) -> Vm {
    Vm::builder(&testing::plugin(PLUGIN)).env(env).config_json(config).start().unwrap_or_else(|e| panic!("{e}"))
}

fn token_reply(token: &str) -> HttpResponse {
    let body = json!({"access_token": token, "expires_in": 3599, "token_type": "Bearer"}).to_string();
    HttpResponse::new(200, &[("content-type", "application/json")], body.as_str())
}

/// Checks the assertion a token request carries: RS256 by the account's key, Google's claims.
fn check_assertion(form: &str, now: u64) {
    let assertion = form
        .strip_prefix("grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=")
        .unwrap_or_else(|| panic!("not a JWT bearer grant: {form}"));
    let parts: Vec<&str> = assertion.split('.').collect();
    assert_eq!(parts.len(), 3);
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    assert_eq!(header, json!({"alg": "RS256", "typ": "JWT", "kid": "e2e0key0id"}));
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    assert_eq!(claims["iss"], "gateway@e2e-project.iam.gserviceaccount.com");
    assert_eq!(claims["aud"], "https://oauth2.googleapis.com/token");
    assert_eq!(claims["scope"], "https://www.googleapis.com/auth/cloud-platform");
    assert_eq!((claims["iat"].as_u64(), claims["exp"].as_u64()), (Some(now), Some(now + 3600)));
    let file: Value = serde_json::from_str(&account()).unwrap();
    let key = RsaPrivateKey::from_pkcs8_pem(file["private_key"].as_str().unwrap()).unwrap();
    let verifier = VerifyingKey::<Sha256>::new(key.to_public_key());
    let signature = Signature::try_from(URL_SAFE_NO_PAD.decode(parts[2]).unwrap().as_slice()).unwrap();
    verifier.verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature).expect("the signature verifies");
}

fn waiting(s: &Stream) -> bool {
    s.upstream().headers.is_none() && s.local_response().is_none()
}

#[test]
fn express_mode_sends_gemini_models_to_the_publishers_path_with_the_key_in_a_header() {
    let vm =
        provider(json!({"type": "vertex", "apiTokens": ["AQ.express"], "modelMapping": {"*": "gemini-2.5-flash"}}));
    let s = post(&vm, "gw", "/v1/chat/completions", &chat_body("gpt-4o", true));
    let (headers, sent) = sent(&s);
    assert_eq!(headers.get(":authority"), Some("aiplatform.googleapis.com"));
    assert_eq!(
        headers.get(":path"),
        Some("/v1/publishers/google/models/gemini-2.5-flash:streamGenerateContent?alt=sse"),
        "the key is not in the URL (Go put it in `?key=`, where access logs keep it)"
    );
    assert_eq!(headers.get("x-goog-api-key"), Some("AQ.express"));
    assert!(!headers.contains("authorization"));
    assert_eq!(sent["contents"][0]["parts"][0]["text"], "你好，你是谁？");
    let chunk = br#"data: {"candidates":[{"content":{"role":"model","parts":[{"text":"Hi"}]},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":3,"candidatesTokenCount":1,"totalTokenCount":4},"modelVersion":"gemini-2.5-flash","responseId":"v-1"}"#;
    answer(&s, 200, "text/event-stream", &[chunk, b"\n\n"]);
    let (status, _, body) = received(&s);
    assert_eq!(status, 200);
    let events = data_events(&body);
    let text: String = events.iter().filter_map(|e| e["choices"][0]["delta"]["content"].as_str()).collect();
    assert_eq!(text, "Hi");
    assert_eq!(events.last().unwrap(), &json!("[DONE]"));
}

#[test]
fn claude_models_go_to_raw_predict_in_anthropics_protocol() {
    let vm = provider(json!({"type": "vertex", "apiTokens": ["k"]}));
    let s = post(&vm, "gw", "/v1/chat/completions", &chat_body("claude-sonnet-4@20250514", false));
    let (headers, sent) = sent(&s);
    assert_eq!(headers.get(":path"), Some("/v1/publishers/anthropic/models/claude-sonnet-4@20250514:rawPredict"));
    assert_eq!(sent["anthropic_version"], "vertex-2023-10-16");
    assert!(sent.get("model").is_none(), "the model is in the path");
    assert_eq!(sent["messages"][0]["content"][0]["text"], "你好，你是谁？");
    let reply = json!({"id": "msg_v", "type": "message", "role": "assistant", "model": "claude-sonnet-4",
        "content": [{"type": "text", "text": "I am Claude."}], "stop_reason": "end_turn",
        "usage": {"input_tokens": 9, "output_tokens": 4}});
    answer(&s, 200, "application/json", &[reply.to_string().as_bytes()]);
    let (_, _, body) = received(&s);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["choices"][0]["message"]["content"], "I am Claude.");
    assert_eq!(body["usage"]["prompt_tokens"], 9);

    // An Anthropic client reaches the same model untranslated, streamed.
    let s = post(&vm, "gw", "/v1/messages", &messages_body("claude-3-5-haiku@20241022", true));
    let (headers, sent) = common::sent(&s);
    assert_eq!(
        headers.get(":path"),
        Some("/v1/publishers/anthropic/models/claude-3-5-haiku@20241022:streamRawPredict")
    );
    assert_eq!(sent["system"], "Be brief.");
    let stream = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude\",\"content\":[],\"usage\":{\"input_tokens\":1,\"output_tokens\":0}}}\n\n";
    answer(&s, 200, "text/event-stream", &[stream.as_bytes()]);
    assert_eq!(received(&s).2, stream, "an Anthropic stream reaches an Anthropic client as it came");
}

#[test]
fn oauth_fetches_one_token_for_every_waiting_request_then_uses_the_cache() {
    let env = Env::with_manual_clock(Duration::from_secs(NOW));
    let vm = vm_in(&env, &oauth_config());
    let streams: Vec<Stream> =
        (0..3).map(|_| post(&vm, "gw", "/v1/chat/completions", &chat_body("gpt-4o", false))).collect();
    let calls = vm.take_new_http_calls();
    assert_eq!(calls.len(), 1, "one token exchange for three requests");
    let call = &calls[0];
    assert_eq!(call.cluster, "outbound|443||vertex-auth.dns");
    assert_eq!(call.headers.get(":path"), Some("/token"));
    assert_eq!(call.headers.get(":authority"), Some("oauth2.googleapis.com"));
    assert_eq!(call.headers.get("content-type"), Some("application/x-www-form-urlencoded"));
    check_assertion(std::str::from_utf8(&call.body).unwrap(), NOW);
    assert!(streams.iter().all(waiting), "every request waits for the token");

    vm.respond_http_call(call.token, token_reply("ya29.first")).unwrap();
    for s in &streams {
        let (headers, sent) = sent(s);
        assert_eq!(headers.get("authorization"), Some("Bearer ya29.first"));
        assert_eq!(headers.get(":authority"), Some("us-central1-aiplatform.googleapis.com"));
        assert_eq!(
            headers.get(":path"),
            Some("/v1/projects/e2e-project/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent")
        );
        assert!(!headers.contains("x-goog-api-key"));
        assert_eq!(sent["contents"][0]["role"], "user");
    }

    // Cached: no exchange.
    let s = post(&vm, "gw", "/v1/chat/completions", &chat_body("gpt-4o", false));
    assert_eq!(sent(&s).0.get("authorization"), Some("Bearer ya29.first"));
    assert!(vm.take_new_http_calls().is_empty());

    // Renewed once it expires within a minute (vertexTokenRefreshAhead's default).
    env.advance(Duration::from_secs(3599 - 59));
    let s = post(&vm, "gw", "/v1/chat/completions", &chat_body("gpt-4o", false));
    let calls = vm.take_new_http_calls();
    assert_eq!(calls.len(), 1);
    assert!(waiting(&s));
    vm.respond_http_call(calls[0].token, token_reply("ya29.second")).unwrap();
    assert_eq!(sent(&s).0.get("authorization"), Some("Bearer ya29.second"));
}

#[test]
fn a_failed_exchange_answers_every_waiting_request_500_and_the_next_one_tries_again() {
    let env = Env::with_manual_clock(Duration::from_secs(NOW));
    let vm = vm_in(&env, &oauth_config());
    let first = post(&vm, "gw", "/v1/chat/completions", &chat_body("gpt-4o", false));
    let second = post(&vm, "gw", "/v1/chat/completions", &chat_body("gpt-4o", true));
    let call = vm.take_new_http_calls().remove(0);
    let denied =
        HttpResponse::new(400, &[], r#"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#);
    vm.respond_http_call(call.token, denied).unwrap();
    for s in [&first, &second] {
        let reply = s.local_response().expect("answered by the gateway");
        assert_eq!(reply.status, 500);
        assert_eq!(String::from_utf8_lossy(&reply.body), "failed to load vertex ak");
        assert_eq!(reply.details, "ai-proxy.vertex.load_ak_failed");
        assert!(s.upstream().headers.is_none());
    }
    // No token was cached: the next request exchanges again (after the failure's second).
    env.advance(Duration::from_secs(2));
    let s = post(&vm, "gw", "/v1/chat/completions", &chat_body("gpt-4o", false));
    let calls = vm.take_new_http_calls();
    assert_eq!(calls.len(), 1);
    vm.respond_http_call(calls[0].token, token_reply("ya29.ok")).unwrap();
    assert_eq!(sent(&s).0.get("authorization"), Some("Bearer ya29.ok"));

    // An exchange that never answers times out (Envoy's 504 for the callout): 500 as well.
    let env = Env::with_manual_clock(Duration::from_secs(NOW));
    let config = json!({"provider": {"type": "vertex", "vertexAuthKey": account(), "vertexRegion": "global",
        "vertexProjectId": "p", "vertexAuthServiceName": "vertex-auth.dns", "timeout": 2000}});
    let vm = vm_in(&env, &config);
    let s = post(&vm, "gw", "/v1/chat/completions", &chat_body("gemini-2.5-pro", false));
    assert_eq!(vm.take_new_http_calls()[0].timeout, Some(Duration::from_millis(2000)));
    env.advance(Duration::from_secs(3));
    vm.poll().unwrap();
    assert_eq!(s.local_response().map(|r| r.status), Some(500));
}

#[test]
fn other_vms_wait_for_the_exchange_one_vm_makes() {
    let env = Env::with_manual_clock(Duration::from_secs(NOW));
    let (a, b) = (vm_in(&env, &oauth_config()), vm_in(&env, &oauth_config()));
    assert_eq!(b.tick_period(), Some(Duration::from_millis(100)));
    let on_a = post(&a, "gw", "/v1/chat/completions", &chat_body("gpt-4o", false));
    let on_b = post(&b, "gw", "/v1/chat/completions", &chat_body("gpt-4o", false));
    let call = a.take_new_http_calls().remove(0);
    assert!(b.take_new_http_calls().is_empty(), "VM b does not exchange while VM a does");
    b.tick().unwrap();
    assert!(waiting(&on_b));
    a.respond_http_call(call.token, token_reply("ya29.shared")).unwrap();
    assert_eq!(sent(&on_a).0.get("authorization"), Some("Bearer ya29.shared"));
    assert!(waiting(&on_b), "b learns of the token at its next tick");
    env.advance(Duration::from_millis(100));
    b.tick().unwrap();
    assert_eq!(sent(&on_b).0.get("authorization"), Some("Bearer ya29.shared"));
    // Higress's key and shape: both modules share the token.
    let (cached, _) = env.shared_data(PLUGIN, "vertex-us-central1-e2e-project-access-token").unwrap();
    let cached: Value = serde_json::from_slice(&cached).unwrap();
    assert_eq!(cached, json!({"token": "ya29.shared", "expireAt": NOW + 3599}));
}

#[test]
fn a_vm_whose_fetcher_died_takes_over_once_the_lock_expires() {
    let env = Env::with_manual_clock(Duration::from_secs(NOW));
    let (a, b) = (vm_in(&env, &oauth_config()), vm_in(&env, &oauth_config()));
    let _on_a = post(&a, "gw", "/v1/chat/completions", &chat_body("gpt-4o", false));
    assert_eq!(a.take_new_http_calls().len(), 1);
    drop(a);
    let on_b = post(&b, "gw", "/v1/chat/completions", &chat_body("gpt-4o", false));
    assert!(b.take_new_http_calls().is_empty());
    // The lock lasts the exchange's timeout (120 s by default) and a second.
    env.advance(Duration::from_secs(122));
    b.tick().unwrap();
    let calls = b.take_new_http_calls();
    assert_eq!(calls.len(), 1, "b exchanges itself");
    b.respond_http_call(calls[0].token, token_reply("ya29.b")).unwrap();
    assert_eq!(sent(&on_b).0.get("authorization"), Some("Bearer ya29.b"));
}

#[test]
fn embeddings_go_to_predict_and_come_back_at_their_index() {
    let vm = provider(json!({"type": "vertex", "apiTokens": ["k"]}));
    let body = json!({"model": "text-embedding-005", "input": ["one", "two"], "dimensions": 3});
    let s = post(&vm, "gw", "/v1/embeddings", &body);
    let (headers, sent) = sent(&s);
    assert_eq!(headers.get(":path"), Some("/v1/publishers/google/models/text-embedding-005:predict"));
    assert_eq!(
        sent,
        json!({"instances": [{"content": "one"}, {"content": "two"}], "parameters": {"outputDimensionality": 3}})
    );
    let reply = json!({"predictions": [
        {"embeddings": {"values": [0.5, -1.0, 0.25], "statistics": {"token_count": 1, "truncated": false}}},
        {"embeddings": {"values": [1.5, 2.0, -0.75], "statistics": {"token_count": 2, "truncated": false}}}]});
    answer(&s, 200, "application/json", &[reply.to_string().as_bytes()]);
    let (status, headers, body) = received(&s);
    assert_eq!((status, headers.get("content-type")), (200, Some("application/json")));
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["object"], "list");
    assert_eq!(body["model"], "text-embedding-005");
    assert_eq!(body["data"][1], json!({"object": "embedding", "index": 1, "embedding": [1.5, 2.0, -0.75]}));
    assert_eq!(body["usage"], json!({"prompt_tokens": 3, "total_tokens": 3}));

    // The OpenAI SDKs ask for base64: little-endian f32s.
    let body = json!({"model": "text-embedding-005", "input": "one", "encoding_format": "base64"});
    let s = post(&vm, "gw", "/v1/embeddings", &body);
    let reply = json!({"predictions": [{"embeddings": {"values": [0.5, -1.0]}}]});
    answer(&s, 200, "application/json", &[reply.to_string().as_bytes()]);
    let body: Value = serde_json::from_str(&received(&s).2).unwrap();
    let bytes = STANDARD.decode(body["data"][0]["embedding"].as_str().unwrap()).unwrap();
    assert_eq!(bytes, [0.5f32.to_le_bytes(), (-1.0f32).to_le_bytes()].concat());

    // Token ids cannot be sent to a text API: 400 naming the input.
    let s = post(&vm, "gw", "/v1/embeddings", &json!({"model": "m", "input": [[1, 2]]}));
    let reply = s.local_response().unwrap();
    assert_eq!(reply.status, 400);
    assert!(String::from_utf8_lossy(&reply.body).contains("input[0]"), "{}", String::from_utf8_lossy(&reply.body));
}

#[test]
fn gemini_embeddings_go_to_batch_embed_contents() {
    let vm = provider(json!({"type": "gemini", "apiTokens": ["AIza"], "modelMapping": {"*": "gemini-embedding-001"}}));
    let s = post(&vm, "gw", "/v1/embeddings", &json!({"model": "text-embedding-3-small", "input": ["a", "b"]}));
    let (headers, sent) = sent(&s);
    assert_eq!(headers.get(":path"), Some("/v1beta/models/gemini-embedding-001:batchEmbedContents"));
    assert_eq!(
        sent,
        json!({"requests": [
            {"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "a"}]}},
            {"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "b"}]}}]})
    );
    answer(&s, 200, "application/json", &[br#"{"embeddings":[{"values":[0.1,0.2]},{"values":[0.3,0.4]}]}"#]);
    let body: Value = serde_json::from_str(&received(&s).2).unwrap();
    assert_eq!(body["data"][0]["index"], 0);
    assert_eq!(body["data"][1], json!({"object": "embedding", "index": 1, "embedding": [0.3, 0.4]}));
    // Errors pass as Gemini wrote them.
    let s = post(&vm, "gw", "/v1/embeddings", &json!({"model": "x", "input": "a"}));
    let error = br#"{"error":{"code":400,"message":"bad","status":"INVALID_ARGUMENT"}}"#;
    answer(&s, 400, "application/json", &[error]);
    assert_eq!(received(&s).2.as_bytes(), error);
}

#[test]
fn the_openai_compatible_endpoint_gets_the_request_untranslated() {
    let env = Env::with_manual_clock(Duration::from_secs(NOW));
    let mut config = oauth_config();
    config["provider"]["vertexOpenAICompatible"] = json!(true);
    config["provider"]["modelMapping"] = json!({"gpt-4o": "google/gemini-2.5-flash"});
    let vm = vm_in(&env, &config);
    let s = post(&vm, "gw", "/v1/chat/completions", &chat_body("gpt-4o", true));
    let call = vm.take_new_http_calls().remove(0);
    vm.respond_http_call(call.token, token_reply("ya29.c")).unwrap();
    let (headers, sent) = sent(&s);
    assert_eq!(
        headers.get(":path"),
        Some("/v1beta1/projects/e2e-project/locations/us-central1/endpoints/openapi/chat/completions")
    );
    assert_eq!(headers.get("authorization"), Some("Bearer ya29.c"));
    assert_eq!(sent["model"], "google/gemini-2.5-flash");
    assert_eq!(sent["messages"], chat_body("x", true)["messages"]);
    assert_eq!(sent["stream_options"], json!({"include_usage": true}));
}

#[test]
fn vertex_paths_keep_their_path_and_body_and_get_the_token() {
    let env = Env::with_manual_clock(Duration::from_secs(NOW));
    let vm = vm_in(&env, &oauth_config());
    let path = "/v1/projects/e2e-project/locations/us-central1/publishers/google/models/gemini-2.5-pro:generateContent";
    let body = json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]});
    let s = request("POST", "gw", path)
        .header("content-type", "application/json")
        .header("authorization", "Bearer client")
        .body(body.to_string())
        .send(&vm);
    let call = vm.take_new_http_calls().remove(0);
    vm.respond_http_call(call.token, token_reply("ya29.native")).unwrap();
    let (headers, sent) = sent(&s);
    assert_eq!(headers.get(":path"), Some(path));
    assert_eq!(headers.get("authorization"), Some("Bearer ya29.native"));
    assert_eq!(sent, body);
}

#[test]
fn config_errors_name_the_field() {
    let mut config = oauth_config();
    config["provider"]["vertexAuthKey"] =
        json!("{\"client_email\": \"a@b\", \"private_key\": \"x\", \"token_uri\": \"u\"}");
    let error = config_error(config);
    assert!(error.contains("provider.vertexAuthKey: `private_key` is not an RSA key in PKCS#8 PEM"), "{error}");
    let error = config_error(json!({"provider": {"type": "vertex"}}));
    assert!(error.contains("provider.vertexAuthKey: missing"), "{error}");
}
