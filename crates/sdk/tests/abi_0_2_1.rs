//! The `abi-0-2-1` build: the marker for stock Envoy, actions folded to Continue/Pause.
// Helpers outside #[test] functions may panic too: a failing test should fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use higress_host::{testing, Abi, Action, Plugin, Vm};

#[test]
fn abi_0_2_1_build_exports_its_marker_and_folds_actions() {
    let path = testing::build_plugin_with("hello-world", &["--features", "higress-sdk/abi-0-2-1"]);
    let plugin = Plugin::load(path).unwrap();
    assert_eq!(plugin.abi(), Abi::V0_2_1);
    assert_eq!(testing::plugin("hello-world").abi(), Abi::V0_2_100);

    let vm = Vm::builder(&plugin).config(r#"{"count_request_body": true}"#).start().unwrap();
    let s = vm.stream();
    // StopIteration folds to Pause (1), which a 0.2.1 host turns into StopAllIterationAndWatermark:
    // the body is buffered by the host and never reaches the plugin.
    let action = s.send_request_headers([(":authority", "a"), (":path", "/"), (":method", "POST")], false).unwrap();
    assert_eq!(action, Action::StopAllIterationAndWatermark);
    assert_eq!(s.send_request_body("abc", true).unwrap(), Action::StopAllIterationAndWatermark);
    assert!(s.upstream().headers.is_none());

    let plain = Vm::builder(&plugin).start().unwrap().stream();
    plain.send_request_headers([(":authority", "a"), (":path", "/"), (":method", "GET")], true).unwrap();
    assert_eq!(plain.upstream().header("x-hello-world"), Some("hello world"));
}
