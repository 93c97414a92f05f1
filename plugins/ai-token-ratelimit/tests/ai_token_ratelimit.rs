//! ai-token-ratelimit on the compiled `.wasm` against a real redis-server: refusal while a
//! window is overdrawn, tokens taken from JSON and streamed replies of every provider shape
//! (chunked anyhow), concurrent streams, no usage, Redis down, config errors.
// Helpers outside #[test] functions may panic too: a failing test should fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use higress_host::testing::{self, request, RedisServer, Request};
use higress_host::{LogLevel, Stream, Vm};
use serde_json::{json, Value};

const PREFIX: &str = "higress-token-ratelimit";

fn start(server: &RedisServer, config: Value) -> Vm {
    testing::vm_with_redis("ai-token-ratelimit", &server.address(), config, 300)
}

fn by_key(key: &str) -> Request {
    request("POST", "llm.com", "/v1/chat/completions")
        .header("x-api-key", key)
        .route("llm")
        .cluster("outbound|443||openai")
}

/// Sends the request and waits for Redis: the stream (answered locally when refused).
fn begin(vm: &Vm, req: Request) -> Stream {
    let s = req.send(vm);
    vm.poll().unwrap();
    s
}

/// The upstream's reply, in `chunks`, then Redis's part.
fn reply(vm: &Vm, s: &Stream, content_type: &str, chunks: &[&[u8]]) {
    s.send_response_headers([(":status", "200"), ("content-type", content_type)], false).unwrap();
    for (i, chunk) in chunks.iter().enumerate() {
        s.send_response_body(*chunk, i + 1 == chunks.len()).unwrap();
    }
    vm.poll().unwrap();
}

fn json_reply(total: u64) -> String {
    json!({"id": "c", "object": "chat.completion", "choices": [],
        "usage": {"prompt_tokens": total / 2, "completion_tokens": total - total / 2, "total_tokens": total}})
    .to_string()
}

fn left(server: &RedisServer, key: &str) -> Option<i64> {
    server.command(&["GET", key]).as_integer().or_else(|| server.command(&["GET", key]).as_string()?.parse().ok())
}

fn config() -> Value {
    json!({"rule_name": "llm", "rule_items": [
        {"limit_by_per_header": "x-api-key", "limit_keys": [{"key": "*", "token_per_minute": 100}]}
    ]})
}

#[test]
fn refuses_while_a_window_is_overdrawn() {
    let server = RedisServer::start();
    let vm = start(&server, config());
    let key = format!("{PREFIX}:llm:limit_by_per_header:60:100:x-api-key:k1");
    let first = begin(&vm, by_key("k1"));
    assert!(first.local_response().is_none());
    reply(&vm, &first, "application/json", &[json_reply(60).as_bytes()]);
    assert_eq!(left(&server, &key), Some(40));
    // Tokens are known only after a reply: the window may go below zero.
    let second = begin(&vm, by_key("k1"));
    assert!(second.local_response().is_none());
    reply(&vm, &second, "application/json", &[json_reply(60).as_bytes()]);
    assert_eq!(left(&server, &key), Some(-20));
    let third = begin(&vm, by_key("k1"));
    let refused = third.local_response().expect("refused");
    assert_eq!((refused.status, String::from_utf8_lossy(&refused.body).to_string()), (429, "Too many requests".into()));
    assert_eq!(refused.details, "ai-token-ratelimit.rejected");
    let reset: i64 = refused.headers.get("x-tokenratelimit-reset").unwrap().parse().unwrap();
    assert!((1..=60).contains(&reset));
    let ai_log = String::from_utf8(third.property("ai_log").unwrap_or_default()).unwrap();
    assert!(ai_log.contains("token_ratelimit_status") && ai_log.contains("limited"), "{ai_log}");
    let metric = "route.llm.upstream.outbound|443||openai.model.none.consumer.none.metric.token_ratelimit_count";
    assert_eq!(vm.env().metric(metric).map(|m| m.value), Some(1), "{:?}", vm.env().metrics());
    // Other keys have their own windows.
    assert!(begin(&vm, by_key("k2")).local_response().is_none());
}

const ANTHROPIC: &str = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":20,\"output_tokens\":1}}}\n\n\
    event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"text\":\"hi\"}}\n\n\
    event: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":13}}\n\n\
    event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";

#[test]
fn streamed_replies_count_however_they_are_chunked() {
    let server = RedisServer::start();
    let vm = start(&server, config());
    let bytes = ANTHROPIC.as_bytes();
    for (i, size) in [1usize, 2, 3, 7, 64, bytes.len()].into_iter().enumerate() {
        let key = format!("s{i}");
        let s = begin(&vm, by_key(&key));
        let chunks: Vec<&[u8]> = bytes.chunks(size).collect();
        reply(&vm, &s, "text/event-stream", &chunks);
        assert_eq!(
            left(&server, &format!("{PREFIX}:llm:limit_by_per_header:60:100:x-api-key:{key}")),
            Some(100 - 33),
            "chunks of {size}"
        );
    }
    // Gemini and OpenAI shapes too, with no content type to go by.
    let gemini =
        "data: {\"usageMetadata\":{\"promptTokenCount\":5,\"candidatesTokenCount\":6,\"totalTokenCount\":11}}\n\n";
    let openai = "data: {\"choices\":[]}\n\ndata: {\"choices\":[],\"usage\":{\"prompt_tokens\":2,\"completion_tokens\":3,\"total_tokens\":5}}\n\ndata: [DONE]\n\n";
    for (key, body, spent) in [("g", gemini, 11), ("o", openai, 5)] {
        let s = begin(&vm, by_key(key));
        reply(&vm, &s, "", &[body.as_bytes()]);
        assert_eq!(
            left(&server, &format!("{PREFIX}:llm:limit_by_per_header:60:100:x-api-key:{key}")),
            Some(100 - spent)
        );
    }
}

