//! request-block on the compiled `.wasm`: Higress's conformance cases, the Go unit tests'
//! cases, each list on its own, streamed bodies with a word cut at every position, bad
//! input, config errors, and random requests.
// Helpers outside #[test] functions may panic too: a failing test should fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use higress_host::testing::{self, request};
use higress_host::{HeaderMap, Stream, Vm};
use proptest::prelude::*;
use serde_json::{json, Value};

const EXACT: &str = "request-block.url_blocked.exact";
const KEYWORD: &str = "request-block.url_blocked.keyword";
const REGEXP: &str = "request-block.url_blocked.regexp";
const HEADER: &str = "request-block.header_blocked";
const BODY: &str = "request-block.body_blocked";

fn vm(config: Value) -> Vm {
    testing::vm("request-block", &config)
}

/// The WasmPlugin of Higress's conformance test (go-wasm-request-block.yaml).
fn conformance() -> Vm {
    vm(json!({
        "block_urls": ["swagger.html"],
        "block_regexp_urls": ["/env.*"],
        "block_exact_urls": ["/web/info"],
        "block_bodies": ["hello world"]
    }))
}

/// The config of the Go unit tests (main_test.go).
fn go_test_config() -> Vm {
    vm(json!({
        "blocked_code": 403,
        "blocked_message": "Access denied",
        "case_sensitive": false,
        "block_urls": ["blocked", "forbidden"],
        "block_exact_urls": ["/exact-block", "/admin"],
        "block_regexp_urls": ["/api/v\\d+/blocked"],
        "block_headers": ["blocked-header", "malicious"],
        "block_bodies": ["blocked-content", "spam"]
    }))
}

fn assert_blocked(s: &Stream, status: u16, details: &str, body: &str) {
    let local = s.local_response().unwrap_or_else(|| panic!("not blocked; upstream got {:?}", s.upstream()));
    assert_eq!(local.details, details);
    assert_eq!(local.status, u32::from(status));
    assert_eq!(local.body_text(), body);
    assert!(local.headers.is_empty(), "{:?}", local.headers);
    assert_eq!(s.response().status(), Some(status));
    assert_eq!(s.response().body_text(), body);
}

fn assert_passed(s: &Stream) {
    assert!(s.local_response().is_none(), "blocked: {:?}", s.local_response());
    let up = s.upstream();
    assert!(up.headers.is_some() && up.end_of_stream && !up.reset, "{up:?}");
}

fn get(vm: &Vm, path: &str) -> Stream {
    request("GET", "foo.com", path).send(vm)
}

fn post(vm: &Vm, path: &str, body: &[u8]) -> Stream {
    request("POST", "foo.com", path).header("content-type", "text/plain").body(body.to_vec()).send(vm)
}

/// A POST whose headers do not end the stream; the body is sent by the test.
fn open_post(vm: &Vm) -> Stream {
    let s = vm.stream();
    let headers = HeaderMap::from_pairs(&[
        (":authority", "foo.com"),
        (":path", "/upload"),
        (":method", "POST"),
        (":scheme", "http"),
        ("content-type", "text/plain"),
    ]);
    s.send_request_headers(headers, false).unwrap();
    s
}

#[test]
fn conformance_cases() {
    let vm = conformance();
    assert_blocked(&get(&vm, "/swagger.html"), 403, KEYWORD, "");
    assert_blocked(&get(&vm, "/env/info"), 403, REGEXP, "");
    assert_blocked(&get(&vm, "/web/info"), 403, EXACT, "");
    let blocked = post(&vm, "/foo", b"hello world");
    assert_blocked(&blocked, 403, BODY, "");
    // The body's first chunk decides before the headers go on: nothing reached the upstream.
    assert_eq!(blocked.upstream().headers, None);
    let passed = post(&vm, "/foo", b"hello higress");
    assert_passed(&passed);
    assert_eq!(passed.upstream().body, b"hello higress");
    assert_eq!(passed.upstream().header(":path"), Some("/foo"));
}

