//! Host wall time per request through each plugin (accepted request), with criterion. The
//! modules run unmetered, as `hgw` runs them (instructions are counted by `higress-bench`).

use criterion::{criterion_group, criterion_main, Criterion};
use higress_bench::{scenarios, SkipBy};
use higress_host::{Filter, HeaderMap, RequestInfo, Stream, Vm};

fn requests(c: &mut Criterion) {
    let mut group = c.benchmark_group("request");
    for scenario in scenarios() {
        let plugin = scenario.load_unmetered();
        let vm = scenario.vm(&plugin);
        group.bench_function(scenario.plugin, |b| b.iter(|| scenario.accept(&vm)));
    }
    // A chain as the gateway runs it: four filters that let the request through untouched
    // (key-auth on a route it does not protect), request info set, the messages not kept,
    // a small response body. What each plugin on a route costs the host beyond its wasm.
    if let Some(scenario) = scenarios().into_iter().find(|s| s.plugin == "key-auth") {
        let plugin = scenario.load_unmetered();
        if let Some(vm) = scenario.skipping_vm(&plugin, SkipBy::Domain) {
            for filters in [1, 4] {
                group.bench_function(format!("chain of {filters} skipping"), |b| {
                    b.iter(|| gateway_request(&vm, filters))
                });
            }
        }
    }
    group.finish();
}

/// One request and its response through `filters` filters of `vm`, as `hgw` sends them.
fn gateway_request(vm: &Vm, filters: usize) {
    let stream = Stream::new((0..filters).map(|_| Filter::new(vm)));
    stream.keep_messages(false);
    let id = "5f0c6a1e9b2d4e7fa3c8b1d2e4f6a8c0";
    stream.set_request_info(RequestInfo {
        route: "public".into(),
        cluster: "outbound|80||echo.static".into(),
        source: std::net::SocketAddr::from(([127, 0, 0, 1], 40_000)),
        destination: std::net::SocketAddr::from(([127, 0, 0, 1], 8080)),
        request_id: id.into(),
    });
    let mut headers = HeaderMap::new();
    for (name, value) in [
        (":authority", "api.example.com"),
        (":path", "/public"),
        (":method", "GET"),
        (":scheme", "http"),
        ("x-request-id", id),
        ("x-forwarded-for", "127.0.0.1"),
        ("x-forwarded-proto", "http"),
    ] {
        headers.add(name.as_bytes(), value.as_bytes());
    }
    let passed = stream.send_request_headers(headers, true);
    assert!(matches!(passed, Ok(higress_host::Action::Continue)), "{passed:?}");
    assert_eq!(stream.take_upstream_events().len(), 1);
    let response = [(":status", "200"), ("content-type", "application/json"), ("content-length", "5")];
    let _ = stream.send_response_headers(response, false);
    let _ = stream.send_response_body(b"hello", true);
    assert_eq!(stream.take_downstream_events().len(), 2);
}

criterion_group!(benches, requests);
criterion_main!(benches);
