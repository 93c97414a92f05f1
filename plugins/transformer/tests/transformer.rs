//! transformer on the compiled `.wasm`, run in the proxy-wasm host as Envoy would: Higress's
//! conformance cases, its README examples, every operation on every target, strategies,
//! value types, templates, reroute, bodies (good, malformed, non-UTF-8, too large), config
//! errors, and random input.
// Helpers outside #[test] functions may panic too: a failing test should fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use higress_host::testing::{self, request};
use higress_host::{HeaderMap, Stream, Vm};
use proptest::prelude::*;
use serde_json::{json, Value};

fn vm(config: Value) -> Vm {
    testing::vm("transformer", &config)
}

/// Values of a header that reached the upstream.
fn up_all(s: &Stream, name: &str) -> Vec<String> {
    s.upstream().headers.unwrap().get_all(name).iter().map(|v| v.to_string()).collect()
}

fn up_path(s: &Stream) -> String {
    s.upstream().header(":path").unwrap().to_string()
}

fn up_json(s: &Stream) -> Value {
    serde_json::from_slice(&s.upstream().body).unwrap_or_else(|e| panic!("{e}: {}", s.upstream().body_text()))
}

/// Sends response headers (and a body) from the upstream on a stream whose request passed.
fn respond(s: &Stream, headers: &[(&str, &str)], body: Option<&[u8]>) {
    let mut map = HeaderMap::from_pairs(&[(":status", "200")]);
    for (k, v) in headers {
        map.add(k.as_bytes(), v.as_bytes());
    }
    s.send_response_headers(map, body.is_none()).unwrap();
    if let Some(body) = body {
        s.send_response_body(body, true).unwrap();
    }
}

fn down_all(s: &Stream, name: &str) -> Vec<String> {
    s.response().headers.unwrap().get_all(name).iter().map(|v| v.to_string()).collect()
}

fn down_json(s: &Stream) -> Value {
    serde_json::from_slice(&s.response().body).unwrap_or_else(|e| panic!("{e}: {}", s.response().body_text()))
}

// ----- Higress's conformance test (go-wasm-transformer.go / .yaml) -----

fn request_rules() -> Value {
    json!([
        {"operate": "remove", "headers": [{"key": "X-remove"}], "querys": [{"key": "k1"}]},
        {"operate": "rename", "headers": [{"oldKey": "X-not-renamed", "newKey": "X-renamed"}],
         "querys": [{"oldKey": "k2", "newKey": "k2-new"}]},
        {"operate": "replace", "headers": [{"key": "X-replace", "newValue": "replaced"}],
         "querys": [{"key": "k2-new", "newValue": "v2-new"}]},
        {"operate": "add", "headers": [{"key": "X-add-append", "value": "add"}], "querys": [{"key": "k3", "value": "v31"}]},
        {"operate": "append", "headers": [{"key": "X-add-append", "appendValue": "append"}],
         "querys": [{"key": "k3", "appendValue": "v32"}]},
        {"operate": "map", "headers": [{"fromKey": "X-add-append", "toKey": "X-map"}], "querys": [{"fromKey": "k3", "toKey": "k4"}]},
        {"operate": "dedupe", "headers": [
            {"key": "X-dedupe-first", "strategy": "RETAIN_FIRST"},
            {"key": "X-dedupe-last", "strategy": "RETAIN_LAST"},
            {"key": "X-dedupe-unique", "strategy": "RETAIN_UNIQUE"}],
         "querys": [{"key": "k4", "strategy": "RETAIN_FIRST"}]}
    ])
}

fn response_rules(last_append_pattern: &str) -> Value {
    json!([
        {"operate": "remove", "headers": [{"key": "X-remove"}]},
        {"operate": "rename", "headers": [{"oldKey": "X-not-renamed", "newKey": "X-renamed"}]},
        {"operate": "replace", "headers": [{"key": "X-replace", "newValue": "replace-$1", "path_pattern": "^.*?\\/(\\w+)[\\?]{0,1}.*$"}]},
        {"operate": "add", "headers": [{"key": "X-add-append", "value": "add-$1", "host_pattern": "^(.*)\\.com$"}]},
        {"operate": "append", "headers": [{"key": "X-add-append", "appendValue": "append-$1", "path_pattern": last_append_pattern}]},
        {"operate": "map", "headers": [{"fromKey": "X-add-append", "toKey": "X-map"}]}
    ])
}

fn body_rules() -> Value {
    json!([
        {"operate": "remove", "body": [{"key": "X-removed"}]},
        {"operate": "rename", "body": [{"oldKey": "X-not-renamed", "newKey": "X-renamed"}]},
        {"operate": "replace", "body": [{"key": "X-replace", "newValue": "replaced"}]},
        {"operate": "add", "body": [{"key": "X-add-append", "value": "add"}]},
        {"operate": "append", "body": [{"key": "X-add-append", "appendValue": "append"}]},
        {"operate": "map", "body": [{"fromKey": "X-to-be-mapped", "toKey": "X-map"}]},
        {"operate": "dedupe", "body": [
            {"key": "X-dedupe-first", "strategy": "RETAIN_FIRST"},
            {"key": "X-dedupe-last", "strategy": "RETAIN_LAST"},
            {"key": "X-dedupe-unique", "strategy": "RETAIN_UNIQUE"}]}
    ])
}

/// The conformance WasmPlugin, its ingresses turned into domains (`fooN.com`).
fn conformance() -> Vm {
    let mut response_order = response_rules("^\\/get\\/(.*)\\.html$");
    // Case 5 maps before it appends.
    let rules = response_order.as_array_mut().unwrap();
    rules.swap(4, 5);
    vm(json!({"_rules_": [
        {"_match_domain_": ["foo1.com"], "reqRules": request_rules()},
        {"_match_domain_": ["foo2.com"], "respRules": response_rules("^\\/get\\/(.*)\\.html$")},
        {"_match_domain_": ["foo3.com"], "reqRules": request_rules(), "respRules": response_rules("^\\/get\\/(.*)\\.html(.*)$")},
        {"_match_domain_": ["foo4.com"], "reqRules": [
            {"operate": "dedupe", "headers": [
                {"key": "X-dedupe-first", "strategy": "RETAIN_FIRST"},
                {"key": "X-dedupe-last", "strategy": "RETAIN_LAST"},
                {"key": "X-dedupe-unique", "strategy": "RETAIN_UNIQUE"}],
             "querys": [{"key": "k1", "strategy": "RETAIN_FIRST"}]},
            {"operate": "map", "headers": [{"fromKey": "X-dedupe-first", "toKey": "X-map-dedupe-first"}],
             "querys": [{"fromKey": "k1", "toKey": "k2"}]},
            {"operate": "append", "headers": [{"key": "X-map-dedupe-first", "appendValue": "append"}],
             "querys": [{"key": "k2", "appendValue": "v22"}]},
            {"operate": "add", "headers": [{"key": "X-add-append", "value": "add"}], "querys": [{"key": "k3", "value": "v31"}]},
            {"operate": "replace", "headers": [{"key": "X-dedupe-last", "newValue": "X-dedupe-last-replaced"}]},
            {"operate": "rename", "headers": [{"oldKey": "X-dedupe-unique", "newKey": "X-dedupe-unique-renamed"}],
             "querys": [{"oldKey": "k3", "newKey": "k3-new"}]},
            {"operate": "remove", "headers": [{"key": "X-dedupe-first"}], "querys": [{"key": "k1"}]}
        ]},
        {"_match_domain_": ["foo5.com"], "respRules": response_order},
        {"_match_domain_": ["foo6.com"], "reqRules": [{"operate": "map", "mapSource": "querys",
            "headers": [{"fromKey": "kmap", "toKey": "X-map"}], "querys": [{"fromKey": "k3", "toKey": "k4"}]}]},
        {"_match_domain_": ["foo7.com"], "reqRules": [{"operate": "map", "mapSource": "headers",
            "querys": [{"fromKey": "X-map", "toKey": "kmap"}]}]},
        {"_match_domain_": ["foo8.com"], "reqRules": body_rules()},
        {"_match_domain_": ["foo9.com"], "respRules": body_rules()},
        {"_match_domain_": ["foo10.com"], "reqRules": [{"operate": "map", "mapSource": "headers",
            "body": [{"fromKey": "X-map", "toKey": "kmap"}]}]},
        {"_match_domain_": ["foo11.com"], "reqRules": [{"operate": "map", "mapSource": "querys",
            "body": [{"fromKey": "X-map", "toKey": "test.kmap"}]}]},
        {"_match_domain_": ["foo12.com"], "reqRules": [{"operate": "map", "mapSource": "body",
            "headers": [{"fromKey": "test.kmap", "toKey": "X-map"}]}]},
        {"_match_domain_": ["foo13.com"], "reqRules": [{"operate": "map", "mapSource": "body",
            "querys": [{"fromKey": "test.kmap", "toKey": "X-map"}]}]},
        {"_match_domain_": ["foo14.com"], "reqRules": [{"operate": "replace",
            "headers": [{"key": "X-replace-headers", "newValue": "exist-headers"}],
            "querys": [{"key": "X-replace-querys", "newValue": "exist-querys"}]}]},
        {"_match_domain_": ["foo15.com"], "reqRules": [{"operate": "replace", "body": [{"key": "X-replace-body", "newValue": "exist-body"}]}]},
        {"_match_domain_": ["foo16.com"], "reqRules": [{"operate": "replace", "headers": [{"key": "reroute", "newValue": true}]}]},
        {"_match_domain_": ["foo17.com"], "reroute": false, "reqRules": [{"operate": "replace", "headers": [{"key": "reroute", "newValue": true}]}]},
        {"_match_domain_": ["foo18.com"], "reqRules": [{"operate": "dedupe", "headers": [
            {"key": "X-split-dedupe-first", "strategy": "SPLIT_AND_RETAIN_FIRST"},
            {"key": "X-split-dedupe-last", "strategy": "SPLIT_AND_RETAIN_LAST"}]}]}
    ]}))
}

