//! Maps keyed by the ids a host hands out (context ids, callout tokens): small integers, not
//! attacker-chosen, looked up on every callback. A multiplicative hash spreads them over the
//! table in a few instructions, where the default SipHash costs about a hundred.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A map from host ids to `V`.
pub(crate) type IdMap<V> = HashMap<u32, V, BuildHasherDefault<IdHasher>>;

/// Fibonacci hashing of one `u32` (the high bits, which the table uses, depend on every bit).
#[derive(Default)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u32` is used for ids; any other key still hashes, byte by byte.
        for byte in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(*byte)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u32(&mut self, id: u32) {
        self.0 = u64::from(id).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_spread_over_the_high_bits() {
        let mut top = std::collections::HashSet::new();
        for id in 0..128u32 {
            let mut h = IdHasher::default();
            h.write_u32(id);
            top.insert(h.finish() >> 57);
        }
        assert!(top.len() > 64, "{}", top.len());
        let mut map: IdMap<u32> = IdMap::default();
        for id in 0..1000 {
            map.insert(id, id * 2);
        }
        assert_eq!(map.get(&999), Some(&1998));
    }
}
