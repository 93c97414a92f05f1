//! Key health (`failover`): a key whose requests fail `failureThreshold` times in a row is
//! taken out of rotation; health checks bring it back after `successThreshold` successes.
//!
//! The state is in shared data, so every VM of the plugin sees the same keys out, under
//! `<type>-<id>-` keys as Higress names them: `unavailableApiTokens` (a JSON array),
//! `apiTokenRequestFailureCount` and `apiTokenRequestSuccessCount` (key -> count), and
//! `requestHostAndPath` (where the last failing request went, for the checks). Updates use
//! compare-and-swap. It is reset when the configuration is loaded, as Higress does.

use super::statuses::Statuses;
use higress_sdk::config::ConfigError;
use higress_sdk::{log_info, shared};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::time::Duration;

/// Compare-and-swap attempts per update (Higress: 10).
const CAS_RETRIES: u32 = 10;

/// Where the failing requests went: what a health check is sent to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    pub host: String,
    pub path: String,
    pub cluster: String,
}

/// `failover`, when enabled.
#[derive(Debug)]
pub struct Failover {
    failure_threshold: u64,
    success_threshold: u64,
    /// Between health checks.
    pub interval: Duration,
    /// A health check's timeout.
    pub timeout: Duration,
    /// `healthCheckModel`: what a health check asks for.
    pub model: String,
    on_status: Statuses,
    /// `<type>-<id>-`.
    prefix: String,
}

impl Failover {
    /// Reads `failover` at `field`; `None` when it is not enabled.
    pub fn parse(value: Option<&Value>, kind: &str, id: &str, field: &str) -> Result<Option<Failover>, ConfigError> {
        let Some(value) = value.filter(|v| !v.is_null()) else { return Ok(None) };
        let Value::Object(object) = value else { return Err(ConfigError::at(field, "expected an object")) };
        if object.get("enabled").and_then(Value::as_bool) != Some(true) {
            return Ok(None);
        }
        let number = |key: &str, default: u64| super::integer(object, field, key, default, true);
        let model = object.get("healthCheckModel").and_then(Value::as_str).unwrap_or_default().trim();
        if model.is_empty() {
            return Err(ConfigError::at(format!("{field}.healthCheckModel"), "missing"));
        }
        Ok(Some(Failover {
            failure_threshold: number("failureThreshold", 3)?,
            success_threshold: number("successThreshold", 1)?,
            interval: Duration::from_millis(number("healthCheckInterval", 5000)?),
            timeout: Duration::from_millis(number("healthCheckTimeout", 5000)?),
            model: model.to_string(),
            on_status: Statuses::parse(object.get("failoverOnStatus"), &format!("{field}.failoverOnStatus"))?,
            prefix: format!("{kind}-{id}-"),
        }))
    }

    fn key(&self, name: &str) -> String {
        [self.prefix.as_str(), name].concat()
    }

    /// Every key back in rotation, the counts cleared (a new configuration).
    pub fn reset(&self) {
        for (name, empty) in [
            ("unavailableApiTokens", "[]"),
            ("apiTokenRequestFailureCount", "{}"),
            ("apiTokenRequestSuccessCount", "{}"),
        ] {
            let _ = shared::set(&self.key(name), empty.as_bytes(), None);
        }
    }

    /// The keys out of rotation.
    pub fn unavailable(&self) -> Vec<String> {
        shared::get(&self.key("unavailableApiTokens"))
            .ok()
            .flatten()
            .and_then(|(bytes, _)| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    /// A key for a request: a random one of those in rotation; when every key is out, a
    /// random one of all (as Higress: a request is never refused for want of a key).
    pub fn pick<'k>(&self, keys: &'k [String]) -> Option<&'k str> {
        let out = self.unavailable();
        let healthy: Vec<&'k String> = keys.iter().filter(|k| !out.contains(k)).collect();
        let choice = if healthy.is_empty() { keys.iter().collect() } else { healthy };
        let index = usize::try_from(crate::provider::keys::random() % choice.len().max(1) as u64).unwrap_or(0);
        choice.get(index).map(|k| k.as_str())
    }

