//! `match_type` + `match_list`: which requests skip the authorization call. In a whitelist
//! the listed requests skip it; in a blacklist only the listed ones are checked.

use crate::matcher::{Matcher, KINDS};
use higress_sdk::config::strip_port;
use higress_sdk::prelude::*;
use higress_sdk::url;

/// A `match_list` item as configured: a request is listed when it meets every condition the
/// item sets (an item that sets none lists nothing).
#[derive(Deserialize)]
#[cfg_attr(
    test,
    derive(schemars::JsonSchema),
    schemars(extend(
        "if" = {"required": ["match_rule_path"], "properties": {"match_rule_path": {"type": "string", "minLength": 1}}},
        "then" = {"required": ["match_rule_type"], "properties": {"match_rule_type": {"type": "string", "minLength": 1}}},
    ))
)]
pub struct MatchRuleSpec {
    /// The request's host; `*` stands for any characters (`*.example.com`); compared
    /// without the port, ignoring case.
    #[serde(default)]
    match_rule_domain: Option<String>,
    /// The request's method is one of these (ignoring case).
    #[serde(default)]
    match_rule_method: Option<Vec<String>>,
    /// The request's path (without the query, percent-decoded).
    #[serde(default)]
    match_rule_path: Option<String>,
    /// How `match_rule_path` is compared (case-sensitive); required with it.
    #[serde(default)]
    #[cfg_attr(test, schemars(extend("enum" = ["", "exact", "prefix", "suffix", "contains", "regex", null])))]
    match_rule_type: Option<String>,
}

/// One rule: every condition it sets must hold; a rule that sets none matches nothing.
struct Rule {
    /// Host glob (`*` is any run of characters), compared without the port and ignoring case.
    domain: Option<String>,
    methods: Vec<String>,
    path: Option<Matcher>,
}

impl Rule {
    fn parse(spec: &MatchRuleSpec, at: &str) -> Result<Rule, ConfigError> {
        let path = spec.match_rule_path.as_deref().unwrap_or_default();
        let kind = spec.match_rule_type.as_deref().unwrap_or_default();
        let path = match (kind, path) {
            ("", "") => None,
            ("", _) => {
                return Err(ConfigError::at(
                    format!("{at}.match_rule_type"),
                    format!("is required with match_rule_path: use {KINDS}"),
                ))
            }
            (kind, path) => Some(Matcher::new(kind, path, false).map_err(|message| {
                let field = if message.starts_with("unknown") { "match_rule_type" } else { "match_rule_path" };
                ConfigError::at(format!("{at}.{field}"), message)
            })?),
        };
        let domain = spec.match_rule_domain.clone().filter(|d| !d.is_empty());
        Ok(Rule { domain, methods: spec.match_rule_method.clone().unwrap_or_default(), path })
    }

    fn matches(&self, host: &str, method: &str, path: &str) -> bool {
        if self.domain.is_none() && self.methods.is_empty() && self.path.is_none() {
            return false;
        }
        self.domain.as_deref().is_none_or(|pattern| glob(pattern, host))
            && (self.methods.is_empty() || self.methods.iter().any(|m| m.eq_ignore_ascii_case(method)))
            && self.path.as_ref().is_none_or(|m| m.matches(path))
    }
}

/// The parsed `match_type` and `match_list`. The default (no `match_list`) checks every
/// request.
#[derive(Default)]
pub struct MatchRules {
    blacklist: bool,
    rules: Vec<Rule>,
    /// Some rule looks at the path (decoded once per request only then).
    reads_path: bool,
}

impl MatchRules {
    /// From the config's `match_type` and `match_list`.
    pub fn parse(match_type: Option<&str>, list: Option<&[MatchRuleSpec]>) -> Result<MatchRules, ConfigError> {
        let blacklist = match match_type {
            None if list.is_some() => return Err(ConfigError::at("match_type", "is required with match_list")),
            None | Some("whitelist") => false,
            Some("blacklist") => true,
            Some(other) => {
                return Err(ConfigError::at("match_type", format!("must be whitelist or blacklist, not `{other}`")))
            }
        };
        let Some(list) = list else { return Ok(MatchRules::default()) };
        let rules = list
            .iter()
            .enumerate()
            .map(|(i, spec)| Rule::parse(spec, &format!("match_list[{i}]")))
            .collect::<Result<Vec<_>, _>>()?;
        let reads_path = rules.iter().any(|r| r.path.is_some());
        Ok(MatchRules { blacklist, rules, reads_path })
    }

    /// Whether this request goes on without asking the authorization service.
    pub fn skips(&self, http: &Http) -> bool {
        if self.rules.is_empty() {
            // An empty whitelist skips nothing; an empty blacklist checks nothing.
            return self.blacklist;
        }
        // As Go's `url.Parse(path).Path`: without the query, percent-decoded.
        let path =
            if self.reads_path { url::percent_decode(url::split_path(http.path()).0, false) } else { String::new() };
        let host = strip_port(http.host());
        let listed = self.rules.iter().any(|r| r.matches(host, http.method(), &path));
        listed != self.blacklist
    }
}

