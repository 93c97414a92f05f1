//! Kubernetes `Ingress` (`networking.k8s.io/v1`) and Higress's `McpBridge`
//! (`networking.higress.io/v1`), read as Higress reads them, into routes and services.
//!
//! - An Ingress's routes are named `<namespace>/<name>`, what WasmPlugin `ingress:` rules
//!   name. Each rule's host (wildcards kept) and path become a route, in order, then the
//!   `defaultBackend` for every host.
//! - Path types: `Exact`; `Prefix` by whole segments; `ImplementationSpecific` is a plain
//!   prefix, or a regular expression with `higress.io/use-regex: "true"`.
//! - A service backend `svc` port `N` in namespace `ns` is the service
//!   `svc.ns.svc.cluster.local` with port N. A Service document of hgw gives its address.
//! - `higress.io/destination` (`name.static`, `name.dns`, with an optional `:port`) names a
//!   service of an McpBridge registry instead (the backend is then an McpBridge resource).
//! - Annotations: `higress.io/` and `nginx.ingress.kubernetes.io/` `rewrite-target`,
//!   `upstream-vhost`, `use-regex` and `timeout` (seconds the upstream may take to answer,
//!   as Higress reads it), and `higress.io/destination`. Any other annotation of
//!   those two prefixes is refused, naming it: an Ingress never runs differently from what it
//!   says without a word.
//! - McpBridge registries of type `static` (`name.static`, port 80: its `domain` lists
//!   `ip:port` addresses, the first is used) and `dns` (`name.dns`, its `port`).

use super::route::{PathMatch, RegexRewrite, Route};
use super::service::Service;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

type Failure = (String, String);

/// The annotations the local gateway understands, without their prefix.
const SUPPORTED: [&str; 5] = ["rewrite-target", "upstream-vhost", "use-regex", "timeout", "destination"];
const PREFIXES: [&str; 2] = ["higress.io/", "nginx.ingress.kubernetes.io/"];
/// The ingress class served (`ingressClassName` or `kubernetes.io/ingress.class`; none:
/// served too, as Higress serves Ingresses without a class by default).
const CLASS: &str = "higress";

#[derive(Deserialize)]
pub(super) struct Ingress {
    metadata: Metadata,
    #[serde(default)]
    spec: IngressSpec,
}

