//! `make new-plugin`: in the workspace it writes the crate and registers it everywhere (run
//! here on a scratch copy of the files it edits; CI runs it on the real tree before `make
//! test` and `make e2e-local`), and the standalone crate it writes builds for wasm on its own
//! and works in the host.

use higress_checks::plugins;
use higress_host::testing::request;
use higress_host::{Plugin, Vm};
use std::path::{Path, PathBuf};
use std::process::Command;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("new-plugin-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn generate(root: &Path, args: &[&str]) {
    let out = Command::new("python3")
        .arg(root.join("scripts/new-plugin.py"))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("python3: {e}"));
    assert!(out.status.success(), "new-plugin failed: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn in_the_workspace_it_registers_the_plugin_everywhere() {
    let (root, _) = plugins();
    let copy = scratch("workspace");
    copy_dir(&root.join("templates"), &copy.join("templates"));
    for file in ["README.md", "e2e/config/plugins.yaml", "e2e/config/ingresses.yaml", "e2e/config/services.yaml"] {
        std::fs::create_dir_all(copy.join(file).parent().unwrap()).unwrap();
        std::fs::copy(root.join(file), copy.join(file)).unwrap();
    }
    for file in ["e2e/tests/suite/main.rs", "e2e/src/demo.rs"] {
        std::fs::create_dir_all(copy.join(file).parent().unwrap()).unwrap();
        std::fs::copy(root.join(file), copy.join(file)).unwrap();
    }
    generate(&root, &["demo-x", "--root", copy.to_str().unwrap()]);

    let read = |p: &str| std::fs::read_to_string(copy.join(p)).unwrap_or_else(|e| panic!("{p}: {e}"));
    assert!(read("plugins/demo-x/src/lib.rs").contains("higress_sdk::export_plugin!(\"demo-x\", DemoX);"));
    assert!(read("plugins/demo-x/tests/demo_x.rs").contains("testing::vm(\"demo-x\""));
    assert!(read("plugins/demo-x/README.md").starts_with("# demo-x\n"));
    assert!(!read("plugins/demo-x/Cargo.toml").contains("{{"));
    let schema = read("plugins/demo-x/config.schema.json");
    assert!(schema.contains("\"title\": \"demo-x 0.1.0 configuration\"") && !schema.contains("{{"), "{schema}");
    assert!(read("README.md").contains("| [demo-x](plugins/demo-x/README.md) |"));
    assert!(read("e2e/tests/suite/main.rs").contains("\nmod demo_x;\n"));
    assert!(read("e2e/tests/suite/demo_x.rs").contains("demo-x.e2e.local"));
    assert!(read("e2e/src/demo.rs").contains("\"demo-x: the echo upstream sees x-demo-x\""));
    // (The gateway loads e2e/config only once the module is built: CI generates a plugin in
    // the real tree and runs make test and make e2e-local on it.)
    let plugins_yaml = read("e2e/config/plugins.yaml");
    assert!(plugins_yaml
        .contains("\n---\napiVersion: extensions.higress.io/v1alpha1\nkind: WasmPlugin\nmetadata:\n  name: demo-x\n"));
    assert!(plugins_yaml.contains("url: file://../../dist/demo-x/plugin.wasm"));
    assert!(plugins_yaml.contains("- domain: [demo-x.e2e.local]"));
    let ingresses = read("e2e/config/ingresses.yaml");
    assert!(ingresses.contains("\n---\napiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: demo-x\n"));
    assert!(ingresses.ends_with(
        "    - host: demo-x.e2e.local\n      http:\n        paths:\n          - path: /\n            pathType: Prefix\n            \
         backend:\n              resource: {apiGroup: networking.higress.io, kind: McpBridge, name: default}\n"
    ));

    // A second run refuses to overwrite; a bad name is refused.
    for args in [&["demo-x"][..], &["Bad_Name"][..]] {
        let mut all = args.to_vec();
        all.extend(["--root", copy.to_str().unwrap()]);
        let out = Command::new("python3").arg(root.join("scripts/new-plugin.py")).args(&all).output().unwrap();
        assert!(!out.status.success());
    }
    let _ = std::fs::remove_dir_all(&copy);
}

#[test]
fn a_standalone_crate_builds_for_wasm_on_its_own() {
    let (root, _) = plugins();
    let dir = scratch("standalone").join("my-filter");
    generate(&root, &["my-filter", dir.to_str().unwrap()]);
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
    assert!(manifest.contains(&format!("path = \"{}/crates/sdk\"", root.display())), "{manifest}");
    assert!(manifest.contains("[workspace]") && manifest.contains("[lints.clippy]"));
    // Its own target directory, kept between runs under the workspace's.
    let target = root.join("target/standalone-check");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(&dir)
        .args(["build", "--release", "--target", "wasm32-wasip1"])
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .unwrap();
    assert!(out.status.success(), "standalone build failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let wasm = target.join("wasm32-wasip1/release/my_filter.wasm");
    let plugin = Plugin::load(&wasm).unwrap();
    let vm = Vm::builder(&plugin).config(r#"{"message": "standalone"}"#).start().unwrap();
    let s = request("GET", "a.com", "/").send(&vm);
    assert_eq!(s.upstream().header("x-my-filter"), Some("standalone"));
    let _ = std::fs::remove_dir_all(dir.parent().unwrap());
}