/// Whether `text` matches `pattern`, where `*` stands for any run of characters (ASCII case
/// ignored): what Go's `^pattern$` regexp with `*` as `.*` matched.
fn glob(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.as_bytes().split(|&b| b == b'*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = strip_prefix_ignore_case(text.as_bytes(), first) else { return false };
    let Some(mut part) = parts.next() else { return rest.is_empty() };
    // Each middle part at its leftmost place; the last one must end the text.
    for next in parts {
        match find_ignore_case(rest, part) {
            Some(at) => rest = rest.get(at + part.len()..).unwrap_or_default(),
            None => return false,
        }
        part = next;
    }
    rest.len()
        .checked_sub(part.len())
        .and_then(|start| rest.get(start..))
        .is_some_and(|tail| tail.eq_ignore_ascii_case(part))
}

fn strip_prefix_ignore_case<'a>(text: &'a [u8], prefix: &[u8]) -> Option<&'a [u8]> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| text.get(prefix.len()..).unwrap_or_default())
}

fn find_ignore_case(text: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    text.windows(needle.len()).position(|w| w.eq_ignore_ascii_case(needle))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("api.example.com", "api.example.com"));
        assert!(glob("api.example.com", "API.Example.com"));
        assert!(!glob("api.example.com", "api.example.com.evil"));
        assert!(glob("*.example.com", "sub.example.com"));
        assert!(!glob("*.example.com", "example.com"));
        assert!(glob("example-*.com", "example-test.com"));
        assert!(glob("*", ""));
        assert!(glob("a*b*c", "abc"));
        assert!(glob("a*b*c", "a-b-b-c"));
        assert!(!glob("a*b*c", "a-c-b"));
        assert!(!glob("ab*ba", "aba"), "prefix and suffix may not overlap");
        assert!(glob("**", "x"));
        assert!(!glob("a.com", "abcom"), "a dot is a dot, not a regexp wildcard");
    }

    fn rules(kind: &str, list: serde_json::Value) -> MatchRules {
        let list: Vec<MatchRuleSpec> = serde_json::from_value(list).unwrap();
        MatchRules::parse(Some(kind), Some(&list)).unwrap()
    }

    fn listed(r: &MatchRules, host: &str, method: &str, path: &str) -> bool {
        let host = strip_port(host);
        r.rules.iter().any(|rule| rule.matches(host, method, path))
    }

    #[test]
    fn rules_match_like_go() {
        let r = rules(
            "whitelist",
            serde_json::json!([{"match_rule_domain": "example.com", "match_rule_method": ["GET", "post"], "match_rule_path": "/foo", "match_rule_type": "exact"}]),
        );
        assert!(listed(&r, "example.com", "GET", "/foo"));
        assert!(listed(&r, "example.com", "POST", "/foo"), "methods ignore case");
        assert!(!listed(&r, "example.com", "PUT", "/foo"));
        assert!(!listed(&r, "example.com", "GET", "/foo-bar"));
        assert!(listed(&r, "example.com:8080", "GET", "/foo"), "the port is not part of the domain");
        let only_method = rules("whitelist", serde_json::json!([{"match_rule_method": ["GET"]}]));
        assert!(listed(&only_method, "any.com", "GET", "/x"));
        let empty_rule = rules("whitelist", serde_json::json!([{}]));
        assert!(!listed(&empty_rule, "example.com", "GET", "/foo"), "a rule without conditions matches nothing");
    }

    #[test]
    fn errors_name_the_field() {
        let err = |t: Option<&str>, list: serde_json::Value| {
            let list: Vec<MatchRuleSpec> = serde_json::from_value(list).unwrap();
            MatchRules::parse(t, Some(&list)).err().unwrap().to_string()
        };
        assert_eq!(err(None, serde_json::json!([])), "match_type: is required with match_list");
        assert_eq!(
            err(Some("invalid_type"), serde_json::json!([])),
            "match_type: must be whitelist or blacklist, not `invalid_type`"
        );
        assert!(err(Some("blacklist"), serde_json::json!([{"match_rule_path": "/h", "match_rule_type": "glob"}]))
            .starts_with("match_list[0].match_rule_type: unknown match type `glob`"));
        assert!(err(Some("blacklist"), serde_json::json!([{}, {"match_rule_path": "/h"}]))
            .starts_with("match_list[1].match_rule_type: is required with match_rule_path"));
        assert!(err(Some("blacklist"), serde_json::json!([{"match_rule_path": "(", "match_rule_type": "regex"}]))
            .starts_with("match_list[0].match_rule_path: invalid regex"));
        assert!(MatchRules::parse(Some("bogus"), None).is_err(), "a bad match_type is refused even without a list");
    }
}
