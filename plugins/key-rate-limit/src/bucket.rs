//! A token bucket shared by every VM of the plugin (one per worker), in shared data.
//!
//! The bucket is kept as one number, its "theoretical arrival time" (the generic cell rate
//! algorithm): the time at which it would be full again. A request is admitted when that time
//! is less than a full bucket ahead of now, and moves it one token's worth of time forward.
//! That is exactly a token bucket of `capacity` tokens refilled continuously at `capacity`
//! per window, in one read and one compare-and-swap write of sixteen bytes.

use higress_sdk::abi::Status;
use higress_sdk::shared;

/// Tries of the compare-and-swap before giving up (another worker wrote in between each
/// time); a request that still finds the bucket contended is admitted.
const RETRIES: u32 = 16;

/// Takes one token from the bucket at `key` (`capacity` tokens per `window_ns`) at `now_ns`:
/// whether the request is admitted.
pub fn take(key: &str, capacity: u64, window_ns: u64, now_ns: u64) -> Result<bool, Status> {
    // Times are kept in units of 1/capacity ns, so one token's worth of time is exactly
    // `window_ns` and nothing is rounded.
    let token = u128::from(window_ns);
    let burst = token * u128::from(capacity.saturating_sub(1));
    let now = u128::from(now_ns) * u128::from(capacity);
    let mut admitted = false;
    shared::update(key, RETRIES, |current| {
        let full_at = current.and_then(decode).unwrap_or(0).max(now);
        admitted = full_at - now <= burst;
        admitted.then(|| (full_at + token).to_le_bytes().to_vec())
    })?;
    Ok(admitted)
}

fn decode(value: &[u8]) -> Option<u128> {
    Some(u128::from_le_bytes(value.try_into().ok()?))
}
