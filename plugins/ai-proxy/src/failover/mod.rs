//! When a provider's keys fail: `failover` takes a failing key out of rotation and health
//! checks bring it back; `retryOnFailure` sends a failed request again with another key.
//! Both as Higress's, with their status patterns anchored. `fallback` (an extension) sends
//! it to other providers and models in order.

mod check;
mod fallback;
mod health;
mod retry;
mod statuses;

pub use check::run as check_keys;
pub use fallback::{remember as remember_original, start as fall_back, Failure, Fallback, Original, Pending};
pub use health::{Endpoint, Failover};
pub use retry::{remember, start as retry, Retry, Sent};

use higress_sdk::config::ConfigError;
use serde_json::{Map, Value};

/// The integer at `key` of `object` (at `field`), `default` when absent (or, as Higress reads
/// its thresholds, when 0 and `zero_is_default`).
fn integer(
    object: &Map<String, Value>,
    field: &str,
    key: &str,
    default: u64,
    zero_is_default: bool,
) -> Result<u64, ConfigError> {
    match object.get(key) {
        None | Some(Value::Null) => Ok(default),
        Some(value) => match value.as_u64() {
            Some(0) if zero_is_default => Ok(default),
            Some(n) => Ok(n),
            None => Err(ConfigError::at(format!("{field}.{key}"), "expected a positive integer")),
        },
    }
}
