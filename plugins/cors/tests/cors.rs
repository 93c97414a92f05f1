//! cors on the compiled `.wasm`: Higress's Go unit tests (2.0.1 behaviour), its README's
//! examples, defaults that work out of the box, upstream policy headers replaced, config
//! errors, hostile input, and random requests.
// Helpers outside #[test] functions may panic too: a failing test should fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use higress_host::testing::{self, request};
use higress_host::{HeaderMap, Message, Stream, Vm};
use proptest::prelude::*;
use serde_json::{json, Value};

const POLICY: [&str; 6] = [
    "access-control-allow-origin",
    "access-control-allow-methods",
    "access-control-allow-headers",
    "access-control-expose-headers",
    "access-control-allow-credentials",
    "access-control-max-age",
];

fn vm(config: Value) -> Vm {
    testing::vm("cors", &config)
}

/// Go's `basicCorsConfig`.
fn basic() -> Vm {
    vm(json!({
        "allow_origins": ["http://example.com", "https://example.com"],
        "allow_methods": ["GET", "POST", "OPTIONS"],
        "allow_headers": ["Content-Type", "Authorization"],
        "expose_headers": ["X-Custom-Header"],
        "allow_credentials": false,
        "max_age": 3600
    }))
}

/// Go's `patternMatchConfig`.
fn patterns() -> Vm {
    vm(json!({
        "allow_origin_patterns": ["http://*.example.com", "http://*.example.org:[8080,9090]"],
        "allow_methods": ["GET", "POST", "PUT", "DELETE"],
        "allow_headers": ["Content-Type", "Token", "Authorization"],
        "expose_headers": ["X-Custom-Header", "X-Env-UTM"],
        "allow_credentials": true,
        "max_age": 1800
    }))
}

/// A request from `origin` to `http://api.example.com`.
fn from(method: &str, origin: &str) -> higress_host::testing::Request {
    request(method, "api.example.com", "/api/test").header("origin", origin)
}

/// A preflight from `origin` asking for `method` (and `headers`, when given).
fn preflight(vm: &Vm, origin: &str, method: &str, headers: Option<&str>) -> Stream {
    let mut r = from("OPTIONS", origin).header("access-control-request-method", method);
    if let Some(h) = headers {
        r = r.header("access-control-request-headers", h);
    }
    r.send(vm)
}

/// Sends the upstream's response headers and returns what the client got.
fn respond(s: &Stream, headers: &[(&str, &str)]) -> Message {
    let mut map = HeaderMap::from_pairs(&[(":status", "200"), ("content-type", "application/json")]);
    for (k, v) in headers {
        map.add(k.as_bytes(), v.as_bytes());
    }
    s.send_response_headers(map, true).unwrap();
    s.response()
}

fn header<'a>(m: &'a Message, name: &str) -> Option<&'a str> {
    m.header(name)
}

fn all<'a>(m: &'a Message, name: &str) -> Vec<&'a str> {
    m.headers.as_ref().map(|h| h.get_all(name)).unwrap_or_default()
}

/// A `204` preflight answer with `details`, no body, and nothing sent upstream.
fn assert_preflight_answer(s: &Stream, details: &str) -> Message {
    let reply = s.local_response().expect("a preflight answer");
    assert_eq!(reply.details, details);
    assert_eq!(reply.status, 204);
    assert!(reply.body.is_empty());
    assert!(s.upstream().headers.is_none(), "a preflight answer must not reach the upstream");
    let response = s.response();
    assert_eq!(response.status(), Some(204));
    assert_eq!(header(&response, "x-cors-version"), Some("2.0.1"));
    assert_eq!(header(&response, "x-cors-trace"), None);
    response
}

fn assert_no_policy(m: &Message) {
    for name in POLICY {
        assert_eq!(header(m, name), None, "{name}");
    }
}

/// The request went upstream as it came.
fn assert_upstream(s: &Stream) {
    assert!(s.local_response().is_none(), "{:?}", s.local_response());
    assert!(s.upstream().end_of_stream);
}