#[derive(Deserialize, Default)]
pub(super) struct Metadata {
    #[serde(default)]
    name: String,
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct IngressSpec {
    #[serde(default)]
    ingress_class_name: Option<String>,
    #[serde(default)]
    default_backend: Option<Backend>,
    #[serde(default)]
    rules: Vec<Rule>,
    /// TLS is Envoy's business: accepted, not served (the local gateway speaks HTTP).
    #[serde(default, rename = "tls")]
    _tls: serde_json::Value,
}

#[derive(Deserialize)]
struct Rule {
    #[serde(default)]
    host: Option<String>,
    #[serde(default)]
    http: Option<HttpRule>,
}

#[derive(Deserialize)]
struct HttpRule {
    #[serde(default)]
    paths: Vec<HttpPath>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HttpPath {
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    path_type: Option<String>,
    backend: Backend,
}

#[derive(Deserialize)]
struct Backend {
    #[serde(default)]
    service: Option<ServiceBackend>,
    #[serde(default)]
    resource: Option<ResourceBackend>,
}

#[derive(Deserialize)]
struct ServiceBackend {
    name: String,
    #[serde(default)]
    port: ServicePort,
}

#[derive(Deserialize, Default)]
struct ServicePort {
    #[serde(default)]
    number: Option<u16>,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResourceBackend {
    #[serde(default)]
    kind: String,
}

/// What the Ingress's annotations say.
struct Annotations {
    rewrite_target: Option<String>,
    upstream_vhost: Option<String>,
    use_regex: bool,
    /// `timeout`, in milliseconds.
    timeout_ms: Option<u64>,
    destination: Option<String>,
}

impl Annotations {
    fn read(all: &BTreeMap<String, String>) -> Result<Annotations, Failure> {
        let get = |key: &str| -> Option<String> {
            PREFIXES.iter().find_map(|prefix| all.get(&format!("{prefix}{key}")).cloned())
        };
        for name in all.keys() {
            let Some(key) = PREFIXES.iter().find_map(|p| name.strip_prefix(p)) else { continue };
            if !SUPPORTED.contains(&key) || (key == "destination" && !name.starts_with("higress.io/")) {
                return Err((
                    format!("metadata.annotations.{name}"),
                    format!(
                        "not supported by the local gateway (it supports {}, and higress.io/destination)",
                        ["rewrite-target", "upstream-vhost", "use-regex", "timeout"].join(", ")
                    ),
                ));
            }
        }
        let timeout_ms = match get("timeout") {
            None => None,
            Some(seconds) => {
                let at = || {
                    format!(
                        "metadata.annotations.{}",
                        PREFIXES
                            .iter()
                            .map(|p| format!("{p}timeout"))
                            .find(|n| all.contains_key(n))
                            .unwrap_or_default()
                    )
                };
                let seconds: u64 =
                    seconds.trim().parse().map_err(|_| (at(), format!("`{seconds}`: expected whole seconds")))?;
                Some(seconds.saturating_mul(1000))
            }
        };
        Ok(Annotations {
            timeout_ms,
            rewrite_target: get("rewrite-target").filter(|t| !t.is_empty()),
            upstream_vhost: get("upstream-vhost").filter(|h| !h.is_empty()),
            use_regex: get("use-regex").is_some_and(|v| v.trim() == "true"),
            destination: all.get("higress.io/destination").map(|d| d.trim().to_string()).filter(|d| !d.is_empty()),
        })
    }
}

impl Ingress {
    /// The routes of this Ingress (none when another controller's class), in order.
    pub(super) fn into_routes(self, file: &Path, document: usize) -> Result<Vec<Route>, Failure> {
        let class = self
            .spec
            .ingress_class_name
            .clone()
            .or_else(|| self.metadata.annotations.get("kubernetes.io/ingress.class").cloned());
        if class.as_deref().is_some_and(|c| c != CLASS) {
            return Ok(Vec::new());
        }
        if self.metadata.name.is_empty() {
            return Err(("metadata.name".into(), "cannot be empty".into()));
        }
        let namespace = self.metadata.namespace.clone().filter(|n| !n.is_empty()).unwrap_or_else(|| "default".into());
        let name = format!("{namespace}/{}", self.metadata.name);
        let notes = Annotations::read(&self.metadata.annotations)?;
        let mut routes = Vec::new();
        let service_of = |backend: &Backend, at: &str| -> Result<String, Failure> {
            if let Some(destination) = &notes.destination {
                return destination_service(destination);
            }
            match (&backend.service, &backend.resource) {
                (Some(service), _) => {
                    let port = match (&service.port.number, &service.port.name) {
                        (Some(n), _) => *n,
                        (None, Some(port)) => {
                            return Err((
                                format!("{at}.service.port.name"),
                                format!("`{port}`: name the port by number"),
                            ))
                        }
                        (None, None) => return Err((format!("{at}.service.port"), "missing".into())),
                    };
                    Ok(format!("{}.{namespace}.svc.cluster.local:{port}", service.name))
                }
                (None, Some(resource)) if resource.kind == "McpBridge" => Err((
                    format!("{at}.resource"),
                    "an McpBridge backend needs the higress.io/destination annotation (`name.dns`, `name.static`)"
                        .into(),
                )),
                _ => Err((at.to_string(), "expected a service (name and port number) or an McpBridge resource".into())),
            }
        };
        for (r, rule) in self.spec.rules.iter().enumerate() {
            let domains: Vec<String> =
                rule.host.iter().filter(|h| !h.is_empty()).map(|h| h.to_ascii_lowercase()).collect();
            for (p, path) in rule.http.iter().flat_map(|h| h.paths.iter()).enumerate() {
                let at = format!("spec.rules[{r}].http.paths[{p}]");
                let service = service_of(&path.backend, &format!("{at}.backend"))?;
                let raw = path.path.clone().filter(|p| !p.is_empty()).unwrap_or_else(|| "/".into());
                let matcher = match path.path_type.as_deref().unwrap_or("ImplementationSpecific") {
                    "Exact" => PathMatch::Exact(raw),
                    "Prefix" => PathMatch::PathPrefix(raw),
                    "ImplementationSpecific" if notes.use_regex => PathMatch::Regex(raw),
                    "ImplementationSpecific" => PathMatch::Prefix(raw),
                    other => {
                        return Err((
                            format!("{at}.pathType"),
                            format!("`{other}`: expected Exact, Prefix or ImplementationSpecific"),
                        ))
                    }
                };
                routes.push(self.route(&name, domains.clone(), matcher, &service, &notes, (file, document)));
            }
        }
        if let Some(backend) = &self.spec.default_backend {
            let service = service_of(backend, "spec.defaultBackend")?;
            routes.push(self.route(
                &name,
                Vec::new(),
                PathMatch::Prefix("/".into()),
                &service,
                &notes,
                (file, document),
            ));
        }
        Ok(routes)
    }

