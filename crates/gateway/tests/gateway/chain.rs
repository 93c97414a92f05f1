//! WasmPlugin resources as the gateway serves them: rules by route, domain and service,
//! disabled rules and default configs, chain order, the properties plugins read.

use crate::{echo_routes, Gw};
use std::collections::BTreeSet;

const RULES: &str = r#"
kind: Service
name: echo.static
port: 80
address: {echo}
---
kind: Service
name: echo2.static
port: 80
address: {echo}
---
kind: Route
name: default/by-route
domains: [ingress.test]
service: echo.static
---
kind: Route
name: by-domain
domains: [domain.test, disabled.test, other.test, only.test]
service: echo.static
---
kind: Route
name: by-service
domains: [service.test]
service: echo2.static
---
apiVersion: extensions.higress.io/v1alpha1
kind: WasmPlugin
metadata: {name: hello, namespace: higress-system}
spec:
  url: file://{plugin:hello-world}
  defaultConfig: {header: x-default}
  matchRules:
    - ingress: [default/by-route]
      config: {header: x-by-route}
    - domain: [domain.test]
      config: {header: x-by-domain}
    - domain: [disabled.test]
      configDisable: true
      config: {header: x-disabled}
    - service: [echo2.static:80]
      config: {header: x-by-service}
---
apiVersion: extensions.higress.io/v1alpha1
kind: WasmPlugin
metadata: {name: hello-only, namespace: higress-system}
spec:
  url: file://{plugin:hello-world}
  defaultConfigDisable: true
  defaultConfig: {header: x-never}
  matchRules:
    - domain: [only.test]
      config: {header: x-only}
"#;

#[test]
fn rules_by_route_domain_and_service_as_higress_translates_them() {
    let echo = higress_e2e::echo::spawn().to_string();
    let gw = Gw::start(RULES, &echo, 1);
    let headers = |host: &str| -> BTreeSet<String> {
        let reply = gw.client().get(host, "/").send();
        assert_eq!(reply.status, 200, "{host}: {}", reply.text());
        let echo = reply.echo();
        ["x-default", "x-by-route", "x-by-domain", "x-disabled", "x-by-service", "x-only", "x-never"]
            .into_iter()
            .filter(|h| echo.header(h).is_some())
            .map(str::to_string)
            .collect()
    };
    let set = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(headers("ingress.test"), set(&["x-by-route"]));
    assert_eq!(headers("domain.test"), set(&["x-by-domain"]));
    assert_eq!(headers("service.test"), set(&["x-by-service"]));
    assert_eq!(headers("other.test"), set(&["x-default"]));
    // A disabled rule is dropped: the default config applies.
    assert_eq!(headers("disabled.test"), set(&["x-default"]));
    // defaultConfigDisable: the plugin acts on its rule's domain only.
    assert_eq!(headers("only.test"), set(&["x-default", "x-only"]));
}

/// Each domain has two plugins that both answer; the one that runs first is seen.
const ORDER: &str = r#"
apiVersion: extensions.higress.io/v1alpha1
kind: WasmPlugin
metadata: {name: late-but-important}
spec:
  url: file://{plugin:hello-world}
  phase: UNSPECIFIED_PHASE
  priority: 1000
  defaultConfigDisable: true
  matchRules: [{domain: [phase.test], config: {reply: unspecified-phase}}]
---
apiVersion: extensions.higress.io/v1alpha1
kind: WasmPlugin
metadata: {name: authn-low}
spec:
  url: file://{plugin:hello-world}
  phase: AUTHN
  priority: 1
  defaultConfigDisable: true
  matchRules: [{domain: [phase.test], config: {reply: authn}}]
---
apiVersion: extensions.higress.io/v1alpha1
kind: WasmPlugin
metadata: {name: authz-10}
spec:
  url: file://{plugin:hello-world}
  phase: AUTHZ
  priority: 10
  defaultConfigDisable: true
  matchRules: [{domain: [priority.test], config: {reply: priority-10}}]
---
apiVersion: extensions.higress.io/v1alpha1
kind: WasmPlugin
metadata: {name: authz-20}
spec:
  url: file://{plugin:hello-world}
  phase: AUTHZ
  priority: 20
  defaultConfigDisable: true
  matchRules: [{domain: [priority.test], config: {reply: priority-20}}]
