//! key-auth on the compiled `.wasm`: Higress's conformance cases, global_auth modes, rules,
//! config errors, and random input.
// Helpers outside #[test] functions may panic too: a failing test should fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use higress_host::testing::{self, request};
use higress_host::{Stream, Vm};
use proptest::prelude::*;
use serde_json::{json, Value};

const NO_KEY: &str = "Request denied by Key Auth check. No Key Authentication information found.";
const MULTI: &str = "Request denied by Key Auth check. Multi Key Authentication information found.";
const UNAUTHORIZED: &str = "Request denied by Key Auth check. Unauthorized consumer.";

fn consumers() -> Value {
    json!([{"name": "consumer1", "credential": "token1"}, {"name": "consumer2", "credential": "token2"}])
}

fn vm(config: Value) -> Vm {
    testing::vm("key-auth", &config)
}

/// The WasmPlugin of Higress's e2e conformance test for key-auth.
fn conformance() -> Vm {
    vm(json!({
        "consumers": consumers(),
        "global_auth": false,
        "keys": ["x-api-key", "apikey"],
        "in_header": true,
        "_rules_": [{"_match_route_": ["foo-route"], "allow": ["consumer1"]}]
    }))
}

fn assert_denied(s: &Stream, status: u16, details: &str, body: &str) {
    higress_auth::testing::assert_auth_denied(s, "Key", status, details, body);
}

fn passed(s: &Stream) -> Option<String> {
    higress_auth::testing::upstream_consumer(s)
}

#[test]
fn conformance_cases() {
    let vm = conformance();
    let foo = || request("GET", "foo.com", "/foo").route("foo-route");
    assert_eq!(passed(&foo().header("x-api-key", "token1").send(&vm)).as_deref(), Some("consumer1"));
    assert_denied(&foo().send(&vm), 401, "key-auth.no_key", NO_KEY);
    assert_denied(
        &foo().header("x-api-key", "xxxxxxxxxnotfoundtoken").send(&vm),
        403,
        "key-auth.unauthorized",
        UNAUTHORIZED,
    );
    assert_denied(&foo().header("x-api-key", "token2").send(&vm), 403, "key-auth.unauthorized", UNAUTHORIZED);
    assert_denied(
        &foo().header("apikey", "token1").header("x-api-key", "token1").send(&vm),
        401,
        "key-auth.multi_key",
        MULTI,
    );
    // Routes without a rule are not protected when global_auth is false.
    assert_eq!(passed(&request("GET", "foo.com", "/other").route("other").send(&vm)), None);
}

#[test]
fn the_consumer_header_cannot_be_forged() {
    let vm = conformance();
    let s = request("GET", "foo.com", "/foo")
        .route("foo-route")
        .header("x-api-key", "token1")
        .header("x-mse-consumer", "admin")
        .send(&vm);
    assert_eq!(s.upstream().headers.unwrap().get_all("x-mse-consumer"), vec!["consumer1"]);
}

#[test]
fn global_auth_modes() {
    let base = json!({"consumers": consumers(), "keys": ["x-api-key"]});
    let with = |extra: Value| {
        let mut c = base.clone();
        c.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        vm(c)
    };
    let rule = json!([{"_match_route_": ["r"], "allow": ["consumer1"]}]);
    let anon = |vm: &Vm, route: &str| request("GET", "h", "/").route(route).send(vm);
    let keyed =
        |vm: &Vm, route: &str, key: &str| request("GET", "h", "/").route(route).header("x-api-key", key).send(vm);

    // Unset without rules: global. Unset with rules: only rules protect.
    let v = with(json!({}));
    assert_denied(&anon(&v, "x"), 401, "key-auth.no_key", NO_KEY);
    assert_eq!(passed(&keyed(&v, "x", "token2")).as_deref(), Some("consumer2"));
    let v = with(json!({"_rules_": rule}));
    assert_eq!(passed(&anon(&v, "x")), None);
    assert_denied(&keyed(&v, "r", "token2"), 403, "key-auth.unauthorized", UNAUTHORIZED);
    assert_eq!(passed(&keyed(&v, "r", "token1")).as_deref(), Some("consumer1"));

    // true: everything authenticated, rules add allow lists.
    let v = with(json!({"global_auth": true, "_rules_": rule}));
    assert_denied(&anon(&v, "x"), 401, "key-auth.no_key", NO_KEY);
    assert_eq!(passed(&keyed(&v, "x", "token2")).as_deref(), Some("consumer2"));
    assert_denied(&keyed(&v, "r", "token2"), 403, "key-auth.unauthorized", UNAUTHORIZED);

    // false without rules: nothing protected.
    let v = with(json!({"global_auth": false}));
    assert_eq!(passed(&anon(&v, "x")), None);
}

