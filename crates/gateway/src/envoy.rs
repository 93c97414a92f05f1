//! An Envoy bootstrap for Higress's gateway image, generated from the configuration the local
//! gateway serves, so both run the same routes, services and plugin chain.
//!
//! Each plugin becomes an `envoy.filters.http.wasm` filter (V8, `code.local.filename` under
//! `plugin_dir`, its JSON as a `StringValue`, `fail_open` from `failStrategy`) in chain order;
//! each service a cluster named `outbound|<port>||<name>`; routes become virtual hosts with
//! the route names plugins match.

use crate::config::{FailStrategy, GatewayConfig, PathMatch};
use serde_json::{json, Value};
use std::path::Path;

/// Options of the generated bootstrap.
pub struct EnvoyOptions<'a> {
    /// Where the modules are inside the container: `<plugin_dir>/<plugin>/plugin.wasm`.
    pub plugin_dir: &'a str,
    /// HTTP listener port.
    pub port: u16,
    /// Admin port.
    pub admin_port: u16,
}

/// The bootstrap, as JSON (Envoy reads YAML and JSON alike).
pub fn bootstrap(config: &GatewayConfig, options: &EnvoyOptions<'_>) -> Value {
    let mut filters: Vec<Value> = config
        .plugins
        .iter()
        .map(|plugin| {
            let module = plugin.wasm.parent().and_then(Path::file_name).map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| plugin.name.clone());
            let mut config = json!({
                "name": plugin.name,
                "fail_open": plugin.fail_strategy == FailStrategy::FailOpen,
                "vm_config": {
                    "vm_id": plugin.name,
                    "runtime": "envoy.wasm.runtime.v8",
                    "code": {"local": {"filename": format!("{}/{module}/plugin.wasm", options.plugin_dir.trim_end_matches('/'))}}
                }
            });
            if let (Some(value), Some(map)) = (&plugin.config, config.as_object_mut()) {
                map.insert(
                    "configuration".into(),
                    json!({"@type": "type.googleapis.com/google.protobuf.StringValue", "value": value.to_string()}),
                );
            }
            json!({
                "name": plugin.name,
                "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm", "config": config}
            })
        })
        .collect();
    filters.push(json!({"name": "envoy.filters.http.router", "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}));

    // The local gateway's virtual hosts, one per domain, each with its routes in order.
    let virtual_hosts: Vec<Value> = config
        .routes
        .virtual_hosts()
        .enumerate()
        .map(|(i, (domain, routes))| {
            let routes: Vec<Value> = routes
                .into_iter()
                .map(|route| {
                    let cluster = config.service(&route.service).map(|s| s.cluster()).unwrap_or_default();
                    let matcher = match &route.path {
                        PathMatch::Prefix(p) => json!({"prefix": p}),
                        PathMatch::Exact(p) => json!({"path": p}),
                        PathMatch::Regex(r) => json!({"safe_regex": {"regex": r}}),
                    };
                    json!({
                        "name": route.name,
                        "match": matcher,
                        "route": {"cluster": cluster, "timeout": format!("{}s", route.timeout_ms as f64 / 1000.0)}
                    })
                })
                .collect();
            json!({"name": format!("vhost-{i}"), "domains": [domain], "routes": routes})
        })
        .collect();

    let clusters: Vec<Value> = config
        .services
        .iter()
        .map(|service| {
            let (host, port) = service.address.rsplit_once(':').unwrap_or((service.address.as_str(), "80"));
            let port: u16 = port.parse().unwrap_or(80);
            json!({
                "name": service.cluster(),
                "connect_timeout": "5s",
                "type": "STRICT_DNS",
                "dns_lookup_family": "V4_ONLY",
                "lb_policy": "ROUND_ROBIN",
                "load_assignment": {
                    "cluster_name": service.cluster(),
                    "endpoints": [{"lb_endpoints": [{"endpoint": {"address": {"socket_address": {"address": host, "port_value": port}}}}]}]
                }
            })
        })
        .collect();

    json!({
        "admin": {"address": {"socket_address": {"address": "0.0.0.0", "port_value": options.admin_port}}},
        "static_resources": {
            "listeners": [{
                "name": "listener_http",
                "address": {"socket_address": {"address": "0.0.0.0", "port_value": options.port}},
                "filter_chains": [{"filters": [{
                    "name": "envoy.filters.network.http_connection_manager",
                    "typed_config": {
                        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                        "stat_prefix": "ingress_http",
                        "generate_request_id": true,
                        "strip_any_host_port": true,
                        "access_log": [{"name": "envoy.access_loggers.stdout", "typed_config": {"@type": "type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog"}}],
                        "route_config": {"name": "local_route", "virtual_hosts": virtual_hosts},
                        "http_filters": filters
                    }
                }]}]
            }],
            "clusters": clusters
        }
    })
}
