//! Each built module imports only hostcalls its proxy provides: stock Envoy's proxy-wasm host
//! (proxy-wasm-cpp-host, ABI 0.2.1) plus, for a plugin that declares them in
//! `[package.metadata.higress] hostcalls`, Higress's extensions. A module that imports a
//! Higress-only hostcall it never calls fails to load in Envoy, Istio and Higress's own Go
//! test host.

use higress_checks::plugins;
use higress_host::testing;

/// proxy-wasm-cpp-host's `FOR_ALL_HOST_FUNCTIONS`, plus the 0.2.1-specific ones.
const STOCK_PROXY: &[&str] = &[
    "proxy_log",
    "proxy_get_status",
    "proxy_set_property",
    "proxy_get_property",
    "proxy_send_local_response",
    "proxy_get_shared_data",
    "proxy_set_shared_data",
    "proxy_register_shared_queue",
    "proxy_resolve_shared_queue",
    "proxy_dequeue_shared_queue",
    "proxy_enqueue_shared_queue",
    "proxy_get_header_map_value",
    "proxy_add_header_map_value",
    "proxy_replace_header_map_value",
    "proxy_remove_header_map_value",
    "proxy_get_header_map_pairs",
    "proxy_set_header_map_pairs",
    "proxy_get_header_map_size",
    "proxy_get_buffer_status",
    "proxy_get_buffer_bytes",
    "proxy_set_buffer_bytes",
    "proxy_http_call",
    "proxy_grpc_call",
    "proxy_grpc_stream",
    "proxy_grpc_close",
    "proxy_grpc_cancel",
    "proxy_grpc_send",
    "proxy_set_tick_period_milliseconds",
    "proxy_get_current_time_nanoseconds",
    "proxy_define_metric",
    "proxy_increment_metric",
    "proxy_record_metric",
    "proxy_get_metric",
    "proxy_set_effective_context",
    "proxy_done",
    "proxy_call_foreign_function",
    "proxy_continue_stream",
    "proxy_close_stream",
    "proxy_get_log_level",
];

/// proxy-wasm-cpp-host's `FOR_ALL_WASI_FUNCTIONS` (module `wasi_snapshot_preview1`).
const STOCK_WASI: &[&str] = &[
    "fd_write",
    "fd_read",
    "fd_seek",
    "fd_close",
    "fd_fdstat_get",
    "environ_get",
    "environ_sizes_get",
    "args_get",
    "args_sizes_get",
    "clock_time_get",
    "random_get",
    "proc_exit",
    "path_open",
    "fd_prestat_get",
    "fd_prestat_dir_name",
];

/// Higress's additions to the host (its proxy-wasm-cpp-host fork).
const HIGRESS_EXTENSIONS: &[&str] = &[
    "proxy_redis_init",
    "proxy_redis_call",
    "proxy_inject_encoded_data_to_filter_chain",
    "proxy_get_upstream_hosts",
    "proxy_set_upstream_override_host",
];

#[test]
fn modules_import_only_what_their_proxy_provides() {
    let (_, plugins) = plugins();
    assert!(plugins.iter().any(|p| p.name == "key-auth"), "no plugins found: {plugins:?}");
    let mut problems = Vec::new();
    for plugin in &plugins {
        for hostcall in &plugin.extension_hostcalls {
            if !HIGRESS_EXTENSIONS.contains(&hostcall.as_str()) {
                problems.push(format!("{}: declares unknown hostcall {hostcall}", plugin.name));
            }
        }
        let module = testing::plugin(&plugin.name);
        for (module_name, name) in module.imports() {
            let allowed = match module_name.as_str() {
                "env" => STOCK_PROXY.contains(&name.as_str()) || plugin.extension_hostcalls.contains(&name),
                "wasi_snapshot_preview1" => STOCK_WASI.contains(&name.as_str()),
                _ => false,
            };
            if !allowed {
                let hint = if HIGRESS_EXTENSIONS.contains(&name.as_str()) {
                    " (a Higress extension: declare it in [package.metadata.higress] hostcalls if the plugin calls it)"
                } else {
                    ""
                };
                problems.push(format!("{}: imports {module_name}.{name}{hint}", plugin.name));
            }
        }
    }
    assert!(problems.is_empty(), "modules import hostcalls their proxy lacks:\n  {}", problems.join("\n  "));
}

#[test]
fn plugins_without_redis_import_no_redis_hostcall() {
    for name in ["hello-world", "key-auth", "basic-auth", "jwt-auth", "hmac-auth"] {
        let imports = testing::plugin(name).imports();
        let redis: Vec<_> = imports.iter().filter(|(_, n)| n.starts_with("proxy_redis")).collect();
        assert!(redis.is_empty(), "{name} imports {redis:?}");
    }
    let counter = testing::plugin("redis-counter").imports();
    assert!(counter.iter().any(|(_, n)| n == "proxy_redis_call"), "redis-counter uses Redis: {counter:?}");
}
