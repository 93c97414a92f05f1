//! The `_rules_` configuration model of Higress's wasm-go SDK.
//!
//! The controller turns a WasmPlugin into one JSON object: the `defaultConfig` keys (the
//! global config) plus `_rules_`, each rule being its config with `_match_route_`,
//! `_match_domain_`, `_match_service_` (and, SDK-only, `_match_route_prefix_`). Rules are
//! evaluated in order and the first match wins; without a match the global config applies,
//! and without a global config the plugin is skipped for the request.

use super::{ConfigContext, ConfigError, Scope};
use crate::ascii::eq_ignore_case;
use serde_json::{Map, Value};

const RULES_KEY: &str = "_rules_";
const PLUGIN_ID_KEY: &str = "_plugin_id_";
const MATCH_ROUTE: &str = "_match_route_";
const MATCH_DOMAIN: &str = "_match_domain_";
const MATCH_SERVICE: &str = "_match_service_";
const MATCH_ROUTE_PREFIX: &str = "_match_route_prefix_";

/// A domain pattern of `_match_domain_`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostPattern {
    /// `api.example.com`
    Exact(String),
    /// `*.example.com` (and `*`, which matches every host): the part after `*`.
    Suffix(String),
    /// `api.*`: the part before `*`.
    Prefix(String),
}

impl HostPattern {
    fn parse(pattern: &str) -> Self {
        let lower = pattern.to_ascii_lowercase();
        if let Some(rest) = lower.strip_prefix('*') {
            HostPattern::Suffix(rest.to_string())
        } else if let Some(rest) = lower.strip_suffix('*') {
            HostPattern::Prefix(rest.to_string())
        } else {
            HostPattern::Exact(lower)
        }
    }

    /// Whether `host` (port stripped, any case: the pattern is lower-cased) matches.
    /// Compared in place: a lower-cased copy of every request's host costs an allocation.
    fn matches(&self, host: &str) -> bool {
        let host = host.as_bytes();
        match self {
            HostPattern::Exact(h) => eq_ignore_case(host, h.as_bytes()),
            HostPattern::Suffix(s) => host
                .len()
                .checked_sub(s.len())
                .and_then(|at| host.get(at..))
                .is_some_and(|tail| eq_ignore_case(tail, s.as_bytes())),
            HostPattern::Prefix(p) => host.get(..p.len()).is_some_and(|head| eq_ignore_case(head, p.as_bytes())),
        }
    }
}

/// How a rule selects requests. The kind follows wasm-go: route (with service when both are
/// given), else domain, else service, else route prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Matcher {
    /// `_match_route_`: exact match on the `route_name` property.
    Route(Vec<String>),
    /// `_match_route_` and `_match_service_`: both must match.
    RouteAndService(Vec<String>, Vec<String>),
    /// `_match_domain_`: on `:authority` without its port.
    Domain(Vec<HostPattern>),
    /// `_match_service_`: `fqdn` or `fqdn:port` against the `cluster_name` property.
    Service(Vec<String>),
    /// `_match_route_prefix_`: prefix of the `route_name` property.
    RoutePrefix(Vec<String>),
}

/// What a request offers to the matcher.
#[derive(Debug, Clone, Copy, Default)]
pub struct MatchInput<'a> {
    /// The `:authority` header.
    pub authority: &'a str,
    /// The `route_name` property (empty when absent).
    pub route_name: &'a str,
    /// The `cluster_name` property, `outbound|port|subset|fqdn` (empty when absent).
    pub cluster_name: &'a str,
}

impl Matcher {
    /// Whether matching reads the `route_name` property.
    fn reads_route(&self) -> bool {
        matches!(self, Matcher::Route(_) | Matcher::RouteAndService(..) | Matcher::RoutePrefix(_))
    }

    /// Whether matching reads the `cluster_name` property.
    fn reads_cluster(&self) -> bool {
        matches!(self, Matcher::Service(_) | Matcher::RouteAndService(..))
    }

