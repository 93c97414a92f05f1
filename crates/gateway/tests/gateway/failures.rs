//! When things go wrong: a plugin traps (its VM rebuilt for the next request) or fails to
//! start (FAIL_OPEN / FAIL_CLOSE), asks for a fresh VM, the upstream is slow or gone, the
//! client disconnects mid-body.

use crate::{echo_routes, wasm_plugin, Gw};
use std::io::{Read, Write};
use std::time::Duration;

fn probe(name: &str, host: &str, strategy: &str, config: &str) -> String {
    let spec = format!("  failStrategy: {strategy}\n  defaultConfigDisable: true\n  matchRules: [{{domain: [{host}], config: {config}}}]\n");
    wasm_plugin(name, "sdk-probe", &spec)
}

#[test]
fn a_trap_fails_open_or_closed_as_configured() {
    let echo = higress_e2e::echo::spawn().to_string();
    let config = format!(
        "{}{}{}",
        echo_routes(&["open.test", "closed.test", "fine.test"]),
        probe("open", "open.test", "FAIL_OPEN", "{tag: open}"),
        probe("closed", "closed.test", "FAIL_CLOSE", "{tag: closed}")
    );
    let gw = Gw::start(&config, &echo, 1);

    let open = gw.client().get("open.test", "/").header("x-probe", "panic").send();
    assert_eq!(open.status, 200, "FAIL_OPEN skips the plugin that trapped: {}", open.text());
    let log = gw
        .wait_for(Gw::stderr, "plugin open failed, skipped it (FAIL_OPEN): plugin trapped in proxy_on_request_headers");
    assert!(log.contains("index out of bounds"), "the plugin's panic message is logged:\n{log}");
    // As on Higress, the next request gets a fresh VM: the plugin runs again.
    let next = gw.client().get("open.test", "/").send();
    assert_eq!(next.echo().header("x-probe-tag").as_deref(), Some("open"), "the plugin ran: {}", next.text());
    gw.wait_for(Gw::stderr, "hgw: plugin open: VM rebuilt after trap");
    assert_eq!(gw.client().get("fine.test", "/").send().status, 200);

    let closed = gw.client().get("closed.test", "/").header("x-probe", "panic").send();
    assert_eq!(closed.status, 503, "FAIL_CLOSE answers 503: {}", closed.text());
    gw.wait_for(Gw::stderr, "plugin closed failed, answered 503 (FAIL_CLOSE)");
    for host in ["closed.test", "fine.test", "open.test"] {
        assert_eq!(gw.client().get(host, "/").send().status, 200, "{host}: a fresh VM serves it");
    }
    gw.wait_for(Gw::stderr, "hgw: plugin closed: VM rebuilt after trap");
    let stats = higress_e2e::client::Gateway::new(&gw.admin).get("admin", "/stats/prometheus").send().text();
    assert!(stats.contains("hgw_wasm_vm_rebuilds_total{plugin=\"closed\",cause=\"trap\"} 1"), "{stats}");
}

#[test]
fn a_plugin_that_sets_wasm_need_rebuild_gets_a_fresh_vm_for_the_next_request() {
    let echo = higress_e2e::echo::spawn().to_string();
    let config = format!("{}{}", echo_routes(&["a.test"]), probe("p", "a.test", "FAIL_CLOSE", "{tag: t}"));
    let gw = Gw::start(&config, &echo, 1);
    let count = |action: &str| {
        let reply = gw.client().get("a.test", "/").header("x-probe", action).send();
        assert_eq!(reply.status, 200, "{}", reply.text());
        reply.echo().header("x-vm-requests")
    };
    assert_eq!(count("vm-count").as_deref(), Some("1"));
    assert_eq!(count("rebuild").as_deref(), Some("2"), "the request that asks runs on the old VM");
    assert_eq!(count("vm-count").as_deref(), Some("1"), "the next one on a fresh VM");
    assert_eq!(count("vm-count").as_deref(), Some("2"));
    let log = gw.wait_for(Gw::stderr, "hgw: plugin p: VM rebuilt on request (wasm_need_rebuild)");
    assert_eq!(log.matches("VM rebuilt").count(), 1, "{log}");
    let stats = higress_e2e::client::Gateway::new(&gw.admin).get("admin", "/stats/prometheus").send().text();
    assert!(stats.contains("hgw_wasm_vm_rebuilds_total{plugin=\"p\",cause=\"requested\"} 1"), "{stats}");
}

#[test]
fn a_plugin_that_fails_to_start_is_skipped_or_refuses_everything() {
    let echo = higress_e2e::echo::spawn().to_string();
    let open = format!("{}{}", echo_routes(&["a.test"]), probe("bad-open", "a.test", "FAIL_OPEN", "{limit: -1}"));
    let gw = Gw::start(&open, &echo, 2);
    assert_eq!(gw.client().get("a.test", "/").send().status, 200);
    let log = gw.wait_for(Gw::stderr, "failed to start");
    assert!(log.contains("plugin bad-open failed to start, skipped (FAIL_OPEN)"), "{log}");
    assert!(log.contains("limit: must be positive"), "{log}");
    drop(gw);

    let closed = format!("{}{}", echo_routes(&["a.test"]), probe("bad-closed", "a.test", "FAIL_CLOSE", "{limit: -1}"));
    let gw = Gw::start(&closed, &echo, 2);
    assert_eq!(gw.client().get("a.test", "/").send().status, 503);
    let log = gw.wait_for(Gw::stderr, "refused");
    assert!(log.contains("plugin bad-closed failed to start (FAIL_CLOSE)"), "{log}");
    assert!(log.contains("limit: must be positive"), "{log}");
}

