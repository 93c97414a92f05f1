//! The JSON Schema of [`LimitConfig`] (feature `schema`), derived from schema-only shape types:
//! `global_threshold` and `rule_items` are JSON maps read by [`crate::rules`], so these types
//! mirror what that parser reads. Each [`Unit`] names its shape ([`QueryConfig`],
//! [`TokenConfig`]), as the window keys are named after it (`query_per_second`,
//! `token_per_minute`, ...).

// Shape types are never built: only their schemas are used.
#![allow(dead_code)]

use crate::config::{default_code, default_message, LimitConfig, Unit};
use higress_sdk::redis::RedisConfig;
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde_json::{Map, Value};
use std::borrow::Cow;

impl<U: Unit> JsonSchema for LimitConfig<U> {
    fn schema_name() -> Cow<'static, str> {
        U::Schema::schema_name()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        U::Schema::json_schema(generator)
    }
}

/// A positive integer.
#[derive(Default, JsonSchema)]
#[schemars(transparent, inline)]
pub struct Count(#[schemars(range(min = 1))] u64);

/// A non-empty string.
#[derive(Default, JsonSchema)]
#[schemars(transparent, inline)]
pub struct Name(#[schemars(length(min = 1))] String);

/// Windows: one or more of `query_per_second`, `query_per_minute`, `query_per_hour`, `query_per_day`; every window is
/// enforced.
#[derive(JsonSchema)]
#[schemars(extend("anyOf" = [
    {"required": ["query_per_second"]},
    {"required": ["query_per_minute"]},
    {"required": ["query_per_hour"]},
    {"required": ["query_per_day"]},
]))]
pub struct QueryWindows {
    /// At most so many requests per second (fixed window).
    #[serde(default)]
    query_per_second: Count,
    /// At most so many requests per minute (fixed window).
    #[serde(default)]
    query_per_minute: Count,
    /// At most so many requests per hour (fixed window).
    #[serde(default)]
    query_per_hour: Count,
    /// At most so many requests per day (fixed window).
    #[serde(default)]
    query_per_day: Count,
}

/// Windows: one or more of `token_per_second`, `token_per_minute`, `token_per_hour`, `token_per_day`; every window is
/// enforced.
#[derive(JsonSchema)]
#[schemars(extend("anyOf" = [
    {"required": ["token_per_second"]},
    {"required": ["token_per_minute"]},
    {"required": ["token_per_hour"]},
    {"required": ["token_per_day"]},
]))]
pub struct TokenWindows {
    /// At most so many tokens per second (fixed window).
    #[serde(default)]
    token_per_second: Count,
    /// At most so many tokens per minute (fixed window).
    #[serde(default)]
    token_per_minute: Count,
    /// At most so many tokens per hour (fixed window).
    #[serde(default)]
    token_per_hour: Count,
    /// At most so many tokens per day (fixed window).
    #[serde(default)]
    token_per_day: Count,
}

/// A value of the item's source and its windows.
#[derive(JsonSchema)]
#[schemars(rename = "LimitKey")]
pub struct LimitKey<W> {
    /// The value limited: exact for `limit_by_header` / `_param` / `_cookie` / `_consumer`; `*` (every value, one
    /// counter each) or `regexp:<pattern>` for `limit_by_per_header` / `_param` / `_cookie` / `_consumer`; an IP
    /// address or CIDR range (v4 or v6) for `limit_by_per_ip`.
    key: Name,
    #[serde(flatten)]
    windows: W,
}