/// The conformance client sends `1,2,3` as three header lines (its `Headers` are split at
/// commas; `RawHeaders` are not).
fn conformance_headers(req: testing::Request) -> testing::Request {
    req.header("X-remove", "exist")
        .header("X-not-renamed", "test")
        .header("X-replace", "not-replaced")
        .header("X-dedupe-first", "1")
        .header("X-dedupe-first", "2")
        .header("X-dedupe-first", "3")
        .header("X-dedupe-last", "a")
        .header("X-dedupe-last", "b")
        .header("X-dedupe-last", "c")
        .header("X-dedupe-unique", "1")
        .header("X-dedupe-unique", "2")
        .header("X-dedupe-unique", "3")
        .header("X-dedupe-unique", "3")
        .header("X-dedupe-unique", "2")
        .header("X-dedupe-unique", "1")
}

fn assert_request_case(s: &Stream, path: &str) {
    assert_eq!(up_path(s), path);
    assert_eq!(up_all(s, "x-renamed"), ["test"]);
    assert_eq!(up_all(s, "x-replace"), ["replaced"]);
    assert_eq!(up_all(s, "x-add-append"), ["add", "append"]);
    assert_eq!(up_all(s, "x-map"), ["add", "append"]);
    assert_eq!(up_all(s, "x-dedupe-first"), ["1"]);
    assert_eq!(up_all(s, "x-dedupe-last"), ["c"]);
    assert_eq!(up_all(s, "x-dedupe-unique"), ["1", "2", "3"]);
    assert!(up_all(s, "x-remove").is_empty());
    assert!(up_all(s, "x-not-renamed").is_empty());
}

fn upstream_response_headers() -> [(&'static str, &'static str); 3] {
    [("X-remove", "exist"), ("X-not-renamed", "test"), ("X-replace", "not-replaced")]
}

#[test]
fn case_1_request_headers_and_query() {
    let vm = conformance();
    let s = conformance_headers(request("GET", "foo1.com", "/get?k1=v11&k1=v12&k2=v2")).send(&vm);
    assert_request_case(&s, "/get?k2-new=v2-new&k3=v31&k3=v32&k4=v31");
}

#[test]
fn case_2_and_5_response_headers_with_templates() {
    let vm = conformance();
    let s = request("GET", "foo2.com", "/get/index.html").send(&vm);
    assert_eq!(up_path(&s), "/get/index.html");
    respond(&s, &upstream_response_headers(), Some(b"ok"));
    assert_eq!(down_all(&s, "x-renamed"), ["test"]);
    assert_eq!(down_all(&s, "x-replace"), ["replace-get"]);
    assert_eq!(down_all(&s, "x-add-append"), ["add-foo2", "append-index"]);
    assert_eq!(down_all(&s, "x-map"), ["add-foo2", "append-index"]);
    assert!(down_all(&s, "x-remove").is_empty());
    assert_eq!(s.response().body, b"ok");

    // Case 5: the map runs before the append.
    let s = request("GET", "foo5.com", "/get/index.html").send(&vm);
    respond(&s, &upstream_response_headers(), None);
    assert_eq!(down_all(&s, "x-add-append"), ["add-foo5", "append-index"]);
    assert_eq!(down_all(&s, "x-map"), ["add-foo5"]);
    assert_eq!(down_all(&s, "x-replace"), ["replace-get"]);
    assert!(down_all(&s, "x-remove").is_empty());
}

#[test]
fn case_3_both_ways() {
    let vm = conformance();
    let s = conformance_headers(request("GET", "foo3.com", "/get/index.html?k1=v11&k1=v12&k2=v2")).send(&vm);
    assert_request_case(&s, "/get/index.html?k2-new=v2-new&k3=v31&k3=v32&k4=v31");
    respond(&s, &upstream_response_headers(), Some(b"{}"));
    assert_eq!(down_all(&s, "x-renamed"), ["test"]);
    assert_eq!(down_all(&s, "x-replace"), ["replace-get"]);
    // The template reads the request's path, query included.
    assert_eq!(down_all(&s, "x-add-append"), ["add-foo3", "append-index"]);
    assert_eq!(down_all(&s, "x-map"), ["add-foo3", "append-index"]);
    assert!(down_all(&s, "x-remove").is_empty());
}

#[test]
fn case_4_rules_run_in_config_order() {
    let vm = conformance();
    let s = request("GET", "foo4.com", "/get?k1=v11&k1=v12")
        .header("X-dedupe-first", "1")
        .header("X-dedupe-first", "2")
        .header("X-dedupe-first", "3")
        .header("X-dedupe-last", "a")
        .header("X-dedupe-last", "b")
        .header("X-dedupe-last", "c")
        .header("X-dedupe-unique", "1")
        .header("X-dedupe-unique", "2")
        .header("X-dedupe-unique", "3")
        .header("X-dedupe-unique", "3")
        .send(&vm);
    assert_eq!(up_path(&s), "/get?k2=v11&k2=v22&k3-new=v31");
    assert_eq!(up_all(&s, "x-add-append"), ["add"]);
    assert_eq!(up_all(&s, "x-map-dedupe-first"), ["1", "append"]);
    assert_eq!(up_all(&s, "x-dedupe-last"), ["X-dedupe-last-replaced"]);
    assert_eq!(up_all(&s, "x-dedupe-unique-renamed"), ["1", "2", "3"]);
    assert!(up_all(&s, "x-dedupe-first").is_empty());
    assert!(up_all(&s, "x-dedupe-unique").is_empty());
}

#[test]
fn cases_6_and_7_map_between_query_and_headers() {
    let vm = conformance();
    let s = request("GET", "foo6.com", "/get?kmap=vmap").send(&vm);
    assert_eq!(up_path(&s), "/get?kmap=vmap");
    assert_eq!(up_all(&s, "x-map"), ["vmap"]);
    // fromKey matches headers whatever its case.
    let s = request("GET", "foo7.com", "/get").header("X-Map", "vmap").send(&vm);
    assert_eq!(up_path(&s), "/get?kmap=vmap");
    assert_eq!(up_all(&s, "x-map"), ["vmap"]);
}

#[test]
fn case_8_request_json_body() {
    let vm = conformance();
    let body = r#"
        {
            "X-removed":["v1", "v2"],
            "X-not-renamed":["v1"],
            "X-to-be-mapped":["v1", "v2"],
            "X-replace": "not-replaced"
        }
    "#;
    let s = request("POST", "foo8.com", "/post")
        .header("content-type", "application/json")
        .header("content-length", &body.len().to_string())
        .body(body)
        .send(&vm);
    assert_eq!(
        up_json(&s),
        json!({"X-renamed": ["v1"], "X-add-append": ["add", "append"], "X-to-be-mapped": ["v1", "v2"],
               "X-map": ["v1", "v2"], "X-replace": "replaced"})
    );
    // Keys keep their order; new ones go last. The length no longer holds.
    assert_eq!(
        s.upstream().body_text(),
        r#"{"X-to-be-mapped":["v1", "v2"],"X-replace":"replaced","X-renamed":["v1"],"X-add-append":["add","append"],"X-map":["v1", "v2"]}"#
            .replace(", ", ",")
    );
    assert!(up_all(&s, "content-length").is_empty());
    assert_eq!(up_all(&s, "content-type"), ["application/json"]);
}

#[test]
fn case_9_response_json_body() {
    let vm = conformance();
    let s = request("POST", "foo9.com", "/post").send(&vm);
    let body = br#"{"X-removed":["v1", "v2"], "X-not-renamed":["v1"], "X-to-be-mapped":["v1", "v2"]}"#;
    respond(&s, &[("content-type", "application/json"), ("content-length", &body.len().to_string())], Some(body));
    assert_eq!(
        down_json(&s),
        json!({"X-renamed": ["v1"], "X-add-append": ["add", "append"], "X-to-be-mapped": ["v1", "v2"],
               "X-map": ["v1", "v2"], "X-replace": "replaced"})
    );
    assert!(down_all(&s, "content-length").is_empty());
}

fn json_post(host: &str, path: &str, body: &str) -> testing::Request {
    request("POST", host, path).header("content-type", "application/json").body(body.to_string())
}

