//! A few to many names, hashed by their length and first eight bytes, for scans that ask of
//! every query parameter or cookie whether it is one of them: one probe however many names
//! there are or how they start (`k1` ... `k64`).

use crate::scan;

pub(crate) struct NameTable<'a> {
    /// The names' lengths, a bit each ([`NameTable::length_bit`]): a name of no such length
    /// needs no probe (`token1x` when the names are `token0` to `token4`).
    lengths: u64,
    /// Open addressing, a power of two at least twice the names: `(key, name, index)`, `key`
    /// from [`NameTable::key`], `index` the name's first place in the list.
    slots: Vec<Option<(u64, &'a [u8], usize)>>,
    /// How many different names.
    distinct: usize,
}

impl<'a> NameTable<'a> {
    pub(crate) fn new<N: AsRef<str>>(names: &'a [N]) -> Self {
        let size = (names.len() * 2).next_power_of_two();
        let lengths = names.iter().fold(0, |bits, n| bits | Self::length_bit(n.as_ref().len()));
        let mut table = NameTable { lengths, slots: vec![None; size], distinct: 0 };
        for (index, name) in names.iter().enumerate() {
            let name = name.as_ref().as_bytes();
            let key = Self::key(name.len(), scan::word(name));
            // Linear probing; the table is never full. A repeated name is kept once.
            let mut i = table.slot(key);
            while let Some(slot) = table.slots.get_mut(i) {
                match slot {
                    None => {
                        *slot = Some((key, name, index));
                        table.distinct += 1;
                        break;
                    }
                    Some((k, n, _)) if *k == key && *n == name => break,
                    Some(_) => i = (i + 1) & (size - 1),
                }
            }
        }
        table
    }

    /// How many different names the table holds.
    pub(crate) fn distinct(&self) -> usize {
        self.distinct
    }

    /// A name's key: its first eight bytes (zero-padded) with its length folded in, so that
    /// names of up to eight bytes are told apart by the key alone.
    fn key(len: usize, head: u64) -> u64 {
        head ^ (len as u64).rotate_right(8)
    }

    /// A length's bit in [`NameTable::lengths`]; lengths from 63 on share the last.
    fn length_bit(len: usize) -> u64 {
        1 << len.min(63)
    }

    fn slot(&self, key: u64) -> usize {
        let bits = self.slots.len().trailing_zeros();
        (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (63 - bits) >> 1) as usize & (self.slots.len() - 1)
    }

    /// Which of the names (its first place in the list) a name of `len` bytes is, `head`
    /// its first eight bytes (zero-padded) and `rest` the others.
    #[inline(always)]
    pub(crate) fn find(&self, len: usize, head: u64, rest: &[u8]) -> Option<usize> {
        if self.lengths & Self::length_bit(len) == 0 {
            return None;
        }
        let key = Self::key(len, head);
        let mut i = self.slot(key);
        while let Some(&Some((k, n, index))) = self.slots.get(i) {
            // Equal keys of names up to eight bytes are equal names.
            if k == key && n.len() == len && (len <= 8 || scan::equal(n.get(8..).unwrap_or_default(), rest)) {
                return Some(index);
            }
            i = (i + 1) & (self.slots.len() - 1);
        }
        None
    }
}

/// The first eight bytes of `bytes[start..end]` as a word, zero past `end`: one load where
/// eight bytes follow `start` (nearly always in a long header or query).
#[inline(always)]
pub(crate) fn head_at(bytes: &[u8], start: usize, end: usize) -> u64 {
    let len = end.saturating_sub(start);
    match bytes.get(start..start + 8).map(<[u8; 8]>::try_from) {
        Some(Ok(eight)) => u64::from_le_bytes(eight) & low_bytes(len),
        _ => scan::word(bytes.get(start..end).unwrap_or_default()),
    }
}

/// The mask of a word's first `n` bytes (all of them from eight on).
#[inline(always)]
pub(crate) fn low_bytes(n: usize) -> u64 {
    if n >= 8 {
        u64::MAX
    } else {
        (1u64 << (8 * n)) - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_each_name_at_its_first_place() {
        let names: Vec<String> = (0..70)
            .map(|i| format!("k{i}"))
            .chain(["a-long-name-1", "a-long-name-2", "k1", ""].map(String::from))
            .collect();
        let table = NameTable::new(&names);
        let find = |name: &str| {
            let b = name.as_bytes();
            table.find(b.len(), scan::word(b), b.get(8..).unwrap_or_default())
        };
        for (i, name) in names.iter().enumerate() {
            assert_eq!(find(name), names.iter().position(|n| n == name), "{name}");
            assert_eq!(find(name).map(|first| first <= i), Some(true));
        }
        for miss in ["k70", "k", "a-long-name-3", "a-long-name-", "k1 ", "K1"] {
            assert_eq!(find(miss), None, "{miss}");
        }
    }

    #[test]
    fn head_of_a_slice() {
        let text = b"abcdefghijkl";
        assert_eq!(head_at(text, 0, 3), scan::word(b"abc"));
        assert_eq!(head_at(text, 2, 12), scan::word(b"cdefghij"));
        assert_eq!(head_at(text, 8, 12), scan::word(b"ijkl"));
        assert_eq!(head_at(text, 12, 12), 0);
        assert_eq!(head_at(text, 5, 5), 0);
    }
}