---
apiVersion: extensions.higress.io/v1alpha1
kind: WasmPlugin
metadata: {name: stats}
spec:
  url: file://{plugin:hello-world}
  phase: STATS
  defaultConfigDisable: true
  matchRules: [{domain: [stats.test], config: {reply: stats}}]
---
apiVersion: extensions.higress.io/v1alpha1
kind: WasmPlugin
metadata: {name: authz-late}
spec:
  url: file://{plugin:hello-world}
  phase: AUTHZ
  priority: -5
  defaultConfigDisable: true
  matchRules: [{domain: [stats.test], config: {reply: authz}}]
"#;

#[test]
fn chain_order_is_phase_then_priority() {
    let echo = higress_e2e::echo::spawn().to_string();
    let config = format!("{}---\n{ORDER}", echo_routes(&["phase.test", "priority.test", "stats.test"]));
    let gw = Gw::start(&config, &echo, 1);
    for (host, first) in [("phase.test", "authn"), ("priority.test", "priority-20"), ("stats.test", "authz")] {
        let reply = gw.client().get(host, "/").send();
        assert_eq!((reply.status, reply.text().as_str()), (200, first), "{host}");
    }
}

/// Plugins that run the same file share one compiled module (each with its own VMs and
/// configuration, as the chain order test above shows); another file gets its own.
#[test]
fn a_module_file_is_compiled_once() {
    let dir = crate::temp_dir();
    let config = dir.join("gateway.yaml");
    let routes = echo_routes(&["phase.test", "priority.test", "stats.test"]);
    let yaml =
        format!("{routes}---\n{ORDER}{}", crate::wasm_plugin("other", "key-auth", "  defaultConfigDisable: true\n"));
    std::fs::write(&config, crate::render(&yaml, "127.0.0.1:1")).unwrap_or_else(|e| panic!("{e}"));
    let prepared = higress_gateway::prepare(&config).unwrap_or_else(|e| panic!("{e}"));
    let modules: Vec<(&str, &higress_host::Plugin)> =
        prepared.plugins.iter().map(|(spec, plugin)| (spec.name.as_str(), plugin)).collect();
    let (hello, other): (Vec<_>, Vec<_>) = modules.iter().partition(|(name, _)| *name != "other");
    assert!(hello.len() >= 2, "{:?}", modules.iter().map(|m| m.0).collect::<Vec<_>>());
    assert!(hello.iter().all(|(_, plugin)| plugin.same_module(hello[0].1)));
    assert!(other.iter().all(|(_, plugin)| !plugin.same_module(hello[0].1)));
    let _ = std::fs::remove_dir_all(&dir);
}

const PROBE: &str = r#"
apiVersion: extensions.higress.io/v1alpha1
kind: WasmPlugin
metadata: {name: probe, namespace: demo}
spec:
  url: file://{plugin:sdk-probe}
  defaultConfig:
    tag: global
    upstream: {service_name: echo.static, service_port: 80}
"#;

#[test]
fn plugins_see_route_cluster_source_and_plugin_name() {
    let echo = higress_e2e::echo::spawn().to_string();
    let gw = Gw::start(&format!("{}---\n{PROBE}", echo_routes(&["props.test"])), &echo, 1);
    let reply = gw.client().get("props.test", "/p").header("x-probe", "property").send();
    let upstream = reply.echo();
    assert_eq!(upstream.header("x-route").as_deref(), Some("props.test"));
    assert_eq!(upstream.header("x-cluster").as_deref(), Some("outbound|80||echo.static"));
    assert!(
        upstream.header("x-source").is_some_and(|s| s.starts_with("127.0.0.1:")),
        "{:?}",
        upstream.header("x-source")
    );
    assert_eq!(upstream.header("x-probe-tag").as_deref(), Some("global"));
}

#[test]
fn http_callouts_reach_the_configured_service() {
    let echo = higress_e2e::echo::spawn().to_string();
    let gw = Gw::start(&format!("{}---\n{PROBE}", echo_routes(&["callout.test"])), &echo, 2);
    let reply = gw.client().get("callout.test", "/").header("x-probe", "http").send();
    let upstream = reply.echo();
    assert_eq!(upstream.header("x-callout-status").as_deref(), Some("200"));
    let body: serde_json::Value =
        serde_json::from_str(&upstream.header("x-callout-body").unwrap_or_default()).unwrap_or_default();
    assert_eq!(body["path"], "/echo?probe=1");
    assert_eq!(body["headers"]["x-probe-out"][0], "1");
}