#[test]
fn a_slow_upstream_gets_504_and_a_missing_one_503() {
    let echo = higress_e2e::echo::spawn().to_string();
    let dead = format!("127.0.0.1:{}", higress_host::testing::free_port());
    let config = format!(
        "kind: Service\nname: echo.static\nport: 80\naddress: {{echo}}\n---\nkind: Service\nname: dead.static\nport: 80\naddress: {dead}\n\
         ---\nkind: Route\nname: slow\ndomains: [slow.test]\nservice: echo.static\ntimeout_ms: 300\n\
         ---\nkind: Route\nname: dead\ndomains: [dead.test]\nservice: dead.static\n{}",
        probe("p", "slow.test", "FAIL_CLOSE", "{tag: t}")
    );
    let gw = Gw::start(&config, &echo, 1);
    let slow = gw.client().get("slow.test", "/slow/5000").send();
    assert_eq!(slow.status, 504);
    assert_eq!(slow.text(), "upstream request timeout");
    // Within the timeout all is well.
    assert_eq!(gw.client().get("slow.test", "/slow/10").send().status, 200);
    let dead = gw.client().get("dead.test", "/").send();
    assert_eq!(dead.status, 503);
    assert!(dead.text().starts_with("upstream connect error or disconnect/reset before headers"), "{}", dead.text());
    let log = gw.wait_for(Gw::access_log, "/slow/10");
    assert!(log.contains("\"GET /slow/5000\" 504 route=slow"), "{log}");
}

#[test]
fn a_client_that_disconnects_mid_body_leaves_the_gateway_serving() {
    let echo = higress_e2e::echo::spawn().to_string();
    // hello-world holds the request headers until the body is complete.
    let config = echo_routes(&["upload.test"])
        + &wasm_plugin("hello", "hello-world", "  defaultConfig: {count_request_body: true}\n");
    let gw = Gw::start(&config, &echo, 1);
    for path in ["/gone-1", "/gone-2"] {
        let mut socket = std::net::TcpStream::connect(&gw.address).unwrap_or_else(|e| panic!("{e}"));
        let head = format!("POST {path} HTTP/1.1\r\nhost: upload.test\r\ncontent-length: 1000000\r\n\r\n");
        socket.write_all(head.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        socket.write_all(&[b'a'; 4096]).unwrap_or_else(|e| panic!("{e}"));
        socket.flush().unwrap_or_else(|e| panic!("{e}"));
        drop(socket);
    }
    // Both are logged as abandoned (status 0, as Envoy logs them) ...
    let log = gw.wait_for(Gw::access_log, "/gone-2");
    let log = if log.contains("/gone-1") { log } else { gw.wait_for(Gw::access_log, "/gone-1") };
    assert!(log.contains("\"POST /gone-1\" 0 "), "{log}");
    assert!(log.contains("\"POST /gone-2\" 0 "), "{log}");
    // ... and the plugin and the gateway go on.
    let reply = gw.client().post("upload.test", "/after", "complete body").send();
    assert_eq!(reply.status, 200);
    assert_eq!(reply.echo().header("x-request-body-bytes").as_deref(), Some("13"));

    // A client that leaves while the response streams.
    let mut socket = std::net::TcpStream::connect(&gw.address).unwrap_or_else(|e| panic!("{e}"));
    socket.write_all(b"GET /sse/3?gate=never HTTP/1.1\r\nhost: upload.test\r\n\r\n").unwrap_or_else(|e| panic!("{e}"));
    socket.set_read_timeout(Some(Duration::from_secs(30))).unwrap_or_else(|e| panic!("{e}"));
    let mut first = [0u8; 64];
    let n = socket.read(&mut first).unwrap_or_else(|e| panic!("{e}"));
    assert!(String::from_utf8_lossy(&first[..n]).starts_with("HTTP/1.1 200"));
    drop(socket);
    let log = gw.wait_for(Gw::access_log, "/sse/3?gate=never");
    assert!(log.contains("\"GET /sse/3?gate=never\" 200 "), "{log}");
    assert_eq!(gw.client().get("upload.test", "/").send().status, 200);
}

/// A Redis stand-in that accepts connections and never answers; notes when each was opened.
fn hung_redis() -> (String, std::sync::Arc<std::sync::Mutex<Vec<std::time::Instant>>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let opened = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = opened.clone();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            record.lock().unwrap().push(std::time::Instant::now());
            held.push(stream);
        }
    });
    (address, opened)
}