    /// Whether the request matches this rule.
    pub fn matches(&self, input: &MatchInput<'_>) -> bool {
        match self {
            Matcher::Route(routes) => routes.iter().any(|r| r == input.route_name),
            Matcher::RouteAndService(routes, services) => {
                routes.iter().any(|r| r == input.route_name) && service_matches(services, input.cluster_name)
            }
            Matcher::Domain(patterns) => {
                let host = strip_port(input.authority);
                patterns.iter().any(|p| p.matches(host))
            }
            Matcher::Service(services) => service_matches(services, input.cluster_name),
            Matcher::RoutePrefix(prefixes) => prefixes.iter().any(|p| input.route_name.starts_with(p.as_str())),
        }
    }
}

/// Strips `:port` from an authority, leaving bracketed IPv6 addresses whole (as Envoy does).
pub fn strip_port(authority: &str) -> &str {
    // One search from the end: a `:` before any `]` starts the port, a `]` first ends an
    // IPv6 address without one.
    let bytes = authority.as_bytes();
    match crate::scan::rfind2(bytes, b':', b']') {
        Some(at) if bytes.get(at) == Some(&b':') => authority.get(..at).unwrap_or(authority),
        _ => authority,
    }
}

fn service_matches(services: &[String], cluster_name: &str) -> bool {
    let mut parts = cluster_name.split('|');
    let (Some(_), Some(port), Some(_), Some(fqdn), None) =
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    services.iter().any(|entry| match entry.rsplit_once(':') {
        Some((name, entry_port)) if name == fqdn && entry_port == port => true,
        _ => entry == fqdn,
    })
}

/// One rule: its matcher and its parsed config.
#[derive(Debug)]
pub struct Rule<C> {
    /// Which requests the rule selects.
    pub matcher: Matcher,
    /// The rule's config.
    pub config: C,
}

/// Which config a request got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selected {
    /// The global config.
    Global,
    /// The rule at this index.
    Rule(usize),
}

/// The parsed configuration: the global config (if any) and the rules, in order.
#[derive(Debug)]
pub struct RuleSet<C> {
    /// The global config; `None` when the configuration only has `_rules_`.
    pub global: Option<C>,
    /// The rules, evaluated in order.
    pub rules: Vec<Rule<C>>,
}

impl<C> RuleSet<C> {
    /// Whether some rule matches on `:authority` (read the request headers first then).
    pub fn reads_domain(&self) -> bool {
        self.rules.iter().any(|r| matches!(r.matcher, Matcher::Domain(_)))
    }

    /// Whether some rule matches on the `route_name` property (read it only then).
    pub fn reads_route(&self) -> bool {
        self.rules.iter().any(|r| r.matcher.reads_route())
    }

    /// Whether some rule matches on the `cluster_name` property (read it only then).
    pub fn reads_cluster(&self) -> bool {
        self.rules.iter().any(|r| r.matcher.reads_cluster())
    }

    /// Picks the config for a request: the first matching rule, else the global config.
    /// `None` means the plugin is skipped for this request.
    pub fn select(&self, input: &MatchInput<'_>) -> Option<Selected> {
        for (i, rule) in self.rules.iter().enumerate() {
            if rule.matcher.matches(input) {
                return Some(Selected::Rule(i));
            }
        }
        self.global.as_ref().map(|_| Selected::Global)
    }

    /// The config a selection refers to.
    pub fn get(&self, selected: Selected) -> Option<&C> {
        match selected {
            Selected::Global => self.global.as_ref(),
            Selected::Rule(i) => self.rules.get(i).map(|r| &r.config),
        }
    }
}

/// A parsed plugin configuration.
#[derive(Debug)]
pub struct ParsedConfig<C> {
    /// Global config and rules.
    pub rules: RuleSet<C>,
    /// `_plugin_id_`, used in log lines.
    pub plugin_id: Option<String>,
}

