//! `make e2e` runs the suite through Higress's gateway image with an Envoy bootstrap that
//! `hgw envoy-config` generates from `e2e/config`, and docker-compose.yml. Docker does not
//! run here: these tests check that the bootstrap and the compose file are well formed and
//! complete, and that they agree with what the local gateway serves.

use crate::{hgw, temp_dir};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The plugins `e2e/config` names (`file://../../dist/<plugin>/plugin.wasm`).
fn e2e_plugins() -> BTreeSet<String> {
    let text = std::fs::read_to_string(workspace().join("e2e/config/plugins.yaml")).unwrap_or_else(|e| panic!("{e}"));
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("url: file://../../dist/"))
        .map(|rest| rest.trim_end_matches("/plugin.wasm").to_string())
        .collect()
}

/// A copy of `e2e/config` next to a `dist/` of freshly built modules, as `make build`
/// lays them out, so the test does not depend on an earlier `make build`.
fn e2e_copy() -> PathBuf {
    let root = temp_dir();
    let config = root.join("e2e/config");
    std::fs::create_dir_all(&config).unwrap_or_else(|e| panic!("{e}"));
    for entry in std::fs::read_dir(workspace().join("e2e/config")).unwrap_or_else(|e| panic!("{e}")).flatten() {
        std::fs::copy(entry.path(), config.join(entry.file_name())).unwrap_or_else(|e| panic!("{e}"));
    }
    for plugin in e2e_plugins() {
        let dir = root.join("dist").join(&plugin);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
        std::fs::copy(higress_host::testing::build_plugin(&plugin), dir.join("plugin.wasm"))
            .unwrap_or_else(|e| panic!("{e}"));
        // `make build` ships each schema beside its module: `hgw check` validates with it.
        std::fs::copy(
            workspace().join("plugins").join(&plugin).join("config.schema.json"),
            dir.join("config.schema.json"),
        )
        .unwrap_or_else(|e| panic!("{plugin}: {e}"));
    }
    config
}

fn bootstrap(config: &Path) -> Value {
    let (ok, stdout, stderr) =
        hgw(&["envoy-config", "--config", &config.display().to_string(), "--port", "10000", "--admin-port", "9901"]);
    assert!(ok, "{stderr}");
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{stdout}"))
}

