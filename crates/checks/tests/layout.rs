//! Every crate under `plugins/` is registered everywhere a plugin must be: its README (with its
//! version), a row in the root README's table, a WasmPlugin in `e2e/config`, an e2e suite file
//! declared in the suite, and a `make run` demo. `make new-plugin` does all of it; this test
//! names what is missing when a plugin was added by hand.

use higress_checks::plugins;
use std::path::Path;

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[test]
fn every_plugin_is_registered_everywhere() {
    let (root, plugins) = plugins();
    assert!(!plugins.is_empty(), "no crates under plugins/");
    let readme = read(&root.join("README.md"));
    let suite = read(&root.join("e2e/tests/suite/main.rs"));
    let config = higress_gateway::config::load(&root.join("e2e/config")).unwrap_or_else(|e| panic!("{e}"));
    let demos = higress_e2e::demo::requests().unwrap_or_else(|e| panic!("{e}"));
    let mut missing = Vec::new();
    for plugin in &plugins {
        let name = &plugin.name;
        let snake = name.replace('-', "_");
        let own_readme = read(&plugin.dir.join("README.md"));
        if own_readme.is_empty() {
            missing.push(format!("{name}: plugins/{name}/README.md"));
        } else if !own_readme.contains(&format!("Version {}", plugin.version)) {
            missing.push(format!("{name}: `Version {}` in its README (the version in its Cargo.toml)", plugin.version));
        }
        if !readme.contains(&format!("| [{name}](plugins/{name}/README.md) |")) {
            missing.push(format!("{name}: a row `| [{name}](plugins/{name}/README.md) | ... |` in README.md"));
        }
        let wasm = format!("dist/{name}/plugin.wasm");
        if !config.plugins.iter().any(|p| p.wasm.ends_with(&wasm)) {
            missing.push(format!("{name}: a WasmPlugin with url file://../../{wasm} in e2e/config/plugins.yaml"));
        }
        if !root.join(format!("e2e/tests/suite/{snake}.rs")).is_file() {
            missing.push(format!("{name}: e2e/tests/suite/{snake}.rs"));
        }
        if !suite.contains(&format!("mod {snake};")) {
            missing.push(format!("{name}: `mod {snake};` in e2e/tests/suite/main.rs"));
        }
        if !demos.iter().any(|d| d.title.starts_with(&format!("{name}:"))) {
            missing.push(format!("{name}: a demo titled `{name}: ...` in e2e/src/demo.rs"));
        }
    }
    assert!(missing.is_empty(), "plugins not registered everywhere:\n  {}", missing.join("\n  "));
}