#[test]
fn a_valid_preflight_is_answered_204_with_the_policy() {
    let s = preflight(&basic(), "http://example.com", "POST", Some("Content-Type"));
    let m = assert_preflight_answer(&s, "cors.preflight");
    assert_eq!(header(&m, "access-control-allow-origin"), Some("http://example.com"));
    assert_eq!(header(&m, "access-control-allow-methods"), Some("GET,POST,OPTIONS"));
    assert_eq!(header(&m, "access-control-allow-headers"), Some("Content-Type,Authorization"));
    assert_eq!(header(&m, "access-control-expose-headers"), Some("X-Custom-Header"));
    assert_eq!(header(&m, "access-control-max-age"), Some("3600"));
    assert_eq!(header(&m, "access-control-allow-credentials"), None);
    assert_eq!(all(&m, "vary"), ["Origin"]);
    // Go's test: spaces after the commas of the requested headers do not matter.
    let s = preflight(&basic(), "http://example.com", "POST", Some("Content-Type, Authorization"));
    assert_preflight_answer(&s, "cors.preflight");
}

#[test]
fn an_invalid_preflight_is_answered_204_without_the_policy() {
    let vm = basic();
    for s in [
        preflight(&vm, "http://invalid.com", "POST", None),
        preflight(&vm, "http://example.com", "DELETE", None),
        preflight(&vm, "http://example.com", "GET", Some("X-Not-Allowed")),
        preflight(&vm, "http://example.com", "GET", Some("Content-Type, X-Not-Allowed")),
    ] {
        let m = assert_preflight_answer(&s, "cors.preflight.invalid");
        assert_no_policy(&m);
        assert_eq!(header(&m, "vary"), None);
    }
}

#[test]
fn an_invalid_actual_request_goes_upstream_and_gets_no_policy() {
    let vm = basic();
    let upstream_policy = [
        ("access-control-allow-origin", "http://invalid.com"),
        ("access-control-allow-methods", "GET,POST"),
        ("access-control-allow-headers", "X-Upstream"),
        ("access-control-expose-headers", "X-Upstream-Expose"),
        ("access-control-allow-credentials", "true"),
        ("access-control-max-age", "600"),
    ];
    for s in [from("GET", "http://invalid.com").send(&vm), from("DELETE", "http://example.com").send(&vm)] {
        assert_upstream(&s);
        let m = respond(&s, &upstream_policy);
        assert_eq!(m.status(), Some(200));
        assert_no_policy(&m);
        assert_eq!(header(&m, "x-cors-version"), Some("2.0.1"));
    }
}

#[test]
fn a_valid_actual_request_gets_origin_exposed_headers_and_vary() {
    let s = from("GET", "http://example.com").send(&basic());
    assert_upstream(&s);
    // The upstream's own policy is replaced.
    let m =
        respond(&s, &[("access-control-allow-origin", "*"), ("access-control-max-age", "5"), ("x-cors-trace", "x")]);
    assert_eq!(all(&m, "access-control-allow-origin"), ["http://example.com"]);
    assert_eq!(header(&m, "access-control-expose-headers"), Some("X-Custom-Header"));
    // Methods, headers and max age belong to preflights only.
    for name in
        ["access-control-allow-methods", "access-control-allow-headers", "access-control-max-age", "x-cors-trace"]
    {
        assert_eq!(header(&m, name), None, "{name}");
    }
    assert_eq!(all(&m, "vary"), ["Origin"]);
    assert_eq!(header(&m, "content-type"), Some("application/json"));
}

#[test]
fn vary_origin_is_merged_into_the_upstreams_vary() {
    let vm = basic();
    let m = respond(&from("GET", "http://example.com").send(&vm), &[("vary", "Accept-Encoding")]);
    assert_eq!(all(&m, "vary"), ["Accept-Encoding", "Origin"]);
    let m = respond(&from("GET", "http://example.com").send(&vm), &[("vary", "accept-encoding, origin")]);
    assert_eq!(all(&m, "vary"), ["accept-encoding, origin"]);
    let m = respond(&from("GET", "http://example.com").send(&vm), &[("vary", "*")]);
    assert_eq!(all(&m, "vary"), ["*"]);
}

