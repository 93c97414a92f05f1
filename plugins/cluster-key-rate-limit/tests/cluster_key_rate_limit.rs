//! cluster-key-rate-limit on the compiled `.wasm` against a real redis-server: every source,
//! rule order, every window of a key, the Redis key layout, replies, and Redis faults.
// Helpers outside #[test] functions may panic too: a failing test should fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use higress_host::testing::{self, request, RedisServer, Request};
use higress_host::{LogLevel, Stream, Vm};
use serde_json::{json, Value};

const PREFIX: &str = "higress-cluster-key-rate-limit";

fn start_at(address: &str, config: Value) -> Vm {
    testing::vm_with_redis("cluster-key-rate-limit", address, config, 300)
}

fn start(server: &RedisServer, config: Value) -> Vm {
    start_at(&server.address(), config)
}

/// Sends `req`, lets Redis answer and a 200 come back: the stream.
fn send(vm: &Vm, req: Request) -> Stream {
    let s = req.send(vm);
    vm.poll().unwrap();
    if s.local_response().is_none() {
        s.send_response_headers([(":status", "200")], true).unwrap();
    }
    s
}

fn admitted(vm: &Vm, req: Request) -> bool {
    send(vm, req).local_response().is_none()
}

fn get(host: &str) -> Request {
    request("GET", host, "/")
}

#[test]
fn global_threshold_counts_every_request_in_redis() {
    let server = RedisServer::start();
    let vm = start(&server, json!({"rule_name": "r", "global_threshold": {"query_per_minute": 3}}));
    assert_eq!((0..5).filter(|_| admitted(&vm, get("a.com"))).count(), 3);
    let key = format!("{PREFIX}:r:global_threshold:60:3");
    assert_eq!(server.command(&["GET", &key]).as_integer(), Some(0));
    assert!(server.command(&["TTL", &key]).as_integer().is_some_and(|t| (1..=60).contains(&t)));
    let refused = send(&vm, get("a.com"));
    let reply = refused.local_response().unwrap();
    assert_eq!(reply.status, 429);
    assert_eq!(String::from_utf8_lossy(&reply.body), "Too many requests");
    assert_eq!(reply.details, "cluster-key-rate-limit.rejected");
    let reset: i64 = reply.headers.get("x-ratelimit-reset").unwrap().parse().unwrap();
    assert!((1..=60).contains(&reset));
    assert_eq!(reply.headers.get("x-ratelimit-limit"), None);
}