#[test]
fn domain_and_service_rules() {
    let v = vm(json!({
        "consumers": consumers(),
        "keys": ["x-api-key"],
        "_rules_": [
            {"_match_domain_": ["*.example.com"], "allow": ["consumer2"]},
            {"_match_service_": ["orders.static:8080"], "allow": ["consumer1"]}
        ]
    }));
    let s = request("GET", "api.example.com", "/").header("x-api-key", "token2").send(&v);
    assert_eq!(passed(&s).as_deref(), Some("consumer2"));
    let s = request("GET", "api.example.com", "/").header("x-api-key", "token1").send(&v);
    assert_denied(&s, 403, "key-auth.unauthorized", UNAUTHORIZED);
    let s =
        request("GET", "other.com", "/").cluster("outbound|8080||orders.static").header("x-api-key", "token1").send(&v);
    assert_eq!(passed(&s).as_deref(), Some("consumer1"));
    assert_eq!(passed(&request("GET", "other.com", "/").send(&v)), None);
}

#[test]
fn keys_in_query_parameters() {
    let v = vm(json!({"consumers": consumers(), "keys": ["apikey"], "in_query": true}));
    assert_eq!(passed(&request("GET", "h", "/p?apikey=token1").send(&v)).as_deref(), Some("consumer1"));
    assert_eq!(
        passed(&request("GET", "h", "/p?x=1&apikey=tok%65n2").send(&v)).as_deref(),
        Some("consumer2"),
        "decoded"
    );
    assert_denied(&request("GET", "h", "/p?apikey=token1&apikey=token2").send(&v), 401, "key-auth.multi_key", MULTI);
    assert_denied(&request("GET", "h", "/p?apikey=").send(&v), 401, "key-auth.no_key", NO_KEY);
    assert_denied(&request("GET", "h", "/p").header("apikey", "token1").send(&v), 401, "key-auth.no_key", NO_KEY);
    let both = vm(json!({"consumers": consumers(), "keys": ["apikey"], "in_query": true, "in_header": true}));
    assert_eq!(passed(&request("GET", "h", "/p").header("apikey", "token1").send(&both)).as_deref(), Some("consumer1"));
    assert_denied(
        &request("GET", "h", "/p?apikey=token1").header("apikey", "token1").send(&both),
        401,
        "key-auth.multi_key",
        MULTI,
    );
}

#[test]
fn header_only_when_neither_source_is_configured() {
    let v = vm(json!({"consumers": consumers(), "keys": ["X-API-KEY"]}));
    assert_eq!(passed(&request("GET", "h", "/").header("x-api-key", "token1").send(&v)).as_deref(), Some("consumer1"));
    assert_denied(&request("GET", "h", "/?X-API-KEY=token1").send(&v), 401, "key-auth.no_key", NO_KEY);
}

#[test]
fn a_consumer_may_have_several_keys() {
    let v = vm(
        json!({"consumers": [{"name": "c", "credential": "k1"}, {"name": "c", "credential": "k2"}], "keys": ["x-api-key"]}),
    );
    assert_eq!(passed(&request("GET", "h", "/").header("x-api-key", "k2").send(&v)).as_deref(), Some("c"));
}

