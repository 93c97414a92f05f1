//! `make bench` report: per plugin, the module size, the wasm instructions of one accepted
//! and one rejected request (all callbacks of the stream, from wasmtime fuel: exact and
//! repeatable on any machine), and the VM's linear memory after 1 and after N requests.

mod ai;
mod cache;
mod redis;
mod sampled;
mod stats;
mod traffic;

use base64::Engine;
use higress_bench::{jwks, jwt_with, scenarios, SkipBy, NOW};
use higress_host::testing::{self, request};
use higress_host::{Env, Vm};
use jsonwebtoken::Algorithm;
use std::time::Duration;

fn main() {
    // Traps are how `sampled` profiles; a native backtrace for each would take most of the
    // time (the wasm backtrace it reads does not need one).
    if std::env::var_os("RUST_LIB_BACKTRACE").is_none() {
        std::env::set_var("RUST_LIB_BACKTRACE", "0");
    }
    if std::env::args().nth(1).as_deref() == Some("calls") {
        // `cargo run -p higress-bench -- calls`: only the per-callback table.
        per_callback();
        return;
    }
    if std::env::args().nth(1).as_deref() == Some("targets") {
        // `cargo run -p higress-bench -- targets`: only the per-request targets.
        targets();
        return;
    }
    if std::env::args().nth(1).as_deref() == Some("redis") {
        // `cargo run -p higress-bench -- redis [N]`: only the Redis-backed plugins.
        redis::report(std::env::args().nth(2).and_then(|n| n.parse().ok()).unwrap_or(10_000));
        return;
    }
    if std::env::args().nth(1).as_deref() == Some("traffic") {
        // `cargo run -p higress-bench -- traffic [N | calls]`: only the traffic plugins.
        match std::env::args().nth(2).as_deref() {
            Some("calls") => traffic::per_callback(),
            n => traffic::report(n.and_then(|n| n.parse().ok()).unwrap_or(100_000)),
        }
        return;
    }
    if std::env::args().nth(1).as_deref() == Some("ai") {
        // `cargo run -p higress-bench -- ai [N | calls]`: only ai-proxy.
        match std::env::args().nth(2).as_deref() {
            Some("calls") => ai::per_callback(),
            n => ai::report(n.and_then(|n| n.parse().ok()).unwrap_or(10_000)),
        }
        return;
    }
    if std::env::args().nth(1).as_deref() == Some("cache") {
        // `cargo run -p higress-bench -- cache [N]`: only ai-cache.
        cache::report(std::env::args().nth(2).and_then(|n| n.parse().ok()).unwrap_or(10_000));
        return;
    }
    if std::env::args().nth(1).as_deref() == Some("stats") {
        // `cargo run -p higress-bench -- stats [N]`: only ai-statistics.
        stats::report(std::env::args().nth(2).and_then(|n| n.parse().ok()).unwrap_or(100_000));
        return;
    }
    if std::env::args().nth(1).as_deref() == Some("jwt") {
        // `cargo run -p higress-bench -- jwt`: only jwt-auth per algorithm.
        jwt_algorithms();
        return;
    }
    if std::env::args().nth(1).as_deref() == Some("worst") {
        // `cargo run -p higress-bench -- worst`: only the 60 KiB worst cases.
        worst_cases();
        return;
    }
    let requests: usize = std::env::args().nth(1).and_then(|n| n.parse().ok()).unwrap_or(100_000);
    println!("| plugin | .wasm bytes | instructions, accepted | instructions, rejected | memory after 1 | memory after {requests} |");
    println!("|---|---:|---:|---:|---:|---:|");
    for scenario in scenarios() {
        let plugin = scenario.load();
        let vm = scenario.vm(&plugin);
        let accepted = scenario.accept(&vm).instructions();
        let rejected = scenario.reject(&vm).map_or("-".to_string(), |s| s.instructions().to_string());
        let first = vm.memory_bytes();
        for _ in 1..requests {
            let _ = scenario.accept(&vm);
        }
        let last = vm.memory_bytes();
        println!(
            "| {} | {} | {accepted} | {rejected} | {first} | {last} |",
            scenario.plugin,
            shipped_size(scenario.plugin)
        );
    }
    jwt_algorithms();
    targets();
    per_callback();
    worst_cases();
    redis::report(requests);
    traffic::report(requests);
    ai::report(requests.min(10_000));
    cache::report(requests.min(10_000));
    stats::report(requests.min(20_000));
}

