//! hello-world's behaviour, run as the compiled `.wasm` in the host.
// Helpers outside #[test] functions may panic too: a failing test should fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use higress_host::{testing, Action, HostError, Stream, Vm};
use serde_json::json;

fn vm(config: serde_json::Value) -> Vm {
    testing::vm("hello-world", &config)
}

fn get(vm: &Vm, host: &str, route: &str) -> Stream {
    let s = vm.stream();
    s.set_property("route_name", route);
    s.send_request_headers([(":authority", host), (":path", "/"), (":method", "GET"), (":scheme", "http")], true)
        .unwrap();
    s
}

#[test]
fn global_config_adds_the_header() {
    let vm = vm(json!({"enabled": true}));
    let s = get(&vm, "a.com", "r");
    assert_eq!(s.upstream().header("x-hello-world"), Some("hello world"));
    assert!(s.upstream().end_of_stream);
}

#[test]
fn plugin_start_logs_the_plugins_own_version() {
    let vm = vm(json!({}));
    let logs = vm.take_logs();
    let line = format!("[hello-world] [nil] [nil] plugin start successfully, version {}", env!("CARGO_PKG_VERSION"));
    assert!(logs.iter().any(|l| l.message == line), "{logs:?}");
}

#[test]
fn empty_config_means_enabled_with_defaults() {
    let vm = vm(json!({}));
    assert_eq!(get(&vm, "a.com", "").upstream().header("x-hello-world"), Some("hello world"));
}

#[test]
fn custom_header_name() {
    let vm = vm(json!({"header": "x-greeting"}));
    let up = get(&vm, "a.com", "").upstream();
    assert_eq!(up.header("x-greeting"), Some("hello world"));
    assert_eq!(up.header("x-hello-world"), None);
}

#[test]
fn disabled_passes_untouched() {
    let vm = vm(json!({"enabled": false}));
    let up = get(&vm, "a.com", "").upstream();
    assert_eq!(up.header("x-hello-world"), None);
    assert!(up.end_of_stream);
}

#[test]
fn reply_answers_locally() {
    let vm = vm(json!({"reply": "hi from the edge"}));
    let s = get(&vm, "a.com", "");
    let reply = s.local_response().expect("a local reply");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.details, "hello-world.reply");
    assert_eq!(reply.body_text(), "hi from the edge");
    let response = s.response();
    assert_eq!(response.status(), Some(200));
    assert_eq!(response.header("content-type"), Some("text/plain"));
    assert_eq!(response.body_text(), "hi from the edge");
    assert!(s.upstream().headers.is_none(), "the request must not reach the upstream");
    assert!(s.is_complete());
}

#[test]
fn per_domain_rules() {
    let vm = vm(json!({
        "header": "x-global",
        "_rules_": [
            {"_match_domain_": ["*.example.com"], "header": "x-wildcard"},
            {"_match_domain_": ["exact.org"], "reply": "exact"}
        ]
    }));
    assert_eq!(get(&vm, "api.example.com", "").upstream().header("x-wildcard"), Some("hello world"));
    assert_eq!(get(&vm, "api.example.com:8443", "").upstream().header("x-wildcard"), Some("hello world"));
    assert_eq!(get(&vm, "exact.org", "").local_response().map(|r| r.body_text()), Some("exact".into()));
    assert_eq!(get(&vm, "other.net", "").upstream().header("x-global"), Some("hello world"));
}

#[test]
fn per_route_rules_first_match_wins() {
    let vm = vm(json!({
        "_rules_": [
            {"_match_route_": ["route-a"], "header": "x-route-a"},
            {"_match_route_": ["route-a", "route-b"], "header": "x-route-ab"}
        ]
    }));
    assert_eq!(get(&vm, "h", "route-a").upstream().header("x-route-a"), Some("hello world"));
    let b = get(&vm, "h", "route-b").upstream();
    assert_eq!(b.header("x-route-ab"), Some("hello world"));
    assert_eq!(b.header("x-route-a"), None);
}

/// The SDK lends short property values from a fixed buffer and allocates longer ones; rules
/// match the same on both sides of that limit, also when one rule reads two properties.
#[test]
fn rules_match_long_and_short_names_alike() {
    for len in [1, 255, 256, 257, 4000] {
        let route = "r".repeat(len);
        let cluster = format!("outbound|80||{}.svc", "s".repeat(len));
        let vm = vm(json!({"_rules_": [
            {"_match_route_": [route], "_match_service_": [cluster.trim_start_matches("outbound|80||")], "header": "x-both"},
            {"_match_route_": [route], "header": "x-route"}
        ]}));
        let s = vm.stream();
        s.set_property("route_name", &route);
        s.set_property("cluster_name", &cluster);
        s.send_request_headers([(":authority", "h"), (":path", "/"), (":method", "GET")], true).unwrap();
        assert_eq!(s.upstream().header("x-both"), Some("hello world"), "length {len}");
        let other = get(&vm, "h", &route);
        assert_eq!(other.upstream().header("x-route"), Some("hello world"), "length {len}");
        assert_eq!(get(&vm, "h", &format!("{route}x")).upstream().header("x-route"), None, "length {len}");
    }
}