#[test]
fn go_unit_test_cases() {
    let vm = go_test_config();
    assert_blocked(&get(&vm, "/api/blocked/endpoint"), 403, KEYWORD, "Access denied");
    assert_blocked(&get(&vm, "/exact-block"), 403, EXACT, "Access denied");
    assert_blocked(&get(&vm, "/api/v1/blocked"), 403, KEYWORD, "Access denied");
    assert_blocked(&get(&vm, "/api/v1/Blocked?x"), 403, KEYWORD, "Access denied");
    assert_blocked(&get(&vm, "/x/api/v7/blocke/api/v7/blocked"), 403, KEYWORD, "Access denied");
    let s = request("GET", "foo.com", "/api/valid").header("blocked-header", "some-value").send(&vm);
    assert_blocked(&s, 403, HEADER, "Access denied");
    assert_blocked(
        &post(&vm, "/api/safe/endpoint", b"This is blocked-content in the body"),
        403,
        BODY,
        "Access denied",
    );
    assert_passed(&request("GET", "foo.com", "/api/valid/endpoint").header("valid-header", "valid-value").send(&vm));
    // case_sensitive false: capitals are blocked too.
    assert_blocked(&get(&vm, "/API/BLOCKED/ENDPOINT"), 403, KEYWORD, "Access denied");
    assert_blocked(&get(&vm, "/ADMIN"), 403, EXACT, "Access denied");
    assert_blocked(&post(&vm, "/x", b"SPAM"), 403, BODY, "Access denied");
    assert_blocked(
        &request("GET", "foo.com", "/x").header("x-note", "MALICIOUS").send(&vm),
        403,
        HEADER,
        "Access denied",
    );

    let custom =
        vm_with(json!({"blocked_code": 429, "blocked_message": "Too many requests", "block_urls": ["rate-limit"]}));
    assert_blocked(&get(&custom, "/api/rate-limit/test"), 429, KEYWORD, "Too many requests");

    // Regexp cases of the Go tests (there with a dummy block_urls, here not needed).
    let regexp = vm_with(json!({"case_sensitive": true, "block_regexp_urls": ["/api/v\\d+/users/\\d+/posts"]}));
    assert_blocked(&get(&regexp, "/api/v2/users/123/posts"), 403, REGEXP, "");
    assert_passed(&get(&regexp, "/api/blocked"));
    let regexp =
        vm_with(json!({"case_sensitive": true, "block_urls": ["dummy"], "block_regexp_urls": ["/api/v\\d+/blocked"]}));
    assert_passed(&get(&regexp, "/api/blocked"));
    assert_blocked(&get(&regexp, "/api/v3/blocked"), 403, REGEXP, "");

    // A request without :path is not blocked by URL (Go: "get path failed", continue).
    let s = request("GET", "foo.com", "/").without(":path").send(&vm);
    assert_passed(&s);
}

fn vm_with(config: Value) -> Vm {
    vm(config)
}

#[test]
fn go_regexp_test_path_is_a_keyword_too() {
    // "/api/v1/blocked" contains the keyword "blocked": the keyword list, checked before the
    // regexps, answers (Go's order).
    let vm = go_test_config();
    let s = get(&vm, "/api/v1/blocked");
    assert_eq!(s.local_response().unwrap().details, KEYWORD);
}