#[test]
fn same_origin_and_origin_less_requests_are_not_cors() {
    let vm = basic();
    // Same origin, even an OPTIONS that looks like a preflight: goes upstream.
    let s = request("OPTIONS", "example.com", "/")
        .header("origin", "http://example.com")
        .header("access-control-request-method", "POST");
    let s = s.send(&vm);
    assert_upstream(&s);
    let m = respond(&s, &[("access-control-allow-origin", "http://example.com")]);
    assert_no_policy(&m);
    assert_eq!(header(&m, "vary"), None);
    // No Origin: the upstream's policy headers are removed all the same, as Higress does.
    let s = request("GET", "example.com", "/").send(&vm);
    assert_upstream(&s);
    let m = respond(&s, &[("access-control-allow-origin", "*"), ("access-control-allow-credentials", "true")]);
    assert_no_policy(&m);
    assert_eq!(header(&m, "x-cors-version"), Some("2.0.1"));
    // An OPTIONS without Access-Control-Request-Method is an actual request.
    let s = from("OPTIONS", "http://example.com").send(&vm);
    assert_upstream(&s);
    assert_eq!(header(&respond(&s, &[]), "access-control-allow-origin"), Some("http://example.com"));
}

/// The fix: Higress's snapshot defaulted methods and headers to one string each, which no
/// request matched; the defaults now allow the usual requests.
#[test]
fn the_defaults_work_out_of_the_box() {
    let vm = vm(json!({}));
    let s = preflight(&vm, "https://app.example", "POST", Some("Content-Type, Authorization"));
    let m = assert_preflight_answer(&s, "cors.preflight");
    assert_eq!(header(&m, "access-control-allow-origin"), Some("https://app.example"));
    assert_eq!(header(&m, "access-control-allow-methods"), Some("GET,PUT,POST,DELETE,PATCH,OPTIONS"));
    assert_eq!(
        header(&m, "access-control-allow-headers"),
        Some("DNT,X-CustomHeader,Keep-Alive,User-Agent,X-Requested-With,If-Modified-Since,Cache-Control,Content-Type,Authorization")
    );
    assert_eq!(header(&m, "access-control-max-age"), Some("86400"));
    assert_eq!(header(&m, "access-control-expose-headers"), None);
    let m = respond(&from("PATCH", "https://app.example").send(&vm), &[]);
    assert_eq!(header(&m, "access-control-allow-origin"), Some("https://app.example"));
    let s = preflight(&vm, "https://app.example", "HEAD", None);
    assert_preflight_answer(&s, "cors.preflight.invalid");
    // Entries may list several names each, as the default strings do.
    let vm = testing::vm("cors", &json!({"allow_methods": ["get, post"], "allow_headers": ["X-A ,X-B", " "]}));
    let m = assert_preflight_answer(&preflight(&vm, "https://a.example", "POST", Some("x-b")), "cors.preflight");
    assert_eq!(header(&m, "access-control-allow-methods"), Some("GET,POST"));
    assert_eq!(header(&m, "access-control-allow-headers"), Some("X-A,X-B"));
}

/// Go's `allowAllOriginsConfig`: every origin is echoed; `*` methods and headers echo the
/// preflight's request.
#[test]
fn wildcards_echo_what_was_asked() {
    let vm = vm(json!({
        "allow_origins": ["*"], "allow_methods": ["*"], "allow_headers": ["*"], "expose_headers": ["*"],
        "allow_credentials": false, "max_age": 7200
    }));
    let m = respond(&from("GET", "http://any-domain.com").send(&vm), &[]);
    assert_eq!(header(&m, "access-control-allow-origin"), Some("http://any-domain.com"));
    assert_eq!(header(&m, "access-control-expose-headers"), Some("*"));
    assert_eq!(all(&m, "vary"), ["Origin"]);
    let s = preflight(&vm, "https://client.example.com", "PROPFIND", Some(" Content-Type, Authorization, "));
    let m = assert_preflight_answer(&s, "cors.preflight");
    assert_eq!(header(&m, "access-control-allow-methods"), Some("PROPFIND"));
    assert_eq!(header(&m, "access-control-allow-headers"), Some("Content-Type,Authorization"));
    assert_eq!(header(&m, "access-control-max-age"), Some("7200"));
    let s = preflight(&vm, "https://client.example.com", "PROPFIND", None);
    let m = assert_preflight_answer(&s, "cors.preflight");
    assert_eq!(header(&m, "access-control-allow-headers"), None);
    // What is echoed must be a method or header name.
    for (method, headers) in [("GET POST", None), ("GET", Some("X-A, X B")), ("GET", Some("X-A;x"))] {
        let s = preflight(&vm, "https://client.example.com", method, headers);
        assert_preflight_answer(&s, "cors.preflight.invalid");
    }
}

