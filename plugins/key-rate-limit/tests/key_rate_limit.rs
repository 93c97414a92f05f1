//! key-rate-limit on the compiled `.wasm`: keys from headers and parameters, the shared bucket
//! across VMs, continuous refill, Higress's global_auth modes, config errors.
// Helpers outside #[test] functions may panic too: a failing test should fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use higress_host::testing::{self, request, Request};
use higress_host::{Env, Vm};
use serde_json::{json, Value};
use std::time::Duration;

fn vm_on(env: &Env, config: &Value) -> Vm {
    Vm::builder(&testing::plugin("key-rate-limit"))
        .env(env)
        .config_json(config)
        .start()
        .unwrap_or_else(|e| panic!("{e}"))
}

fn clock() -> Env {
    Env::with_manual_clock(Duration::from_secs(1_800_000_000))
}

/// Whether the request went upstream; a refusal must be Higress's reply.
fn admitted(vm: &Vm, req: Request) -> bool {
    let s = req.send(vm);
    match s.local_response() {
        None => true,
        Some(reply) => {
            assert_eq!(reply.status, 429);
            assert_eq!(String::from_utf8_lossy(&reply.body), "Too many requests");
            assert_eq!(reply.headers.get("www-authenticate"), Some("Key rate realm=MSE Gateway"));
            assert_eq!(reply.details, "key-rate-limit.limited");
            false
        }
    }
}

fn by_header(key: &str) -> Request {
    request("GET", "example.com", "/").header("x-ca-key", key)
}

fn header_config() -> Value {
    json!({"limit_by_header": "x-ca-key", "limit_keys": [
        {"key": "102234", "query_per_second": 2},
        {"key": "308239", "query_per_minute": 3}
    ]})
}

#[test]
fn limits_per_header_value() {
    let env = clock();
    let vm = vm_on(&env, &header_config());
    let results: Vec<bool> = (0..4).map(|_| admitted(&vm, by_header("102234"))).collect();
    assert_eq!(results, [true, true, false, false]);
    // Another key has its own bucket; unknown keys and requests without one are not limited.
    assert!((0..3).all(|_| admitted(&vm, by_header("308239"))));
    assert!(!admitted(&vm, by_header("308239")));
    assert!((0..10).all(|_| admitted(&vm, by_header("unknown"))));
    assert!((0..10).all(|_| admitted(&vm, request("GET", "example.com", "/"))));
    assert!((0..10).all(|_| admitted(&vm, by_header(""))));
}

#[test]
fn limits_per_query_parameter_value() {
    let env = clock();
    let vm = vm_on(&env, &json!({"limit_by_param": "apikey", "limit_keys": [{"key": "k 1", "query_per_hour": 2}]}));
    let get = |path: &str| admitted(&vm, request("GET", "example.com", path));
    // Names and values are decoded; the first non-empty value is the key.
    assert!(get("/?apikey=k+1"));
    assert!(get("/?a=b&api%6Bey=k%201"));
    assert!(!get("/?apikey=&apikey=k%201"));
    assert!(get("/?apikey=k2"));
    assert!(get("/p"));
    // The header wins when both are configured.
    let both = vm_on(
        &env,
        &json!({"limit_by_header": "x-ca-key", "limit_by_param": "apikey", "limit_keys": [{"key": "h", "query_per_day": 1}]}),
    );
    assert!(admitted(&both, request("GET", "e.com", "/?apikey=h").header("x-ca-key", "h")));
    assert!(!admitted(&both, request("GET", "e.com", "/?apikey=x").header("x-ca-key", "h")));
    assert!(admitted(&both, request("GET", "e.com", "/?apikey=h")));
}

#[test]
fn the_bucket_refills_continuously() {
    let env = clock();
    let vm = vm_on(&env, &json!({"limit_by_header": "x-ca-key", "limit_keys": [{"key": "k", "query_per_minute": 4}]}));
    let take = |n: usize| (0..n).filter(|_| admitted(&vm, by_header("k"))).count();
    assert_eq!(take(6), 4);
    // One token every 15 s: not a whole window's worth at the minute's turn.
    env.advance(Duration::from_secs(14));
    assert_eq!(take(2), 0);
    env.advance(Duration::from_secs(1));
    assert_eq!(take(2), 1);
    env.advance(Duration::from_secs(30));
    assert_eq!(take(3), 2);
    // A long pause fills the bucket to its capacity, no further.
    env.advance(Duration::from_secs(3_600));
    assert_eq!(take(10), 4);
}

