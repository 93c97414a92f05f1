//! The SDK's HTTP context, exercised through the `sdk-probe` fixture compiled to wasm.
//! The request header `x-probe` picks the behaviour under test.
// Helpers outside #[test] functions may panic too: a failing test should fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use higress_host::{testing, Action, HeaderMap, LogLevel, Stream, Vm};

fn probe_vm(config: &str) -> Vm {
    Vm::builder(&testing::plugin("sdk-probe")).config(config).start().unwrap_or_else(|e| panic!("{e}"))
}

fn request(action: &str, extra: &[(&str, &str)], end_of_stream: bool) -> (Vm, Stream) {
    let vm = probe_vm(r#"{"tag": "global"}"#);
    let s = vm.stream();
    let mut headers = HeaderMap::from([
        (":authority", "probe.local"),
        (":path", "/p?q=1"),
        (":method", "POST"),
        (":scheme", "https"),
        ("x-probe", action),
    ]);
    for (k, v) in extra {
        headers.add(k.as_bytes(), v.as_bytes());
    }
    s.send_request_headers(headers, end_of_stream).unwrap_or_else(|e| panic!("{e}"));
    (vm, s)
}

#[test]
fn request_header_get_set_add_remove_all() {
    let (_vm, s) = request("headers", &[("x-in", "copied"), ("x-remove", "gone"), ("x-replace", "old")], true);
    let up = s.upstream();
    assert_eq!(up.header("x-out"), Some("copied"));
    assert_eq!(up.headers.as_ref().unwrap().get_all("x-added"), vec!["a", "b"]);
    assert_eq!(up.header("x-remove"), None);
    assert_eq!(up.header("x-replace"), Some("new"));
    // 5 pseudo/probe headers + x-in + x-replace (+x-remove, removed) + x-probe-tag + x-out + 2 x-added
    assert_eq!(up.header("x-count"), Some("11"));
    assert_eq!(up.header("x-probe-tag"), Some("global"));
}

#[test]
fn cached_request_line_is_valid_in_response_phase() {
    let (_vm, s) = request("none", &[], true);
    s.send_response_headers([(":status", "200")], true).unwrap();
    let r = s.response();
    assert_eq!(r.header("x-seen-path"), Some("/p?q=1"));
    assert_eq!(r.header("x-seen-method"), Some("POST"));
    assert_eq!(r.header("x-seen-host"), Some("probe.local"));
    assert_eq!(r.header("x-seen-scheme"), Some("https"));
    // As on Envoy, request headers are gone once they were passed on.
    assert_eq!(r.header("x-request-header-visible"), Some("false"));
}

/// With rules on the domain, the SDK reads `:authority` alone to choose the config, and the
/// rest of the request line only for a stream the plugin follows: every value is the same
/// as when the line is read at once, whichever config applied.
#[test]
fn request_line_after_domain_rules() {
    let vm = probe_vm(r#"{"tag": "global", "_rules_": [{"_match_domain_": ["*.local"], "tag": "local"}]}"#);
    let seen = |authority: Option<&str>| {
        let s = vm.stream();
        let mut headers = HeaderMap::from([(":path", "/p?q=1"), (":method", "PUT"), (":scheme", "https")]);
        if let Some(authority) = authority {
            headers.add(b":authority", authority.as_bytes());
        }
        s.send_request_headers(headers, true).unwrap();
        let tag = s.upstream().header("x-probe-tag").map(str::to_string);
        s.send_response_headers([(":status", "200")], true).unwrap();
        let r = s.response();
        let line =
            ["x-seen-host", "x-seen-path", "x-seen-method", "x-seen-scheme"].map(|h| r.header(h).map(str::to_string));
        (tag, line)
    };
    let line = |host: &str| [host, "/p?q=1", "PUT", "https"].map(|v| Some(v.to_string()));
    // A rule picked the stream (any case, with a port): the line starts from the value read.
    assert_eq!(seen(Some("PROBE.Local:8443")), (Some("local".into()), line("PROBE.Local:8443")));
    assert_eq!(seen(Some("pr\u{f4}be.local")), (Some("local".into()), line("pr\u{f4}be.local")));
    // The global config: the line is read when the plugin asks for it.
    assert_eq!(seen(Some("probe.example")), (Some("global".into()), line("probe.example")));
    assert_eq!(seen(Some("[::1]:8080")), (Some("global".into()), line("[::1]:8080")));
    // No `:authority`: the plugin passes over the stream, as wasm-go does.
    assert_eq!(seen(None).0, None);
}

#[test]
fn buffered_body_arrives_once_whole() {
    let (_vm, s) = request("buffered", &[], false);
    assert_eq!(s.send_request_body("abc", false).unwrap(), Action::StopIterationAndBuffer);
    assert_eq!(s.send_request_body("def", false).unwrap(), Action::StopIterationAndBuffer);
    assert!(s.upstream().body.is_empty());
    assert_eq!(s.send_request_body("g", true).unwrap(), Action::Continue);
    assert_eq!(s.upstream().body_text(), "buffered:7:abcdefg");
    assert!(s.upstream().end_of_stream);
}

#[test]
fn prepend_and_append_body() {
    let (_vm, s) = request("edit", &[], false);
    s.send_request_body("middle", true).unwrap();
    assert_eq!(s.upstream().body_text(), "[middle]");
}

#[test]
fn streaming_body_chunks_are_replaced_one_by_one() {
    let (_vm, s) = request("streaming", &[], false);
    assert_eq!(s.send_request_body("ab", false).unwrap(), Action::Continue);
    assert_eq!(s.upstream().body_text(), "AB");
    s.send_request_body("cd", true).unwrap();
    assert_eq!(s.upstream().body_text(), "ABCD!");
    s.send_response_headers([(":status", "200")], false).unwrap();
    s.send_response_body("XY", false).unwrap();
    s.send_response_body("Z", true).unwrap();
    assert_eq!(s.response().body_text(), "xy<z");
    assert_eq!(s.response().header("x-chunks"), Some("2"));
}

#[test]
fn dont_read_body_skips_body_callbacks() {
    let (_vm, s) = request("skip-body", &[], false);
    s.send_request_body("raw", false).unwrap();
    s.send_request_body("data", true).unwrap();
    assert_eq!(s.upstream().body_text(), "rawdata");
    s.send_response_headers([(":status", "200")], true).unwrap();
    assert_eq!(s.response().header("x-chunks"), Some("0"));
    assert!(!s.calls().iter().any(|c| c.callback == "proxy_on_request_body" && c.instructions > 2_000));
}

#[test]
fn buffered_response_body() {
    let (_vm, s) = request("response-buffered", &[], true);
    s.send_response_headers([(":status", "200")], false).unwrap();
    assert_eq!(s.send_response_body("part1-", false).unwrap(), Action::StopIterationAndBuffer);
    assert!(s.response().body.is_empty());
    s.send_response_body("part2", true).unwrap();
    assert_eq!(s.response().body_text(), "wrapped(part1-part2)");
}

fn trailer<'a>(message: &'a higress_host::Message, name: &str) -> Option<&'a str> {
    message.trailers.as_ref().and_then(|t| t.get(name))
}