#[test]
fn patterns_match_whole_origins() {
    let vm = patterns();
    let allowed = |origin: &str| {
        let m = respond(&from("GET", origin).send(&vm), &[]);
        header(&m, "access-control-allow-origin").map(str::to_string)
    };
    assert_eq!(allowed("http://sub.example.com").as_deref(), Some("http://sub.example.com"));
    assert_eq!(allowed("http://Sub.Example.COM").as_deref(), Some("http://Sub.Example.COM"));
    assert_eq!(allowed("http://a.example.org:9090").as_deref(), Some("http://a.example.org:9090"));
    for refused in [
        "http://example.com",
        "https://sub.example.com",
        "http://sub.example.com:8080",
        "http://api.example.com.evil.com",
        "http://a.example.org",
        "http://a.example.org:7070",
        "http://a.example.org:8080.evil.com",
    ] {
        assert_eq!(allowed(refused), None, "{refused}");
    }
    let m = respond(&from("GET", "http://sub.example.com").send(&vm), &[]);
    assert_eq!(header(&m, "access-control-allow-credentials"), Some("true"));
    assert_eq!(header(&m, "access-control-expose-headers"), Some("X-Custom-Header,X-Env-UTM"));
}

/// Go's `credentialsConfig`: the `*` pattern allows every origin with credentials, echoing it.
#[test]
fn credentials_with_the_star_pattern_echo_the_origin() {
    let vm = vm(json!({
        "allow_origin_patterns": ["*"], "allow_methods": ["GET", "POST"],
        "allow_headers": ["Content-Type", "Authorization"], "expose_headers": ["X-Custom-Header"],
        "allow_credentials": true, "max_age": 86400
    }));
    let m = respond(&from("GET", "http://any-domain.com").send(&vm), &[]);
    assert_eq!(header(&m, "access-control-allow-origin"), Some("http://any-domain.com"));
    assert_eq!(header(&m, "access-control-allow-credentials"), Some("true"));
    assert_eq!(all(&m, "vary"), ["Origin"]);
    let m = assert_preflight_answer(&preflight(&vm, "null", "POST", None), "cors.preflight");
    assert_eq!(header(&m, "access-control-allow-origin"), Some("null"));
    assert_eq!(header(&m, "access-control-allow-credentials"), Some("true"));
}

#[test]
fn credentials_are_off_with_the_star_origin_and_nothing_is_allowed_without_origins() {
    let config = json!({"allow_origins": ["*"], "allow_credentials": true});
    let vm = Vm::builder(&testing::plugin("cors")).config_json(&config).start().unwrap();
    assert!(vm.logged("allow_credentials: ignored"));
    let m = respond(&from("GET", "http://a.com").send(&vm), &[]);
    assert_eq!(header(&m, "access-control-allow-origin"), Some("http://a.com"));
    assert_eq!(header(&m, "access-control-allow-credentials"), None);
    // Credentials and no origin list: Higress allows none (the `*` default needs no credentials).
    let vm = testing::vm("cors", &json!({"allow_credentials": true}));
    assert_no_policy(&respond(&from("GET", "http://a.com").send(&vm), &[]));
    // `*` exposed with credentials stays accepted.
    let vm = testing::vm(
        "cors",
        &json!({"allow_origins": ["http://a.com"], "allow_credentials": true, "expose_headers": ["*"]}),
    );
    let m = respond(&from("GET", "http://a.com").send(&vm), &[]);
    assert_eq!(header(&m, "access-control-expose-headers"), Some("*"));
    assert_eq!(header(&m, "access-control-allow-credentials"), Some("true"));
}

