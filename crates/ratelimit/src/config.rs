//! The config of the Redis rate limits: `rule_name`, `global_threshold`, `rule_items`,
//! `rejected_code`, `rejected_msg`, `redis`, and cluster-key-rate-limit's
//! `show_limit_quota_header`. One struct for both plugins (not flattened into each: serde
//! would then lose the path of a bad field in its errors).

use crate::rules::{Combination, Limits, Window};
use crate::source;
use higress_sdk::config::ConfigError;
use higress_sdk::metrics::Counter;
use higress_sdk::redis::{Outage, RedisClient, RedisConfig};
use higress_sdk::Http;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::cell::RefCell;
use std::collections::HashMap;
use std::marker::PhantomData;

/// What a plugin counts: the name of its windows (`query_per_second`, `token_per_minute`,
/// ...) and how it takes `global_threshold` and `rule_items`.
pub trait Unit {
    /// `query` or `token`.
    const NAME: &'static str;
    /// How `global_threshold` and `rule_items` combine.
    const COMBINATION: Combination;
    /// The shape of the config's JSON Schema (windows named after the unit, how
    /// `global_threshold` and `rule_items` combine, the plugin's own keys).
    #[cfg(feature = "schema")]
    type Schema: schemars::JsonSchema;
}

/// Requests (cluster-key-rate-limit): exactly one of `global_threshold` and `rule_items`.
pub struct Queries;

impl Unit for Queries {
    const NAME: &'static str = "query";
    const COMBINATION: Combination = Combination::OneOf;
    #[cfg(feature = "schema")]
    type Schema = crate::schema::QueryConfig;
}

/// LLM tokens (ai-token-ratelimit): `global_threshold`, `rule_items` or both.
pub struct Tokens;

impl Unit for Tokens {
    const NAME: &'static str = "token";
    const COMBINATION: Combination = Combination::Either;
    #[cfg(feature = "schema")]
    type Schema = crate::schema::TokenConfig;
}

/// The config of a plugin counting in `U` (its JSON Schema is `U::Schema`, derived from shape
/// types in `crate::schema`: `global_threshold` and `rule_items` are parsed by hand).
#[derive(Deserialize)]
#[serde(bound = "")]
pub struct LimitConfig<U: Unit = Queries> {
    pub rule_name: String,
    #[serde(default)]
    global_threshold: Option<Map<String, Value>>,
    #[serde(default)]
    rule_items: Option<Vec<Map<String, Value>>>,
    #[serde(default = "default_code")]
    pub rejected_code: u32,
    #[serde(default = "default_message")]
    pub rejected_msg: String,
    redis: RedisConfig,
    /// Quota headers on responses (cluster-key-rate-limit).
    #[serde(default)]
    pub show_limit_quota_header: bool,
    /// What is limited (set by [`LimitConfig::validate`]).
    #[serde(skip)]
    pub limits: Limits,
    #[serde(skip)]
    pub client: Option<RedisClient>,
    /// Logs Redis failures once per outage, not once per request.
    #[serde(skip)]
    pub outage: Outage,
    /// Counters by metric name, defined once each.
    #[serde(skip)]
    counters: RefCell<HashMap<String, Counter>>,
    #[serde(skip)]
    unit: PhantomData<U>,
}

pub(crate) fn default_code() -> u32 {
    429
}

pub(crate) fn default_message() -> String {
    "Too many requests".into()
}

impl<U: Unit> LimitConfig<U> {
    /// Checks the keys and declares the Redis client.
    pub fn validate(&mut self) -> Result<(), ConfigError> {
        if self.rule_name.is_empty() {
            return Err(ConfigError::at("rule_name", "cannot be empty"));
        }
        self.limits =
            Limits::parse(self.global_threshold.as_ref(), self.rule_items.as_deref(), U::NAME, U::COMBINATION)?;
        if !(100..=599).contains(&self.rejected_code) {
            return Err(ConfigError::at("rejected_code", "must be an HTTP status (100-599)"));
        }
        self.client = Some(self.redis.client("redis")?);
        Ok(())
    }
}

/// The Redis counters a request counts against: one key per window.
#[derive(Default)]
pub struct Counters {
    pub keys: Vec<String>,
    pub windows: Vec<Window>,
}

impl<U: Unit> LimitConfig<U> {
    /// The counters of a request, keyed as Higress writes them under `prefix`: the global
    /// windows (`<prefix>:<rule_name>:global_threshold:<seconds>:<count>`) and those of the
    /// first rule item that applies (`<prefix>:<rule_name>:<source>:<seconds>:<count>:<name>:<value>`).
    /// No keys: the request is not limited.
    pub fn counters(&self, prefix: &str, http: &Http) -> Counters {
        let rule = &self.rule_name;
        let mut counters = Counters::default();
        for w in &self.limits.global {
            counters.keys.push(format!("{prefix}:{rule}:global_threshold:{}:{}", w.seconds, w.count));
            counters.windows.push(*w);
        }
        if let Some((item, key, value)) = source::find(http, &self.limits.rules) {
            for w in &key.windows {
                let (kind, name) = (item.limit_type, &item.name);
                counters.keys.push(format!("{prefix}:{rule}:{kind}:{}:{}:{name}:{value}", w.seconds, w.count));
                counters.windows.push(*w);
            }
        }
        counters
    }

    /// Adds one to the counter `name` (defined on first use).
    pub fn count(&self, name: &str) {
        let mut counters = self.counters.borrow_mut();
        if !counters.contains_key(name) {
            match Counter::new(name) {
                Ok(counter) => {
                    counters.insert(name.to_string(), counter);
                }
                Err(status) => higress_sdk::log_debug!("metric {name}: {status:?}"),
            }
        }
        if let Some(counter) = counters.get(name) {
            counter.increment(1);
        }
    }
}
