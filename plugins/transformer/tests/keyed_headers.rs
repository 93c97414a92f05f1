//! Header rules run key by key on the host's map (the fast path, `src/keyed.rs`) leave the
//! headers as the whole-map path does. A config that also maps a header into the query (or,
//! for responses, into the body) reads the headers whole; the same rules with and without
//! that no-op rule must give the same headers, name by name.
// Helpers outside #[test] functions may panic too: a failing test should fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use higress_host::testing::{self, request, Request};
use higress_host::{HeaderMap, Stream, Vm};
use proptest::prelude::*;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Each header name's values in order: what HTTP gives a meaning to (not the order of
/// different names).
type Grouped = BTreeMap<Vec<u8>, Vec<Vec<u8>>>;

fn grouped(map: &HeaderMap) -> Grouped {
    let mut grouped = Grouped::new();
    for (name, value) in map.iter() {
        grouped.entry(name.to_vec()).or_default().push(value.to_vec());
    }
    grouped
}

/// A rule that reads the headers whole and changes nothing (the header never comes).
fn whole_map_rule(target: &str) -> Value {
    json!({"operate": "map", "mapSource": "headers", target: [{"fromKey": "x-never-sent", "toKey": "never"}]})
}

/// The VM running `rules` key by key when it can, and the one reading the headers whole.
fn fast_and_whole(rules: &[Value]) -> (Vm, Vm) {
    let with = |extra: Option<(Value, Value)>| {
        let (mut request_rules, mut response_rules) = (rules.to_vec(), rules.to_vec());
        if let Some((on_request, on_response)) = extra {
            request_rules.push(on_request);
            response_rules.push(on_response);
        }
        testing::vm("transformer", &json!({"reqRules": request_rules, "respRules": response_rules}))
    };
    (with(None), with(Some((whole_map_rule("querys"), whole_map_rule("body")))))
}

/// Sends `req` and a response with `response_headers` (no body); the request and response
/// headers as they left.
fn exchange(vm: &Vm, req: Request, response_headers: &[(&str, &str)]) -> (Grouped, Grouped, Stream) {
    let s = req.send(vm);
    assert!(s.traps().is_empty(), "{:?}", s.traps());
    let mut map = HeaderMap::from_pairs(&[(":status", "200")]);
    for (k, v) in response_headers {
        map.add(k.as_bytes(), v.as_bytes());
    }
    s.send_response_headers(map, true).unwrap();
    let up = grouped(s.upstream().headers.as_ref().unwrap());
    let down = grouped(s.response().headers.as_ref().unwrap());
    (up, down, s)
}

fn assert_same(rules: &[Value], req: impl Fn() -> Request, response_headers: &[(&str, &str)]) {
    let (fast, whole) = fast_and_whole(rules);
    let (up_fast, down_fast, _) = exchange(&fast, req(), response_headers);
    let (up_whole, down_whole, _) = exchange(&whole, req(), response_headers);
    assert_eq!(up_fast, up_whole, "request headers, rules {rules:?}");
    assert_eq!(down_fast, down_whole, "response headers, rules {rules:?}");
}

fn client() -> Request {
    request("GET", "api.example.com", "/p?q=1&q=2&bad=%0D%0A")
        .header("a", "1")
        .header("B", "x, y ,z")
        .header("a", "2")
        .header("c", "1")
        .header("c", "1")
}

const SERVER: [(&str, &str); 4] = [("a", "1"), ("b", "x, y ,z"), ("a", "2"), ("server", "s")];

#[test]
fn each_operation_on_present_and_absent_keys() {
    let cases = [
        json!({"operate": "remove", "headers": [{"key": "A"}, {"key": "absent"}]}),
        json!({"operate": "replace", "headers": [{"key": "a", "newValue": "r"}, {"key": "new", "newValue": "n"}]}),
        json!({"operate": "add", "headers": [{"key": "a", "value": "x"}, {"key": "new", "value": "1"}, {"key": "new", "value": "2"}]}),
        json!({"operate": "append", "headers": [{"key": "a", "appendValue": "3"}, {"key": "new", "appendValue": "1"}]}),
        json!({"operate": "rename", "headers": [{"oldKey": "absent", "newKey": "x"}, {"oldKey": "same", "newKey": "SAME"}]}),
        json!({"operate": "rename", "headers": [{"oldKey": "a", "newKey": "b"}, {"oldKey": "absent", "newKey": "x"}]}),
        json!({"operate": "map", "headers": [{"fromKey": "absent", "toKey": "x"}]}),
        json!({"operate": "map", "headers": [{"fromKey": "a", "toKey": "c"}]}),
        json!({"operate": "map", "mapSource": "querys", "headers": [{"fromKey": "q", "toKey": "x-q"}, {"fromKey": "bad", "toKey": "x-bad"}]}),
        json!({"operate": "dedupe", "headers": [{"key": "a"}, {"key": "b", "strategy": "SPLIT_AND_RETAIN_LAST"},
            {"key": "absent", "strategy": "RETAIN_UNIQUE"}]}),
        json!({"operate": "dedupe", "headers": [{"key": "b", "strategy": "SPLIT_AND_RETAIN_FIRST"}, {"key": "c", "strategy": "RETAIN_UNIQUE"}]}),
        json!({"operate": "dedupe", "headers": [{"key": "a", "strategy": "RETAIN_LAST"}]}),
        json!({"operate": "add", "headers": [{"key": "x-host", "value": "h-$1", "host_pattern": "^(\\w+)"}]}),
    ];
    for rule in &cases {
        assert_same(std::slice::from_ref(rule), client, &SERVER);
    }
    // Rules after one that needs the whole map run on it, with what the earlier ones wrote.
    assert_same(&cases, client, &SERVER);
}

