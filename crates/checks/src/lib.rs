//! What the workspace-wide checks share: the plugin crates under `plugins/`, read from
//! `cargo metadata` (so nothing lists them by hand).

use std::path::{Path, PathBuf};
use std::process::Command;

/// One crate under `plugins/`.
#[derive(Debug, Clone)]
pub struct PluginCrate {
    /// Package name (the plugin's name, as Higress names it).
    pub name: String,
    /// Its own version.
    pub version: String,
    /// Its directory.
    pub dir: PathBuf,
    /// `[package.metadata.higress] hostcalls`: Higress-only hostcalls it may import.
    pub extension_hostcalls: Vec<String>,
}

/// The workspace root and the plugin crates, sorted by name.
pub fn plugins() -> (PathBuf, Vec<PluginCrate>) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run cargo metadata: {e}"));
    assert!(out.status.success(), "cargo metadata: {}", String::from_utf8_lossy(&out.stderr));
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"));
    let root = PathBuf::from(meta["workspace_root"].as_str().unwrap_or_default());
    let plugins_dir = root.join("plugins");
    let mut plugins: Vec<PluginCrate> = meta["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| {
            let manifest = Path::new(p["manifest_path"].as_str()?);
            let dir = manifest.parent()?.to_path_buf();
            (dir.parent()? == plugins_dir).then(|| PluginCrate {
                name: p["name"].as_str().unwrap_or_default().to_string(),
                version: p["version"].as_str().unwrap_or_default().to_string(),
                dir,
                extension_hostcalls: p["metadata"]["higress"]["hostcalls"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|h| h.as_str().map(str::to_string))
                    .collect(),
            })
        })
        .collect();
    plugins.sort_by(|a, b| a.name.cmp(&b.name));
    (root, plugins)
}
