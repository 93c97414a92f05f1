//! The SDK's Redis client against a real `redis-server` (started per test on a free
//! loopback port), through the compiled `sdk-probe`. The host forwards the RESP bytes.
// Helpers outside #[test] functions may panic too: a failing test should fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use higress_host::testing::{self, RedisServer};
use higress_host::{Env, LogLevel, RedisReply, Stream, Upstream, Vm};
use serde_json::json;
use std::time::Duration;

const CLUSTER: &str = "outbound|6379||redis.static";

fn start(server: Option<&RedisServer>, redis: serde_json::Value) -> (Env, Vm) {
    let env = Env::new();
    if let Some(server) = server {
        env.add_cluster(CLUSTER, Upstream::Address(server.address()));
    }
    let mut redis = redis;
    redis["service_name"] = json!("redis.static");
    redis["service_port"] = json!(6379);
    let vm = Vm::builder(&testing::plugin("sdk-probe"))
        .env(&env)
        .log_level(LogLevel::Debug)
        .config_json(&json!({ "redis": redis }))
        .start()
        .unwrap_or_else(|e| panic!("{e}"));
    (env, vm)
}

/// Sends a request that makes the probe run Redis helper `op` with `args`.
fn send_op(vm: &Vm, op: &str, args: &str) -> Stream {
    let s = vm.stream();
    let headers = [
        (":authority", "h"),
        (":path", "/"),
        (":method", "GET"),
        ("x-probe", "redis"),
        ("x-redis-op", op),
        ("x-redis-args", args),
    ];
    s.send_request_headers(headers, true).unwrap();
    s
}

/// Runs one helper through the plugin and returns the rendered reply.
fn call(vm: &Vm, op: &str, args: &str) -> String {
    let s = send_op(vm, op, args);
    vm.poll().unwrap();
    let up = s.upstream();
    assert!(up.headers.is_some(), "{op}: the request was not resumed");
    up.header("x-redis-reply").unwrap_or("<none>").to_string()
}

#[test]
fn every_helper() {
    let server = RedisServer::start();
    let (_env, vm) = start(Some(&server), json!({}));
    assert_eq!(call(&vm, "set", "k|v1"), "+OK");
    assert_eq!(call(&vm, "get", "k"), "$v1");
    assert_eq!(call(&vm, "get", "missing"), "nil");
    assert_eq!(call(&vm, "set_nx", "k|v2"), "nil", "NX does not overwrite");
    assert_eq!(call(&vm, "set_nx", "fresh|v|100"), "+OK");
    assert_eq!(call(&vm, "ttl", "fresh"), ":100");
    assert_eq!(call(&vm, "set_ex", "ex|v|50"), "+OK");
    assert_eq!(call(&vm, "ttl", "ex"), ":50");
    assert_eq!(call(&vm, "incr", "n"), ":1");
    assert_eq!(call(&vm, "incr_by", "n|41"), ":42");
    assert_eq!(call(&vm, "decr", "n"), ":41");
    assert_eq!(call(&vm, "decr_by", "n|40"), ":1");
    assert_eq!(call(&vm, "expire", "n|30"), ":1");
    assert_eq!(call(&vm, "ttl", "n"), ":30");
    assert_eq!(call(&vm, "exists", "k|n|nope"), ":2");
    assert_eq!(call(&vm, "mset", "a|1|b|2"), "+OK");
    assert_eq!(call(&vm, "mget", "a|b|nope"), "[$1,$2,nil]");
    assert_eq!(call(&vm, "del", "a|b"), ":2");
    assert_eq!(call(&vm, "hset", "h|f1|x"), ":1");
    assert_eq!(call(&vm, "hget", "h|f1"), "$x");
    assert_eq!(call(&vm, "hincr_by", "h|count|5"), ":5");
    assert_eq!(call(&vm, "hgetall", "h"), "[$f1,$x,$count,$5]");
    assert_eq!(call(&vm, "hdel", "h|f1"), ":1");
    assert_eq!(call(&vm, "command", "LPUSH|list|a|b"), ":2");
    assert_eq!(call(&vm, "command", "LRANGE|list|0|-1"), "[$b,$a]");
    assert!(call(&vm, "incr", "k").starts_with("err:ERR value is not an integer"));
    assert_eq!(server.command(&["GET", "k"]).as_string().as_deref(), Some("v1"));
}

#[test]
fn eval_and_evalsha_with_keys_and_args() {
    let server = RedisServer::start();
    let (_env, vm) = start(Some(&server), json!({}));
    let script = "redis.call('INCRBY', KEYS[1], ARGV[1]); return {redis.call('GET', KEYS[1]), ARGV[2]}";
    assert_eq!(call(&vm, "eval", &format!("{script}|1|counter|5|tag")), "[$5,$tag]");
    assert_eq!(call(&vm, "eval", &format!("{script}|1|counter|5|tag")), "[$10,$tag]");
    let sha = call(&vm, "script_load", script);
    let sha = sha.trim_start_matches('$');
    assert_eq!(sha.len(), 40);
    assert_eq!(call(&vm, "evalsha", &format!("{sha}|1|counter|1|x")), "[$11,$x]");
    let boom = call(&vm, "eval", "return redis.error_reply('boom')|0");
    assert!(boom.starts_with("err:") && boom.contains("boom"), "{boom}");
}

