//! key-rate-limit: limits requests per key value (a header or a query parameter), as
//! Higress's plugin of the same name, with one bucket per key shared by every worker of the
//! gateway and refilled continuously.

mod bucket;

use higress_sdk::prelude::*;
use higress_sdk::{hostcalls, url};
use std::collections::HashMap;

const SECOND_NS: u64 = 1_000_000_000;
/// The reply's realm, as Higress's plugin sends it.
const CHALLENGE: &str = "Key rate realm=MSE Gateway";
const BODY: &str = "Too many requests";

/// A limited key value and its window: exactly one of `query_per_second`,
/// `query_per_minute`, `query_per_hour`, `query_per_day` set to a positive number (0 or
/// less counts as unset).
#[derive(Deserialize)]
#[cfg_attr(
    test,
    derive(schemars::JsonSchema),
    schemars(extend("oneOf" = [
        {"required": ["query_per_second"], "properties": {"query_per_second": {"type": "integer", "minimum": 1}}},
        {"required": ["query_per_minute"], "properties": {"query_per_minute": {"type": "integer", "minimum": 1}}},
        {"required": ["query_per_hour"], "properties": {"query_per_hour": {"type": "integer", "minimum": 1}}},
        {"required": ["query_per_day"], "properties": {"query_per_day": {"type": "integer", "minimum": 1}}},
    ]))
)]
struct LimitKey {
    /// The value to limit (exact match); unique in `limit_keys`.
    #[cfg_attr(test, schemars(length(min = 1)))]
    key: String,
    /// Requests allowed per second.
    #[serde(default)]
    query_per_second: Option<i64>,
    /// Requests allowed per minute.
    #[serde(default)]
    query_per_minute: Option<i64>,
    /// Requests allowed per hour.
    #[serde(default)]
    query_per_hour: Option<i64>,
    /// Requests allowed per day.
    #[serde(default)]
    query_per_day: Option<i64>,
    /// Requests per window, and the window (set by validation).
    #[serde(skip)]
    capacity: u64,
    #[serde(skip)]
    window_ns: u64,
}

/// key-rate-limit's config: one of `limit_by_header` and `limit_by_param` (non-empty), and
/// `limit_keys`. A rule is the global config with its keys on top.
#[derive(Deserialize)]
#[cfg_attr(
    test,
    derive(schemars::JsonSchema),
    schemars(extend("anyOf" = [
        {"required": ["limit_by_header"], "properties": {"limit_by_header": {"type": "string", "minLength": 1}}},
        {"required": ["limit_by_param"], "properties": {"limit_by_param": {"type": "string", "minLength": 1}}},
    ]))
)]
struct Config {
    /// The request header whose value is the key (wins over `limit_by_param`).
    #[serde(default)]
    limit_by_header: Option<String>,
    /// The query parameter whose (first non-empty) value is the key; names and values are
    /// decoded.
    #[serde(default)]
    limit_by_param: Option<String>,
    /// The limited key values.
    #[cfg_attr(test, schemars(length(min = 1)))]
    limit_keys: Vec<LimitKey>,
    /// `true` limits everywhere; `false` only where a rule applies; unset: `false` when the
    /// config has rules, `true` otherwise.
    #[serde(default)]
    global_auth: Option<bool>,
    /// Accepted for compatibility (Higress's Go plugin requires it in rules and never uses it).
    #[serde(default)]
    #[allow(dead_code)]
    allow: Vec<String>,
    /// Index of `limit_keys` by key (set by validation).
    #[serde(skip)]
    by_key: HashMap<String, usize>,
    /// Whether this config limits at all (the global one may not, as in Higress).
    #[serde(skip)]
    active: bool,
    /// Names this config's buckets apart from other rules' in shared data.
    #[serde(skip)]
    scope: String,
}

#[derive(Default)]
struct KeyRateLimit;

