//! Envoy-style string matchers (`exact`, `prefix`, `suffix`, `contains`, `regex`): the
//! header lists of `authorization_request` / `authorization_response` and the paths of
//! `match_list`.

use higress_dfa::Pattern as Compiled;
use higress_sdk::ascii::eq_ignore_case;
use higress_sdk::prelude::*;

/// The kinds, as config errors list them.
pub const KINDS: &str = "exact, prefix, suffix, contains or regex";

/// What a matcher compares against.
enum Pattern {
    Exact(String),
    Prefix(String),
    Suffix(String),
    Contains(String),
    /// A DFA where the pattern has one (a byte step per byte of the path).
    Regex(Compiled),
}

/// One string matcher.
pub struct Matcher {
    pattern: Pattern,
    /// ASCII case-insensitive (header names); a regex gets `(?i)` instead.
    ignore_case: bool,
}

impl Matcher {
    /// A matcher of `kind` for `target`; the error says what is wrong with them.
    pub fn new(kind: &str, target: &str, ignore_case: bool) -> Result<Matcher, String> {
        let pattern = match kind {
            "exact" => Pattern::Exact(target.to_string()),
            "prefix" => Pattern::Prefix(target.to_string()),
            "suffix" => Pattern::Suffix(target.to_string()),
            "contains" => Pattern::Contains(target.to_string()),
            "regex" => {
                let source = if ignore_case && !target.starts_with("(?i)") {
                    format!("(?i){target}")
                } else {
                    target.to_string()
                };
                Pattern::Regex(Compiled::new(&source).map_err(|e| format!("invalid regex `{target}`: {e}"))?)
            }
            other => return Err(format!("unknown match type `{other}`: use {KINDS}")),
        };
        Ok(Matcher { pattern, ignore_case })
    }

    /// Whether `text` matches (regexes search, as Go's `MatchString`).
    pub fn matches(&self, text: &str) -> bool {
        let (bytes, ignore_case) = (text.as_bytes(), self.ignore_case);
        let same = |a: &[u8], b: &[u8]| if ignore_case { eq_ignore_case(a, b) } else { a == b };
        match &self.pattern {
            Pattern::Exact(t) => same(bytes, t.as_bytes()),
            Pattern::Prefix(t) => bytes.get(..t.len()).is_some_and(|head| same(head, t.as_bytes())),
            Pattern::Suffix(t) => bytes
                .len()
                .checked_sub(t.len())
                .and_then(|start| bytes.get(start..))
                .is_some_and(|tail| same(tail, t.as_bytes())),
            Pattern::Contains(t) => t.is_empty() || bytes.windows(t.len()).any(|w| same(w, t.as_bytes())),
            Pattern::Regex(re) => re.is_match(text),
        }
    }
}

/// A `StringMatcher` item as configured: one of the kinds, non-empty (as in Go, an empty
/// value counts as absent), and `ignore_case`.
#[derive(Deserialize)]
#[cfg_attr(
    test,
    derive(schemars::JsonSchema),
    schemars(extend("oneOf" = [
        {"required": ["exact"], "properties": {"exact": {"type": "string", "minLength": 1}}},
        {"required": ["prefix"], "properties": {"prefix": {"type": "string", "minLength": 1}}},
        {"required": ["suffix"], "properties": {"suffix": {"type": "string", "minLength": 1}}},
        {"required": ["contains"], "properties": {"contains": {"type": "string", "minLength": 1}}},
        {"required": ["regex"], "properties": {"regex": {"type": "string", "minLength": 1}}},
    ]))
)]
pub struct MatcherSpec {
    /// The whole name equals this.
    #[serde(default)]
    exact: Option<String>,
    /// The name starts with this.
    #[serde(default)]
    prefix: Option<String>,
    /// The name ends with this.
    #[serde(default)]
    suffix: Option<String>,
    /// The name contains this.
    #[serde(default)]
    contains: Option<String>,
    /// The name matches this regular expression (searched, not anchored).
    #[serde(default)]
    regex: Option<String>,
    /// Ignore ASCII case (header names are always compared ignoring case).
    #[serde(default)]
    ignore_case: bool,
}