#[test]
fn database_selection() {
    let server = RedisServer::start();
    let (env, vm) = start(Some(&server), json!({"database": 2}));
    assert!(vm.redis_inits()[0].cluster.contains("?db=2&"), "{:?}", vm.redis_inits());
    assert_eq!(call(&vm, "set", "db-key|in-two"), "+OK");
    assert!(server.command(&["GET", "db-key"]).is_nil(), "not in database 0");
    let in_two = server.command(&["EVAL", "redis.call('SELECT', 2) return redis.call('GET', KEYS[1])", "1", "db-key"]);
    assert_eq!(in_two.as_string().as_deref(), Some("in-two"));
    drop(env);
}

#[test]
fn auth_with_an_acl_user() {
    let server = RedisServer::start_with(
        &["requirepass adminpass", "user app on >apppass ~* +@all"],
        Some(("default", "adminpass")),
    );
    let (_env, vm) = start(Some(&server), json!({"username": "app", "password": "apppass"}));
    assert_eq!(call(&vm, "set", "acl|ok"), "+OK");
    assert_eq!(server.command(&["GET", "acl"]).as_string().as_deref(), Some("ok"));
    let (_env, wrong) = start(Some(&server), json!({"username": "app", "password": "nope"}));
    assert!(call(&wrong, "get", "acl").starts_with("err:NOAUTH"));
    let (_env, password_only) = start(Some(&server), json!({"password": "adminpass"}));
    assert_eq!(call(&password_only, "get", "acl"), "$ok");
}

#[test]
fn noauth_makes_the_client_initialise_again_and_retry_once() {
    let server = RedisServer::start_with(&["requirepass adminpass"], Some(("default", "adminpass")));
    let (_env, vm) = start(Some(&server), json!({"username": "late", "password": "p1"}));
    // The user does not exist yet: NOAUTH, one re-init and retry, still NOAUTH.
    assert!(call(&vm, "get", "x").starts_with("err:NOAUTH"));
    assert_eq!(vm.redis_inits()[0].generation, 2, "one init at start, one after NOAUTH");
    assert!(vm.logged("initialised again, retrying"));
    // The user appears: the next NOAUTH triggers a re-init that now succeeds.
    server.command(&["ACL", "SETUSER", "late", "on", ">p1", "~*", "+@all"]);
    assert_eq!(call(&vm, "set", "x|recovered"), "+OK");
    assert_eq!(call(&vm, "get", "x"), "$recovered");
}

#[test]
fn a_killed_redis_gives_network_errors_and_the_plugin_keeps_serving() {
    let mut server = RedisServer::start();
    let (_env, vm) = start(Some(&server), json!({"timeout": 300}));
    assert_eq!(call(&vm, "set", "k|before"), "+OK");
    server.kill();
    assert_eq!(call(&vm, "get", "k"), "network");
    assert_eq!(call(&vm, "get", "k"), "network");
    assert!(!vm.is_failed());
    let s = vm.stream();
    s.send_request_headers([(":authority", "h"), (":path", "/"), (":method", "GET")], true).unwrap();
    assert!(s.upstream().end_of_stream, "plain requests still pass");
    server.restart();
    assert_eq!(call(&vm, "set", "k|after"), "+OK", "the host reconnects");
}

#[test]
fn replies_answered_by_hand_malformed_and_timed_out() {
    let env = Env::with_manual_clock(Duration::from_secs(5));
    let vm = Vm::builder(&testing::plugin("sdk-probe"))
        .env(&env)
        .config_json(&json!({"redis": {"service_name": "redis.static", "service_port": 6379, "timeout": 200}}))
        .start()
        .unwrap();
    let ask = || send_op(&vm, "get", "k");
    let s = ask();
    let taken = vm.take_new_redis_calls();
    assert_eq!(taken.len(), 1);
    assert_eq!(taken[0].1.as_ref().map(|i| i.base_cluster()), Some(CLUSTER), "each call comes with its cluster's init");
    assert!(vm.take_new_redis_calls().is_empty());
    let call = vm.redis_calls()[0].clone();
    assert_eq!(call.cluster, CLUSTER);
    assert_eq!(call.query, b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
    assert_eq!(call.token & 3, 3, "redis tokens carry Higress's tag");
    vm.respond_redis_call(call.token, RedisReply::Data(b"$5\r\nab".to_vec())).unwrap();
    assert_eq!(s.upstream().header("x-redis-reply"), Some("malformed"));
    let s = ask();
    let token = vm.redis_calls()[0].token;
    vm.respond_redis_call(token, RedisReply::Data(b":7\r\n".to_vec())).unwrap();
    assert_eq!(s.upstream().header("x-redis-reply"), Some(":7"));
    let s = ask();
    env.advance(Duration::from_millis(200));
    vm.poll().unwrap();
    assert_eq!(s.upstream().header("x-redis-reply"), Some("network"));
    assert!(!vm.is_failed());
}

#[test]
fn a_redis_that_never_answers_times_out_as_a_network_error() {
    // Accepts connections and never replies.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let held = std::thread::spawn(move || {
        let connections: Vec<_> = listener.incoming().take(1).collect();
        std::thread::sleep(Duration::from_secs(2));
        drop(connections);
    });
    let env = Env::new();
    env.add_cluster(CLUSTER, Upstream::Address(address));
    let vm = Vm::builder(&testing::plugin("sdk-probe"))
        .env(&env)
        .config_json(&json!({"redis": {"service_name": "redis.static", "service_port": 6379, "timeout": 200}}))
        .start()
        .unwrap();
    let started = std::time::Instant::now();
    assert_eq!(call(&vm, "get", "k"), "network");
    assert!(started.elapsed() < Duration::from_secs(2), "the host gave up after the plugin's timeout");
    drop(held);
}
