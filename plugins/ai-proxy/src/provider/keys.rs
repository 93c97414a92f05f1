//! Which of the configured keys (`apiTokens`) a request uses.
//!
//! A random one per request, as Higress; for the APIs whose later calls must reach the
//! account that made the earlier ones (responses, files, batches, fine-tuning), a caller
//! named by `x-mse-consumer` always gets the same one (FNV-1a of the consumer, as Higress).

use crate::api::Api;
use std::cell::Cell;

thread_local! {
    /// xorshift64* state, seeded from the clock on first use.
    static STATE: Cell<u64> = const { Cell::new(0) };
}

/// A pseudo-random number (xorshift64*, seeded from the host clock).
pub fn random() -> u64 {
    STATE.with(|state| {
        let mut x = state.get();
        if x == 0 {
            let now = higress_sdk::hostcalls::current_time_nanos().unwrap_or(0);
            x = now ^ 0x9E37_79B9_7F4A_7C15;
            if x == 0 {
                x = 0x2545_F491_4F6C_DD1D;
            }
        }
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        state.set(x);
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    })
}

/// FNV-1a, 32 bits.
fn fnv1a32(text: &str) -> u32 {
    text.bytes().fold(0x811c_9dc5u32, |hash, byte| (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193))
}

/// The key for a request to `api` by `consumer`; `None` when there are none.
pub fn pick<'k>(keys: &'k [String], api: Option<Api>, consumer: Option<&str>) -> Option<&'k str> {
    let index = match keys.len() {
        0 => return None,
        1 => 0,
        n => match consumer.filter(|c| !c.is_empty() && api.is_some_and(Api::is_stateful)) {
            Some(consumer) => usize::try_from(fnv1a32(consumer)).unwrap_or(0) % n,
            None => usize::try_from(random() % n as u64).unwrap_or(0),
        },
    };
    keys.get(index).map(String::as_str)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn fnv_matches_the_reference() {
        assert_eq!(fnv1a32(""), 0x811c9dc5);
        assert_eq!(fnv1a32("a"), 0xe40c292c);
        assert_eq!(fnv1a32("foobar"), 0xbf9cf968);
    }

    #[test]
    fn consumers_stick_to_one_key_on_stateful_apis() {
        let keys: Vec<String> = ["k0", "k1", "k2"].iter().map(|k| k.to_string()).collect();
        let expected = &keys[fnv1a32("alice") as usize % 3];
        for _ in 0..20 {
            assert_eq!(pick(&keys, Some(Api::Files), Some("alice")), Some(expected.as_str()));
        }
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            seen.insert(pick(&keys, Some(Api::ChatCompletion), Some("alice")).unwrap());
        }
        assert_eq!(seen.len(), 3, "chat requests spread over every key");
        assert_eq!(pick(&[], None, None), None);
    }
}