#[test]
fn the_envoy_bootstrap_has_every_plugin_route_and_cluster() {
    let config = e2e_copy();
    let envoy = bootstrap(&config);
    let (ok, stdout, stderr) = hgw(&["check", "--config", &config.display().to_string()]);
    assert!(ok, "every e2e plugin starts with its e2e config: {stderr}");
    assert!(stdout.contains("configuration OK"));

    assert_eq!(envoy["admin"]["address"]["socket_address"]["port_value"], 9901);
    let listener = &envoy["static_resources"]["listeners"][0];
    assert_eq!(listener["address"]["socket_address"]["port_value"], 10000);
    let hcm = &listener["filter_chains"][0]["filters"][0]["typed_config"];
    assert_eq!(
        hcm["@type"],
        "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
    );

    // Filters: the plugins in chain order (AUTHN by priority, then the rest), router last.
    let filters = hcm["http_filters"].as_array().cloned().unwrap_or_default();
    let names: Vec<&str> = filters.iter().filter_map(|f| f["name"].as_str()).collect();
    // Every e2e plugin (however many there are), in the gateway's chain order, router last.
    let chain = higress_gateway::config::load(&config).unwrap_or_else(|e| panic!("{e}"));
    let mut expected: Vec<&str> = chain.plugins.iter().map(|p| p.name.as_str()).collect();
    expected.push("envoy.filters.http.router");
    assert_eq!(names, expected);
    let at = |name: &str| names.iter().position(|n| *n == name).unwrap_or_else(|| panic!("{name} missing: {names:?}"));
    for (earlier, later) in [
        ("higress-system.jwt-auth", "higress-system.hmac-auth"),
        ("higress-system.hmac-auth", "higress-system.basic-auth"),
        ("higress-system.basic-auth", "higress-system.key-auth"),
        ("higress-system.key-auth", "higress-system.hello-world"),
    ] {
        assert!(at(earlier) < at(later), "AUTHN by priority, then the rest: {names:?}");
    }
    let mut modules = BTreeSet::new();
    for filter in filters.iter().filter(|f| f["name"] != "envoy.filters.http.router") {
        let wasm = &filter["typed_config"]["config"];
        assert_eq!(filter["typed_config"]["@type"], "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm");
        assert_eq!(wasm["vm_config"]["runtime"], "envoy.wasm.runtime.v8");
        let file = wasm["vm_config"]["code"]["local"]["filename"].as_str().unwrap_or_default();
        let module = file
            .strip_prefix("/etc/envoy/plugins/")
            .and_then(|f| f.strip_suffix("/plugin.wasm"))
            .unwrap_or_else(|| panic!("{file}"));
        modules.insert(module.to_string());
        assert_eq!(wasm["configuration"]["@type"], "type.googleapis.com/google.protobuf.StringValue");
        let json: Value = serde_json::from_str(wasm["configuration"]["value"].as_str().unwrap_or_default())
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(json["_rules_"].is_array(), "{}: rules reach Envoy as _rules_", filter["name"]);
        assert_eq!(wasm["fail_open"], filter["name"] == "higress-system.hello-world");
    }
    assert_eq!(modules, e2e_plugins(), "every e2e plugin is loaded");

    // Clusters: every service, addressed by its Docker Compose name.
    let clusters: Vec<(String, String)> = envoy["static_resources"]["clusters"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|c| {
            let address =
                &c["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]["socket_address"];
            (
                c["name"].as_str().unwrap_or_default().to_string(),
                format!("{}:{}", address["address"].as_str().unwrap_or_default(), address["port_value"]),
            )
        })
        .collect();
    assert_eq!(
        clusters,
        [
            ("outbound|80||echo.static".to_string(), "echo:8080".to_string()),
            ("outbound|80||llm-mock.static".to_string(), "llm-mock:8080".to_string()),
            ("outbound|80||auth.static".to_string(), "auth:8080".to_string()),
            ("outbound|6379||redis.static".to_string(), "redis:6379".to_string()),
            // Google's token endpoint for ai-proxy's Vertex provider: the mock.
            ("outbound|443||vertex-auth.dns".to_string(), "llm-mock:8080".to_string()),
        ]
    );

    // Routes: one virtual host per domain; every route's cluster exists.
    let cluster_names: BTreeSet<&str> = clusters.iter().map(|(n, _)| n.as_str()).collect();
    let mut domains = BTreeSet::new();
    let mut routes = Vec::new();
    for vhost in hcm["route_config"]["virtual_hosts"].as_array().cloned().unwrap_or_default() {
        let domain = vhost["domains"][0].as_str().unwrap_or_default().to_string();
        assert!(domains.insert(domain.clone()), "domain {domain} in two virtual hosts (Envoy refuses that)");
        for route in vhost["routes"].as_array().cloned().unwrap_or_default() {
            assert!(cluster_names.contains(route["route"]["cluster"].as_str().unwrap_or_default()), "{route}");
            routes.push((domain.clone(), route["name"].as_str().unwrap_or_default().to_string()));
        }
    }
    let key_auth: Vec<&str> =
        routes.iter().filter(|(d, _)| d == "key-auth.e2e.local").map(|(_, r)| r.as_str()).collect();
    assert_eq!(
        key_auth,
        ["default/key-auth-admin", "default/key-auth"],
        "routes keep their order within a virtual host"
    );
    assert!(domains.contains("llm.e2e.local") && domains.contains("chain.e2e.local"));
}

#[test]
fn the_compose_file_runs_the_generated_bootstrap_with_every_service() {
    let text = std::fs::read_to_string(workspace().join("docker-compose.yml")).unwrap_or_else(|e| panic!("{e}"));
    let compose: Value = serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("docker-compose.yml: {e}"));
    let services = compose["services"].as_object().cloned().unwrap_or_default();
    let names: BTreeSet<&str> = services.keys().map(String::as_str).collect();
    assert_eq!(names, BTreeSet::from(["gateway", "echo", "llm-mock", "redis", "auth"]));

    let gateway = &services["gateway"];
    assert!(gateway["image"]
        .as_str()
        .unwrap_or_default()
        .contains("higress-registry.cn-hangzhou.cr.aliyuncs.com/higress/gateway:"));
    assert_eq!(gateway["entrypoint"], "/usr/local/bin/envoy");
    let command: Vec<&str> =
        gateway["command"].as_array().map(|c| c.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
    assert_eq!(command.get(..2), Some(&["-c", "/etc/envoy/envoy.json"][..]));
    let volumes: Vec<&str> =
        gateway["volumes"].as_array().map(|v| v.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
    assert!(volumes.contains(&"./target/e2e/envoy.json:/etc/envoy/envoy.json:ro"), "{volumes:?}");
    assert!(volumes.contains(&"./dist:/etc/envoy/plugins:ro"), "{volumes:?}");
    assert!(gateway["ports"]
        .as_array()
        .is_some_and(|p| p.iter().any(|p| p.as_str().is_some_and(|p| p.ends_with(":10000")))));

    // The upstreams listen where e2e/config's defaults point (echo:8080, llm-mock:8080,
    // auth:8080).
    for (service, binary) in [("echo", "echo-server"), ("llm-mock", "llm-mock"), ("auth", "auth-server")] {
        let command: Vec<&str> = services[service]["command"]
            .as_array()
            .map(|c| c.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        assert_eq!(command, [binary, "--listen", "0.0.0.0:8080"], "{service}");
        assert_eq!(services[service]["build"]["dockerfile"], "e2e/Dockerfile");
    }
    assert!(services["redis"]["image"].as_str().unwrap_or_default().starts_with("redis:"));
    let dockerfile = std::fs::read_to_string(workspace().join("e2e/Dockerfile")).unwrap_or_else(|e| panic!("{e}"));
    for binary in ["echo-server", "llm-mock", "auth-server"] {
        assert!(dockerfile.contains(&format!("--bin {binary}")), "{dockerfile}");
    }
}

/// Runs Envoy's API definitions (`e2e/envoy/check_bootstrap.py`, from `make xds-venv`) on
/// `files`: whether all are valid, and what it said.
fn envoy_check(files: &[PathBuf]) -> (bool, String) {
    let python = workspace().join("target/xds-venv/bin/python");
    assert!(
        python.is_file(),
        "{} is missing: `make xds-venv` installs Envoy's API definitions (make test does)",
        python.display()
    );
    let out = std::process::Command::new(python)
        .arg(workspace().join("e2e/envoy/check_bootstrap.py"))
        .args(files)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn envoys_api_definitions_accept_the_generated_bootstraps() {
    let dir = temp_dir();
    let configs = [e2e_copy(), workspace().join("e2e/bench-bare")];
    let mut files = Vec::new();
    for (i, config) in configs.iter().enumerate() {
        let (ok, out, err) = hgw(&["envoy-config", "--config", &config.display().to_string()]);
        assert!(ok, "{err}");
        let file = dir.join(format!("bootstrap-{i}.json"));
        std::fs::write(&file, out).unwrap();
        files.push(file);
    }
    let (ok, said) = envoy_check(&files);
    assert!(ok, "{said}");
    assert_eq!(said.matches(": valid (").count(), files.len(), "{said}");

    // The check is strict: a misspelt field or an extension Envoy lacks is refused, by name.
    let text = std::fs::read_to_string(&files[0]).unwrap();
    let misspelt = dir.join("misspelt.json");
    std::fs::write(&misspelt, text.replacen("\"stat_prefix\"", "\"stat_prefx\"", 1)).unwrap();
    let unknown = dir.join("unknown.json");
    std::fs::write(
        &unknown,
        text.replacen(
            "envoy.extensions.filters.http.router.v3.Router",
            "envoy.extensions.filters.http.rooter.v3.Router",
            1,
        ),
    )
    .unwrap();
    for (file, needle) in [(&misspelt, "stat_prefx"), (&unknown, "rooter")] {
        let (ok, said) = envoy_check(std::slice::from_ref(file));
        assert!(!ok, "{said}");
        assert!(said.contains(needle), "{said}");
    }
}