/// Limits per value of one source (exactly one `limit_by_*` key); the first item that applies to a request counts.
#[derive(JsonSchema)]
#[schemars(rename = "RuleItem")]
#[schemars(extend("oneOf" = [
    {"required": ["limit_by_header"]},
    {"required": ["limit_by_param"]},
    {"required": ["limit_by_cookie"]},
    {"required": ["limit_by_consumer"]},
    {"required": ["limit_by_per_header"]},
    {"required": ["limit_by_per_param"]},
    {"required": ["limit_by_per_cookie"]},
    {"required": ["limit_by_per_consumer"]},
    {"required": ["limit_by_per_ip"]},
]))]
pub struct RuleItem<W> {
    /// Limit by this request header's value (exact keys).
    #[serde(default)]
    limit_by_header: Name,
    /// Limit by this query parameter's value (exact keys).
    #[serde(default)]
    limit_by_param: Name,
    /// Limit by this cookie's value (exact keys).
    #[serde(default)]
    limit_by_cookie: Name,
    /// Limit by the consumer (`x-mse-consumer`, set by the auth plugins), exact keys; the value is not used (`''`).
    limit_by_consumer: Option<Value>,
    /// Limit by this request header, one counter per distinct value (keys `*` or `regexp:`).
    #[serde(default)]
    limit_by_per_header: Name,
    /// Limit by this query parameter, one counter per distinct value (keys `*` or `regexp:`).
    #[serde(default)]
    limit_by_per_param: Name,
    /// Limit by this cookie, one counter per distinct value (keys `*` or `regexp:`).
    #[serde(default)]
    limit_by_per_cookie: Name,
    /// Limit by the consumer, one counter per distinct consumer (keys `*` or `regexp:`); the value is not used (`''`).
    limit_by_per_consumer: Option<Value>,
    /// Limit by client address, one counter per address: `from-remote-addr` (the connection's) or `from-header-<name>`
    /// (the first address in that header); keys are IPs or CIDR ranges.
    #[serde(default)]
    #[schemars(regex(pattern = r"^(from-remote-addr|from-header-.+)$"))]
    limit_by_per_ip: Name,
    /// The keys limited and their windows; a request whose value no key matches is not limited by this item.
    #[schemars(length(min = 1))]
    limit_keys: Vec<LimitKey<W>>,
}

/// The keys both plugins read besides their limits.
#[derive(JsonSchema)]
pub struct Common {
    /// Names the counters in Redis.
    rule_name: Name,
    /// HTTP status of a refusal.
    #[serde(default = "default_code")]
    #[schemars(range(min = 100, max = 599))]
    rejected_code: u32,
    /// Body of a refusal.
    #[serde(default = "default_message")]
    rejected_msg: String,
    /// The Redis service the counters are kept in.
    redis: RedisConfig,
}

/// cluster-key-rate-limit's config.
#[derive(JsonSchema)]
#[schemars(rename = "LimitConfig")]
pub struct QueryConfig {
    #[serde(flatten)]
    common: Common,
    /// Windows for all requests (requests counted together); exactly one of `global_threshold` and `rule_items`.
    global_threshold: Option<QueryWindows>,
    /// Limits per key value (requests), tried in order; the first item that applies counts; exactly one of
    /// `global_threshold` and `rule_items`.
    #[schemars(length(min = 1))]
    rule_items: Option<Vec<RuleItem<QueryWindows>>>,
    /// Add `X-RateLimit-Limit` and `X-RateLimit-Remaining` to responses.
    #[serde(default)]
    show_limit_quota_header: bool,
    #[serde(flatten)]
    limits: ExactlyOne,
}

/// Exactly one of `global_threshold` and `rule_items` is set (not null).
#[derive(JsonSchema)]
#[serde(untagged)]
pub enum ExactlyOne {
    /// `global_threshold` alone.
    Global { global_threshold: Map<String, Value>, rule_items: Option<()> },
    /// `rule_items` alone.
    Items { rule_items: Vec<Value>, global_threshold: Option<()> },
}

/// ai-token-ratelimit's config.
#[derive(JsonSchema)]
#[schemars(rename = "LimitConfig")]
pub struct TokenConfig {
    #[serde(flatten)]
    common: Common,
    /// Windows for all requests (tokens counted together); `global_threshold`, `rule_items` or both (a request then
    /// counts against both).
    global_threshold: Option<TokenWindows>,
    /// Limits per key value (tokens), tried in order; the first item that applies counts; `global_threshold`,
    /// `rule_items` or both (a request then counts against both).
    #[schemars(length(min = 1))]
    rule_items: Option<Vec<RuleItem<TokenWindows>>>,
    #[serde(flatten)]
    limits: AtLeastOne,
}

/// `global_threshold`, `rule_items` or both are set (not null).
#[derive(JsonSchema)]
#[serde(untagged)]
pub enum AtLeastOne {
    /// `global_threshold`.
    Global { global_threshold: Map<String, Value> },
    /// `rule_items`.
    Items { rule_items: Vec<Value> },
}