/// Parses a plugin configuration.
///
/// `parse_one` turns one JSON object into a config. With `merge_global: Some(rule_only)`, a
/// rule's object is the global object, less the `rule_only` keys, with the rule's keys
/// applied on top (wasm-go's override parsers, which never read rule-only keys such as an
/// auth plugin's `allow` from the global config).
/// Unlike wasm-go, a global config that fails to parse is an error even when rules exist:
/// silently dropping it hides mistakes.
pub fn parse_rules<C>(
    bytes: &[u8],
    merge_global: Option<&[&str]>,
    mut parse_one: impl FnMut(Value, &ConfigContext) -> Result<C, ConfigError>,
) -> Result<ParsedConfig<C>, ConfigError> {
    let root: Value = if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        Value::Object(Map::new())
    } else {
        serde_json::from_slice(bytes).map_err(|e| ConfigError::new(format!("configuration is not valid JSON: {e}")))?
    };
    let Value::Object(mut object) = root else {
        return Err(ConfigError::new("configuration must be a JSON object"));
    };
    let plugin_id = match object.remove(PLUGIN_ID_KEY) {
        Some(Value::String(id)) if !id.is_empty() => Some(id),
        _ => None,
    };
    let (raw_rules, rules_key) = match object.remove(RULES_KEY) {
        None | Some(Value::Null) => (Vec::new(), false),
        Some(Value::Array(rules)) => (rules, true),
        Some(_) => return Err(ConfigError::at(RULES_KEY, "expected an array of rules")),
    };
    let has_rules = !raw_rules.is_empty();
    let global_object = object;
    // `{}` (or no config at all) enables the plugin globally with an empty config; a config
    // made only of `_rules_` has no global config.
    let has_global = !global_object.is_empty() || !rules_key;
    if !has_global && !has_rules {
        return Err(ConfigError::at(RULES_KEY, "no rules and no global configuration"));
    }

    let global = if has_global {
        let cx = ConfigContext { scope: Scope::Global, has_rules };
        Some(parse_one(Value::Object(global_object.clone()), &cx)?)
    } else {
        None
    };

    let mut rules = Vec::with_capacity(raw_rules.len());
    for (i, raw) in raw_rules.into_iter().enumerate() {
        let prefix = format!("{RULES_KEY}[{i}]");
        let Value::Object(mut rule_object) = raw else {
            return Err(ConfigError::at(prefix, "expected an object"));
        };
        let matcher = take_matcher(&mut rule_object).map_err(|e| e.within(&prefix))?;
        let body = match merge_global {
            Some(rule_only) => {
                let mut merged = global_object.clone();
                for key in rule_only {
                    merged.remove(*key);
                }
                merged.extend(rule_object);
                merged
            }
            None => rule_object,
        };
        let cx = ConfigContext { scope: Scope::Rule(i), has_rules };
        let config = parse_one(Value::Object(body), &cx).map_err(|e| e.within(&prefix))?;
        rules.push(Rule { matcher, config });
    }
    Ok(ParsedConfig { rules: RuleSet { global, rules }, plugin_id })
}

fn take_strings(object: &mut Map<String, Value>, key: &str) -> Result<Vec<String>, ConfigError> {
    match object.remove(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.into_iter().enumerate() {
                match item {
                    Value::String(s) if s.is_empty() => {}
                    Value::String(s) => out.push(s),
                    _ => return Err(ConfigError::at(format!("{key}[{i}]"), "expected a string")),
                }
            }
            Ok(out)
        }
        Some(_) => Err(ConfigError::at(key, "expected an array of strings")),
    }
}

