//! redis-counter on real Redis: the request waits for the count, then resumes.
// Helpers outside #[test] functions may panic too: a failing test should fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use higress_host::testing::{self, RedisServer};
use higress_host::{Action, Env, Upstream, Vm};
use serde_json::json;

fn start(server: &RedisServer, extra: serde_json::Value) -> Vm {
    let env = Env::new();
    env.add_cluster("outbound|6379||redis.dns", Upstream::Address(server.address()));
    let mut config = json!({"redis": {"service_name": "redis.dns", "timeout": 300}});
    if let (Some(c), Some(e)) = (config.as_object_mut(), extra.as_object()) {
        c.extend(e.clone());
    }
    Vm::builder(&testing::plugin("redis-counter"))
        .env(&env)
        .config_json(&config)
        .start()
        .unwrap_or_else(|e| panic!("{e}"))
}

fn hit(vm: &Vm, key: Option<&str>) -> higress_host::Stream {
    let s = vm.stream();
    s.set_property("route_name", "orders");
    let mut headers = vec![(":authority", "shop"), (":path", "/orders"), (":method", "GET")];
    if let Some(key) = key {
        headers.push(("x-api-key", key));
    }
    assert_eq!(s.send_request_headers(headers, true).unwrap(), Action::StopAllIterationAndWatermark);
    assert!(s.upstream().headers.is_none(), "the request waits for Redis");
    vm.poll().unwrap();
    s
}

#[test]
fn counts_per_route_and_resumes() {
    let server = RedisServer::start();
    let vm = start(&server, json!({}));
    for n in 1..=3 {
        let s = hit(&vm, None);
        assert_eq!(s.upstream().header("x-request-count"), Some(n.to_string().as_str()));
        s.send_response_headers([(":status", "200")], true).unwrap();
        assert_eq!(s.response().header("x-request-count"), Some(n.to_string().as_str()));
    }
    assert_eq!(server.command(&["GET", "redis-counter:orders"]).as_integer(), Some(3));
    assert_eq!(server.command(&["TTL", "redis-counter:orders"]).as_integer(), Some(60));
}

#[test]
fn counts_per_header_and_limits() {
    let server = RedisServer::start();
    let vm = start(&server, json!({"key_header": "x-api-key", "limit": 2, "window_seconds": 10}));
    assert_eq!(hit(&vm, Some("alice")).upstream().header("x-request-count"), Some("1"));
    assert_eq!(hit(&vm, Some("alice")).upstream().header("x-request-count"), Some("2"));
    assert_eq!(hit(&vm, Some("bob")).upstream().header("x-request-count"), Some("1"));
    let over = hit(&vm, Some("alice"));
    assert_eq!(over.response().status(), Some(429));
    assert_eq!(over.response().header("x-request-count"), Some("3"));
    assert_eq!(over.response().body_text(), "Too many requests");
    assert!(over.upstream().headers.is_none());
    assert_eq!(server.command(&["TTL", "redis-counter:alice"]).as_integer(), Some(10));
}

#[test]
fn redis_down_fails_open() {
    let mut server = RedisServer::start();
    let vm = start(&server, json!({"limit": 1}));
    server.kill();
    let s = hit(&vm, None);
    let up = s.upstream();
    assert!(up.end_of_stream, "the request went on");
    assert_eq!(up.header("x-request-count"), None);
    assert!(vm.logged("redis unavailable"));
}

#[test]
fn bad_window_fails_start() {
    let err = Vm::builder(&testing::plugin("redis-counter"))
        .config_json(&json!({"redis": {"service_name": "r.dns"}, "window_seconds": 0}))
        .start()
        .err()
        .unwrap();
    assert!(
        err.logs().iter().any(|l| l.message.ends_with("config error: window_seconds: must be at least 1")),
        "{err}"
    );
    let err = Vm::builder(&testing::plugin("redis-counter")).config_json(&json!({})).start().err().unwrap();
    assert!(err.logs().iter().any(|l| l.message.ends_with("config error: missing field `redis`")), "{err}");
}
