//! The host runs a plugin built on the crates.io `proxy-wasm` crate (0.2.5): an ABI reading
//! that is not ours. Fixture: `fixtures/proxy-wasm-conformance`.

use higress_host::{testing, Abi, Action, Env, HostError, HttpResponse, LogLevel, Stream, Vm};

fn vm(env: &Env) -> Vm {
    Vm::builder(&testing::plugin("proxy-wasm-conformance")).env(env).log_level(LogLevel::Trace).start().unwrap()
}

fn get(vm: &Vm, path: &str) -> Stream {
    let s = vm.stream();
    s.set_property("route_name", "conformance-route");
    s.send_request_headers(
        [(":authority", "c.local"), (":path", path), (":method", "GET"), ("x-replace", "old"), ("x-remove", "1")],
        true,
    )
    .unwrap();
    s
}

#[test]
fn loads_as_abi_0_2_1() {
    assert_eq!(testing::plugin("proxy-wasm-conformance").abi(), Abi::V0_2_1);
}

#[test]
fn headers_and_properties() {
    let env = Env::new();
    let vm = vm(&env);
    let s = get(&vm, "/headers");
    let up = s.upstream();
    assert_eq!(up.header("x-conformance"), Some("1"));
    assert_eq!(up.header("x-replace"), Some("replaced"));
    assert_eq!(up.header("x-remove"), None);
    assert_eq!(up.header("x-route"), Some("conformance-route"));
    // :authority :path :method x-replace x-conformance x-route (x-remove removed)
    assert_eq!(up.header("x-header-count"), Some("6"));
    assert_eq!(s.property_string("conformance.seen").as_deref(), Some("1"));
    let ctx = s.context_id(0).unwrap().to_string();
    s.send_response_headers([(":status", "200")], true).unwrap();
    assert_eq!(s.response().header("x-conformance-context"), Some(ctx.as_str()));
    assert!(vm.logged("conformance: /headers answered 200"), "on_log reads response headers");
}

#[test]
fn bodies_are_buffered_and_replaced() {
    let vm = vm(&Env::new());
    let s = vm.stream();
    s.send_request_headers([(":authority", "c"), (":path", "/body"), (":method", "POST")], false).unwrap();
    assert_eq!(s.send_request_body("abc", false).unwrap(), Action::StopIterationAndBuffer);
    s.send_request_body("def", true).unwrap();
    assert_eq!(s.upstream().body_text(), "ABCDEF");
    s.send_response_headers([(":status", "200")], false).unwrap();
    s.send_response_body("12", false).unwrap();
    s.send_response_body("34", true).unwrap();
    assert_eq!(s.response().body_text(), "4321");
}

#[test]
fn local_response() {
    let vm = vm(&Env::new());
    let s = get(&vm, "/reply");
    let response = s.response();
    assert_eq!(response.status(), Some(403));
    assert_eq!(response.header("x-denied"), Some("1"));
    assert_eq!(response.body_text(), "denied");
    assert!(s.upstream().headers.is_none());
}

#[test]
fn http_callout_resumes_the_request() {
    let vm = vm(&Env::new());
    let s = get(&vm, "/callout");
    assert!(s.upstream().headers.is_none(), "paused while the callout runs");
    let calls = vm.http_calls();
    assert_eq!(calls.len(), 1);
    let call = &calls[0];
    assert_eq!(call.cluster, "auth-cluster");
    assert_eq!(call.headers.get(":path"), Some("/check"));
    assert_eq!(call.headers.get(":authority"), Some("auth.local"));
    assert_eq!(call.timeout, Some(std::time::Duration::from_secs(1)));
    vm.respond_http_call(call.token, HttpResponse::new(200, &[], "granted")).unwrap();
    let up = s.upstream();
    assert_eq!(up.header("x-callout"), Some("granted"));
    assert!(up.end_of_stream);
    assert!(vm.http_calls().is_empty());
}