#[test]
fn buffered_request_body_is_delivered_when_trailers_end_the_stream() {
    let (_vm, s) = request("buffered", &[], false);
    assert_eq!(s.send_request_body("abc", false).unwrap(), Action::StopIterationAndBuffer);
    assert_eq!(s.send_request_body("de", false).unwrap(), Action::StopIterationAndBuffer);
    assert!(s.upstream().body.is_empty());
    assert_eq!(s.send_request_trailers([("x-t", "1")]).unwrap(), Action::Continue);
    let up = s.upstream();
    assert_eq!(up.body_text(), "buffered:5:abcde");
    assert_eq!(trailer(&up, "x-t"), Some("1"));
    assert_eq!(trailer(&up, "x-trailers-seen"), Some("1"));
    assert!(up.end_of_stream);
}

#[test]
fn buffered_request_body_is_delivered_empty_when_trailers_follow_the_headers() {
    let (_vm, s) = request("buffered", &[], false);
    s.send_request_trailers([("x-t", "1")]).unwrap();
    let up = s.upstream();
    // The body callback ran (with nothing); as on Envoy, there is no body buffer to write.
    assert_eq!(trailer(&up, "x-body-ended"), Some("true"));
    assert_eq!(up.body_text(), "");
    assert_eq!(trailer(&up, "x-trailers-seen"), Some("1"));
}

