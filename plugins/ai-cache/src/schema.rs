//! The shape of the configuration `config.rs` reads by hand (test builds only: it makes
//! `config.schema.json`, never the module). As with Go's gjson, strings may be numbers or
//! booleans, integers numeric strings, booleans `strconv.ParseBool` strings.

use crate::config::Config;
use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde_json::{json, Value};
use std::borrow::Cow;

impl JsonSchema for Config {
    fn schema_name() -> Cow<'static, str> {
        "Config".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        ConfigShape::json_schema(generator)
    }
}

/// A key whose schema a function gives (`schema_with`).
#[derive(Default)]
pub struct Slot;

/// Strings Go's `strconv.ParseBool` reads as true.
const TRUE: [&str; 6] = ["1", "t", "T", "TRUE", "true", "True"];
/// Strings Go's `strconv.ParseBool` reads as false.
const FALSE: [&str; 6] = ["0", "f", "F", "FALSE", "false", "False"];

/// A text, as gjson's `String()` reads it: a string, or a number's or boolean's text.
#[derive(Default)]
pub struct Text;

impl JsonSchema for Text {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "Text".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": ["string", "number", "boolean", "null"]})
    }
}

/// `true` / `false`, or a string Go's `strconv.ParseBool` reads.
#[derive(Default)]
pub struct Flag;

impl JsonSchema for Flag {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "Flag".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let strings: Vec<&str> = TRUE.iter().chain(FALSE.iter()).copied().collect();
        json_schema!({"anyOf": [{"type": ["boolean", "null"]}, {"enum": strings}]})
    }
}

/// An integer in `min..=max`: a JSON integer or a string holding one (blank: absent).
fn integer(min: i64, max: i64) -> Schema {
    json_schema!({"anyOf": [
        {"type": "integer", "minimum": min, "maximum": max},
        {"type": "string", "pattern": "^\\s*([+-]?[0-9]+)?\\s*$"},
        {"type": "null"},
    ]})
}

fn port(_: &mut SchemaGenerator) -> Schema {
    integer(1, 65535)
}

fn millis(_: &mut SchemaGenerator) -> Schema {
    integer(0, i64::from(u32::MAX))
}

fn seconds(_: &mut SchemaGenerator) -> Schema {
    integer(0, i64::MAX)
}

fn database(_: &mut SchemaGenerator) -> Schema {
    integer(0, i64::from(u32::MAX))
}

/// A GJSON path, or (legacy) `{requestBody: <path>}`.
fn path_or_legacy(_: &mut SchemaGenerator) -> Schema {
    let text = json!({"type": ["string", "number", "boolean", "null"]});
    json_schema!({"anyOf": [
        text.clone(),
        {
            "type": "object",
            "properties": {"requestBody": {"type": ["string", "number", "boolean"]}},
            "required": ["requestBody"],
            "description": "Legacy spelling: the path inside `requestBody`.",
        },
    ]})
}

/// Semantic caching: not implemented, so only absent or `null` is accepted.
fn refused(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "null"})
}

/// `enableSemanticCache`: only false (semantic caching is not implemented).
fn semantic_switch(_: &mut SchemaGenerator) -> Schema {
    let strings: Vec<Value> = FALSE.iter().map(|s| json!(s)).collect();
    json_schema!({"anyOf": [{"type": "null"}, {"const": false}, {"enum": strings}]})
}

