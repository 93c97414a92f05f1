//! ai-cache on the compiled `.wasm` against a real redis-server: a miss goes upstream and its
//! answer is stored (SET, or SETEX with the TTL), the same question is then answered from the
//! cache (whole or streamed), keys kept apart per model and per consumer, the skip header,
//! Redis down, replies that must not be cached, streams split at every byte, config errors.
// Helpers outside #[test] functions may panic too: a failing test should fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use higress_host::testing::{self, request, RedisServer, Request};
use higress_host::{Env, LogLevel, Stream, Upstream, Vm};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const PREFIX: &str = "higress-ai-cache:";

/// A VM with `config` (its `cache` block completed with the Redis at `server`).
fn start(server: &RedisServer, mut config: Value) -> Vm {
    let env = Env::new();
    env.add_cluster("outbound|6379||redis.dns", Upstream::Address(server.address()));
    let cache = config.as_object_mut().unwrap().entry("cache").or_insert_with(|| json!({}));
    let defaults = json!({"type": "redis", "serviceName": "redis.dns", "timeout": 300});
    for (k, v) in defaults.as_object().unwrap() {
        cache.as_object_mut().unwrap().entry(k.clone()).or_insert(v.clone());
    }
    Vm::builder(&testing::plugin("ai-cache"))
        .env(&env)
        .log_level(LogLevel::Debug)
        .config_json(&config)
        .start()
        .unwrap_or_else(|e| panic!("{e}"))
}

fn chat(body: &Value) -> Request {
    request("POST", "llm.com", "/v1/chat/completions")
        .header("content-type", "application/json")
        .header("accept-encoding", "gzip")
        .body(body.to_string())
}

fn question(model: &str, text: &str, stream: bool) -> Value {
    json!({"model": model, "stream": stream,
        "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": text}]})
}

/// Sends the request and lets Redis answer the lookup.
fn begin(vm: &Vm, req: Request) -> Stream {
    let s = req.send(vm);
    vm.poll().unwrap();
    s
}

/// The upstream's reply in `chunks`, then Redis's part (the answer stored).
fn reply(vm: &Vm, s: &Stream, status: &str, content_type: &str, chunks: &[&[u8]]) {
    s.send_response_headers([(":status", status), ("content-type", content_type)], chunks.is_empty()).unwrap();
    for (i, chunk) in chunks.iter().enumerate() {
        s.send_response_body(*chunk, i + 1 == chunks.len()).unwrap();
    }
    vm.poll().unwrap();
}