/// The README's test configuration and requests.
#[test]
fn readme_examples() {
    let vm = vm(json!({
        "allow_origins": ["http://httpbin.example.net"],
        "allow_origin_patterns": ["http://*.example.com:[*]", "http://*.example.org:[9090,8080]"],
        "allow_methods": ["GET", "POST", "PATCH"],
        "allow_headers": ["Content-Type", "Token", "Authorization"],
        "expose_headers": ["X-Custom-Header", "X-Env-UTM"],
        "allow_credentials": true,
        "max_age": 3600
    }));
    let origin = "http://httpbin2.example.org:9090";
    let get = request("GET", "httpbin.example.com", "/anything/get?foo=1").header("origin", origin).send(&vm);
    let m = respond(&get, &[]);
    assert_eq!(header(&m, "access-control-allow-origin"), Some(origin));
    assert_eq!(header(&m, "access-control-expose-headers"), Some("X-Custom-Header,X-Env-UTM"));
    assert_eq!(header(&m, "access-control-allow-credentials"), Some("true"));
    let pre = |origin: &str, method: &str, headers: Option<&str>| {
        let mut r = request("OPTIONS", "httpbin.example.com", "/anything/get?foo=1")
            .header("origin", origin)
            .header("access-control-request-method", method);
        if let Some(h) = headers {
            r = r.header("access-control-request-headers", h);
        }
        r.send(&vm)
    };
    let m = assert_preflight_answer(&pre(origin, "POST", Some("Content-Type, Token")), "cors.preflight");
    assert_eq!(header(&m, "access-control-allow-origin"), Some(origin));
    assert_eq!(header(&m, "access-control-allow-methods"), Some("GET,POST,PATCH"));
    assert_eq!(header(&m, "access-control-allow-headers"), Some("Content-Type,Token,Authorization"));
    assert_eq!(header(&m, "access-control-expose-headers"), Some("X-Custom-Header,X-Env-UTM"));
    assert_eq!(header(&m, "access-control-allow-credentials"), Some("true"));
    assert_eq!(header(&m, "access-control-max-age"), Some("3600"));
    assert_preflight_answer(&pre("http://httpbin2.example.org", "GET", None), "cors.preflight.invalid");
    assert_preflight_answer(&pre(origin, "DELETE", None), "cors.preflight.invalid");
    assert_preflight_answer(&pre(origin, "GET", Some("TokenView")), "cors.preflight.invalid");
    // The exact origin, and the `[*]` pattern with and without a port.
    assert_preflight_answer(&pre("http://httpbin.example.net", "GET", None), "cors.preflight");
    assert_preflight_answer(&pre("http://a.example.com", "GET", None), "cors.preflight");
    assert_preflight_answer(&pre("http://a.example.com:1234", "GET", None), "cors.preflight");
}

#[test]
fn origins_compare_case_insensitively_and_without_a_trailing_slash() {
    let vm = vm(json!({"allow_origins": ["HTTPS://App.Example/"]}));
    let m = respond(&from("GET", "https://app.example").send(&vm), &[]);
    assert_eq!(header(&m, "access-control-allow-origin"), Some("https://app.example"));
    let m = respond(&from("GET", " https://APP.example/ ").send(&vm), &[]);
    assert_eq!(header(&m, "access-control-allow-origin"), Some("https://APP.example"));
    assert_no_policy(&respond(&from("GET", "https://app.example:8443").send(&vm), &[]));
    assert_no_policy(&respond(&from("GET", "http://app.example").send(&vm), &[]));
}