#[test]
fn case_sensitivity() {
    let sensitive = vm(json!({
        "case_sensitive": true,
        "block_urls": ["BLOCKED"],
        "block_headers": ["BLOCKED-HEADER"],
        "block_bodies": ["BLOCKED-CONTENT"]
    }));
    assert_blocked(&get(&sensitive, "/BLOCKED"), 403, KEYWORD, "");
    assert_passed(&get(&sensitive, "/blocked"));
    assert_blocked(&request("GET", "h", "/").header("x", "BLOCKED-HEADER").send(&sensitive), 403, HEADER, "");
    // Envoy lowercases header names: a capitalised name never matches a sensitive keyword.
    assert_passed(&request("GET", "h", "/").header("blocked-header", "1").send(&sensitive));
    assert_blocked(&post(&sensitive, "/", b"This contains BLOCKED-CONTENT"), 403, BODY, "");
    assert_passed(&post(&sensitive, "/", b"This contains blocked-content"));

    // The default is case-insensitive (Go's code; its README says otherwise).
    let default = vm(json!({"block_urls": ["Swagger.HTML"], "block_bodies": ["Hello World"]}));
    assert_blocked(&get(&default, "/SWAGGER.html"), 403, KEYWORD, "");
    assert_blocked(&post(&default, "/", b"say hello WORLD"), 403, BODY, "");

    // Unicode capitals fold as Go's strings.ToLower does.
    let unicode = vm(json!({"block_urls": ["/ärger"], "block_headers": ["ÖL"], "block_bodies": ["GRÖßE"]}));
    // Paths are matched as sent: percent-encoding is not decoded (as in Go).
    assert_passed(&get(&unicode, "/%C3%84RGER"));
    let s = request("GET", "h", "/").without(":path").header_bytes(":path", "/ÄRGER".as_bytes()).send(&unicode);
    assert_blocked(&s, 403, KEYWORD, "");
    assert_blocked(&request("GET", "h", "/").header("x", "heizöl").send(&unicode), 403, HEADER, "");
    assert_blocked(&post(&unicode, "/", "die größe".as_bytes()), 403, BODY, "");
    assert_blocked(&post(&unicode, "/", "DIE GRÖßE".as_bytes()), 403, BODY, "");
    // A path lowercased for the URL lists is the one the header words see too.
    let both = vm(json!({"block_urls": ["/nothing"], "block_headers": ["ärger"]}));
    let s = request("GET", "h", "/").without(":path").header_bytes(":path", "/ÄRGER".as_bytes()).send(&both);
    assert_blocked(&s, 403, HEADER, "");
    assert_passed(&request("GET", "h", "/").without(":path").header_bytes(":path", "/ÄRGXR".as_bytes()).send(&both));
}

#[test]
fn each_list_is_checked_on_its_own() {
    // Go checks exact and regexp URLs only when block_urls is not empty (fixed here).
    let exact = vm(json!({"block_exact_urls": ["/admin"]}));
    assert_blocked(&get(&exact, "/admin"), 403, EXACT, "");
    assert_passed(&get(&exact, "/admin/x"));
    assert_passed(&get(&exact, "/admin?x=1"));
    let regexp = vm(json!({"block_regexp_urls": ["^/v\\d+/private"]}));
    assert_blocked(&get(&regexp, "/v2/private/x"), 403, REGEXP, "");
    assert_passed(&get(&regexp, "/x/v2/private"));
    let headers = vm(json!({"block_headers": ["evil"], "blocked_message": "no"}));
    assert_blocked(&request("GET", "h", "/").header("user-agent", "EvilBot/1.0").send(&headers), 403, HEADER, "no");
    assert_passed(&get(&headers, "/good"));
    // Pseudo-headers are headers too: Go's header text includes `:path`.
    assert_blocked(&get(&headers, "/evil"), 403, HEADER, "no");
}

#[test]
fn urls_match_with_the_query() {
    let vm = vm(json!({"block_urls": ["foo=bar"], "block_exact_urls": ["/p?a=1"]}));
    assert_blocked(&get(&vm, "/?FOO=Bar"), 403, KEYWORD, "");
    assert_blocked(&get(&vm, "/p?a=1"), 403, EXACT, "");
    assert_passed(&get(&vm, "/p?a=2"));
}

#[test]
fn headers_are_matched_as_go_joins_them() {
    // Go searches `name\nvalue` pairs joined with `\n`, pseudo-headers included.
    let vm = vm(json!({"block_headers": ["x-a\n1\nx-b", ":authority\nevil.com", "example-key"]}));
    let s = request("GET", "h", "/").header("x-a", "1").header("x-b", "2").send(&vm);
    assert_blocked(&s, 403, HEADER, "");
    assert_passed(&request("GET", "h", "/").header("x-a", "1").header("x-c", "2").send(&vm));
    assert_blocked(&request("GET", "evil.com", "/").send(&vm), 403, HEADER, "");
    assert_blocked(&request("GET", "h", "/").header("example-key", "123").send(&vm), 403, HEADER, "");
    assert_blocked(&request("GET", "h", "/").header("my-header", "example-key").send(&vm), 403, HEADER, "");
}