/// ai-cache: LLM answers cached in Redis by question, model and (optionally) consumer.
/// `cache` is required unless the legacy `redis` block is given (which then replaces it).
#[derive(JsonSchema, Default)]
#[serde(rename_all = "camelCase", default)]
#[schemars(extend("anyOf" = [
    {"required": ["cache"], "properties": {"cache": {"type": "object"}}},
    {"required": ["redis"], "properties": {"redis": {"type": "object"}}},
]))]
#[allow(dead_code)]
pub struct ConfigShape {
    /// The Redis cache.
    cache: Option<CacheShape>,
    /// Legacy form of `cache` (its keys without `type`), with `cacheTTL` beside it; replaces
    /// `cache` when given.
    redis: Option<RedisShape>,
    /// With the legacy `redis` block: seconds an answer is kept; 0 keeps it for ever.
    #[schemars(schema_with = "seconds")]
    #[serde(rename = "cacheTTL")]
    cache_ttl: Slot,
    /// What the key is made of: `lastQuestion` (default: the value at `cacheKeyFrom`),
    /// `allQuestions` (every `user` message's content, joined with `\n`), `disabled` (nothing
    /// is cached).
    cache_key_strategy: Option<Strategy>,
    /// Where the question is in the request body (a GJSON path; default
    /// `messages.@reverse.0.content`).
    #[schemars(schema_with = "path_or_legacy")]
    cache_key_from: Slot,
    /// Where the answer is in a JSON reply (default `choices.0.message.content`).
    #[schemars(schema_with = "path_or_legacy")]
    cache_value_from: Slot,
    /// Where a piece of the answer is in each event of a streamed reply (default
    /// `choices.0.delta.content`).
    #[schemars(schema_with = "path_or_legacy")]
    cache_stream_value_from: Slot,
    /// Where a streamed event carries tool calls (such answers are not cached; default
    /// `choices.0.delta.tool_calls`).
    cache_tool_calls_from: Text,
    /// The body of a hit; `%s` is replaced by the answer, JSON-escaped (default: Higress's).
    response_template: Text,
    /// Legacy spelling of `responseTemplate` (wins over it).
    return_response_template: Text,
    /// The body of a hit for a request with `"stream": true` (default: Higress's).
    stream_response_template: Text,
    /// Legacy spelling of `streamResponseTemplate` (wins over it).
    return_stream_response_template: Text,
    /// The key includes the `x-mse-consumer` header: one cache per consumer.
    cache_key_include_consumer: Flag,
    /// Semantic caching: not supported (a config with it fails to start).
    #[schemars(schema_with = "refused")]
    embedding: Slot,
    /// Semantic caching: not supported (a config with it fails to start).
    #[schemars(schema_with = "refused")]
    vector: Slot,
    /// Semantic caching: not supported, only `false` is accepted.
    #[schemars(schema_with = "semantic_switch")]
    enable_semantic_cache: Slot,
}

/// `cacheKeyStrategy`.
#[derive(JsonSchema)]
#[allow(dead_code)]
pub enum Strategy {
    /// The value at `cacheKeyFrom` (the default).
    #[serde(rename = "lastQuestion")]
    LastQuestion,
    /// Every `user` message's content, joined with `\n`.
    #[serde(rename = "allQuestions")]
    AllQuestions,
    /// Nothing is cached.
    #[serde(rename = "disabled")]
    Disabled,
    /// The default (`lastQuestion`).
    #[serde(rename = "")]
    Default,
}

/// `cache`: the Redis cache.
#[derive(JsonSchema, Default)]
#[serde(rename_all = "camelCase", default)]
#[schemars(extend("required" = ["type", "serviceName"]))]
#[allow(dead_code)]
pub struct CacheShape {
    /// The cache service: `redis` (the only one).
    #[serde(rename = "type")]
    #[schemars(schema_with = "redis_type")]
    kind: Slot,
    #[serde(flatten)]
    redis: RedisShape,
}

fn redis_type(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"const": "redis"})
}

/// The Redis service and how keys are kept.
#[derive(JsonSchema, Default)]
#[serde(rename_all = "camelCase", default)]
#[schemars(extend("required" = ["serviceName"]))]
#[allow(dead_code)]
pub struct RedisShape {
    /// The Redis service as registered in Higress: `redis.static`, `my-redis.dns`, ...
    #[schemars(schema_with = "service_name")]
    service_name: Slot,
    /// Its port (default 6379).
    #[schemars(schema_with = "port")]
    service_port: Slot,
    /// Accepted, as Higress does; Redis does not use it.
    service_host: Text,
    /// ACL user (`AUTH user password`).
    username: Text,
    /// Password (`AUTH password` without a user).
    password: Text,
    /// Milliseconds a Redis command may take (default 10000).
    #[schemars(schema_with = "millis")]
    timeout: Slot,
    /// Seconds an answer is kept (`SETEX`); 0 (default) keeps it for ever.
    #[schemars(schema_with = "seconds")]
    #[serde(rename = "cacheTTL")]
    cache_ttl: Slot,
    /// Prefix of every Redis key (default `higress-ai-cache:`).
    cache_key_prefix: Text,
    /// Redis database (`SELECT`; default 0).
    #[schemars(schema_with = "database")]
    database: Slot,
}

fn service_name(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"anyOf": [{"type": "string", "pattern": "\\S"}, {"type": ["number", "boolean"]}]})
}