/// Requests at Envoy's header limits (60 KiB): no plugin may spend more than 2 M instructions
/// on one, apart from signature verification.
fn worst_cases() {
    println!();
    println!("| worst case (60 KiB request head) | instructions | target | ratio to target |");
    println!("|---|---:|---:|---:|");
    let query: String = (0..7_000).map(|i| format!("p{i}=v")).collect::<Vec<_>>().join("&");
    let path = format!("/orders?{query}");
    // Every parameter is a near miss of the key name: none is passed over on its first byte.
    // 6,700 of them: 60,299 bytes, within Envoy's 60 KiB (7,000 were 62,999).
    let near: String = (0..6_700).map(|_| "apikex=v").collect::<Vec<_>>().join("&");
    let headers: Vec<(String, String)> = (0..600).map(|i| (format!("x-filler-{i}"), "v".repeat(80))).collect();
    let env = Env::with_manual_clock(Duration::from_secs(NOW));
    let key_auth = Vm::builder(&testing::plugin("key-auth"))
        .env(&env)
        .config_json(&serde_json::json!({"keys": ["x-api-key", "apikey"], "in_header": true, "in_query": true,
            "consumers": [{"name": "c1", "credential": "k1"}]}))
        .start()
        .unwrap_or_else(|e| panic!("{e}"));
    let cases: Vec<(&str, Vm, higress_host::testing::Request)> = vec![
        (
            "key-auth, 7,000 query parameters",
            key_auth.clone(),
            request("GET", "a.com", &path).header("x-api-key", "k1"),
        ),
        (
            "key-auth, 6,700 parameters named almost like the key",
            key_auth.clone(),
            request("GET", "a.com", &format!("/orders?{near}")).header("x-api-key", "k1"),
        ),
        (
            "key-auth, 60,000 `&`",
            key_auth.clone(),
            request("GET", "a.com", &format!("/orders?{}", "&".repeat(60_000))).header("x-api-key", "k1"),
        ),
        (
            "key-auth, 30,000 one-letter parameters",
            key_auth.clone(),
            request("GET", "a.com", &format!("/orders?{}", "a&".repeat(30_000))).header("x-api-key", "k1"),
        ),
        (
            "key-auth, 12,000 four-letter parameters",
            key_auth.clone(),
            request("GET", "a.com", &format!("/orders?{}", "abcd&".repeat(12_000))).header("x-api-key", "k1"),
        ),
        (
            "key-auth, 8,500 parameters as long as the key, its first letter",
            key_auth.clone(),
            request("GET", "a.com", &format!("/orders?{}", "aaaaaa&".repeat(8_500))).header("x-api-key", "k1"),
        ),
        (
            "key-auth, 8,500 parameters named like the key",
            key_auth.clone(),
            request("GET", "a.com", &format!("/orders?{}", "apikey&".repeat(8_500))).header("x-api-key", "k1"),
        ),
        (
            "key-auth, 600 headers",
            key_auth,
            with_headers(request("GET", "a.com", "/").header("x-api-key", "k1"), &headers),
        ),
    ];
    let mut cases = cases;
    for scenario in scenarios().into_iter().filter(|s| s.plugin != "key-auth") {
        let plugin = scenario.load();
        let vm = scenario.vm(&plugin);
        let label = if scenario.plugin == "hmac-auth" {
            "hmac-auth, 600 headers (signature rejected)"
        } else {
            scenario.plugin
        };
        let req = with_headers(request("GET", "a.com", "/"), &headers)
            .header("x-ca-key", "bench-key")
            .header("x-ca-signature", "x");
        cases.push((label, vm, req));
    }
    // Consumers that all take their token from `access_token` (the default): one scan of the
    // query, not one per consumer.
    let consumers: Vec<serde_json::Value> =
        (1..=3).map(|i| serde_json::json!({"name": format!("c{i}"), "issuer": "bench", "jwks": jwks()})).collect();
    let jwt_auth = Vm::builder(&testing::plugin("jwt-auth"))
        .env(&env)
        .config_json(&serde_json::json!({ "consumers": consumers }))
        .start()
        .unwrap_or_else(|e| panic!("{e}"));
    cases.push((
        "jwt-auth (3 consumers), 7,000 query parameters, no token",
        jwt_auth.clone(),
        request("GET", "a.com", &path),
    ));
    // A token at the size limit that every consumer reads and no key verifies: its hash
    // (the verified-token cache key) and its header are worked out once, not per consumer.
    let b64 = |text: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text);
    let header = b64(&format!(r#"{{"alg":"RS256","kid":"none","x":"{}"}}"#, "a".repeat(12_000)));
    let big = format!("Bearer {header}.{}.{}", b64("{}"), b64("signature"));
    let req = request("GET", "a.com", "/").header("authorization", &big);
    cases.push(("jwt-auth (3 consumers), a 16 KiB token whose kid no key has", jwt_auth, req));
    cases.extend(adversarial_cases(&env));
    for (label, vm, req) in cases {
        // Every case is a request Envoy would let through.
        assert!(req.head_size() <= 60 * 1024, "{label}: a head of {} bytes, over 60 KiB", req.head_size());
        let s = req.send(&vm);
        let _ = s.send_response_headers([(":status", "200")], true);
        let n = s.instructions();
        println!("| {label} | {n} | 2000000 | {:.2} |", n as f64 / 2_000_000.0);
    }
    hmac_worst_cases();
}

/// Request shapes the adversarial search (`examples/worstsearch.rs`) found, at Envoy's
/// limit, with configurations from the plugins' READMEs: each cost tens or hundreds of
/// millions of instructions before the work that now reads such input once.
fn adversarial_cases(env: &Env) -> Vec<(&'static str, Vm, higress_host::testing::Request)> {
    let vm = |plugin: &str, config: serde_json::Value| {
        Vm::builder(&testing::plugin(plugin)).env(env).config_json(&config).start().unwrap_or_else(|e| panic!("{e}"))
    };
    let keys: Vec<String> = (0..64).map(|i| format!("k{i}")).collect();
    let key_auth = vm(
        "key-auth",
        serde_json::json!({"keys": keys, "in_header": true, "in_query": true,
            "consumers": [{"name": "c1", "credential": "k1"}]}),
    );
    let jwt_consumers: Vec<serde_json::Value> = (0..5)
        .map(|i| {
            serde_json::json!({"name": format!("c{i}"), "issuer": "bench", "jwks": jwks(),
                "from_cookies": [format!("token{i}"), format!("jwt{i}"), "session"],
                "from_params": [format!("token{i}"), "access_token"]})
        })
        .collect();
    let jwt_auth = vm("jwt-auth", serde_json::json!({ "consumers": jwt_consumers }));
    let basic_auth = vm(
        "basic-auth",
        serde_json::json!({"consumers": (0..50).map(|i| serde_json::json!({"name": format!("c{i}"),
            "credential": format!("user{i}:password{i}")})).collect::<Vec<_>>()}),
    );
    let ip_restriction = vm(
        "ip-restriction",
        serde_json::json!({"ip_source_type": "header", "ip_header_name": "x-forwarded-for",
            "deny": (0..200).map(|i| format!("10.{}.{}.0/24", i / 256, i % 256)).collect::<Vec<_>>()}),
    );
    let cors = vm(
        "cors",
        serde_json::json!({"allow_origin_patterns": ["https://*.example.com", "http://*.example.org:[8080,9090]",
            "http://*.example.net:[*]", "https://*.*.example.io", "https://*-dev.*.example.cn", "http://*.a.*.b.*.c"]}),
    );
    // Any header may be asked for: a preflight's list is checked and echoed, item by item.
    let cors_any =
        vm("cors", serde_json::json!({"allow_origins": ["*"], "allow_headers": ["*"], "allow_methods": ["*"]}));
    // Every item reads the same path_pattern (a README's template): its matches and groups
    // are found once, not per item, by the DFA's two passes (regex-lite's PikeVM: 104 M).
    let transformer = vm(
        "transformer",
        serde_json::json!({"reqRules": [{"operate": "add", "headers": (0..8).map(|i| serde_json::json!({
            "key": format!("x-p{i}"), "value": "v-$1", "path_pattern": "^/api/(\\w+)/(.*)\\.json$"})).collect::<Vec<_>>()}]}),
    );
    // A pattern that matches at every byte: one match, its groups and its expansion per byte.
    let every_byte = vm(
        "transformer",
        serde_json::json!({"reqRules": [{"operate": "add", "headers": [{"key": "x-r", "value": "$1$1$1", "path_pattern": "(a)"}]}]}),
    );
    // Every list at once: the path is lowercased, then scanned for the substrings and the
    // expressions, and the headers (`:path` among them) for the header keywords.
    let request_block_all = vm(
        "request-block",
        serde_json::json!({"block_urls": ["swagger.html", "/admin", "phpmyadmin"], "block_exact_urls": ["/info"],
            "block_regexp_urls": [r"\.php$", r"(?i)select.+from", r"/v\d+/internal/"],
            "block_headers": ["example-key", "sqlmap"], "case_sensitive": false}),
    );
    // Query rules of every kind, on a query of as many distinct parameters as fit.
    let transformer_query = vm(
        "transformer",
        serde_json::json!({"reqRules": [
            {"operate": "remove", "querys": [{"key": "debug"}]},
            {"operate": "rename", "querys": [{"oldKey": "b", "newKey": "bb"}]},
            {"operate": "replace", "querys": [{"key": "c", "newValue": "1"}]},
            {"operate": "add", "querys": [{"key": "added", "value": "1"}]},
            {"operate": "append", "querys": [{"key": "a", "appendValue": "2"}]},
            {"operate": "map", "mapSource": "querys", "headers": [{"fromKey": "a", "toKey": "x-a"}]},
            {"operate": "dedupe", "querys": [{"key": "a", "strategy": "RETAIN_UNIQUE"}]}]}),
    );
    let base36 = |mut i: usize| {
        let mut name = Vec::new();
        loop {
            name.push(b"0123456789abcdefghijklmnopqrstuvwxyz".get(i % 36).copied().unwrap_or(b'0'));
            i /= 36;
            if i == 0 {
                break String::from_utf8(name).unwrap_or_default();
            }
        }
    };
    let distinct: String = (0..15_000).map(base36).collect::<Vec<_>>().join("&");
    // Six expressions of the kind the README shows, one DFA together: a byte step per byte.
    let request_block = vm(
        "request-block",
        serde_json::json!({"block_regexp_urls": [r"\.php$", r"^/admin/.*", r"(?i)select.+from", r"/v\d+/internal/",
            r".*\.(bak|old|swp)$", r"[?&]debug=(1|true)"], "case_sensitive": false}),
    );
    let mut not_utf8 = b"Basic ".to_vec();
    not_utf8.extend(std::iter::repeat_n(0xff, 60_000));
    // 6,100 of them: 60,999 bytes, within Envoy's 60 KiB (6,800 were 67,999).
    let near_token: String = (0..6_100).map(|_| "token1x=v").collect::<Vec<_>>().join("&");
    vec![
        (
            "key-auth (64 keys k0..k63), 20,000 parameters `%7` (escapes to decode)",
            key_auth.clone(),
            request("GET", "a.com", &format!("/p?{}", "%7&".repeat(20_000))),
        ),
        (
            "key-auth (64 keys), 10,000 parameters `%6B=v` (an escaped first letter)",
            key_auth.clone(),
            request("GET", "a.com", &format!("/p?{}", "%6B=v&".repeat(10_000))),
        ),
        (
            "key-auth (64 keys), 20,000 parameters `k1` (a key, no value)",
            key_auth.clone(),
            request("GET", "a.com", &format!("/p?{}", "k1&".repeat(20_000))),
        ),
        (
            "key-auth (64 keys), 12,000 parameters `kz=v` (a name's first letter, no such name)",
            key_auth,
            request("GET", "a.com", &format!("/p?{}", "kz=v&".repeat(12_000))),
        ),
        (
            "jwt-auth (5 consumers, 3 cookie names each), a Cookie of 60,000 `;`",
            jwt_auth.clone(),
            request("GET", "a.com", "/").header("cookie", &";".repeat(60_000)),
        ),
        (
            "jwt-auth (5 consumers, 2 parameter names each), 6,100 parameters named almost like one",
            jwt_auth.clone(),
            request("GET", "a.com", &format!("/p?{near_token}")),
        ),
        (
            "jwt-auth (5 consumers, 3 cookie names each), a Cookie of 6,100 `token1x=` (near a name)",
            jwt_auth,
            request("GET", "a.com", "/").header("cookie", &"token1x=; ".repeat(6_100)),
        ),
        (
            "basic-auth (50 consumers), Basic and 60,000 bytes that are not UTF-8",
            basic_auth,
            request("GET", "a.com", "/").header_bytes("authorization", &not_utf8),
        ),
        (
            "cors (6 origin patterns), an Origin of 60,000 `a`",
            cors.clone(),
            request("GET", "a.com", "/").header("origin", &format!("https://{}", "a".repeat(60_000))),
        ),
        (
            "cors (6 origin patterns), an Origin of 20,000 `.a.` (near matches of a middle piece)",
            cors,
            request("GET", "a.com", "/").header("origin", &format!("http://{}", ".a.".repeat(20_000))),
        ),
        (
            "request-block (6 block_regexp_urls), a 60 KiB path of `/v1` (near matches of one)",
            request_block,
            request("GET", "a.com", &"/v1".repeat(20_000)),
        ),
        (
            "transformer (8 items, one path_pattern), a 60 KiB path that matches it",
            transformer,
            request("GET", "a.com", &format!("/api/{}.json", "x/".repeat(30_000))),
        ),
        (
            "transformer (an item with path_pattern `(a)`), a 60 KiB path of `a` (60,000 matches)",
            every_byte,
            request("GET", "a.com", &format!("/{}", "a".repeat(60_000))),
        ),
        (
            "request-block (every list), a 60 KiB path",
            request_block_all.clone(),
            request("GET", "a.com", &format!("/{}", "a".repeat(60_000))),
        ),
        (
            "request-block (every list), a 60 KiB path of `É` (not ASCII: lowercased by character)",
            request_block_all,
            request("GET", "a.com", &format!("/{}", "É".repeat(30_000))),
        ),
        (
            "cors (any header), a preflight asking for 60 KiB of `Authorization,`",
            cors_any,
            request("OPTIONS", "a.com", "/")
                .header("origin", "https://site1.example.com")
                .header("access-control-request-method", "GET")
                .header("access-control-request-headers", &"Authorization,".repeat(4_370)),
        ),
        (
            "transformer (a query rule of each kind), 15,000 distinct parameters",
            transformer_query,
            request("GET", "a.com", &format!("/p?{distinct}")),
        ),
        (
            "ip-restriction (200 CIDRs), X-Forwarded-For with a port of 60,000 digits",
            ip_restriction,
            request("GET", "a.com", "/").header("x-forwarded-for", &format!("1.2.3.4:{}", "0".repeat(60_000))),
        ),
    ]
}

/// hmac-auth signs the query's parameters sorted by name: the costly requests are those with
/// the most parameters, in random order. Building that string to sign and its HMAC is the
/// signature check; the target holds for the rest of the request (told apart by
/// [`sampled`]). The signature is well-formed, so the HMAC is computed, and wrong.
fn hmac_worst_cases() {
    let Some(scenario) = scenarios().into_iter().find(|s| s.plugin == "hmac-auth") else { return };
    let plugin = scenario.load();
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let ordered: Vec<String> = (0..7_000).map(|i| format!("p{i}=v")).collect();
    let mut shuffled = ordered.clone();
    for i in (1..shuffled.len()).rev() {
        shuffled.swap(i, (next() % (i as u64 + 1)) as usize);
    }
    let letters: Vec<char> = ('a'..='z').chain('A'..='Z').chain('0'..='9').collect();
    let mut letter = || letters.get((next() % letters.len() as u64) as usize).copied().unwrap_or('a');
    let short: Vec<String> = (0..20_000).map(|_| format!("{}{}", letter(), letter())).collect();
    let single = vec!["a".to_string(); 30_000];
    let cases = [
        ("7,000 parameters in query order", ordered),
        ("the same 7,000 parameters in random order", shuffled),
        ("20,000 parameters of two-letter names in random order, repeats among them", short),
        ("30,000 parameters, all `a`", single),
    ];
    let signature = base64::engine::general_purpose::STANDARD.encode([0u8; 32]);
    for (what, params) in cases {
        let headers: Vec<(String, String)> = [
            (":authority", "a.com".to_string()),
            (":path", format!("/orders?{}", params.join("&"))),
            (":method", "GET".to_string()),
            (":scheme", "http".to_string()),
            ("x-ca-key", "bench-key".to_string()),
            ("x-ca-signature", signature.clone()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let size: usize = headers.iter().map(|(k, v)| k.len() + v.len()).sum();
        assert!(size <= 60 * 1024, "hmac-auth, {what}: a head of {size} bytes, over 60 KiB");
        let share = sampled::request_headers(&plugin, scenario.config(), NOW, &headers, "hmac_auth::check", 50_000);
        let apart = share.total - share.under;
        println!("| hmac-auth, {what}: its request headers callback (all its work) | {} | - | - |", share.total);
        println!(
            "| hmac-auth, {what}: apart from the signature check (string to sign, HMAC) | {apart} | 2000000 | {:.2} |",
            apart as f64 / 2_000_000.0
        );
    }
}

fn with_headers(
    mut req: higress_host::testing::Request,
    headers: &[(String, String)],
) -> higress_host::testing::Request {
    for (k, v) in headers {
        req = req.header(k, v);
    }
    req
}

/// The per-request targets: hello-world <= 3,000 instructions, key-auth accepted <= 6,000,
/// an auth plugin on a route where it skips <= 1,500 (each >= 10x fewer than Higress's Go
/// modules in the same host).
fn targets() {
    println!();
    println!("| request | instructions | target | ratio to target |");
    println!("|---|---:|---:|---:|");
    let row = |what: &str, instructions: u64, target: u64| {
        println!("| {what} | {instructions} | {target} | {:.2} |", instructions as f64 / target as f64);
    };
    for scenario in scenarios() {
        let plugin = scenario.load();
        match scenario.plugin {
            "hello-world" => {
                row("hello-world, one header added", scenario.accept(&scenario.vm(&plugin)).instructions(), 3_000)
            }
            "key-auth" => row("key-auth, accepted", scenario.accept(&scenario.vm(&plugin)).instructions(), 6_000),
            _ => {}
        }
        for (by, what) in [(SkipBy::Route, "on a route where it skips"), (SkipBy::Domain, "on a domain where it skips")]
        {
            if let Some(vm) = scenario.skipping_vm(&plugin, by) {
                let _ = scenario.skip(&vm);
                row(&format!("{}, {what}", scenario.plugin), scenario.skip(&vm).instructions(), 1_500);
            }
        }
    }
}

/// Where a request's instructions go: each callback of the stream, for the cheapest cases.
fn per_callback() {
    println!();
    println!("| request | callback | instructions |");
    println!("|---|---|---:|");
    for scenario in scenarios() {
        let plugin = scenario.load();
        let (what, stream) = match scenario.plugin {
            "hello-world" => ("hello-world, one header added", scenario.accept(&scenario.vm(&plugin))),
            "key-auth" => match scenario.skipping_vm(&plugin, SkipBy::Route) {
                Some(vm) => {
                    let _ = scenario.skip(&vm);
                    ("key-auth, skipped", scenario.skip(&vm))
                }
                None => continue,
            },
            _ => continue,
        };
        for call in stream.calls() {
            println!("| {what} | {} | {} |", call.callback, call.instructions);
        }
    }
}

/// The size of the module `make build` ships (`dist/`, without custom sections); the build
/// output the tests load keeps the name section.
pub(crate) fn shipped_size(plugin: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../dist").join(plugin).join("plugin.wasm");
    std::fs::metadata(&path).map_or_else(|e| format!("{}: {e}", path.display()), |m| m.len().to_string())
}

/// jwt-auth per algorithm: the first request with a token verifies its signature; later
/// requests with the same token hit the VM's cache of verified tokens.
fn jwt_algorithms() {
    println!();
    println!("| jwt-auth algorithm | instructions, first use of a token | instructions, same token again |");
    println!("|---|---:|---:|");
    let env = Env::with_manual_clock(Duration::from_secs(NOW));
    let config = serde_json::json!({"consumers": [{"name": "c", "issuer": "bench", "jwks": jwks()}]});
    let vm = Vm::builder(&testing::plugin("jwt-auth"))
        .env(&env)
        .config_json(&config)
        .start()
        .unwrap_or_else(|e| panic!("{e}"));
    let cases = [
        ("rsa-1", Algorithm::RS256),
        ("rsa-1", Algorithm::PS256),
        ("ec-256", Algorithm::ES256),
        ("ec-384", Algorithm::ES384),
        ("ed-1", Algorithm::EdDSA),
        ("hs-1", Algorithm::HS256),
    ];
    for (kid, alg) in cases {
        let token = jwt_with(kid, alg);
        let cost = || {
            let s = request("GET", "h", "/").header("authorization", &format!("Bearer {token}")).send(&vm);
            assert!(s.upstream().headers.is_some(), "{alg:?} denied");
            s.instructions()
        };
        let (first, again) = (cost(), cost());
        println!("| {alg:?} | {first} | {again} |");
    }
}
