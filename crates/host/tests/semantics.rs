//! Host behaviour that mirrors Envoy, checked with small hand-written modules (WAT) and with
//! chains of the workspace's compiled plugins.

use higress_host::{testing, Action, Env, Filter, HostError, HttpResponse, LogLevel, Metering, Plugin, Stream, Vm};
use std::time::Duration;

/// A minimal proxy-wasm module: bump allocator, lifecycle exports, and `body` spliced in.
fn module(imports: &str, body: &str) -> String {
    format!(
        r#"(module
  (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
  {imports}
  (memory (export "memory") 2)
  (global $heap (mut i32) (i32.const 4096))
  (func (export "proxy_on_memory_allocate") (param $size i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (global.get $heap) (local.get $size)))
    (local.get $p))
  (func (export "proxy_abi_version_0_2_100"))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))
  {body}
)"#
    )
}

fn start(wat: &str, env: &Env) -> Result<Vm, HostError> {
    let plugin = Plugin::from_bytes("wat", wat.as_bytes())?;
    Vm::builder(&plugin).env(env).log_level(LogLevel::Trace).start()
}

fn get(vm: &Vm) -> (Stream, Result<Action, HostError>) {
    let s = vm.stream();
    let r = s.send_request_headers([(":authority", "h"), (":path", "/"), (":method", "GET")], true);
    (s, r)
}

#[test]
fn a_module_without_abi_marker_is_rejected() {
    let wat = r#"(module (memory (export "memory") 1)
        (func (export "proxy_on_memory_allocate") (param i32) (result i32) (i32.const 0)))"#;
    let err = Plugin::from_bytes("nomarker", wat.as_bytes()).err().unwrap();
    assert!(err.to_string().contains("no supported ABI marker"), "{err}");
}

#[test]
fn an_unknown_import_fails_to_load() {
    let wat = module(r#"(import "env" "proxy_does_not_exist" (func (param i32) (result i32)))"#, "");
    let err = Plugin::from_bytes("unknown", wat.as_bytes()).err().unwrap();
    assert!(err.to_string().contains("proxy_does_not_exist"), "{err}");
}

#[test]
fn a_refused_vm_start_is_a_start_error() {
    let wat = module("", "").replace(
        r#"(func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))"#,
        r#"(func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 0))"#,
    );
    let err = start(&wat, &Env::new()).err().unwrap();
    assert!(matches!(&err, HostError::Start { message, .. } if message == "proxy_on_vm_start returned false"), "{err}");
}

#[test]
fn a_trap_is_an_error_value_with_the_plugin_logs() {
    let wat = module(
        "",
        r#"(func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
             (drop (call $log (i32.const 3) (i32.const 16) (i32.const 12)))
             unreachable)
           (data (i32.const 16) "about to die")"#,
    );
    let vm = start(&wat, &Env::new()).unwrap();
    let (s, result) = get(&vm);
    let err = result.unwrap_err();
    let HostError::Trap { callback, logs, message } = &err else { panic!("{err}") };
    assert_eq!(*callback, "proxy_on_request_headers");
    assert!(message.contains("unreachable"), "{message}");
    assert_eq!(logs.last().map(|l| l.message.as_str()), Some("about to die"));
    assert!(vm.is_failed());
    assert_eq!(s.response().status(), Some(503));
    let by_plugin = s.traps_by_plugin();
    assert_eq!(by_plugin.len(), 1);
    assert_eq!(by_plugin[0].0, vm.name(), "a proxy can say which plugin trapped");
}

#[test]
fn a_log_sink_receives_every_line_instead_of_the_vm() {
    let env = Env::new();
    let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = lines.clone();
    env.set_log_sink(std::sync::Arc::new(move |plugin: &str, level: LogLevel, message: &str| {
        sink.lock().unwrap().push((plugin.to_string(), level, message.to_string()));
    }));
    let wat = module(
        "",
        r#"(func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
             (drop (call $log (i32.const 2) (i32.const 16) (i32.const 5)))
             (i32.const 0))
           (data (i32.const 16) "hello")"#,
    );
    let vm = Vm::builder(&Plugin::from_bytes("sink-test", wat.as_bytes()).unwrap())
        .env(&env)
        .name("ns.sink")
        .start()
        .unwrap();
    let (_, result) = get(&vm);
    result.unwrap();
    assert_eq!(lines.lock().unwrap().as_slice(), [("ns.sink".to_string(), LogLevel::Info, "hello".to_string())]);
    assert!(vm.logs().is_empty(), "lines went to the sink only");
}