#[test]
fn every_source_and_key_kind() {
    let server = RedisServer::start();
    let one = |key: &str| json!([{"key": key, "query_per_hour": 1}]);
    let vm = start(
        &server,
        json!({"rule_name": "all", "rule_items": [
            {"limit_by_header": "X-Ca-Key", "limit_keys": one("h1")},
            {"limit_by_param": "apikey", "limit_keys": one("p1")},
            {"limit_by_cookie": "uid", "limit_keys": one("c1")},
            {"limit_by_consumer": "", "limit_keys": one("consumer1")},
            {"limit_by_per_header": "x-tenant", "limit_keys": one("regexp:^t-[0-9]+$")},
            {"limit_by_per_param": "user", "limit_keys": one("*")},
            {"limit_by_per_cookie": "session", "limit_keys": one("*")},
            {"limit_by_per_consumer": "", "limit_keys": one("regexp:^vip")},
            {"limit_by_per_ip": "from-header-x-real-ip", "limit_keys": one("10.0.0.0/8")},
            {"limit_by_per_ip": "from-remote-addr", "limit_keys": [
                {"key": "192.168.1.7", "query_per_hour": 1}, {"key": "2001:db8::/32", "query_per_hour": 1}]}
        ]}),
    );
    let cases: Vec<(Request, String)> = vec![
        (get("a.com").header("x-ca-key", "h1"), "limit_by_header:3600:1:X-Ca-Key:h1".into()),
        (request("GET", "a.com", "/?apikey=p1"), "limit_by_param:3600:1:apikey:p1".into()),
        (get("a.com").header("cookie", "a=b; uid=c1"), "limit_by_cookie:3600:1:uid:c1".into()),
        (
            get("a.com").header("x-mse-consumer", "consumer1"),
            "limit_by_consumer:3600:1:x-mse-consumer:consumer1".into(),
        ),
        (get("a.com").header("x-tenant", "t-42"), "limit_by_per_header:3600:1:x-tenant:t-42".into()),
        (request("GET", "a.com", "/?user=bob"), "limit_by_per_param:3600:1:user:bob".into()),
        (get("a.com").header("cookie", "session=s9"), "limit_by_per_cookie:3600:1:session:s9".into()),
        (get("a.com").header("x-mse-consumer", "vip-1"), "limit_by_per_consumer:3600:1:x-mse-consumer:vip-1".into()),
        (
            get("a.com").header("x-real-ip", " 10.1.2.3 , 172.16.0.1"),
            "limit_by_per_ip:3600:1:from-header-x-real-ip:10.1.2.3".into(),
        ),
        (
            get("a.com").property("source.address", "192.168.1.7:5555"),
            "limit_by_per_ip:3600:1:from-remote-addr:192.168.1.7".into(),
        ),
        (
            get("a.com").property("source.address", "[2001:db8::9]:443"),
            "limit_by_per_ip:3600:1:from-remote-addr:2001:db8::9".into(),
        ),
    ];
    for (req, key) in cases {
        let again = req.clone();
        assert!(admitted(&vm, req), "{key}: first request");
        assert!(!admitted(&vm, again), "{key}: second request");
        assert_eq!(server.command(&["GET", &format!("{PREFIX}:all:{key}")]).as_integer(), Some(0), "{key}");
    }
    // Sources absent, or no key matching: not limited, nothing written.
    let before = server.command(&["DBSIZE"]).as_integer();
    for req in [
        get("a.com").header("x-ca-key", "other"),
        get("a.com").header("x-tenant", "nope"),
        get("a.com").header("cookie", "uid="),
        get("a.com").header("x-real-ip", "11.0.0.1"),
        get("a.com").property("source.address", "192.168.1.8:1"),
        get("a.com").header("x-real-ip", "garbage"),
        get("a.com"),
    ] {
        assert!((0..3).all(|_| admitted(&vm, req.clone())));
    }
    assert_eq!(server.command(&["DBSIZE"]).as_integer(), before);
}

#[test]
fn the_first_matching_rule_item_wins() {
    let server = RedisServer::start();
    let vm = start(
        &server,
        json!({"rule_name": "order", "rule_items": [
            {"limit_by_header": "x-a", "limit_keys": [{"key": "1", "query_per_minute": 1}]},
            {"limit_by_per_header": "x-b", "limit_keys": [{"key": "*", "query_per_minute": 2}]}
        ]}),
    );
    // x-a present but not matching: the next item applies.
    let both = || get("a.com").header("x-a", "0").header("x-b", "v");
    assert_eq!((0..4).filter(|_| admitted(&vm, both())).count(), 2);
    let first = || get("a.com").header("x-a", "1").header("x-b", "w");
    assert_eq!((0..4).filter(|_| admitted(&vm, first())).count(), 1);
    assert_eq!(server.command(&["GET", &format!("{PREFIX}:order:limit_by_per_header:60:2:x-b:w")]).as_integer(), None);
}

