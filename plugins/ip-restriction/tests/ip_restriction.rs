//! ip-restriction on the compiled `.wasm`: Higress's conformance cases and Go unit tests,
//! the fixes (deny mode lets an unreadable address through; `ip-restriction.*` details),
//! config errors, hostile input, lookup cost with 10,000 ranges, and random input.
// Helpers outside #[test] functions may panic too: a failing test should fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use higress_host::testing::{self, request};
use higress_host::{Stream, Vm};
use ipnet::IpNet;
use proptest::prelude::*;
use serde_json::{json, Value};
use std::net::IpAddr;

const BLOCKED: &str = "Your IP address is blocked.";

fn vm(config: Value) -> Vm {
    testing::vm("ip-restriction", &config)
}

/// A request from `ip` in header `name`.
fn from_header(vm: &Vm, name: &str, ip: &str) -> Stream {
    request("GET", "foo.com", "/info").header(name, ip).send(vm)
}

/// A request whose connection comes from `address` (`source.address`).
fn from_peer(vm: &Vm, address: &str) -> Stream {
    request("GET", "foo.com", "/info").property("source.address", address).send(vm)
}

/// The request reached the upstream untouched and nothing answered it.
fn assert_passed(s: &Stream) {
    assert!(s.local_response().is_none(), "refused: {:?}", s.local_response());
    let up = s.upstream();
    assert!(up.headers.is_some() && up.end_of_stream, "the request did not reach the upstream");
}

/// Refused with `status`, `{"message": message}` and details `ip-restriction.<reason>`.
fn assert_refused(s: &Stream, status: u16, message: &str, reason: &str) {
    let reply = s.local_response().expect("a local reply");
    assert_eq!(reply.details, format!("ip-restriction.{reason}"));
    let response = s.response();
    assert_eq!(response.status(), Some(status));
    let body: Value = serde_json::from_slice(&response.body).unwrap();
    assert_eq!(body, json!({ "message": message }));
    assert!(s.upstream().headers.is_none(), "a refused request must not reach the upstream");
}

/// The WasmPlugins of Higress's e2e conformance tests (go-wasm-ip-restriction-*.yaml).
#[test]
fn conformance_allow() {
    let vm =
        vm(json!({"ip_source_type": "header", "ip_header_name": "x-real-ip", "allow": ["192.168.0.1/16", "10.0.0.1"]}));
    assert_passed(&from_header(&vm, "X-REAL-IP", "10.0.0.1"));
    assert_refused(&from_header(&vm, "X-REAL-IP", "10.0.0.2"), 403, BLOCKED, "ip_not_allowed");
    assert_passed(&from_header(&vm, "X-REAL-IP", "192.168.5.0"));
    assert_refused(&from_header(&vm, "X-REAL-IP", "192.169.5.0"), 403, BLOCKED, "ip_not_allowed");
}

#[test]
fn conformance_deny() {
    let vm =
        vm(json!({"ip_source_type": "header", "ip_header_name": "x-real-ip", "deny": ["192.168.0.1/16", "10.0.0.1"]}));
    assert_refused(&from_header(&vm, "X-REAL-IP", "10.0.0.1"), 403, BLOCKED, "ip_denied");
    assert_passed(&from_header(&vm, "X-REAL-IP", "10.0.0.2"));
    assert_refused(&from_header(&vm, "X-REAL-IP", "192.168.5.0"), 403, BLOCKED, "ip_denied");
    assert_passed(&from_header(&vm, "X-REAL-IP", "192.169.5.0"));
}

/// Go's main_test.go: the allow list on the connection's peer.
#[test]
fn allow_list_on_the_peer_address() {
    let vm = vm(json!({
        "ip_source_type": "origin-source",
        "allow": ["192.168.1.0/24", "10.0.0.1"],
        "status": 403,
        "message": "Access denied"
    }));
    assert_passed(&from_peer(&vm, "192.168.1.100:8080"));
    assert_passed(&from_peer(&vm, "10.0.0.1:1"));
    assert_refused(&from_peer(&vm, "192.168.2.100:8080"), 403, "Access denied", "ip_not_allowed");
    assert_refused(&from_peer(&vm, "[2001:db8::1]:8080"), 403, "Access denied", "ip_not_allowed");
    assert_refused(&from_peer(&vm, "invalid-ip:8080"), 403, "Access denied", "get_ip_failed");
    // No peer address at all: nothing to allow.
    assert_refused(&request("GET", "foo.com", "/").send(&vm), 403, "Access denied", "get_ip_failed");
    // A header is not the source here, however it looks.
    let s =
        request("GET", "foo.com", "/").property("source.address", "8.8.8.8:1").header("x-forwarded-for", "10.0.0.1");
    assert_refused(&s.send(&vm), 403, "Access denied", "ip_not_allowed");
}