fn take_matcher(object: &mut Map<String, Value>) -> Result<Matcher, ConfigError> {
    let routes = take_strings(object, MATCH_ROUTE)?;
    let domains = take_strings(object, MATCH_DOMAIN)?;
    let services = take_strings(object, MATCH_SERVICE)?;
    let prefixes = take_strings(object, MATCH_ROUTE_PREFIX)?;
    Ok(match (routes.is_empty(), domains.is_empty(), services.is_empty(), prefixes.is_empty()) {
        (false, _, false, _) => Matcher::RouteAndService(routes, services),
        (false, _, true, _) => Matcher::Route(routes),
        (true, false, _, _) => Matcher::Domain(domains.iter().map(|d| HostPattern::parse(d)).collect()),
        (true, true, false, _) => Matcher::Service(services),
        (true, true, true, false) => Matcher::RoutePrefix(prefixes),
        (true, true, true, true) => {
            return Err(ConfigError::new(format!(
                "a rule needs a non-empty {MATCH_ROUTE}, {MATCH_DOMAIN}, {MATCH_SERVICE} or {MATCH_ROUTE_PREFIX}"
            )))
        }
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Parses each object into its JSON text, with the scope recorded.
    fn parse(config: Value, merge: bool) -> Result<ParsedConfig<(String, Scope)>, ConfigError> {
        let bytes = serde_json::to_vec(&config).unwrap();
        parse_rules(&bytes, merge.then_some(&[][..]), |v, cx| {
            if v.get("fail").is_some() {
                return Err(ConfigError::at("fail", "asked to fail"));
            }
            Ok((v.to_string(), cx.scope))
        })
    }

    fn input<'a>(authority: &'a str, route: &'a str, cluster: &'a str) -> MatchInput<'a> {
        MatchInput { authority, route_name: route, cluster_name: cluster }
    }

    #[test]
    fn empty_config_is_enabled_globally() {
        let parsed = parse(json!({}), false).unwrap();
        assert_eq!(parsed.rules.global.as_ref().unwrap().0, "{}");
        let empty = parse_rules(b"", None, |v, _| Ok(v.to_string())).unwrap();
        assert_eq!(empty.rules.global.as_deref(), Some("{}"));
        assert_eq!(parsed.rules.select(&input("a.com", "", "")), Some(Selected::Global));
    }

    #[test]
    fn plugin_id_is_removed_and_kept() {
        let parsed = parse(json!({"_plugin_id_": "p1", "a": 1}), false).unwrap();
        assert_eq!(parsed.plugin_id.as_deref(), Some("p1"));
        assert_eq!(parsed.rules.global.unwrap().0, r#"{"a":1}"#);
    }

    #[test]
    fn rules_only_has_no_global_and_skips_unmatched() {
        let parsed = parse(json!({"_rules_": [{"_match_route_": ["r1"], "x": 1}]}), false).unwrap();
        assert!(parsed.rules.global.is_none());
        assert_eq!(parsed.rules.select(&input("a.com", "r1", "")), Some(Selected::Rule(0)));
        assert_eq!(parsed.rules.select(&input("a.com", "r2", "")), None);
        assert_eq!(parsed.rules.get(Selected::Rule(0)).unwrap().0, r#"{"x":1}"#);
    }

    #[test]
    fn first_match_wins_in_array_order() {
        let parsed = parse(
            json!({"g": 1, "_rules_": [
                {"_match_domain_": ["*.example.com"], "n": 0},
                {"_match_route_": ["r1"], "n": 1}
            ]}),
            false,
        )
        .unwrap();
        assert_eq!(parsed.rules.select(&input("api.example.com", "r1", "")), Some(Selected::Rule(0)));
        assert_eq!(parsed.rules.select(&input("other.com", "r1", "")), Some(Selected::Rule(1)));
        assert_eq!(parsed.rules.select(&input("other.com", "r9", "")), Some(Selected::Global));
    }

    #[test]
    fn domain_patterns() {
        let parsed = parse(
            json!({"_rules_": [
                {"_match_domain_": ["exact.com"], "n": 0},
                {"_match_domain_": ["*.suffix.com"], "n": 1},
                {"_match_domain_": ["prefix.*"], "n": 2},
                {"_match_domain_": ["*"], "n": 3}
            ]}),
            false,
        )
        .unwrap();
        let rs = &parsed.rules;
        assert_eq!(rs.select(&input("exact.com", "", "")), Some(Selected::Rule(0)));
        assert_eq!(rs.select(&input("exact.com:8080", "", "")), Some(Selected::Rule(0)));
        assert_eq!(rs.select(&input("EXACT.com", "", "")), Some(Selected::Rule(0)));
        assert_eq!(rs.select(&input("a.suffix.com", "", "")), Some(Selected::Rule(1)));
        assert_eq!(rs.select(&input("prefix.net", "", "")), Some(Selected::Rule(2)));
        assert_eq!(rs.select(&input("anything.org", "", "")), Some(Selected::Rule(3)));
        assert_eq!(rs.select(&input("[::1]:80", "", "")), Some(Selected::Rule(3)));
        // Any case, compared in place; a pattern longer than the host never matches.
        assert_eq!(rs.select(&input("A.Suffix.COM:443", "", "")), Some(Selected::Rule(1)));
        assert_eq!(rs.select(&input("PREFIX.net", "", "")), Some(Selected::Rule(2)));
        assert_eq!(rs.select(&input("suffix.com", "", "")), Some(Selected::Rule(3)));
        assert_eq!(rs.select(&input("exact.co", "", "")), Some(Selected::Rule(3)));
        assert_eq!(rs.select(&input("prefix", "", "")), Some(Selected::Rule(3)));
        let exact = parse(json!({"_rules_": [{"_match_domain_": ["Exact.com"], "n": 0}]}), false).unwrap();
        assert_eq!(exact.rules.select(&input("exact.COM", "", "")), Some(Selected::Rule(0)));
        assert_eq!(exact.rules.select(&input("exact.com.", "", "")), None);
        assert_eq!(exact.rules.select(&input("", "", "")), None);
    }

    #[test]
    fn strip_port_handles_ipv6() {
        assert_eq!(strip_port("a.com:80"), "a.com");
        assert_eq!(strip_port("a.com"), "a.com");
        assert_eq!(strip_port("[::1]"), "[::1]");
        assert_eq!(strip_port("[::1]:8080"), "[::1]");
        assert_eq!(strip_port(""), "");
        assert_eq!(strip_port(":80"), "");
        assert_eq!(strip_port("a:b:80"), "a:b");
        assert_eq!(strip_port("[::1]x"), "[::1]x");
        assert_eq!(strip_port("a-very-long-host-name.example.com:8080"), "a-very-long-host-name.example.com");
        assert_eq!(strip_port("[2001:db8::1]"), "[2001:db8::1]");
        assert_eq!(strip_port("[2001:db8::1]:443"), "[2001:db8::1]");
    }

    #[test]
    fn service_matching() {
        let parsed = parse(
            json!({"_rules_": [
                {"_match_service_": ["svc.static:8080"], "n": 0},
                {"_match_service_": ["other.dns"], "n": 1}
            ]}),
            false,
        )
        .unwrap();
        let rs = &parsed.rules;
        assert_eq!(rs.select(&input("h", "", "outbound|8080||svc.static")), Some(Selected::Rule(0)));
        assert_eq!(rs.select(&input("h", "", "outbound|80||svc.static")), None);
        assert_eq!(rs.select(&input("h", "", "outbound|443||other.dns")), Some(Selected::Rule(1)));
        assert_eq!(rs.select(&input("h", "", "other.dns")), None);
        assert_eq!(rs.select(&input("h", "", "")), None);
    }

    #[test]
    fn route_and_service_both_required() {
        let parsed =
            parse(json!({"_rules_": [{"_match_route_": ["r"], "_match_service_": ["s.static"]}]}), false).unwrap();
        let rs = &parsed.rules;
        assert_eq!(rs.select(&input("h", "r", "outbound|80||s.static")), Some(Selected::Rule(0)));
        assert_eq!(rs.select(&input("h", "r", "outbound|80||t.static")), None);
        assert_eq!(rs.select(&input("h", "q", "outbound|80||s.static")), None);
    }

    #[test]
    fn route_wins_over_domain_in_one_rule() {
        let parsed = parse(json!({"_rules_": [{"_match_route_": ["r"], "_match_domain_": ["a.com"]}]}), false).unwrap();
        assert_eq!(parsed.rules.rules[0].matcher, Matcher::Route(vec!["r".into()]));
        assert_eq!(parsed.rules.select(&input("a.com", "x", "")), None);
    }

    #[test]
    fn route_prefix() {
        let parsed = parse(json!({"_rules_": [{"_match_route_prefix_": ["api-"]}]}), false).unwrap();
        assert_eq!(parsed.rules.select(&input("h", "api-v1", "")), Some(Selected::Rule(0)));
        assert_eq!(parsed.rules.select(&input("h", "web", "")), None);
    }

    #[test]
    fn merge_applies_rule_keys_over_global() {
        let parsed = parse(json!({"a": 1, "b": 2, "_rules_": [{"_match_route_": ["r"], "b": 3}]}), true).unwrap();
        assert_eq!(parsed.rules.rules[0].config.0, r#"{"a":1,"b":3}"#);
        assert_eq!(parsed.rules.rules[0].config.1, Scope::Rule(0));
        assert_eq!(parsed.rules.global.unwrap().1, Scope::Global);
    }

    #[test]
    fn errors_name_rule_and_field() {
        let err = parse(json!({"_rules_": [{"_match_route_": ["r"]}, {"_match_route_": ["s"], "fail": 1}]}), false)
            .unwrap_err();
        assert_eq!(err.to_string(), "_rules_[1].fail: asked to fail");
        let err = parse(json!({"_rules_": [{"x": 1}]}), false).unwrap_err();
        assert_eq!(err.path(), "_rules_[0]");
        assert!(err.message().contains("_match_route_"));
        let err = parse(json!({"_rules_": [{"_match_route_": []}]}), false).unwrap_err();
        assert_eq!(err.path(), "_rules_[0]");
        let err = parse(json!({"_rules_": [{"_match_domain_": [5]}]}), false).unwrap_err();
        assert_eq!(err.path(), "_rules_[0]._match_domain_[0]");
        let err = parse(json!({"_rules_": {"a": 1}}), false).unwrap_err();
        assert_eq!(err.path(), "_rules_");
        let err = parse(json!({"_rules_": [7]}), false).unwrap_err();
        assert_eq!(err.to_string(), "_rules_[0]: expected an object");
        let err = parse(json!({"fail": true, "_rules_": [{"_match_route_": ["r"]}]}), false).unwrap_err();
        assert_eq!(err.path(), "fail");
    }

    #[test]
    fn invalid_json_and_non_objects() {
        assert!(parse_rules(b"{", None, |v, _| Ok(v)).unwrap_err().message().contains("not valid JSON"));
        assert!(parse_rules(b"[1]", None, |v, _| Ok(v)).unwrap_err().message().contains("JSON object"));
    }

    #[test]
    fn has_rules_is_reported() {
        let mut seen = Vec::new();
        let bytes = serde_json::to_vec(&json!({"a": 1, "_rules_": [{"_match_route_": ["r"]}]})).unwrap();
        parse_rules(&bytes, None, |_, cx| {
            seen.push(cx.has_rules);
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, vec![true, true]);
    }

    #[test]
    fn empty_rules_without_global_is_an_error() {
        let err = parse(json!({"_rules_": []}), false).unwrap_err();
        assert_eq!(err.to_string(), "_rules_: no rules and no global configuration");
        let parsed = parse(json!({"a": 1, "_rules_": []}), false).unwrap();
        assert!(parsed.rules.global.is_some());
        assert!(parsed.rules.rules.is_empty());
    }
}
