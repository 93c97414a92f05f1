//! Plugin images: every plugin's module through `hgw image`, pushed with skopeo to a real
//! registry (Debian's `docker-registry`, the CNCF distribution registry) on a loopback port,
//! then read back by skopeo - an independent client - and compared byte for byte.

use crate::{hgw, temp_dir};
use higress_gateway::oci;
use serde_json::Value;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A registry serving on a free loopback port until dropped.
pub struct Registry {
    child: Child,
    pub address: String,
}

impl Registry {
    pub fn start() -> Registry {
        let dir = temp_dir();
        let port = higress_host::testing::free_port();
        let address = format!("127.0.0.1:{port}");
        let config = dir.join("config.yml");
        let storage = dir.join("storage");
        std::fs::write(
            &config,
            format!("version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: {address}\n", storage.display()),
        )
        .unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::from(std::fs::File::create(dir.join("registry.log")).unwrap()))
            .spawn()
            .unwrap_or_else(|e| panic!("docker-registry: {e} (`make setup` installs it)"));
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(&address).is_err() {
            assert!(Instant::now() < deadline, "the registry did not listen on {address}");
            std::thread::sleep(Duration::from_millis(50));
        }
        Registry { child, address }
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs skopeo; its standard output.
pub fn skopeo(args: &[&str]) -> String {
    let out =
        Command::new("skopeo").args(args).output().unwrap_or_else(|e| panic!("skopeo: {e} (`make setup` installs it)"));
    assert!(out.status.success(), "skopeo {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The workspace's plugins, with their versions.
pub fn plugins() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plugins");
    let mut list: Vec<(String, String)> = std::fs::read_dir(&root)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let manifest = std::fs::read_to_string(e.path().join("Cargo.toml")).ok()?;
            let version =
                manifest.lines().find_map(|l| l.strip_prefix("version = \""))?.trim_end_matches('"').to_string();
            Some((e.file_name().to_string_lossy().into_owned(), version))
        })
        .collect();
    list.sort();
    list
}

#[test]
fn every_plugin_image_goes_through_a_registry_unchanged() {
    let registry = Registry::start();
    let dir = temp_dir();
    for (plugin, version) in plugins() {
        let module_path = higress_host::testing::build_plugin(&plugin);
        let module = std::fs::read(&module_path).unwrap();
        let layout = dir.join(&plugin);
        let (ok, out, err) = hgw(&[
            "image",
            "--wasm",
            &module_path.display().to_string(),
            "--name",
            &plugin,
            "--version",
            &version,
            "--out",
            &layout.display().to_string(),
        ]);
        assert!(ok, "{plugin}: {err}");
        assert!(out.contains(&format!("{plugin}:{version} sha256:")), "{out}");
        let reference = format!("{}/{plugin}:{version}", registry.address);
        skopeo(&[
            "copy",
            "-q",
            "--dest-tls-verify=false",
            &format!("oci:{}:{version}", layout.display()),
            &format!("docker://{reference}"),
        ]);

        // What the registry holds, as skopeo reads it.
        let manifest: Value = serde_json::from_str(&skopeo(&[
            "inspect",
            "--raw",
            "--tls-verify=false",
            &format!("docker://{reference}"),
        ]))
        .unwrap();
        assert_eq!(manifest["mediaType"], oci::MANIFEST, "{plugin}");
        assert_eq!(manifest["layers"].as_array().map(Vec::len), Some(1), "{plugin}");
        assert_eq!(manifest["layers"][0]["mediaType"], oci::LAYER);
        assert_eq!(manifest["annotations"]["org.opencontainers.image.version"], version.as_str());
        let pulled = dir.join(format!("{plugin}-pulled"));
        skopeo(&[
            "copy",
            "-q",
            "--src-tls-verify=false",
            &format!("docker://{reference}"),
            &format!("dir:{}", pulled.display()),
        ]);
        let digest = manifest["layers"][0]["digest"].as_str().unwrap().trim_start_matches("sha256:").to_string();
        let layer = std::fs::read(pulled.join(&digest)).unwrap();
        assert_eq!(oci::wasm_of_layer(oci::LAYER, &layer).unwrap(), module, "{plugin}: the module came back changed");
    }
}

#[test]
fn an_image_of_something_else_than_a_module_is_refused() {
    let dir = temp_dir();
    let not_wasm = dir.join("x.wasm");
    std::fs::write(&not_wasm, "hello").unwrap();
    let (ok, _, err) = hgw(&[
        "image",
        "--wasm",
        &not_wasm.display().to_string(),
        "--name",
        "x",
        "--version",
        "1",
        "--out",
        &dir.join("img").display().to_string(),
    ]);
    assert!(!ok);
    assert!(err.contains("not a wasm module"), "{err}");
}
