//! Gateway configuration: a directory (or one file) of YAML documents.
//!
//! - `WasmPlugin` (`extensions.higress.io/v1alpha1`): Higress's own resource, turned into the
//!   plugin JSON with `_rules_` exactly as the Higress controller does.
//! - `Route`: a name (the `route_name` plugins match with `ingress:`), domains, a path match and
//!   the target service.
//! - `Service`: a Higress-style service name (`echo.static`, `redis.dns`), its port and where it
//!   really is; its cluster is `outbound|<port>||<name>`, as plugins compute it.
//!
//! `${VAR}` and `${VAR:-default}` in a file are replaced by environment variables first, so
//! one file serves the local gateway and the Docker setup. Any error names the file, the
//! document, the path inside it and the reason.

mod expand;
mod ingress;
mod module;
mod route;
pub mod schema;
mod service;
mod wasmplugin;

pub use route::{PathMatch, Route, RouteTable};
pub use service::Service;
pub use wasmplugin::{FailStrategy, PluginSpec};

use serde::de::DeserializeOwned;
use serde_json::Value;
use std::fmt;
use std::path::{Path, PathBuf};

/// A configuration error: where and why.
#[derive(Debug)]
pub struct ConfigError {
    /// The file.
    pub file: PathBuf,
    /// Which document of the file (1-based), when it is about one.
    pub document: Option<usize>,
    /// Path inside the document (`spec.matchRules[1].domain`).
    pub path: String,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(doc) = self.document {
            write!(f, " (document {doc})")?;
        }
        if !self.path.is_empty() {
            write!(f, ": {}", self.path)?;
        }
        write!(f, ": {}", self.reason)
    }
}

impl std::error::Error for ConfigError {}

/// Everything the gateway serves.
#[derive(Debug, Default, Clone)]
pub struct GatewayConfig {
    /// Plugins in chain order (phase, then priority, then name).
    pub plugins: Vec<PluginSpec>,
    /// Routes.
    pub routes: RouteTable,
    /// Services by name.
    pub services: Vec<Service>,
}

impl GatewayConfig {
    /// The service a route or a callout targets, by cluster name.
    pub fn service_by_cluster(&self, cluster: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.cluster() == cluster)
    }

    /// The service named `name` (or `name:port`, as Ingress backends name them).
    pub fn service(&self, name: &str) -> Option<&Service> {
        ingress::resolve(&self.services, name)
    }
}

/// Loads a file, or every `.yaml`/`.yml` file of a directory (sorted by name).
pub fn load(path: &Path) -> Result<GatewayConfig, ConfigError> {
    let files = if path.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| error(path, None, "", format!("cannot read the directory: {e}")))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
            .collect();
        files.sort();
        files
    } else {
        vec![path.to_path_buf()]
    };
    if files.is_empty() {
        return Err(error(path, None, "", "no .yaml or .yml file".into()));
    }
    let mut config = GatewayConfig::default();
    let mut routes = Vec::new();
    for file in &files {
        load_file(file, &mut config, &mut routes)?;
    }
    config.plugins.sort_by_key(PluginSpec::order_key);
    for route in &routes {
        if ingress::resolve(&config.services, &route.service).is_none() {
            return Err(error(
                &route.file,
                Some(route.document),
                "service",
                format!("route `{}` targets unknown service `{}`", route.name, route.service),
            ));
        }
    }
    config.routes = RouteTable::new(routes);
    Ok(config)
}

fn error(file: &Path, document: Option<usize>, path: &str, reason: String) -> ConfigError {
    ConfigError { file: file.to_path_buf(), document, path: path.to_string(), reason }
}