impl LimitKey {
    /// The one window the key sets (a value of 0 or less counts as unset, as in Higress).
    fn validate(&mut self, at: &str) -> Result<(), ConfigError> {
        if self.key.is_empty() {
            return Err(ConfigError::at(format!("{at}.key"), "is required"));
        }
        let windows = [
            ("query_per_second", self.query_per_second, SECOND_NS),
            ("query_per_minute", self.query_per_minute, 60 * SECOND_NS),
            ("query_per_hour", self.query_per_hour, 3_600 * SECOND_NS),
            ("query_per_day", self.query_per_day, 86_400 * SECOND_NS),
        ];
        let set: Vec<(&str, u64, u64)> = windows
            .iter()
            .filter_map(|(name, value, window)| {
                value.and_then(|v| u64::try_from(v).ok()).filter(|v| *v > 0).map(|v| (*name, v, *window))
            })
            .collect();
        match set.as_slice() {
            [(_, capacity, window)] => {
                (self.capacity, self.window_ns) = (*capacity, *window);
                Ok(())
            }
            [] => Err(ConfigError::at(
                at,
                "one of query_per_second, query_per_minute, query_per_hour, query_per_day is required (a positive number)",
            )),
            [(first, ..), (second, ..), ..] => {
                Err(ConfigError::at(at, format!("only one window per key: both {first} and {second} are set")))
            }
        }
    }
}

impl HttpPlugin for KeyRateLimit {
    type Config = Config;
    // A rule may carry only `allow` (as Higress's Go plugin requires) or its own limits (as
    // its README shows): the global keys fill in what a rule leaves out.
    const MERGE_GLOBAL_INTO_RULES: bool = true;

    fn validate_config(config: &mut Config, cx: &ConfigContext) -> Result<(), ConfigError> {
        let by_header = config.limit_by_header.as_deref().is_some_and(|h| !h.is_empty());
        let by_param = config.limit_by_param.as_deref().is_some_and(|p| !p.is_empty());
        if !by_header && !by_param {
            return Err(ConfigError::at("limit_by_header", "one of limit_by_header and limit_by_param is required"));
        }
        if config.limit_keys.is_empty() {
            return Err(ConfigError::at("limit_keys", "is required and cannot be empty"));
        }
        let mut by_key = HashMap::new();
        for (i, limit) in config.limit_keys.iter_mut().enumerate() {
            limit.validate(&format!("limit_keys[{i}]"))?;
            if by_key.insert(limit.key.clone(), i).is_some() {
                return Err(ConfigError::at(format!("limit_keys[{i}].key"), format!("duplicate key `{}`", limit.key)));
            }
        }
        config.by_key = by_key;
        config.active = !cx.is_global() || config.global_auth.unwrap_or(!cx.has_rules);
        config.scope = match cx.scope {
            higress_sdk::config::Scope::Global => "global".to_string(),
            higress_sdk::config::Scope::Rule(i) => format!("rule{i}"),
        };
        Ok(())
    }

    fn on_request_headers(&mut self, http: &mut Http, config: &Config) -> HeaderAction {
        http.skip_rest();
        if !config.active {
            return HeaderAction::Continue;
        }
        let value = match (&config.limit_by_header, &config.limit_by_param) {
            (Some(header), _) if !header.is_empty() => http.request_header(header),
            (_, Some(param)) => url::query_values_any(http.path(), &[param], 1).pop(),
            _ => None,
        };
        let Some(limit) = value.filter(|v| !v.is_empty()).and_then(|v| config.by_key.get(&v)) else {
            // No key, or one without a limit: not limited.
            return HeaderAction::Continue;
        };
        let Some(limit) = config.limit_keys.get(*limit) else { return HeaderAction::Continue };
        let key = format!("key-rate-limit|{}|{}|{}|{}", config.scope, limit.window_ns, limit.capacity, limit.key);
        let now = hostcalls::current_time_nanos().unwrap_or(0);
        match bucket::take(&key, limit.capacity, limit.window_ns, now) {
            Ok(true) => HeaderAction::Continue,
            Ok(false) => {
                http.send_local_response(
                    429,
                    "key-rate-limit.limited",
                    &[("WWW-Authenticate", CHALLENGE)],
                    BODY.as_bytes(),
                );
                HeaderAction::StopIteration
            }
            Err(status) => {
                // Shared data kept failing: a limit that cannot count lets requests through.
                log_warn!("bucket {key:?} not updated ({status:?}): request admitted");
                HeaderAction::Continue
            }
        }
    }
}

higress_sdk::export_plugin!("key-rate-limit", KeyRateLimit);