fn answer_json(content: &str) -> String {
    json!({"id": "c1", "object": "chat.completion", "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}})
    .to_string()
}

/// A miss answered upstream with `content`: asserts it went upstream.
fn miss(vm: &Vm, req: Request, content: &str) -> Stream {
    let s = begin(vm, req);
    assert!(s.local_response().is_none(), "a miss goes upstream");
    assert!(s.upstream().headers.is_some());
    reply(vm, &s, "200", "application/json", &[answer_json(content).as_bytes()]);
    s
}

/// A hit: its content (from the whole or the streamed template).
fn hit(vm: &Vm, req: Request) -> String {
    let s = begin(vm, req);
    let local = s.local_response().unwrap_or_else(|| panic!("a hit is answered locally: {:?}", vm.take_logs()));
    assert_eq!(local.status, 200);
    assert_eq!(local.details, "ai-cache.hit");
    assert!(s.upstream().headers.is_none());
    let body = local.body_text();
    if local.headers.get("content-type") == Some("text/event-stream; charset=utf-8") {
        let data = body.strip_prefix("data:").unwrap().split("\n\n").next().unwrap();
        assert!(body.ends_with("\n\ndata:[DONE]\n\n"), "{body}");
        let chunk: Value = serde_json::from_str(data).unwrap();
        chunk["choices"][0]["delta"]["content"].as_str().unwrap().to_string()
    } else {
        assert_eq!(local.headers.get("content-type"), Some("application/json; charset=utf-8"));
        let reply: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
        reply["choices"][0]["message"]["content"].as_str().unwrap().to_string()
    }
}

/// The Redis key of a question, as the README documents it.
fn key(model: &str, consumer: &str, question: &str) -> String {
    let mut hash = Sha256::new();
    for part in [model, consumer] {
        hash.update(format!("{}:{part}", part.len()));
    }
    hash.update(question);
    let hex: String = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
    format!("{PREFIX}{hex}")
}

fn stored(server: &RedisServer, key: &str) -> Option<String> {
    server.command(&["GET", key]).as_string()
}

fn keys(server: &RedisServer) -> Vec<String> {
    let reply = server.command(&["KEYS", "*"]);
    let items = reply.as_array().unwrap_or_else(|| panic!("{reply:?}"));
    items.iter().filter_map(|i| i.as_string()).collect()
}

/// `ai_log` as the plugin wrote it (a string-escaped JSON object).
fn ai_log(s: &Stream) -> Value {
    let raw = String::from_utf8(s.property("ai_log").unwrap_or_default()).unwrap();
    let text: String = serde_json::from_str(&format!("\"{raw}\"")).unwrap();
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

#[test]
fn a_miss_is_stored_and_the_same_question_is_then_answered_from_the_cache() {
    let server = RedisServer::start();
    let vm = start(&server, json!({}));
    let first = miss(&vm, chat(&question("gpt-4o", "capital of France?", false)), "Paris");
    let up = first.upstream();
    assert_eq!(up.header("accept-encoding"), None, "the reply must come back readable");
    assert_eq!(serde_json::from_slice::<Value>(&up.body).unwrap()["model"], "gpt-4o", "the body goes on untouched");
    assert_eq!(ai_log(&first)["cache_status"], "miss");
    assert_eq!(first.response().body_text(), answer_json("Paris"), "the reply passes untouched");
    let key = key("gpt-4o", "", "capital of France?");
    assert_eq!(stored(&server, &key).as_deref(), Some("Paris"));
    assert_eq!(server.command(&["TTL", &key]).as_integer(), Some(-1), "cacheTTL 0: never expires");
    assert_eq!(server.calls("set"), 1);

    let s = begin(&vm, chat(&question("gpt-4o", "capital of France?", false)));
    let local = s.local_response().expect("hit");
    assert_eq!(ai_log(&s)["cache_status"], "hit");
    assert_eq!(
        local.body_text(),
        r#"{"id":"from-cache","choices":[{"index":0,"message":{"role":"assistant","content":"Paris"},"finish_reason":"stop"}],"model":"from-cache","object":"chat.completion","usage":{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0}}"#
    );
    // A hit is not stored again.
    assert_eq!(server.calls("set"), 1);
}

#[test]
fn a_streamed_request_is_answered_with_the_stream_template() {
    let server = RedisServer::start();
    let vm = start(&server, json!({}));
    // An answer that needs escaping: the hit must stay valid JSON.
    let answer = "say \"hi\"\n\tthen \\ bye \u{1} é 😀";
    miss(&vm, chat(&question("gpt-4o", "greet", false)), answer);
    let s = begin(&vm, chat(&question("gpt-4o", "greet", true)));
    let local = s.local_response().expect("hit");
    assert_eq!(local.headers.get("content-type"), Some("text/event-stream; charset=utf-8"));
    assert!(local.body_text().starts_with("data:{\"id\":\"from-cache\""), "{}", local.body_text());
    assert_eq!(hit(&vm, chat(&question("gpt-4o", "greet", true))), answer);
    assert_eq!(hit(&vm, chat(&question("gpt-4o", "greet", false))), answer);
    // "stream": "true" and 1 are streams too, as gjson's Bool() reads them.
    for stream in [json!("true"), json!(1)] {
        let mut body = question("gpt-4o", "greet", false);
        body["stream"] = stream;
        let s = begin(&vm, chat(&body));
        assert_eq!(s.local_response().unwrap().headers.get("content-type"), Some("text/event-stream; charset=utf-8"));
    }
}

#[test]
fn the_skip_header_bypasses_the_cache_and_stores_nothing() {
    let server = RedisServer::start();
    let vm = start(&server, json!({}));
    miss(&vm, chat(&question("gpt-4o", "q", false)), "cached");
    let s = begin(&vm, chat(&question("gpt-4o", "q", false)).header("x-higress-skip-ai-cache", "on"));
    assert!(s.local_response().is_none(), "skipped: upstream");
    assert_eq!(s.upstream().header("accept-encoding"), Some("gzip"), "nothing of the request is touched");
    reply(&vm, &s, "200", "application/json", &[answer_json("fresh").as_bytes()]);
    assert_eq!(ai_log(&s)["cache_status"], "skip");
    assert_eq!(stored(&server, &key("gpt-4o", "", "q")).as_deref(), Some("cached"));
    // Another value of the header is no skip.
    assert_eq!(hit(&vm, chat(&question("gpt-4o", "q", false)).header("x-higress-skip-ai-cache", "off")), "cached");
}

#[test]
fn a_ttl_stores_with_setex_and_the_answer_expires() {
    let server = RedisServer::start();
    let vm = start(&server, json!({"cache": {"cacheTTL": 1}}));
    miss(&vm, chat(&question("gpt-4o", "q", false)), "short-lived");
    assert_eq!(server.calls("setex"), 1);
    assert_eq!(server.calls("set"), 0);
    let key = key("gpt-4o", "", "q");
    assert_eq!(server.command(&["TTL", &key]).as_integer(), Some(1));
    assert_eq!(hit(&vm, chat(&question("gpt-4o", "q", false))), "short-lived");
    std::thread::sleep(std::time::Duration::from_millis(2100));
    assert_eq!(stored(&server, &key), None);
    miss(&vm, chat(&question("gpt-4o", "q", false)), "again");

    let vm = start(&server, json!({"cache": {"cacheTTL": 3600}}));
    miss(&vm, chat(&question("gpt-4o", "long", false)), "kept");
    let ttl = server.command(&["TTL", &self::key("gpt-4o", "", "long")]).as_integer().unwrap();
    assert!((3590..=3600).contains(&ttl), "{ttl}");
}

#[test]
fn two_models_asking_the_same_question_get_their_own_answers() {
    let server = RedisServer::start();
    let vm = start(&server, json!({}));
    miss(&vm, chat(&question("gpt-4o", "who are you?", false)), "I am 4o");
    miss(&vm, chat(&question("gpt-4o-mini", "who are you?", false)), "I am mini");
    assert_eq!(hit(&vm, chat(&question("gpt-4o", "who are you?", false))), "I am 4o");
    assert_eq!(hit(&vm, chat(&question("gpt-4o-mini", "who are you?", false))), "I am mini");
    // A request without a model has its own entry too.
    let mut body = question("", "who are you?", false);
    body.as_object_mut().unwrap().remove("model");
    miss(&vm, chat(&body), "I am nobody");
    assert_eq!(keys(&server).len(), 3);
}

#[test]
fn consumers_get_their_own_answers_when_configured() {
    let server = RedisServer::start();
    let vm = start(&server, json!({"cacheKeyIncludeConsumer": true}));
    let as_consumer = |c: &str| chat(&question("gpt-4o", "my plan?", false)).header("x-mse-consumer", c);
    miss(&vm, as_consumer("alice"), "alice's plan");
    miss(&vm, as_consumer("bob"), "bob's plan");
    assert_eq!(hit(&vm, as_consumer("alice")), "alice's plan");
    assert_eq!(hit(&vm, as_consumer("bob")), "bob's plan");
    assert_eq!(stored(&server, &key("gpt-4o", "alice", "my plan?")).as_deref(), Some("alice's plan"));
    // Without a consumer: an entry of its own.
    miss(&vm, chat(&question("gpt-4o", "my plan?", false)), "anyone's plan");

    // Off (the default), as Go: consumers share answers.
    let vm = start(&server, json!({}));
    miss(&vm, chat(&question("gpt-4o", "shared?", false)).header("x-mse-consumer", "alice"), "shared");
    assert_eq!(hit(&vm, chat(&question("gpt-4o", "shared?", false)).header("x-mse-consumer", "bob")), "shared");
}

#[test]
fn redis_down_sends_requests_upstream_and_says_so_once() {
    let mut server = RedisServer::start();
    let vm = start(&server, json!({}));
    miss(&vm, chat(&question("gpt-4o", "q", false)), "a");
    server.kill();
    for i in 0..3 {
        let s = miss(&vm, chat(&question("gpt-4o", "q", i == 1)), "b");
        assert_eq!(ai_log(&s)["cache_status"], "miss");
    }
    let logs = vm.take_logs();
    let warnings = logs.iter().filter(|l| l.level == LogLevel::Warn && l.message.contains("redis unavailable")).count();
    assert_eq!(warnings, 1, "{logs:?}");
    assert!(logs.iter().any(|l| l.message.contains("requests go upstream uncached")));
    server.restart();
    miss(&vm, chat(&question("gpt-4o", "q", false)), "c");
    assert!(vm.logged("redis answers again"));
    assert_eq!(hit(&vm, chat(&question("gpt-4o", "q", false))), "c");
}

#[test]
fn a_hung_redis_times_out_into_a_miss() {
    let address = testing::misbehaving_redis(None);
    let env = Env::new();
    env.add_cluster("outbound|6379||hung.dns", Upstream::Address(address));
    let vm = Vm::builder(&testing::plugin("ai-cache"))
        .env(&env)
        .config_json(&json!({"cache": {"type": "redis", "serviceName": "hung.dns", "timeout": 50}}))
        .start()
        .unwrap();
    let s = chat(&question("gpt-4o", "q", false)).send(&vm);
    assert!(s.upstream().headers.is_none(), "held while Redis is asked");
    std::thread::sleep(std::time::Duration::from_millis(120));
    vm.poll().unwrap();
    assert!(s.upstream().headers.is_some(), "the timeout lets it go upstream");
}

const STREAM: &str = "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n\
    data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello\"},\"finish_reason\":null}]}\n\n\
    : a comment\n\n\
    data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\", \\\"wörld\\\"\\n😀\"},\"finish_reason\":null}]}\n\n\
    data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n\
    data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2,\"total_tokens\":5}}\n\n\
    data: [DONE]\n\n";
const STREAMED: &str = "Hello, \"wörld\"\n😀";

#[test]
fn a_stream_split_at_every_byte_stores_the_same_answer() {
    let server = RedisServer::start();
    let vm = start(&server, json!({}));
    let bytes = STREAM.as_bytes();
    let crlf = STREAM.replace("\n", "\r\n");
    let mut cases: Vec<(String, Vec<&[u8]>)> = vec![
        ("one byte at a time".into(), bytes.chunks(1).collect()),
        ("whole".into(), vec![bytes]),
        ("CRLF, 3 bytes at a time".into(), crlf.as_bytes().chunks(3).collect()),
    ];
    for at in 1..bytes.len() {
        cases.push((format!("split at {at}"), vec![&bytes[..at], &bytes[at..]]));
    }
    for (i, (what, chunks)) in cases.iter().enumerate() {
        let q = format!("stream {i}");
        let s = begin(&vm, chat(&question("gpt-4o", &q, true)));
        assert!(s.local_response().is_none());
        reply(&vm, &s, "200", "text/event-stream", chunks);
        assert_eq!(s.response().body, if what.starts_with("CRLF") { crlf.as_bytes() } else { bytes }, "{what}");
        assert_eq!(stored(&server, &key("gpt-4o", "", &q)).as_deref(), Some(STREAMED), "{what}");
    }
    assert_eq!(hit(&vm, chat(&question("gpt-4o", "stream 0", true))), STREAMED);
    // A stream whose last event has no blank line after it still counts.
    let s = begin(&vm, chat(&question("gpt-4o", "unfinished", true)));
    reply(&vm, &s, "200", "text/event-stream", &[STREAM.trim_end_matches("data: [DONE]\n\n").trim_end().as_bytes()]);
    assert_eq!(stored(&server, &key("gpt-4o", "", "unfinished")).as_deref(), Some(STREAMED));
}

#[test]
fn an_azure_stream_opening_with_prompt_filter_results_is_cached() {
    let server = RedisServer::start();
    let vm = start(&server, json!({}));
    let azure = format!("data: {{\"choices\":[],\"prompt_filter_results\":[{{\"prompt_index\":0}}]}}\n\n{STREAM}");
    let s = begin(&vm, chat(&question("gpt-4o", "azure", true)));
    reply(&vm, &s, "200", "text/event-stream", &[azure.as_bytes()]);
    assert_eq!(stored(&server, &key("gpt-4o", "", "azure")).as_deref(), Some(STREAMED));
}

#[test]
fn errors_empty_answers_and_tool_calls_are_not_cached() {
    let server = RedisServer::start();
    let vm = start(&server, json!({}));
    let tool_call = json!({"choices": [{"index": 0, "message": {"role": "assistant", "content": null,
        "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
        "finish_reason": "tool_calls"}]})
    .to_string();
    let tool_stream = "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Let me check\"}}]}\n\n\
        data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"\"}}]}}]}\n\n\
        data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\ndata: [DONE]\n\n";
    let error_stream = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"half\"}}]}\n\n\
        data: {\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\"}}\n\n";
    let cases: Vec<(&str, &str, &str, String, bool)> = vec![
        ("500", "500", "application/json", json!({"error": {"message": "boom"}}).to_string(), false),
        ("429", "429", "application/json", answer_json("rate limited but shaped like an answer"), false),
        ("an error with 200", "200", "application/json", json!({"error": {"message": "boom"}}).to_string(), false),
        ("an empty answer", "200", "application/json", answer_json(""), false),
        ("a blank answer", "200", "application/json", answer_json("  \n "), false),
        ("no content", "200", "application/json", json!({"choices": []}).to_string(), false),
        ("tool calls", "200", "application/json", tool_call, false),
        ("not JSON", "200", "application/json", "<html>oops</html>".into(), false),
        ("a streamed tool call", "200", "text/event-stream", tool_stream.into(), true),
        ("an error mid-stream", "200", "text/event-stream", error_stream.into(), true),
        ("a stream of garbage", "200", "text/event-stream", "data: not json\n\n".into(), true),
        ("an empty stream", "200", "text/event-stream", "data: [DONE]\n\n".into(), true),
    ];
    for (what, status, content_type, body, stream) in cases {
        let s = begin(&vm, chat(&question("gpt-4o", what, stream)));
        reply(&vm, &s, status, content_type, &[body.as_bytes()]);
        assert_eq!(s.response().body_text(), body, "{what}: the reply passes untouched");
        assert_eq!(ai_log(&s)["cache_status"], "miss", "{what}");
        assert_eq!(keys(&server), Vec::<String>::new(), "{what}: nothing stored");
    }
    // A reply with no body at all.
    let s = begin(&vm, chat(&question("gpt-4o", "no body", false)));
    reply(&vm, &s, "200", "application/json", &[]);
    assert!(keys(&server).is_empty());
    // A blank value found in Redis is a miss (Go).
    server.command(&["SET", &key("gpt-4o", "", "blank"), " "]);
    miss(&vm, chat(&question("gpt-4o", "blank", false)), "filled");
    assert_eq!(stored(&server, &key("gpt-4o", "", "blank")).as_deref(), Some("filled"));
}

#[test]
fn requests_without_a_question_pass_untouched() {
    let server = RedisServer::start();
    let vm = start(&server, json!({}));
    let plain = request("POST", "llm.com", "/v1/chat/completions")
        .header("content-type", "text/plain")
        .header("accept-encoding", "gzip")
        .body("hello");
    let get = request("GET", "llm.com", "/v1/models");
    let no_question = chat(&json!({"model": "gpt-4o", "messages": []}));
    let not_json =
        request("POST", "llm.com", "/v1/chat/completions").header("content-type", "application/json").body("{not json");
    for (what, req) in [("text/plain", plain), ("no body", get), ("no messages", no_question), ("bad JSON", not_json)] {
        let s = begin(&vm, req);
        assert!(s.upstream().headers.is_some(), "{what}");
        assert!(s.upstream().end_of_stream, "{what}: the whole request went on");
        reply(&vm, &s, "200", "application/json", &[answer_json("x").as_bytes()]);
        assert_eq!(ai_log(&s), Value::Null, "{what}: no cache_status");
    }
    assert!(keys(&server).is_empty());
    assert_eq!(server.calls("get"), 0);
}

#[test]
fn all_questions_joins_every_user_message() {
    let server = RedisServer::start();
    let vm = start(&server, json!({"cacheKeyStrategy": "allQuestions"}));
    let convo = |first: &str| {
        json!({"model": "gpt-4o", "messages": [
            {"role": "user", "content": first}, {"role": "assistant", "content": "ok"},
            {"role": "user", "content": "and then?"}]})
    };
    miss(&vm, chat(&convo("tell me a story")), "story");
    assert_eq!(stored(&server, &key("gpt-4o", "", "tell me a story\nand then?")).as_deref(), Some("story"));
    assert_eq!(hit(&vm, chat(&convo("tell me a story"))), "story");
    // Same last question, another history: another key.
    miss(&vm, chat(&convo("tell me a joke")), "joke");
}

#[test]
fn paths_and_templates_are_configurable() {
    let server = RedisServer::start();
    let vm = start(
        &server,
        json!({
            "cacheKeyFrom": "messages.@reverse.#(role==\"user\").content",
            "cacheValueFrom": "output.text",
            "responseTemplate": "{\"text\":\"%s\",\"share\":\"100%%\"}",
        }),
    );
    let body =
        json!({"model": "m", "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]});
    let s = begin(&vm, chat(&body));
    reply(&vm, &s, "200", "application/json", &[br#"{"output":{"text":"custom \"answer\""}}"#]);
    assert_eq!(stored(&server, &key("m", "", "q")).as_deref(), Some("custom \"answer\""));
    let s = begin(&vm, chat(&body));
    assert_eq!(s.local_response().unwrap().body_text(), r#"{"text":"custom \"answer\"","share":"100%"}"#);
}

#[test]
fn the_legacy_redis_block_and_spellings_are_accepted() {
    let server = RedisServer::start();
    let env = Env::new();
    env.add_cluster("outbound|6379||redis.dns", Upstream::Address(server.address()));
    let config = json!({
        "redis": {"serviceName": "redis.dns", "timeout": 300, "cacheKeyPrefix": "legacy:"},
        "cacheTTL": 600,
        "cacheKeyFrom": {"requestBody": "messages.0.content"},
        "returnResponseTemplate": "{\"legacy\":\"%s\"}",
    });
    let vm = Vm::builder(&testing::plugin("ai-cache")).env(&env).config_json(&config).start().unwrap();
    let body =
        json!({"model": "m", "messages": [{"role": "user", "content": "first"}, {"role": "user", "content": "last"}]});
    miss(&vm, chat(&body), "old");
    let key = key("m", "", "first").replace(PREFIX, "legacy:");
    assert_eq!(stored(&server, &key).as_deref(), Some("old"));
    assert!(server.command(&["TTL", &key]).as_integer().unwrap() > 500);
    let s = begin(&vm, chat(&body));
    assert_eq!(s.local_response().unwrap().body_text(), r#"{"legacy":"old"}"#);
}

#[test]
fn the_database_and_credentials_reach_redis() {
    let server =
        RedisServer::start_with(&["user app on >secret ~* +@all", "user default off"], Some(("app", "secret")));
    let env = Env::new();
    env.add_cluster("outbound|6379||redis.dns", Upstream::Address(server.address()));
    let config = json!({"cache": {"type": "redis", "serviceName": "redis.dns", "username": "app",
        "password": "secret", "database": 2, "timeout": 300}});
    let vm = Vm::builder(&testing::plugin("ai-cache")).env(&env).config_json(&config).start().unwrap();
    miss(&vm, chat(&question("m", "q", false)), "in db 2");
    assert_eq!(stored(&server, &key("m", "", "q")), None, "not in db 0");
    // A fresh admin connection per command: read db 2 through a script.
    let in_db2 =
        server.command(&["EVAL", "redis.call('select', 2) return redis.call('get', KEYS[1])", "1", &key("m", "", "q")]);
    assert_eq!(in_db2.as_string().as_deref(), Some("in db 2"));
    assert_eq!(hit(&vm, chat(&question("m", "q", false))), "in db 2");
}

#[test]
fn disabled_caches_nothing() {
    let server = RedisServer::start();
    let vm = start(&server, json!({"cacheKeyStrategy": "disabled"}));
    for _ in 0..2 {
        let s = begin(&vm, chat(&question("m", "q", false)));
        assert_eq!(s.upstream().header("accept-encoding"), Some("gzip"));
        reply(&vm, &s, "200", "application/json", &[answer_json("a").as_bytes()]);
    }
    assert!(keys(&server).is_empty());
}

#[test]
fn config_errors_name_the_field() {
    let plugin = testing::plugin("ai-cache");
    let redis = json!({"type": "redis", "serviceName": "redis.static"});
    let with = |extra: Value| {
        let mut config = json!({"cache": redis});
        for (k, v) in extra.as_object().unwrap() {
            config[k] = v.clone();
        }
        config
    };
    let cache = |extra: Value| {
        let mut block = redis.clone();
        for (k, v) in extra.as_object().unwrap() {
            block[k] = v.clone();
        }
        json!({ "cache": block })
    };
    for (config, expected) in [
        (json!({}), "cache: required"),
        (json!({"cacheKeyStrategy": "lastQuestion"}), "cache: required"),
        (json!({"cache": "redis"}), "cache: must be an object"),
        (json!({"cache": {"serviceName": "redis.static"}}), "cache.type: required"),
        (
            cache(json!({"type": "memcached"})),
            "cache.type: unknown cache service provider type `memcached` (only redis)",
        ),
        (json!({"cache": {"type": "redis"}}), "cache.serviceName: required"),
        (cache(json!({"serviceName": " "})), "cache.serviceName: required"),
        (cache(json!({"servicePort": 70000})), "cache.servicePort: must be a port"),
        (cache(json!({"servicePort": "x"})), "cache.servicePort: must be an integer"),
        (cache(json!({"timeout": -1})), "cache.timeout: must be milliseconds"),
        (cache(json!({"cacheTTL": -5})), "cache.cacheTTL: must be 0 (never expires) or a number of seconds"),
        (cache(json!({"database": -1})), "cache.database: must be a database number"),
        (cache(json!({"password": {"a": 1}})), "cache.password: must be a string"),
        (json!({"redis": {"timeout": 10}}), "redis.serviceName: required"),
        (json!({"redis": {"serviceName": "r.static"}, "cacheTTL": -1}), "cacheTTL: must be 0"),
        (
            with(json!({"cacheKeyStrategy": "firstQuestion"})),
            "cacheKeyStrategy: `firstQuestion` is not one of lastQuestion, allQuestions, disabled",
        ),
        (
            with(json!({"cacheKeyFrom": "messages.@flatten"})),
            "cacheKeyFrom: `messages.@flatten`: the modifier `@flatten` is not supported",
        ),
        (
            with(json!({"cacheValueFrom": "choices..x"})),
            "cacheValueFrom: `choices..x`: the path has an empty component",
        ),
        (with(json!({"cacheStreamValueFrom": "a."})), "cacheStreamValueFrom: `a.`: the path ends with `.`"),
        (with(json!({"cacheToolCallsFrom": [1]})), "cacheToolCallsFrom: must be a string"),
        (with(json!({"cacheKeyFrom": {"other": 1}})), "cacheKeyFrom.requestBody: required"),
        (with(json!({"cacheKeyIncludeConsumer": "maybe"})), "cacheKeyIncludeConsumer: must be true or false"),
        (
            json!({"_rules_": [{"_match_domain_": ["a.com"], "cache": {"type": "redis"}}]}),
            "cache.serviceName: required",
        ),
    ] {
        let line = testing::config_error(&plugin, &config);
        assert!(line.contains("ai-cache config error: "), "{line}");
        assert!(line.contains(expected), "{line}\n  expected: {expected}");
    }
}

#[test]
fn semantic_caching_is_refused_naming_the_keys() {
    let plugin = testing::plugin("ai-cache");
    let redis = json!({"type": "redis", "serviceName": "redis.static"});
    let embedding = json!({"type": "dashscope", "serviceName": "dashscope.dns", "apiKey": "k"});
    let vector = json!({"type": "dashvector", "serviceName": "dashvector.dns", "collectionID": "c"});
    for (config, keys) in [
        (json!({"cache": redis, "embedding": embedding}), "embedding"),
        (json!({"vector": vector}), "vector"),
        (json!({"cache": redis, "embedding": embedding, "vector": vector}), "embedding, vector"),
        (json!({"cache": redis, "enableSemanticCache": true}), "enableSemanticCache"),
        (
            json!({"embedding": embedding, "vector": vector, "enableSemanticCache": true}),
            "embedding, vector, enableSemanticCache",
        ),
    ] {
        let line = testing::config_error(&plugin, &config);
        assert!(line.contains(&format!("ai-cache config error: {keys}: not supported: semantic caching")), "{line}");
    }
    // Turned off explicitly, it is fine.
    let server = RedisServer::start();
    start(&server, json!({"enableSemanticCache": false}));
}

#[test]
fn numbers_and_strings_are_read_as_gjson_reads_them() {
    // A YAML password of digits arrives as a number; ports and TTLs as strings.
    let server = RedisServer::start();
    let vm = start(&server, json!({"cache": {"password": 123456, "cacheTTL": "60", "servicePort": "6379"}}));
    let s = begin(&vm, chat(&question("m", "q", false)));
    assert!(s.upstream().headers.is_some());
}

#[test]
fn memory_stays_flat_over_many_requests() {
    let server = RedisServer::start();
    let vm = start(&server, json!({}));
    miss(&vm, chat(&question("m", "hot", false)), "cached");
    let _ = hit(&vm, chat(&question("m", "hot", false)));
    let s = begin(&vm, chat(&question("m", "cold 0", true)));
    reply(&vm, &s, "200", "text/event-stream", &[STREAM.as_bytes()]);
    let after_one = vm.memory_bytes();
    for i in 1..300 {
        let _ = hit(&vm, chat(&question("m", "hot", i % 2 == 0)));
        let s = begin(&vm, chat(&question("m", &format!("cold {i}"), true)));
        reply(&vm, &s, "200", "text/event-stream", &[STREAM.as_bytes()]);
    }
    assert_eq!(vm.memory_bytes(), after_one);
}

#[test]
fn words_in_an_answer_are_not_taken_for_errors_or_tool_calls() {
    let server = RedisServer::start();
    let vm = start(&server, json!({}));
    let stream = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"an \\\"error\\\": tool_calls \"}}]}\n\n\
        data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"and tool_use\"},\"finish_reason\":null},{\"index\":1,\"error\":null}]}\n\n\
        data: [DONE]\n\n";
    let s = begin(&vm, chat(&question("m", "words", true)));
    reply(&vm, &s, "200", "text/event-stream", &[stream.as_bytes()]);
    assert_eq!(stored(&server, &key("m", "", "words")).as_deref(), Some("an \"error\": tool_calls and tool_use"));
}

#[test]
fn a_configured_tool_calls_path_is_checked_on_every_event() {
    let server = RedisServer::start();
    let vm = start(&server, json!({"cacheToolCallsFrom": "choices.0.delta.function_call"}));
    let stream = "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"calling\"}}]}\n\n\
        data: {\"choices\":[{\"index\":0,\"delta\":{\"function_call\":{\"name\":\"f\",\"arguments\":\"{}\"}}}]}\n\n\
        data: [DONE]\n\n";
    let s = begin(&vm, chat(&question("m", "legacy functions", true)));
    reply(&vm, &s, "200", "text/event-stream", &[stream.as_bytes()]);
    assert!(keys(&server).is_empty());
}