fn load_file(file: &Path, config: &mut GatewayConfig, routes: &mut Vec<Route>) -> Result<(), ConfigError> {
    let text = std::fs::read_to_string(file).map_err(|e| error(file, None, "", format!("cannot read: {e}")))?;
    let text = expand::env_vars(&text).map_err(|reason| error(file, None, "", reason))?;
    let base = file.parent().unwrap_or(Path::new("."));
    for (i, document) in serde_yaml_ng::Deserializer::from_str(&text).enumerate() {
        let doc = i + 1;
        let value = <serde_yaml_ng::Value as serde::Deserialize>::deserialize(document)
            .map_err(|e| error(file, Some(doc), "", format!("invalid YAML: {e}")))?;
        let value: Value =
            serde_json::to_value(&value).map_err(|e| error(file, Some(doc), "", format!("unsupported YAML: {e}")))?;
        if value.is_null() {
            continue;
        }
        let kind = value.get("kind").and_then(Value::as_str).unwrap_or_default().to_string();
        match kind.as_str() {
            "WasmPlugin" => {
                let plugin: wasmplugin::WasmPlugin = typed(file, doc, value)?;
                let spec = plugin.into_spec(base).map_err(|(path, reason)| error(file, Some(doc), &path, reason))?;
                if let Some(spec) = spec {
                    if config.plugins.iter().any(|p| p.name == spec.name) {
                        return Err(error(
                            file,
                            Some(doc),
                            "metadata.name",
                            format!("duplicate WasmPlugin `{}`", spec.name),
                        ));
                    }
                    config.plugins.push(spec);
                }
            }
            "Route" => {
                let mut route: Route = typed(file, doc, value)?;
                route.prepare().map_err(|(path, reason)| error(file, Some(doc), &path, reason))?;
                route.file = file.to_path_buf();
                route.document = doc;
                if routes.iter().any(|r: &Route| r.name == route.name) {
                    return Err(error(file, Some(doc), "name", format!("duplicate route `{}`", route.name)));
                }
                routes.push(route);
            }
            "Service" => {
                let mut service: Service = typed(file, doc, value)?;
                service.prepare().map_err(|(path, reason)| error(file, Some(doc), &path, reason))?;
                if config.services.iter().any(|s| s.name == service.name && s.port == service.port) {
                    return Err(error(file, Some(doc), "name", format!("duplicate service `{}`", service.name)));
                }
                config.services.push(service);
            }
            "Ingress" => {
                let version = value.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
                if version != "networking.k8s.io/v1" {
                    return Err(error(
                        file,
                        Some(doc),
                        "apiVersion",
                        format!("`{version}`: expected networking.k8s.io/v1"),
                    ));
                }
                let ingress: ingress::Ingress = typed(file, doc, value)?;
                let derived =
                    ingress.into_routes(file, doc).map_err(|(path, reason)| error(file, Some(doc), &path, reason))?;
                for mut route in derived {
                    route.prepare().map_err(|(path, reason)| error(file, Some(doc), &path, reason))?;
                    routes.push(route);
                }
            }
            "McpBridge" => {
                let bridge: ingress::McpBridge = typed(file, doc, value)?;
                let services =
                    bridge.into_services().map_err(|(path, reason)| error(file, Some(doc), &path, reason))?;
                for (mut service, at) in services {
                    service
                        .prepare()
                        .map_err(|(path, reason)| error(file, Some(doc), &format!("{at}.{path}"), reason))?;
                    if config.services.iter().any(|s| s.name == service.name && s.port == service.port) {
                        return Err(error(file, Some(doc), &at, format!("duplicate service `{}`", service.name)));
                    }
                    config.services.push(service);
                }
            }
            "" => {
                return Err(error(
                    file,
                    Some(doc),
                    "kind",
                    "missing (WasmPlugin, Ingress, McpBridge, Route or Service)".into(),
                ))
            }
            other => {
                return Err(error(
                    file,
                    Some(doc),
                    "kind",
                    format!("unknown kind `{other}` (WasmPlugin, Ingress, McpBridge, Route or Service)"),
                ))
            }
        }
    }
    Ok(())
}

fn typed<T: DeserializeOwned>(file: &Path, doc: usize, value: Value) -> Result<T, ConfigError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let path = if path == "." { String::new() } else { path };
        error(file, Some(doc), &path, e.into_inner().to_string())
    })
}