#[test]
fn bad_guest_pointers_get_invalid_memory_access() {
    let wat = module(
        "",
        r#"(func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
             (if (i32.eq (call $log (i32.const 2) (i32.const -16) (i32.const 100)) (i32.const 6))
               (then (drop (call $log (i32.const 2) (i32.const 16) (i32.const 4)))))
             (i32.const 0))
           (data (i32.const 16) "ok-6")"#,
    );
    let vm = start(&wat, &Env::new()).unwrap();
    let (_s, result) = get(&vm);
    assert_eq!(result.unwrap(), Action::Continue);
    assert!(vm.logged("ok-6"));
    assert!(!vm.is_failed());
}

#[test]
fn runaway_loops_run_out_of_fuel() {
    let wat = module(
        "",
        r#"(func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) (loop $l (br $l)) (i32.const 0))"#,
    );
    let plugin = Plugin::from_bytes("loop", wat.as_bytes()).unwrap();
    let vm = Vm::builder(&plugin).fuel_per_call(100_000).start().unwrap();
    let (_s, result) = get(&vm);
    assert!(result.unwrap_err().to_string().contains("fuel"));
}

#[test]
fn instructions_are_counted_exactly() {
    // One loop iteration per request header: the cost difference is linear and exact.
    let wat = module(
        "",
        r#"(func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
             (local $i i32)
             (block $done (loop $l
               (br_if $done (i32.ge_u (local.get $i) (local.get 1)))
               (local.set $i (i32.add (local.get $i) (i32.const 1)))
               (br $l)))
             (i32.const 0))"#,
    );
    let vm = start(&wat, &Env::new()).unwrap();
    let cost = |n: usize| {
        let s = vm.stream();
        let headers: Vec<(String, String)> = (0..n).map(|i| (format!("h{i}"), "v".to_string())).collect();
        s.send_request_headers(headers, true).unwrap();
        s.calls().iter().find(|c| c.callback == "proxy_on_request_headers").unwrap().instructions
    };
    let (one, eleven, twenty_one) = (cost(1), cost(11), cost(21));
    assert!(eleven > one);
    assert_eq!(twenty_one - eleven, eleven - one);
    assert_eq!(vm.memory_bytes(), 2 * 65536);
}

/// A plugin loaded with `Metering::Off` (as the gateway loads them) runs the same code with no
/// budget and no count: a loop past the metered VM's budget completes, and reports 0.
#[test]
fn unmetered_plugins_run_without_a_budget_or_a_count() {
    let wat = module(
        "",
        r#"(func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
             (local $i i32)
             (loop $l
               (local.set $i (i32.add (local.get $i) (i32.const 1)))
               (br_if $l (i32.lt_u (local.get $i) (i32.const 100000))))
             (i32.const 0))"#,
    );
    let metered = Plugin::from_bytes("count", wat.as_bytes()).unwrap();
    assert_eq!(metered.metering(), Metering::Instructions);
    let vm = Vm::builder(&metered).fuel_per_call(100_000).start().unwrap();
    let (_s, result) = get(&vm);
    assert!(result.unwrap_err().to_string().contains("fuel"));

    let unmetered = Plugin::from_bytes_with("count", wat.as_bytes(), Metering::Off).unwrap();
    assert_eq!(unmetered.metering(), Metering::Off);
    let vm = Vm::builder(&unmetered).fuel_per_call(100_000).start().unwrap();
    let (s, result) = get(&vm);
    assert_eq!(result.unwrap(), Action::Continue);
    let call = s.calls().into_iter().find(|c| c.callback == "proxy_on_request_headers").unwrap();
    assert_eq!(call.instructions, 0);
    assert_eq!(vm.instructions(), 0);
    assert!(!vm.is_failed());
}

/// The memory size every callback reports follows `memory.grow`, and a growth that fails
/// (past the 4 GiB of a 32-bit memory) leaves it as it was.
#[test]
fn reported_memory_follows_growth() {
    let wat = module(
        "",
        r#"(func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
             (drop (memory.grow (i32.const 3)))
             (drop (memory.grow (i32.const 65536)))
             (i32.const 0))"#,
    );
    let vm = start(&wat, &Env::new()).unwrap();
    assert_eq!(vm.memory_bytes(), 2 * 65536);
    let (s, r) = get(&vm);
    assert_eq!(r.unwrap(), Action::Continue);
    assert_eq!(vm.memory_bytes(), 5 * 65536);
    let call = s.calls().into_iter().find(|c| c.callback == "proxy_on_request_headers").unwrap();
    assert_eq!(call.memory_bytes, 5 * 65536);
}

