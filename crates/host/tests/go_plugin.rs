//! A plugin written in Go (crates/host/tests/go-fixture, built as Higress builds its Go
//! plugins) runs in the host through many garbage collections: Go's runtime sleeps with
//! WASI `poll_oneoff`, which the host answers as Envoy does. Needs `make go-venv`.

use higress_host::{testing, Stream, Vm};
use std::time::Instant;

const REQUESTS: usize = 100_000;

fn request(vm: &Vm, extra: &[(&str, &str)]) -> Stream {
    let stream = vm.stream();
    let mut headers = vec![(":authority", "go.example"), (":path", "/"), (":method", "GET")];
    headers.extend_from_slice(extra);
    let sent = stream.send_request_headers(headers, true);
    assert!(sent.is_ok(), "request headers: {sent:?}");
    let answered = stream.send_response_headers([(":status", "200")], true);
    assert!(answered.is_ok(), "response headers: {answered:?}");
    stream
}

fn gc_cycles(vm: &Vm) -> u64 {
    let stream = request(vm, &[("x-go-gc", "1")]);
    let cycles = stream.response().header("x-go-gc").map(str::to_string);
    cycles.and_then(|c| c.parse().ok()).unwrap_or_else(|| panic!("no x-go-gc header: {:?}", stream.response()))
}

#[test]
fn a_go_plugin_serves_100_000_requests_through_its_garbage_collections() {
    let vm = Vm::builder(&testing::go_plugin()).start().unwrap_or_else(|e| panic!("{e}"));
    assert!(vm.logged("go fixture: vm started"));
    let before = gc_cycles(&vm);
    let started = Instant::now();
    for i in 0..REQUESTS {
        let stream = request(&vm, &[]);
        // Request 1 was the GC probe; this one is the plugin's (i + 2)th.
        let expected = (i + 2).to_string();
        let got = stream.response().header("x-go-fixture").map(str::to_string);
        assert_eq!(got.as_deref(), Some(expected.as_str()), "request {i}: traps {:?}", stream.traps());
        assert!(stream.traps().is_empty(), "request {i}: {:?}", stream.traps());
    }
    let elapsed = started.elapsed();
    let cycles = gc_cycles(&vm) - before;
    assert!(!vm.is_failed(), "{:?}", vm.failure());
    eprintln!(
        "go fixture: {REQUESTS} requests, {cycles} GC cycles, {elapsed:?}, memory {} KiB",
        vm.memory_bytes() / 1024
    );
    assert!(cycles >= 100, "only {cycles} GC cycles: the fixture should force many");
}

#[test]
fn a_go_plugin_reads_request_headers_through_its_allocator() {
    let vm = Vm::builder(&testing::go_plugin()).start().unwrap_or_else(|e| panic!("{e}"));
    let stream = request(&vm, &[("x-go-echo", "hello from the host")]);
    assert_eq!(stream.response().header("x-go-echo"), Some("hello from the host"));
    assert_eq!(stream.response().header("x-go-fixture"), Some("1"));
}

#[test]
fn a_go_plugin_runs_its_garbage_collections_on_a_manual_clock() {
    // Time stands still: poll_oneoff must neither sleep nor wait for the clock to move.
    let env = higress_host::Env::with_manual_clock(std::time::Duration::from_secs(1_000));
    let vm = Vm::builder(&testing::go_plugin()).env(&env).start().unwrap_or_else(|e| panic!("{e}"));
    let before = gc_cycles(&vm);
    for i in 0..5_000 {
        let stream = request(&vm, &[]);
        assert!(stream.traps().is_empty(), "request {i}: {:?}", stream.traps());
    }
    assert!(gc_cycles(&vm) > before, "no GC ran");
    assert!(!vm.is_failed(), "{:?}", vm.failure());
}