#[test]
fn streamed_request_body_ends_when_trailers_end_the_stream() {
    let (_vm, s) = request("streaming", &[], false);
    s.send_request_body("ab", false).unwrap();
    s.send_request_trailers([("x-t", "1")]).unwrap();
    let up = s.upstream();
    // The end of stream came as an empty chunk: there is nothing to append to.
    assert_eq!(up.body_text(), "AB");
    assert_eq!(trailer(&up, "x-body-ended"), Some("true"));
    assert_eq!(trailer(&up, "x-t"), Some("1"));
}

#[test]
fn streamed_request_body_ending_with_data_is_not_ended_twice() {
    let (_vm, s) = request("streaming", &[], false);
    s.send_request_body("ab", true).unwrap();
    assert_eq!(s.upstream().body_text(), "AB!");
    s.send_response_headers([(":status", "200")], true).unwrap();
    assert_eq!(s.response().header("x-chunks"), Some("1"));
}

#[test]
fn buffered_response_body_is_delivered_when_trailers_end_the_stream() {
    let (_vm, s) = request("response-buffered", &[], true);
    s.send_response_headers([(":status", "200")], false).unwrap();
    assert_eq!(s.send_response_body("part1-", false).unwrap(), Action::StopIterationAndBuffer);
    s.send_response_body("part2", false).unwrap();
    assert!(s.response().body.is_empty());
    s.send_response_trailers([("grpc-status", "0")]).unwrap();
    let r = s.response();
    assert_eq!(r.body_text(), "wrapped(part1-part2)");
    assert_eq!(trailer(&r, "grpc-status"), Some("0"));
    assert!(r.end_of_stream);
}

#[test]
fn streamed_response_body_ends_when_trailers_end_the_stream() {
    let (_vm, s) = request("streaming", &[], true);
    s.send_response_headers([(":status", "200")], false).unwrap();
    s.send_response_body("XY", false).unwrap();
    s.send_response_trailers([("grpc-status", "0")]).unwrap();
    let r = s.response();
    assert_eq!(r.body_text(), "xy");
    assert_eq!(trailer(&r, "x-body-ended"), Some("true"));
}

#[test]
fn has_body() {
    let (_vm, with) = request("has-body", &[], false);
    with.send_request_body("x", true).unwrap();
    assert_eq!(with.upstream().header("x-has-body"), Some("true"));
    let (_vm, without) = request("has-body", &[], true);
    assert_eq!(without.upstream().header("x-has-body"), Some("false"));
}

#[test]
fn websocket_and_binary_detection() {
    let (_vm, ws) = request("kinds", &[("connection", "Upgrade"), ("upgrade", "websocket")], true);
    assert_eq!(ws.upstream().header("x-websocket"), Some("true"));
    assert_eq!(ws.upstream().header("x-binary"), Some("false"));
    let (_vm, bin) = request("kinds", &[("content-type", "application/octet-stream")], true);
    assert_eq!(bin.upstream().header("x-binary"), Some("true"));
    let (_vm, gz) = request("kinds", &[("content-type", "application/json"), ("content-encoding", "gzip")], true);
    assert_eq!(gz.upstream().header("x-binary"), Some("true"));
    let (_vm, plain) = request("kinds", &[("content-type", "application/json")], true);
    assert_eq!(plain.upstream().header("x-binary"), Some("false"));
}

#[test]
fn binary_bodies_are_not_delivered() {
    let (_vm, s) = request("streaming", &[("content-type", "application/grpc")], false);
    s.send_request_body("abc", true).unwrap();
    assert_eq!(s.upstream().body_text(), "abc", "binary body must pass untouched");
}