#[test]
fn every_window_of_a_key_is_enforced() {
    let server = RedisServer::start();
    let vm = start(
        &server,
        json!({"rule_name": "w", "show_limit_quota_header": true, "rule_items": [
            {"limit_by_header": "x-k", "limit_keys": [{"key": "k", "query_per_minute": 5, "query_per_hour": 3}]}
        ]}),
    );
    let req = || get("a.com").header("x-k", "k");
    let first = send(&vm, req());
    // The window with the fewest requests left is the one reported.
    assert_eq!(first.response().header("x-ratelimit-limit"), Some("3"));
    assert_eq!(first.response().header("x-ratelimit-remaining"), Some("2"));
    assert!(admitted(&vm, req()) && admitted(&vm, req()));
    let refused = send(&vm, req());
    let reply = refused.local_response().unwrap();
    assert_eq!(reply.status, 429);
    assert_eq!(reply.headers.get("x-ratelimit-limit"), Some("3"));
    assert_eq!(reply.headers.get("x-ratelimit-remaining"), Some("0"));
    let reset: i64 = reply.headers.get("x-ratelimit-reset").unwrap().parse().unwrap();
    assert!(reset > 60, "the hour window resets last: {reset}");
    // A refused request takes nothing from the other window.
    assert_eq!(server.command(&["GET", &format!("{PREFIX}:w:limit_by_header:60:5:x-k:k")]).as_integer(), Some(2));
    assert_eq!(server.command(&["GET", &format!("{PREFIX}:w:limit_by_header:3600:3:x-k:k")]).as_integer(), Some(0));
}

#[test]
fn custom_refusal_and_counters_shared_with_higress_go() {
    let server = RedisServer::start();
    let vm = start(
        &server,
        json!({"rule_name": "mixed", "rejected_code": 503, "rejected_msg": "slow down",
            "rule_items": [{"limit_by_header": "x-k", "limit_keys": [{"key": "k", "query_per_day": 10}]}]}),
    );
    // A Go module has already counted down to 1 left (the same key, the same countdown).
    let key = format!("{PREFIX}:mixed:limit_by_header:86400:10:x-k:k");
    server.command(&["SET", &key, "1", "EX", "86400"]);
    assert!(admitted(&vm, get("a.com").header("x-k", "k")));
    let refused = send(&vm, get("a.com").header("x-k", "k"));
    let reply = refused.local_response().unwrap();
    assert_eq!((reply.status, String::from_utf8_lossy(&reply.body).to_string()), (503, "slow down".to_string()));
    // A Go module that counted below zero: still refused.
    server.command(&["SET", &key, "-3", "EX", "86400"]);
    assert!(!admitted(&vm, get("a.com").header("x-k", "k")));
}

fn warnings(vm: &Vm) -> usize {
    vm.take_logs().iter().filter(|l| l.level == LogLevel::Warn && l.message.contains("redis unavailable")).count()
}

#[test]
fn redis_down_fails_open_logs_once_and_limiting_resumes() {
    let mut server = RedisServer::start();
    let vm = start(&server, json!({"rule_name": "down", "global_threshold": {"query_per_minute": 2}}));
    assert_eq!((0..3).filter(|_| admitted(&vm, get("a.com"))).count(), 2);
    vm.take_logs();
    server.kill();
    assert!((0..5).all(|_| admitted(&vm, get("a.com"))), "fail open");
    assert_eq!(warnings(&vm), 1, "one warning for the outage");
    server.restart();
    // The counter was lost with the server (no persistence): a fresh window.
    assert_eq!((0..4).filter(|_| admitted(&vm, get("a.com"))).count(), 2);
    assert!(vm.logged("redis answers again"));
}

#[test]
fn garbage_or_silence_from_redis_fails_open() {
    for (what, reply) in [("garbage", Some(&b"+OK\r\n"[..])), ("silence", None)] {
        let vm = start_at(
            &higress_host::testing::misbehaving_redis(reply),
            json!({"rule_name": "bad", "global_threshold": {"query_per_second": 1}}),
        );
        assert!((0..3).all(|_| admitted(&vm, get("a.com"))), "{what}: fail open");
        assert_eq!(warnings(&vm), 1, "{what}: one warning");
    }
}