#[test]
fn concurrent_streams_on_one_key_all_count() {
    let server = RedisServer::start();
    let vm = start(&server, config());
    let streams: Vec<Stream> = (0..4).map(|_| begin(&vm, by_key("shared"))).collect();
    assert!(streams.iter().all(|s| s.local_response().is_none()), "admitted before any reply is counted");
    for s in &streams {
        s.send_response_headers([(":status", "200"), ("content-type", "text/event-stream")], false).unwrap();
    }
    // Interleaved chunks of four streams.
    let bytes = ANTHROPIC.as_bytes();
    for chunk in bytes.chunks(10) {
        for s in &streams {
            s.send_response_body(chunk, false).unwrap();
        }
    }
    for s in &streams {
        s.send_response_body(b"", true).unwrap();
    }
    vm.poll().unwrap();
    assert_eq!(left(&server, &format!("{PREFIX}:llm:limit_by_per_header:60:100:x-api-key:shared")), Some(100 - 4 * 33));
    assert!(begin(&vm, by_key("shared")).local_response().is_some());
}

#[test]
fn a_reply_without_usage_counts_nothing_and_says_so() {
    let server = RedisServer::start();
    let vm = start(&server, config());
    let s = begin(&vm, by_key("quiet"));
    reply(&vm, &s, "text/event-stream", &[b"data: {\"choices\":[]}\n\ndata: [DONE]\n\n"]);
    assert_eq!(left(&server, &format!("{PREFIX}:llm:limit_by_per_header:60:100:x-api-key:quiet")), Some(100));
    assert!(vm.logged("no token usage in the reply: nothing counted"));
    // Requests no rule applies to are neither limited nor read.
    let free = begin(&vm, request("POST", "llm.com", "/v1/chat/completions"));
    assert!(free.local_response().is_none());
}

#[test]
fn global_threshold_and_rule_items_both_count() {
    let server = RedisServer::start();
    let mut config = config();
    config["global_threshold"] = json!({"token_per_hour": 1000});
    let vm = start(&server, config);
    let s = begin(&vm, by_key("k"));
    reply(&vm, &s, "application/json", &[json_reply(70).as_bytes()]);
    assert_eq!(left(&server, &format!("{PREFIX}:llm:global_threshold:3600:1000")), Some(930));
    assert_eq!(left(&server, &format!("{PREFIX}:llm:limit_by_per_header:60:100:x-api-key:k")), Some(30));
}

#[test]
fn redis_down_fails_open() {
    let mut server = RedisServer::start();
    let vm = start(&server, config());
    server.kill();
    for _ in 0..3 {
        let s = begin(&vm, by_key("k"));
        assert!(s.local_response().is_none(), "fail open");
        reply(&vm, &s, "application/json", &[json_reply(500).as_bytes()]);
    }
    let warnings =
        vm.take_logs().iter().filter(|l| l.level == LogLevel::Warn && l.message.contains("redis unavailable")).count();
    assert_eq!(warnings, 1);
}

#[test]
fn config_errors_name_the_field() {
    let plugin = testing::plugin("ai-token-ratelimit");
    let redis = json!({"service_name": "redis.dns"});
    for (config, expected) in [
        (json!({"redis": redis, "global_threshold": {"token_per_minute": 1}}), "missing field `rule_name`"),
        (json!({"rule_name": "r", "global_threshold": {"token_per_minute": 1}}), "missing field `redis`"),
        (json!({"rule_name": "r", "redis": redis}), "rule_items: one of global_threshold and rule_items is required"),
        (
            json!({"rule_name": "r", "redis": redis, "global_threshold": {"query_per_minute": 5}}),
            "global_threshold: one of token_per_second",
        ),
        (
            json!({"rule_name": "r", "redis": redis, "global_threshold": {"token_per_day": 0}}),
            "global_threshold.token_per_day: must be a positive integer",
        ),
        (
            json!({"rule_name": "r", "redis": redis, "rule_items": [{"limit_by_per_consumer": "", "limit_keys": [{"key": "vip", "token_per_hour": 5}]}]}),
            "rule_items[0].limit_keys[0].key: a limit_by_per_consumer key is `*` or starts with `regexp:`",
        ),
        (
            json!({"rule_name": "r", "redis": redis, "rule_items": [{"limit_by_per_ip": "from-remote-addr", "limit_keys": [{"key": "300.1.1.1", "token_per_hour": 5}]}]}),
            "rule_items[0].limit_keys[0].key: `300.1.1.1` is not an IP address or a CIDR range",
        ),
        (
            json!({"rule_name": "", "redis": redis, "global_threshold": {"token_per_minute": 1}}),
            "rule_name: cannot be empty",
        ),
    ] {
        let line = testing::config_error(&plugin, &config);
        assert!(
            line.contains(&format!("ai-token-ratelimit config error: {expected}")),
            "{line}\n  expected: {expected}"
        );
    }
}