#[test]
fn ticks_follow_the_manual_clock() {
    let wat = module(
        r#"(import "env" "proxy_set_tick_period_milliseconds" (func $tick (param i32) (result i32)))"#,
        r#"(func (export "proxy_on_tick") (param i32) (drop (call $log (i32.const 2) (i32.const 16) (i32.const 4))))
           (func (export "_initialize") (drop (call $tick (i32.const 100))))
           (data (i32.const 16) "tick")"#,
    );
    let env = Env::with_manual_clock(Duration::from_secs(50));
    let vm = start(&wat, &env).unwrap();
    assert_eq!(vm.tick_period(), Some(Duration::from_millis(100)));
    let ticks = |vm: &Vm| vm.logs().iter().filter(|l| l.message == "tick").count();
    env.advance(Duration::from_millis(99));
    vm.poll().unwrap();
    assert_eq!(ticks(&vm), 0);
    env.advance(Duration::from_millis(1));
    vm.poll().unwrap();
    assert_eq!(ticks(&vm), 1);
    vm.poll().unwrap();
    assert_eq!(ticks(&vm), 1, "a tick fires once per period");
    env.advance(Duration::from_millis(100));
    vm.poll().unwrap();
    assert_eq!(ticks(&vm), 2);
}

fn hello(config: &str, env: &Env) -> Vm {
    Vm::builder(&testing::plugin("hello-world")).config(config).env(env).start().unwrap()
}

