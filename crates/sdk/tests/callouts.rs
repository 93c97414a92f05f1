//! HTTP callouts through the SDK's `HttpClient`, run on the compiled `sdk-probe`.
// Helpers outside #[test] functions may panic too: a failing test should fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use higress_host::testing::{self, HttpServer};
use higress_host::{Env, HttpResponse, Stream, Upstream, Vm};
use std::time::Duration;

const CLUSTER: &str = "outbound|80||backend.static";

fn vm(env: &Env) -> Vm {
    Vm::builder(&testing::plugin("sdk-probe"))
        .env(env)
        .config(r#"{"upstream": {"service_name": "backend.static"}}"#)
        .start()
        .unwrap_or_else(|e| panic!("{e}"))
}

fn request(vm: &Vm, action: &str) -> Stream {
    let s = vm.stream();
    s.send_request_headers(
        [(":authority", "client.example"), (":path", "/in"), (":method", "GET"), ("x-probe", action)],
        true,
    )
    .unwrap();
    s
}

#[test]
fn a_callout_pauses_the_request_and_its_callback_resumes_it() {
    let env = Env::new();
    let vm = vm(&env);
    let s = request(&vm, "http");
    assert!(s.upstream().headers.is_none(), "paused while the callout runs");
    let calls = vm.http_calls();
    assert_eq!(calls.len(), 1);
    let call = &calls[0];
    assert_eq!(call.cluster, CLUSTER);
    assert_eq!(call.headers.get(":method"), Some("GET"));
    assert_eq!(call.headers.get(":path"), Some("/echo?probe=1"));
    assert_eq!(call.headers.get(":authority"), Some("backend.static"), "the cluster's default host");
    assert_eq!(call.headers.get("x-probe-out"), Some("1"));
    assert_eq!(call.timeout, Some(Duration::from_millis(500)), "wasm-go's default timeout");
    assert_eq!(call.context_id, s.context_id(0).unwrap(), "made from the stream's context");
    vm.respond_http_call(call.token, HttpResponse::new(200, &[("x-r", "1")], "pong")).unwrap();
    let up = s.upstream();
    assert_eq!(up.header("x-callout-status"), Some("200"));
    assert_eq!(up.header("x-callout-body"), Some("pong"));
    assert!(up.end_of_stream);
    assert_eq!(higress_sdk_pending(&vm), 0);
}

/// Pending callouts of the SDK are visible as pending host calls.
fn higress_sdk_pending(vm: &Vm) -> usize {
    vm.http_calls().len() + vm.redis_calls().len()
}

#[test]
fn a_callback_can_answer_locally() {
    let vm = vm(&Env::new());
    let s = request(&vm, "http-reply");
    let token = vm.http_calls()[0].token;
    vm.respond_http_call(token, HttpResponse::new(403, &[], "no entry")).unwrap();
    assert_eq!(s.response().status(), Some(403));
    assert_eq!(s.response().body_text(), "no entry");
    assert_eq!(s.local_response().unwrap().details, "sdk-probe.callout");
    assert!(s.upstream().headers.is_none());
}

#[test]
fn a_callout_made_inside_a_callback_runs_in_the_same_stream() {
    let vm = vm(&Env::new());
    let other = request(&vm, "none");
    let s = request(&vm, "http-nested");
    let first = vm.http_calls()[0].clone();
    assert_eq!(first.headers.get(":path"), Some("/first"));
    vm.respond_http_call(first.token, HttpResponse::new(200, &[], "one")).unwrap();
    let second = vm.http_calls()[0].clone();
    assert_eq!(second.headers.get(":path"), Some("/second"));
    assert_eq!(second.timeout, Some(Duration::from_secs(2)));
    assert!(s.upstream().headers.is_none());
    vm.respond_http_call(second.token, HttpResponse::new(200, &[], "two")).unwrap();
    let up = s.upstream();
    assert_eq!(up.header("x-first"), Some("one"));
    assert_eq!(up.header("x-second"), Some("two"));
    assert_eq!(other.upstream().header("x-first"), None, "the other stream is untouched");
}

#[test]
fn a_refused_dispatch_is_an_error_at_once() {
    let env = Env::new();
    env.set_accept_unknown_clusters(false);
    let vm = vm(&env);
    let s = request(&vm, "http-bad");
    assert_eq!(s.upstream().header("x-dispatch-error"), Some("the host refused the call: BadArgument"));
    assert!(vm.http_calls().is_empty());
}

#[test]
fn a_reply_without_status_is_502_and_a_reset_is_502_too() {
    let vm = vm(&Env::new());
    let s = request(&vm, "http");
    let token = vm.http_calls()[0].token;
    vm.respond_http_call(token, HttpResponse::default()).unwrap();
    assert_eq!(s.upstream().header("x-callout-status"), Some("502"));
    let s = request(&vm, "http");
    let token = vm.http_calls()[0].token;
    vm.fail_http_call(token).unwrap();
    assert_eq!(s.upstream().header("x-callout-status"), Some("502"));
}

#[test]
fn a_timeout_reaches_the_callback_as_504() {
    let env = Env::with_manual_clock(Duration::from_secs(10));
    let vm = vm(&env);
    let s = request(&vm, "http");
    env.advance(Duration::from_millis(500));
    vm.poll().unwrap();
    assert_eq!(s.upstream().header("x-callout-status"), Some("504"));
    assert_eq!(s.upstream().header("x-callout-body"), Some("upstream request timeout"));
}

#[test]
fn the_answer_for_a_finished_stream_is_dropped() {
    let vm = vm(&Env::new());
    let s = request(&vm, "http");
    let token = vm.http_calls()[0].token;
    s.reset();
    vm.respond_http_call(token, HttpResponse::new(200, &[], "late")).unwrap();
    assert!(!vm.is_failed());
    assert!(s.upstream().headers.is_none());
    let logs = vm.take_logs();
    assert!(!logs.iter().any(|l| l.level >= higress_host::LogLevel::Error), "{logs:?}");
    // The VM keeps serving callouts.
    let next = request(&vm, "http");
    vm.respond_http_call(vm.http_calls()[0].token, HttpResponse::new(200, &[], "ok")).unwrap();
    assert_eq!(next.upstream().header("x-callout-body"), Some("ok"));
}

#[test]
fn callouts_reach_a_real_http_server() {
    let server = HttpServer::start(|req| {
        let body = format!("{} {} host={}", req.method, req.path, req.headers.get("host").unwrap_or_default());
        (200, vec![("x-server".into(), "test".into())], body.into_bytes())
    });
    let env = Env::new();
    env.add_cluster(CLUSTER, Upstream::Address(server.address()));
    let vm = vm(&env);
    let s = request(&vm, "http");
    vm.poll().unwrap();
    assert_eq!(s.upstream().header("x-callout-status"), Some("200"));
    assert_eq!(s.upstream().header("x-callout-body"), Some("GET /echo?probe=1 host=backend.static"));
    assert_eq!(server.requests()[0].headers.get("x-probe-out"), Some("1"));
}

#[test]
fn an_unreachable_server_answers_503() {
    let env = Env::new();
    env.add_cluster(CLUSTER, Upstream::Address(format!("127.0.0.1:{}", testing::free_port())));
    let vm = vm(&env);
    let s = request(&vm, "http");
    vm.poll().unwrap();
    assert_eq!(s.upstream().header("x-callout-status"), Some("503"));
}

#[test]
fn root_context_callouts_from_a_tick() {
    let server = HttpServer::start(|_| (204, vec![], vec![]));
    let env = Env::with_manual_clock(Duration::from_secs(100));
    env.add_cluster(CLUSTER, Upstream::Address(server.address()));
    let vm = Vm::builder(&testing::plugin("sdk-probe"))
        .env(&env)
        .config(r#"{"upstream": {"service_name": "backend.static"}, "health_check": true}"#)
        .start()
        .unwrap();
    env.advance(Duration::from_millis(100));
    vm.poll().unwrap();
    assert_eq!(server.requests()[0].path, "/health");
    assert_eq!(env.shared_data("sdk-probe", "probe-health").unwrap().0, b"204");
}

#[test]
fn every_method_reaches_the_server_with_its_body() {
    let server = HttpServer::start(|req| {
        (200, vec![], format!("{}:{}", req.method, String::from_utf8_lossy(&req.body)).into_bytes())
    });
    let env = Env::new();
    env.add_cluster(CLUSTER, Upstream::Address(server.address()));
    let vm = vm(&env);
    for (method, expected) in [
        ("GET", "GET:"),
        ("HEAD", ""),
        ("OPTIONS", "OPTIONS:"),
        ("POST", "POST:payload"),
        ("PUT", "PUT:payload"),
        ("PATCH", "PATCH:payload"),
        ("DELETE", "DELETE:"),
        ("PURGE", "PURGE:payload"),
    ] {
        let s = vm.stream();
        s.send_request_headers(
            [
                (":authority", "c"),
                (":path", "/"),
                (":method", "GET"),
                ("x-probe", "http-method"),
                ("x-method", method),
                ("x-body", "payload"),
            ],
            true,
        )
        .unwrap();
        vm.poll().unwrap();
        assert_eq!(s.upstream().header("x-callout-status"), Some("200"), "{method}");
        assert_eq!(s.upstream().header("x-callout-body"), Some(expected), "{method}");
    }
    let post = server.requests().into_iter().find(|r| r.method == "POST").unwrap();
    assert_eq!(post.headers.get("content-length"), Some("7"));
}
