use super::{RedisClient, RedisOptions};
use crate::cluster::ServiceConfig;
use crate::config::ConfigError;
use serde::Deserialize;
use std::time::Duration;

fn default_timeout_ms() -> u64 {
    1000
}

/// The Redis service the plugin keeps its state in: the service (`service_name`,
/// `service_port`, ...), `username`, `password`, `timeout` in milliseconds (default 1000) and
/// `database`.
//
// The `redis` block of Higress's Redis-backed plugins: embed it in a config and call
// [`RedisConfig::client`] while validating. (The doc comment above is the schema's
// description, which users read.)
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct RedisConfig {
    /// The Redis service as registered in Higress.
    #[serde(flatten)]
    pub service: ServiceConfig,
    /// ACL user (`AUTH user password`); empty for none.
    #[serde(default)]
    pub username: String,
    /// Password (`AUTH password` without a user); empty for none.
    #[serde(default)]
    pub password: String,
    /// Per-command timeout in milliseconds.
    #[serde(default = "default_timeout_ms")]
    pub timeout: u64,
    /// Database (`SELECT`).
    #[serde(default)]
    pub database: u32,
}

impl RedisConfig {
    /// Declares the client to the host. The port defaults to 6379 (80 for `*.static`, as
    /// Higress does); `field` names the block in errors (`redis.service_name: ...`). A
    /// failed init is not an error here: the client retries before its first command.
    pub fn client(&self, field: &str) -> Result<RedisClient, ConfigError> {
        let cluster = self.service.cluster(6379).map_err(|e| e.within(field))?;
        let options = RedisOptions { database: self.database, ..RedisOptions::default() };
        let (client, _) =
            RedisClient::init(&cluster, &self.username, &self.password, Duration::from_millis(self.timeout), options);
        Ok(client)
    }
}