#[test]
fn no_match_without_global_config_skips_the_plugin() {
    let vm = vm(json!({"_rules_": [{"_match_route_": ["only-this"], "reply": "matched"}]}));
    let s = get(&vm, "h", "another-route");
    assert!(s.local_response().is_none());
    let up = s.upstream();
    assert!(up.end_of_stream);
    assert_eq!(up.header("x-hello-world"), None);
    assert_eq!(get(&vm, "h", "only-this").local_response().map(|r| r.status), Some(200));
}

#[test]
fn request_without_authority_skips_the_plugin() {
    let vm = vm(json!({"reply": "no"}));
    let s = vm.stream();
    s.send_request_headers([(":path", "/"), (":method", "GET")], true).unwrap();
    assert!(s.local_response().is_none());
    assert!(s.upstream().end_of_stream);
}

#[test]
fn bad_config_fails_start_naming_the_field() {
    let plugin = testing::plugin("hello-world");
    let cases = [
        (json!({"enabled": "yes"}), "enabled: invalid type: string \"yes\", expected a boolean"),
        (json!({"header": "bad header"}), "header: `bad header` is not a valid header name"),
        (json!({"_rules_": [{"_match_route_": ["r"], "reply": 5}]}), "_rules_[0].reply: invalid type: integer `5`"),
        (json!({"_rules_": [{"reply": "x"}]}), "_rules_[0]: a rule needs a non-empty _match_route_"),
    ];
    for (config, expected) in cases {
        let err = Vm::builder(&plugin).config_json(&config).start().err().expect("start must fail");
        let HostError::Start { message, logs } = &err else { panic!("unexpected error {err}") };
        assert_eq!(message, "proxy_on_configure returned false");
        let line = logs.iter().find(|l| l.message.contains("plugin start failed")).expect("a failure line");
        assert!(line.message.starts_with("[hello-world] "), "{}", line.message);
        assert!(line.message.contains(expected), "{} does not contain {expected}", line.message);
        assert_eq!(logs.iter().filter(|l| l.message.contains("plugin start failed")).count(), 1);
    }
    let err = Vm::builder(&plugin).config("{not json").start().err().expect("start must fail");
    assert!(err.logs().iter().any(|l| l.message.contains("configuration is not valid JSON")), "{err}");
}

#[test]
fn request_body_is_counted_while_headers_wait() {
    let vm = vm(json!({"count_request_body": true}));
    let s = vm.stream();
    let headers = [(":authority", "a.com"), (":path", "/upload"), (":method", "POST"), ("content-length", "11")];
    assert_eq!(s.send_request_headers(headers, false).unwrap(), Action::StopIteration);
    assert!(s.upstream().headers.is_none(), "headers wait for the body");
    assert_eq!(s.send_request_body("hello ", false).unwrap(), Action::StopIterationAndBuffer);
    assert!(s.upstream().headers.is_none());
    assert_eq!(s.send_request_body("world", true).unwrap(), Action::Continue);
    let up = s.upstream();
    assert_eq!(up.header("x-request-body-bytes"), Some("11"));
    assert_eq!(up.body, b"hello world");
    assert!(up.end_of_stream);
}

#[test]
fn bodiless_request_is_not_held() {
    let vm = vm(json!({"count_request_body": true}));
    let s = get(&vm, "a.com", "");
    assert!(s.upstream().end_of_stream);
    assert_eq!(s.upstream().header("x-request-body-bytes"), None);
}

#[test]
fn response_suffix_is_streamed() {
    let vm = vm(json!({"response_suffix": " -- served by hello-world"}));
    let s = get(&vm, "a.com", "");
    s.send_response_headers([(":status", "200"), ("content-length", "5")], false).unwrap();
    assert_eq!(s.send_response_body("he", false).unwrap(), Action::Continue);
    assert_eq!(s.response().body, b"he", "chunks pass as they come");
    s.send_response_body("llo", true).unwrap();
    let response = s.response();
    assert_eq!(response.body_text(), "hello -- served by hello-world");
    assert_eq!(response.header("content-length"), None);
    assert!(s.is_complete());
}

#[test]
fn plain_responses_pass_untouched() {
    let vm = vm(json!({}));
    let s = get(&vm, "a.com", "");
    s.send_response_headers([(":status", "404"), ("content-length", "4")], false).unwrap();
    s.send_response_body("nope", true).unwrap();
    let response = s.response();
    assert_eq!(response.status(), Some(404));
    assert_eq!(response.header("content-length"), Some("4"));
    assert_eq!(response.body, b"nope");
}

#[test]
fn instructions_per_request_are_reported() {
    let vm = vm(json!({}));
    let s = get(&vm, "a.com", "");
    s.send_response_headers([(":status", "200")], true).unwrap();
    let calls = s.calls();
    let names: Vec<_> = calls.iter().map(|c| c.callback).collect();
    assert_eq!(
        names,
        [
            "proxy_on_context_create",
            "proxy_on_request_headers",
            "proxy_on_response_headers",
            "proxy_on_log",
            "proxy_on_done",
            "proxy_on_delete"
        ]
    );
    assert!(s.instructions() > 0);
    assert!(calls.iter().all(|c| c.memory_bytes >= 65536));
    println!("hello-world: {} wasm instructions for one request", s.instructions());
}
