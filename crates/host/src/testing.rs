//! Helpers for tests that run a workspace plugin: build it for `wasm32-wasip1` (once per
//! test process, a no-op when it is fresh) and load it.

use crate::{HostError, Plugin};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

/// The workspace's target directory and root, from `cargo metadata`.
fn workspace() -> Result<(PathBuf, PathBuf), String> {
    static WORKSPACE: OnceLock<Result<(PathBuf, PathBuf), String>> = OnceLock::new();
    WORKSPACE
        .get_or_init(|| {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let out = Command::new(cargo)
                .args(["metadata", "--format-version", "1", "--no-deps"])
                .output()
                .map_err(|e| format!("cannot run cargo metadata: {e}"))?;
            if !out.status.success() {
                return Err(format!("cargo metadata failed: {}", String::from_utf8_lossy(&out.stderr)));
            }
            let meta: serde_json::Value = serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())?;
            let target = meta["target_directory"].as_str().ok_or("no target_directory")?;
            let root = meta["workspace_root"].as_str().ok_or("no workspace_root")?;
            Ok((PathBuf::from(target), PathBuf::from(root)))
        })
        .clone()
}

/// Builds package `package` of the workspace for `wasm32-wasip1` in release mode and
/// returns the path of its `.wasm`. Panics with cargo's output when the build fails: this is
/// for tests.
pub fn build_plugin(package: &str) -> PathBuf {
    build_plugin_with(package, &[])
}

/// Like [`build_plugin`], with extra cargo arguments (`--features ...`). Builds with extra
/// arguments go to their own target directory so they do not overwrite the default build.
pub fn build_plugin_with(package: &str, extra: &[&str]) -> PathBuf {
    static BUILT: OnceLock<Mutex<HashMap<String, PathBuf>>> = OnceLock::new();
    let key = format!("{package} {}", extra.join(" "));
    let built = BUILT.get_or_init(Default::default);
    let mut built = built.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(path) = built.get(&key) {
        return path.clone();
    }
    let (target, root) = workspace().unwrap_or_else(|e| panic!("{e}"));
    let target = if extra.is_empty() {
        target
    } else {
        target.join("variants").join(extra.join("_").replace(['/', ' ', '-'], "_"))
    };
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .current_dir(&root)
        .args(["build", "--release", "--target", "wasm32-wasip1", "-p", package])
        .args(extra)
        .arg("--target-dir")
        .arg(&target)
        .output()
        .unwrap_or_else(|e| panic!("cannot run cargo: {e}"));
    if !out.status.success() {
        panic!("building {package} for wasm32-wasip1 failed:\n{}", String::from_utf8_lossy(&out.stderr));
    }
    let path = target.join("wasm32-wasip1").join("release").join(format!("{}.wasm", package.replace('-', "_")));
    assert!(Path::new(&path).exists(), "cargo built {package} but {} is missing", path.display());
    built.insert(key, path.clone());
    path
}

/// Builds (if needed) and loads a workspace plugin, compiling it once per test process.
pub fn plugin(package: &str) -> Plugin {
    static LOADED: OnceLock<Mutex<HashMap<String, Plugin>>> = OnceLock::new();
    let loaded = LOADED.get_or_init(Default::default);
    let mut loaded = loaded.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(p) = loaded.get(package) {
        return p.clone();
    }
    let path = build_plugin(package);
    let plugin = Plugin::load(&path).unwrap_or_else(|e: HostError| panic!("{e}"));
    loaded.insert(package.to_string(), plugin.clone());
    plugin
}