#[test]
fn per_request_state_survives_phases() {
    let (_vm, s) = request("state", &[], true);
    s.send_response_headers([(":status", "200")], true).unwrap();
    assert_eq!(s.response().header("x-state"), Some("42/false"));
}

#[test]
fn local_response_with_details_ends_the_stream() {
    let (_vm, s) = request("reply", &[], false);
    let reply = s.local_response().unwrap();
    assert_eq!(reply.status, 418);
    assert_eq!(reply.details, "sdk-probe.teapot");
    assert_eq!(reply.headers.get("x-reply"), Some("yes"));
    let r = s.response();
    assert_eq!(r.status(), Some(418));
    assert_eq!(r.body_text(), "short and stout");
    assert_eq!(r.header("x-reply"), Some("yes"));
    assert_eq!(r.header("content-length"), Some("15"));
    // The reply passes through the plugin's own response phase, as on Envoy.
    assert_eq!(r.header("x-reply-seen-by-plugin"), Some("1"));
    assert!(s.is_complete());
    assert!(s.send_request_body("late", true).is_err(), "input after a local reply is refused");
    assert_eq!(s.property_string("response.code_details").as_deref(), Some("sdk-probe.teapot"));
}

#[test]
fn resume_from_a_body_callback_releases_held_headers() {
    let (_vm, s) = request("hold", &[], false);
    assert!(s.upstream().headers.is_none());
    s.send_request_body("first", false).unwrap();
    let up = s.upstream();
    assert!(up.headers.is_some(), "resume released the headers");
    assert_eq!(up.body_text(), "first");
    s.send_request_body("-second", true).unwrap();
    assert_eq!(s.upstream().body_text(), "first-second");
}

#[test]
fn properties_read_and_write() {
    let vm = probe_vm("{}");
    let s = vm.stream();
    s.set_property("route_name", "route-1");
    s.set_property("cluster_name", "outbound|80||svc.static");
    s.set_property("source.address", "10.0.0.7:5000");
    s.send_request_headers([(":authority", "h"), (":path", "/"), (":method", "GET"), ("x-probe", "property")], true)
        .unwrap();
    let up = s.upstream();
    assert_eq!(up.header("x-route"), Some("route-1"));
    assert_eq!(up.header("x-cluster"), Some("outbound|80||svc.static"));
    assert_eq!(up.header("x-source"), Some("10.0.0.7:5000"));
    assert_eq!(up.header("x-prop-back"), Some("v1"));
    assert_eq!(s.property_string("probe_prop").as_deref(), Some("v1"));
}

#[test]
fn disable_reroute_and_buffer_limits_set_higress_properties() {
    let (_vm, s) = request("reroute", &[], true);
    assert_eq!(s.property_string("clear_route_cache").as_deref(), Some("off"));
    let (_vm, s) = request("limits", &[], true);
    assert_eq!(s.property_string("set_decoder_buffer_limit").as_deref(), Some("1024"));
    assert_eq!(s.property_string("set_encoder_buffer_limit").as_deref(), Some("2048"));
}

