//! The rule model of Higress's Redis rate limits (cluster-key-rate-limit counts requests,
//! ai-token-ratelimit tokens): `global_threshold` and `rule_items`, each item's source, each
//! key's matcher (exact, `*`, `regexp:`, IP or CIDR) and every window it sets, checked once
//! at start with errors that name the field.

use higress_dfa::Pattern;
use higress_sdk::config::ConfigError;
use ipnet::IpNet;
use serde_json::{Map, Value};
use std::net::IpAddr;

/// The windows in seconds, by suffix (`query_per_second`, `token_per_minute`, ...).
const WINDOWS: [(&str, u64); 4] = [("second", 1), ("minute", 60), ("hour", 3_600), ("day", 86_400)];

/// Where `limit_by_consumer` finds the consumer (set by Higress's auth plugins).
pub const CONSUMER_HEADER: &str = "x-mse-consumer";

/// So many requests (or tokens) per window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub count: u64,
    pub seconds: u64,
}

/// What a config limits.
#[derive(Default)]
pub struct Limits {
    /// `global_threshold`: one counter per window for every request.
    pub global: Vec<Window>,
    /// `rule_items`, tried in order.
    pub rules: Vec<RuleItem>,
}

/// Where a rule item takes the value it limits by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Header(String),
    Param(String),
    Cookie(String),
    Consumer,
    /// The client address: the connection's, or the first address in a header.
    Ip(Option<String>),
}

pub struct RuleItem {
    /// `limit_by_header`, `limit_by_per_ip`, ... (a part of the Redis key).
    pub limit_type: &'static str,
    /// The configured name (header, parameter, cookie; `x-mse-consumer`; `from-...`).
    pub name: String,
    pub source: Source,
    pub keys: Vec<LimitKey>,
}

pub struct LimitKey {
    /// As configured (a part of the Redis key).
    pub key: String,
    pub matcher: Matcher,
    pub windows: Vec<Window>,
}

pub enum Matcher {
    Exact,
    Any,
    /// A DFA where the pattern has one: a 60 KiB header value costs a table load per byte.
    Regex(Pattern),
    Net(IpNet),
}

impl LimitKey {
    pub fn matches(&self, value: &str) -> bool {
        match &self.matcher {
            Matcher::Exact => self.key == value,
            Matcher::Any => true,
            Matcher::Regex(re) => re.is_match(value),
            Matcher::Net(_) => false,
        }
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        matches!(&self.matcher, Matcher::Net(net) if net.contains(&ip))
    }
}

/// Every window `item` sets (one or more), in window order; `unit` is `query` or `token`.
fn windows(item: &Map<String, Value>, at: &str, unit: &str) -> Result<Vec<Window>, ConfigError> {
    let mut windows = Vec::new();
    for (suffix, seconds) in WINDOWS {
        let name = format!("{unit}_per_{suffix}");
        let Some(value) = item.get(&name) else { continue };
        match value.as_u64() {
            Some(count) if count > 0 => windows.push(Window { count, seconds }),
            _ => return Err(ConfigError::at(format!("{at}.{name}"), "must be a positive integer")),
        }
    }
    if windows.is_empty() {
        return Err(ConfigError::at(
            at,
            format!("one of {unit}_per_second, {unit}_per_minute, {unit}_per_hour, {unit}_per_day is required"),
        ));
    }
    Ok(windows)
}

/// The IP or network a `limit_by_per_ip` key names.
fn network(key: &str) -> Option<IpNet> {
    key.parse::<IpNet>().ok().or_else(|| key.parse::<IpAddr>().ok().map(IpNet::from))
}

const SOURCES: [&str; 9] = [
    "limit_by_header",
    "limit_by_param",
    "limit_by_cookie",
    "limit_by_consumer",
    "limit_by_per_header",
    "limit_by_per_param",
    "limit_by_per_cookie",
    "limit_by_per_consumer",
    "limit_by_per_ip",
];

