use higress_bench::scenarios;
use higress_host::{Filter, HeaderMap, Metering, Plugin, RequestInfo, Stream, Vm};

fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(200_000);
    let filters: usize = std::env::args().nth(2).and_then(|a| a.parse().ok()).unwrap_or(16);
    let scenario = scenarios().into_iter().find(|s| s.plugin == "key-auth").unwrap();
    let plugin = Plugin::load_with("dist/key-auth/plugin.wasm", Metering::Off).unwrap();
    let vms: Vec<Vm> = (0..filters).map(|_| scenario.skipping_vm(&plugin).unwrap()).collect();
    let thrash: usize = std::env::var("THRASH").ok().and_then(|v| v.parse().ok()).unwrap_or(0);
    let mut buf = vec![0u8; thrash.max(1)];
    let mut tt = std::time::Duration::ZERO;
    let t = std::time::Instant::now();
    for i in 0..n {
        if thrash > 0 {
            let t0 = std::time::Instant::now();
            for j in (0..thrash).step_by(64) { buf[j] = buf[j].wrapping_add(i as u8); }
            tt += t0.elapsed();
        }
        gateway_request(&vms);
    }
    let t = t + tt;
    std::hint::black_box(&buf);
    let e = t.elapsed();
    println!("{:.2} us/request, {:.3} us/filter", e.as_secs_f64() * 1e6 / n as f64, e.as_secs_f64() * 1e6 / n as f64 / filters as f64);
}

fn gateway_request(vms: &[Vm]) {
    let stream = Stream::new(vms.iter().map(Filter::new));
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