#[test]
fn config_errors_name_the_field() {
    let plugin = testing::plugin("key-auth");
    let cases = [
        (json!({"keys": ["k"]}), "missing field `consumers`"),
        (json!({"keys": ["k"], "consumers": []}), "consumers: cannot be empty"),
        (json!({"consumers": consumers()}), "missing field `keys`"),
        (json!({"keys": [], "consumers": consumers()}), "keys: cannot be empty"),
        (
            json!({"keys": ["k"], "consumers": [{"name": "a", "credential": "x"}, {"name": "b", "credential": "x"}]}),
            "consumers[1].credential: duplicate credential `x`",
        ),
        (json!({"keys": ["k"], "consumers": [{"name": "", "credential": "x"}]}), "consumers[0].name: cannot be empty"),
        (json!({"keys": ["k"], "consumers": [{"name": "a"}]}), "consumers[0]: missing field `credential`"),
        (
            json!({"keys": ["k"], "in_header": false, "in_query": false, "consumers": consumers()}),
            "in_header: at least one of in_header and in_query must be true",
        ),
        (
            json!({"keys": ["k"], "consumers": consumers(), "_rules_": [{"_match_route_": ["r"]}]}),
            "_rules_[0].allow: is required in a rule",
        ),
        (
            json!({"keys": ["k"], "consumers": consumers(), "_rules_": [{"_match_route_": ["r"], "allow": []}]}),
            "_rules_[0].allow: cannot be empty",
        ),
        (
            json!({"keys": ["k"], "consumers": consumers(), "allow": ["consumer1"], "_rules_": [{"_match_route_": ["r"]}]}),
            "_rules_[0].allow: is required in a rule",
        ),
    ];
    for (config, expected) in cases {
        let line = testing::config_error(&plugin, &config);
        assert!(line.contains(&format!("key-auth config error: {expected}")), "{line}\n  expected: {expected}");
    }
}

/// Higress's Go plugin accepts an `allow` in the global config and ignores it: so do we,
/// with a warning, and it is not merged into rules.
#[test]
fn a_global_allow_is_ignored_with_a_warning() {
    let config = json!({"keys": ["x-api-key"], "in_header": true, "consumers": consumers(), "allow": ["consumer1"]});
    let vm = Vm::builder(&testing::plugin("key-auth")).config_json(&config).start().unwrap();
    let logs = vm.take_logs();
    let warning = logs.iter().find(|l| l.message.contains("allow in the global config is ignored")).unwrap();
    assert_eq!(warning.level, higress_host::LogLevel::Warn);
    let s = request("GET", "foo.com", "/").header("x-api-key", "token2").send(&vm);
    assert_eq!(higress_auth::testing::upstream_consumer(&s).as_deref(), Some("consumer2"));
    let s = request("GET", "foo.com", "/").send(&vm);
    assert_eq!(s.response().status(), Some(401));
}

fn header_name() -> impl Strategy<Value = String> {
    prop_oneof![Just("x-api-key".to_string()), Just("apikey".to_string()), "[a-z-]{1,12}"]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
    /// Random headers and query strings get exactly the reply the key model predicts, and
    /// never break the VM.
    #[test]
    fn random_input_keeps_the_vm_serving(
        headers in proptest::collection::vec((header_name(), proptest::collection::vec(any::<u8>(), 0..64)), 0..6),
        query in "[ -~]{0,80}",
    ) {
        let vm = shared_vm();
        let mut req = request("GET", "foo.com", &format!("/foo?{query}")).route("foo-route");
        for (name, value) in &headers {
            req = req.header_bytes(name, value);
        }
        let s = req.send(&vm);
        // The model: the first value of each key header, when not empty, is a key found.
        let found: Vec<String> = ["x-api-key", "apikey"]
            .iter()
            .filter_map(|key| headers.iter().find(|(n, _)| n == key))
            .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
            .filter(|v| !v.is_empty())
            .collect();
        match found.as_slice() {
            [] => assert_denied(&s, 401, "key-auth.no_key", NO_KEY),
            [one] if one == "token1" => prop_assert_eq!(passed(&s), Some("consumer1".to_string())),
            [_] => assert_denied(&s, 403, "key-auth.unauthorized", UNAUTHORIZED),
            _ => assert_denied(&s, 401, "key-auth.multi_key", MULTI),
        }
        prop_assert!(!vm.is_failed());
        let ok = request("GET", "foo.com", "/foo").route("foo-route").header("x-api-key", "token1").send(&vm);
        let up = ok.upstream();
        prop_assert_eq!(up.header("x-mse-consumer"), Some("consumer1"));
    }
}

thread_local! {
    static VM: Vm = conformance();
}

fn shared_vm() -> Vm {
    VM.with(Vm::clone)
}
