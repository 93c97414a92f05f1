//! custom-response on the compiled `.wasm`: Higress's conformance cases (with basic-auth in
//! the chain), the Go unit tests' cases, status patterns, config errors, bad input and
//! random responses.
// Helpers outside #[test] functions may panic too: a failing test should fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use base64::Engine;
use higress_host::testing::{self, request};
use higress_host::{Env, Filter, HeaderMap, Message, Stream, Vm};
use proptest::prelude::*;
use serde_json::{json, Value};

const REPLY: &str = "custom-response.reply";
const ON_STATUS: &str = "custom-response.on_status";
const JSON: &str = "application/json; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";

fn vm(config: Value) -> Vm {
    testing::vm("custom-response", &config)
}

/// A request through `vm` that reaches the upstream, which answers `status` with a body.
fn upstream_answers(vm: &Vm, status: &str) -> Stream {
    let s = request("GET", "h", "/").send(vm);
    assert!(s.local_response().is_none(), "answered in the request phase");
    assert!(s.upstream().end_of_stream);
    answer(&s, status);
    s
}

/// The upstream answers `status` with a JSON body.
fn answer(s: &Stream, status: &str) {
    let headers = HeaderMap::from_pairs(&[(":status", status), ("content-type", "application/json"), ("x-up", "1")]);
    s.send_response_headers(headers, false).unwrap();
    // Ignored when the response was replaced (the stream is answered).
    let _ = s.send_response_body(br#"{"from":"upstream"}"#, true);
}

/// Asserts what the client got: status, headers (name, value) present, body.
fn assert_reply(m: &Message, status: u16, headers: &[(&str, &str)], body: &str) {
    assert_eq!(m.status(), Some(status), "{m:?}");
    for (name, value) in headers {
        assert_eq!(m.header(name), Some(*value), "{name} in {m:?}");
    }
    assert_eq!(m.body_text(), body);
    assert!(m.end_of_stream);
}

fn assert_untouched(s: &Stream, status: u16) {
    assert!(s.local_response().is_none(), "{:?}", s.local_response());
    let m = s.response();
    assert_eq!(m.status(), Some(status));
    assert_eq!(m.header("x-up"), Some("1"));
    assert_eq!(m.body_text(), r#"{"from":"upstream"}"#);
}

fn details(s: &Stream) -> String {
    s.local_response().map(|l| l.details).unwrap_or_default()
}

/// Higress's conformance config (go-wasm-custom-response.yaml), with its basic-auth plugin:
/// custom-response (priority 200) runs before basic-auth (priority 100).
fn conformance_chain() -> (Vm, Vm) {
    let env = Env::new();
    let custom = json!({
        "headers": ["key1=value1"],
        "body": "{\"hello\":\"foo\"}",
        "_rules_": [
            {"_match_domain_": ["bar.com"], "headers": ["key2=value2"], "body": "{\"hello\":\"bar\"}"},
            {"_match_domain_": ["baz.com"], "enable_on_status": [401], "headers": ["key3=value3"], "body": "{\"hello\":\"baz\"}"},
            {"_match_domain_": ["qux.com"], "status_code": 201, "headers": ["key5=value5"], "body": "{\"hello\":\"qux\"}"}
        ]
    });
    let auth = json!({
        "consumers": [{"credential": "admin:123456", "name": "consumer1"}],
        "global_auth": false,
        "_rules_": [{"_match_domain_": ["baz.com"], "allow": ["consumer1"]}]
    });
    let start = |name: &str, config: &Value| {
        Vm::builder(&testing::plugin(name)).env(&env).config_json(config).start().unwrap_or_else(|e| panic!("{e}"))
    };
    (start("custom-response", &custom), start("basic-auth", &auth))
}

fn send(chain: &(Vm, Vm), req: testing::Request) -> Stream {
    req.send_through(Stream::new([Filter::new(&chain.0), Filter::new(&chain.1)]))
}

#[test]
fn conformance_cases() {
    let chain = conformance_chain();
    // case 1: the global config answers every request.
    let s = send(&chain, request("GET", "foo.com", "/"));
    assert_reply(&s.response(), 200, &[("key1", "value1"), ("content-type", JSON)], r#"{"hello":"foo"}"#);
    assert_eq!(s.upstream().headers, None, "a mock never reaches the upstream");
    assert_eq!(details(&s), REPLY);
    // case 2: a rule's config.
    let s = send(&chain, request("GET", "bar.com", "/"));
    assert_reply(&s.response(), 200, &[("key2", "value2"), ("content-type", JSON)], r#"{"hello":"bar"}"#);
    assert_eq!(s.response().header("key1"), None, "rules do not inherit the global config");
    // case 3: basic-auth's 401 is replaced.
    let s = send(&chain, request("GET", "baz.com", "/"));
    assert_reply(&s.response(), 200, &[("key3", "value3"), ("content-type", JSON)], r#"{"hello":"baz"}"#);
    assert_eq!(s.response().header("www-authenticate"), None, "the whole 401 is replaced");
    assert_eq!(details(&s), ON_STATUS);
    assert_eq!(s.property_string("response.code_details").as_deref(), Some(ON_STATUS));
    assert!(s.is_complete());
    // case 4: with credentials the request passes and the upstream's 200 is untouched.
    let credential = base64::engine::general_purpose::STANDARD.encode("admin:123456");
    let s = send(&chain, request("GET", "baz.com", "/").header("authorization", &format!("Basic {credential}")));
    assert_eq!(s.upstream().header("x-mse-consumer"), Some("consumer1"));
    answer(&s, "200");
    assert_untouched(&s, 200);
    // case 5: the status code is changed.
    let s = send(&chain, request("GET", "qux.com", "/"));
    assert_reply(&s.response(), 201, &[("key5", "value5"), ("content-type", JSON)], r#"{"hello":"qux"}"#);
}

#[test]
fn the_upstreams_status_picks_the_rule() {
    // Go's multiRulesConfig.
    let vm = vm(json!({"rules": [
        {"body": "{\"hello\":\"world 200\"}", "enable_on_status": ["200", "201"], "headers": ["key1=value1", "key2=value2"], "status_code": 200},
        {"body": "{\"hello\":\"world 404\"}", "enable_on_status": ["404"], "headers": ["key1=value1", "key2=value2"], "status_code": 200}
    ]}));
    for (status, body) in
        [("200", r#"{"hello":"world 200"}"#), ("201", r#"{"hello":"world 200"}"#), ("404", r#"{"hello":"world 404"}"#)]
    {
        let s = upstream_answers(&vm, status);
        assert_reply(&s.response(), 200, &[("key1", "value1"), ("key2", "value2"), ("content-type", JSON)], body);
        assert_eq!(s.response().header("x-up"), None, "the upstream's headers are gone");
        assert_eq!(details(&s), ON_STATUS);
    }
    assert_untouched(&upstream_answers(&vm, "500"), 500);
}

#[test]
fn patterns_most_specific_first() {
    // Go's fuzzyMatchConfig: exact 200, then 40x before 4xx (Go picks at random between
    // matching patterns; here the one with the fewest x wins).
    let rule = |body: &str, on: Value| json!({"body": body, "enable_on_status": on, "headers": ["key1=value1"]});
    let vm = vm(json!({"rules": [
        rule("{\"hello\":\"world 200\"}", json!([200])),
        rule("{\"hello\":\"world 4xx\"}", json!(["4xx"])),
        rule("{\"hello\":\"world 40x\"}", json!(["40x"])),
    ]}));
    for (status, body) in [
        ("200", r#"{"hello":"world 200"}"#),
        ("404", r#"{"hello":"world 40x"}"#),
        ("400", r#"{"hello":"world 40x"}"#),
        ("410", r#"{"hello":"world 4xx"}"#),
        ("499", r#"{"hello":"world 4xx"}"#),
    ] {
        assert_reply(&upstream_answers(&vm, status).response(), 200, &[("key1", "value1")], body);
    }
    assert_untouched(&upstream_answers(&vm, "201"), 201);
    assert_untouched(&upstream_answers(&vm, "500"), 500);
    // Patterns are case-insensitive and may sit anywhere.
    let vm = vm_with(
        json!({"rules": [{"body": "x04", "enable_on_status": ["X04"]}, {"body": "5x3", "enable_on_status": ["5x3"]}]}),
    );
    assert_reply(&upstream_answers(&vm, "504").response(), 200, &[("content-type", TEXT)], "x04");
    assert_reply(&upstream_answers(&vm, "204").response(), 200, &[], "x04");
    assert_reply(&upstream_answers(&vm, "513").response(), 200, &[], "5x3");
    assert_untouched(&upstream_answers(&vm, "514"), 514);
}

fn vm_with(config: Value) -> Vm {
    vm(config)
}

#[test]
fn old_form_go_unit_cases() {
    // basicConfig: no enable_on_status, every request is answered (Go returns ActionPause).
    let basic = vm(
        json!({"status_code": 200, "headers": ["Content-Type=application/json", "Hello=World"], "body": "{\"hello\":\"world\"}"}),
    );
    let s = request("GET", "example.com", "/test").send(&basic);
    assert_reply(
        &s.response(),
        200,
        &[("content-type", "application/json"), ("hello", "World")],
        r#"{"hello":"world"}"#,
    );
    assert_eq!(s.upstream().headers, None);
    // statusMatchConfig: 429 becomes a redirect.
    let redirect = vm(
        json!({"status_code": 302, "headers": ["Location=https://example.com"], "body": "Redirect to example.com", "enable_on_status": ["429"]}),
    );
    let s = upstream_answers(&redirect, "429");
    assert_reply(
        &s.response(),
        302,
        &[("location", "https://example.com"), ("content-type", TEXT)],
        "Redirect to example.com",
    );
    assert_untouched(&upstream_answers(&redirect, "200"), 200);
    // The README's rate-limit example: no body, no content-type at all.
    let bare = vm(json!({"enable_on_status": [429], "status_code": 302, "headers": ["Location=https://example.com"]}));
    let s = upstream_answers(&bare, "429");
    assert_reply(&s.response(), 302, &[("location", "https://example.com")], "");
    assert_eq!(s.response().header("content-type"), None, "Go sends an empty content-type; none here");
    // An empty config mocks every request with an empty 200.
    let empty = vm(json!({}));
    let s = request("GET", "h", "/").send(&empty);
    assert_reply(&s.response(), 200, &[], "");
}

#[test]
fn a_default_rule_with_status_rules_is_not_used() {
    // Go's defaultRuleConfig: rules with enable_on_status exist, so the rule without one is
    // ignored (Go's code; its README calls it a fallback) and requests pass.
    let vm = vm(json!({"rules": [
        {"body": "{\"hello\":\"world default\"}", "headers": ["key1=value1"], "status_code": 200},
        {"body": "{\"hello\":\"world 404\"}", "enable_on_status": ["404"], "status_code": 200}
    ]}));
    assert!(vm.logged("rules[0] has no enable_on_status and is not used"));
    assert_untouched(&upstream_answers(&vm, "500"), 500);
    assert_reply(&upstream_answers(&vm, "404").response(), 200, &[], r#"{"hello":"world 404"}"#);
    // pureDefaultRuleConfig: the first rule without enable_on_status answers every request.
    let pure = vm_with(json!({"rules": [
        {"body": "{\"hello\":\"world pure default\"}", "headers": ["key1=value1"], "status_code": 200},
        {"body": "second", "status_code": 500}
    ]}));
    let s = request("GET", "h", "/").send(&pure);
    assert_reply(&s.response(), 200, &[("key1", "value1")], r#"{"hello":"world pure default"}"#);
    assert_eq!(details(&s), REPLY);
}

#[test]
fn top_level_keys_are_ignored_beside_rules() {
    let vm = vm(json!({"body": "top", "rules": [{"body": "rule"}]}));
    assert!(vm.logged("are ignored: rules is set"));
    assert_reply(&request("GET", "h", "/").send(&vm).response(), 200, &[], "rule");
}

#[test]
fn a_replaced_response_drops_the_upstream_body() {
    let vm = vm(json!({"enable_on_status": ["5xx"], "status_code": 503, "body": "try later"}));
    let s = request("POST", "h", "/").body(vec![0xffu8; 100_000]).send(&vm);
    assert_eq!(s.upstream().body.len(), 100_000, "the request body is not read");
    let headers = HeaderMap::from_pairs(&[(":status", "502"), ("content-length", "1000000")]);
    s.send_response_headers(headers, false).unwrap();
    assert!(s.send_response_body(vec![b'x'; 1_000_000], true).is_err(), "the stream was answered");
    assert_reply(&s.response(), 503, &[("content-type", TEXT), ("content-length", "9")], "try later");
}

#[test]
fn bad_input_passes_untouched() {
    let vm = vm(json!({"enable_on_status": ["404"], "body": "gone"}));
    let filler = "v".repeat(4000);
    let mut req = request("GET", "h", "/").without(":path").header_bytes(":path", b"/\xff\xfe?\xc3");
    for i in 0..20 {
        req = req.header(&format!("x-big-{i}"), &filler);
    }
    let s = req.header_bytes("x-bin", b"\x00\xff").send(&vm);
    assert!(s.upstream().end_of_stream);
    answer(&s, "200");
    assert_untouched(&s, 200);
    // A response without a usable :status is left alone.
    for status in ["", "4040", "40", "abc", "40 "] {
        let s = request("GET", "h", "/").send(&vm);
        let headers = HeaderMap::from_pairs(&[(":status", status), ("x-up", "1")]);
        s.send_response_headers(headers, true).unwrap();
        assert!(s.local_response().is_none(), "{status:?}");
    }
    assert!(!vm.is_failed());
}

#[test]
fn rules_pick_the_config_per_route() {
    let vm = vm(json!({"_rules_": [
        {"_match_route_": ["mock"], "body": "mocked"},
        {"_match_route_": ["errors"], "enable_on_status": ["5xx"], "body": "sorry", "status_code": 500}
    ]}));
    let s = request("GET", "h", "/").route("mock").send(&vm);
    assert_reply(&s.response(), 200, &[], "mocked");
    let s = request("GET", "h", "/").route("errors").send(&vm);
    answer(&s, "503");
    assert_reply(&s.response(), 500, &[], "sorry");
    let s = request("GET", "h", "/").route("other").send(&vm);
    answer(&s, "503");
    assert_untouched(&s, 503);
}

#[test]
fn config_errors_name_the_field() {
    let plugin = testing::plugin("custom-response");
    let cases = [
        (json!({"rules": []}), "rules: cannot be empty"),
        (
            json!({"rules": [{"enable_on_status": ["invalid"]}]}),
            "rules[0].enable_on_status[0]: `invalid` is neither a status code",
        ),
        (json!({"enable_on_status": ["xxx"]}), "enable_on_status[0]: `xxx` must contain at least one digit"),
        (json!({"enable_on_status": ["4y4"]}), "enable_on_status[0]: `4y4` must contain only digits and x/X"),
        (json!({"enable_on_status": [42]}), "enable_on_status[0]: `42` is neither a status code"),
        (json!({"enable_on_status": [404, "404"]}), "enable_on_status[1]: 404 is already used by an earlier entry"),
        (
            json!({"rules": [{"enable_on_status": ["4xx"]}, {"enable_on_status": ["500", "4XX"]}]}),
            "rules[1].enable_on_status[1]: 4xx is already used by rules[0]",
        ),
        (
            json!({"rules": [{"enable_on_status": [404]}, {"enable_on_status": ["404"]}]}),
            "rules[1].enable_on_status[0]: 404 is already used by rules[0]",
        ),
        (json!({"rules": [{}, {"headers": ["a=1", "broken"]}]}), "rules[1].headers[1]: invalid header pair format"),
        (json!({"headers": ["=v"]}), "headers[0]: `` is not a header name"),
        (json!({"status_code": "abc"}), "status_code: `abc` is not a status code"),
        (json!({"status_code": 0}), "status_code: `0` is not a status code"),
        (json!({"status_code": 1000}), "status_code: `1000` is not a status code"),
        (
            json!({"status_code": 2.5}),
            "status_code: invalid type: floating point `2.5`, expected an integer or a string",
        ),
        (json!({"enable_on_status": "404"}), "enable_on_status: invalid type: string"),
        (json!({"rules": {"body": "x"}}), "rules: invalid type: map"),
        (json!({"body": 1}), "body: invalid type: integer"),
        (
            json!({"_rules_": [{"_match_domain_": ["a.com"], "rules": [{"status_code": "x"}]}]}),
            "_rules_[0].rules[0].status_code: `x` is not a status code",
        ),
    ];
    for (config, expected) in cases {
        let line = testing::config_error(&plugin, &config);
        assert!(line.contains(&format!("custom-response config error: {expected}")), "{line}\n  expected: {expected}");
    }
}

/// The rule the model picks for `code`: exact, then fewest `x`, then config order.
fn model(code: u16) -> Option<&'static str> {
    let digits = format!("{code:03}");
    let matches = |p: &str| p.bytes().zip(digits.bytes()).all(|(p, c)| p == b'x' || p == c);
    let mut rules: Vec<(usize, usize, &str)> = PATTERNS
        .iter()
        .enumerate()
        .filter(|(_, p)| matches(p))
        .map(|(i, p)| (p.bytes().filter(|b| *b == b'x').count(), i, *p))
        .collect();
    rules.sort();
    rules.first().map(|(_, _, p)| *p)
}

const PATTERNS: [&str; 8] = ["404", "40x", "4xx", "x04", "5x3", "xx9", "2x0", "x1x"];

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]
    /// Random upstream statuses get the rule the model predicts, random requests never break
    /// the VM.
    #[test]
    fn random_statuses_pick_the_model_rule(
        code in 100u16..1000,
        path in proptest::collection::vec(any::<u8>(), 0..64),
        value in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let vm = shared_vm();
        let mut full = b"/".to_vec();
        full.extend_from_slice(&path);
        let s = request("GET", "h", "/").without(":path").header_bytes(":path", &full).header_bytes("x-random", &value).send(&vm);
        prop_assert!(s.upstream().end_of_stream);
        answer(&s, &code.to_string());
        match model(code) {
            Some(pattern) => {
                prop_assert_eq!(s.response().body_text(), format!("rule {pattern}"));
                prop_assert_eq!(details(&s), ON_STATUS);
            }
            None => assert_untouched(&s, code),
        }
        prop_assert!(!vm.is_failed());
    }
}

thread_local! {
    static VM: Vm = vm(json!({"rules": PATTERNS.iter().map(|p| json!({"body": format!("rule {p}"), "enable_on_status": [p]})).collect::<Vec<_>>()}));
}

fn shared_vm() -> Vm {
    VM.with(Vm::clone)
}