#[test]
fn malformed_and_hostile_origins_are_not_cors() {
    let vm = vm(json!({"allow_origins": ["*"]}));
    let long = format!("http://{}.com", "a".repeat(60_000));
    for origin in
        ["", "example.com", "http://a.com/path", "http://user@a.com", "http://a.com:x", "http://a b", "*", &long]
    {
        let s = from("OPTIONS", origin).header("access-control-request-method", "GET").send(&vm);
        if origin == long {
            // Long but well-formed: an origin like any other.
            assert_eq!(
                header(&assert_preflight_answer(&s, "cors.preflight"), "access-control-allow-origin"),
                Some(&long[..])
            );
            continue;
        }
        assert_upstream(&s);
        assert_no_policy(&respond(&s, &[]));
    }
    // Not UTF-8.
    let s = request("GET", "api.example.com", "/").header_bytes("origin", b"http://\xff.com").send(&vm);
    assert_upstream(&s);
    assert_no_policy(&respond(&s, &[]));
    // A non-UTF-8 path and requested headers that are not names.
    let s = request("OPTIONS", "api.example.com", "/")
        .without(":path")
        .header_bytes(":path", b"/\xff\xfe")
        .header("origin", "http://a.com")
        .header("access-control-request-method", "GET")
        .header_bytes("access-control-request-headers", b"x-\xff")
        .send(&testing::vm("cors", &json!({"allow_headers": ["*"]})));
    assert_preflight_answer(&s, "cors.preflight.invalid");
    // 50 KiB of requested header names: checked one by one, echoed with `*`.
    let many = "X-A, ".repeat(10_000);
    let listed = testing::vm("cors", &json!({"allow_headers": ["x-a"]}));
    let m = assert_preflight_answer(&preflight(&listed, "http://a.com", "GET", Some(&many)), "cors.preflight");
    assert_eq!(header(&m, "access-control-allow-headers"), Some("x-a"));
    let star = testing::vm("cors", &json!({"allow_headers": ["*"]}));
    let m = assert_preflight_answer(&preflight(&star, "http://a.com", "GET", Some(&many)), "cors.preflight");
    assert_eq!(header(&m, "access-control-allow-headers").map(str::len), Some(10_000 * 4 - 1));
    // Bodies are not the plugin's business: a large one streams through.
    let s = from("POST", "http://a.com").body(vec![0xffu8; 200_000]).send(&vm);
    assert_upstream(&s);
    assert_eq!(s.upstream().body.len(), 200_000);
    assert_eq!(header(&respond(&s, &[]), "access-control-allow-origin"), Some("http://a.com"));
    assert!(!vm.is_failed() && !listed.is_failed() && !star.is_failed());
}

#[test]
fn rules_pick_the_policy_per_domain() {
    let vm = vm(json!({
        "allow_origins": ["http://a.com"],
        "_rules_": [{"_match_domain_": ["special.com"], "allow_origins": ["http://b.com"], "max_age": -5}]
    }));
    let allow = |host: &str, origin: &str| {
        let s = request("GET", host, "/").header("origin", origin).send(&vm);
        header(&respond(&s, &[]), "access-control-allow-origin").map(str::to_string)
    };
    assert_eq!(allow("special.com", "http://b.com").as_deref(), Some("http://b.com"));
    assert_eq!(allow("special.com", "http://a.com"), None);
    assert_eq!(allow("other.com", "http://a.com").as_deref(), Some("http://a.com"));
    let s = request("OPTIONS", "special.com", "/")
        .header("origin", "http://b.com")
        .header("access-control-request-method", "GET")
        .send(&vm);
    assert_eq!(header(&assert_preflight_answer(&s, "cors.preflight"), "access-control-max-age"), Some("86400"));
}

#[test]
fn config_errors_name_the_field() {
    let plugin = testing::plugin("cors");
    for (config, expected) in [
        (json!({"allow_origins": "*"}), "allow_origins: invalid type: string \"*\", expected a sequence"),
        (
            json!({"allow_origins": ["http://a.com", 5]}),
            "allow_origins[1]: invalid type: integer `5`, expected a string",
        ),
        (json!({"allow_methods": [true]}), "allow_methods[0]: invalid type: boolean `true`"),
        (json!({"allow_headers": {}}), "allow_headers: invalid type: map"),
        (json!({"expose_headers": [null]}), "expose_headers[0]: invalid type: null"),
        (json!({"allow_credentials": "true"}), "allow_credentials: invalid type: string \"true\", expected a boolean"),
        (json!({"max_age": "3600"}), "max_age: invalid type: string \"3600\""),
        (json!({"max_age": 1.5}), "max_age: invalid type: floating point `1.5`"),
        (
            json!({"allow_origin_patterns": ["http://*.a.com", "http://*.b.com:[80,x]"]}),
            "allow_origin_patterns[1]: bad port list `[80,x]`",
        ),
        (
            json!({"_rules_": [{"_match_domain_": ["a.com"], "allow_origin_patterns": ["http://a.com:[]"]}]}),
            "_rules_[0].allow_origin_patterns[0]: bad port list `[]`",
        ),
    ] {
        let line = testing::config_error(&plugin, &config);
        assert!(line.contains(&format!("cors config error: {expected}")), "{line}\n  expected: {expected}");
    }
}