#[test]
fn blocked_code_and_message() {
    for (code, expected) in
        [(403, 403), (429, 429), (101, 101), (599, 599), (100, 403), (600, 403), (999, 403), (0, 403), (-1i64, 403u16)]
    {
        let vm = vm(json!({"blocked_code": code, "blocked_message": "bye", "block_urls": ["x"]}));
        assert_blocked(&get(&vm, "/x"), expected, KEYWORD, "bye");
        if i64::from(expected) != code {
            assert!(vm.logged("blocked_code"), "a code out of range is warned about");
        }
    }
}

#[test]
fn empty_entries_are_skipped() {
    let vm = vm(json!({
        "block_urls": ["valid", ""], "block_exact_urls": ["", "/valid"], "block_regexp_urls": ["", "^/re$"],
        "block_headers": ["", "hv"], "block_bodies": ["bv", ""]
    }));
    assert_passed(&get(&vm, "/ok"));
    assert_blocked(&get(&vm, "/re"), 403, REGEXP, "");
    assert_blocked(&post(&vm, "/ok", b"xbvx"), 403, BODY, "");
    // Null lists are empty lists (as gjson reads them).
    let vm = vm_with(json!({"block_urls": null, "block_bodies": ["b"]}));
    assert_passed(&get(&vm, "/b"));
}

#[test]
fn a_word_cut_across_two_chunks_is_found_at_every_position() {
    let vm = vm(json!({"block_bodies": ["Hello World"], "blocked_message": "no"}));
    let body = b"0123456789 ... hello world ... 0123456789";
    let start = 15;
    for cut in 0..=body.len() {
        let s = open_post(&vm);
        let first = s.send_request_body(&body[..cut], false);
        let found_in_first = cut >= start + 11;
        if found_in_first {
            assert!(s.local_response().is_some(), "cut {cut}");
            // Blocked by the first chunk: the held headers never went on.
            assert_eq!(s.upstream().headers, None, "cut {cut}");
        } else {
            first.unwrap();
            assert!(s.local_response().is_none(), "cut {cut}");
            let _ = s.send_request_body(&body[cut..], true);
        }
        assert_blocked(&s, 403, BODY, "no");
        let up = s.upstream();
        assert!(!up.end_of_stream, "cut {cut}: the upstream never gets a complete request");
        assert!(!String::from_utf8_lossy(&up.body).contains("hello world"), "cut {cut}");
        if !found_in_first {
            assert!(up.reset, "cut {cut}: the upstream request is reset");
            assert_eq!(up.body, &body[..cut], "cut {cut}: checked chunks went on");
        }
    }
}

#[test]
fn a_word_cut_over_many_chunks_and_non_ascii_cuts() {
    let vm = vm(json!({"block_bodies": ["größe"]}));
    let body = "xx GRÖßE yy".as_bytes();
    for a in 1..body.len() {
        for b in a + 1..body.len() {
            let s = open_post(&vm);
            for (chunk, end) in [(&body[..a], false), (&body[a..b], false), (&body[b..], true)] {
                if s.local_response().is_none() {
                    s.send_request_body(chunk, end).unwrap();
                }
            }
            assert_blocked(&s, 403, BODY, "");
        }
    }
    // One byte at a time.
    let s = open_post(&vm);
    for (i, byte) in body.iter().enumerate() {
        if s.local_response().is_none() {
            s.send_request_body([*byte], i + 1 == body.len()).unwrap();
        }
    }
    assert_blocked(&s, 403, BODY, "");
}

