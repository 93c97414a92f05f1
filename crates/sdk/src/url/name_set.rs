//! The names a query is searched for, hashed: a pair costs one probe however many names
//! there are or how they start, and a pair whose name has escapes is decoded once for all
//! of them.

use super::{decode_at, hex, NOT_HEX};
use crate::name_table::{low_bytes, NameTable};
use crate::scan;

/// A pair with one of the names and a value.
pub(super) struct Found {
    /// Where the value starts in the pair.
    pub(super) value: usize,
    /// Which name (its first place in the list).
    pub(super) name: usize,
}

/// The names looked for, hashed ([`NameTable`]), with what tells a pair's name before it is
/// decoded.
pub(super) struct NameSet<'a> {
    /// Whether a pair with this first byte can have one of the names once decoded: their
    /// first bytes, and the bytes that start an escape.
    pub(super) first: [bool; 256],
    /// The names' first bytes: a decoded name that starts otherwise is none of them.
    starts: [bool; 256],
    /// The longest: a pair's name is decoded no further than that.
    longest: usize,
    /// The names, hashed.
    table: NameTable<'a>,
    /// A pair's decoded name, reused from pair to pair: as long as the longest name.
    decoded: Vec<u8>,
}

impl<'a> NameSet<'a> {
    pub(super) fn new<N: AsRef<str>>(names: &'a [N]) -> Self {
        let shortest = names.iter().map(|n| n.as_ref().len()).min().unwrap_or(0);
        let longest = names.iter().map(|n| n.as_ref().len()).max().unwrap_or(0);
        let mut starts = [false; 256];
        for b in names.iter().filter_map(|n| n.as_ref().as_bytes().first()) {
            if let Some(s) = starts.get_mut(usize::from(*b)) {
                *s = true;
            }
        }
        let mut first = starts;
        for b in [b'%', b'+'] {
            if let Some(f) = first.get_mut(usize::from(b)) {
                *f = true;
            }
        }
        if shortest == 0 {
            // An empty name: a pair `=value`.
            if let Some(f) = first.get_mut(usize::from(b'=')) {
                *f = true;
            }
        }
        NameSet { first, starts, longest, table: NameTable::new(names), decoded: vec![0; longest] }
    }

    #[inline(always)]
    fn find(&self, len: usize, head: u64, rest: &[u8]) -> Option<usize> {
        self.table.find(len, head, rest)
    }

    /// Where the value of `pair` (`name=value` or `name`, still encoded; `head` its first
    /// eight bytes, zero-padded past the query) starts, if its decoded name is one of the
    /// names and the value is not empty. A query holds the most pairs when they are short,
    /// so a name that ends in the first eight bytes costs a few word operations and a probe,
    /// with no byte of the query read again.
    #[inline(always)]
    pub(super) fn value_at(&mut self, pair: &[u8], head: u64) -> Option<Found> {
        let len = pair.len();
        let eq = scan::matches(head, b'=') & low_bytes(len);
        if eq == 0 {
            // No `=` in the first eight bytes: a short pair has no value, so no credential.
            return if len > 8 { self.long_value_at(pair, head) } else { None };
        }
        let end = (eq.trailing_zeros() / 8) as usize;
        if end + 1 >= len {
            return None;
        }
        // `end` is at most seven: the name's bytes, the others zero (never an escape).
        let name = head & low_bytes(end);
        if (scan::matches(name, b'%') | scan::matches(name, b'+')) != 0 {
            return self.escaped_value_at(name, end);
        }
        self.find(end, name, &[]).map(|name| Found { value: end + 1, name })
    }

    /// [`NameSet::value_at`] for a name of at most eight raw bytes (`name`, the bytes past
    /// it zero) with an escape: decoded in the word, no byte of the query read again.
    #[inline(never)]
    fn escaped_value_at(&self, name: u64, end: usize) -> Option<Found> {
        let byte_at = |i: usize| (name >> (8 * (i & 7))) as u8;
        let (mut i, mut n, mut decoded) = (0, 0, 0u64);
        while i < end {
            let (byte, len) = match byte_at(i) {
                b'+' => (b' ', 1),
                b'%' if i + 2 < end => {
                    let (high, low) = (hex(byte_at(i + 1)), hex(byte_at(i + 2)));
                    if (high | low) & NOT_HEX == 0 {
                        (high << 4 | low, 3)
                    } else {
                        (b'%', 1)
                    }
                }
                b => (b, 1),
            };
            decoded |= u64::from(byte) << (8 * (n & 7));
            (i, n) = (i + len, n + 1);
        }
        self.find(n, decoded, &[]).map(|name| Found { value: end + 1, name })
    }

    /// [`NameSet::value_at`] for a pair whose name goes on past eight bytes: its `=` and
    /// any escape before it are found a word at a time, and only a name with an escape is
    /// decoded.
    #[inline(never)]
    fn long_value_at(&mut self, pair: &[u8], head: u64) -> Option<Found> {
        // A name that ends in the next eight bytes (`access_token`) is read from two words,
        // with no scan to set up.
        let len = pair.len();
        let second = scan::word(pair.get(8..).unwrap_or_default());
        let eq = scan::matches(second, b'=') & low_bytes(len.saturating_sub(8));
        if eq != 0 {
            let end = 8 + (eq.trailing_zeros() / 8) as usize;
            if end + 1 >= len {
                return None;
            }
            let tail = second & low_bytes(end - 8);
            let escapes = |w: u64| scan::matches(w, b'%') | scan::matches(w, b'+');
            if escapes(head) | escapes(tail) != 0 {
                return self.decoded_value_at(pair);
            }
            let rest = pair.get(8..end).unwrap_or_default();
            return self.find(end, head, rest).map(|name| Found { value: end + 1, name });
        }
        let end = scan::find(pair, b'=')?;
        if end + 1 >= pair.len() || end > 3 * self.longest {
            // An empty value, or a name longer than every name even if it is all escapes.
            return None;
        }
        let name = pair.get(..end).unwrap_or_default();
        if scan::find2(name, b'%', b'+').is_some() {
            return self.decoded_value_at(pair);
        }
        self.find(end, head, name.get(8..).unwrap_or_default()).map(|name| Found { value: end + 1, name })
    }

    /// [`NameSet::value_at`] by decoding the pair's name, no further than the longest name.
    #[inline(never)]
    pub(super) fn decoded_value_at(&mut self, pair: &[u8]) -> Option<Found> {
        // The first eight bytes go to a word, the others to `decoded` at their place.
        let (mut i, mut n, mut head) = (0, 0, 0u64);
        let value = loop {
            let Some(&b) = pair.get(i) else { break pair.len() };
            if b == b'=' {
                break i + 1;
            }
            if n == self.longest {
                // Longer than every name, however the rest decodes.
                return None;
            }
            let (byte, len) = if b != b'%' && b != b'+' { (b, 1) } else { decode_at(pair, i, b, true) };
            if n == 0 && !self.starts.get(usize::from(byte)).copied().unwrap_or(false) {
                // No name starts with it: most pairs that start with an escape.
                return None;
            }
            if n < 8 {
                head |= u64::from(byte) << (8 * n);
            } else if let Some(slot) = self.decoded.get_mut(n) {
                *slot = byte;
            }
            (i, n) = (i + len, n + 1);
        };
        // An empty value is no credential: the name needs no looking up.
        if value >= pair.len() {
            return None;
        }
        let rest = self.decoded.get(8..n).unwrap_or_default();
        self.find(n, head, rest).map(|name| Found { value, name })
    }
}