/// Go's main_test.go: the deny list on a header, with its own status and message.
#[test]
fn deny_list_on_a_header() {
    let vm = vm(json!({
        "ip_source_type": "header",
        "ip_header_name": "X-Real-IP",
        "deny": ["192.168.2.0/24", "10.0.0.2"],
        "status": 429,
        "message": "IP blocked"
    }));
    assert_refused(&from_header(&vm, "x-real-ip", "192.168.2.100"), 429, "IP blocked", "ip_denied");
    assert_passed(&from_header(&vm, "x-real-ip", "192.168.3.100"));
    // The first address of a list counts.
    assert_passed(&from_header(&vm, "x-real-ip", "192.168.3.100, 10.0.0.2, 172.16.0.1"));
    assert_refused(&from_header(&vm, "x-real-ip", "10.0.0.2, 192.168.3.100"), 429, "IP blocked", "ip_denied");
}

#[test]
fn defaults() {
    // origin-source, status 403, Higress's message.
    let vm = vm(json!({"allow": ["127.0.0.1"]}));
    assert_passed(&from_peer(&vm, "127.0.0.1:5000"));
    assert_refused(&from_peer(&vm, "8.8.8.8:1234"), 403, BLOCKED, "ip_not_allowed");
    // `header` reads X-Forwarded-For by default; empty values and Go's status 0/1 mean the defaults.
    let vm = testing::vm(
        "ip-restriction",
        &json!({"ip_source_type": "header", "ip_header_name": "", "deny": ["10.0.0.0/8"], "status": 1, "message": ""}),
    );
    assert_refused(&from_header(&vm, "X-Forwarded-For", "10.1.2.3, 127.0.0.1"), 403, BLOCKED, "ip_denied");
    assert_passed(&from_header(&vm, "X-Forwarded-For", "127.0.0.1, 10.1.2.3"));
    assert_passed(&from_header(&vm, "X-Real-IP", "10.1.2.3"));
}

/// The fix: Go refused a request whose address it could not read even with a deny list.
#[test]
fn an_unreadable_address_passes_a_deny_list_and_fails_an_allow_list() {
    let deny = vm(json!({"ip_source_type": "header", "ip_header_name": "X-Real-IP", "deny": ["10.0.0.1"]}));
    let allow = vm(json!({"ip_source_type": "header", "ip_header_name": "X-Real-IP", "allow": ["10.0.0.1"]}));
    for value in [None, Some(""), Some("unknown"), Some("10.0.0.1.5"), Some("not an ip, 10.0.0.1")] {
        let send = |vm: &Vm| match value {
            Some(v) => from_header(vm, "x-real-ip", v),
            None => request("GET", "foo.com", "/").send(vm),
        };
        assert_passed(&send(&deny));
        assert_refused(&send(&allow), 403, BLOCKED, "get_ip_failed");
    }
    let deny_peer = vm(json!({"deny": ["10.0.0.1"]}));
    assert_passed(&request("GET", "foo.com", "/").send(&deny_peer));
    assert_passed(&from_peer(&deny_peer, "garbage"));
}

#[test]
fn ports_brackets_zones_and_mapped_addresses() {
    let vm = vm(
        json!({"ip_source_type": "header", "ip_header_name": "x-real-ip", "deny": ["10.0.0.1", "fe80::/10", "2001:db8::1"]}),
    );
    for denied in [
        "10.0.0.1:8080",
        " 10.0.0.1 ",
        "[2001:db8::1]:443",
        "[2001:db8::1]",
        "2001:db8::1",
        "2001:DB8:0:0:0:0:0:1",
        "fe80::1%eth0",
        "[fe80::14d5:8aff:fed9:2114%25en0]:123",
        "::ffff:10.0.0.1",
        "[::ffff:10.0.0.1]:80",
    ] {
        assert_refused(&from_header(&vm, "x-real-ip", denied), 403, BLOCKED, "ip_denied");
    }
    // Not the configured addresses, or not addresses (then a deny list lets them through).
    for passed in
        ["10.0.0.10", "10.0.0.1:99999", "10.0.0.1:x", "[2001:db8::1", "2001:db8::2", "[10.0.0.1]", "0x0a000001"]
    {
        assert_passed(&from_header(&vm, "x-real-ip", passed));
    }
    // Peer addresses come as `ip:port` and `[ip]:port`.
    let vm = testing::vm("ip-restriction", &json!({"allow": ["::1", "127.0.0.0/8"]}));
    assert_passed(&from_peer(&vm, "[::1]:40000"));
    assert_passed(&from_peer(&vm, "127.9.9.9:40000"));
    assert_refused(&from_peer(&vm, "[::2]:40000"), 403, BLOCKED, "ip_not_allowed");
}