#[test]
fn user_attributes_merge_into_custom_log() {
    let vm = probe_vm("{}");
    let s = vm.stream();
    // Another plugin already wrote an attribute: it must be kept.
    s.set_property("custom_log", r#"{\"other\":\"kept\"}"#);
    s.send_request_headers([(":authority", "h"), (":path", "/"), (":method", "GET"), ("x-probe", "attributes")], true)
        .unwrap();
    let raw = s.property_string("custom_log").unwrap();
    let text: String = serde_json::from_str(&format!("\"{raw}\"")).unwrap();
    let log: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(log, serde_json::json!({"other": "kept", "probe": "yes", "n": 5}));
    let ai = s.property_string("ai_log").unwrap();
    assert!(ai.contains(r#"\"ai\":true"#), "{ai}");
}

#[test]
fn request_trailers_are_visible_and_writable() {
    let (_vm, s) = request("none", &[], false);
    s.send_request_body("b", false).unwrap();
    s.send_request_trailers([("grpc-status", "0")]).unwrap();
    let up = s.upstream();
    let trailers = up.trailers.unwrap();
    assert_eq!(trailers.get("grpc-status"), Some("0"));
    assert_eq!(trailers.get("x-trailers-seen"), Some("1"));
    assert!(up.end_of_stream);
}

#[test]
fn logs_carry_the_plugin_prefix_and_follow_the_level() {
    let vm = Vm::builder(&testing::plugin("sdk-probe"))
        .config(r#"{"_plugin_id_": "probe-1"}"#)
        .log_level(LogLevel::Warn)
        .start()
        .unwrap();
    vm.take_logs();
    let s = vm.stream();
    // The id comes from the `x_request_id` property (as wasm-go reads it), not the header.
    s.set_property("x_request_id", "req-9");
    s.send_request_headers(
        [(":authority", "h"), (":path", "/"), (":method", "GET"), ("x-probe", "log"), ("x-request-id", "header-id")],
        true,
    )
    .unwrap();
    let logs = vm.take_logs();
    let messages: Vec<_> = logs.iter().map(|l| l.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "[sdk-probe] [probe-1] [req-9] warn line",
            "[sdk-probe] [probe-1] [req-9] error line",
            "[sdk-probe] [probe-1] [req-9] critical line"
        ]
    );
    vm.set_log_level(LogLevel::Trace);
    let s = vm.stream();
    s.send_request_headers([(":authority", "h"), (":path", "/"), (":method", "GET"), ("x-probe", "log")], true)
        .unwrap();
    let logs = vm.take_logs();
    assert!(logs.iter().any(|l| l.level == LogLevel::Trace && l.message == "[sdk-probe] [probe-1] [nil] trace line"));
    assert!(logs.iter().any(|l| l.message.ends_with("info line 1")));
}

#[test]
fn plugin_panic_is_a_trap_with_logs_and_fails_closed() {
    let vm = probe_vm("{}");
    let s = vm.stream();
    let err = s
        .send_request_headers([(":authority", "h"), (":path", "/"), (":method", "GET"), ("x-probe", "panic")], true)
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("proxy_on_request_headers"), "{text}");
    // The modules the tests load keep their name section: the wasm backtrace names functions.
    assert!(text.contains("sdk_probe.wasm!core") && text.contains("panic_bounds_check"), "{text}");
    assert!(text.contains("higress_sdk::dispatch::Handler>::on_request_headers"), "{text}");
    // The SDK's panic hook says where and why before the module aborts.
    let panic_line = err
        .logs()
        .iter()
        .find(|l| l.message.contains("panicked"))
        .unwrap_or_else(|| panic!("no panic line in {:?}", err.logs()));
    assert_eq!(panic_line.level, LogLevel::Critical);
    assert!(
        panic_line.message.starts_with("[sdk-probe] panicked at fixtures/sdk-probe/src/lib.rs:"),
        "{}",
        panic_line.message
    );
    assert!(
        panic_line.message.contains(": index out of bounds: the len is 0 but the index is 3"),
        "{}",
        panic_line.message
    );
    assert!(vm.is_failed());
    // Envoy's default (fail closed): the failed VM answers 503 for this and later streams.
    assert_eq!(s.response().status(), Some(503));
    assert_eq!(s.local_response().unwrap().details, "wasm_fail_stream");
    let later = vm.stream();
    later.send_request_headers([(":authority", "h"), (":path", "/"), (":method", "GET")], true).unwrap();
    assert_eq!(later.response().status(), Some(503));
}

#[test]
fn stream_done_and_log_run_once_at_the_end() {
    let vm = Vm::builder(&testing::plugin("sdk-probe")).log_level(LogLevel::Debug).start().unwrap();
    let s = vm.stream();
    s.send_request_headers([(":authority", "h"), (":path", "/"), (":method", "GET"), ("x-probe", "x")], true).unwrap();
    s.send_response_headers([(":status", "204")], true).unwrap();
    let logs = vm.take_logs();
    assert_eq!(logs.iter().filter(|l| l.message.ends_with("on_log x status=204")).count(), 1);
    assert_eq!(logs.iter().filter(|l| l.message.ends_with("stream done x")).count(), 1);
}
