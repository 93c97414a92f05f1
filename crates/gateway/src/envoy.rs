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
                        PathMatch::PathPrefix(p) => match p.trim_end_matches('/') {
                            "" => json!({"prefix": "/"}),
                            p => json!({"path_separated_prefix": p}),
                        },
                    };
                    let mut action = serde_json::Map::new();
                    action.insert("cluster".into(), json!(cluster));
                    action.insert("timeout".into(), json!(format!("{}s", route.timeout_ms as f64 / 1000.0)));
                    if let Some(rewrite) = rewrite(route) {
                        action.insert("regex_rewrite".into(), rewrite);
                    }
                    if let Some(host) = &route.host_rewrite {
                        action.insert("host_rewrite_literal".into(), json!(host));
                    }
                    json!({"name": route.name, "match": matcher, "route": action})
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

/// A route's path rewrite as Envoy's `regex_rewrite` (`\\1` groups). A prefix rewrite is
/// written as one too: Envoy's `prefix_rewrite` swaps the matched prefix byte for byte
/// (`/api` to `/` makes `/api/x` `//x`), where the local gateway keeps one slash.
fn rewrite(route: &crate::config::Route) -> Option<Value> {
    if let Some(regex) = &route.regex_rewrite {
        // `${1}` (how the route keeps groups) is Envoy's `\1`.
        let mut substitution = String::new();
        let mut rest = regex.substitution.as_str();
        while let Some(at) = rest.find("${") {
            substitution.push_str(rest.get(..at).unwrap_or_default());
            let tail = rest.get(at + 2..).unwrap_or_default();
            match tail.find('}') {
                Some(end) => {
                    substitution.push('\\');
                    substitution.push_str(tail.get(..end).unwrap_or_default());
                    rest = tail.get(end + 1..).unwrap_or_default();
                }
                None => {
                    substitution.push_str(rest.get(at..).unwrap_or_default());
                    rest = "";
                }
            }
        }
        substitution.push_str(rest);
        return Some(json!({"pattern": {"regex": regex.pattern}, "substitution": substitution}));
    }
    let to = route.prefix_rewrite.as_ref()?;
    let pattern = match &route.path {
        PathMatch::Prefix(p) | PathMatch::PathPrefix(p) => {
            let p = regex::escape(p.trim_end_matches('/'));
            if to.ends_with('/') {
                format!("^{p}/?")
            } else {
                format!("^{p}")
            }
        }
        PathMatch::Exact(p) => format!("^{}$", regex::escape(p)),
        PathMatch::Regex(r) => format!("^(?:{r})$"),
    };
    Some(json!({"pattern": {"regex": pattern}, "substitution": to}))
}