#[test]
fn every_vm_shares_one_bucket() {
    // Envoy runs one VM per worker: they share shared data, so the limit is the gateway's.
    let env = clock();
    let vms: Vec<Vm> = (0..3).map(|_| vm_on(&env, &header_config())).collect();
    let admitted_count = (0..9).filter(|i| admitted(&vms[i % 3], by_header("308239"))).count();
    assert_eq!(admitted_count, 3);
}

#[test]
fn rules_and_global_auth_as_in_higress() {
    let env = clock();
    let limits = json!([{"key": "k", "query_per_minute": 1}]);
    // With rules and no global_auth, the global config limits nothing; a rule with only
    // `allow` (what Higress's Go plugin requires) takes the global limits.
    let vm = vm_on(
        &env,
        &json!({"limit_by_header": "x-ca-key", "limit_keys": limits,
            "_rules_": [{"_match_domain_": ["limited.com"], "allow": ["c1"]},
                        {"_match_domain_": ["own.com"], "limit_keys": [{"key": "k", "query_per_minute": 2}]}]}),
    );
    let on = |host: &str| admitted(&vm, request("GET", host, "/").header("x-ca-key", "k"));
    assert!((0..5).all(|_| on("other.com")));
    assert_eq!((0..3).filter(|_| on("limited.com")).count(), 1);
    // Each rule has its own buckets.
    assert_eq!((0..3).filter(|_| on("own.com")).count(), 2);
    // global_auth: true limits everywhere; without rules the global config limits.
    let all = vm_on(
        &env,
        &json!({"global_auth": true, "limit_by_header": "x-ca-key", "limit_keys": limits,
            "_rules_": [{"_match_domain_": ["x.com"], "allow": ["c1"]}]}),
    );
    assert_eq!((0..3).filter(|_| admitted(&all, request("GET", "other.org", "/").header("x-ca-key", "k"))).count(), 1);
    let off = vm_on(&env, &json!({"global_auth": false, "limit_by_header": "x-ca-key", "limit_keys": limits}));
    assert!((0..3).all(|_| admitted(&off, request("GET", "other.org", "/").header("x-ca-key", "k"))));
}

#[test]
fn config_errors_name_the_field() {
    let plugin = testing::plugin("key-rate-limit");
    let keys = json!([{"key": "k", "query_per_second": 1}]);
    for (config, expected) in [
        (json!({"limit_keys": keys}), "limit_by_header: one of limit_by_header and limit_by_param is required"),
        (json!({"limit_by_header": "", "limit_keys": keys}), "limit_by_header: one of"),
        (json!({"limit_by_header": "h"}), "missing field `limit_keys`"),
        (json!({"limit_by_header": "h", "limit_keys": []}), "limit_keys: is required and cannot be empty"),
        (
            json!({"limit_by_header": "h", "limit_keys": [{"query_per_second": 1}]}),
            "limit_keys[0]: missing field `key`",
        ),
        (
            json!({"limit_by_header": "h", "limit_keys": [{"key": "", "query_per_second": 1}]}),
            "limit_keys[0].key: is required",
        ),
        (json!({"limit_by_header": "h", "limit_keys": [{"key": "k"}]}), "limit_keys[0]: one of query_per_second"),
        (json!({"limit_by_header": "h", "limit_keys": [{"key": "k", "query_per_minute": 0}]}), "limit_keys[0]: one of"),
        (json!({"limit_by_header": "h", "limit_keys": [{"key": "k", "query_per_day": -5}]}), "limit_keys[0]: one of"),
        (
            json!({"limit_by_header": "h", "limit_keys": [{"key": "k", "query_per_second": 1, "query_per_hour": 9}]}),
            "limit_keys[0]: only one window per key: both query_per_second and query_per_hour are set",
        ),
        (
            json!({"limit_by_header": "h", "limit_keys": [{"key": "k", "query_per_second": 1}, {"key": "k", "query_per_day": 1}]}),
            "limit_keys[1].key: duplicate key `k`",
        ),
        (
            json!({"limit_by_header": "h", "limit_keys": [{"key": "k", "query_per_second": "ten"}]}),
            "limit_keys[0].query_per_second: invalid type",
        ),
    ] {
        let line = testing::config_error(&plugin, &config);
        assert!(line.contains(&format!("key-rate-limit config error: {expected}")), "{line}\n  expected: {expected}");
    }
}
