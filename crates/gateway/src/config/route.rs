//! Routes: which service a request goes to, and the `route_name` plugins see.
//!
//! Matching follows Envoy's virtual hosts: every domain a route lists is a virtual host
//! holding the routes that list it. An exact domain beats the longest `*suffix`, which
//! beats the longest `prefix*`, which beats `*` (routes without domains); within the chosen
//! virtual host the first route (configuration order) whose path matches wins, and none is
//! a 404.

use serde::Deserialize;
use std::path::PathBuf;

/// How a route matches the path (without query).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PathMatch {
    /// Path starts with this.
    Prefix(String),
    /// Path is exactly this.
    Exact(String),
    /// Path is this, or continues it with `/` (Kubernetes' `Prefix` path type, Envoy's
    /// `path_separated_prefix`): `/foo` takes `/foo` and `/foo/bar`, not `/foobar`.
    PathPrefix(String),
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
#[serde(deny_unknown_fields)]
pub struct Route {
    /// `Route` (checked by the loader).
    #[serde(default, rename = "kind")]
    _kind: String,
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
    /// Upstream timeout in milliseconds: how long the upstream may take to send its response
    /// headers (default 15000, Envoy's default route timeout; 0 disables it).
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// The matched prefix (or the whole path of an exact match) replaced by this upstream.
    #[serde(default)]
    pub prefix_rewrite: Option<String>,
    /// The path (query excluded) rewritten by a regular expression upstream.
    #[serde(default)]
    pub regex_rewrite: Option<RegexRewrite>,
    /// The `Host` the upstream gets.
    #[serde(default)]
    pub host_rewrite: Option<String>,
    #[serde(skip)]
    regex: Option<regex::Regex>,
    #[serde(skip)]
    rewrite_regex: Option<regex::Regex>,
    #[serde(skip)]
    pub(super) file: PathBuf,
    #[serde(skip)]
    pub(super) document: usize,
}

/// A regular-expression rewrite: every match of `pattern` in the path replaced by
/// `substitution` (`$1` or `\\1` for a group).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegexRewrite {
    pub pattern: String,
    pub substitution: String,
}

