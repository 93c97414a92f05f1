//! cors on the compiled `.wasm`, run in the proxy-wasm host as Envoy would.
// Helpers outside #[test] functions may panic too: a failing test should fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use higress_host::testing::{self, request};
use serde_json::json;

#[test]
fn sets_the_header_from_the_config() {
    let vm = testing::vm("cors", &json!({"message": "hello"}));
    let s = request("GET", "example.com", "/").header("x-cors", "forged").send(&vm);
    let up = s.upstream();
    assert_eq!(up.headers.as_ref().map(|h| h.get_all("x-cors")), Some(vec!["hello"]));
    assert!(up.end_of_stream);
}

#[test]
fn rules_pick_the_config_per_domain() {
    let config = json!({"message": "global", "_rules_": [{"_match_domain_": ["special.com"], "message": "special"}]});
    let vm = testing::vm("cors", &config);
    let header = |host: &str| request("GET", host, "/").send(&vm).upstream().header("x-cors").map(str::to_string);
    assert_eq!(header("special.com").as_deref(), Some("special"));
    assert_eq!(header("other.com").as_deref(), Some("global"));
}

#[test]
fn config_errors_name_the_field() {
    let plugin = testing::plugin("cors");
    for (config, expected) in [
        (json!({}), "missing field `message`"),
        (json!({"message": " "}), "message: cannot be empty"),
        (json!({"message": "a\nb"}), "message: must be one line of text"),
        (json!({"message": 5}), "message: invalid type"),
    ] {
        let line = testing::config_error(&plugin, &config);
        assert!(line.contains(&format!("cors config error: {expected}")), "{line}\n  expected: {expected}");
    }
}