impl MatcherSpec {
    /// Builds the matcher; `force_ignore_case` for header names. Errors name the key at fault
    /// relative to the item (`regex`, or the item itself).
    fn build(&self, force_ignore_case: bool) -> Result<Matcher, ConfigError> {
        let given: Vec<(&str, &str)> = [
            ("exact", &self.exact),
            ("prefix", &self.prefix),
            ("suffix", &self.suffix),
            ("contains", &self.contains),
            ("regex", &self.regex),
        ]
        .into_iter()
        .filter_map(|(kind, value)| value.as_deref().filter(|v| !v.is_empty()).map(|v| (kind, v)))
        .collect();
        match given.as_slice() {
            [(kind, target)] => Matcher::new(kind, target, force_ignore_case || self.ignore_case)
                .map_err(|message| ConfigError::at(*kind, message)),
            [] => Err(ConfigError::new(format!("needs a non-empty one of {KINDS}"))),
            [(a, _), (b, _), ..] => Err(ConfigError::new(format!("sets both `{a}` and `{b}`: give one"))),
        }
    }
}

/// A list of matchers; a string matches when any of them does.
pub struct MatcherList(Vec<Matcher>);

impl MatcherList {
    /// Header-name matchers (always case-insensitive, as Go builds them) from the list at
    /// config path `field`.
    pub fn header_names(specs: &[MatcherSpec], field: &str) -> Result<MatcherList, ConfigError> {
        specs
            .iter()
            .enumerate()
            .map(|(i, spec)| spec.build(true).map_err(|e| e.within(&format!("{field}[{i}]"))))
            .collect::<Result<Vec<_>, _>>()
            .map(MatcherList)
    }

    /// Whether any matcher matches `text`.
    pub fn matches(&self, text: &str) -> bool {
        self.0.iter().any(|m| m.matches(text))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn spec(json: &str) -> MatcherSpec {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn kinds_match_like_go() {
        let m = |kind, target, text| Matcher::new(kind, target, false).unwrap().matches(text);
        assert!(m("exact", "/foo", "/foo"));
        assert!(!m("exact", "/foo", "/foo/"));
        assert!(m("prefix", "/api", "/api/v1"));
        assert!(!m("prefix", "/api", "/ap"));
        assert!(m("suffix", ".json", "/a.json"));
        assert!(!m("suffix", ".json", "json"));
        assert!(m("contains", "mid", "amidst"));
        assert!(m("regex", "^/v[0-9]+/", "/v12/x"));
        assert!(m("regex", "v[0-9]", "/api/v1"), "a regex searches, it is not anchored");
        assert!(!m("exact", "/Foo", "/foo"), "paths are case-sensitive");
        assert!(Matcher::new("glob", "x", false).err().unwrap().contains("unknown match type `glob`"));
        assert!(Matcher::new("regex", "(?!)aa", false).err().unwrap().contains("invalid regex"));
    }

    #[test]
    fn header_lists_ignore_case() {
        let specs = [spec(r#"{"exact":"foo"}"#), spec(r#"{"prefix":"pre"}"#), spec(r#"{"regex":"^Cache"}"#)];
        let list = MatcherList::header_names(&specs, "h").unwrap();
        for name in ["Foo", "foO", "foo", "PreA", "cache-control", "Cache-Control"] {
            assert!(list.matches(name), "{name}");
        }
        for name in ["afoo", "fo"] {
            assert!(!list.matches(name), "{name}");
        }
    }

    #[test]
    fn an_item_needs_exactly_one_kind() {
        let err = |json| MatcherList::header_names(&[spec(json)], "list").err().unwrap().to_string();
        assert_eq!(err(r#"{}"#), format!("list[0]: needs a non-empty one of {KINDS}"));
        assert_eq!(err(r#"{"exact":""}"#), format!("list[0]: needs a non-empty one of {KINDS}"));
        assert_eq!(err(r#"{"exact":"a","prefix":"b"}"#), "list[0]: sets both `exact` and `prefix`: give one");
        assert!(err(r#"{"regex":"("}"#).starts_with("list[0].regex: invalid regex `(`"));
        // An empty value counts as absent, as in Go.
        assert!(MatcherList::header_names(&[spec(r#"{"exact":"","prefix":"x"}"#)], "l").is_ok());
    }
}