impl Route {
    /// A route built from another resource (an Ingress): `file` and `document` name where.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn derived(
        name: &str,
        domains: Vec<String>,
        path: PathMatch,
        service: &str,
        prefix_rewrite: Option<String>,
        regex_rewrite: Option<RegexRewrite>,
        host_rewrite: Option<String>,
        (file, document): (&std::path::Path, usize),
    ) -> Route {
        Route {
            _kind: "Route".into(),
            name: name.to_string(),
            domains,
            path,
            service: service.to_string(),
            timeout_ms: default_timeout_ms(),
            prefix_rewrite,
            regex_rewrite,
            host_rewrite,
            regex: None,
            rewrite_regex: None,
            file: file.to_path_buf(),
            document,
        }
    }

    /// The path the upstream gets for `path` (query kept): the route's rewrite applied.
    pub fn rewritten_path(&self, path: &str) -> Option<String> {
        let (bare, query) = match path.find(['?', '#']) {
            Some(at) => path.split_at(at),
            None => (path, ""),
        };
        let new = if let Some(re) = &self.rewrite_regex {
            let substitution = self.regex_rewrite.as_ref().map(|r| r.substitution.as_str()).unwrap_or_default();
            re.replace_all(bare, substitution).into_owned()
        } else if let Some(to) = &self.prefix_rewrite {
            match &self.path {
                PathMatch::Prefix(p) | PathMatch::PathPrefix(p) => {
                    format!("{to}{}", bare.get(p.trim_end_matches('/').len().min(bare.len())..).unwrap_or_default())
                        .replacen("//", "/", usize::from(to.ends_with('/')))
                }
                PathMatch::Exact(_) | PathMatch::Regex(_) => to.clone(),
            }
        } else {
            return None;
        };
        Some(format!("{new}{query}"))
    }

    pub(super) fn prepare(&mut self) -> Result<(), (String, String)> {
        if self.name.trim().is_empty() {
            return Err(("name".into(), "cannot be empty".into()));
        }
        if let PathMatch::Regex(pattern) = &self.path {
            let anchored = format!("^(?:{pattern})$");
            self.regex = Some(regex::Regex::new(&anchored).map_err(|e| ("path.regex".to_string(), e.to_string()))?);
        }
        if let Some(rewrite) = &mut self.regex_rewrite {
            // Envoy's `\1` groups, as Rust's regex crate writes them.
            let mut substitution = String::with_capacity(rewrite.substitution.len());
            let mut chars = rewrite.substitution.chars().peekable();
            while let Some(c) = chars.next() {
                match (c, chars.peek()) {
                    ('\\', Some(d)) if d.is_ascii_digit() => {
                        substitution.push_str(&format!("${{{}}}", chars.next().unwrap_or('0')))
                    }
                    ('$', Some(d)) if d.is_ascii_digit() => {
                        substitution.push_str(&format!("${{{}}}", chars.next().unwrap_or('0')))
                    }
                    _ => substitution.push(c),
                }
            }
            rewrite.substitution = substitution;
            let re = regex::Regex::new(&rewrite.pattern)
                .map_err(|e| ("regex_rewrite.pattern".to_string(), e.to_string()))?;
            self.rewrite_regex = Some(re);
        }
        if self.prefix_rewrite.is_some() && self.regex_rewrite.is_some() {
            return Err(("prefix_rewrite".into(), "and regex_rewrite cannot both be set".into()));
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
            PathMatch::PathPrefix(p) => {
                let p = p.trim_end_matches('/');
                p.is_empty() || path == p || path.strip_prefix(p).is_some_and(|rest| rest.starts_with('/'))
            }
            PathMatch::Regex(_) => self.regex.as_ref().is_some_and(|r| r.is_match(path)),
        }
    }
}

/// How well `domain` (an Envoy virtual-host domain) matches `host`: higher is more
/// specific; `None` if it does not. Envoy's order: exact, then the longest `*suffix`, then
/// the longest `prefix*`, then `*`.
fn domain_rank(domain: &str, host: &str) -> Option<usize> {
    if domain == "*" {
        Some(0)
    } else if let Some(suffix) = domain.strip_prefix('*') {
        (host.len() > suffix.len() && host.ends_with(suffix)).then(|| 1_000_000 + suffix.len())
    } else if let Some(prefix) = domain.strip_suffix('*') {
        (host.len() > prefix.len() && host.starts_with(prefix)).then(|| 1_000 + prefix.len())
    } else {
        (host == domain).then_some(usize::MAX)
    }
}

/// A virtual host: one domain and the routes that list it, in configuration order.
#[derive(Debug, Clone)]
pub struct VirtualHost {
    /// The domain (`*` for routes that name none).
    pub domain: String,
    routes: Vec<usize>,
}

/// All routes, grouped into virtual hosts exactly as the generated Envoy config groups
/// them, so both gateways route a request the same way.
#[derive(Debug, Default, Clone)]
pub struct RouteTable {
    routes: Vec<Route>,
    hosts: Vec<VirtualHost>,
}

impl RouteTable {
    pub(super) fn new(routes: Vec<Route>) -> Self {
        let mut hosts: Vec<VirtualHost> = Vec::new();
        for (i, route) in routes.iter().enumerate() {
            let domains = if route.domains.is_empty() { vec!["*".to_string()] } else { route.domains.clone() };
            for domain in domains {
                match hosts.iter_mut().find(|h| h.domain == domain) {
                    Some(host) if !host.routes.contains(&i) => host.routes.push(i),
                    Some(_) => {}
                    None => hosts.push(VirtualHost { domain, routes: vec![i] }),
                }
            }
        }
        RouteTable { routes, hosts }
    }

    /// Every route, in configuration order.
    pub fn all(&self) -> &[Route] {
        &self.routes
    }

