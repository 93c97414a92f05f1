//! The access token in shared data, where every VM of the plugin finds it, and the lock that
//! lets one VM at a time fetch a new one.
//!
//! The token is kept as Higress keeps it (`vertex-<region>-<project>-access-token`,
//! `{"token", "expireAt"}` in Unix seconds), so a gateway running both modules shares it. The
//! lock is `<that key>-refresh`, `{"until"}` in Unix milliseconds: taken with
//! compare-and-swap when absent or expired, so a VM that dies while fetching holds it no
//! longer than the exchange's timeout.

use higress_sdk::shared;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Cached {
    token: String,
    #[serde(rename = "expireAt")]
    expire_at: u64,
}

#[derive(Serialize, Deserialize)]
struct Lock {
    until: u64,
}

/// The cached token, if it is still good `ahead` seconds from `now` (Unix seconds).
pub fn token(key: &str, now: u64, ahead: u64) -> Option<String> {
    let (bytes, _) = shared::get(key).ok()??;
    let cached: Cached = serde_json::from_slice(&bytes).ok()?;
    (cached.expire_at > now.saturating_add(ahead) && !cached.token.is_empty()).then_some(cached.token)
}

/// Stores a token valid until `expire_at` (Unix seconds).
pub fn store(key: &str, token: &str, expire_at: u64) {
    let value = serde_json::to_vec(&Cached { token: token.to_string(), expire_at }).unwrap_or_default();
    if let Err(status) = shared::set(key, &value, None) {
        higress_sdk::log_warn!("vertex: the access token could not be cached: {status:?}");
    }
}

/// Takes the fetch lock of `key` until `until_ms` if no one holds it at `now_ms`.
pub fn lock(key: &str, now_ms: u64, until_ms: u64) -> bool {
    let key = lock_key(key);
    let taken = shared::update(&key, 0, |current| {
        let held = current.and_then(|v| serde_json::from_slice::<Lock>(v).ok()).is_some_and(|l| l.until > now_ms);
        (!held).then(|| serde_json::to_vec(&Lock { until: until_ms }).unwrap_or_default())
    });
    matches!(taken, Ok(Some(_)))
}

/// Whether someone holds the fetch lock of `key` at `now_ms`.
pub fn locked(key: &str, now_ms: u64) -> bool {
    shared::get(&lock_key(key))
        .ok()
        .flatten()
        .and_then(|(v, _)| serde_json::from_slice::<Lock>(&v).ok())
        .is_some_and(|l| l.until > now_ms)
}

/// Gives the fetch lock back.
pub fn unlock(key: &str) {
    let value = serde_json::to_vec(&Lock { until: 0 }).unwrap_or_default();
    let _ = shared::set(&lock_key(key), &value, None);
}

fn lock_key(key: &str) -> String {
    [key, "-refresh"].concat()
}