#[test]
fn the_waker_runs_when_a_callout_moves_the_stream() {
    let vm = vm(&Env::new());
    let before = higress_host::calls_made();
    let s = get(&vm, "/callout");
    assert_eq!(higress_host::calls_made(), before + 1, "a proxy learns this thread's VMs made a call");
    let woken = std::rc::Rc::new(std::cell::Cell::new(0));
    let counter = woken.clone();
    s.set_waker(move || counter.set(counter.get() + 1));
    let new = vm.take_new_http_calls();
    assert_eq!(new.len(), 1, "a proxy takes each new call once");
    assert!(vm.take_new_http_calls().is_empty());
    assert_eq!(vm.http_calls().len(), 1, "taken calls stay pending until answered");
    vm.respond_http_call(new[0].token, HttpResponse::new(200, &[], "granted")).unwrap();
    assert!(woken.get() >= 1, "a proxy waiting on the stream learns it moved");
    assert_eq!(s.upstream().header("x-callout"), Some("granted"));
    assert_eq!(higress_host::calls_made(), before + 1, "answering makes no call");
}

#[test]
fn http_callout_denial_answers_locally() {
    let vm = vm(&Env::new());
    let s = get(&vm, "/callout");
    let token = vm.http_calls()[0].token;
    vm.respond_http_call(token, HttpResponse::new(503, &[], "")).unwrap();
    assert_eq!(s.response().status(), Some(401));
    assert_eq!(s.response().header("x-callout-status"), Some("503"));
    assert!(matches!(vm.respond_http_call(token, HttpResponse::default()), Err(HostError::Usage(_))));
}

#[test]
fn http_callout_to_an_unknown_cluster_fails_at_once() {
    let env = Env::new();
    env.set_accept_unknown_clusters(false);
    let vm = vm(&env);
    let s = get(&vm, "/callout");
    assert_eq!(s.response().status(), Some(500));
    assert_eq!(s.response().body_text(), "dispatch failed");
}

#[test]
fn callout_timeout_answers_504() {
    let env = Env::with_manual_clock(std::time::Duration::from_secs(1_000));
    let vm = vm(&env);
    let s = get(&vm, "/callout");
    env.advance(std::time::Duration::from_millis(999));
    vm.poll().unwrap();
    assert_eq!(vm.http_calls().len(), 1);
    env.advance(std::time::Duration::from_millis(1));
    vm.poll().unwrap();
    assert!(vm.http_calls().is_empty());
    assert_eq!(s.response().header("x-callout-status"), Some("504"));
}

#[test]
fn callout_reply_for_a_reset_stream_is_dropped() {
    let vm = vm(&Env::new());
    let s = get(&vm, "/callout");
    let token = vm.http_calls()[0].token;
    s.reset();
    assert!(s.is_complete());
    vm.respond_http_call(token, HttpResponse::new(200, &[], "late")).unwrap();
    assert!(!vm.is_failed());
    assert!(s.upstream().headers.is_none());
    // The VM keeps serving.
    assert_eq!(get(&vm, "/headers").upstream().header("x-conformance"), Some("1"));
}

#[test]
fn shared_data_is_shared_between_vms_with_cas() {
    let env = Env::new();
    let (a, b) = (vm(&env), vm(&env));
    assert_eq!(get(&a, "/shared").upstream().header("x-shared-count"), Some("1"));
    assert_eq!(get(&b, "/shared").upstream().header("x-shared-count"), Some("2"));
    assert_eq!(get(&a, "/shared").upstream().header("x-shared-count"), Some("3"));
    assert_eq!(env.shared_data("proxy-wasm-conformance", "conformance_started").unwrap().0, b"yes");
}

#[test]
fn metrics_are_counted() {
    let env = Env::new();
    let vm = vm(&env);
    for _ in 0..3 {
        get(&vm, "/other");
    }
    let metric = env.metric("conformance_requests").unwrap();
    assert_eq!(metric.value, 3);
}

#[test]
fn refused_configuration_fails_start() {
    let err = Vm::builder(&testing::plugin("proxy-wasm-conformance")).config("fail").start().err().unwrap();
    let HostError::Start { message, logs } = err else { panic!("expected a start error") };
    assert_eq!(message, "proxy_on_configure returned false");
    assert!(logs.iter().any(|l| l.message == "conformance: refusing configuration"));
}