#[test]
fn a_clean_streamed_body_passes_chunk_by_chunk() {
    let vm = vm(json!({"block_bodies": ["spam"]}));
    let s = open_post(&vm);
    assert_eq!(s.upstream().headers, None, "headers held until the first chunk is checked");
    s.send_request_body(b"first chunk", false).unwrap();
    let up = s.upstream();
    assert!(up.headers.is_some());
    assert_eq!(up.body, b"first chunk", "a checked chunk goes on at once");
    s.send_request_body(b" second", false).unwrap();
    s.send_request_body(b"", true).unwrap();
    assert_passed(&s);
    assert_eq!(s.upstream().body, b"first chunk second");
}

#[test]
fn a_large_upload_is_not_buffered() {
    let vm = vm(json!({"block_bodies": ["needle"]}));
    let chunk = vec![b'a'; 64 * 1024];
    let s = open_post(&vm);
    s.send_request_body(&chunk, false).unwrap();
    let memory = vm.memory_bytes();
    for _ in 0..255 {
        s.send_request_body(&chunk, false).unwrap();
    }
    s.send_request_body(b"", true).unwrap();
    assert_passed(&s);
    assert_eq!(s.upstream().body.len(), 256 * chunk.len());
    assert!(
        vm.memory_bytes() <= memory + 256 * 1024,
        "16 MiB streamed; memory grew {} -> {}",
        memory,
        vm.memory_bytes()
    );
    // The same body with the word at its very end is blocked at the end.
    let s = open_post(&vm);
    for _ in 0..64 {
        s.send_request_body(&chunk, false).unwrap();
    }
    s.send_request_body(b"...NEEDLE", true).unwrap();
    assert_blocked(&s, 403, BODY, "");
    assert!(s.upstream().reset);
}

#[test]
fn bodies_ending_with_trailers() {
    let vm = vm(json!({"block_bodies": ["spam"]}));
    let s = request("POST", "h", "/")
        .header("content-type", "text/plain")
        .body("spam!")
        .trailers(&[("x-t", "1")])
        .send(&vm);
    assert_blocked(&s, 403, BODY, "");
    let s =
        request("POST", "h", "/").header("content-type", "text/plain").body("ham").trailers(&[("x-t", "1")]).send(&vm);
    assert_passed(&s);
    assert_eq!(s.upstream().trailers.unwrap().get("x-t"), Some("1"));
}

#[test]
fn requests_without_a_body_to_check_are_not_held() {
    let vm = vm(json!({"block_bodies": ["spam"]}));
    assert_passed(&get(&vm, "/spam"));
    // Binary bodies are never delivered to plugins (as in wasm-go): not held, not checked.
    let s = vm.stream();
    let headers = HeaderMap::from_pairs(&[
        (":authority", "h"),
        (":path", "/"),
        (":method", "POST"),
        ("content-type", "application/octet-stream"),
    ]);
    s.send_request_headers(headers, false).unwrap();
    assert!(s.upstream().headers.is_some(), "binary body: headers not held");
    s.send_request_body(b"spam", true).unwrap();
    assert_passed(&s);
    // A WebSocket upgrade is not held either.
    let s = vm.stream();
    let headers = HeaderMap::from_pairs(&[
        (":authority", "h"),
        (":path", "/ws"),
        (":method", "GET"),
        ("connection", "upgrade"),
        ("upgrade", "websocket"),
    ]);
    s.send_request_headers(headers, false).unwrap();
    assert!(s.upstream().headers.is_some(), "websocket: headers not held");
}

#[test]
fn non_utf8_paths_headers_and_bodies() {
    let vm = vm(
        json!({"block_urls": ["swagger"], "block_regexp_urls": ["^/env.*x$"], "block_headers": ["bad"], "block_bodies": ["spam"]}),
    );
    let path = |bytes: &[u8]| request("GET", "h", "/").without(":path").header_bytes(":path", bytes);
    assert_blocked(&path(b"/\xff\xfe/SWAGGER.html").send(&vm), 403, KEYWORD, "");
    assert_blocked(&path(b"/env\xff\xc3x").send(&vm), 403, REGEXP, "");
    assert_passed(&path(b"/\xff\xfe/ok").send(&vm));
    assert_blocked(&request("GET", "h", "/").header_bytes("x-v", b"\xff\xc3BAD\x80").send(&vm), 403, HEADER, "");
    assert_passed(&request("GET", "h", "/").header_bytes("x-v", b"\xff\xc3BA\x80D").send(&vm));
    assert_blocked(&post(&vm, "/", b"\xff\xfe\xc3SPAM\x80"), 403, BODY, "");
    let s = post(&vm, "/", b"\xff\xfe\xc3SPA\x80M");
    assert_passed(&s);
    assert_eq!(s.upstream().body, b"\xff\xfe\xc3SPA\x80M", "the body goes on untouched");
    assert!(!vm.is_failed());
}