#[test]
fn requests_run_in_order_and_responses_in_reverse() {
    let env = Env::new();
    let first = hello(r#"{"header": "x-first", "response_suffix": "-first"}"#, &env);
    let second = hello(r#"{"header": "x-second", "response_suffix": "-second"}"#, &env);
    let s = Stream::new([Filter::new(&first), Filter::new(&second)]);
    s.send_request_headers([(":authority", "h"), (":path", "/"), (":method", "GET")], true).unwrap();
    let up = s.upstream();
    assert_eq!(up.header("x-first"), Some("hello world"));
    assert_eq!(up.header("x-second"), Some("hello world"));
    s.send_response_headers([(":status", "200")], false).unwrap();
    s.send_response_body("body", true).unwrap();
    assert_eq!(s.response().body_text(), "body-second-first");
}

#[test]
fn a_local_reply_is_encoded_by_the_filters_the_request_reached() {
    let env = Env::new();
    let before = hello(r#"{"response_suffix": " (seen by the first filter)"}"#, &env);
    let replier = hello(r#"{"reply": "denied"}"#, &env);
    let after = hello(r#"{"response_suffix": " (never)"}"#, &env);
    let s = Stream::new([Filter::new(&before), Filter::new(&replier), Filter::new(&after)]);
    let action = s.send_request_headers([(":authority", "h"), (":path", "/"), (":method", "GET")], true).unwrap();
    assert_eq!(action, Action::StopAllIterationAndWatermark);
    assert!(s.upstream().headers.is_none());
    assert_eq!(s.local_response().unwrap().filter, 1);
    assert_eq!(s.response().body_text(), "denied (seen by the first filter)");
    assert!(s.is_complete());
}

#[test]
fn a_response_filter_replaces_an_earlier_local_reply() {
    // custom-response before basic-auth: basic-auth's 401 is replaced during the response
    // phase, before its headers went out (the stream must not stay stopped).
    let env = Env::new();
    let replacer =
        Vm::builder(&testing::plugin("sdk-probe")).env(&env).config(r#"{"replace_status": 200}"#).start().unwrap();
    let replier = hello(r#"{"reply": "denied"}"#, &env);
    let s = Stream::new([Filter::new(&replacer), Filter::new(&replier)]);
    s.send_request_headers([(":authority", "h"), (":path", "/"), (":method", "GET")], true).unwrap();
    let response = s.response();
    assert_eq!(response.status(), Some(299));
    assert_eq!(response.header("x-replaced"), Some("yes"));
    assert_eq!(response.body_text(), "replaced");
    assert!(response.end_of_stream);
    assert_eq!(s.local_response().unwrap().details, "sdk-probe.replaced");
    assert!(s.is_complete());
    assert_eq!(s.property_string("response.code_details").as_deref(), Some("sdk-probe.replaced"));
}

#[test]
fn stop_all_buffers_then_delivers_held_data_to_the_same_filter_first() {
    let env = Env::new();
    let gate = Vm::builder(&testing::plugin("proxy-wasm-conformance")).env(&env).start().unwrap();
    let probe = Vm::builder(&testing::plugin("sdk-probe")).env(&env).start().unwrap();
    let s = Stream::new([Filter::new(&gate), Filter::new(&probe)]);
    let headers = [(":authority", "h"), (":path", "/callout"), (":method", "POST"), ("x-probe", "streaming")];
    assert_eq!(s.send_request_headers(headers, false).unwrap(), Action::StopAllIterationAndWatermark);
    assert_eq!(s.send_request_body("ab", false).unwrap(), Action::StopAllIterationAndWatermark);
    assert_eq!(s.send_request_body("cd", true).unwrap(), Action::StopAllIterationAndWatermark);
    let bodies_before = s.calls().iter().filter(|c| c.callback == "proxy_on_request_body").count();
    assert_eq!(bodies_before, 0, "held data is not delivered while stopped");
    let token = gate.http_calls()[0].token;
    gate.respond_http_call(token, HttpResponse::new(200, &[], "ok")).unwrap();
    let up = s.upstream();
    assert_eq!(up.header("x-callout"), Some("ok"));
    assert_eq!(up.body_text(), "ABCD!", "the data went through the gate, then the probe");
    assert!(up.end_of_stream);
}

#[test]
fn fail_open_skips_a_trapping_filter() {
    let env = Env::new();
    let probe = Vm::builder(&testing::plugin("sdk-probe")).env(&env).start().unwrap();
    let greeter = hello("{}", &env);
    let s = Stream::new([Filter::new(&probe).fail_open(true), Filter::new(&greeter)]);
    let result =
        s.send_request_headers([(":authority", "h"), (":path", "/"), (":method", "GET"), ("x-probe", "panic")], true);
    assert!(matches!(result, Err(HostError::Trap { .. })));
    let up = s.upstream();
    assert_eq!(up.header("x-hello-world"), Some("hello world"), "the chain went on");
    assert!(s.local_response().is_none());
    let later = Stream::new([Filter::new(&probe).fail_open(true), Filter::new(&greeter)]);
    later.send_request_headers([(":authority", "h"), (":path", "/"), (":method", "GET")], true).unwrap();
    assert!(later.upstream().end_of_stream);
}

#[test]
fn dropping_an_unfinished_stream_resets_it() {
    let vm = Vm::builder(&testing::plugin("sdk-probe")).log_level(LogLevel::Info).start().unwrap();
    {
        let s = vm.stream();
        s.send_request_headers([(":authority", "h"), (":path", "/"), (":method", "GET"), ("x-probe", "dropped")], true)
            .unwrap();
    }
    assert!(vm.logged("on_log dropped status="), "the access-log phase ran at reset");
}

#[test]
fn poll_oneoff_answers_as_envoy_does_without_sleeping_or_moving_the_clock() {
    // One clock subscription (relative, 10 s) at 256 and one fd_read subscription on stdin at
    // 304, 48 bytes each; events go to 512, nevents to 1024 (preset to 7). The callback logs
    // '0' + errno, '0' + nevents, then '0' + the errno of a call whose nevents is out of
    // bounds.
    let wat = module(
        r#"(import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))"#,
        r#"(func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
             (i64.store (i32.const 256) (i64.const 1))
             (i32.store8 (i32.const 264) (i32.const 0))
             (i32.store (i32.const 272) (i32.const 1))
             (i64.store (i32.const 280) (i64.const 10000000000))
             (i64.store (i32.const 288) (i64.const 1000))
             (i32.store8 (i32.const 312) (i32.const 1))
             (i32.store (i32.const 320) (i32.const 0))
             (i32.store (i32.const 1024) (i32.const 7))
             (i32.store8 (i32.const 3000)
               (i32.add (i32.const 48) (call $poll (i32.const 256) (i32.const 512) (i32.const 2) (i32.const 1024))))
             (i32.store8 (i32.const 3001) (i32.add (i32.const 48) (i32.load (i32.const 1024))))
             (i32.store8 (i32.const 3002)
               (i32.add (i32.const 48) (call $poll (i32.const 256) (i32.const 512) (i32.const 1) (i32.const -8))))
             (drop (call $log (i32.const 2) (i32.const 3000) (i32.const 3)))
             (i32.const 0))"#,
    );
    let env = Env::with_manual_clock(Duration::from_secs(100));
    let vm = start(&wat, &env).unwrap();
    let started = std::time::Instant::now();
    let (_s, result) = get(&vm);
    assert_eq!(result.unwrap(), Action::Continue);
    assert!(started.elapsed() < Duration::from_secs(1), "poll_oneoff slept");
    assert_eq!(env.clock().now_nanos(), 100_000_000_000, "the manual clock moved");
    // Success, no event; EFAULT (21, 'E') for a bad nevents pointer.
    assert_eq!(vm.logs().last().map(|l| l.message.as_str()), Some("00E"));
}
