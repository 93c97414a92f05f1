//! Services: Higress-style names with a port (their cluster is `outbound|<port>||<name>`, as
//! plugins compute it from `service_name`/`service_port`) and the address they really live at.

use serde::Deserialize;

/// A service.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// `Service` (checked by the loader).
    #[serde(default, rename = "kind")]
    _kind: String,
    /// `echo.static`, `redis.dns`, `auth.default.svc.cluster.local`...
    pub name: String,
    /// The service port in cluster names.
    pub port: u16,
    /// Where it is: `host:port`.
    pub address: String,
    /// `outbound|<port>||<name>`, computed once at load (requests and callouts look it up).
    #[serde(skip)]
    cluster: String,
}

impl Service {
    /// A service read from another resource (an McpBridge registry); checked by `prepare`.
    pub(super) fn new(name: &str, port: u16, address: &str) -> Service {
        Service {
            _kind: "Service".into(),
            name: name.to_string(),
            port,
            address: address.to_string(),
            cluster: String::new(),
        }
    }

    /// The Envoy cluster name.
    pub fn cluster(&self) -> &str {
        &self.cluster
    }

    pub(super) fn prepare(&mut self) -> Result<(), (String, String)> {
        if self.name.trim().is_empty() {
            return Err(("name".into(), "cannot be empty".into()));
        }
        self.cluster = format!("outbound|{}||{}", self.port, self.name);
        match self.address.rsplit_once(':') {
            Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => Ok(()),
            _ => Err(("address".into(), format!("`{}` is not host:port", self.address))),
        }
    }
}
