//! Upstream clusters for callouts, named exactly as Higress's controller names them in Envoy
//! (`outbound|<port>|<subset>|<fqdn>`), with the `Host` each kind sends by default.

use crate::config::ConfigError;
use crate::hostcalls;
use serde::Deserialize;

/// A cluster a plugin calls (HTTP or Redis).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cluster {
    /// Any registered service by its full name (`redis.static`, `auth.default.svc.cluster.local`).
    Fqdn {
        /// Service FQDN.
        fqdn: String,
        /// Service port.
        port: u16,
        /// Host header (default: the FQDN).
        host: Option<String>,
    },
    /// A Kubernetes service.
    K8s {
        /// Service name.
        service: String,
        /// Namespace (default `default`).
        namespace: String,
        /// Port.
        port: u16,
        /// Subset / version (usually empty).
        version: String,
        /// Host header (default `<service>.<namespace>.svc.cluster.local`).
        host: Option<String>,
    },
    /// A Nacos service.
    Nacos {
        /// Service name.
        service: String,
        /// Group (`_` becomes `-`; default `DEFAULT-GROUP`).
        group: String,
        /// Namespace id.
        namespace_id: String,
        /// Port.
        port: u16,
        /// External registry (`.nacos-ext`).
        ext: bool,
        /// Subset / version.
        version: String,
        /// Host header (default: the service name).
        host: Option<String>,
    },
    /// A static-IP service registered in Higress (`<name>.static`).
    Static {
        /// Service name (without `.static`).
        service: String,
        /// Port.
        port: u16,
        /// Host header (default: the service name).
        host: Option<String>,
    },
    /// A DNS service registered in Higress (`<name>.dns`).
    Dns {
        /// Service name (without `.dns`).
        service: String,
        /// Domain: the Host header.
        domain: String,
        /// Port.
        port: u16,
    },
    /// A Consul service.
    Consul {
        /// Service name.
        service: String,
        /// Datacenter.
        datacenter: String,
        /// Port.
        port: u16,
        /// Host header (default: the service name).
        host: Option<String>,
    },
    /// The cluster the current request is routed to (its `cluster_name` property).
    Route {
        /// Host header (default: the request's `:authority`).
        host: Option<String>,
    },
    /// An Envoy cluster by its exact name.
    Target {
        /// The cluster name, verbatim.
        cluster: String,
        /// Host header.
        host: String,
    },
}

impl Cluster {
    /// The Envoy cluster name. For [`Cluster::Route`] it is read from the current request.
    pub fn name(&self) -> String {
        match self {
            Cluster::Fqdn { fqdn, port, .. } => format!("outbound|{port}||{fqdn}"),
            Cluster::K8s { service, namespace, port, version, .. } => {
                format!("outbound|{port}|{version}|{service}.{}.svc.cluster.local", or_default(namespace))
            }
            Cluster::Nacos { service, group, namespace_id, port, ext, version, .. } => {
                let group = if group.is_empty() { "DEFAULT-GROUP".to_string() } else { group.replace('_', "-") };
                let tail = if *ext { "nacos-ext" } else { "nacos" };
                format!("outbound|{port}|{version}|{service}.{group}.{namespace_id}.{tail}")
            }
            Cluster::Static { service, port, .. } => format!("outbound|{port}||{service}.static"),
            Cluster::Dns { service, port, .. } => format!("outbound|{port}||{service}.dns"),
            Cluster::Consul { service, datacenter, port, .. } => {
                format!("outbound|{port}||{service}.{datacenter}.consul")
            }
            Cluster::Route { .. } => hostcalls::get_property(&["cluster_name"])
                .ok()
                .flatten()
                .map(hostcalls::into_string)
                .unwrap_or_default(),
            Cluster::Target { cluster, .. } => cluster.clone(),
        }
    }

