//! The configuration Higress's ai-cache takes, read as its Go code reads it: `cache` (or the
//! legacy top-level `redis` block with `cacheTTL` beside it), the key strategy, the GJSON paths
//! and the reply templates, with the legacy spellings (`cacheKeyFrom.requestBody`,
//! `returnResponseTemplate`, ...). Strings may be given as numbers and integers as numeric
//! strings, as gjson reads them. Semantic caching (`embedding`, `vector`,
//! `enableSemanticCache: true`) is refused: this plugin caches by exact key only.

use crate::reply::ToolCallSigns;
use higress_ai::path::Path;
use higress_sdk::cluster::Cluster;
use higress_sdk::prelude::*;
use higress_sdk::redis::Outage;
use serde::de::Error as _;
use serde_json::{Map, Value};
use std::time::Duration;

const DEFAULT_PREFIX: &str = "higress-ai-cache:";
const DEFAULT_TIMEOUT_MS: u64 = 10_000;
const DEFAULT_KEY_FROM: &str = "messages.@reverse.0.content";
const DEFAULT_VALUE_FROM: &str = "choices.0.message.content";
const DEFAULT_STREAM_VALUE_FROM: &str = "choices.0.delta.content";
/// Where a streamed chunk carries tool calls (Go's default, `choices.0.delta.content.tool_calls`,
/// never matches an OpenAI chunk).
const DEFAULT_TOOL_CALLS_FROM: &str = "choices.0.delta.tool_calls";
const DEFAULT_RESPONSE_TEMPLATE: &str = r#"{"id":"from-cache","choices":[{"index":0,"message":{"role":"assistant","content":"%s"},"finish_reason":"stop"}],"model":"from-cache","object":"chat.completion","usage":{"prompt_tokens":0,"completion_tokens":0,"total_tokens":0}}"#;
const DEFAULT_STREAM_RESPONSE_TEMPLATE: &str = "data:{\"id\":\"from-cache\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"%s\"},\"finish_reason\":\"stop\"}],\"model\":\"from-cache\",\"object\":\"chat.completion\",\"usage\":{\"prompt_tokens\":0,\"completion_tokens\":0,\"total_tokens\":0}}\n\ndata:[DONE]\n\n";

/// What the cache key is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// The value at `cacheKeyFrom` (by default the last message's content).
    LastQuestion,
    /// Every `user` message's content, joined with `\n`.
    AllQuestions,
    /// Nothing is cached.
    Disabled,
}

/// A reply template: the text before and after its `%s`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    head: Vec<u8>,
    tail: Option<Vec<u8>>,
}

impl Template {
    /// Reads a template as Go's `fmt.Sprintf` would fill it: the first `%s` takes the value,
    /// `%%` is a `%`; anything else stays as written.
    fn new(text: &str) -> Template {
        let mut head = Vec::with_capacity(text.len());
        let mut tail: Option<Vec<u8>> = None;
        let mut bytes = text.bytes().peekable();
        while let Some(b) = bytes.next() {
            let mut literal = Some(b);
            if b == b'%' {
                match bytes.peek() {
                    Some(b'%') => {
                        bytes.next();
                    }
                    Some(b's') if tail.is_none() => {
                        bytes.next();
                        tail = Some(Vec::new());
                        literal = None;
                    }
                    _ => {}
                }
            }
            if let Some(b) = literal {
                match &mut tail {
                    Some(tail) => tail.push(b),
                    None => head.push(b),
                }
            }
        }
        Template { head, tail }
    }

    /// The template with `value` JSON-escaped into its `%s` (no quotes added: the template
    /// has them).
    pub fn fill(&self, value: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.head.len() + value.len() + 16 + self.tail.as_ref().map_or(0, Vec::len));
        out.extend_from_slice(&self.head);
        if let Some(tail) = &self.tail {
            let start = out.len();
            higress_ai::scan::write_str(&mut out, value);
            // write_str quotes the string: drop the quotes.
            out.pop();
            out.remove(start);
            out.extend_from_slice(tail);
        }
        out
    }
}