#[test]
fn hostile_header_values() {
    let vm = vm(json!({"ip_source_type": "header", "deny": ["10.0.0.1"]}));
    // Not UTF-8: unreadable, so the deny list lets it through.
    let s = request("GET", "foo.com", "/").header_bytes("x-forwarded-for", b"10.0.0.1\xff").send(&vm);
    assert_passed(&s);
    let s = request("GET", "foo.com", "/")
        .without(":path")
        .header_bytes(":path", b"/\xff\xfe?a=\x80")
        .header_bytes("x-forwarded-for", b"\xc3\x28, 10.0.0.1")
        .send(&vm);
    assert_passed(&s);
    // A 60 KiB list: the first address decides.
    let long = format!("10.0.0.1,{}", "192.168.0.1, ".repeat(5_000));
    assert_refused(&from_header(&vm, "x-forwarded-for", &long), 403, BLOCKED, "ip_denied");
    let long = format!("10.0.0.2,{}", "10.0.0.1, ".repeat(6_000));
    assert_passed(&from_header(&vm, "x-forwarded-for", &long));
    let long = "1".repeat(60_000);
    assert_passed(&from_header(&vm, "x-forwarded-for", &long));
    // A request with a body passes whole.
    let s = request("POST", "foo.com", "/").header("x-forwarded-for", "10.0.0.2").body(vec![0xffu8; 100_000]).send(&vm);
    assert_passed(&s);
    assert_eq!(s.upstream().body.len(), 100_000);
    assert!(!vm.is_failed());
}

#[test]
fn a_refusal_carries_json_with_the_message_escaped() {
    let vm = vm(json!({"deny": ["10.0.0.1"], "message": "say \"no\" <here> & \\ there\n", "status": 451}));
    let s = from_peer(&vm, "10.0.0.1:1");
    assert_refused(&s, 451, "say \"no\" <here> & \\ there\n", "ip_denied");
}

#[test]
fn rules_pick_the_list_per_domain() {
    let vm = vm(json!({
        "deny": ["10.0.0.1"],
        "_rules_": [
            {"_match_domain_": ["admin.com"], "allow": ["10.0.0.1"], "status": 401},
            {"_match_route_": ["open"], "deny": ["192.0.2.0/24"]}
        ]
    }));
    let send = |host: &str, route: &str| {
        request("GET", host, "/").route(route).property("source.address", "10.0.0.1:5").send(&vm)
    };
    assert_refused(&send("foo.com", "x"), 403, BLOCKED, "ip_denied");
    assert_passed(&send("admin.com", "x"));
    assert_passed(&send("foo.com", "open"));
    let s = request("GET", "admin.com", "/").property("source.address", "10.0.0.2:5").send(&vm);
    assert_refused(&s, 401, BLOCKED, "ip_not_allowed");
}

#[test]
fn repeated_and_overlapping_entries_are_accepted() {
    let vm = vm(json!({"allow": ["10.0.0.1", "10.0.0.1", "10.0.0.0/8", " 10.1.0.0/16 "]}));
    assert_passed(&from_peer(&vm, "10.200.0.1:1"));
    assert_refused(&from_peer(&vm, "11.0.0.1:1"), 403, BLOCKED, "ip_not_allowed");
}