    /// The virtual hosts, in first-seen order, each with its routes.
    pub fn virtual_hosts(&self) -> impl Iterator<Item = (&str, Vec<&Route>)> {
        self.hosts.iter().map(|h| (h.domain.as_str(), h.routes.iter().filter_map(|&i| self.routes.get(i)).collect()))
    }

    /// The route for `authority` and `path`, as Envoy finds it: the most specific virtual
    /// host for the host (port ignored), then its first route whose path matches. No
    /// fallback to a less specific virtual host: that is a 404, as on Envoy.
    pub fn find(&self, authority: &str, path: &str) -> Option<&Route> {
        self.find_index(authority, path).and_then(|i| self.routes.get(i))
    }

    /// [`RouteTable::find`], as the route's index in [`RouteTable::all`].
    pub fn find_index(&self, authority: &str, path: &str) -> Option<usize> {
        let host = strip_port(authority).to_ascii_lowercase();
        let best = self
            .hosts
            .iter()
            .filter_map(|h| domain_rank(&h.domain, &host).map(|rank| (rank, h)))
            .max_by_key(|(rank, _)| *rank);
        let (_, vhost) = best?;
        vhost.routes.iter().copied().find(|&i| self.routes.get(i).is_some_and(|r| r.path_matches(path)))
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
            _kind: "Route".into(),
            name: name.into(),
            domains: domains.iter().map(|d| d.to_string()).collect(),
            path,
            service: "s".into(),
            timeout_ms: 1,
            prefix_rewrite: None,
            regex_rewrite: None,
            host_rewrite: None,
            regex: None,
            rewrite_regex: None,
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
        assert_eq!(name("api.example.com", "/health").as_deref(), Some("api"), "first in order within a host");
        assert_eq!(name("web.example.com", "/").as_deref(), Some("wild"));
        assert_eq!(name("example.com", "/").as_deref(), Some("any"), "`*.example.com` needs a label before the dot");
        assert_eq!(name("other.org", "/").as_deref(), Some("any"));
        assert_eq!(name("re.local", "/items/42").as_deref(), Some("re"));
        // The most specific virtual host is chosen first; no fallback (Envoy answers 404).
        assert_eq!(name("re.local", "/items/x"), None);
        let strict = RouteTable::new(vec![route("only", &["a.com"], PathMatch::Exact("/x".into()))]);
        assert!(strict.find("a.com", "/y").is_none());
        assert!(strict.find("b.com", "/x").is_none());
    }

    #[test]
    fn path_prefixes_match_whole_segments_and_rewrites_keep_the_query() {
        let segments = route("seg", &[], PathMatch::PathPrefix("/foo/".into()));
        assert!(segments.path_matches("/foo") && segments.path_matches("/foo/bar") && segments.path_matches("/foo?x"));
        assert!(!segments.path_matches("/foobar"));
        assert!(route("root", &[], PathMatch::PathPrefix("/".into())).path_matches("/anything"));
        let mut prefix = route("p", &[], PathMatch::PathPrefix("/api".into()));
        prefix.prefix_rewrite = Some("/v2".into());
        assert_eq!(prefix.rewritten_path("/api/users?id=1").as_deref(), Some("/v2/users?id=1"));
        prefix.prefix_rewrite = Some("/".into());
        assert_eq!(prefix.rewritten_path("/api/users").as_deref(), Some("/users"));
        assert_eq!(prefix.rewritten_path("/api").as_deref(), Some("/"));
        let mut re = route("r", &[], PathMatch::Regex("/app(/|$)(.*)".into()));
        re.regex_rewrite = Some(RegexRewrite { pattern: "^/app(/|$)(.*)".into(), substitution: "/$2".into() });
        re.prepare().unwrap();
        assert_eq!(re.rewritten_path("/app/x/y?q").as_deref(), Some("/x/y?q"));
        assert_eq!(route("none", &[], PathMatch::default()).rewritten_path("/a"), None);
    }
}
