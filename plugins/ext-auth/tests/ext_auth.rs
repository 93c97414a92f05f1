//! ext-auth on the compiled `.wasm`, run in the proxy-wasm host as Envoy would, against a
//! real HTTP authorization service on a loopback port (and, where a test needs to hold or
//! shape the answer, answers given by hand): both endpoint modes, allow / deny / 5xx /
//! timeout / unreachable with and without `failure_mode_allow`, the request body and its
//! limit, white and black lists, headers both ways, Go's unit-test cases, config errors,
//! bad input and random requests.
// Helpers outside #[test] functions may panic too: a failing test should fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use higress_host::testing::{self, request, HttpServer, ReceivedRequest};
use higress_host::{Action, Env, HeaderMap, HttpResponse, Stream, Upstream, Vm};
use proptest::prelude::*;
use serde_json::{json, Value};
use std::time::Duration;

/// The service of Go's tests: `ext-auth.backend.svc.cluster.local:8090`.
const SERVICE: &str = "ext-auth.backend.svc.cluster.local";
const CLUSTER: &str = "outbound|8090||ext-auth.backend.svc.cluster.local";

type Answer = (u16, Vec<(String, String)>, Vec<u8>);

fn answer(status: u16, headers: &[(&str, &str)], body: &str) -> Answer {
    (status, headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(), body.as_bytes().to_vec())
}

/// The authorization service of these tests. It decides on what it was asked about (its
/// path in envoy mode, `x-forwarded-uri` in forward_auth mode): `/slow` sleeps 1.5 s,
/// `/status/<n>` answers `<n>`; otherwise `Authorization: Bearer good` is allowed (200 with
/// user headers), `Bearer fail` gets a 500, anything else a 401.
fn decide(req: &ReceivedRequest) -> Answer {
    let target = req.headers.get("x-forwarded-uri").unwrap_or(&req.path).to_string();
    if target.contains("/slow") {
        std::thread::sleep(Duration::from_millis(1500));
    }
    if let Some(code) = target.split("/status/").nth(1).and_then(|rest| rest.get(..3)) {
        return answer(
            code.parse().unwrap(),
            &[("x-auth-status", code), ("location", "https://login.example/"), ("content-type", "text/plain")],
            &format!("status {code} from the auth service"),
        );
    }
    match req.headers.get("authorization") {
        Some("Bearer good") => answer(
            200,
            &[
                ("x-user-id", "user123"),
                ("x-auth-version", "1.0"),
                ("x-internal", "secret"),
                ("content-type", "application/json"),
            ],
            r#"{"authorized": true}"#,
        ),
        Some("Bearer fail") => answer(
            500,
            &[("x-auth-error", "true"), ("content-type", "application/json")],
            r#"{"error": "Internal server error"}"#,
        ),
        _ => answer(
            401,
            &[
                ("x-auth-failed", "true"),
                ("www-authenticate", "Bearer realm=\"test\""),
                ("set-cookie", "a=1"),
                ("set-cookie", "b=2"),
                ("content-type", "application/json"),
            ],
            r#"{"authorized": false, "message": "Invalid token"}"#,
        ),
    }
}

/// A running authorization service and the environment that routes the plugin's cluster to it.
struct Auth {
    server: HttpServer,
    env: Env,
}

impl Auth {
    fn start() -> Auth {
        Self::with(decide)
    }

    fn with(handler: impl Fn(&ReceivedRequest) -> Answer + Send + Sync + 'static) -> Auth {
        let server = HttpServer::start(handler);
        let env = Env::new();
        env.add_cluster(CLUSTER, Upstream::Address(server.address()));
        Auth { server, env }
    }

    fn vm(&self, config: Value) -> Vm {
        vm_in(&self.env, config)
    }

    /// What the service was asked, in order.
    fn asked(&self) -> Vec<ReceivedRequest> {
        self.server.requests()
    }
}

fn vm_in(env: &Env, config: Value) -> Vm {
    Vm::builder(&testing::plugin("ext-auth")).env(env).config_json(&config).start().unwrap_or_else(|e| panic!("{e}"))
}

/// `base` with `extra` merged in, objects recursively.
fn merged(mut base: Value, extra: Value) -> Value {
    fn merge(a: &mut Value, b: Value) {
        match (a, b) {
            (Value::Object(a), Value::Object(b)) => {
                for (k, v) in b {
                    merge(a.entry(k).or_insert(Value::Null), v);
                }
            }
            (a, b) => *a = b,
        }
    }
    merge(&mut base, extra);
    base
}

/// Go's `basicEnvoyConfig`, plus `extra`.
fn envoy(extra: Value) -> Value {
    merged(
        json!({"http_service": {
            "endpoint_mode": "envoy",
            "endpoint": {"service_name": SERVICE, "service_port": 8090, "path_prefix": "/auth"},
            "timeout": 1000
        }}),
        extra,
    )
}

/// Go's `forwardAuthConfig`, plus `extra`.
fn forward_auth(extra: Value) -> Value {
    merged(
        json!({"http_service": {
            "endpoint_mode": "forward_auth",
            "endpoint": {"service_name": SERVICE, "service_port": 8090, "path": "/auth", "request_method": "POST"},
            "timeout": 1000
        }}),
        extra,
    )
}

/// Sends a request and lets the host serve its callout.
fn send(vm: &Vm, req: testing::Request) -> Stream {
    let s = req.send(vm);
    vm.poll().unwrap();
    s
}

fn get(path: &str) -> testing::Request {
    request("GET", "example.com", path)
}

/// The request reached the upstream (and nothing answered it locally).
fn assert_passed(s: &Stream) {
    assert!(s.local_response().is_none(), "answered locally: {:?}", s.local_response());
    assert!(s.upstream().headers.is_some(), "the request did not reach the upstream");
}

/// The request was answered locally with `status` and `details`, and never reached the upstream.
fn assert_refused(s: &Stream, status: u16, details: &str) {
    let reply = s.local_response().unwrap_or_else(|| panic!("not answered locally; upstream: {:?}", s.upstream()));
    assert_eq!((reply.status, reply.details.as_str()), (u32::from(status), details), "{}", reply.body_text());
    assert_eq!(s.response().status(), Some(status));
    assert!(s.upstream().headers.is_none(), "the refused request reached the upstream");
}

// ----- envoy mode -----

#[test]
fn envoy_mode_asks_with_the_original_method_and_the_prefixed_path() {
    let auth = Auth::start();
    let vm = auth.vm(envoy(json!({})));
    let s = send(
        &vm,
        request("POST", "example.com", "/users?apikey=9a342114")
            .header("authorization", "Bearer good")
            .header("foo", "bar")
            .body("payload"),
    );
    assert_passed(&s);
    let asked = &auth.asked()[0];
    assert_eq!(asked.method, "POST");
    assert_eq!(asked.path, "/auth/users?apikey=9a342114");
    assert_eq!(asked.headers.get("host"), Some(SERVICE));
    assert_eq!(asked.headers.get("authorization"), Some("Bearer good"), "Authorization is always forwarded");
    assert_eq!(asked.headers.get("foo"), None, "other headers only when allowed_headers lists them");
    assert!(asked.body.is_empty(), "the body only with with_request_body");
    assert!(!asked.headers.contains("x-forwarded-uri"), "x-forwarded-* are forward_auth's");
    // The request goes on whole; without allowed_upstream_headers nothing is added.
    let up = s.upstream();
    assert_eq!(up.body_text(), "payload");
    assert!(up.end_of_stream);
    assert_eq!(up.header("x-user-id"), None);
    assert_eq!(s.property_string("clear_route_cache").as_deref(), Some("off"), "re-routing is disabled");
}