#[test]
fn config_errors_name_the_field() {
    let plugin = testing::plugin("ip-restriction");
    let cases = [
        (json!({}), "allow: one of allow and deny must list addresses"),
        (json!({"allow": [], "deny": []}), "allow: one of allow and deny must list addresses"),
        (json!({"ip_source_type": "origin-source"}), "allow: one of allow and deny must list addresses"),
        (
            json!({"allow": ["127.0.0.1"], "deny": ["192.168.1.1"]}),
            "deny: allow and deny cannot be set at the same time",
        ),
        (json!({"allow": ["10.0.0.1", "not-an-ip"]}), "allow[1]: \"not-an-ip\" is not an IP address or CIDR range"),
        (json!({"deny": ["10.0.0.0/33"]}), "deny[0]: \"10.0.0.0/33\" is not an IP address or CIDR range"),
        (json!({"deny": ["::/0", "2001:db8::/129"]}), "deny[1]: \"2001:db8::/129\" is not an IP address"),
        (json!({"deny": ["10.0.0.0/8", "10.0.0.0/"]}), "deny[1]: \"10.0.0.0/\" is not an IP address"),
        (json!({"deny": ["example.com"]}), "deny[0]: \"example.com\" is not an IP address"),
        (json!({"deny": [""]}), "deny[0]: \"\" is not an IP address"),
        (json!({"deny": [5]}), "deny[0]: invalid type: integer `5`, expected a string"),
        (json!({"deny": "10.0.0.1"}), "deny: invalid type: string \"10.0.0.1\", expected a sequence"),
        (
            json!({"deny": ["10.0.0.1"], "ip_source_type": "headers"}),
            "ip_source_type: must be `origin-source` or `header`, not \"headers\"",
        ),
        (json!({"deny": ["10.0.0.1"], "status": 99}), "status: must be an HTTP status (100-599)"),
        (json!({"deny": ["10.0.0.1"], "status": 600}), "status: must be an HTTP status (100-599)"),
        (json!({"deny": ["10.0.0.1"], "status": -1}), "status: invalid value: integer `-1`"),
        (json!({"deny": ["10.0.0.1"], "status": "403"}), "status: invalid type: string \"403\""),
        (json!({"deny": ["10.0.0.1"], "message": 5}), "message: invalid type: integer `5`"),
        (
            json!({"deny": ["10.0.0.1"], "_rules_": [{"_match_domain_": ["a.com"], "allow": ["x"]}]}),
            "_rules_[0].allow[0]: \"x\" is not an IP address",
        ),
    ];
    for (config, expected) in cases {
        let line = testing::config_error(&plugin, &config);
        assert!(line.contains(&format!("ip-restriction config error: {expected}")), "{line}\n  expected: {expected}");
    }
}

/// 10,000 ranges cost a lookup no more than a few: the list is searched, not scanned.
#[test]
fn ten_thousand_ranges_are_cheap_per_request() {
    let ranges = |n: u32| -> Vec<String> {
        (0..n).map(|i| format!("{}.{}.{}.0/24", 10 + i / 65_536 % 200, i / 256 % 256, i % 256)).collect()
    };
    let cost = |n: u32| {
        let vm = vm(json!({"ip_source_type": "header", "deny": ranges(n)}));
        // Warm up, then the median of a few requests that pass (an address in no range).
        from_header(&vm, "x-forwarded-for", "9.9.9.9");
        let mut costs: Vec<u64> =
            (0..5).map(|_| from_header(&vm, "x-forwarded-for", "9.9.9.9").instructions()).collect();
        costs.sort_unstable();
        let denied = from_header(&vm, "x-forwarded-for", &format!("10.{}.{}.7", (n - 1) / 256 % 256, (n - 1) % 256));
        assert_refused(&denied, 403, BLOCKED, "ip_denied");
        costs[2]
    };
    let (few, many) = (cost(10), cost(10_000));
    eprintln!("instructions per request: 10 ranges {few}, 10,000 ranges {many}");
    assert!(many < few + 2_000, "10 ranges: {few} instructions per request, 10,000 ranges: {many}");
}

fn shared_vm() -> Vm {
    thread_local! {
        static VM: Vm = vm(json!({
            "ip_source_type": "header",
            "ip_header_name": "x-real-ip",
            "allow": ["192.168.0.0/16", "10.0.0.1", "2001:db8::/32"]
        }));
    }
    VM.with(Vm::clone)
}