/// The Redis cache.
#[derive(Debug)]
pub struct Cache {
    pub cluster: Cluster,
    pub username: String,
    pub password: String,
    pub timeout: Duration,
    /// Seconds an answer is kept; 0: for ever.
    pub ttl: u64,
    pub prefix: String,
    pub database: u32,
}

/// The plugin's configuration (one per rule).
#[derive(Debug)]
pub struct Config {
    pub cache: Cache,
    pub strategy: Strategy,
    pub key_from: Path,
    pub value_from: Path,
    pub stream_value_from: Path,
    pub tool_calls_from: Path,
    /// `tool_calls_from` is the default (`choices.0.delta.tool_calls`): an event without
    /// `tool_` in it has nothing there.
    pub default_tool_calls_from: bool,
    pub response_template: Template,
    pub stream_response_template: Template,
    /// The key includes the `x-mse-consumer` header (one cache per consumer).
    pub include_consumer: bool,
    /// Signs of tool calls in a JSON reply and in a stream's events (besides
    /// `cacheToolCallsFrom`): such answers are not cached.
    pub reply_tool_calls: ToolCallSigns,
    pub stream_tool_calls: ToolCallSigns,
    /// Made while validating.
    pub client: Option<RedisClient>,
    pub outage: Outage,
}

impl<'de> Deserialize<'de> for Config {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Config::parse(&value).map_err(|e| D::Error::custom(e.to_string()))
    }
}

impl Config {
    /// Reads the configuration; the error names the field.
    pub fn parse(json: &Value) -> Result<Config, ConfigError> {
        let Some(root) = json.as_object() else {
            return Err(ConfigError::new("the configuration must be an object"));
        };
        refuse_semantic(root)?;
        let cache = match root.get("redis").filter(|v| !v.is_null()) {
            // Legacy form: `redis` replaces `cache`, with `cacheTTL` beside it.
            Some(redis) => {
                let mut cache = read_cache(redis, "redis")?;
                if let Some(ttl) = integer(root, "", "cacheTTL")? {
                    cache.ttl = ttl_seconds(ttl, "cacheTTL")?;
                }
                cache
            }
            None => match root.get("cache").filter(|v| !v.is_null()) {
                Some(cache) => read_cache(cache, "cache")?,
                None => {
                    return Err(ConfigError::at(
                        "cache",
                        "required: the Redis cache (cache.type: redis, cache.serviceName, ...)",
                    ))
                }
            },
        };
        let strategy = match string(root, "", "cacheKeyStrategy")?.as_deref() {
            None | Some("") | Some("lastQuestion") => Strategy::LastQuestion,
            Some("allQuestions") => Strategy::AllQuestions,
            Some("disabled") => Strategy::Disabled,
            Some(other) => {
                return Err(ConfigError::at(
                    "cacheKeyStrategy",
                    format!("`{other}` is not one of lastQuestion, allQuestions, disabled"),
                ))
            }
        };
        let path = |field: &str, legacy: Option<&str>, default: &str| -> Result<Path, ConfigError> {
            let (name, text) = legacy_string(root, field, legacy)?;
            let text = text.filter(|t| !t.is_empty()).unwrap_or_else(|| default.to_string());
            Path::compile(&text).map_err(|e| ConfigError::at(name, format!("`{text}`: {e}")))
        };
        let template = |field: &str, legacy: &str, default: &str| -> Result<Template, ConfigError> {
            let legacy_text = string(root, "", legacy)?;
            let text = match legacy_text {
                Some(text) => Some(text),
                None => string(root, "", field)?,
            };
            Ok(Template::new(text.as_deref().filter(|t| !t.is_empty()).unwrap_or(default)))
        };
        Ok(Config {
            cache,
            strategy,
            key_from: path("cacheKeyFrom", Some("requestBody"), DEFAULT_KEY_FROM)?,
            value_from: path("cacheValueFrom", Some("requestBody"), DEFAULT_VALUE_FROM)?,
            stream_value_from: path("cacheStreamValueFrom", Some("requestBody"), DEFAULT_STREAM_VALUE_FROM)?,
            tool_calls_from: path("cacheToolCallsFrom", None, DEFAULT_TOOL_CALLS_FROM)?,
            default_tool_calls_from: string(root, "", "cacheToolCallsFrom")?
                .is_none_or(|t| t.is_empty() || t == DEFAULT_TOOL_CALLS_FROM),
            response_template: template("responseTemplate", "returnResponseTemplate", DEFAULT_RESPONSE_TEMPLATE)?,
            stream_response_template: template(
                "streamResponseTemplate",
                "returnStreamResponseTemplate",
                DEFAULT_STREAM_RESPONSE_TEMPLATE,
            )?,
            include_consumer: boolean(root, "cacheKeyIncludeConsumer")?.unwrap_or(false),
            reply_tool_calls: signs(&[
                ("choices.0.message.tool_calls", None),
                ("choices.0.finish_reason", Some("tool_calls")),
                ("stop_reason", Some("tool_use")),
            ]),
            stream_tool_calls: signs(&[
                ("choices.0.finish_reason", Some("tool_calls")),
                ("delta.stop_reason", Some("tool_use")),
                ("content_block.type", Some("tool_use")),
            ]),
            client: None,
            outage: Outage::default(),
        })
    }