#[test]
fn the_path_is_kept_verbatim_after_the_prefix() {
    let auth = Auth::start();
    let vm = auth.vm(envoy(json!({"http_service": {"endpoint": {"path_prefix": "/auth/"}}})));
    for (path, expected) in [
        ("/users/", "/auth/users/"),
        ("/a//b/./c", "/auth/a//b/./c"),
        ("/login?next=https://app.example/x", "/auth/login?next=https://app.example/x"),
    ] {
        let s = send(&vm, get(path).header("authorization", "Bearer good"));
        assert_passed(&s);
        assert_eq!(auth.asked().last().unwrap().path, expected);
    }
    let root = Auth::start();
    let vm = root.vm(envoy(json!({"http_service": {"endpoint": {"path_prefix": ""}}})));
    send(&vm, get("/x?y=1").header("authorization", "Bearer good"));
    assert_eq!(root.asked()[0].path, "/x?y=1");
}

#[test]
fn service_host_and_port_pick_the_cluster_and_the_host_header() {
    let server = HttpServer::start(decide);
    let env = Env::new();
    env.add_cluster("outbound|80||auth.static", Upstream::Address(server.address()));
    let config = json!({"http_service": {"endpoint": {
        "service_name": "auth.static", "service_host": "my-domain.local", "path_prefix": "/auth"
    }}});
    let vm = vm_in(&env, config);
    let s = send(&vm, get("/").header("authorization", "Bearer good"));
    assert_passed(&s);
    assert_eq!(server.requests()[0].headers.get("host"), Some("my-domain.local"));
    let call_timeout = {
        let s = vm.stream();
        s.send_request_headers([(":authority", "a"), (":path", "/"), (":method", "GET")], true).unwrap();
        let call = vm.http_calls()[0].clone();
        vm.poll().unwrap();
        call.timeout
    };
    assert_eq!(call_timeout, Some(Duration::from_millis(1000)), "the default timeout");
}

// ----- allow, deny, fail -----

#[test]
fn an_allowed_request_carries_the_allowed_upstream_headers() {
    let auth = Auth::start();
    let config = envoy(json!({"http_service": {"authorization_response": {
        "allowed_upstream_headers": [{"exact": "x-user-id"}, {"prefix": "X-Auth-"}]
    }}}));
    let vm = auth.vm(config);
    let s = send(
        &vm,
        get("/api").header("authorization", "Bearer good").header("x-user-id", "forged").header("x-internal", "kept"),
    );
    assert_passed(&s);
    let up = s.upstream();
    let headers = up.headers.as_ref().unwrap();
    assert_eq!(headers.get_all("x-user-id"), ["user123"], "replaces what the client sent");
    assert_eq!(headers.get("x-auth-version"), Some("1.0"));
    assert_eq!(headers.get("x-internal"), Some("kept"), "not allowed: the service's value is not copied");
    assert_eq!(headers.get("content-type"), None);
    assert!(headers.get("content-length").is_none(), "framing headers are never copied");
}

