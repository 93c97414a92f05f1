//! The gateway binary, started on a free port with a config written by each test, in front
//! of the e2e echo upstream (and a real Redis where needed): plugin chains, fail strategies,
//! timeouts, disconnects, concurrency, config errors.
// Helpers outside #[test] functions may panic too: a failing test should fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod admin;
mod chain;
mod config_errors;
mod direct;
mod docker;
mod failures;
mod framing;
mod image;
mod ingress;
mod load;
mod rate_limit;
mod schemas;
mod streams;

use higress_e2e::client::Gateway;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A fresh directory for one test.
pub fn temp_dir() -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let dir =
        std::env::temp_dir().join(format!("hgw-test-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed)));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    dir
}

/// Replaces `{plugin:<package>}` with the built module of that workspace package and
/// `{echo}` with the echo upstream's address.
pub fn render(config: &str, echo: &str) -> String {
    let mut out = config.replace("{echo}", echo);
    while let Some(start) = out.find("{plugin:") {
        let end = out[start..].find('}').map(|e| start + e).unwrap_or_else(|| panic!("unclosed placeholder"));
        let package = out[start + 8..end].to_string();
        let path = higress_host::testing::build_plugin(&package);
        out.replace_range(start..=end, &path.display().to_string());
    }
    out
}

/// A running `hgw serve`.
pub struct Gw {
    child: Child,
    /// `127.0.0.1:<port>`.
    pub address: String,
    /// `127.0.0.1:<port>` of its admin listener.
    pub admin: String,
    /// Its directory: config.yaml, stderr.log, access.log.
    pub dir: PathBuf,
}

/// `hgw` with `args`, in `dir`; stdout and stderr as text.
pub fn hgw(args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_hgw")).args(args).output().unwrap_or_else(|e| panic!("hgw: {e}"));
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

impl Gw {
    /// Starts the gateway with `config` (see [`render`]) and `workers` workers.
    pub fn start(config: &str, echo: &str, workers: usize) -> Gw {
        let dir = temp_dir();
        let path = dir.join("config.yaml");
        std::fs::write(&path, render(config, echo)).unwrap_or_else(|e| panic!("{e}"));
        let stderr = std::fs::File::create(dir.join("stderr.log")).unwrap_or_else(|e| panic!("{e}"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_hgw"))
            .arg("serve")
            .arg("--config")
            .arg(&path)
            .args(["--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"])
            .args(["--workers", &workers.to_string(), "--access-log"])
            .arg(dir.join("access.log"))
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr))
            .spawn()
            .unwrap_or_else(|e| panic!("hgw: {e}"));
        let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(rest) = line.strip_prefix("hgw listening on http://") {
                    let address = rest.split_whitespace().next().unwrap_or_default().to_string();
                    let admin = rest.split("admin (Prometheus metrics) on http://").nth(1).unwrap_or_default();
                    let admin = admin.split('/').next().unwrap_or_default().to_string();
                    let _ = tx.send((address, admin));
                }
            }
        });
        let Ok((address, admin)) = rx.recv_timeout(Duration::from_secs(120)) else {
            let _ = child.kill();
            panic!("hgw did not start:\n{}", std::fs::read_to_string(dir.join("stderr.log")).unwrap_or_default());
        };
        Gw { child, address, admin, dir }
    }

    /// A client for it.
    pub fn client(&self) -> Gateway {
        Gateway::new(&self.address)
    }

    /// What it wrote to standard error so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.join("stderr.log")).unwrap_or_default()
    }

    /// The access log so far.
    pub fn access_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("access.log")).unwrap_or_default()
    }

    /// Waits (up to 30 s) until `read()` contains `needle`; the text when it does.
    pub fn wait_for(&self, read: impl Fn(&Gw) -> String, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let text = read(self);
            if text.contains(needle) {
                return text;
            }
            assert!(Instant::now() < deadline, "`{needle}` never showed up in:\n{text}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Gw {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// A WasmPlugin document (with its leading `---`) named `name` for workspace package
/// `package`; `spec` adds spec lines, each indented by two spaces.
pub fn wasm_plugin(name: &str, package: &str, spec: &str) -> String {
    format!("---\napiVersion: extensions.higress.io/v1alpha1\nkind: WasmPlugin\nmetadata: {{name: {name}}}\nspec:\n  url: file://{{plugin:{package}}}\n{spec}")
}

/// The echo service, a route per host in `hosts` to it.
pub fn echo_routes(hosts: &[&str]) -> String {
    let mut out = String::from("kind: Service\nname: echo.static\nport: 80\naddress: {echo}\n");
    for host in hosts {
        out.push_str(&format!("---\nkind: Route\nname: {host}\ndomains: [{host}]\nservice: echo.static\n"));
    }
    out
}