#[test]
fn cases_10_to_13_map_between_body_and_headers_or_query() {
    let vm = conformance();
    let s = json_post("foo10.com", "/post", r#"{"X-hello":"world"}"#).header("X-map", "higress").send(&vm);
    assert_eq!(up_json(&s), json!({"X-hello": "world", "kmap": ["higress"]}));
    let s = json_post("foo11.com", "/post?X-map=higress", r#"{"X-hello": "world"}"#).send(&vm);
    assert_eq!(up_json(&s), json!({"X-hello": "world", "test": {"kmap": ["higress"]}}));
    let body = r#"{"test": {"kmap": "higress"}}"#;
    let s = json_post("foo12.com", "/post", body).send(&vm);
    assert_eq!(up_all(&s, "x-map"), ["higress"]);
    assert_eq!(s.upstream().body_text(), body, "a body only read is passed on as it came");
    let s = json_post("foo13.com", "/post", body).send(&vm);
    assert_eq!(up_path(&s), "/post?X-map=higress");
}

#[test]
fn cases_14_and_15_replace_adds_a_missing_key() {
    let vm = conformance();
    let s = request("GET", "foo14.com", "/get?X-replace-querys=hello").send(&vm);
    assert_eq!(up_path(&s), "/get?X-replace-querys=exist-querys");
    assert_eq!(up_all(&s, "x-replace-headers"), ["exist-headers"]);
    let s = request("GET", "foo14.com", "/get").send(&vm);
    assert_eq!(up_path(&s), "/get?X-replace-querys=exist-querys");
    let s = json_post("foo15.com", "/post", "{}").send(&vm);
    assert_eq!(up_json(&s), json!({"X-replace-body": "exist-body"}));
}

#[test]
fn cases_16_and_17_reroute() {
    let vm = conformance();
    let s = request("GET", "foo16.com", "/get").header("reroute", "false").send(&vm);
    assert_eq!(up_all(&s, "reroute"), ["true"]);
    assert_eq!(s.property_string("clear_route_cache"), None);
    let s = request("GET", "foo17.com", "/get").header("reroute", "false").send(&vm);
    assert_eq!(up_all(&s, "reroute"), ["true"]);
    assert_eq!(s.property_string("clear_route_cache").as_deref(), Some("off"));
}

#[test]
fn case_18_split_dedupe() {
    let vm = conformance();
    let s = request("GET", "foo18.com", "/get")
        .header("X-split-dedupe-first", "1,2,3")
        .header("X-split-dedupe-last", "a,b,c")
        .send(&vm);
    assert_eq!(up_all(&s, "x-split-dedupe-first"), ["1"]);
    assert_eq!(up_all(&s, "x-split-dedupe-last"), ["c"]);
}

// ----- Higress's README examples -----

#[test]
fn readme_header_templates() {
    let v = vm(json!({"reqRules": [
        {"operate": "add", "headers": [{"key": "X-add-append", "value": "host-$1", "host_pattern": "^(.*)\\.com$"}]},
        {"operate": "append", "headers": [{"key": "X-add-append", "appendValue": "path-$1", "path_pattern": "^.*?\\/(\\w+)[\\?]{0,1}.*$"}]},
        {"operate": "map", "headers": [{"fromKey": "X-add-append", "toKey": "X-map"}]}
    ]}));
    let s = request("GET", "foo.bar.com", "/get").send(&v);
    assert_eq!(up_all(&s, "x-add-append"), ["host-foo.bar", "path-get"]);
    assert_eq!(up_all(&s, "x-map"), ["host-foo.bar", "path-get"]);
    // A pattern that does not match leaves the template as written.
    let s = request("GET", "foo.bar.org", "/").send(&v);
    assert_eq!(up_all(&s, "x-add-append"), ["host-$1", "path-$1"]);
}

/// Items that share a pattern each expand their own template from the one search of the
/// path; the same pattern on the host, and another pattern, are searched apart.
#[test]
fn items_sharing_a_pattern() {
    let v = vm(json!({"reqRules": [
        {"operate": "add", "headers": [
            {"key": "x-a", "value": "a-$1-$2", "path_pattern": "^/api/(\\w+)/(.*)\\.json$"},
            {"key": "x-b", "value": "b-${2}", "path_pattern": "^/api/(\\w+)/(.*)\\.json$"},
            {"key": "x-c", "value": "c-$1", "path_pattern": "(\\w+)"},
            {"key": "x-d", "value": "d-$1", "host_pattern": "(\\w+)"}
        ]}
    ]}));
    let s = request("GET", "foo.com", "/api/users/a/b.json").send(&v);
    assert_eq!(up_all(&s, "x-a"), ["a-users-a/b"]);
    assert_eq!(up_all(&s, "x-b"), ["b-a/b"]);
    assert_eq!(up_all(&s, "x-c"), ["/c-api/c-users/c-a/c-b.c-json"]);
    assert_eq!(up_all(&s, "x-d"), ["d-foo.d-com"]);
    let s = request("GET", "foo.com", "/other").send(&v);
    assert_eq!(up_all(&s, "x-a"), ["a-$1-$2"]);
    assert_eq!(up_all(&s, "x-b"), ["b-${2}"]);
}

#[test]
fn readme_query_transform() {
    let v = vm(json!({"reqRules": [
        {"operate": "remove", "querys": [{"key": "k1"}]},
        {"operate": "rename", "querys": [{"oldKey": "k2", "newKey": "k2-new"}]},
        {"operate": "replace", "querys": [{"key": "k2-new", "newValue": "v2-new"}]},
        {"operate": "add", "querys": [{"key": "k3", "value": "v31-$1", "path_pattern": "^.*?\\/(\\w+)[\\?]{0,1}.*$"}]},
        {"operate": "append", "querys": [{"key": "k3", "appendValue": "v32"}]},
        {"operate": "map", "querys": [{"fromKey": "k3", "toKey": "k4"}]},
        {"operate": "dedupe", "querys": [{"key": "k4", "strategy": "RETAIN_FIRST"}]}
    ]}));
    let s = request("GET", "foo.bar.com", "/get?k1=v11&k1=v12&k2=v2").send(&v);
    assert_eq!(up_path(&s), "/get?k2-new=v2-new&k3=v31-get&k3=v32&k4=v31-get");
}

fn readme_body_rules() -> Value {
    json!({"reqRules": [
        {"operate": "remove", "body": [{"key": "a1"}]},
        {"operate": "rename", "body": [{"oldKey": "a2", "newKey": "a2-new"}]},
        {"operate": "replace", "body": [{"key": "a3", "newValue": "t3-new", "value_type": "string"}]},
        {"operate": "add", "body": [{"key": "a1-new", "value": "t1-new", "value_type": "string"}]},
        {"operate": "append", "body": [{"key": "a1-new", "appendValue": "t1-$1-append", "value_type": "string", "host_pattern": "^(.*)\\.com$"}]},
        {"operate": "map", "body": [{"fromKey": "a1-new", "toKey": "a4"}]},
        {"operate": "dedupe", "body": [{"key": "a4", "strategy": "RETAIN_FIRST"}]}
    ]})
}

#[test]
fn readme_json_body() {
    let v = vm(readme_body_rules());
    let s = json_post("foo.bar.com", "/post", r#"{"a1":"t1","a2":"t2","a3":"t3"}"#).send(&v);
    assert_eq!(
        up_json(&s),
        json!({"a1-new": ["t1-new", "t1-foo.bar-append"], "a2-new": "t2", "a3": "t3-new", "a4": "t1-new"})
    );
}

/// Form fields as (name, values) in order.
fn form_fields(body: &[u8]) -> Vec<(String, String)> {
    String::from_utf8(body.to_vec())
        .unwrap()
        .split('&')
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |s: &str| {
                let mut out = Vec::new();
                let bytes = s.replace('+', " ").into_bytes();
                let mut i = 0;
                while i < bytes.len() {
                    if bytes[i] == b'%' {
                        out.push(u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap(), 16).unwrap());
                        i += 3;
                    } else {
                        out.push(bytes[i]);
                        i += 1;
                    }
                }
                String::from_utf8(out).unwrap()
            };
            (decode(k), decode(v))
        })
        .collect()
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

#[test]
fn readme_form_body() {
    let v = vm(readme_body_rules());
    let s = request("POST", "foo.bar.com", "/post")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("content-length", "17")
        .body("a1=t1&a2=t2&a3=t3")
        .send(&v);
    assert_eq!(
        form_fields(&s.upstream().body),
        pairs(&[
            ("a2-new", "t2"),
            ("a3", "t3-new"),
            ("a1-new", "t1-new"),
            ("a1-new", "t1-foo.bar-append"),
            ("a4", "t1-new")
        ])
    );
    assert!(up_all(&s, "content-length").is_empty());
}

/// A multipart body as curl writes it for `-F name=value` (and `-F f=@file`).
fn multipart(boundary: &str, parts: &[(&str, Option<&str>, &str)]) -> String {
    let mut body = String::new();
    for (name, file, value) in parts {
        body.push_str(&format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\""));
        if let Some(file) = file {
            body.push_str(&format!("; filename=\"{file}\"\r\nContent-Type: application/octet-stream"));
        }
        body.push_str(&format!("\r\n\r\n{value}\r\n"));
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    body
}

/// The (name, filename, value) of each part of a multipart body.
fn multipart_parts(body: &str, boundary: &str) -> Vec<(String, Option<String>, String)> {
    let delimiter = format!("--{boundary}");
    let end = body.find(&format!("{delimiter}--")).unwrap();
    body[..end]
        .split(&delimiter)
        .filter(|p| !p.is_empty())
        .map(|part| {
            let part = part.strip_prefix("\r\n").unwrap().strip_suffix("\r\n").unwrap();
            let (head, value) = part.split_once("\r\n\r\n").unwrap();
            let param = |name: &str| {
                let at = head.find(&format!("{name}=\""))? + name.len() + 2;
                Some(head[at..].split('"').next().unwrap().to_string())
            };
            (param("name").unwrap(), param("filename"), value.to_string())
        })
        .collect()
}

#[test]
fn readme_multipart_body_keeps_files() {
    let v = vm(readme_body_rules());
    let boundary = "------------------------1118b3fab5afbc4e";
    let body = multipart(
        boundary,
        &[("a1", None, "t1"), ("a2", None, "t2"), ("upload", Some("x.bin"), "\u{1}bytes"), ("a3", None, "t3")],
    );
    let s = request("POST", "foo.bar.com", "/post")
        .header("content-type", &format!("multipart/form-data; boundary={boundary}"))
        .body(body)
        .send(&v);
    let got = multipart_parts(&s.upstream().body_text(), boundary);
    let field = |n: &str, v: &str| (n.to_string(), None, v.to_string());
    assert_eq!(
        got,
        [
            field("a2-new", "t2"),
            field("a3", "t3-new"),
            field("a1-new", "t1-new"),
            field("a1-new", "t1-foo.bar-append"),
            field("a4", "t1-new"),
            ("upload".to_string(), Some("x.bin".to_string()), "\u{1}bytes".to_string()),
        ]
    );
}

#[test]
fn readme_json_paths() {
    let users = r#"{"users":[{"123":{"name":"zhangsan"}},{"456":{"name":"lisi"}}]}"#;
    let v = vm(json!({"reqRules": [{"operate": "remove", "body": [{"key": "users.0"}]}]}));
    assert_eq!(up_json(&json_post("h", "/", users).send(&v)), json!({"users": [{"456": {"name": "lisi"}}]}));
    let v =
        vm(json!({"reqRules": [{"operate": "rename", "body": [{"oldKey": "users.0.123", "newKey": "users.0.msg"}]}]}));
    assert_eq!(
        up_json(&json_post("h", "/", users).send(&v)),
        json!({"users": [{"msg": {"name": "zhangsan"}}, {"456": {"name": "lisi"}}]})
    );
    let v = vm(json!({"reqRules": [{"operate": "replace", "body": [{"key": "users.#.age", "newValue": 20}]}]}));
    let s = json_post("h", "/", r#"{"users":[{"name":"zhangsan","age":18},{"name":"lisi","age":19}]}"#).send(&v);
    assert_eq!(up_json(&s), json!({"users": [{"name": "zhangsan", "age": "20"}, {"name": "lisi", "age": "20"}]}));
    // friends.1.first and friends.1.last into headers.
    let v = vm(json!({"reqRules": [{"operate": "map", "mapSource": "body", "headers": [
        {"fromKey": "friends.1.first", "toKey": "x-first-name"}, {"fromKey": "friends.1.last", "toKey": "x-last-name"},
        {"fromKey": "age", "toKey": "x-age"}, {"fromKey": "children", "toKey": "x-children"},
        {"fromKey": "children.#", "toKey": "x-count"}, {"fromKey": "fav\\.movie", "toKey": "x-movie"},
        {"fromKey": "missing", "toKey": "x-missing"}]}]}));
    let body = r#"{"name": {"first": "Tom", "last": "Anderson"}, "age": 37, "children": ["Sara","Alex","Jack"],
        "fav.movie": "Deer Hunter", "friends": [{"first": "Dale", "last": "Murphy"}, {"first": "Roger", "last": "Craig"}]}"#;
    let s = json_post("h", "/", body).send(&v);
    assert_eq!(up_all(&s, "x-first-name"), ["Roger"]);
    assert_eq!(up_all(&s, "x-last-name"), ["Craig"]);
    assert_eq!(up_all(&s, "x-age"), ["37"]);
    assert_eq!(up_all(&s, "x-children"), [r#"["Sara","Alex","Jack"]"#]);
    assert_eq!(up_all(&s, "x-count"), ["3"]);
    assert_eq!(up_all(&s, "x-movie"), ["Deer Hunter"]);
    assert!(up_all(&s, "x-missing").is_empty());
}

#[test]
fn readme_routing_on_a_form_field() {
    let v = vm(
        json!({"reqRules": [{"operate": "map", "mapSource": "body", "headers": [{"fromKey": "userId", "toKey": "x-user-id"}]}]}),
    );
    let s = json_post("h", "/", r#"{"userId":12, "userName":"johnlanni"}"#).send(&v);
    assert_eq!(up_all(&s, "x-user-id"), ["12"]);
    let s = request("POST", "h", "/")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("userId=12&userName=johnlanni")
        .send(&v);
    assert_eq!(up_all(&s, "x-user-id"), ["12"]);
    assert_eq!(s.upstream().body, b"userId=12&userName=johnlanni");
}

#[test]
fn readme_response_nested_and_escaped_keys() {
    let v = vm(
        json!({"respRules": [{"operate": "add", "body": [{"key": "foo.bar", "value": "value"}, {"key": "foo\\.bar", "value": "value"}]}]}),
    );
    let s = request("GET", "h", "/get").send(&v);
    respond(&s, &[("content-type", "application/json")], Some(br#"{"url":"/get"}"#));
    assert_eq!(s.response().body_text(), r#"{"url":"/get","foo":{"bar":"value"},"foo.bar":"value"}"#);
}

// ----- each operation on each target -----

#[test]
fn header_names_are_case_insensitive_values_are_not() {
    let v = vm(json!({"reqRules": [
        {"operate": "rename", "headers": [{"oldKey": "X-OLD", "newKey": "X-New"}]},
        {"operate": "dedupe", "headers": [{"key": "X-U", "strategy": "retain_unique"}]}
    ]}));
    let s = request("GET", "h", "/").header("x-old", "Keep-Case").header("X-u", "A").header("x-U", "a").send(&v);
    assert_eq!(up_all(&s, "x-new"), ["Keep-Case"]);
    assert_eq!(up_all(&s, "x-u"), ["A", "a"]);
}

#[test]
fn rename_onto_an_existing_key_appends() {
    let v = vm(json!({"reqRules": [{"operate": "rename",
        "headers": [{"oldKey": "a", "newKey": "b"}, {"oldKey": "same", "newKey": "SAME"}],
        "querys": [{"oldKey": "a", "newKey": "b"}]}]}));
    let s = request("GET", "h", "/p?b=1&a=2&c=3").header("b", "1").header("a", "2").header("same", "s").send(&v);
    assert_eq!(up_all(&s, "b"), ["1", "2"]);
    assert!(up_all(&s, "a").is_empty());
    assert_eq!(up_all(&s, "same"), ["s"], "renaming a header to itself keeps it (Go dropped it)");
    assert_eq!(up_path(&s), "/p?b=1&b=2&c=3");
}

#[test]
fn query_and_form_keys_are_case_sensitive() {
    let v = vm(json!({"reqRules": [{"operate": "remove", "querys": [{"key": "K"}], "body": [{"key": "K"}]}]}));
    let s = request("POST", "h", "/p?k=1&K=2")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("k=1&K=2")
        .send(&v);
    assert_eq!(up_path(&s), "/p?k=1");
    assert_eq!(s.upstream().body, b"k=1");
}

#[test]
fn query_pairs_no_rule_touched_keep_their_bytes() {
    let v = vm(json!({"reqRules": [{"operate": "add", "querys": [{"key": "new key", "value": "a/b é"}]}]}));
    let s = request("GET", "h", "/p/a%2Fb?x=%7e&flag&y=a+b&bad=%zz#frag").send(&v);
    assert_eq!(up_path(&s), "/p/a%2Fb?x=%7e&flag&y=a+b&bad=%zz&new+key=a%2Fb+%C3%A9#frag");
    // Nothing changed: the path is not rewritten at all.
    let v = vm(json!({"reqRules": [{"operate": "remove", "querys": [{"key": "absent"}]}]}));
    let s = request("GET", "h", "/p?b=2&a=1&a=%41").send(&v);
    assert_eq!(up_path(&s), "/p?b=2&a=1&a=%41");
}

/// Go's `TestParseQueryByPath` and `TestConstructPath` cases, through the plugin.
#[test]
fn go_unit_test_query_cases() {
    let v = vm(json!({"reqRules": [
        {"operate": "map", "mapSource": "querys", "headers": [{"fromKey": "k1", "toKey": "x-k1"}, {"fromKey": "key", "toKey": "x-key"}]},
        {"operate": "dedupe", "querys": [{"key": "k1", "strategy": "RETAIN_LAST"}]}
    ]}));
    let s = request("GET", "h", "www.example.com/get?k1=v11&k1=v12&k2=v2&k1=v13").send(&v);
    assert_eq!(up_all(&s, "x-k1"), ["v11", "v12", "v13"]);
    assert_eq!(up_path(&s), "www.example.com/get?k1=v13&k2=v2");
    let s = request("GET", "h", "/get%20with%3Freserved%20characters?key=Hello+World").send(&v);
    assert_eq!(up_all(&s, "x-key"), ["Hello World"]);
    assert_eq!(
        up_path(&s),
        "/get%20with%3Freserved%20characters?key=Hello+World",
        "nothing changed, nothing rewritten"
    );
    let s = request("GET", "h", "www.example.com/get").send(&v);
    assert_eq!(up_path(&s), "www.example.com/get");

    let v = vm(
        json!({"reqRules": [{"operate": "add", "querys": [{"key": "key", "value": "Hello World"}, {"key": "k1", "value": "v1"}]}]}),
    );
    assert_eq!(up_path(&request("GET", "h", "/get").send(&v)), "/get?key=Hello+World&k1=v1");
    assert_eq!(up_path(&request("GET", "h", "/get?").send(&v)), "/get?key=Hello+World&k1=v1");
}

#[test]
fn values_that_would_smuggle_a_header_are_not_written() {
    let v = vm(json!({"reqRules": [{"operate": "map", "mapSource": "querys",
        "headers": [{"fromKey": "q", "toKey": "x-q"}, {"fromKey": "ok", "toKey": "x-ok"}]}]}));
    let s = request("GET", "h", "/?q=a%0D%0Ax-injected:%201&ok=1").send(&v);
    assert!(up_all(&s, "x-q").is_empty());
    assert!(up_all(&s, "x-injected").is_empty());
    assert_eq!(up_all(&s, "x-ok"), ["1"]);
    assert!(v.logged("header x-q not set: its value holds CR, LF or NUL"));
}

#[test]
fn query_value_decoding_for_maps() {
    let v = vm(
        json!({"reqRules": [{"operate": "map", "mapSource": "querys", "headers": [{"fromKey": "q", "toKey": "x-q"}]}]}),
    );
    let s = request("GET", "h", "/?q=a%20b+c%2B").send(&v);
    assert_eq!(up_all(&s, "x-q"), ["a b c+"]);
}

#[test]
fn every_strategy_on_headers_and_query() {
    let v = vm(json!({"reqRules": [{"operate": "dedupe",
        "headers": [{"key": "f"}, {"key": "l", "strategy": "RETAIN_LAST"}, {"key": "u", "strategy": "RETAIN_UNIQUE"},
                    {"key": "sf", "strategy": "SPLIT_AND_RETAIN_FIRST"}, {"key": "sl", "strategy": "SPLIT_AND_RETAIN_LAST"}],
        "querys": [{"key": "f", "strategy": "retain_first"}, {"key": "l", "strategy": "RETAIN_LAST"},
                   {"key": "u", "strategy": "RETAIN_UNIQUE"}, {"key": "sl", "strategy": "SPLIT_AND_RETAIN_LAST"}]}]}));
    let s = request("GET", "h", "/?f=1&f=2&l=1&l=2&u=1&u=2&u=1&sl=a,b,c")
        .header("f", "1")
        .header("f", "2")
        .header("l", "1")
        .header("l", "2")
        .header("u", "x")
        .header("u", "y")
        .header("u", "x")
        .header("sf", "a, b, c")
        .header("sf", "ignored")
        .header("sl", "a, b, c")
        .send(&v);
    assert_eq!(up_all(&s, "f"), ["1"]);
    assert_eq!(up_all(&s, "l"), ["2"]);
    assert_eq!(up_all(&s, "u"), ["x", "y"]);
    assert_eq!(up_all(&s, "sf"), ["a"]);
    assert_eq!(up_all(&s, "sl"), ["c"], "the list's spaces are not part of the piece");
    assert_eq!(up_path(&s), "/?f=1&l=2&u=1&u=2&sl=c");
}

#[test]
fn every_strategy_on_a_json_body() {
    let v = vm(json!({"reqRules": [{"operate": "dedupe", "body": [
        {"key": "f"}, {"key": "l", "strategy": "RETAIN_LAST"}, {"key": "u", "strategy": "RETAIN_UNIQUE"},
        {"key": "one", "strategy": "RETAIN_UNIQUE"}, {"key": "sf", "strategy": "SPLIT_AND_RETAIN_FIRST"},
        {"key": "sl", "strategy": "SPLIT_AND_RETAIN_LAST"}, {"key": "s", "strategy": "SPLIT_AND_RETAIN_LAST"},
        {"key": "n", "strategy": "RETAIN_LAST"}]}]}));
    let s = json_post(
        "h",
        "/",
        r#"{"f":[{"a":1},2],"l":[1,{"b":[2]}],"u":[1,"x",1,{"o":1},{"o":1}],"one":["a","a"],"sf":["1,2","3"],"sl":["1,2","3"],"s":"x, y","n":5}"#,
    )
    .send(&v);
    assert_eq!(
        up_json(&s),
        json!({"f": {"a": 1}, "l": {"b": [2]}, "u": [1, "x", {"o": 1}], "one": "a", "sf": "1", "sl": "2", "s": "y", "n": 5})
    );
}

#[test]
fn json_body_every_operation_and_value_type() {
    let v = vm(json!({"reqRules": [
        {"operate": "remove", "body": [{"key": "gone"}, {"key": "list.#.secret"}]},
        {"operate": "rename", "body": [{"oldKey": "old", "newKey": "deep.new"}]},
        {"operate": "replace", "body": [
            {"key": "n", "newValue": "1.50", "value_type": "number"},
            {"key": "b", "newValue": "TRUE", "value_type": "boolean"},
            {"key": "o", "newValue": {"x": [1, 2]}, "value_type": "object"},
            {"key": "s", "newValue": "path-$1", "path_pattern": "^/(\\w+)"},
            {"key": "typed", "newValue": "7", "value_type": "number", "path_pattern": "^/(\\w+)"}]},
        {"operate": "add", "body": [{"key": "exists", "value": "no"}, {"key": "arr.-1", "value": "false", "value_type": "boolean"}]},
        {"operate": "append", "body": [{"key": "list", "appendValue": "{\"k\":1}", "value_type": "object"},
                                        {"key": "scalar", "appendValue": "2", "value_type": "number"},
                                        {"key": "fresh", "appendValue": "v"}]},
        {"operate": "map", "body": [{"fromKey": "list.#.name", "toKey": "names"}, {"fromKey": "missing", "toKey": "none"}]}
    ]}));
    let s = json_post(
        "h",
        "/api?x=1",
        r#"{"gone":1,"old":{"k":"v"},"exists":"yes","arr":[1],"list":[{"name":"a","secret":1},{"name":"b"}],"scalar":1,"n":0}"#,
    )
    .send(&v);
    assert_eq!(
        up_json(&s),
        json!({"exists": "yes", "arr": [1, false], "list": [{"name": "a"}, {"name": "b"}, {"k": 1}], "scalar": [1, 2],
               "n": 1.5, "deep": {"new": {"k": "v"}}, "b": true, "o": {"x": [1, 2]}, "s": "path-api?x=1", "typed": 7,
               "fresh": "v", "names": ["a", "b"]})
    );
}

#[test]
fn form_body_every_operation() {
    let v = vm(json!({"reqRules": [
        {"operate": "remove", "body": [{"key": "gone"}]},
        {"operate": "rename", "body": [{"oldKey": "old", "newKey": "new"}]},
        {"operate": "replace", "body": [{"key": "r", "newValue": "5", "value_type": "number"}]},
        {"operate": "add", "body": [{"key": "a", "value": "1"}, {"key": "keep", "value": "no"}]},
        {"operate": "append", "body": [{"key": "a", "appendValue": "2"}]},
        {"operate": "map", "mapSource": "body", "body": [{"fromKey": "a", "toKey": "m"}]},
        {"operate": "map", "mapSource": "headers", "body": [{"fromKey": "X-From", "toKey": "h"}]},
        {"operate": "dedupe", "body": [{"key": "d", "strategy": "RETAIN_LAST"}]}
    ]}));
    let s = request("POST", "h", "/")
        .header("content-type", "application/x-www-form-urlencoded; charset=utf-8")
        .header("x-from", "hv")
        .body("gone=1&old=%C3%A9&keep=yes&r=1&d=1&d=2")
        .send(&v);
    assert_eq!(
        form_fields(&s.upstream().body),
        pairs(&[
            ("new", "é"),
            ("keep", "yes"),
            ("r", "5"),
            ("d", "2"),
            ("a", "1"),
            ("a", "2"),
            ("m", "1"),
            ("m", "2"),
            ("h", "hv")
        ])
    );
}

#[test]
fn multipart_body_every_operation_and_maps_into_headers() {
    let v = vm(json!({"reqRules": [
        {"operate": "remove", "body": [{"key": "gone"}]},
        {"operate": "rename", "body": [{"oldKey": "old", "newKey": "new"}]},
        {"operate": "replace", "body": [{"key": "r", "newValue": "x"}]},
        {"operate": "add", "body": [{"key": "a", "value": "1"}]},
        {"operate": "append", "body": [{"key": "a", "appendValue": "2"}]},
        {"operate": "map", "body": [{"fromKey": "a", "toKey": "m"}], "headers": [{"fromKey": "keep", "toKey": "x-keep"}],
         "mapSource": "body"},
        {"operate": "dedupe", "body": [{"key": "d", "strategy": "RETAIN_UNIQUE"}]}
    ]}));
    let boundary = "xyz";
    let body = multipart(
        boundary,
        &[
            ("f", Some("a.txt"), "file body"),
            ("gone", None, "1"),
            ("old", None, "o"),
            ("keep", None, "k"),
            ("r", None, "1"),
            ("d", None, "1"),
            ("d", None, "1"),
        ],
    );
    let s = request("POST", "h", "/")
        .header("content-type", "multipart/form-data; boundary=xyz")
        .header("content-length", &body.len().to_string())
        .body(body)
        .send(&v);
    let field = |n: &str, v: &str| (n.to_string(), None, v.to_string());
    assert_eq!(
        multipart_parts(&s.upstream().body_text(), boundary),
        [
            ("f".to_string(), Some("a.txt".to_string()), "file body".to_string()),
            field("new", "o"),
            field("keep", "k"),
            field("r", "x"),
            field("d", "1"),
            field("a", "1"),
            field("a", "2"),
            field("m", "1"),
            field("m", "2"),
        ]
    );
    assert_eq!(up_all(&s, "x-keep"), ["k"]);
    assert!(up_all(&s, "content-length").is_empty());
}

#[test]
fn response_headers_and_json_body_every_operation() {
    let v = vm(json!({"respRules": [
        {"operate": "remove", "headers": [{"key": "server"}], "body": [{"key": "headers"}]},
        {"operate": "rename", "headers": [{"oldKey": "x-a", "newKey": "x-b"}], "body": [{"oldKey": "method", "newKey": "verb"}]},
        {"operate": "replace", "headers": [{"key": "x-r", "newValue": "on-$1", "host_pattern": "^(\\w+)"}],
         "body": [{"key": "path", "newValue": "hidden"}]},
        {"operate": "add", "headers": [{"key": "x-added", "value": "1"}], "body": [{"key": "added", "value": "1", "value_type": "number"}]},
        {"operate": "append", "headers": [{"key": "x-added", "appendValue": "2"}], "body": [{"key": "added", "appendValue": "2"}]},
        {"operate": "map", "mapSource": "headers", "body": [{"fromKey": "x-added", "toKey": "from-headers"}]},
        {"operate": "dedupe", "headers": [{"key": "x-d", "strategy": "RETAIN_LAST"}], "body": [{"key": "list", "strategy": "RETAIN_UNIQUE"}]}
    ]}));
    let s = request("GET", "api.example.com", "/").send(&v);
    let body = br#"{"method":"GET","path":"/","headers":{"a":["1"]},"list":[1,1,2]}"#;
    let length = body.len().to_string();
    let headers = [
        ("content-type", "application/json"),
        ("server", "echo"),
        ("x-a", "1"),
        ("x-d", "1"),
        ("x-d", "2"),
        ("content-length", &length),
    ];
    respond(&s, &headers, Some(body));
    assert!(down_all(&s, "server").is_empty());
    assert_eq!(down_all(&s, "x-b"), ["1"]);
    // As Go's ReplaceAllString: the match is replaced, the rest of the host stays.
    assert_eq!(down_all(&s, "x-r"), ["on-api.example.com"]);
    assert_eq!(down_all(&s, "x-added"), ["1", "2"]);
    assert_eq!(down_all(&s, "x-d"), ["2"]);
    // The headers leave before the body is read: its length cannot be kept.
    assert!(down_all(&s, "content-length").is_empty());
    assert_eq!(
        down_json(&s),
        json!({"path": "hidden", "list": [1, 2], "verb": "GET", "added": [1, "2"], "from-headers": ["1", "2"]})
    );
}

#[test]
fn response_headers_leave_before_the_body_is_read() {
    let v = vm(
        json!({"respRules": [{"operate": "add", "headers": [{"key": "x-a", "value": "1"}], "body": [{"key": "b", "value": "1"}]}]}),
    );
    let s = request("GET", "h", "/").send(&v);
    let action = s
        .send_response_headers(
            HeaderMap::from_pairs(&[(":status", "200"), ("content-type", "application/json"), ("content-length", "2")]),
            false,
        )
        .unwrap();
    assert_eq!(action, higress_host::Action::Continue);
    assert_eq!(down_all(&s, "x-a"), ["1"]);
    assert!(down_all(&s, "content-length").is_empty());
    s.send_response_body("{", false).unwrap();
    assert!(s.response().body.is_empty(), "the body is buffered");
    s.send_response_body("}", true).unwrap();
    assert_eq!(s.response().body_text(), r#"{"b":"1"}"#);
    // Not JSON: the body is not read, its length stays.
    let s = request("GET", "h", "/").send(&v);
    respond(&s, &[("content-type", "text/html"), ("content-length", "4")], Some(b"<p/>"));
    assert_eq!(down_all(&s, "content-length"), ["4"]);
    assert_eq!(s.response().body, b"<p/>");
}

#[test]
fn response_rules_leave_the_request_alone() {
    let v = vm(json!({"respRules": [{"operate": "add", "headers": [{"key": "x-resp", "value": "1"}]}]}));
    let s = request("POST", "h", "/?q=1").header("content-type", "application/json").body("{\"a\":1}").send(&v);
    assert_eq!(s.upstream().body_text(), "{\"a\":1}");
    assert!(up_all(&s, "x-resp").is_empty());
    respond(&s, &[("content-type", "text/plain")], Some(b"plain"));
    assert_eq!(down_all(&s, "x-resp"), ["1"]);
    assert_eq!(s.response().body, b"plain");
}

// ----- when bodies are read, and content-length -----

#[test]
fn content_length_is_dropped_only_when_the_body_changed() {
    let v = vm(json!({"reqRules": [{"operate": "remove", "body": [{"key": "secret"}]}],
                      "respRules": [{"operate": "remove", "body": [{"key": "secret"}]}]}));
    let changed = r#"{"a":1,"secret":2}"#;
    // Requests: the headers wait for the body, so its length goes only when it changed.
    let s = json_post("h", "/", changed).header("content-length", &changed.len().to_string()).send(&v);
    assert_eq!(s.upstream().body_text(), r#"{"a":1}"#);
    assert!(up_all(&s, "content-length").is_empty());

    let untouched = "{ \"a\" : 1 }";
    let s = json_post("h", "/", untouched).header("content-length", "11").send(&v);
    assert_eq!(s.upstream().body_text(), untouched, "no key removed: the body is not rewritten");
    assert_eq!(up_all(&s, "content-length"), ["11"]);
    // Responses: the headers leave first (see response_headers_leave_before_the_body_is_read);
    // an unchanged body is still passed on byte for byte.
    respond(&s, &[("content-type", "application/json"), ("content-length", "11")], Some(untouched.as_bytes()));
    assert_eq!(s.response().body_text(), untouched);
}

#[test]
fn bodies_are_read_only_when_a_rule_needs_them() {
    let v = vm(json!({"reqRules": [{"operate": "add", "headers": [{"key": "x-a", "value": "1"}]}]}));
    let stream = v.stream();
    let action = stream
        .send_request_headers(
            [(":authority", "h"), (":path", "/"), (":method", "POST"), ("content-type", "application/json")],
            false,
        )
        .unwrap();
    assert_eq!(action, higress_host::Action::Continue, "headers go on at once");
    assert_eq!(stream.upstream().header("x-a"), Some("1"));
    stream.send_request_body("{\"x\":1}", true).unwrap();
    assert_eq!(stream.upstream().body, b"{\"x\":1}");

    // A body rule on a content type the plugin does not transform: no wait either.
    let v = vm(
        json!({"reqRules": [{"operate": "add", "body": [{"key": "a", "value": "1"}], "headers": [{"key": "x-a", "value": "1"}]}]}),
    );
    let stream = v.stream();
    let action = stream
        .send_request_headers(
            [(":authority", "h"), (":path", "/"), (":method", "POST"), ("content-type", "text/plain")],
            false,
        )
        .unwrap();
    assert_eq!(action, higress_host::Action::Continue);
    assert_eq!(stream.upstream().header("x-a"), Some("1"));
    stream.send_request_body("a=1", true).unwrap();
    assert_eq!(stream.upstream().body, b"a=1");

    // A JSON body with a body rule: the headers wait for it.
    let stream = v.stream();
    let action = stream
        .send_request_headers(
            [(":authority", "h"), (":path", "/"), (":method", "POST"), ("content-type", "application/json")],
            false,
        )
        .unwrap();
    assert_eq!(action, higress_host::Action::StopIteration);
    assert!(stream.upstream().headers.is_none());
    stream.send_request_body("{\"b\"", false).unwrap();
    stream.send_request_body(":2}", true).unwrap();
    assert_eq!(stream.upstream().header("x-a"), Some("1"));
    assert_eq!(stream.upstream().body_text(), r#"{"b":2,"a":"1"}"#);
}

#[test]
fn requests_without_a_body_are_transformed_at_once() {
    let v = vm(json!({"reqRules": [{"operate": "add", "headers": [{"key": "x-a", "value": "1"}]},
                                   {"operate": "map", "mapSource": "body", "headers": [{"fromKey": "id", "toKey": "x-id"}]},
                                   {"operate": "add", "body": [{"key": "a", "value": "1"}]}]}));
    let s = request("GET", "h", "/").header("content-type", "application/json").send(&v);
    assert_eq!(up_all(&s, "x-a"), ["1"]);
    assert!(up_all(&s, "x-id").is_empty());
    assert!(s.upstream().end_of_stream);
}

#[test]
fn a_body_ended_by_trailers_is_transformed() {
    let v = vm(json!({"reqRules": [{"operate": "add", "body": [{"key": "a", "value": "1"}]}]}));
    let s = json_post("h", "/", "{}").trailers(&[("x-t", "1")]).send(&v);
    assert_eq!(s.upstream().body_text(), r#"{"a":"1"}"#);
    assert!(s.upstream().trailers.is_some());
}

#[test]
fn encoded_bodies_are_not_waited_for() {
    let v = vm(
        json!({"reqRules": [{"operate": "add", "body": [{"key": "a", "value": "1"}], "headers": [{"key": "x-a", "value": "1"}]}]}),
    );
    let stream = v.stream();
    let action = stream
        .send_request_headers(
            [
                (":authority", "h"),
                (":path", "/"),
                (":method", "POST"),
                ("content-type", "application/json"),
                ("content-encoding", "gzip"),
            ],
            false,
        )
        .unwrap();
    assert_eq!(action, higress_host::Action::Continue);
    assert_eq!(stream.upstream().header("x-a"), Some("1"));
    stream.send_request_body(b"\x1f\x8b\x08binary", true).unwrap();
    assert_eq!(stream.upstream().body, b"\x1f\x8b\x08binary");
}

// ----- bad input -----

#[test]
fn malformed_bodies_pass_untouched_and_headers_are_still_transformed() {
    let v = vm(
        json!({"reqRules": [{"operate": "add", "headers": [{"key": "x-a", "value": "1"}], "body": [{"key": "b", "value": "1"}]}],
                      "respRules": [{"operate": "add", "headers": [{"key": "x-a", "value": "1"}], "body": [{"key": "b", "value": "1"}]}]}),
    );
    let cases: [(&str, &[u8]); 7] = [
        ("application/json", b"{\"a\":"),
        ("application/json", b"{\"a\":\"\xff\xfe\"}"),
        ("application/json", "[".repeat(200).into_bytes().leak()),
        ("application/x-www-form-urlencoded", b"a=%zz"),
        ("application/x-www-form-urlencoded", b"a;b=1"),
        ("multipart/form-data; boundary=b", b"--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nunterminated"),
        ("multipart/form-data", b"--\r\n\r\n"),
    ];
    for (content_type, body) in cases {
        let s = request("POST", "h", "/")
            .header("content-type", content_type)
            .header("content-length", &body.len().to_string())
            .body(body.to_vec())
            .send(&v);
        assert_eq!(s.upstream().body, body, "{content_type}");
        assert_eq!(up_all(&s, "x-a"), ["1"], "{content_type}");
        assert_eq!(up_all(&s, "content-length"), [body.len().to_string()], "{content_type}");
        assert!(s.traps().is_empty());
    }
    assert!(v.logged("request body is invalid JSON: left untouched"));
    assert!(v.logged("request body is JSON that is not UTF-8: left untouched"));
    assert!(v.logged("request body is a form with an invalid escape"));
    assert!(v.logged("request body is an incomplete multipart body"));
    let s = request("GET", "h", "/").send(&v);
    respond(&s, &[("content-type", "application/json")], Some(b"not json"));
    assert_eq!(s.response().body, b"not json");
    assert_eq!(down_all(&s, "x-a"), ["1"]);
    assert!(s.is_complete());
    assert!(v.logged("response body is invalid JSON: left untouched"));
    // An empty body is no body.
    let s = json_post("h", "/", "").send(&v);
    assert_eq!(up_all(&s, "x-a"), ["1"]);
    assert!(s.upstream().body.is_empty());
    assert!(!v.is_failed());
}

#[test]
fn bodies_over_the_limit_pass_untouched() {
    const LIMIT: usize = 10 * 1024 * 1024;
    let v = vm(
        json!({"reqRules": [{"operate": "add", "headers": [{"key": "x-a", "value": "1"}], "body": [{"key": "b", "value": "1"}]}]}),
    );
    let mut big = b"{\"pad\":\"".to_vec();
    big.resize(LIMIT + 1 - 2, b'x');
    big.extend_from_slice(b"\"}");
    assert_eq!(big.len(), LIMIT + 1);
    // Declared too large: not even buffered, the headers go on at once.
    let stream = v.stream();
    let headers = [
        (":authority", "h"),
        (":path", "/"),
        (":method", "POST"),
        ("content-type", "application/json"),
        ("content-length", &big.len().to_string()),
    ];
    assert_eq!(stream.send_request_headers(headers, false).unwrap(), higress_host::Action::Continue);
    assert_eq!(stream.upstream().header("x-a"), Some("1"));
    stream.send_request_body(&big, true).unwrap();
    assert_eq!(stream.upstream().body.len(), big.len());
    // Chunked (no length): buffered, found too large, passed on untouched.
    let s = json_post("h", "/", "").body(big.clone()).send(&v);
    assert_eq!(s.upstream().body.len(), big.len());
    assert!(s.upstream().body == big);
    assert_eq!(up_all(&s, "x-a"), ["1"]);
    assert!(v.logged("is over 10485760: left untouched"));
    // Just under the limit is transformed.
    let mut fits = big.clone();
    fits.drain(8..10);
    let s = json_post("h", "/", "").body(fits).send(&v);
    assert!(s.upstream().body_text().ends_with(r#","b":"1"}"#));
    assert!(!v.is_failed());
}

#[test]
fn non_utf8_bytes_survive() {
    let v = vm(json!({"reqRules": [
        {"operate": "rename", "headers": [{"oldKey": "x-raw", "newKey": "x-renamed"}]},
        {"operate": "add", "querys": [{"key": "k", "value": "v"}], "body": [{"key": "k", "value": "v"}]}
    ]}));
    let s = request("POST", "h", "/p\u{fffd}")
        .without(":path")
        .header_bytes(":path", b"/p\xff?a=%FF&b=\xfe")
        .header_bytes("x-raw", b"\xff\xfeok")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(b"f=\xff&g=%FE".to_vec())
        .send(&v);
    let up = s.upstream();
    let headers = up.headers.as_ref().unwrap();
    assert_eq!(headers.get_bytes(b":path").unwrap(), b"/p\xff?a=%FF&b=\xfe&k=v");
    assert_eq!(headers.get_bytes(b"x-renamed").unwrap(), b"\xff\xfeok");
    assert_eq!(up.body, b"f=\xff&g=%FE&k=v");
}

#[test]
fn huge_headers_and_many_parameters() {
    let v = vm(json!({"reqRules": [
        {"operate": "dedupe", "headers": [{"key": "x-many", "strategy": "RETAIN_UNIQUE"}], "querys": [{"key": "q", "strategy": "RETAIN_LAST"}]},
        {"operate": "map", "headers": [{"fromKey": "x-big", "toKey": "x-copy"}]}
    ]}));
    let big = "v".repeat(60 * 1024);
    let query: Vec<String> = (0..2000).map(|i| format!("q={i}")).collect();
    let mut req = request("GET", "h", &format!("/?{}", query.join("&"))).header("x-big", &big);
    for i in 0..90 {
        req = req.header("x-many", &(i % 3).to_string());
    }
    let s = req.send(&v);
    assert_eq!(up_all(&s, "x-many"), ["0", "1", "2"]);
    assert_eq!(up_all(&s, "x-copy"), std::slice::from_ref(&big));
    assert_eq!(up_path(&s), "/?q=1999");
    assert!(!v.is_failed());
}

/// Crafted bodies cost time in proportion to their size: a multipart body of dashes (each
/// position a near-match of a dashed boundary), a form of 200 000 distinct names, 100 000
/// values of one name deduplicated, a JSON array of 100 000 elements deduplicated.
#[test]
fn crafted_bodies_cost_linear_time() {
    let v = vm(json!({"reqRules": [{"operate": "dedupe", "body": [{"key": "k", "strategy": "RETAIN_UNIQUE"}]}]}));
    let boundary = "-".repeat(60) + "x";
    let dashes = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"k\"\r\n\r\n{}", "-".repeat(4 << 20));
    let s = request("POST", "h", "/")
        .header("content-type", &format!("multipart/form-data; boundary={boundary}"))
        .body(dashes.clone())
        .send(&v);
    assert_eq!(s.upstream().body.len(), dashes.len(), "incomplete: untouched");
    let multipart_cost = s.instructions();

    let names: Vec<String> = (0..200_000).map(|i| format!("n{i}=1")).collect();
    let form = names.join("&") + "&k=1&k=1";
    let s = request("POST", "h", "/").header("content-type", "application/x-www-form-urlencoded").body(form).send(&v);
    assert!(s.upstream().body.ends_with(b"&k=1"));
    let form_cost = s.instructions();

    let values: Vec<String> = (0..100_000).map(|i| format!("k={}", i % 50_000)).collect();
    let s = request("POST", "h", "/")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(values.join("&"))
        .send(&v);
    assert_eq!(s.upstream().body.len(), values[..50_000].join("&").len());
    let dedupe_cost = s.instructions();

    let array: Vec<String> = (0..100_000).map(|i| (i % 50_000).to_string()).collect();
    let s = json_post("h", "/", &format!("{{\"k\":[{}]}}", array.join(","))).send(&v);
    assert_eq!(up_json(&s)["k"].as_array().unwrap().len(), 50_000);
    let json_cost = s.instructions();
    for (what, cost) in
        [("multipart", multipart_cost), ("form", form_cost), ("dedupe", dedupe_cost), ("json", json_cost)]
    {
        assert!(cost < 1_500_000_000, "{what}: {cost} instructions");
    }
}

#[test]
fn memory_does_not_grow_over_many_requests() {
    let v = conformance();
    let send = |i: usize| {
        let s = conformance_headers(request("GET", "foo3.com", &format!("/get/index.html?k1={i}&k2=v2"))).send(&v);
        respond(&s, &upstream_response_headers(), Some(b"{}"));
        let s =
            json_post("foo8.com", "/post", &format!(r#"{{"X-not-renamed":[{i}],"X-to-be-mapped":["v1"]}}"#)).send(&v);
        assert!(s.upstream().body_text().contains("X-renamed"));
    };
    (0..200).for_each(send);
    let warm = v.memory_bytes();
    (200..3000).for_each(send);
    assert_eq!(v.memory_bytes(), warm);
}

// ----- config -----

#[test]
fn reroute_defaults_to_true() {
    let v = vm(json!({"respRules": []}));
    let s = request("GET", "h", "/").send(&v);
    assert_eq!(s.property_string("clear_route_cache"), None);
    let v = vm(json!({"reroute": false, "respRules": []}));
    let s = request("GET", "h", "/").send(&v);
    assert_eq!(s.property_string("clear_route_cache").as_deref(), Some("off"));
}

#[test]
fn operate_is_case_insensitive_and_values_read_as_text() {
    let v = vm(
        json!({"reqRules": [{"operate": "ADD", "headers": [{"key": "x-n", "value": 20}, {"key": "x-b", "value": false}]}]}),
    );
    let s = request("GET", "h", "/").send(&v);
    assert_eq!(up_all(&s, "x-n"), ["20"]);
    assert_eq!(up_all(&s, "x-b"), ["false"]);
}

#[test]
fn config_errors_name_the_field() {
    let plugin = testing::plugin("transformer");
    let rule = |r: Value| json!({"reqRules": [r]});
    let cases = [
        (json!({}), "reqRules: at least one of reqRules and respRules is required"),
        (json!({"reroute": false}), "reqRules: at least one of reqRules and respRules is required"),
        (
            rule(json!({"operate": "delete", "headers": [{"key": "a"}]})),
            "reqRules[0].operate: unknown operation `delete`",
        ),
        (rule(json!({"headers": [{"key": "a"}]})), "reqRules[0].operate: is required"),
        (
            json!({"respRules": [{"operate": "remove"}, {"operate": "map", "mapSource": "cookies"}]}),
            "respRules[1].mapSource: unknown map source `cookies`",
        ),
        (rule(json!({"operate": "remove", "headers": [{"value": "a"}]})), "reqRules[0].headers[0].key: is required"),
        (
            rule(json!({"operate": "add", "headers": [{"key": "X Bad", "value": "a"}]})),
            "reqRules[0].headers[0].key: `x bad` is not a valid header name",
        ),
        (
            rule(json!({"operate": "append", "headers": [{"key": "x-a", "appendValue": "a\r\nx-injected: 1"}]})),
            "reqRules[0].headers[0].appendValue: a header value cannot hold CR, LF or NUL",
        ),
        (rule(json!({"operate": "remove", "querys": [{"key": ""}]})), "reqRules[0].querys[0].key: is required"),
        (
            rule(json!({"operate": "rename", "headers": [{"oldKey": "a"}]})),
            "reqRules[0].headers[0].newKey: is required",
        ),
        (rule(json!({"operate": "map", "body": [{"toKey": "a"}]})), "reqRules[0].body[0].fromKey: is required"),
        (
            rule(json!({"operate": "add", "headers": [{"key": "a", "host_pattern": "("}]})),
            "reqRules[0].headers[0].host_pattern:",
        ),
        (
            rule(json!({"operate": "replace", "querys": [{"key": "a", "path_pattern": "\\p{Han}"}]})),
            "reqRules[0].querys[0].path_pattern:",
        ),
        (
            rule(json!({"operate": "dedupe", "headers": [{"key": "a"}, {"key": "b", "strategy": "KEEP_ALL"}]})),
            "reqRules[0].headers[1].strategy: unknown strategy `KEEP_ALL`",
        ),
        (
            rule(json!({"operate": "add", "body": [{"key": "a", "value": "x", "value_type": "integer"}]})),
            "reqRules[0].body[0].value_type: unknown value type `integer`",
        ),
        (
            rule(json!({"operate": "add", "body": [{"key": "a", "value": "ten", "value_type": "number"}]})),
            "reqRules[0].body[0].value: `ten` is not a finite number (value_type number)",
        ),
        (
            rule(json!({"operate": "append", "body": [{"key": "a", "appendValue": "yes", "value_type": "boolean"}]})),
            "reqRules[0].body[0].appendValue: `yes` is not a boolean",
        ),
        (
            rule(json!({"operate": "replace", "body": [{"key": "a", "newValue": "{", "value_type": "object"}]})),
            "reqRules[0].body[0].newValue: `{` is not JSON",
        ),
        (
            rule(json!({"operate": "add", "body": [{"key": "list.#.a", "value": "1"}]})),
            "reqRules[0].body[0].key: `#` (every element of an array) is only supported",
        ),
        (
            rule(json!({"operate": "remove", "headers": {"key": "a"}})),
            "reqRules[0].headers: expected an array of items",
        ),
        (rule(json!({"operate": "remove", "headers": ["a"]})), "reqRules[0].headers[0]: expected an object"),
        (json!({"reqRules": "x"}), "reqRules: expected an array of rules"),
        (json!({"respRules": [3]}), "respRules[0]: expected an object"),
        (
            json!({"respRules": [{"operate": "map", "mapSource": "body", "headers": [{"fromKey": "a", "toKey": "x-a"}]}]}),
            "respRules[0].mapSource: body cannot be mapped into response headers",
        ),
        (json!({"reroute": "no", "reqRules": []}), "reroute: expected a boolean"),
        (
            json!({"_rules_": [{"_match_domain_": ["a.com"], "reqRules": [{"operate": "nope"}]}]}),
            "_rules_[0].reqRules[0].operate: unknown operation `nope`",
        ),
    ];
    for (config, expected) in cases {
        let line = testing::config_error(&plugin, &config);
        assert!(line.contains(&format!("transformer config error: {expected}")), "{line}\n  expected: {expected}");
    }
}

#[test]
fn ignored_response_query_rules_are_warned_about() {
    let v = Vm::builder(&testing::plugin("transformer"))
        .config_json(&json!({"respRules": [{"operate": "remove", "querys": [{"key": "a"}]},
            {"operate": "map", "mapSource": "querys", "headers": [{"fromKey": "a", "toKey": "b"}]}]}))
        .start()
        .unwrap();
    assert!(v.logged("respRules[0].querys is ignored"));
    assert!(v.logged("respRules[1].mapSource: querys maps nothing in a response"));
    let s = request("GET", "h", "/?a=1").send(&v);
    respond(&s, &[], None);
    assert!(down_all(&s, "b").is_empty());
}

// ----- random input -----

fn proptest_config() -> Value {
    json!({"reqRules": [
        {"operate": "remove", "headers": [{"key": "x-remove"}], "querys": [{"key": "r"}], "body": [{"key": "r"}, {"key": "l.#.r"}]},
        {"operate": "rename", "headers": [{"oldKey": "x-old", "newKey": "x-new"}], "querys": [{"oldKey": "o", "newKey": "n"}],
         "body": [{"oldKey": "o", "newKey": "n.x"}]},
        {"operate": "replace", "headers": [{"key": "x-host", "newValue": "h-$1", "host_pattern": "^([a-z]+)"}],
         "querys": [{"key": "p", "newValue": "$1", "path_pattern": "^/(\\w*)"}], "body": [{"key": "l.#.v", "newValue": "1", "value_type": "number"}]},
        {"operate": "add", "headers": [{"key": "x-added", "value": "a"}], "querys": [{"key": "a", "value": "1"}], "body": [{"key": "a.0.b", "value": "1"}]},
        {"operate": "append", "headers": [{"key": "x-added", "appendValue": "b"}], "body": [{"key": "a", "appendValue": "{}", "value_type": "object"}]},
        {"operate": "map", "mapSource": "body", "headers": [{"fromKey": "m", "toKey": "x-m"}], "querys": [{"fromKey": "m", "toKey": "m"}]},
        {"operate": "map", "mapSource": "headers", "body": [{"fromKey": "x-added", "toKey": "h"}]},
        {"operate": "dedupe", "headers": [{"key": "x-added", "strategy": "SPLIT_AND_RETAIN_LAST"}],
         "querys": [{"key": "a", "strategy": "RETAIN_UNIQUE"}], "body": [{"key": "d", "strategy": "RETAIN_UNIQUE"}]}
    ], "respRules": [
        {"operate": "rename", "headers": [{"oldKey": "x-old", "newKey": "x-new"}], "body": [{"oldKey": "o", "newKey": "n"}]},
        {"operate": "map", "mapSource": "headers", "body": [{"fromKey": "x-new", "toKey": "m"}]}
    ]})
}

thread_local! {
    static VM: Vm = vm(proptest_config());
}

fn shared_vm() -> Vm {
    VM.with(Vm::clone)
}

fn content_type() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("application/json".to_string()),
        Just("application/x-www-form-urlencoded".to_string()),
        Just("multipart/form-data; boundary=b".to_string()),
        Just("multipart/form-data".to_string()),
        Just("text/plain".to_string()),
        "[ -~]{0,40}",
    ]
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..200),
        "[{}\\[\\]\",:a-z0-9#. \\\\]{0,120}".prop_map(String::into_bytes),
        "[a-z=&%0-9;+]{0,80}".prop_map(String::into_bytes),
        Just(br#"{"r":1,"o":{"x":[1,2]},"l":[{"r":1,"v":0},3],"m":"mv","a":[{"b":2}],"d":[1,1,"1"]}"#.to_vec()),
        Just(b"--b\r\nContent-Disposition: form-data; name=\"r\"\r\n\r\nx\r\n--b\r\nContent-Disposition: form-data; name=\"o\"; filename=\"f\"\r\n\r\ny\r\n--b--\r\n".to_vec()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]
    /// Random headers, queries, content types and bodies through request and response:
    /// never a trap, the VM keeps serving, and a known request is still transformed.
    #[test]
    fn random_input_keeps_the_vm_serving(
        headers in proptest::collection::vec(
            (prop_oneof![Just("x-remove".to_string()), Just("x-old".to_string()), Just("x-added".to_string()), "[a-z-]{1,10}"],
             proptest::collection::vec(any::<u8>(), 0..40)), 0..6),
        path in proptest::collection::vec(any::<u8>(), 0..60),
        content_type in content_type(),
        body in body(),
        response_body in body(),
    ) {
        let vm = shared_vm();
        let mut raw_path = b"/".to_vec();
        raw_path.extend_from_slice(&path);
        let mut req = request("POST", "host.test", "/").without(":path").header_bytes(":path", &raw_path).header("content-type", &content_type);
        for (name, value) in &headers {
            req = req.header_bytes(name, value);
        }
        let s = req.body(body.clone()).send(&vm);
        prop_assert!(s.traps().is_empty(), "{:?}", s.traps());
        prop_assert!(s.upstream().end_of_stream);
        respond(&s, &[("content-type", "application/json"), ("x-old", "1")], Some(&response_body));
        prop_assert!(s.traps().is_empty(), "{:?}", s.traps());
        prop_assert!(s.is_complete());
        prop_assert!(!vm.is_failed());

        let ok = json_post("host.test", "/p?o=1", r#"{"o":1}"#).header("x-old", "v").send(&vm);
        prop_assert_eq!(up_all(&ok, "x-new"), ["v"]);
        prop_assert_eq!(up_json(&ok), json!({"n": {"x": 1}, "a": [{"b": "1"}, {}], "h": ["a"]}));
    }
}