    /// Declares the Redis client to the host (a failed init is retried before the next
    /// command).
    pub fn connect(&mut self) {
        let c = &self.cache;
        let options = RedisOptions { database: c.database, ..RedisOptions::default() };
        let (client, _) = RedisClient::init(&c.cluster, &c.username, &c.password, c.timeout, options);
        self.client = Some(client);
    }
}

fn signs(list: &[(&str, Option<&'static str>)]) -> ToolCallSigns {
    list.iter().filter_map(|(path, value)| Some((Path::compile(path).ok()?, *value))).collect()
}

/// `embedding`, `vector` and `enableSemanticCache: true` ask for what this plugin does not do.
fn refuse_semantic(root: &Map<String, Value>) -> Result<(), ConfigError> {
    let mut keys = Vec::new();
    for key in ["embedding", "vector"] {
        if root.get(key).is_some_and(|v| !v.is_null()) {
            keys.push(key);
        }
    }
    if matches!(boolean(root, "enableSemanticCache")?, Some(true)) {
        keys.push("enableSemanticCache");
    }
    if keys.is_empty() {
        return Ok(());
    }
    Err(ConfigError::at(
        keys.join(", "),
        "not supported: semantic caching (embedding, vector, enableSemanticCache) is not implemented; \
         this plugin caches exact keys in Redis (cache) only",
    ))
}

fn read_cache(value: &Value, field: &'static str) -> Result<Cache, ConfigError> {
    let Some(block) = value.as_object() else {
        return Err(ConfigError::at(field, "must be an object"));
    };
    // The legacy `redis` block names no type: it is Redis.
    if field == "cache" {
        match string(block, field, "type")?.as_deref() {
            Some("redis") => {}
            None | Some("") => return Err(ConfigError::at(format!("{field}.type"), "required: redis")),
            Some(other) => {
                return Err(ConfigError::at(
                    format!("{field}.type"),
                    format!("unknown cache service provider type `{other}` (only redis)"),
                ))
            }
        }
    }
    let service = string(block, field, "serviceName")?.unwrap_or_default();
    if service.trim().is_empty() {
        return Err(ConfigError::at(format!("{field}.serviceName"), "required: the Redis service (redis.static, ...)"));
    }
    let port = match integer(block, field, "servicePort")? {
        Some(port) => Some(
            u16::try_from(port)
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| ConfigError::at(format!("{field}.servicePort"), "must be a port (1-65535)"))?,
        ),
        None => None,
    };
    let host = string(block, field, "serviceHost")?.filter(|h| !h.is_empty());
    let cluster = Cluster::from_service(&service, port, host.as_deref(), 6379)
        .map_err(|e| ConfigError::at(format!("{field}.serviceName"), e.message()))?;
    let timeout = match integer(block, field, "timeout")? {
        Some(ms) => u64::try_from(ms)
            .ok()
            .filter(|ms| *ms <= u64::from(u32::MAX))
            .ok_or_else(|| ConfigError::at(format!("{field}.timeout"), "must be milliseconds (0 or more)"))?,
        None => DEFAULT_TIMEOUT_MS,
    };
    let ttl = match integer(block, field, "cacheTTL")? {
        Some(ttl) => ttl_seconds(ttl, &format!("{field}.cacheTTL"))?,
        None => 0,
    };
    let database = match integer(block, field, "database")? {
        Some(db) => u32::try_from(db)
            .map_err(|_| ConfigError::at(format!("{field}.database"), "must be a database number (0 or more)"))?,
        None => 0,
    };
    Ok(Cache {
        cluster,
        username: string(block, field, "username")?.unwrap_or_default(),
        password: string(block, field, "password")?.unwrap_or_default(),
        timeout: Duration::from_millis(timeout),
        ttl,
        // An empty prefix is a prefix (Go keeps what is given).
        prefix: string(block, field, "cacheKeyPrefix")?.unwrap_or_else(|| DEFAULT_PREFIX.to_string()),
        database,
    })
}

fn ttl_seconds(ttl: i64, field: &str) -> Result<u64, ConfigError> {
    u64::try_from(ttl).map_err(|_| ConfigError::at(field, "must be 0 (never expires) or a number of seconds"))
}

fn name(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

/// A string field as gjson's `String()` reads it: a string, or a number's or boolean's text;
/// `null` or absent: `None`.
fn string(block: &Map<String, Value>, prefix: &str, key: &str) -> Result<Option<String>, ConfigError> {
    match block.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(Value::Bool(b)) => Ok(Some(b.to_string())),
        Some(_) => Err(ConfigError::at(name(prefix, key), "must be a string")),
    }
}

/// A string field that may also be given as `{<legacy>: "..."}` (Higress's old
/// `cacheKeyFrom.requestBody`): the name to report and the text.
fn legacy_string(
    block: &Map<String, Value>,
    key: &str,
    legacy: Option<&str>,
) -> Result<(String, Option<String>), ConfigError> {
    match (block.get(key), legacy) {
        (Some(Value::Object(inner)), Some(legacy)) => {
            let text = string(inner, key, legacy)?;
            if text.is_none() {
                return Err(ConfigError::at(format!("{key}.{legacy}"), "required (or give the path as a string)"));
            }
            Ok((format!("{key}.{legacy}"), text))
        }
        _ => Ok((key.to_string(), string(block, "", key)?)),
    }
}

/// An integer field: a JSON integer, or a string holding one.
fn integer(block: &Map<String, Value>, prefix: &str, key: &str) -> Result<Option<i64>, ConfigError> {
    let invalid = || ConfigError::at(name(prefix, key), "must be an integer");
    match block.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_i64().map(Some).ok_or_else(invalid),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => s.trim().parse().map(Some).map_err(|_| invalid()),
        Some(_) => Err(invalid()),
    }
}

/// A boolean field: `true` / `false`, or a string Go's `strconv.ParseBool` reads.
fn boolean(block: &Map<String, Value>, key: &str) -> Result<Option<bool>, ConfigError> {
    match block.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::String(s)) => match s.as_str() {
            "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(Some(true)),
            "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(Some(false)),
            _ => Err(ConfigError::at(key, "must be true or false")),
        },
        Some(_) => Err(ConfigError::at(key, "must be true or false")),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn templates_fill_like_sprintf_with_the_value_json_escaped() {
        let t = Template::new(r#"{"a":"%s","pct":"100%%"}"#);
        assert_eq!(
            String::from_utf8(t.fill("say \"hi\"\n\u{1}é")).unwrap(),
            r#"{"a":"say \"hi\"\n\u0001é","pct":"100%"}"#
        );
        let t = Template::new("no value %d here");
        assert_eq!(t.fill("x"), b"no value %d here");
        let t = Template::new("%s and %s");
        assert_eq!(t.fill("x"), b"x and %s");
    }
}
