//! The traffic plugins (transformer, request-block, custom-response, cors, ip-restriction,
//! ext-auth) on typical requests: module size, instructions per request over every callback
//! (response included, and the root context's: ext-auth's callout answer runs there), and the
//! VM's memory after one and after many requests.

use crate::shipped_size;
use higress_host::testing::{self, request, Request};
use higress_host::{Env, HttpResponse, Stream, Vm};
use serde_json::{json, Value};

/// One measured request: the plugin, its config, and what a request does end to end.
struct Case {
    plugin: &'static str,
    what: String,
    config: Value,
    run: fn(&Vm) -> Stream,
}

impl Case {
    /// A started VM with the case's config, after one request: the first request warms what
    /// a VM builds once (caches, lazy tables), so the measured one is a typical one.
    fn vm(&self) -> Vm {
        let env = Env::new();
        let vm = Vm::builder(&testing::plugin(self.plugin))
            .env(&env)
            .config_json(&self.config)
            .start()
            .unwrap_or_else(|e| panic!("{}: {e}", self.plugin));
        let _ = (self.run)(&vm);
        vm
    }

    /// One request: its stream, and the instructions of every callback it cost in the VM -
    /// the stream's, and the root context's (a callout's answer is delivered there, so the
    /// stream does not count it).
    fn measure(&self, vm: &Vm) -> (Stream, u64) {
        let before = vm.instructions();
        let stream = (self.run)(vm);
        (stream, vm.instructions() - before)
    }
}

fn send_with_response(req: Request, vm: &Vm, status: &str, body: &str) -> Stream {
    let s = req.send(vm);
    assert!(s.upstream().headers.is_some(), "the request was denied: {:?}", s.local_response());
    let end = body.is_empty();
    s.send_response_headers([(":status", status), ("content-type", "application/json")], end)
        .unwrap_or_else(|e| panic!("{e}"));
    if !end {
        s.send_response_body(body, true).unwrap_or_else(|e| panic!("{e}"));
    }
    s
}

fn denied(req: Request, vm: &Vm) -> Stream {
    let s = req.send(vm);
    assert!(s.local_response().is_some(), "the request was not denied");
    s
}

/// A JSON object of about 1 KiB, as an API request body.
fn json_body() -> String {
    let items: Vec<Value> =
        (0..12).map(|i| json!({"id": i, "name": format!("item-{i}"), "tags": ["a", "b"], "price": 9.5})).collect();
    json!({"user": {"id": 42, "name": "bench"}, "items": items, "note": "hello"}).to_string()
}

/// 10,000 CIDRs, none of them covering 10.0.0.0/8 (where the allowed client is).
fn cidrs() -> Vec<String> {
    (0..10_000u32)
        .map(|i| {
            let n = 0x2000_0000u32 + i * 4096;
            format!("{}.{}.{}.0/20", n >> 24, (n >> 16) & 255, (n >> 8) & 255)
        })
        .collect()
}