    /// Whether a reply status counts against the key.
    pub fn is_failure(&self, status: &str) -> bool {
        self.on_status.matches(status)
    }

    /// Counts a request's outcome against `key`: a failure status adds one (the key goes out
    /// at the threshold, and `endpoint` is kept for its checks); a 200 clears its count.
    pub fn record(&self, key: &str, status: &str, endpoint: impl FnOnce() -> Endpoint) {
        if self.is_failure(status) {
            let count = self.add(&self.key("apiTokenRequestFailureCount"), key);
            if count >= self.failure_threshold && self.set_out(key, true) {
                log_info!("failover: key ...{} out of rotation after {count} failures", tail(key));
                self.clear(&self.key("apiTokenRequestFailureCount"), key);
                let endpoint = serde_json::to_vec(&endpoint()).unwrap_or_default();
                let _ = shared::set(&self.key("requestHostAndPath"), &endpoint, None);
            }
        } else if status == "200" {
            self.clear(&self.key("apiTokenRequestFailureCount"), key);
        }
    }

    /// Where health checks go (the last failing request's host, path and cluster).
    pub fn endpoint(&self) -> Option<Endpoint> {
        let (bytes, _) = shared::get(&self.key("requestHostAndPath")).ok()??;
        serde_json::from_slice(&bytes).ok()
    }

    /// Counts a health check of `key` that succeeded: back in rotation at the threshold.
    pub fn checked_ok(&self, key: &str) {
        let count = self.add(&self.key("apiTokenRequestSuccessCount"), key);
        if count >= self.success_threshold {
            self.set_out(key, false);
            self.clear(&self.key("apiTokenRequestSuccessCount"), key);
            log_info!("failover: key ...{} back in rotation after {count} health checks", tail(key));
        }
    }

    /// Adds one to `key`'s count in the map at `map`; returns the new count.
    fn add(&self, map: &str, key: &str) -> u64 {
        let mut count = 0;
        let _ = shared::update(map, CAS_RETRIES, |current| {
            let mut counts = counts(current);
            count = counts.get(key).copied().unwrap_or(0) + 1;
            counts.insert(key.to_string(), count);
            serde_json::to_vec(&counts).ok()
        });
        count
    }

    /// Clears `key`'s count in the map at `map` (no write when it has none).
    fn clear(&self, map: &str, key: &str) {
        let _ = shared::update(map, CAS_RETRIES, |current| {
            let mut counts = counts(current);
            counts.remove(key)?;
            serde_json::to_vec(&counts).ok()
        });
    }

    /// Puts `key` out of rotation (`out`) or back; returns whether that changed anything.
    fn set_out(&self, key: &str, out: bool) -> bool {
        let written = shared::update(&self.key("unavailableApiTokens"), CAS_RETRIES, |current| {
            let mut list: Vec<String> = current.and_then(|v| serde_json::from_slice(v).ok()).unwrap_or_default();
            let present = list.iter().any(|k| k == key);
            match (out, present) {
                (true, false) => list.push(key.to_string()),
                (false, true) => list.retain(|k| k != key),
                _ => return None,
            }
            serde_json::to_vec(&list).ok()
        });
        matches!(written, Ok(Some(_)))
    }
}

fn counts(current: Option<&[u8]>) -> BTreeMap<String, u64> {
    current
        .and_then(|v| serde_json::from_slice::<Map<String, Value>>(v).ok())
        .map(|map| map.into_iter().filter_map(|(k, v)| Some((k, v.as_u64()?))).collect())
        .unwrap_or_default()
}

/// The last characters of a key, for logs (never the whole key).
fn tail(key: &str) -> &str {
    let start = key.char_indices().rev().nth(3).map_or(0, |(i, _)| i);
    key.get(start..).unwrap_or_default()
}
