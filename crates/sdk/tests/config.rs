//! Plugin configuration as Higress sends it (`_rules_`), through the compiled `sdk-probe`.
// Helpers outside #[test] functions may panic too: a failing test should fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use higress_host::{testing, HostError, Plugin, Vm};
use serde_json::{json, Value};

fn start(plugin: &Plugin, config: Value) -> Result<Vm, HostError> {
    Vm::builder(plugin).config_json(&config).start()
}

/// The `x-probe-tag` the upstream sees for a request, or `None` when the plugin skipped it.
fn tag(vm: &Vm, host: &str, route: &str, cluster: &str) -> Option<String> {
    let s = vm.stream();
    s.set_property("route_name", route);
    s.set_property("cluster_name", cluster);
    s.send_request_headers([(":authority", host), (":path", "/"), (":method", "GET")], true).unwrap();
    s.upstream().header("x-probe-tag").map(str::to_string)
}

fn failure_line(err: &HostError) -> String {
    err.logs().iter().find(|l| l.message.contains("plugin start failed")).map(|l| l.message.clone()).unwrap_or_default()
}

#[test]
fn validation_errors_name_plugin_and_path() {
    let plugin = testing::plugin("sdk-probe");
    let err = start(&plugin, json!({"limit": -1})).err().unwrap();
    assert_eq!(
        failure_line(&err),
        "[sdk-probe] [nil] [nil] plugin start failed: sdk-probe config error: limit: must be positive"
    );
    let err = start(&plugin, json!({"_rules_": [{"_match_route_": ["a"]}, {"_match_route_": ["b"], "limit": 0}]}))
        .err()
        .unwrap();
    assert!(failure_line(&err).ends_with("config error: _rules_[1].limit: must be positive"), "{err}");
    let err = start(&plugin, json!({"_rules_": [{"_match_domain_": "a.com"}]})).err().unwrap();
    assert!(failure_line(&err).ends_with("_rules_[0]._match_domain_: expected an array of strings"), "{err}");
    let err = start(&plugin, json!({"_rules_": []})).err().unwrap();
    assert!(failure_line(&err).ends_with("_rules_: no rules and no global configuration"), "{err}");
    let err = start(&plugin, json!(["not", "an", "object"])).err().unwrap();
    assert!(failure_line(&err).ends_with("configuration must be a JSON object"), "{err}");
}

#[test]
fn service_rules_match_fqdn_and_port() {
    let plugin = testing::plugin("sdk-probe");
    let vm = start(
        &plugin,
        json!({"_rules_": [
            {"_match_service_": ["api.static:8080"], "tag": "port"},
            {"_match_service_": ["web.dns"], "tag": "any-port"},
            {"_match_route_": ["r1"], "_match_service_": ["both.static"], "tag": "route+service"},
            {"_match_route_prefix_": ["v2-"], "tag": "prefix"}
        ]}),
    )
    .unwrap();
    assert_eq!(tag(&vm, "h", "", "outbound|8080||api.static").as_deref(), Some("port"));
    assert_eq!(tag(&vm, "h", "", "outbound|9090||api.static"), None);
    assert_eq!(tag(&vm, "h", "", "outbound|443||web.dns").as_deref(), Some("any-port"));
    assert_eq!(tag(&vm, "h", "r1", "outbound|80||both.static").as_deref(), Some("route+service"));
    assert_eq!(tag(&vm, "h", "r1", "outbound|80||other.static"), None);
    assert_eq!(tag(&vm, "h", "v2-users", "").as_deref(), Some("prefix"));
}

#[test]
fn rules_are_parsed_alone_by_default() {
    let plugin = testing::plugin("sdk-probe");
    let vm = start(&plugin, json!({"tag": "g", "_rules_": [{"_match_route_": ["r"], "limit": 3}]})).unwrap();
    assert_eq!(tag(&vm, "h", "r", "").as_deref(), Some(""), "the rule does not inherit the global tag");
    assert_eq!(tag(&vm, "h", "other", "").as_deref(), Some("g"));
}

#[test]
fn merged_rules_start_from_the_global_config() {
    let path = testing::build_plugin_with("sdk-probe", &["--features", "sdk-probe/merge"]);
    let plugin = Plugin::load(path).unwrap();
    let vm = start(
        &plugin,
        json!({"tag": "g", "_rules_": [{"_match_route_": ["r"], "limit": 3}, {"_match_route_": ["s"], "tag": "own"}]}),
    )
    .unwrap();
    assert_eq!(tag(&vm, "h", "r", "").as_deref(), Some("g"), "the rule inherits the global tag");
    assert_eq!(tag(&vm, "h", "s", "").as_deref(), Some("own"), "rule keys override");
    // A merged rule is validated with the global keys in place.
    let err = start(&plugin, json!({"limit": 2, "_rules_": [{"_match_route_": ["r"], "limit": -5}]})).err().unwrap();
    assert!(failure_line(&err).ends_with("_rules_[0].limit: must be positive"), "{err}");
}
