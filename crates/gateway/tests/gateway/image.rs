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
            "--extra",
            &schema_file(&plugin).display().to_string(),
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
        let schema = std::fs::read(schema_file(&plugin)).unwrap();
        assert_eq!(oci::schema_of_layer(oci::LAYER, &layer), Some(schema), "{plugin}: the schema rides in the layer");
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

/// `hgw check` on `config` (a file in a fresh directory) with the module cache in `cache`.
fn check(config: &str, cache: &Path) -> (bool, String) {
    let dir = temp_dir();
    let path = dir.join("config.yaml");
    std::fs::write(&path, config).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_hgw"))
        .args(["check", "--config", &path.display().to_string()])
        .env("HGW_CACHE_DIR", cache)
        .output()
        .unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

/// The plugin's committed config schema (what `make build` ships beside its module).
fn schema_file(plugin: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plugins").join(plugin).join(oci::SCHEMA_FILE)
}

fn wasm_plugin(name: &str, url: &str, extra: &str) -> String {
    format!(
        "---\napiVersion: extensions.higress.io/v1alpha1\nkind: WasmPlugin\nmetadata: {{name: {name}, namespace: higress-system}}\nspec:\n  url: {url}\n{extra}"
    )
}

/// Pushes `plugin`'s module as an image to `registry`; its module and manifest digest.
fn push(registry: &Registry, plugin: &str, version: &str, dir: &Path) -> (Vec<u8>, String) {
    let module_path = higress_host::testing::build_plugin(plugin);
    let module = std::fs::read(&module_path).unwrap();
    let layout = dir.join(format!("{plugin}-layout"));
    let (ok, out, err) = hgw(&[
        "image",
        "--wasm",
        &module_path.display().to_string(),
        "--name",
        plugin,
        "--version",
        version,
        "--out",
        &layout.display().to_string(),
        "--extra",
        &schema_file(plugin).display().to_string(),
    ]);
    assert!(ok, "{err}");
    let digest = out.split_whitespace().last().unwrap().to_string();
    skopeo(&[
        "copy",
        "-q",
        "--dest-tls-verify=false",
        &format!("oci:{}:{version}", layout.display()),
        &format!("docker://{}/plugins/{plugin}:{version}", registry.address),
    ]);
    (module, digest)
}

#[test]
fn hgw_pulls_every_plugin_from_a_registry() {
    let mut registry = Registry::start();
    let dir = temp_dir();
    let cache = dir.join("cache");
    let mut config = String::new();
    let mut modules = Vec::new();
    for (plugin, version) in plugins() {
        let (module, _) = push(&registry, &plugin, &version, &dir);
        modules.push((plugin.clone(), module));
        config += &wasm_plugin(
            &plugin,
            &format!("oci://{}/plugins/{plugin}:{version}", registry.address),
            "  defaultConfigDisable: true\n",
        );
    }
    let (ok, out) = check(&config, &cache);
    assert!(ok, "{out}");
    // Each module pulled is the one pushed, kept by its sha256.
    for (plugin, module) in &modules {
        let hex = oci::digest(module).trim_start_matches("sha256:").to_string();
        assert_eq!(&std::fs::read(cache.join(format!("{hex}.wasm"))).unwrap_or_default(), module, "{plugin}");
        // With the schema its image carried.
        let schema = std::fs::read(schema_file(plugin)).unwrap();
        assert_eq!(std::fs::read(cache.join(format!("{hex}.schema.json"))).unwrap_or_default(), schema, "{plugin}");
    }

    // IfNotPresent (the default): the cache serves when the registry is gone; Always asks it.
    let url = format!("oci://{}/plugins/hello-world:0.1.0", registry.address);
    let one = wasm_plugin("hello", &url, "  defaultConfigDisable: true\n");
    registry.child.kill().unwrap();
    let _ = registry.child.wait();
    let (ok, out) = check(&one, &cache);
    assert!(ok, "{out}");
    // The pulled schema checks configs: a wrong type is named before any module starts.
    let url = format!("oci://{}/plugins/key-auth:0.1.0", registry.address);
    let wrong = wasm_plugin("auth", &url, "  defaultConfig: {keys: x-api-key, consumers: []}\n");
    let (ok, out) = check(&wrong, &cache);
    assert!(!ok);
    assert!(
        out.contains("spec.defaultConfig.keys: WasmPlugin higress-system.auth: \"x-api-key\" is not of type \"array\""),
        "{out}"
    );
    let url = format!("oci://{}/plugins/hello-world:0.1.0", registry.address);
    let always = wasm_plugin("hello", &url, "  imagePullPolicy: Always\n  defaultConfigDisable: true\n");
    let (ok, out) = check(&always, &cache);
    assert!(!ok);
    assert!(out.contains("WasmPlugin higress-system.hello") && out.contains(&url), "{out}");
    // Nothing cached and no registry: the error names the plugin, the URL and why.
    let (ok, out) = check(&one, &dir.join("empty-cache"));
    assert!(!ok);
    assert!(out.contains("spec.url: WasmPlugin higress-system.hello: `oci://"), "{out}");
    assert!(out.to_ascii_lowercase().contains("connect") || out.contains("refused"), "{out}");
}

#[test]
fn a_wrong_sha256_or_a_missing_image_is_refused() {
    let registry = Registry::start();
    let dir = temp_dir();
    let (module, digest) = push(&registry, "hello-world", "0.1.0", &dir);
    let url = format!("oci://{}/plugins/hello-world:0.1.0", registry.address);
    let sha = oci::digest(&module);
    let module_sha = sha.trim_start_matches("sha256:");
    for good in [module_sha, digest.trim_start_matches("sha256:")] {
        let config = wasm_plugin("hello", &url, &format!("  sha256: {good}\n  defaultConfigDisable: true\n"));
        let (ok, out) = check(&config, &dir.join(format!("cache-{good}")));
        assert!(ok, "{out}");
    }
    let wrong = "0".repeat(64);
    let config = wasm_plugin("hello", &url, &format!("  sha256: {wrong}\n  defaultConfigDisable: true\n"));
    let (ok, out) = check(&config, &dir.join("cache-wrong"));
    assert!(!ok);
    assert!(out.contains("spec.sha256") && out.contains("does not match"), "{out}");

    let missing = format!("oci://{}/plugins/nothing:1.0", registry.address);
    let (ok, out) =
        check(&wasm_plugin("nothing", &missing, "  defaultConfigDisable: true\n"), &dir.join("cache-missing"));
    assert!(!ok);
    assert!(out.contains(&missing) && out.contains("404"), "{out}");
    let (ok, out) = check(&wasm_plugin("bad", "oci://nothing-here", ""), &dir.join("c"));
    assert!(!ok && out.contains("spec.url"), "{out}");
}

#[test]
fn the_oci_artifact_form_and_plain_http_modules_load_too() {
    let registry = Registry::start();
    let dir = temp_dir();
    let module = std::fs::read(higress_host::testing::build_plugin("hello-world")).unwrap();
    // The OCI artifact form: a wasm config and the raw module as the layer.
    let layout = dir.join("artifact");
    let blobs = layout.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let config = b"{}".to_vec();
    let manifest = serde_json::json!({"schemaVersion": 2, "mediaType": oci::MANIFEST,
        "config": {"mediaType": "application/vnd.module.wasm.config.v1+json", "digest": oci::digest(&config), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.module.wasm.content.layer.v1+wasm", "digest": oci::digest(&module), "size": module.len()}]});
    let manifest = serde_json::to_vec(&manifest).unwrap();
    for bytes in [&config, &module, &manifest] {
        std::fs::write(blobs.join(oci::digest(bytes).trim_start_matches("sha256:")), bytes).unwrap();
    }
    let index = serde_json::json!({"schemaVersion": 2, "manifests": [{"mediaType": oci::MANIFEST, "digest": oci::digest(&manifest),
        "size": manifest.len(), "annotations": {"org.opencontainers.image.ref.name": "1"}}]});
    std::fs::write(layout.join("index.json"), index.to_string()).unwrap();
    std::fs::write(layout.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    skopeo(&[
        "copy",
        "-q",
        "--dest-tls-verify=false",
        &format!("oci:{}:1", layout.display()),
        &format!("docker://{}/artifact/hello:1", registry.address),
    ]);
    let cache = dir.join("cache");
    let url = format!("oci://{}/artifact/hello:1", registry.address);
    // Kept in the chain (a default config): `hgw check` starts the pulled module.
    let (ok, out) = check(&wasm_plugin("hello", &url, "  defaultConfig: {}\n"), &cache);
    assert!(ok && out.contains("hello"), "{out}");
    let name = format!("{}.wasm", oci::digest(&module).trim_start_matches("sha256:"));
    assert_eq!(std::fs::read(cache.join(name)).unwrap(), module);

    // A module over HTTP: the registry's blob URL serves one.
    let http = format!("http://{}/v2/artifact/hello/blobs/{}", registry.address, oci::digest(&module));
    let (ok, out) = check(&wasm_plugin("hello", &http, "  defaultConfigDisable: true\n"), &dir.join("cache-http"));
    assert!(ok, "{out}");
}
