//! Cutting a query into its `name=value` pairs, eight bytes at a time.
//!
//! A request head reaches 60 KiB and every byte of it may be a `&`: in wasm a byte loop costs
//! about fifteen instructions per byte even when it does nothing, and per-pair work on
//! one-letter pairs costs more still. So the scan works on words: one mask of the `&` in eight
//! bytes, and from it, for the whole word at once, which `&` close a pair. Only those cost a
//! step, and a pair too short or starting with an unwanted byte costs no more than that:
//! whatever the query holds, a 60 KiB query stays under 2 M instructions (`make bench` has
//! the worst inputs).

use crate::scan;

/// Where a pair is in the query: `start..end`, without the `&`, and its first `=` when the
/// scan was asked for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pair {
    /// The pair's first byte.
    pub start: usize,
    /// Just past its last byte: at the `&` after it, or at the end of the query.
    pub end: usize,
    /// Its first `=`, if any (always `None` when the scan was not asked for it).
    pub eq: Option<usize>,
}

/// The position in the word at `base` of the lowest marked byte of `mask`.
fn lowest(base: usize, mask: u64) -> Option<usize> {
    (mask != 0).then(|| base + (mask.trailing_zeros() / 8) as usize)
}

/// Calls `f` with each pair of `query` (pairs end at `sep`: `&` in a query, `;` in a
/// `Cookie` header) of at least `min_len` bytes (and at least one) whose
/// first byte is marked in `first` (all when `None`), in order, up to the first `stop` byte
/// if any, while `f` returns true.
///
/// With `EQ`, each pair comes with its first `=`, found by the same scan (a byte loop per pair
/// would cost more than the scan). Inlined, with one call of `f`: its work then runs in the
/// scan's own loop, not behind a call per pair.
#[inline(always)]
pub(crate) fn each<const EQ: bool>(
    query: &[u8],
    sep: u8,
    stop: Option<u8>,
    min_len: usize,
    first: Option<&[bool; 256]>,
    mut f: impl FnMut(Pair) -> bool,
) {
    let min_len = min_len.max(1);
    let (mut start, mut base) = (0, 0);
    // With `EQ`: the first `=` of the pair that began in an earlier word.
    let mut carried_eq = None;
    // The `&` mask of the previous word: before the query, as good as a `&` just before it.
    let mut previous: u64 = 0x80 << 56;
    loop {
        let (word, last, rest) = match query.get(base..base + 8) {
            Some(eight) => (scan::word(eight), false, 8),
            None => {
                let rest = query.get(base..).unwrap_or_default();
                (scan::word(rest), true, rest.len())
            }
        };
        let mut amps = scan::matches(word, sep);
        let mut done = last;
        if last {
            // The end of the query closes its last pair, as a `&` there would.
            let len = 8 * rest as u32;
            amps = (amps & ((1u64 << len) - 1)) | 0x80 << len;
        }
        if let Some(stop) = stop {
            let stops = scan::matches(word, stop) & if last { (1u64 << (8 * rest)) - 1 } else { u64::MAX };
            if stops != 0 {
                // The first stop closes the last pair; nothing after it counts.
                let first_stop = stops & stops.wrapping_neg();
                amps = (amps & (first_stop - 1)) | first_stop;
                done = true;
            }
        }
        let eqs = if EQ { scan::matches(word, b'=') } else { 0 };
        // A `&` right after another closes no pair, two bytes after another a pair of one
        // byte (too short unless `min_len` is 1): dropped for the whole word at once.
        let mut near = amps << 8 | previous >> 56;
        if min_len > 1 {
            near |= amps << 16 | previous >> 48;
        }
        let mut ends = amps & !near;
        while ends != 0 {
            let bit = ends.trailing_zeros();
            ends &= ends - 1;
            let end = base + (bit / 8) as usize;
            // The pair starts after the `&` before it in this word, else where it stood.
            let before = amps & ((1u64 << bit) - 1);
            let from = if before != 0 { base + ((63 - before.leading_zeros()) / 8) as usize + 1 } else { start };
            if end < from + min_len {
                continue;
            }
            if let (Some(first), Some(&b)) = (first, query.get(from)) {
                if first.get(usize::from(b)) != Some(&true) {
                    continue;
                }
            }
            let eq = if !EQ {
                None
            } else if from >= base {
                // Between the pair's first byte and its end, in this word.
                let after = !((1u64 << (8 * (from - base))) - 1);
                lowest(base, eqs & ((1u64 << bit) - 1) & after)
            } else {
                carried_eq.or_else(|| lowest(base, eqs & ((1u64 << bit) - 1)))
            };
            if !f(Pair { start: from, end, eq }) {
                return;
            }
        }
        if done {
            return;
        }
        if amps != 0 {
            let last_amp = 63 - amps.leading_zeros();
            start = base + (last_amp / 8) as usize + 1;
            if EQ {
                carried_eq = lowest(base, eqs & (u64::MAX << last_amp));
            }
        } else if EQ && carried_eq.is_none() {
            carried_eq = lowest(base, eqs);
        }
        previous = amps;
        base += 8;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs<'a>(query: &'a str, stop: Option<u8>, min_len: usize, first: Option<&[bool; 256]>) -> Vec<&'a str> {
        let mut out = Vec::new();
        each::<false>(query.as_bytes(), b'&', stop, min_len, first, |p| {
            out.push(query.get(p.start..p.end).unwrap_or("?"));
            true
        });
        let mut with_eq = Vec::new();
        each::<true>(query.as_bytes(), b'&', stop, min_len, first, |p| {
            let pair = query.get(p.start..p.end).unwrap_or("?");
            assert_eq!(p.eq.map(|eq| eq - p.start), pair.find('='), "{query:?}: {pair:?}");
            with_eq.push(pair);
            true
        });
        assert_eq!(out, with_eq);
        out
    }

    #[test]
    fn agrees_with_split() {
        let parts = ["&", "&&", "a", "ab", "abc", "abcdefgh", "abcdefghi", "=", "==", "#", "x=1", "%26", "abcdefg="];
        let mut x: u32 = 5;
        let mut first = [false; 256];
        first[usize::from(b'a')] = true;
        for _ in 0..20_000 {
            let mut query = String::new();
            for _ in 0..(x % 14) {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                query.push_str(parts[(x >> 16) as usize % parts.len()]);
            }
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            let min_len = (x >> 16) as usize % 11;
            let stop = [None, Some(b'#')][(x >> 24) as usize % 2];
            let filter = [None, Some(&first)][(x >> 26) as usize % 2];
            let upto = match stop {
                Some(_) => query.split('#').next().unwrap_or_default(),
                None => query.as_str(),
            };
            let expected: Vec<&str> = upto
                .split('&')
                .filter(|p| !p.is_empty() && p.len() >= min_len)
                .filter(|p| filter.is_none() || p.starts_with('a'))
                .collect();
            assert_eq!(pairs(&query, stop, min_len, filter), expected, "{query:?} {min_len} {stop:?}");
        }
    }

    #[test]
    fn stops_early() {
        let mut seen = 0;
        each::<false>(b"a&b&c", b'&', None, 1, None, |_| {
            seen += 1;
            seen < 2
        });
        assert_eq!(seen, 2);
    }
}