#[test]
fn huge_headers_and_paths() {
    let vm = vm(json!({"block_headers": ["needle"], "block_urls": ["needle"]}));
    let filler = "x".repeat(600);
    let mut req = request("GET", "h", "/");
    for i in 0..100 {
        req = req.header(&format!("x-filler-{i}"), &filler);
    }
    assert_passed(&req.clone().send(&vm));
    assert_blocked(&req.header("x-last", "a NEEDLE").send(&vm), 403, HEADER, "");
    let long = format!("/{}", "a".repeat(60_000));
    assert_passed(&get(&vm, &long));
    assert_blocked(&get(&vm, &format!("{long}needle")), 403, KEYWORD, "");
}

#[test]
fn rules_pick_the_config_per_domain() {
    let vm = vm(json!({
        "block_urls": ["global"],
        "_rules_": [{"_match_domain_": ["special.com"], "block_urls": ["special"], "blocked_code": 404}]
    }));
    assert_blocked(&request("GET", "special.com", "/special").send(&vm), 404, KEYWORD, "");
    assert_passed(&request("GET", "special.com", "/global").send(&vm));
    assert_blocked(&request("GET", "other.com", "/global").send(&vm), 403, KEYWORD, "");
}

#[test]
fn a_hundred_url_rules_cost_about_as_much_as_one() {
    let words: Vec<String> = (0..100).map(|i| format!("/blocked-path-{i:03}/")).collect();
    let many = vm(json!({"block_urls": words}));
    let one = vm(json!({"block_urls": ["/blocked-path-000/"]}));
    let path = "/api/v1/users/12345/orders?page=2&sort=desc&filter=active";
    let cost = |vm: &Vm| {
        let s = get(vm, path);
        assert_passed(&s);
        s.instructions()
    };
    let (many_cost, one_cost) = (cost(&many), cost(&one));
    eprintln!("instructions per request: 100 rules {many_cost}, 1 rule {one_cost}");
    assert!(many_cost < one_cost + one_cost / 4, "100 rules: {many_cost} instructions, 1 rule: {one_cost}");
    assert_blocked(&get(&many, "/x/BLOCKED-PATH-099/y"), 403, KEYWORD, "");
}

#[test]
fn config_errors_name_the_field() {
    let plugin = testing::plugin("request-block");
    let cases = [
        (json!({}), "no block rules: block_urls, block_exact_urls, block_regexp_urls, block_headers or block_bodies"),
        (json!({"block_urls": ["", ""], "blocked_message": "x"}), "no block rules"),
        (json!({"block_urls": ["a"], "block_regexp_urls": ["ok", "(unclosed"]}), "block_regexp_urls[1]: "),
        (json!({"block_regexp_urls": ["[z-a]"]}), "block_regexp_urls[0]: "),
        (json!({"block_regexp_urls": ["ok", "\\p{Han}"]}), "block_regexp_urls[1]: "),
        (json!({"block_urls": "swagger"}), "block_urls: invalid type: string"),
        (json!({"block_bodies": [1]}), "block_bodies[0]: invalid type: integer"),
        (json!({"block_urls": ["a"], "blocked_code": "403"}), "blocked_code: invalid type: string"),
        (json!({"block_urls": ["a"], "case_sensitive": "yes"}), "case_sensitive: invalid type: string"),
        (
            json!({"block_urls": ["a"], "_rules_": [{"_match_domain_": ["x.com"], "block_regexp_urls": ["("]}]}),
            "_rules_[0].block_regexp_urls[0]: ",
        ),
    ];
    for (config, expected) in cases {
        let line = testing::config_error(&plugin, &config);
        assert!(line.contains(&format!("request-block config error: {expected}")), "{line}\n  expected: {expected}");
    }
    let huge: Vec<String> =
        (0..2000).map(|i| format!("{i}-{}", "abcdefghijklmnopqrstuvwxyz0123456789".repeat(3))).collect();
    let line = testing::config_error(&plugin, &json!({"block_bodies": huge}));
    assert!(line.contains("request-block config error: block_bodies: too many or too long entries"), "{line}");
}