fn cases() -> Vec<Case> {
    let block_urls: Vec<String> = (0..100).map(|i| format!("/blocked-{i:03}/")).collect();
    vec![
        Case {
            plugin: "transformer",
            what: "header rule (add a request header)".into(),
            config: json!({"reqRules": [{"operate": "add", "headers": [{"key": "x-added", "value": "1"}]}]}),
            run: |vm| send_with_response(request("GET", "api.example.com", "/orders"), vm, "200", ""),
        },
        Case {
            plugin: "transformer",
            what: "JSON body rule (1 KiB request body)".into(),
            config: json!({"reqRules": [{"operate": "replace", "body": [{"key": "note", "newValue": "changed"}]}]}),
            run: |vm| {
                let req = request("POST", "api.example.com", "/orders")
                    .header("content-type", "application/json")
                    .body(json_body());
                let s = send_with_response(req, vm, "200", "");
                assert!(s.upstream().body_text().contains("\"changed\""), "{}", s.upstream().body_text());
                s
            },
        },
        Case {
            plugin: "request-block",
            what: "100 URL rules, request passes".into(),
            config: json!({"block_urls": block_urls}),
            run: |vm| send_with_response(request("GET", "api.example.com", "/orders/17?page=2"), vm, "200", ""),
        },
        Case {
            plugin: "request-block",
            what: "100 URL rules, request blocked".into(),
            config: json!({"block_urls": block_urls}),
            run: |vm| denied(request("GET", "api.example.com", "/blocked-099/x"), vm),
        },
        Case {
            plugin: "custom-response",
            what: "rule on 404, upstream answers 200".into(),
            config: json!({"rules": [{"status_code": 200, "body": "{\"hello\":\"world\"}", "enable_on_status": ["404"]}]}),
            run: |vm| send_with_response(request("GET", "api.example.com", "/orders"), vm, "200", "{}"),
        },
        Case {
            plugin: "custom-response",
            what: "rule on 404, upstream answers 404 (replaced)".into(),
            config: json!({"rules": [{"status_code": 200, "body": "{\"hello\":\"world\"}", "enable_on_status": ["404"]}]}),
            run: |vm| {
                let s = send_with_response(request("GET", "api.example.com", "/orders"), vm, "404", "");
                assert_eq!(s.response().status(), Some(200));
                s
            },
        },
        Case {
            plugin: "cors",
            what: "preflight".into(),
            config: json!({"allow_origins": ["https://app.example.com"], "allow_methods": ["GET", "POST"],
                "allow_headers": ["content-type", "authorization"], "allow_credentials": true}),
            run: |vm| {
                let s = request("OPTIONS", "api.example.com", "/orders")
                    .header("origin", "https://app.example.com")
                    .header("access-control-request-method", "POST")
                    .header("access-control-request-headers", "content-type")
                    .send(vm);
                assert_eq!(s.response().status(), Some(204), "{:?}", s.response());
                s
            },
        },
        Case {
            plugin: "cors",
            what: "actual request".into(),
            config: json!({"allow_origins": ["https://app.example.com"], "allow_methods": ["GET", "POST"],
                "allow_headers": ["content-type", "authorization"], "allow_credentials": true}),
            run: |vm| {
                let req = request("GET", "api.example.com", "/orders").header("origin", "https://app.example.com");
                let s = send_with_response(req, vm, "200", "");
                assert_eq!(
                    s.response().header("access-control-allow-origin"),
                    Some("https://app.example.com"),
                    "{:?}",
                    s.response()
                );
                s
            },
        },
        Case {
            plugin: "ip-restriction",
            what: "10,000 CIDRs (deny), request passes".into(),
            config: json!({"ip_source_type": "origin-source", "deny": cidrs()}),
            run: |vm| {
                let req = request("GET", "api.example.com", "/orders").property("source.address", "10.1.2.3:40000");
                send_with_response(req, vm, "200", "")
            },
        },
        Case {
            plugin: "ip-restriction",
            what: "10,000 CIDRs (deny), request denied".into(),
            config: json!({"ip_source_type": "origin-source", "deny": cidrs()}),
            run: |vm| {
                let req = request("GET", "api.example.com", "/orders").property("source.address", "32.0.9.9:40000");
                denied(req, vm)
            },
        },
        Case {
            plugin: "ext-auth",
            what: "envoy mode, auth service allows".into(),
            config: json!({"http_service": {"endpoint_mode": "envoy",
                "endpoint": {"service_name": "auth.static", "service_port": 80, "path_prefix": "/auth"},
                "authorization_response": {"allowed_upstream_headers": [{"exact": "x-user"}]}}}),
            run: |vm| {
                let s = request("GET", "api.example.com", "/orders").header("authorization", "Bearer t").send(vm);
                let calls = vm.http_calls();
                let call = calls.last().unwrap_or_else(|| panic!("no callout"));
                vm.respond_http_call(call.token, HttpResponse::new(200, &[("x-user", "u1")], ""))
                    .unwrap_or_else(|e| panic!("{e}"));
                assert_eq!(s.upstream().header("x-user"), Some("u1"));
                s.send_response_headers([(":status", "200")], true).unwrap_or_else(|e| panic!("{e}"));
                s
            },
        },
    ]
}

/// Prints the table; `requests` requests per case for the memory column.
pub fn report(requests: usize) {
    println!();
    println!("| traffic plugin | request | .wasm bytes | instructions | memory after 1 | memory after {requests} |");
    println!("|---|---|---:|---:|---:|---:|");
    for case in cases() {
        let vm = case.vm();
        let (_, instructions) = case.measure(&vm);
        let first = vm.memory_bytes();
        for _ in 2..requests {
            let _ = (case.run)(&vm);
        }
        let last = vm.memory_bytes();
        println!(
            "| {} | {} | {} | {instructions} | {first} | {last} |",
            case.plugin,
            case.what,
            shipped_size(case.plugin)
        );
    }
}

/// Where each case's instructions go, callback by callback (`-- traffic calls`).
pub fn per_callback() {
    println!("| traffic plugin | request | callback | instructions |");
    println!("|---|---|---|---:|");
    for case in cases() {
        let vm = case.vm();
        let (stream, total) = case.measure(&vm);
        let calls = stream.calls();
        for call in &calls {
            println!("| {} | {} | {} | {} |", case.plugin, case.what, call.callback, call.instructions);
        }
        let root = total.saturating_sub(calls.iter().map(|c| c.instructions).sum());
        if root > 0 {
            println!("| {} | {} | root context (callout answers) | {root} |", case.plugin, case.what);
        }
    }
}