    fn route(
        &self,
        name: &str,
        domains: Vec<String>,
        path: PathMatch,
        service: &str,
        notes: &Annotations,
        at: (&Path, usize),
    ) -> Route {
        let (prefix_rewrite, regex_rewrite) = match (&notes.rewrite_target, &path) {
            (None, _) => (None, None),
            // With a regular expression, its groups go into the target (`/$2`).
            (Some(target), PathMatch::Regex(pattern)) => {
                (None, Some(RegexRewrite { pattern: format!("^(?:{pattern})"), substitution: target.clone() }))
            }
            (Some(target), _) => (Some(target.clone()), None),
        };
        let mut route = Route::derived(
            name,
            domains,
            path,
            service,
            prefix_rewrite,
            regex_rewrite,
            notes.upstream_vhost.clone(),
            at,
        );
        if let Some(timeout_ms) = notes.timeout_ms {
            route.timeout_ms = timeout_ms;
        }
        route
    }
}

/// The service `higress.io/destination` names: `name.static` or `name.dns`, with an optional
/// `:port` (a registry's own port otherwise). Weighted lists (`60% a.dns\n40% b.dns`) are
/// refused: one destination per Ingress here.
fn destination_service(destination: &str) -> Result<String, Failure> {
    let at = "metadata.annotations.higress.io/destination";
    if destination.lines().count() > 1 || destination.contains('%') {
        return Err((at.into(), format!("`{destination}`: weighted destinations are not supported; name one service")));
    }
    Ok(destination.to_string())
}

/// Resolves a route's service (`name` or `name:port`) against the services: the name with
/// that port, else the one service of that name. `None`: unknown.
pub(super) fn resolve<'a>(services: &'a [Service], wanted: &str) -> Option<&'a Service> {
    if let Some(service) = services.iter().find(|s| s.name == wanted) {
        return Some(service);
    }
    let (name, port) = wanted.rsplit_once(':')?;
    let port: u16 = port.parse().ok()?;
    services.iter().find(|s| s.name == name && s.port == port)
}

#[derive(Deserialize)]
pub(super) struct McpBridge {
    #[serde(default)]
    spec: McpBridgeSpec,
}

#[derive(Deserialize, Default)]
struct McpBridgeSpec {
    #[serde(default)]
    registries: Vec<Registry>,
}

#[derive(Deserialize)]
struct Registry {
    #[serde(rename = "type")]
    kind: String,
    name: String,
    #[serde(default)]
    domain: String,
    #[serde(default)]
    port: Option<u16>,
    #[serde(default)]
    protocol: Option<String>,
}

impl McpBridge {
    /// The services of the bridge's registries.
    pub(super) fn into_services(self) -> Result<Vec<(Service, String)>, Failure> {
        let mut services = Vec::new();
        for (i, registry) in self.spec.registries.into_iter().enumerate() {
            let at = format!("spec.registries[{i}]");
            if registry.name.is_empty() {
                return Err((format!("{at}.name"), "cannot be empty".into()));
            }
            if registry.protocol.as_deref().is_some_and(|p| !p.eq_ignore_ascii_case("http")) {
                return Err((
                    format!("{at}.protocol"),
                    "the local gateway speaks plain HTTP to its upstreams (http or none)".into(),
                ));
            }
            let service = match registry.kind.as_str() {
                "static" => {
                    let first = registry.domain.split(',').map(str::trim).find(|d| !d.is_empty());
                    let address =
                        first.ok_or_else(|| (format!("{at}.domain"), "missing: ip:port[,ip:port...]".to_string()))?;
                    Service::new(&format!("{}.static", registry.name), 80, address)
                }
                "dns" => {
                    let domain = registry.domain.trim();
                    if domain.is_empty() {
                        return Err((format!("{at}.domain"), "missing".into()));
                    }
                    let port = registry.port.unwrap_or(80);
                    Service::new(&format!("{}.dns", registry.name), port, &format!("{domain}:{port}"))
                }
                other => {
                    return Err((
                        format!("{at}.type"),
                        format!("`{other}`: the local gateway reads static and dns registries (no service discovery)"),
                    ))
                }
            };
            services.push((service, at));
        }
        Ok(services)
    }
}