    /// The `Host` a callout sends when its URL names none. `request_host` is the current
    /// request's `:authority`, used by [`Cluster::Route`].
    pub fn host(&self, request_host: Option<&str>) -> String {
        let given = |h: &Option<String>| h.as_ref().filter(|h| !h.is_empty()).cloned();
        match self {
            Cluster::Fqdn { fqdn, host, .. } => given(host).unwrap_or_else(|| fqdn.clone()),
            Cluster::K8s { service, namespace, host, .. } => {
                given(host).unwrap_or_else(|| format!("{service}.{}.svc.cluster.local", or_default(namespace)))
            }
            Cluster::Nacos { service, host, .. }
            | Cluster::Static { service, host, .. }
            | Cluster::Consul { service, host, .. } => given(host).unwrap_or_else(|| service.clone()),
            Cluster::Dns { domain, .. } => domain.clone(),
            Cluster::Route { host } => given(host).unwrap_or_else(|| request_host.unwrap_or_default().to_string()),
            Cluster::Target { host, .. } => host.clone(),
        }
    }

    /// The cluster of a service as plugins configure it (`service_name`, `service_port`,
    /// `service_host`): an FQDN cluster. Without a port, 80 for `*.static` services (Higress
    /// listens there for static ones) and `default_port` otherwise.
    pub fn from_service(
        name: &str,
        port: Option<u16>,
        host: Option<&str>,
        default_port: u16,
    ) -> Result<Cluster, ConfigError> {
        if name.trim().is_empty() {
            return Err(ConfigError::new("service name is empty"));
        }
        let port = port.unwrap_or(if name.ends_with(".static") { 80 } else { default_port });
        Ok(Cluster::Fqdn { fqdn: name.to_string(), port, host: host.map(str::to_string) })
    }
}

fn or_default(namespace: &str) -> &str {
    if namespace.is_empty() {
        "default"
    } else {
        namespace
    }
}

/// The service block plugins embed in their config. Accepts both Higress spellings
/// (`service_name` / `serviceName`, ...).
#[derive(Debug, Clone, Deserialize)]
pub struct ServiceConfig {
    /// Service FQDN as registered in Higress (`redis.static`, `auth.dns`, ...).
    #[serde(alias = "serviceName")]
    pub service_name: String,
    /// Port (default depends on the use: 6379 for Redis, 80 for HTTP, 80 for `*.static`).
    #[serde(default, alias = "servicePort")]
    pub service_port: Option<u16>,
    /// Host header for HTTP callouts.
    #[serde(default, alias = "serviceHost", alias = "domain")]
    pub service_host: Option<String>,
}

/// Written by hand because of the aliases: a config may spell each key either way, and
/// needs one of `service_name` / `serviceName`.
#[cfg(feature = "schema")]
impl schemars::JsonSchema for ServiceConfig {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ServiceConfig".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let name = serde_json::json!({"type": "string", "description": "Service FQDN as registered in Higress (`redis.static`, `auth.dns`, ...)."});
        let port = serde_json::json!({"type": ["integer", "null"], "minimum": 0, "maximum": 65535, "description": "Port (default depends on the use)."});
        let host = serde_json::json!({"type": ["string", "null"], "description": "Host header for HTTP callouts."});
        schemars::json_schema!({
            "type": "object",
            "properties": {
                "service_name": name, "serviceName": name,
                "service_port": port, "servicePort": port,
                "service_host": host, "serviceHost": host, "domain": host,
            },
            "anyOf": [{"required": ["service_name"]}, {"required": ["serviceName"]}],
        })
    }
}