fn with_redis(address: &str, hosts: &[&str], plugins: &str) -> String {
    format!("{}---\nkind: Service\nname: redis.static\nport: 6379\naddress: {address}\n{plugins}", echo_routes(hosts))
}

#[test]
fn a_request_paused_on_a_callout_is_answered_when_the_callback_traps() {
    let echo = higress_e2e::echo::spawn().to_string();
    let redis = higress_host::testing::RedisServer::start();
    let redis_config = "{tag: t, redis: {service_name: redis.static, service_port: 6379, timeout: 500}}";
    let config = with_redis(
        &redis.address(),
        &["open.test", "closed.test"],
        &(probe("open", "open.test", "FAIL_OPEN", redis_config)
            + &probe("closed", "closed.test", "FAIL_CLOSE", redis_config)),
    );
    let gw = Gw::start(&config, &echo, 1);
    let call = |host: &str| {
        gw.client()
            .get(host, "/")
            .header("x-probe", "redis")
            .header("x-redis-op", "get")
            .header("x-redis-args", "k")
            .header("x-redis-panic", "1")
            .send()
    };
    let started = std::time::Instant::now();
    let open = call("open.test");
    assert_eq!(open.status, 200, "FAIL_OPEN lets the paused request go on: {}", open.text());
    let closed = call("closed.test");
    assert_eq!(closed.status, 503, "FAIL_CLOSE answers it: {}", closed.text());
    assert!(started.elapsed() < Duration::from_secs(5), "answered, not left hanging");
    gw.wait_for(Gw::stderr, "plugin closed failed, answered 503 (FAIL_CLOSE)");
}

#[test]
fn queued_redis_calls_each_end_within_their_own_timeout() {
    // A Redis that never answers: ten requests at once each wait for one call with a 300 ms
    // timeout. Calls to one Redis take turns on its connection, but the wait for the turn
    // counts against the timeout: every request is answered in about 300 ms, not 10 x 300.
    let echo = higress_e2e::echo::spawn().to_string();
    let (redis, opened) = hung_redis();
    let config = with_redis(
        &redis,
        &["r.test"],
        &probe(
            "p",
            "r.test",
            "FAIL_CLOSE",
            "{tag: t, redis: {service_name: redis.static, service_port: 6379, timeout: 300}}",
        ),
    );
    let gw = Gw::start(&config, &echo, 1);
    let client = gw.client();
    let started = std::time::Instant::now();
    let threads: Vec<_> = (0..10)
        .map(|_| {
            let client = client.clone();
            std::thread::spawn(move || {
                let reply = client
                    .get("r.test", "/")
                    .header("x-probe", "redis")
                    .header("x-redis-op", "get")
                    .header("x-redis-args", "k")
                    .send();
                (reply.status, reply.echo().header("x-redis-reply"))
            })
        })
        .collect();
    for t in threads {
        let (status, reply) = t.join().unwrap();
        assert_eq!(status, 200);
        assert!(reply.as_deref().is_some_and(|r| r.contains("network")), "{reply:?}");
    }
    assert!(started.elapsed() < Duration::from_millis(2_500), "took {:?}", started.elapsed());
    // A call whose time ran out while it waited for its turn is never sent: no command
    // reaches Redis after the requests were answered (each would need a new connection).
    let answered = std::time::Instant::now();
    std::thread::sleep(Duration::from_millis(1_500));
    let late = opened.lock().unwrap().iter().filter(|t| **t > answered + Duration::from_millis(50)).count();
    assert_eq!(late, 0, "calls were sent after their requests were answered");
}

#[test]
fn a_failed_rebuild_refuses_requests_until_a_retry_a_second_later_works() {
    let echo = higress_e2e::echo::spawn().to_string();
    let dir = crate::temp_dir();
    let module = dir.join("flaky.wat");
    let flaky = higress_host::testing::wat::flaky(higress_host::testing::wat::TRAPS);
    std::fs::write(&module, flaky).unwrap_or_else(|e| panic!("{e}"));
    let config = format!(
        "{}---\napiVersion: extensions.higress.io/v1alpha1\nkind: WasmPlugin\nmetadata: {{name: flaky}}\n\
         spec:\n  url: file://{}\n  failStrategy: FAIL_CLOSE\n  defaultConfig: {{}}\n",
        echo_routes(&["a.test"]),
        module.display()
    );
    let gw = Gw::start(&config, &echo, 1);
    let status = || gw.client().get("a.test", "/").send().status;
    assert_eq!(status(), 503, "the plugin traps");
    // The rebuild fails: no VM, FAIL_CLOSE refuses, and no new attempt within a second.
    assert_eq!(status(), 503);
    assert_eq!(status(), 503);
    let log = gw.wait_for(Gw::stderr, "refused: plugin flaky VM rebuild after trap failed");
    assert_eq!(log.matches("hgw: plugin flaky: VM rebuild after trap failed").count(), 1, "{log}");
    std::thread::sleep(Duration::from_millis(1100));
    // The retry starts a VM (which traps on this request again: 503 still).
    assert_eq!(status(), 503);
    gw.wait_for(Gw::stderr, "hgw: plugin flaky: VM rebuilt after trap");
}