#[test]
fn shared_data_is_shared_by_every_worker_and_custom_log_reaches_the_access_log() {
    let echo = higress_e2e::echo::spawn().to_string();
    let gw = Gw::start(&format!("{}---\n{PROBE}", echo_routes(&["shared.test"])), &echo, 2);
    let values: BTreeSet<u64> = (0..20)
        .map(|_| {
            gw.client()
                .get("shared.test", "/")
                .header("x-probe", "shared-incr")
                .send()
                .echo()
                .header("x-shared")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        })
        .collect();
    assert_eq!(values, (1..=20).collect::<BTreeSet<u64>>(), "one counter across the workers' VMs");

    let reply = gw
        .client()
        .get("shared.test", "/attributes")
        .header("x-probe", "attributes")
        .header("x-request-id", "req-attributes-1")
        .send();
    assert_eq!(reply.status, 200);
    let log = gw.wait_for(Gw::access_log, "req-attributes-1");
    let line = log.lines().find(|l| l.contains("req-attributes-1")).unwrap_or_default().to_string();
    assert!(line.contains("\"GET /attributes\" 200 route=shared.test upstream=outbound|80||echo.static"), "{line}");
    assert!(line.contains(r#"attributes={"n":5,"probe":"yes"}"#), "{line}");
}

#[test]
fn leader_election_picks_one_vm_across_the_workers() {
    let echo = higress_e2e::echo::spawn().to_string();
    let spec = "  defaultConfig: {leader_lease_secs: 30}\n";
    let gw = Gw::start(&(echo_routes(&["leader.test"]) + &crate::wasm_plugin("probe", "sdk-probe", spec)), &echo, 2);
    // Many requests at once, so both workers' VMs answer some.
    let answers: Vec<(String, String)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..40)
            .map(|_| {
                scope.spawn(|| {
                    let echo = gw.client().get("leader.test", "/").header("x-probe", "leader").send().echo();
                    (echo.header("x-vm-id").unwrap_or_default(), echo.header("x-leader").unwrap_or_default())
                })
            })
            .collect();
        handles.into_iter().filter_map(|h| h.join().ok()).collect()
    });
    assert_eq!(answers.len(), 40);
    let leaders: BTreeSet<&str> = answers.iter().filter(|(_, l)| l == "true").map(|(vm, _)| vm.as_str()).collect();
    let others: BTreeSet<&str> = answers.iter().filter(|(_, l)| l != "true").map(|(vm, _)| vm.as_str()).collect();
    assert!(leaders.len() <= 1, "one leader at most: {leaders:?}");
    assert!(leaders.is_disjoint(&others), "a VM is leader or not, consistently: {answers:?}");
    // The VM that started first took the lease at once; every VM that answered agrees on it.
    if leaders.is_empty() {
        assert!(others.len() == 1, "the only VM that answered is not the leader, so the other worker's is: {others:?}");
    }
}

#[test]
fn a_chain_mixes_a_go_plugin_built_as_higress_builds_them_with_ours() {
    // The Go fixture (crates/host/tests/go-fixture, `make go-venv`) before sdk-probe.
    let echo = higress_e2e::echo::spawn().to_string();
    let go = higress_host::testing::go_fixture();
    let config = format!(
        "{}---\n{PROBE}---\napiVersion: extensions.higress.io/v1alpha1\nkind: WasmPlugin\nmetadata: {{name: go}}\n\
         spec:\n  url: file://{}\n  priority: 10\n  defaultConfig: {{}}\n",
        echo_routes(&["go.test"]),
        go.display()
    );
    let gw = Gw::start(&config, &echo, 1);
    for n in 1..=3 {
        let reply = gw.client().get("go.test", "/").header("x-go-echo", "from the client").send();
        assert_eq!(reply.status, 200, "{}", reply.text());
        assert_eq!(reply.header("x-go-fixture"), Some(n.to_string().as_str()), "the Go plugin answered");
        assert_eq!(reply.header("x-go-echo"), Some("from the client"));
        assert_eq!(reply.echo().header("x-probe-tag").as_deref(), Some("global"), "sdk-probe ran too");
    }
    assert!(!gw.stderr().contains("failed"), "{}", gw.stderr());
}