impl ServiceConfig {
    /// The cluster, with `default_port` when no port is given (see [`Cluster::from_service`]).
    pub fn cluster(&self, default_port: u16) -> Result<Cluster, ConfigError> {
        Cluster::from_service(&self.service_name, self.service_port, self.service_host.as_deref(), default_port)
            .map_err(|e| ConfigError::at("service_name", e.message()))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn names_and_hosts_match_higress() {
        let fqdn = Cluster::Fqdn { fqdn: "redis.static".into(), port: 6379, host: None };
        assert_eq!(fqdn.name(), "outbound|6379||redis.static");
        assert_eq!(fqdn.host(None), "redis.static");
        let with_host = Cluster::Fqdn { fqdn: "a.dns".into(), port: 80, host: Some("api.example.com".into()) };
        assert_eq!(with_host.host(None), "api.example.com");

        let k8s = Cluster::K8s {
            service: "auth".into(),
            namespace: "prod".into(),
            port: 8080,
            version: "v1".into(),
            host: None,
        };
        assert_eq!(k8s.name(), "outbound|8080|v1|auth.prod.svc.cluster.local");
        assert_eq!(k8s.host(None), "auth.prod.svc.cluster.local");
        let k8s_default =
            Cluster::K8s { service: "auth".into(), namespace: "".into(), port: 80, version: "".into(), host: None };
        assert_eq!(k8s_default.name(), "outbound|80||auth.default.svc.cluster.local");
        assert_eq!(k8s_default.host(None), "auth.default.svc.cluster.local");

        let nacos = Cluster::Nacos {
            service: "svc".into(),
            group: "my_group".into(),
            namespace_id: "ns1".into(),
            port: 8848,
            ext: false,
            version: "".into(),
            host: None,
        };
        assert_eq!(nacos.name(), "outbound|8848||svc.my-group.ns1.nacos");
        assert_eq!(nacos.host(None), "svc");
        let nacos_ext = Cluster::Nacos {
            service: "svc".into(),
            group: "".into(),
            namespace_id: "ns1".into(),
            port: 1,
            ext: true,
            version: "v2".into(),
            host: Some("h".into()),
        };
        assert_eq!(nacos_ext.name(), "outbound|1|v2|svc.DEFAULT-GROUP.ns1.nacos-ext");
        assert_eq!(nacos_ext.host(None), "h");

        let stat = Cluster::Static { service: "backend".into(), port: 80, host: None };
        assert_eq!(stat.name(), "outbound|80||backend.static");
        assert_eq!(stat.host(None), "backend");

        let dns = Cluster::Dns { service: "openai".into(), domain: "api.openai.com".into(), port: 443 };
        assert_eq!(dns.name(), "outbound|443||openai.dns");
        assert_eq!(dns.host(None), "api.openai.com");

        let consul = Cluster::Consul { service: "pay".into(), datacenter: "dc1".into(), port: 9000, host: None };
        assert_eq!(consul.name(), "outbound|9000||pay.dc1.consul");
        assert_eq!(consul.host(None), "pay");

        let route = Cluster::Route { host: None };
        assert_eq!(route.host(Some("req.example.com")), "req.example.com");
        assert_eq!(Cluster::Route { host: Some("x".into()) }.host(Some("req")), "x");

        let target = Cluster::Target { cluster: "my-cluster".into(), host: "h.local".into() };
        assert_eq!(target.name(), "my-cluster");
        assert_eq!(target.host(None), "h.local");
    }

    #[test]
    fn service_config_shapes() {
        let snake: ServiceConfig = serde_json::from_str(r#"{"service_name": "redis.static"}"#).unwrap();
        assert_eq!(snake.cluster(6379).unwrap().name(), "outbound|80||redis.static");
        let camel: ServiceConfig =
            serde_json::from_str(r#"{"serviceName": "redis.dns", "servicePort": 6380}"#).unwrap();
        assert_eq!(camel.cluster(6379).unwrap().name(), "outbound|6380||redis.dns");
        let defaulted: ServiceConfig =
            serde_json::from_str(r#"{"service_name": "cache.default.svc.cluster.local"}"#).unwrap();
        assert_eq!(defaulted.cluster(6379).unwrap().name(), "outbound|6379||cache.default.svc.cluster.local");
        let empty: ServiceConfig = serde_json::from_str(r#"{"service_name": " "}"#).unwrap();
        assert_eq!(empty.cluster(80).unwrap_err().path(), "service_name");
    }
}