#[test]
fn config_errors_name_the_field() {
    let plugin = testing::plugin("cluster-key-rate-limit");
    let redis = json!({"service_name": "redis.dns"});
    let item = |extra: Value| {
        let mut item = json!({"limit_by_header": "x", "limit_keys": [{"key": "k", "query_per_second": 1}]});
        item.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        json!({"rule_name": "r", "redis": redis, "rule_items": [item]})
    };
    let keys = |limit_type: &str, key: &str| json!({"rule_name": "r", "redis": redis, "rule_items": [{limit_type: "x", "limit_keys": [{"key": key, "query_per_second": 1}]}]});
    for (config, expected) in [
        (json!({"redis": redis, "global_threshold": {"query_per_second": 1}}), "missing field `rule_name`"),
        (json!({"rule_name": "r", "global_threshold": {"query_per_second": 1}}), "missing field `redis`"),
        (json!({"rule_name": "r", "redis": redis}), "rule_items: one of global_threshold and rule_items is required"),
        (
            json!({"rule_name": "r", "redis": redis, "global_threshold": {"query_per_second": 1}, "rule_items": []}),
            "global_threshold: global_threshold and rule_items cannot both be set",
        ),
        (
            json!({"rule_name": "r", "redis": redis, "global_threshold": {}}),
            "global_threshold: one of query_per_second",
        ),
        (
            json!({"rule_name": "r", "redis": redis, "global_threshold": {"query_per_hour": 0}}),
            "global_threshold.query_per_hour: must be a positive integer",
        ),
        (json!({"rule_name": "r", "redis": redis, "rule_items": []}), "rule_items: cannot be empty"),
        (
            item(json!({"limit_by_param": "p"})),
            "rule_items[0]: only one source per rule item: both limit_by_header and limit_by_param are set",
        ),
        (
            json!({"rule_name": "r", "redis": redis, "rule_items": [{"limit_keys": []}]}),
            "rule_items[0]: one of limit_by_header",
        ),
        (item(json!({"limit_keys": []})), "rule_items[0].limit_keys: cannot be empty"),
        (item(json!({"limit_keys": [{"query_per_second": 1}]})), "rule_items[0].limit_keys[0].key: is required"),
        (item(json!({"limit_keys": [{"key": "k"}]})), "rule_items[0].limit_keys[0]: one of query_per_second"),
        (
            keys("limit_by_per_header", "plain"),
            "rule_items[0].limit_keys[0].key: a limit_by_per_header key is `*` or starts with `regexp:`",
        ),
        (keys("limit_by_per_param", "regexp:(unclosed"), "rule_items[0].limit_keys[0].key:"),
        (keys("limit_by_header", ""), "rule_items[0].limit_keys[0].key: is required"),
        (
            json!({"rule_name": "r", "redis": redis, "rule_items": [{"limit_by_per_ip": "from-remote-addr", "limit_keys": [{"key": "10.0.0.0/33", "query_per_second": 1}]}]}),
            "rule_items[0].limit_keys[0].key: `10.0.0.0/33` is not an IP address or a CIDR range",
        ),
        (
            json!({"rule_name": "r", "redis": redis, "rule_items": [{"limit_by_per_ip": "from-somewhere", "limit_keys": [{"key": "1.2.3.4", "query_per_second": 1}]}]}),
            "rule_items[0].limit_by_per_ip: must be `from-remote-addr` or `from-header-<header name>`",
        ),
        (item(json!({"limit_by_header": ""})), "rule_items[0].limit_by_header: cannot be empty"),
        (
            json!({"rule_name": "r", "redis": redis, "rejected_code": 42, "global_threshold": {"query_per_second": 1}}),
            "rejected_code: must be an HTTP status",
        ),
        (json!({"rule_name": "r", "redis": {}, "global_threshold": {"query_per_second": 1}}), "redis"),
    ] {
        let line = testing::config_error(&plugin, &config);
        assert!(
            line.contains(&format!("cluster-key-rate-limit config error: {expected}")),
            "{line}\n  expected: {expected}"
        );
    }
    // Two windows on one key are allowed (and both enforced).
    let two = json!({"rule_name": "r", "redis": redis, "rule_items": [{"limit_by_header": "x", "limit_keys": [{"key": "k", "query_per_second": 1, "query_per_day": 5}]}]});
    assert!(Vm::builder(&plugin).config_json(&two).start().is_ok());
}
