//! The configuration, as Higress's Go plugin reads it; the rule model is the one Higress's
//! Redis rate limits share (`higress-ratelimit`), counting requests (`query_per_*`).

use higress_ratelimit::{Combination, Limits};
use higress_sdk::prelude::*;
use higress_sdk::redis::{Outage, RedisClient, RedisConfig};
use serde_json::{Map, Value};

#[derive(Deserialize)]
pub struct Config {
    pub rule_name: String,
    #[serde(default)]
    global_threshold: Option<Map<String, Value>>,
    #[serde(default)]
    rule_items: Option<Vec<Map<String, Value>>>,
    #[serde(default)]
    pub show_limit_quota_header: bool,
    #[serde(default = "default_code")]
    pub rejected_code: u32,
    #[serde(default = "default_message")]
    pub rejected_msg: String,
    redis: RedisConfig,
    /// What is limited (set by validation).
    #[serde(skip)]
    pub limits: Limits,
    #[serde(skip)]
    pub client: Option<RedisClient>,
    /// Logs Redis failures once per outage, not once per request.
    #[serde(skip)]
    pub outage: Outage,
}

fn default_code() -> u32 {
    429
}

fn default_message() -> String {
    "Too many requests".into()
}

impl Config {
    pub fn validate(&mut self) -> Result<(), ConfigError> {
        if self.rule_name.is_empty() {
            return Err(ConfigError::at("rule_name", "cannot be empty"));
        }
        self.limits =
            Limits::parse(self.global_threshold.as_ref(), self.rule_items.as_deref(), "query", Combination::OneOf)?;
        if !(100..=599).contains(&self.rejected_code) {
            return Err(ConfigError::at("rejected_code", "must be an HTTP status (100-599)"));
        }
        self.client = Some(self.redis.client("redis")?);
        Ok(())
    }
}