/// What Go would answer: the details of the first list that matches (ASCII test data: plain
/// ASCII lowercasing is Go's `strings.ToLower` here).
fn model(path: &[u8], headers: &[(String, Vec<u8>)], body: &[u8]) -> Option<&'static str> {
    let lower = |b: &[u8]| b.to_ascii_lowercase();
    let contains = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
    if contains(&lower(path), b"evil") {
        return Some(KEYWORD);
    }
    let mut joined = Vec::new();
    for (i, (name, value)) in headers.iter().enumerate() {
        if i > 0 {
            joined.push(b'\n');
        }
        joined.extend_from_slice(name.as_bytes());
        joined.push(b'\n');
        joined.extend_from_slice(value);
    }
    if contains(&lower(&joined), b"bad") {
        return Some(HEADER);
    }
    if contains(&lower(body), b"spam") {
        return Some(BODY);
    }
    None
}

fn text() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        prop_oneof![
            Just(b'e'),
            Just(b'V'),
            Just(b'i'),
            Just(b'L'),
            Just(b'b'),
            Just(b'A'),
            Just(b'd'),
            Just(b's'),
            Just(b'p'),
            Just(b'M'),
            any::<u8>()
        ],
        0..40,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]
    /// Random paths, headers and bodies cut in random chunks get the reply Go's model
    /// predicts, and never break the VM.
    #[test]
    fn random_requests_keep_the_vm_serving(
        path in text(),
        extra in proptest::collection::vec(("[a-z-]{1,8}", text()), 0..4),
        body in text(),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..4),
    ) {
        let vm = shared_vm();
        let mut full_path = b"/".to_vec();
        full_path.extend_from_slice(&path);
        let mut headers: Vec<(String, Vec<u8>)> = vec![
            (":authority".into(), b"foo.com".to_vec()),
            (":path".into(), full_path.clone()),
            (":method".into(), b"POST".to_vec()),
            (":scheme".into(), b"http".to_vec()),
            ("content-type".into(), b"text/plain".to_vec()),
        ];
        headers.extend(extra);
        let mut map = HeaderMap::new();
        for (k, v) in &headers {
            map.add(k.as_bytes(), v);
        }
        let s = vm.stream();
        s.send_request_headers(map, body.is_empty()).unwrap();
        let mut points: Vec<usize> = cuts.iter().map(|i| i.index(body.len() + 1)).collect();
        points.push(0);
        points.push(body.len());
        points.sort_unstable();
        if !body.is_empty() {
            for pair in points.windows(2) {
                if s.local_response().is_some() {
                    break;
                }
                s.send_request_body(&body[pair[0]..pair[1]], pair[1] == body.len()).unwrap();
            }
        }
        let expected = model(&full_path, &headers, &body);
        prop_assert_eq!(s.local_response().map(|l| l.details), expected.map(str::to_string));
        if expected.is_none() {
            prop_assert_eq!(s.upstream().body, body);
        }
        prop_assert!(!vm.is_failed());
        assert_passed(&post(&vm, "/fine", b"fine body"));
    }
}

thread_local! {
    static VM: Vm = vm(json!({"block_urls": ["EVIL"], "block_headers": ["bad"], "block_bodies": ["Spam"], "blocked_message": "blocked"}));
}

fn shared_vm() -> Vm {
    VM.with(Vm::clone)
}