fn rule_item(item: &Map<String, Value>, at: &str, unit: &str) -> Result<RuleItem, ConfigError> {
    let present: Vec<&'static str> = SOURCES.iter().copied().filter(|s| item.contains_key(*s)).collect();
    let limit_type = match present.as_slice() {
        [one] => *one,
        [] => return Err(ConfigError::at(at, format!("one of {} is required", SOURCES.join(", ")))),
        [first, second, ..] => {
            return Err(ConfigError::at(
                at,
                format!("only one source per rule item: both {first} and {second} are set"),
            ))
        }
    };
    let field = format!("{at}.{limit_type}");
    let name = match item.get(limit_type) {
        Some(Value::String(s)) => s.clone(),
        // `limit_by_consumer: ''` and the like: the value is not used.
        _ if limit_type.ends_with("consumer") => String::new(),
        _ => return Err(ConfigError::at(field, "must be a string")),
    };
    let source = match limit_type {
        "limit_by_consumer" | "limit_by_per_consumer" => Source::Consumer,
        _ if name.is_empty() => return Err(ConfigError::at(field, "cannot be empty")),
        "limit_by_header" | "limit_by_per_header" => Source::Header(name.to_ascii_lowercase()),
        "limit_by_param" | "limit_by_per_param" => Source::Param(name.clone()),
        "limit_by_cookie" | "limit_by_per_cookie" => Source::Cookie(name.clone()),
        _ => match (name.as_str(), name.strip_prefix("from-header-")) {
            ("from-remote-addr", _) => Source::Ip(None),
            (_, Some(header)) if !header.is_empty() => Source::Ip(Some(header.to_ascii_lowercase())),
            _ => return Err(ConfigError::at(field, "must be `from-remote-addr` or `from-header-<header name>`")),
        },
    };
    let name = if source == Source::Consumer { CONSUMER_HEADER.to_string() } else { name };
    let keys_at = format!("{at}.limit_keys");
    let keys = match item.get("limit_keys") {
        Some(Value::Array(keys)) if !keys.is_empty() => keys,
        Some(Value::Array(_)) => return Err(ConfigError::at(keys_at, "cannot be empty")),
        Some(_) => return Err(ConfigError::at(keys_at, "must be an array")),
        None => return Err(ConfigError::at(keys_at, "is required")),
    };
    let per = limit_type.starts_with("limit_by_per_");
    let mut limit_keys = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        let key_at = format!("{keys_at}[{i}]");
        let Some(key) = key.as_object() else { return Err(ConfigError::at(key_at, "must be an object")) };
        let Some(text) = key.get("key").and_then(Value::as_str).filter(|k| !k.is_empty()) else {
            return Err(ConfigError::at(format!("{key_at}.key"), "is required (a non-empty string)"));
        };
        let matcher = if matches!(source, Source::Ip(_)) {
            Matcher::Net(network(text).ok_or_else(|| {
                ConfigError::at(format!("{key_at}.key"), format!("`{text}` is not an IP address or a CIDR range"))
            })?)
        } else if !per {
            Matcher::Exact
        } else if text == "*" {
            Matcher::Any
        } else if let Some(pattern) = text.strip_prefix("regexp:") {
            Matcher::Regex(Pattern::new(pattern).map_err(|e| ConfigError::at(format!("{key_at}.key"), e.to_string()))?)
        } else {
            return Err(ConfigError::at(
                format!("{key_at}.key"),
                format!("a {limit_type} key is `*` or starts with `regexp:` (`{text}` is neither)"),
            ));
        };
        limit_keys.push(LimitKey { key: text.to_string(), matcher, windows: windows(key, &key_at, unit)? });
    }
    Ok(RuleItem { limit_type, name, source, keys: limit_keys })
}

/// How a plugin takes `global_threshold` and `rule_items`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Combination {
    /// Exactly one of the two (cluster-key-rate-limit).
    OneOf,
    /// Either or both (ai-token-ratelimit: a request then counts against both).
    Either,
}

impl Limits {
    /// Parses `global_threshold` and `rule_items` (`unit`: `query` or `token`).
    pub fn parse(
        global: Option<&Map<String, Value>>,
        items: Option<&[Map<String, Value>]>,
        unit: &str,
        combination: Combination,
    ) -> Result<Limits, ConfigError> {
        match (global, items) {
            (Some(_), Some(_)) if combination == Combination::OneOf => {
                return Err(ConfigError::at("global_threshold", "global_threshold and rule_items cannot both be set"))
            }
            (None, None) => {
                return Err(ConfigError::at("rule_items", "one of global_threshold and rule_items is required"))
            }
            (_, Some([])) => return Err(ConfigError::at("rule_items", "cannot be empty")),
            _ => {}
        }
        let global = match global {
            Some(global) => windows(global, "global_threshold", unit)?,
            None => Vec::new(),
        };
        let rules = items
            .unwrap_or_default()
            .iter()
            .enumerate()
            .map(|(i, item)| rule_item(item, &format!("rule_items[{i}]"), unit))
            .collect::<Result<_, _>>()?;
        Ok(Limits { global, rules })
    }
}