/// An address as a client could write it, some of them in the allow list above.
fn address_text() -> impl Strategy<Value = String> {
    prop_oneof![
        (any::<[u8; 4]>(), proptest::option::of(any::<u16>())).prop_map(|(ip, port)| {
            let ip = std::net::Ipv4Addr::from(ip);
            port.map_or(ip.to_string(), |p| format!("{ip}:{p}"))
        }),
        (0u8..=255, 0u8..=255).prop_map(|(a, b)| format!("192.168.{a}.{b}")),
        Just("10.0.0.1".to_string()),
        any::<u64>().prop_map(|low| format!("[2001:db8::{:x}]:80", low & 0xffff)),
        "[ -~]{0,40}",
    ]
}

/// What the plugin must answer for an X-Real-IP value, from an independent model: the first
/// comma-separated item, trimmed, with a port or brackets, must be an allowed address.
fn expected_pass(value: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(value) else { return false };
    let first = text.split(',').next().unwrap_or_default().trim();
    let ip = first
        .parse::<IpAddr>()
        .ok()
        .or_else(|| first.parse::<std::net::SocketAddr>().ok().map(|a| a.ip()))
        .or_else(|| first.strip_prefix('[').and_then(|t| t.strip_suffix(']')).and_then(|t| t.parse().ok()));
    let Some(ip) = ip.map(|ip| ip.to_canonical()) else { return false };
    ["192.168.0.0/16", "10.0.0.1/32", "2001:db8::/32"].iter().any(|n| n.parse::<IpNet>().unwrap().contains(&ip))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]
    /// Random header values (addresses, text, raw bytes) and other headers get the answer the
    /// model predicts, and never break the VM.
    #[test]
    fn random_requests_keep_the_vm_serving(
        value in prop_oneof![address_text().prop_map(String::into_bytes), proptest::collection::vec(any::<u8>(), 0..64)],
        noise in proptest::collection::vec(("[a-z-]{1,12}", proptest::collection::vec(any::<u8>(), 0..32)), 0..4),
        path in proptest::collection::vec(any::<u8>(), 0..32),
    ) {
        let vm = shared_vm();
        let mut path_bytes = b"/".to_vec();
        path_bytes.extend(path.iter().filter(|b| !b.is_ascii_control()));
        let mut req = request("GET", "foo.com", &String::from_utf8_lossy(&path_bytes)).header_bytes("x-real-ip", &value);
        for (name, v) in &noise {
            if name != "x-real-ip" {
                req = req.header_bytes(name, v);
            }
        }
        let s = req.send(&vm);
        if expected_pass(&value) {
            assert_passed(&s);
        } else {
            let details = s.local_response().map(|r| r.details).unwrap_or_default();
            prop_assert!(
                details == "ip-restriction.ip_not_allowed" || details == "ip-restriction.get_ip_failed",
                "{:?} -> {:?}", String::from_utf8_lossy(&value), details
            );
            prop_assert_eq!(s.response().status(), Some(403));
        }
        prop_assert!(!vm.is_failed());
        assert_passed(&from_header(&vm, "x-real-ip", "10.0.0.1"));
    }
}

fn network() -> impl Strategy<Value = IpNet> {
    let v4 = (0u32..4, any::<u32>(), 0u8..=32).prop_map(|(high, low, prefix)| {
        IpNet::V4(ipnet::Ipv4Net::new(((high << 30) | (low >> 2)).into(), prefix).unwrap())
    });
    let v6 = (1u128..4, any::<u128>(), 0u8..=128).prop_map(|(high, low, prefix)| {
        IpNet::V6(ipnet::Ipv6Net::new(((high << 126) | (low >> 2)).into(), prefix).unwrap())
    });
    prop_oneof![3 => v4, 1 => v6]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]
    /// The module's answers over a random deny list agree with a scan of every network.
    #[test]
    fn the_module_agrees_with_a_linear_scan(
        nets in proptest::collection::vec(network(), 1..60),
        probes in proptest::collection::vec(any::<u32>(), 8..16),
    ) {
        let entries: Vec<String> = nets.iter().map(ToString::to_string).collect();
        let vm = vm(json!({"ip_source_type": "header", "deny": entries}));
        // Every network's first and last address, and random addresses.
        let mut ips: Vec<IpAddr> = nets.iter().flat_map(|n| [n.network(), n.broadcast()]).collect();
        ips.extend(probes.iter().map(|p| IpAddr::V4((*p).into())));
        for ip in ips {
            let denied = nets.iter().any(|n| n.contains(&ip));
            let s = from_header(&vm, "x-forwarded-for", &ip.to_string());
            prop_assert_eq!(s.local_response().is_some(), denied, "{} in {:?}", ip, entries);
        }
    }
}