#[test]
fn a_denial_reaches_the_client_with_status_body_and_headers() {
    let auth = Auth::start();
    let vm = auth.vm(envoy(json!({})));
    let s = send(&vm, get("/private").header("authorization", "Bearer bad"));
    assert_refused(&s, 401, "ext-auth.unauthorized");
    let reply = s.response();
    assert_eq!(reply.body_text(), r#"{"authorized": false, "message": "Invalid token"}"#);
    // Without allowed_client_headers every header of the answer passes (framing excepted).
    let headers = reply.headers.as_ref().unwrap();
    assert_eq!(headers.get("x-auth-failed"), Some("true"));
    assert_eq!(headers.get("www-authenticate"), Some("Bearer realm=\"test\""));
    assert_eq!(headers.get_all("set-cookie"), ["a=1", "b=2"]);
    let local = s.local_response().unwrap();
    assert!(!local.headers.contains("content-length"), "the gateway frames its own reply");
    assert!(!local.headers.contains("connection"));
    assert!(local.headers.iter().all(|(k, _)| !k.starts_with(b":")));

    // No Authorization at all: the service decides (here: 401).
    let s = send(&vm, get("/private"));
    assert_refused(&s, 401, "ext-auth.unauthorized");
    assert_eq!(auth.asked()[1].headers.get("authorization"), None);
}

#[test]
fn allowed_client_headers_filter_what_a_denial_passes_on() {
    let auth = Auth::start();
    let config = envoy(json!({"http_service": {"authorization_response": {
        "allowed_client_headers": [{"exact": "X-Auth-Failed"}, {"exact": "set-cookie"}]
    }}}));
    let vm = auth.vm(config);
    let s = send(&vm, get("/").header("authorization", "Bearer bad"));
    assert_refused(&s, 401, "ext-auth.unauthorized");
    let local = s.local_response().unwrap();
    assert_eq!(local.headers.get("x-auth-failed"), Some("true"));
    assert_eq!(local.headers.get_all("set-cookie"), ["a=1", "b=2"], "every value of an allowed header");
    assert!(!local.headers.contains("www-authenticate"));
    assert!(!local.headers.contains("content-type"));
}

#[test]
fn other_statuses_pass_through_redirects_included() {
    let auth = Auth::start();
    let vm = auth.vm(envoy(json!({})));
    for status in [302, 400, 403, 404, 429] {
        let s = send(&vm, get(&format!("/status/{status}")));
        assert_refused(&s, status, "ext-auth.unauthorized");
        assert_eq!(s.response().body_text(), format!("status {status} from the auth service"));
        assert_eq!(s.response().header("location"), Some("https://login.example/"));
    }
    // Any 2xx allows (Go allowed only 200).
    for status in [201, 204] {
        assert_passed(&send(&vm, get(&format!("/status/{status}"))));
    }
}

#[test]
fn a_failing_service_gets_status_on_error() {
    let auth = Auth::start();
    let vm = auth.vm(envoy(json!({})));
    let s = send(&vm, get("/").header("authorization", "Bearer fail"));
    assert_refused(&s, 403, "ext-auth.service_error");
    // As Go, the service's body and headers go along.
    assert_eq!(s.response().body_text(), r#"{"error": "Internal server error"}"#);
    assert_eq!(s.response().header("x-auth-error"), Some("true"));
    for status in [500, 502, 503, 504] {
        assert_refused(&send(&vm, get(&format!("/status/{status}"))), 403, "ext-auth.service_error");
    }
    let custom = auth.vm(envoy(json!({"status_on_error": 503})));
    assert_refused(&send(&custom, get("/").header("authorization", "Bearer fail")), 503, "ext-auth.service_error");
}

#[test]
fn failure_mode_allow_lets_a_failing_service_through() {
    let auth = Auth::start();
    let quiet = auth.vm(envoy(json!({"failure_mode_allow": true})));
    let s = send(&quiet, get("/").header("authorization", "Bearer fail"));
    assert_passed(&s);
    assert_eq!(s.upstream().header("x-envoy-auth-failure-mode-allowed"), None, "only with the header add");
    let marked = auth.vm(envoy(json!({"failure_mode_allow": true, "failure_mode_allow_header_add": true})));
    let s = send(&marked, get("/").header("authorization", "Bearer fail"));
    assert_passed(&s);
    assert_eq!(s.upstream().header("x-envoy-auth-failure-mode-allowed"), Some("true"));
    // It changes nothing for a working service: a denial is still a denial, an allowed
    // request is not marked.
    assert_refused(&send(&marked, get("/").header("authorization", "Bearer bad")), 401, "ext-auth.unauthorized");
    let s = send(&marked, get("/").header("authorization", "Bearer good"));
    assert_passed(&s);
    assert_eq!(s.upstream().header("x-envoy-auth-failure-mode-allowed"), None);
}

#[test]
fn a_timed_out_service_fails_with_and_without_failure_mode() {
    let auth = Auth::start();
    let config = |extra: Value| envoy(merged(json!({"http_service": {"timeout": 200}}), extra));
    let vm = auth.vm(config(json!({})));
    let s = send(&vm, get("/slow").header("authorization", "Bearer good"));
    assert_refused(&s, 403, "ext-auth.service_error");
    let vm = auth.vm(config(json!({"failure_mode_allow": true, "failure_mode_allow_header_add": true})));
    let s = send(&vm, get("/slow").header("authorization", "Bearer good"));
    assert_passed(&s);
    assert_eq!(s.upstream().header("x-envoy-auth-failure-mode-allowed"), Some("true"));
}

#[test]
fn a_timeout_counts_from_the_call_on_the_hosts_clock() {
    // The answer never comes: the host's own timer answers 504 after `timeout`.
    let env = Env::with_manual_clock(Duration::from_secs(100));
    let vm = vm_in(&env, envoy(json!({"http_service": {"timeout": 300}})));
    let s = get("/").header("authorization", "Bearer good").send(&vm);
    assert_eq!(vm.http_calls()[0].timeout, Some(Duration::from_millis(300)));
    env.advance(Duration::from_millis(299));
    vm.poll().unwrap();
    assert!(s.local_response().is_none(), "still waiting");
    env.advance(Duration::from_millis(1));
    vm.poll().unwrap();
    assert_refused(&s, 403, "ext-auth.service_error");
}

#[test]
fn an_unreachable_service_fails_with_and_without_failure_mode() {
    let env = Env::new();
    env.add_cluster(CLUSTER, Upstream::Address(format!("127.0.0.1:{}", testing::free_port())));
    let vm = vm_in(&env, envoy(json!({"status_on_error": 500})));
    assert_refused(&send(&vm, get("/").header("authorization", "Bearer good")), 500, "ext-auth.service_error");
    let vm = vm_in(&env, envoy(json!({"failure_mode_allow": true, "failure_mode_allow_header_add": true})));
    let s = send(&vm, get("/").header("authorization", "Bearer good"));
    assert_passed(&s);
    assert_eq!(s.upstream().header("x-envoy-auth-failure-mode-allowed"), Some("true"));
}

#[test]
fn a_call_the_host_refuses_fails_at_once() {
    // An unknown cluster: the call cannot even start (Go: a 500 without headers or body).
    let env = Env::new();
    env.set_accept_unknown_clusters(false);
    let vm = vm_in(&env, envoy(json!({})));
    let s = get("/").header("authorization", "Bearer good").send(&vm);
    assert_refused(&s, 403, "ext-auth.service_error");
    assert!(s.response().body.is_empty());
    assert!(vm.logged("cannot call the authorization service"));
    let vm = vm_in(&env, envoy(json!({"failure_mode_allow": true, "failure_mode_allow_header_add": true})));
    let s = get("/").header("authorization", "Bearer good").send(&vm);
    assert_passed(&s);
    assert_eq!(s.upstream().header("x-envoy-auth-failure-mode-allowed"), Some("true"));
    // The same in the body phase.
    let vm = vm_in(&env, envoy(json!({"http_service": {"authorization_request": {"with_request_body": true}}})));
    let s = request("POST", "example.com", "/").body("x").send(&vm);
    assert_refused(&s, 403, "ext-auth.service_error");
}

// ----- forward_auth mode -----

#[test]
fn forward_auth_asks_the_configured_endpoint_about_the_request() {
    let auth = Auth::start();
    let vm = auth.vm(forward_auth(json!({})));
    let s = send(
        &vm,
        request("GET", "foo.bar.com", "/users?apikey=9a342114-ba8a")
            .header("authorization", "Bearer good")
            .header("foo", "bar"),
    );
    assert_passed(&s);
    let asked = &auth.asked()[0];
    assert_eq!((asked.method.as_str(), asked.path.as_str()), ("POST", "/auth"));
    assert_eq!(asked.headers.get("host"), Some(SERVICE));
    assert_eq!(asked.headers.get("authorization"), Some("Bearer good"));
    assert_eq!(asked.headers.get("x-forwarded-proto"), Some("http"));
    assert_eq!(asked.headers.get("x-forwarded-method"), Some("GET"));
    assert_eq!(asked.headers.get("x-forwarded-host"), Some("foo.bar.com"));
    assert_eq!(asked.headers.get("x-forwarded-uri"), Some("/users?apikey=9a342114-ba8a"));
    assert_eq!(asked.headers.get("x-original-method"), Some("GET"));
    assert_eq!(asked.headers.get("x-original-uri"), Some("/users?apikey=9a342114-ba8a"));
    assert_eq!(asked.headers.get("foo"), None);
    // A denial and a failure work as in envoy mode.
    assert_refused(&send(&vm, get("/x").header("authorization", "Bearer bad")), 401, "ext-auth.unauthorized");
    assert_refused(&send(&vm, get("/status/503")), 403, "ext-auth.service_error");
}

#[test]
fn forward_auth_defaults_to_get_and_the_client_cannot_forge_the_description() {
    let auth = Auth::start();
    let vm = auth.vm(json!({"http_service": {"endpoint_mode": "forward_auth", "endpoint": {
        "service_name": SERVICE, "service_port": 8090, "path": "/verify?from=gw", "request_method": "get"
    }, "authorization_request": {"allowed_headers": [{"prefix": "x-"}]}}}));
    let s = send(
        &vm,
        request("DELETE", "h.example", "/items/1")
            .header("authorization", "Bearer good")
            .header("x-forwarded-uri", "/public")
            .header("x-forwarded-method", "GET"),
    );
    assert_passed(&s);
    let asked = &auth.asked()[0];
    assert_eq!((asked.method.as_str(), asked.path.as_str()), ("GET", "/verify?from=gw"));
    assert_eq!(asked.headers.get_all("x-forwarded-uri"), ["/items/1"]);
    assert_eq!(asked.headers.get_all("x-forwarded-method"), ["DELETE"]);
}

#[test]
fn a_full_url_as_forward_auth_path_sets_the_host() {
    let auth = Auth::start();
    let vm = auth.vm(forward_auth(json!({"http_service": {"endpoint": {"path": "http://verify.example/check?x=1"}}})));
    assert_passed(&send(&vm, get("/").header("authorization", "Bearer good")));
    let asked = &auth.asked()[0];
    assert_eq!((asked.path.as_str(), asked.headers.get("host")), ("/check?x=1", Some("verify.example")));
}

// ----- headers to the service -----

#[test]
fn allowed_headers_and_headers_to_add_reach_the_service() {
    let auth = Auth::start();
    let config = envoy(json!({"http_service": {"authorization_request": {
        "allowed_headers": [{"exact": "x-auth-version"}, {"prefix": "x-custom"}, {"regex": "^Trace-.*$"}, {"exact": "cookie"}],
        "headers_to_add": {"x-envoy-header": true, "x-custom-b": "from-config", "authorization": "Bearer config", "x-num": 5}
    }}}));
    let vm = auth.vm(config);
    let s = send(
        &vm,
        request("POST", "example.com", "/users")
            .header("Authorization", "  Bearer good  ")
            .header("X-Auth-Version", "1.0")
            .header("x-custom-a", "a")
            .header("x-custom-b", "from-client")
            .header("trace-id", "t1")
            .header("cookie", "c=1")
            .header("cookie", "d=2")
            .header("x-ignored-header", "ignored")
            .header("content-length", "999"),
    );
    assert_passed(&s);
    let h = &auth.asked()[0].headers;
    assert_eq!(h.get("x-auth-version"), Some("1.0"), "names match ignoring case");
    assert_eq!(h.get("x-custom-a"), Some("a"));
    assert_eq!(h.get_all("x-custom-b"), ["from-config"], "headers_to_add replaces the client's");
    assert_eq!(h.get("trace-id"), Some("t1"), "regexes ignore case too");
    assert_eq!(h.get_all("cookie"), ["c=1", "d=2"], "every value");
    assert_eq!(h.get("x-envoy-header"), Some("true"), "a YAML true is the text true");
    assert_eq!(h.get("x-num"), Some("5"));
    assert_eq!(h.get_all("authorization"), ["Bearer good"], "the client's, trimmed, wins over headers_to_add");
    assert_eq!(h.get("x-ignored-header"), None);
    assert_ne!(h.get("content-length"), Some("999"), "framing is never copied");
    // Without a client Authorization, the configured one is sent.
    send(&vm, get("/"));
    assert_eq!(auth.asked()[1].headers.get("authorization"), Some("Bearer config"));
}

#[test]
fn pseudo_headers_never_leak_into_the_call() {
    let vm = vm_in(
        &Env::new(),
        envoy(json!({"http_service": {"authorization_request": {"allowed_headers": [{"regex": ".*"}]}}})),
    );
    let _s = request("GET", "client.example", "/p").header("x-a", "1").send(&vm);
    let call = vm.http_calls()[0].clone();
    assert_eq!(call.cluster, CLUSTER);
    assert_eq!(call.headers.get(":authority"), Some(SERVICE));
    assert_eq!(call.headers.get(":path"), Some("/auth/p"));
    assert_eq!(call.headers.get(":method"), Some("GET"));
    assert_eq!(call.headers.get_all(":authority").len(), 1);
    assert!(!call.headers.contains(":scheme"));
    assert_eq!(call.headers.get("x-a"), Some("1"));
}

// ----- the request body -----

fn with_body(extra: Value) -> Value {
    envoy(merged(
        json!({"http_service": {"authorization_request": {"with_request_body": true, "max_request_body_bytes": 1024}}}),
        extra,
    ))
}

#[test]
fn the_body_is_forwarded_only_when_asked() {
    let auth = Auth::start();
    let vm = auth.vm(with_body(json!({})));
    let body = r#"{"username": "test", "password": "password123"}"#;
    let s = send(
        &vm,
        request("POST", "example.com", "/users")
            .header("authorization", "Bearer good")
            .header("content-type", "application/json")
            .body(body),
    );
    assert_passed(&s);
    assert_eq!(auth.asked()[0].body, body.as_bytes());
    assert_eq!(auth.asked()[0].headers.get("content-length"), Some("47"));
    assert_eq!(s.upstream().body_text(), body, "the upstream still gets the body");
    assert!(s.upstream().end_of_stream);

    let plain = Auth::start();
    let vm = plain.vm(envoy(json!({})));
    let s = send(&vm, request("POST", "example.com", "/users").header("authorization", "Bearer good").body(body));
    assert_passed(&s);
    assert!(plain.asked()[0].body.is_empty());
    assert_eq!(s.upstream().body_text(), body);
}

#[test]
fn the_body_is_read_before_the_call_and_held_during_it() {
    let vm = vm_in(&Env::new(), with_body(json!({})));
    let s = vm.stream();
    let headers = [(":authority", "example.com"), (":path", "/users"), (":method", "POST"), ("authorization", "t")];
    assert_eq!(s.send_request_headers(headers, false).unwrap(), Action::StopIteration);
    assert!(vm.http_calls().is_empty(), "no call before the whole body");
    assert_eq!(s.send_request_body("part one, ", false).unwrap(), Action::StopIterationAndBuffer);
    assert!(vm.http_calls().is_empty());
    assert_eq!(s.send_request_body("part two", true).unwrap(), Action::StopIterationAndBuffer);
    let call = vm.http_calls()[0].clone();
    assert_eq!(call.body, b"part one, part two");
    assert!(s.upstream().headers.is_none(), "held while the service decides");
    vm.respond_http_call(call.token, HttpResponse::new(200, &[], "")).unwrap();
    assert_passed(&s);
    assert_eq!(s.upstream().body_text(), "part one, part two");
    assert!(s.upstream().end_of_stream);
}

#[test]
fn a_body_over_the_limit_gets_413_before_any_call() {
    let auth = Auth::start();
    let vm = auth.vm(with_body(json!({"failure_mode_allow": true})));
    // At the limit: asked.
    let s =
        send(&vm, request("POST", "example.com", "/").header("authorization", "Bearer good").body(vec![b'a'; 1024]));
    assert_passed(&s);
    assert_eq!(auth.asked().len(), 1);
    // One byte over, in one piece: 413 (failure_mode_allow does not change that).
    let s =
        send(&vm, request("POST", "example.com", "/").header("authorization", "Bearer good").body(vec![b'a'; 1025]));
    assert_refused(&s, 413, "ext-auth.payload_too_large");
    assert_eq!(s.response().body_text(), "Payload Too Large");
    assert_eq!(auth.asked().len(), 1, "the service was not asked");
    // Over the limit while the body is still arriving: refused at once, the rest ignored.
    let s = vm.stream();
    s.send_request_headers([(":authority", "a"), (":path", "/"), (":method", "PUT")], false).unwrap();
    s.send_request_body(vec![b'a'; 600], false).unwrap();
    assert!(s.local_response().is_none());
    s.send_request_body(vec![b'a'; 600], false).unwrap();
    assert_refused(&s, 413, "ext-auth.payload_too_large");
    assert!(s.send_request_body(vec![b'a'; 600], true).is_err(), "the stream is over");
    vm.poll().unwrap();
    assert_eq!(auth.asked().len(), 1);
    assert_eq!(s.property_string("set_decoder_buffer_limit").as_deref(), Some("1024"), "Envoy is told the limit");
    // An oversized body never enters the VM's memory: it is refused by its size.
    let before = vm.memory_bytes();
    let s = request("POST", "example.com", "/").body(vec![b'a'; 32 * 1024 * 1024]).send(&vm);
    assert_refused(&s, 413, "ext-auth.payload_too_large");
    assert!(vm.memory_bytes() < before + 1024 * 1024, "{before} -> {}", vm.memory_bytes());
}

#[test]
fn the_default_limit_is_10_mib() {
    let vm = vm_in(&Env::new(), envoy(json!({"http_service": {"authorization_request": {"with_request_body": true}}})));
    let s = request("POST", "a", "/").body(vec![b'x'; 10 * 1024 * 1024]).send(&vm);
    assert!(s.local_response().is_none());
    assert_eq!(vm.http_calls()[0].body.len(), 10 * 1024 * 1024);
    let s = request("POST", "a", "/").body(vec![b'x'; 10 * 1024 * 1024 + 1]).send(&vm);
    assert_refused(&s, 413, "ext-auth.payload_too_large");
}

#[test]
fn binary_and_compressed_bodies_are_checked_too() {
    // Go's SDK never reads such bodies, so Go let these requests through unasked.
    let auth = Auth::start();
    let vm = auth.vm(with_body(json!({})));
    for (name, value) in [("content-type", "application/octet-stream"), ("content-encoding", "gzip")] {
        let body = vec![0u8, 159, 146, 150, 255];
        let s = send(&vm, request("POST", "example.com", "/").header(name, value).body(body.clone()));
        assert_refused(&s, 401, "ext-auth.unauthorized");
        assert_eq!(auth.asked().last().unwrap().body, body);
    }
}

#[test]
fn a_body_ended_by_trailers_is_forwarded() {
    let auth = Auth::start();
    let vm = auth.vm(with_body(json!({})));
    let s = send(
        &vm,
        request("POST", "example.com", "/")
            .header("authorization", "Bearer good")
            .body("chunk")
            .trailers(&[("x-checksum", "1")]),
    );
    assert_passed(&s);
    assert_eq!(auth.asked()[0].body, b"chunk");
    let up = s.upstream();
    assert_eq!(up.body_text(), "chunk");
    assert_eq!(up.trailers.unwrap().get("x-checksum"), Some("1"));
}

#[test]
fn requests_without_a_body_and_websockets_are_asked_at_once() {
    let auth = Auth::start();
    let vm = auth.vm(with_body(json!({})));
    let s = vm.stream();
    let action = s
        .send_request_headers(
            [(":authority", "a"), (":path", "/"), (":method", "GET"), ("authorization", "Bearer good")],
            true,
        )
        .unwrap();
    assert_eq!(action, Action::StopAllIterationAndWatermark);
    vm.poll().unwrap();
    assert_passed(&s);
    let ws = vm.stream();
    let action = ws
        .send_request_headers(
            [
                (":authority", "a"),
                (":path", "/chat"),
                (":method", "GET"),
                ("upgrade", "websocket"),
                ("connection", "Upgrade"),
                ("authorization", "Bearer good"),
            ],
            false,
        )
        .unwrap();
    assert_eq!(action, Action::StopAllIterationAndWatermark, "never waits for a WebSocket's end");
    vm.poll().unwrap();
    assert_passed(&ws);
    assert_eq!(auth.asked().len(), 2);
}

// ----- white and black lists -----

#[test]
fn a_whitelist_skips_the_listed_requests() {
    let auth = Auth::start();
    let vm = auth.vm(envoy(json!({
        "match_type": "whitelist",
        "match_list": [
            {"match_rule_domain": "api.example.com", "match_rule_path": "/public", "match_rule_type": "prefix"},
            {"match_rule_method": ["GET"], "match_rule_path": "/health", "match_rule_type": "exact"},
            {"match_rule_domain": "*.images.example.com", "match_rule_method": ["GET", "head"]}
        ]
    })));
    let skipped = |s: &Stream| {
        assert_passed(s);
    };
    skipped(&send(&vm, request("GET", "api.example.com", "/public/users")));
    skipped(&send(&vm, request("POST", "API.Example.com:8080", "/public")));
    skipped(&send(&vm, request("GET", "other.com", "/health?probe=1")));
    skipped(&send(&vm, request("HEAD", "cdn.images.example.com", "/a.png")));
    skipped(&send(&vm, request("GET", "api.example.com", "/%70ublic/x")));
    assert!(auth.asked().is_empty(), "none of these asked the service");
    for (method, host, path) in [
        ("POST", "api.example.com", "/private/users"),
        ("GET", "other.example.com", "/public"),
        ("POST", "other.com", "/health"),
        ("GET", "other.com", "/health/x"),
        ("POST", "cdn.images.example.com", "/a.png"),
        ("GET", "images.example.com", "/a.png"),
    ] {
        let s = send(&vm, request(method, host, path));
        assert_refused(&s, 401, "ext-auth.unauthorized");
    }
    assert_eq!(auth.asked().len(), 6);
}

#[test]
fn a_blacklist_checks_only_the_listed_requests() {
    let auth = Auth::start();
    let vm = auth.vm(envoy(json!({
        "match_type": "blacklist",
        "match_list": [
            {"match_rule_domain": "admin.example.com", "match_rule_path": "/sensitive", "match_rule_type": "prefix"},
            {"match_rule_method": ["DELETE"], "match_rule_path": "/user", "match_rule_type": "exact"},
            {"match_rule_domain": "legacy.example.com", "match_rule_method": ["POST"]},
            {"match_rule_path": "^/v[0-9]+/admin", "match_rule_type": "regex"}
        ]
    })));
    for (method, host, path) in [
        ("GET", "admin.example.com", "/sensitive/data"),
        ("GET", "Admin.Example.com:443", "/sensitive"),
        ("GET", "admin.example.com", "/%73ensitive"),
        ("DELETE", "any.com", "/user?id=1"),
        ("POST", "legacy.example.com", "/x"),
        ("GET", "x.com", "/v2/admin/users"),
    ] {
        assert_refused(&send(&vm, request(method, host, path)), 401, "ext-auth.unauthorized");
    }
    for (method, host, path) in [
        ("GET", "admin.example.com", "/public"),
        ("GET", "any.com", "/user"),
        ("DELETE", "any.com", "/users"),
        ("GET", "legacy.example.com", "/x"),
        ("GET", "x.com", "/api/v2/admin"),
    ] {
        assert_passed(&send(&vm, request(method, host, path)));
    }
    assert_eq!(auth.asked().len(), 6);
}

#[test]
fn list_edge_cases_follow_go() {
    // No match_list: everything is checked, whatever match_type says.
    let auth = Auth::start();
    let vm = auth.vm(envoy(json!({"match_type": "blacklist"})));
    assert_refused(&send(&vm, get("/")), 401, "ext-auth.unauthorized");
    // An empty blacklist checks nothing; an empty whitelist skips nothing.
    let vm = auth.vm(envoy(json!({"match_type": "blacklist", "match_list": []})));
    assert_passed(&send(&vm, get("/")));
    let vm = auth.vm(envoy(json!({"match_type": "whitelist", "match_list": []})));
    assert_refused(&send(&vm, get("/")), 401, "ext-auth.unauthorized");
    // A rule without conditions matches nothing.
    let vm = auth.vm(envoy(json!({"match_type": "whitelist", "match_list": [{}]})));
    assert_refused(&send(&vm, get("/")), 401, "ext-auth.unauthorized");
}

#[test]
fn rules_give_routes_their_own_config() {
    let auth = Auth::start();
    let mut config = envoy(json!({}));
    config["_rules_"] = json!([merged(envoy(json!({"failure_mode_allow": true})), json!({"_match_route_": ["open"]}))]);
    let vm = auth.vm(config);
    assert_passed(&send(&vm, get("/").route("open").header("authorization", "Bearer fail")));
    assert_refused(
        &send(&vm, get("/").route("other").header("authorization", "Bearer fail")),
        403,
        "ext-auth.service_error",
    );
}

// ----- the client goes away -----

#[test]
fn an_answer_for_a_client_that_left_is_dropped() {
    let vm = vm_in(&Env::new(), envoy(json!({})));
    let s = get("/").header("authorization", "Bearer good").send(&vm);
    let token = vm.http_calls()[0].token;
    s.reset();
    vm.respond_http_call(token, HttpResponse::new(200, &[("x-user-id", "u")], "")).unwrap();
    assert!(!vm.is_failed());
    assert!(s.upstream().headers.is_none());
    let logs = vm.take_logs();
    assert!(!logs.iter().any(|l| l.level >= higress_host::LogLevel::Warn), "{logs:?}");
    // Also while the body was being held.
    let vm = vm_in(&Env::new(), with_body(json!({})));
    let s = request("POST", "a", "/").body("b").send(&vm);
    let token = vm.http_calls()[0].token;
    drop(s);
    vm.respond_http_call(token, HttpResponse::new(401, &[], "no")).unwrap();
    assert!(!vm.is_failed());
    // The VM keeps serving.
    let next = get("/").send(&vm);
    vm.respond_http_call(vm.http_calls()[0].token, HttpResponse::new(200, &[], "")).unwrap();
    assert_passed(&next);
}

#[test]
fn a_reset_call_is_a_failure() {
    let vm = vm_in(&Env::new(), envoy(json!({})));
    let s = get("/").send(&vm);
    vm.fail_http_call(vm.http_calls()[0].token).unwrap();
    assert_refused(&s, 403, "ext-auth.service_error");
    assert!(s.response().body.is_empty());
}

// ----- Go's main_test.go, on the wasm (answers given by hand, as Go's test host does) -----

fn go_headers(method: &str, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut headers: Vec<(String, String)> = [(":authority", "example.com"), (":path", "/users"), (":method", method)]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    headers.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    headers
}

fn go_stream(vm: &Vm, method: &str, extra: &[(&str, &str)], end: bool) -> (Stream, Action) {
    let s = vm.stream();
    let action = s.send_request_headers(HeaderMap::from_pairs(&go_headers(method, extra)), end).unwrap();
    (s, action)
}

fn answer_by_hand(vm: &Vm, status: &str, headers: &[(&str, &str)], body: &str) {
    let mut all = vec![(":status", status)];
    all.extend_from_slice(headers);
    let token = vm.http_calls()[0].token;
    let mut response = HttpResponse::default();
    for (k, v) in all {
        response.headers.add(k.as_bytes(), v.as_bytes());
    }
    response.body = body.as_bytes().to_vec();
    vm.respond_http_call(token, response).unwrap();
}

#[test]
fn go_on_http_request_headers_cases() {
    let bearer = [("authorization", "Bearer token123"), ("x-custom-header", "value")];
    // basic envoy request headers: paused, then resumed by a 200.
    let vm = vm_in(&Env::new(), envoy(json!({})));
    let (s, action) = go_stream(&vm, "POST", &bearer, true);
    assert_eq!(action, Action::StopAllIterationAndWatermark);
    answer_by_hand(&vm, "200", &[("x-user-id", "user123"), ("x-auth-version", "1.0")], r#"{"authorized": true}"#);
    assert_passed(&s);

    // forward auth request headers.
    let vm = vm_in(&Env::new(), forward_auth(json!({})));
    let (s, action) = go_stream(&vm, "GET", &bearer, true);
    assert_eq!(action, Action::StopAllIterationAndWatermark);
    answer_by_hand(&vm, "200", &[("x-user-id", "user456")], "");
    assert_passed(&s);

    // headers filtered request headers (Go's headersConfig).
    let headers_config = envoy(json!({"http_service": {
        "authorization_request": {
            "allowed_headers": [{"exact": "x-auth-version"}, {"prefix": "x-custom"}],
            "headers_to_add": {"x-envoy-header": "true"}
        },
        "authorization_response": {
            "allowed_upstream_headers": [{"exact": "x-user-id"}, {"exact": "x-auth-version"}],
            "allowed_client_headers": [{"exact": "x-auth-failed"}]
        }
    }}));
    let vm = vm_in(&Env::new(), headers_config);
    let (s, action) = go_stream(
        &vm,
        "POST",
        &[
            ("authorization", "Bearer token123"),
            ("x-auth-version", "1.0"),
            ("x-custom-header", "value"),
            ("x-ignored-header", "ignored"),
        ],
        true,
    );
    assert_eq!(action, Action::StopAllIterationAndWatermark);
    let call = vm.http_calls()[0].clone();
    assert_eq!(call.headers.get("x-auth-version"), Some("1.0"));
    assert_eq!(call.headers.get("x-custom-header"), Some("value"));
    assert_eq!(call.headers.get("x-envoy-header"), Some("true"));
    assert_eq!(call.headers.get("authorization"), Some("Bearer token123"));
    assert!(!call.headers.contains("x-ignored-header"));
    answer_by_hand(&vm, "200", &[("x-user-id", "u1"), ("x-auth-version", "2.0"), ("x-other", "o")], "");
    assert_passed(&s);
    assert_eq!(s.upstream().header("x-user-id"), Some("u1"));
    assert_eq!(s.upstream().header("x-auth-version"), Some("2.0"));
    assert_eq!(s.upstream().header("x-other"), None);
    let (s, _) = go_stream(&vm, "POST", &[], true);
    answer_by_hand(&vm, "401", &[("x-auth-failed", "true"), ("content-type", "application/json")], "denied");
    assert_refused(&s, 401, "ext-auth.unauthorized");
    let local = s.local_response().unwrap();
    assert_eq!(local.headers.get("x-auth-failed"), Some("true"));
    assert_eq!(local.headers.get("content-type"), None, "not in allowed_client_headers");

    // with request body request headers: held for the body.
    let vm = vm_in(&Env::new(), with_body(json!({})));
    let (_s, action) = go_stream(&vm, "POST", &[("content-type", "application/json")], false);
    assert_eq!(action, Action::StopIteration);

    // match rules request headers (Go's matchRulesConfig).
    let match_rules = envoy(json!({
        "match_type": "whitelist",
        "match_list": [
            {"match_rule_domain": "api.example.com", "match_rule_path": "/public", "match_rule_type": "prefix"},
            {"match_rule_method": ["GET"], "match_rule_path": "/health", "match_rule_type": "exact"}
        ]
    }));
    let vm = vm_in(&Env::new(), match_rules);
    let s = vm.stream();
    let action = s
        .send_request_headers([(":authority", "api.example.com"), (":path", "/public/users"), (":method", "GET")], true)
        .unwrap();
    assert_eq!(action, Action::Continue);
    assert!(vm.http_calls().is_empty());
    let s = vm.stream();
    let action = s
        .send_request_headers(
            [(":authority", "api.example.com"), (":path", "/private/users"), (":method", "POST")],
            true,
        )
        .unwrap();
    assert_eq!(action, Action::StopAllIterationAndWatermark);
    answer_by_hand(&vm, "401", &[("x-auth-failed", "true")], r#"{"authorized": false, "message": "Invalid token"}"#);
    assert_refused(&s, 401, "ext-auth.unauthorized");

    // authentication failed: 403 with the service's body.
    let vm = vm_in(&Env::new(), envoy(json!({})));
    let (s, _) = go_stream(&vm, "POST", &[("authorization", "Bearer invalid-token")], true);
    answer_by_hand(&vm, "403", &[("x-auth-failed", "true")], r#"{"authorized": false, "message": "Access denied"}"#);
    assert_refused(&s, 403, "ext-auth.unauthorized");
    assert_eq!(s.response().body_text(), r#"{"authorized": false, "message": "Access denied"}"#);

    // authentication service error: 500 -> status_on_error (403).
    let (s, _) = go_stream(&vm, "POST", &bearer, true);
    answer_by_hand(&vm, "500", &[("x-auth-error", "true")], r#"{"error": "Internal server error"}"#);
    assert_refused(&s, 403, "ext-auth.service_error");

    // failure mode allow (Go's failureModeConfig, status_on_error 500).
    let failure_mode =
        envoy(json!({"failure_mode_allow": true, "failure_mode_allow_header_add": true, "status_on_error": 500}));
    let vm = vm_in(&Env::new(), failure_mode);
    let (s, _) = go_stream(&vm, "POST", &bearer, true);
    answer_by_hand(&vm, "500", &[("x-auth-error", "true")], "");
    assert_passed(&s);
    assert_eq!(s.upstream().header("x-envoy-auth-failure-mode-allowed"), Some("true"));
}

#[test]
fn go_on_http_request_body_cases() {
    // with request body: the body is held while the service decides.
    let vm = vm_in(&Env::new(), with_body(json!({})));
    let (s, _) = go_stream(&vm, "POST", &[("authorization", "Bearer token123")], false);
    let action = s.send_request_body(r#"{"username": "test", "password": "password123"}"#, true).unwrap();
    assert_eq!(action, Action::StopIterationAndBuffer);
    // without request body: the body passes, the call was made at the headers.
    let vm = vm_in(&Env::new(), envoy(json!({})));
    let (s, action) = go_stream(&vm, "POST", &[("authorization", "Bearer token123")], false);
    assert_eq!(action, Action::StopAllIterationAndWatermark);
    answer_by_hand(&vm, "200", &[], "");
    let action = s.send_request_body("body", true).unwrap();
    assert_eq!(action, Action::Continue);
    assert_eq!(s.upstream().body_text(), "body");
}

// ----- configuration -----

#[test]
fn go_config_cases_start() {
    let plugin = testing::plugin("ext-auth");
    for config in [
        envoy(json!({})),
        forward_auth(json!({})),
        json!({"http_service": {"endpoint_mode": "forward_auth", "endpoint": {
            "service_name": "auth.example.com", "service_port": 8080, "service_host": "auth.example.com",
            "request_method": "POST", "path": "/auth"
        }, "timeout": 2000, "authorization_request": {
            "headers_to_add": {"X-Auth-Source": "wasm"}, "with_request_body": true, "max_request_body_bytes": 1048576
        }}, "skipped_path_prefixes": ["/health", "/metrics"], "failure_mode_allow": true,
            "failure_mode_allow_header_add": true, "status_on_error": 500}),
        // No endpoint_mode: envoy.
        json!({"http_service": {"endpoint": {"service_name": "example.com", "path_prefix": "/auth"}}}),
        // with_request_body in envoy mode goes with any method.
        json!({"http_service": {"endpoint": {"service_name": "a", "path_prefix": ""},
            "authorization_request": {"with_request_body": true}}}),
        envoy(json!({"match_type": "whitelist", "match_list": [{"match_rule_method": ["GET"]}]})),
    ] {
        let vm = Vm::builder(&plugin).config_json(&config).start();
        assert!(vm.is_ok(), "{config}: {:?}", vm.err());
    }
}

#[test]
fn config_errors_name_the_field() {
    let plugin = testing::plugin("ext-auth");
    let endpoint = |e: Value| json!({"http_service": {"endpoint": e}});
    let cases = [
        (json!({}), "http_service: is required"),
        (json!({"http_service": {"endpoint_mode": "envoy"}}), "http_service.endpoint: is required"),
        (
            json!({"http_service": {"endpoint_mode": "invalid_mode", "endpoint": {"service_name": "a", "path_prefix": "/"}}}),
            "http_service.endpoint_mode: must be envoy or forward_auth, not `invalid_mode`",
        ),
        (endpoint(json!({"service_name": "", "path_prefix": "/a"})), "http_service.endpoint.service_name: cannot be empty"),
        (endpoint(json!({"path_prefix": "/a"})), "http_service.endpoint.service_name: cannot be empty"),
        (
            endpoint(json!({"service_name": "example.com", "service_port": 80})),
            "http_service.endpoint.path_prefix: is required when endpoint_mode is envoy",
        ),
        (
            json!({"http_service": {"endpoint_mode": "forward_auth", "endpoint": {"service_name": "a", "request_method": "POST"}}}),
            "http_service.endpoint.path: is required when endpoint_mode is forward_auth",
        ),
        (
            json!({"http_service": {"endpoint_mode": "forward_auth", "endpoint": {"service_name": "a", "request_method": "GET", "path": "/auth"},
                "authorization_request": {"with_request_body": true}}}),
            "http_service.authorization_request.with_request_body: cannot be true when endpoint.request_method is GET",
        ),
        (
            json!({"http_service": {"endpoint_mode": "forward_auth", "endpoint": {"service_name": "a", "path": "/auth"},
                "authorization_request": {"with_request_body": true}}}),
            "http_service.authorization_request.with_request_body: cannot be true when endpoint.request_method is GET",
        ),
        (
            json!({"http_service": {"endpoint_mode": "forward_auth", "endpoint": {"service_name": "a", "path": "/a", "request_method": "GE T"}}}),
            "http_service.endpoint.request_method: `GE T` is not an HTTP method",
        ),
        (
            json!({"http_service": {"endpoint_mode": "forward_auth", "endpoint": {"service_name": "a", "path": "auth"}}}),
            "http_service.endpoint.path: `auth` must start with /",
        ),
        (endpoint(json!({"service_name": "a", "path_prefix": "auth"})), "http_service.endpoint.path_prefix: `auth` must start with /"),
        (
            endpoint(json!({"service_name": "a", "path_prefix": "/a b"})),
            "http_service.endpoint.path_prefix: cannot contain spaces or control characters",
        ),
        (
            endpoint(json!({"service_name": "a", "path_prefix": "/", "service_port": 70000})),
            "http_service.endpoint.service_port: must be a port from 1 to 65535",
        ),
        (
            endpoint(json!({"service_name": "a", "path_prefix": "/", "service_port": -1})),
            "http_service.endpoint.service_port: invalid value: integer `-1`",
        ),
        (envoy(json!({"http_service": {"timeout": "fast"}})), "http_service.timeout: invalid type"),
        (envoy(json!({"status_on_error": 99})), "status_on_error: must be an HTTP status from 200 to 599"),
        (envoy(json!({"failure_mode_allow": "yes"})), "failure_mode_allow: invalid type"),
        (
            envoy(json!({"match_list": [{"match_rule_domain": "*.bar.com", "match_rule_path": "/headers", "match_rule_type": "prefix"}]})),
            "match_type: is required with match_list",
        ),
        (
            envoy(json!({"match_type": "invalid_type", "match_list": []})),
            "match_type: must be whitelist or blacklist, not `invalid_type`",
        ),
        (
            envoy(json!({"match_type": "blacklist", "match_list": [{"match_rule_domain": "*.bar.com",
                "match_rule_method": ["POST", "PUT", "DELETE"], "match_rule_path": "/headers", "match_rule_type": "invalid_type"}]})),
            "match_list[0].match_rule_type: unknown match type `invalid_type`",
        ),
        (
            envoy(json!({"match_type": "blacklist", "match_list": [{"match_rule_path": "/headers"}]})),
            "match_list[0].match_rule_type: is required with match_rule_path",
        ),
        (
            envoy(json!({"match_type": "blacklist", "match_list": [{}, {"match_rule_path": "a(", "match_rule_type": "regex"}]})),
            "match_list[1].match_rule_path: invalid regex `a(`",
        ),
        (
            envoy(json!({"http_service": {"authorization_request": {"allowed_headers": [{"exact": "a"}, {"regex": "(?!)aa"}]}}})),
            "http_service.authorization_request.allowed_headers[1].regex: invalid regex `(?!)aa`",
        ),
        (
            envoy(json!({"http_service": {"authorization_response": {"allowed_client_headers": [{"exact": ""}]}}})),
            "http_service.authorization_response.allowed_client_headers[0]: needs a non-empty one of exact, prefix, suffix, contains or regex",
        ),
        (
            envoy(json!({"http_service": {"authorization_response": {"allowed_upstream_headers": [{"exact": "a", "suffix": "b"}]}}})),
            "http_service.authorization_response.allowed_upstream_headers[0]: sets both `exact` and `suffix`: give one",
        ),
        (
            envoy(json!({"http_service": {"authorization_response": {"allowed_upstream_headers": {"exact": "a"}}}})),
            "http_service.authorization_response.allowed_upstream_headers: invalid type",
        ),
        (
            envoy(json!({"http_service": {"authorization_request": {"headers_to_add": {"x y": "1"}}}})),
            "http_service.authorization_request.headers_to_add.x y: is not a valid header name",
        ),
        (
            envoy(json!({"http_service": {"authorization_request": {"headers_to_add": {":path": "/x"}}}})),
            "http_service.authorization_request.headers_to_add.:path: is not a valid header name",
        ),
        (
            envoy(json!({"http_service": {"authorization_request": {"headers_to_add": {"x-a": "1\r\nx-b: 2"}}}})),
            "http_service.authorization_request.headers_to_add.x-a: cannot contain line breaks",
        ),
        (
            envoy(json!({"http_service": {"authorization_request": {"max_request_body_bytes": 5_000_000_000u64}}})),
            "http_service.authorization_request.max_request_body_bytes: invalid value",
        ),
        (
            json!({"_rules_": [{"_match_domain_": ["a.com"], "http_service": {"endpoint_mode": "envoy"}}]}),
            "_rules_[0].http_service.endpoint: is required",
        ),
    ];
    for (config, expected) in cases {
        let line = testing::config_error(&plugin, &config);
        assert!(line.contains(&format!("ext-auth config error: {expected}")), "{line}\n  expected: {expected}");
    }
}

// ----- bad input -----

#[test]
fn odd_requests_get_a_documented_reply() {
    let auth = Auth::start();
    let vm = auth.vm(envoy(json!({"http_service": {"authorization_request": {"allowed_headers": [{"regex": ".*"}]}}})));
    // Non-UTF-8 bytes in the path and in headers: asked, the answer applies.
    let s = send(
        &vm,
        get("/")
            .without(":path")
            .header_bytes(":path", b"/caf\xe9/\xff?q=\x80")
            .header("authorization", "Bearer good")
            .header_bytes("x-raw", b"\xfe\xff"),
    );
    assert_passed(&s);
    assert!(auth.asked()[0].path.starts_with("/auth/caf"));
    // Huge headers (40 x 8 KiB), all allowed to the service.
    let mut big = get("/big").header("authorization", "Bearer bad");
    for i in 0..40 {
        big = big.header(&format!("x-big-{i}"), &"v".repeat(8192));
    }
    let s = send(&vm, big);
    assert_refused(&s, 401, "ext-auth.unauthorized");
    assert_eq!(auth.asked()[1].headers.get("x-big-39").map(str::len), Some(8192));
    // A path no HTTP request line can carry: the call cannot be made (Go: the same), so
    // status_on_error.
    let s = send(&vm, get("/a b").header("authorization", "Bearer good"));
    assert_refused(&s, 403, "ext-auth.service_error");
    assert_eq!(auth.asked().len(), 2);
    assert!(!vm.is_failed());
}

#[test]
fn a_request_without_authority_is_not_checked() {
    // As every Higress plugin: no :authority, no plugin.
    let vm = vm_in(&Env::new(), envoy(json!({})));
    let s = get("/").without(":authority").send(&vm);
    assert_passed(&s);
    assert!(vm.http_calls().is_empty());
}

#[test]
fn garbage_answers_are_failures() {
    // A service that closes without answering.
    let env = Env::new();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            use std::io::{Read, Write};
            let mut stream = stream;
            let mut buf = [0u8; 1024];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(b"NOT HTTP AT ALL\r\n\r\n");
        }
    });
    env.add_cluster(CLUSTER, Upstream::Address(address));
    let vm = vm_in(&env, envoy(json!({})));
    assert_refused(&send(&vm, get("/").header("authorization", "Bearer good")), 403, "ext-auth.service_error");
    // An answer whose :status is not a number, or not a final status.
    let vm = vm_in(&Env::new(), envoy(json!({"failure_mode_allow": true, "failure_mode_allow_header_add": true})));
    for status in ["abc", "100", "0"] {
        let s = get("/").send(&vm);
        answer_by_hand(&vm, status, &[], "");
        assert_passed(&s);
        assert_eq!(s.upstream().header("x-envoy-auth-failure-mode-allowed"), Some("true"), "{status}");
    }
}

fn status_answer() -> impl Strategy<Value = Option<u16>> {
    prop_oneof![
        Just(None),
        Just(Some(200)),
        Just(Some(204)),
        Just(Some(302)),
        Just(Some(401)),
        Just(Some(403)),
        Just(Some(500)),
        Just(Some(503)),
        (100u16..600).prop_map(Some),
    ]
}

fn header_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("authorization".to_string()),
        Just("content-length".to_string()),
        Just("content-encoding".to_string()),
        Just("x-user-id".to_string()),
        "[a-z-]{1,12}"
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]
    /// Random requests and answers get exactly the reply the model predicts, and never break
    /// the VM.
    #[test]
    fn random_requests_keep_the_vm_serving(
        method in prop_oneof![Just("GET".to_string()), Just("POST".to_string()), "[A-Z]{1,8}"],
        path in proptest::collection::vec(any::<u8>(), 0..64),
        headers in proptest::collection::vec((header_name(), proptest::collection::vec(any::<u8>(), 0..32)), 0..6),
        body in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..1500)),
        status in status_answer(),
    ) {
        let vm = shared_vm();
        let mut raw_path = b"/".to_vec();
        raw_path.extend_from_slice(&path);
        let mut req = request(&method, "random.example", "/").without(":path").header_bytes(":path", &raw_path);
        for (name, value) in &headers {
            req = req.header_bytes(name, value);
        }
        let over = body.as_ref().is_some_and(|b| b.len() > 1024);
        if let Some(body) = &body {
            req = req.body(body.clone());
        }
        let s = req.send(&vm);
        let calls = vm.http_calls();
        if over {
            prop_assert!(calls.is_empty());
            prop_assert_eq!(s.local_response().map(|r| r.status), Some(413));
        } else if calls.is_empty() {
            // The call could not be made (a path no request line can carry).
            prop_assert_eq!(s.local_response().map(|r| (r.status, r.details)), Some((403, "ext-auth.service_error".to_string())));
        } else {
            prop_assert_eq!(calls.len(), 1);
            let call = &calls[0];
            prop_assert_eq!(&call.body, &body.clone().unwrap_or_default());
            match status {
                None => vm.fail_http_call(call.token).unwrap(),
                Some(code) => vm.respond_http_call(call.token, HttpResponse::new(code, &[("x-user-id", "u")], "answer")).unwrap(),
            }
            match status {
                Some(200..=299) => {
                    prop_assert!(s.local_response().is_none());
                    let up = s.upstream();
                    prop_assert_eq!(up.header("x-user-id"), Some("u"));
                }
                Some(code @ 200..=499) => prop_assert_eq!(s.local_response().map(|r| r.status), Some(u32::from(code))),
                _ => prop_assert_eq!(s.local_response().map(|r| r.status), Some(403)),
            }
        }
        prop_assert!(!vm.is_failed(), "{:?}", vm.failure());
        let ok = request("GET", "random.example", "/ok").header("authorization", "Bearer good").send(&vm);
        vm.respond_http_call(vm.http_calls()[0].token, HttpResponse::new(200, &[], "")).unwrap();
        prop_assert!(ok.upstream().headers.is_some());
    }
}

thread_local! {
    static VM: Vm = vm_in(&Env::new(), with_body(json!({"http_service": {"authorization_response": {
        "allowed_upstream_headers": [{"exact": "x-user-id"}]
    }}})));
}

fn shared_vm() -> Vm {
    VM.with(Vm::clone)
}
