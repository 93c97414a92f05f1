//! Routes: which service a request goes to, and the `route_name` plugins see.
//!
//! Matching follows Envoy's virtual hosts: an exact domain beats the longest `*.suffix`,
//! which beats a `prefix*`, which beats `*` (or no domains); within the same domain class,
//! routes are tried in configuration order, first path match wins.

use serde::Deserialize;
use std::path::PathBuf;

/// How a route matches the path (without query).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PathMatch {
    /// Path starts with this.
    Prefix(String),
    /// Path is exactly this.
    Exact(String),
    /// Path matches this regular expression (whole path).
    Regex(String),
}

impl Default for PathMatch {
    fn default() -> Self {
        PathMatch::Prefix("/".into())
    }
}

fn default_timeout_ms() -> u64 {
    15_000
}

/// A route.
#[derive(Debug, Clone, Deserialize)]
pub struct Route {
    /// The route name (`route_name` property; `ingress:` in WasmPlugin match rules).
    pub name: String,
    /// Hosts (`api.example.com`, `*.example.com`, `api.*`, `*`); empty matches every host.
    #[serde(default)]
    pub domains: Vec<String>,
    /// Path match (default: prefix `/`).
    #[serde(default)]
    pub path: PathMatch,
    /// Target service name.
    pub service: String,
    /// Upstream timeout in milliseconds (default 15000, as Envoy's route timeout).
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    #[serde(skip)]
    regex: Option<regex::Regex>,
    #[serde(skip)]
    pub(super) file: PathBuf,
    #[serde(skip)]
    pub(super) document: usize,
}

impl Route {
    pub(super) fn prepare(&mut self) -> Result<(), (String, String)> {
        if self.name.trim().is_empty() {
            return Err(("name".into(), "cannot be empty".into()));
        }
        if let PathMatch::Regex(pattern) = &self.path {
            let anchored = format!("^(?:{pattern})$");
            self.regex = Some(regex::Regex::new(&anchored).map_err(|e| ("path.regex".to_string(), e.to_string()))?);
        }
        for d in &mut self.domains {
            *d = d.to_ascii_lowercase();
        }
        Ok(())
    }

    fn path_matches(&self, path: &str) -> bool {
        let path = path.split(['?', '#']).next().unwrap_or_default();
        match &self.path {
            PathMatch::Prefix(p) => path.starts_with(p.as_str()),
            PathMatch::Exact(e) => path == e,
            PathMatch::Regex(_) => self.regex.as_ref().is_some_and(|r| r.is_match(path)),
        }
    }

    /// How well the route's domains match `host`: higher is more specific; `None` if not.
    fn domain_rank(&self, host: &str) -> Option<usize> {
        if self.domains.is_empty() {
            return Some(0);
        }
        self.domains
            .iter()
            .filter_map(|d| {
                if d == "*" {
                    Some(0)
                } else if let Some(suffix) = d.strip_prefix('*') {
                    host.ends_with(suffix).then(|| 1_000 + suffix.len())
                } else if let Some(prefix) = d.strip_suffix('*') {
                    host.starts_with(prefix).then(|| 1 + prefix.len())
                } else {
                    (host == d).then_some(1_000_000)
                }
            })
            .max()
    }
}

/// All routes.
#[derive(Debug, Default, Clone)]
pub struct RouteTable {
    routes: Vec<Route>,
}

impl RouteTable {
    pub(super) fn new(routes: Vec<Route>) -> Self {
        RouteTable { routes }
    }

    /// Every route, in configuration order.
    pub fn all(&self) -> &[Route] {
        &self.routes
    }

    /// The route for `authority` and `path`.
    pub fn find(&self, authority: &str, path: &str) -> Option<&Route> {
        let host = strip_port(authority).to_ascii_lowercase();
        let mut best: Option<(usize, &Route)> = None;
        for route in &self.routes {
            let Some(rank) = route.domain_rank(&host) else { continue };
            if !route.path_matches(path) {
                continue;
            }
            if best.is_none_or(|(r, _)| rank > r) {
                best = Some((rank, route));
            }
        }
        best.map(|(_, r)| r)
    }
}

fn strip_port(authority: &str) -> &str {
    match authority.rfind(':') {
        Some(colon) if !authority[colon..].contains(']') => &authority[..colon],
        _ => authority,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(name: &str, domains: &[&str], path: PathMatch) -> Route {
        let mut r = Route {
            name: name.into(),
            domains: domains.iter().map(|d| d.to_string()).collect(),
            path,
            service: "s".into(),
            timeout_ms: 1,
            regex: None,
            file: PathBuf::new(),
            document: 0,
        };
        r.prepare().unwrap();
        r
    }

    #[test]
    fn specificity_then_order() {
        let table = RouteTable::new(vec![
            route("any", &[], PathMatch::default()),
            route("wild", &["*.example.com"], PathMatch::default()),
            route("api-v1", &["api.example.com"], PathMatch::Prefix("/v1".into())),
            route("api", &["api.example.com"], PathMatch::default()),
            route("exact", &["api.example.com"], PathMatch::Exact("/health".into())),
            route("re", &["re.local"], PathMatch::Regex("/items/[0-9]+".into())),
        ]);
        let name = |h: &str, p: &str| table.find(h, p).map(|r| r.name.clone());
        assert_eq!(name("API.example.com:8080", "/v1/x?q=1").as_deref(), Some("api-v1"));
        assert_eq!(name("api.example.com", "/health").as_deref(), Some("api"), "first in order within a class");
        assert_eq!(name("web.example.com", "/").as_deref(), Some("wild"));
        assert_eq!(name("other.org", "/").as_deref(), Some("any"));
        assert_eq!(name("re.local", "/items/42").as_deref(), Some("re"));
        assert_eq!(name("re.local", "/items/x").as_deref(), Some("any"));
        let strict = RouteTable::new(vec![route("only", &["a.com"], PathMatch::Exact("/x".into()))]);
        assert!(strict.find("a.com", "/y").is_none());
        assert!(strict.find("b.com", "/x").is_none());
    }
}