/// Another plugin's local reply (after this one in the chain: an auth refusal, say) still
/// carries the policy, so the browser lets the page read it.
#[test]
fn local_replies_of_later_plugins_get_the_policy() {
    let cors = basic();
    let replier = testing::vm("hello-world", &json!({"reply": "refused"}));
    let s = from("GET", "http://example.com")
        .send_through(Stream::new([higress_host::Filter::new(&cors), higress_host::Filter::new(&replier)]));
    let m = s.response();
    assert_eq!(m.status(), Some(200));
    assert_eq!(m.body_text(), "refused");
    assert_eq!(header(&m, "access-control-allow-origin"), Some("http://example.com"));
    assert_eq!(all(&m, "vary"), ["Origin"]);
}

fn shared_vm() -> Vm {
    thread_local! {
        static VM: Vm = vm(json!({
            "allow_origins": ["http://a.com"],
            "allow_origin_patterns": ["https://*.b.com:[*]"],
            "allow_methods": ["GET", "POST"],
            "allow_headers": ["X-A", "Content-Type"],
            "expose_headers": ["X-E"],
            "allow_credentials": true
        }));
    }
    VM.with(Vm::clone)
}

fn origin() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"http://a.com".to_vec()),
        Just(b"http://A.com/".to_vec()),
        "https://[a-z]{1,5}\\.b\\.com(:[0-9]{1,5})?".prop_map(String::into_bytes),
        "(http|https|null)(://)?[ -~]{0,20}".prop_map(String::into_bytes),
        proptest::collection::vec(any::<u8>(), 0..40),
    ]
}

fn token_list() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        "(X-A|Content-Type|x-b| |,){0,4}".prop_map(String::into_bytes),
        proptest::collection::vec(any::<u8>(), 0..24),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]
    /// Random origins, methods and preflight headers: the VM keeps serving, a local answer
    /// is only ever a `204` preflight, allowing headers name exactly the request's origin,
    /// and preflight-only headers never reach an actual response.
    #[test]
    fn random_requests_keep_the_vm_serving(
        method in prop_oneof![Just("GET".to_string()), Just("OPTIONS".to_string()), Just("DELETE".to_string()), "[A-Z]{1,8}"],
        origin in origin(),
        asked_method in proptest::option::of(prop_oneof![Just(b"GET".to_vec()), Just(b"PUT".to_vec()), token_list()]),
        asked_headers in proptest::option::of(token_list()),
    ) {
        let vm = shared_vm();
        let mut r = request(&method, "api.example.com", "/x").header_bytes("origin", &origin);
        if let Some(m) = &asked_method {
            r = r.header_bytes("access-control-request-method", m);
        }
        if let Some(h) = &asked_headers {
            r = r.header_bytes("access-control-request-headers", h);
        }
        let s = r.send(&vm);
        let text = String::from_utf8(origin.clone()).ok();
        let echoed = text.as_deref().map(|t| t.trim()).map(|t| t.strip_suffix('/').unwrap_or(t).to_string());
        if let Some(reply) = s.local_response() {
            prop_assert_eq!(method, "OPTIONS");
            prop_assert_eq!(reply.status, 204);
            let m = s.response();
            match reply.details.as_str() {
                "cors.preflight" => {
                    prop_assert_eq!(header(&m, "access-control-allow-origin").map(str::to_string), echoed);
                    prop_assert_eq!(header(&m, "access-control-allow-credentials"), Some("true"));
                    prop_assert_eq!(header(&m, "access-control-allow-methods"), Some("GET,POST"));
                }
                "cors.preflight.invalid" => assert_no_policy(&m),
                other => prop_assert!(false, "details {}", other),
            }
        } else {
            assert_upstream(&s);
            let m = respond(&s, &[("access-control-max-age", "1"), ("access-control-allow-origin", "*")]);
            for name in ["access-control-allow-methods", "access-control-allow-headers", "access-control-max-age"] {
                prop_assert_eq!(header(&m, name), None);
            }
            if let Some(allowed) = header(&m, "access-control-allow-origin") {
                prop_assert_eq!(Some(allowed.to_string()), echoed);
                prop_assert_eq!(all(&m, "vary"), vec!["Origin"]);
                prop_assert!(method == "GET" || method == "POST", "{} allowed", method);
            }
        }
        prop_assert!(!vm.is_failed());
        let ok = preflight(&vm, "http://a.com", "POST", Some("x-a"));
        assert_preflight_answer(&ok, "cors.preflight");
    }
}