/// A template's value is made of the request's host or path: with CR in the host, the
/// value cannot be written, and a later `add` must still see the key as the whole map has it.
#[test]
fn a_template_that_would_write_cr_takes_the_whole_map() {
    let rules = [
        json!({"operate": "replace", "headers": [{"key": "x-h", "newValue": "$1", "host_pattern": "^(.*)$"}]}),
        json!({"operate": "add", "headers": [{"key": "x-h", "value": "added"}]}),
    ];
    let req = || request("GET", "h", "/").without(":authority").header_bytes(":authority", b"a\rb");
    assert_same(&rules, req, &[]);
    let (fast, _) = fast_and_whole(&rules);
    let (up, _, _) = exchange(&fast, req(), &[]);
    assert!(!up.contains_key(b"x-h".as_slice()), "{up:?}");
    assert!(fast.logged("header x-h not set: its value holds CR, LF or NUL"));
}

#[test]
fn rules_on_named_headers_do_not_read_the_whole_map() {
    let rules = [json!({"operate": "add", "headers": [{"key": "x-added", "value": "1"}]})];
    let (fast, whole) = fast_and_whole(&rules);
    let req = || (0..12).fold(client(), |req, i| req.header(&format!("x-h{i}"), "value"));
    let (up, _, fast_stream) = exchange(&fast, req(), &[]);
    let (_, _, whole_stream) = exchange(&whole, req(), &[]);
    assert_eq!(up.get(b"x-added".as_slice()), Some(&vec![b"1".to_vec()]));
    let (fast_cost, whole_cost) = (fast_stream.instructions(), whole_stream.instructions());
    assert!(fast_cost * 3 < whole_cost, "key by key {fast_cost}, whole map {whole_cost}");
}

fn rule() -> impl Strategy<Value = Value> {
    let key = || prop_oneof![Just("a"), Just("B"), Just("c"), Just("new")];
    let value = || prop_oneof![Just("1"), Just("v"), Just("x, y ,z")];
    let strategy = prop_oneof![
        Just("RETAIN_FIRST"),
        Just("RETAIN_LAST"),
        Just("RETAIN_UNIQUE"),
        Just("SPLIT_AND_RETAIN_FIRST"),
        Just("SPLIT_AND_RETAIN_LAST")
    ];
    prop_oneof![
        key().prop_map(|k| json!({"operate": "remove", "headers": [{"key": k}]})),
        (key(), key()).prop_map(|(o, n)| json!({"operate": "rename", "headers": [{"oldKey": o, "newKey": n}]})),
        (key(), value()).prop_map(|(k, v)| json!({"operate": "replace", "headers": [{"key": k, "newValue": v}]})),
        (key(), value()).prop_map(|(k, v)| json!({"operate": "add", "headers": [{"key": k, "value": v}]})),
        (key(), value()).prop_map(|(k, v)| json!({"operate": "append", "headers": [{"key": k, "appendValue": v}]})),
        key().prop_map(
            |k| json!({"operate": "append", "headers": [{"key": k, "appendValue": "h-$1", "host_pattern": "^(\\w+)"}]})
        ),
        (key(), key()).prop_map(|(f, t)| json!({"operate": "map", "headers": [{"fromKey": f, "toKey": t}]})),
        (prop_oneof![Just("q"), Just("bad"), Just("none")], key()).prop_map(
            |(f, t)| json!({"operate": "map", "mapSource": "querys", "headers": [{"fromKey": f, "toKey": t}]})
        ),
        (key(), strategy).prop_map(|(k, s)| json!({"operate": "dedupe", "headers": [{"key": k, "strategy": s}]})),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
    #[test]
    fn random_rules_and_headers_agree(
        rules in proptest::collection::vec(rule(), 1..6),
        headers in proptest::collection::vec(
            (prop_oneof![Just("a"), Just("b"), Just("C"), Just("d")], prop_oneof![Just("1"), Just("2"), Just("x, y ,z")]), 0..6),
    ) {
        let req = || headers.iter().fold(client(), |req, (k, v)| req.header(k, v));
        let server: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, *v)).collect();
        assert_same(&rules, req, &server);
    }
}
