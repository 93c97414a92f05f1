//! The parameters of the string to sign: the query's and the form's, sorted by name, the
//! first value of a repeated name, `name` alone for an empty value.
//!
//! A 60 KiB query holds 7,000 parameters and more, and in wasm every step of a loop over
//! them counts: a list of two slices per parameter costs more to build than the scan that
//! finds them, and sorting parameters through a closure several times a sort of numbers.
//! So a parameter is three positions in one text, and the sort is of one number per
//! parameter: its name's first bytes above its index. Names equal in those bytes are keyed
//! again from their next bytes and sorted among themselves, level by level, with the same
//! sort of numbers (a sort through a closure would be 8 KB more module). Thousands of keys
//! that differ in a few bytes (short names, as in a query of 20,000 two-letter names) are
//! sorted by radix, a pass per such byte, for about 60% of the comparison sort's cost.

use higress_sdk::{scan, url};
use std::borrow::Cow;

/// A query with at most one descent in this many parameters is "mostly sorted".
const MOSTLY_SORTED: usize = 16;

/// A parameter: its name at `start..name_end` of the text, then `=` and its value up to
/// `end` when `name_end < end`.
#[derive(Clone, Copy)]
struct Param {
    start: usize,
    name_end: usize,
    end: usize,
}

/// The parameters, the text they are in (the query itself when nothing needs decoding,
/// nearly always, else `name=value` of each, decoded, joined with `&` as in a query) and
/// their sort keys (see [`Layout`]).
struct Params<'a> {
    text: Cow<'a, str>,
    list: Vec<Param>,
    keys: Vec<u64>,
    layout: Layout,
}

/// A sort key, high bits first: `name_bytes` bytes of a name from some offset (big-endian,
/// zero-padded), one byte of how many it has left from there (at most `name_bytes + 1`:
/// "more"), and the parameter's index in `index_mask`. Keys equal above the index are
/// the same name, or names that go on equal this far: those are keyed again from
/// `name_bytes` further, and sorted among themselves.
#[derive(Clone, Copy)]
struct Layout {
    name_bytes: usize,
    index_mask: u64,
    /// The bits of the name bytes.
    name_mask: u64,
    /// Where the count of bytes left is.
    left_shift: u32,
}

impl Layout {
    /// For up to `most` parameters.
    fn new(most: usize) -> Self {
        let index_bits = usize::BITS - most.leading_zeros();
        let index_mask = u64::MAX.checked_shr(64 - index_bits).unwrap_or(0);
        // At least one byte (an index never takes more than 48 bits: no text is that long).
        let name_bytes = ((64 - index_bits as usize) / 8).saturating_sub(1).clamp(1, 6);
        let left_shift = 56 - 8 * name_bytes as u32;
        Layout { name_bytes, index_mask, name_mask: !(u64::MAX >> (8 * name_bytes)), left_shift }
    }

    /// The key of `p` (at `index`) from byte `offset` of its name on.
    #[inline(always)]
    fn key(self, text: &[u8], p: &Param, index: usize, offset: usize) -> u64 {
        let from = p.start + offset;
        let left = p.name_end.saturating_sub(from).min(self.name_bytes + 1);
        (head(text, from, p.name_end) & self.name_mask) | (left as u64) << self.left_shift | index as u64
    }

    /// Whether the names of keys equal above the index go on past this level's bytes.
    #[inline(always)]
    fn more(self, key: u64) -> bool {
        (key >> self.left_shift) & 0xff == self.name_bytes as u64 + 1
    }
}

/// Appends the parameters of `query` (raw, up to a `#` if any: `%XX` is decoded, `+` is
/// signed as sent) and of `form` (decoded) to `out`, sorted by name: `?` before the first,
/// `&` between the others.
pub(crate) fn write_sorted(out: &mut String, query: &str, form: &[(String, String)]) {
    let mut params = Params::collect(query, form);
    params.sort();
    let (text, mask) = (params.text.as_bytes(), params.layout.index_mask);
    out.reserve(text.len() + 1);
    let mut separator = '?';
    let mut flush = |out: &mut String, (from, to): (usize, usize)| {
        out.push(separator);
        separator = '&';
        out.push_str(params.text.get(from..to).unwrap_or_default());
    };
    // Parameters next to each other in the text and in the order are copied as one run,
    // with the `&` between them: clients that sign a query mostly send it sorted.
    let mut run: Option<(usize, usize)> = None;
    let mut previous: Option<(u64, &Param)> = None;
    for &key in &params.keys {
        let Some(p) = params.list.get((key & mask) as usize) else { continue };
        // The later values of a name go.
        if previous.is_some_and(|(k, q)| (k ^ key) <= mask && same_name(text, q, p)) {
            continue;
        }
        previous = Some((key, p));
        // `name=value`, or `name` alone for an empty value (which then ends a run: its `=`
        // is not copied).
        let end = if p.end == p.name_end + 1 { p.name_end } else { p.end };
        match &mut run {
            Some((_, to)) if *to + 1 == p.start => *to = end,
            _ => {
                if let Some(done) = run.replace((p.start, end)) {
                    flush(out, done);
                }
            }
        }
    }
    if let Some(done) = run {
        flush(out, done);
    }
}

impl<'a> Params<'a> {
    fn collect(query: &'a str, form: &[(String, String)]) -> Self {
        let (query, escapes) = without_fragment(query);
        // Every pair has a byte and a separator: the index takes the bits of that many.
        let layout = Layout::new(query.len() / 2 + 1 + form.len());
        // Sized once: growing a vector copies it, at an instruction per byte, several times
        // over for the thousands of pairs a 60 KiB query holds.
        let capacity = scan::count(query.as_bytes(), b'&') + 1 + form.len();
        let (mut list, mut keys) = (Vec::with_capacity(capacity), Vec::with_capacity(capacity));
        if form.is_empty() && !escapes {
            let bytes = query.as_bytes();
            url::each_pair(query, |pair| {
                let name_end = pair.eq.unwrap_or(pair.end);
                let p = Param { start: pair.start, name_end, end: pair.end };
                keys.push(layout.key(bytes, &p, list.len(), 0));
                list.push(p);
            });
            return Params { text: Cow::Borrowed(query), list, keys, layout };
        }
        let mut text =
            String::with_capacity(query.len() + form.iter().map(|(k, v)| k.len() + v.len() + 2).sum::<usize>());
        let mut push = |name: &str, value: &str| {
            if !text.is_empty() {
                text.push('&');
            }
            let start = text.len();
            text.push_str(name);
            let name_end = text.len();
            text.push('=');
            text.push_str(value);
            list.push(Param { start, name_end, end: text.len() });
        };
        url::for_each_param(query, |name, value| push(&decoded(name), &decoded(value)));
        for (name, value) in form {
            push(name, value);
        }
        let bytes = text.as_bytes();
        keys.extend(list.iter().enumerate().map(|(i, p)| layout.key(bytes, p, i, 0)));
        Params { text: Cow::Owned(text), list, keys, layout }
    }

    /// Puts the keys in the order of the names, a name's values in list order.
    ///
    /// Moving and comparing bare numbers costs a fraction of moving parameters and
    /// comparing through a closure. The keys are unique (the index is in them), so either
    /// standard sort gives the same order: the stable one where the keys are mostly in
    /// order already (clients that sign a query mostly send it sorted), as it merges runs
    /// at little cost, the unstable one otherwise, as it costs a third less on random
    /// orders.
    fn sort(&mut self) {
        let layout = self.layout;
        let mut spare = Vec::new();
        sort_keys(&mut self.keys, layout, &mut spare);
        // Runs of names that go on equal past a level, keyed again from the next bytes.
        let mut runs = Vec::new();
        push_runs(&self.keys, 0, layout, 0, &mut runs);
        while let Some((from, to, offset)) = runs.pop() {
            let Some(run) = self.keys.get_mut(from..to) else { continue };
            for key in run.iter_mut() {
                let index = (*key & layout.index_mask) as usize;
                if let Some(p) = self.list.get(index) {
                    *key = layout.key(self.text.as_bytes(), p, index, offset);
                }
            }
            sort_keys(run, layout, &mut spare);
            push_runs(run, from, layout, offset + layout.name_bytes, &mut runs);
        }
    }
}

/// Sorts unique keys: stably where they are mostly in order (merging runs costs little),
/// else by radix on the bytes where they differ when there are few of those for so many
/// keys, else unstably.
fn sort_keys(keys: &mut [u64], layout: Layout, spare: &mut Vec<u64>) {
    let descents = keys.windows(2).filter(|pair| matches!(pair, [a, b] if a > b)).count();
    if descents <= keys.len() / MOSTLY_SORTED {
        keys.sort();
        return;
    }
    let (mut any, mut all) = (0, u64::MAX);
    for &key in keys.iter() {
        (any, all) = (any | key, all & key);
    }
    let differ = (any ^ all) & !layout.index_mask;
    if radix_pays(keys.len(), digits(differ)) {
        radix_sort(keys, differ, spare);
    } else {
        keys.sort_unstable();
    }
}

/// The eight-bit digits a radix sort takes to cover the bits set in `differ`.
fn digits(mut differ: u64) -> u32 {
    let mut count = 0;
    while differ != 0 {
        differ &= !(0xff << differ.trailing_zeros());
        count += 1;
    }
    count
}

/// Whether `digits` radix passes over `n` keys cost less than a comparison sort. In wasm a
/// pass costs about 80 instructions per key and 3,000 per pass (the 256 counts), a
/// comparison sort about 28 per key and halving: measured, see `make bench`'s worst cases.
fn radix_pays(n: usize, digits: u32) -> bool {
    let (n, digits) = (n as u64, u64::from(digits));
    let halvings = u64::from(u64::BITS - n.leading_zeros());
    n >= 64 && digits * (80 * n + 3_000) < 28 * n * halvings
}

/// Sorts `keys` by their bits in `differ` (above the index), a byte where they differ at
/// a time from the lowest: stable passes over keys in index order leave them in key order.
fn radix_sort(keys: &mut [u64], mut differ: u64, spare: &mut Vec<u64>) {
    spare.clear();
    spare.resize(keys.len(), 0);
    let (mut from, mut to): (&mut [u64], &mut [u64]) = (keys, spare.as_mut_slice());
    let mut in_spare = false;
    while differ != 0 {
        let shift = differ.trailing_zeros();
        differ &= !(0xff << shift);
        let mut counts = [0usize; 256];
        for &key in from.iter() {
            // A byte indexes 256 counts: the check compiles away.
            if let Some(count) = counts.get_mut(usize::from((key >> shift) as u8)) {
                *count += 1;
            }
        }
        let mut at = 0;
        for count in counts.iter_mut() {
            (*count, at) = (at, at + *count);
        }
        for &key in from.iter() {
            let Some(slot) = counts.get_mut(usize::from((key >> shift) as u8)) else { continue };
            if let Some(place) = to.get_mut(*slot) {
                *place = key;
            }
            *slot += 1;
        }
        (from, to) = (to, from);
        in_spare = !in_spare;
    }
    if in_spare {
        to.copy_from_slice(from);
    }
}

/// Notes in `runs` where, in the sorted `keys` (at `base` of the whole list), names equal
/// this far go on: ranges to be keyed again from `offset`.
fn push_runs(keys: &[u64], base: usize, layout: Layout, offset: usize, runs: &mut Vec<(usize, usize, usize)>) {
    let same = |w: &[u64]| matches!(w, [a, b] if (a ^ b) <= layout.index_mask && layout.more(*a));
    let mut from = 0;
    while let Some(at) = keys.get(from..).and_then(|rest| rest.windows(2).position(same)) {
        let start = from + at;
        let first = keys.get(start).copied().unwrap_or_default();
        let len = keys.get(start..).map_or(1, |r| r.iter().take_while(|k| (**k ^ first) <= layout.index_mask).count());
        runs.push((base + start, base + start + len, offset));
        from = start + len;
    }
}

/// The eight bytes of the name at `start..end` of `text` from `start` on, big-endian and
/// zero-padded.
#[inline(always)]
fn head(text: &[u8], start: usize, end: usize) -> u64 {
    bytes_at(text, start, end).swap_bytes()
}

/// The bytes of the name at `start..end` of `text` from `start` on, eight at most, as a
/// little-endian word (what [`head`] orders by; equal words, equal bytes).
#[inline(always)]
fn bytes_at(text: &[u8], start: usize, end: usize) -> u64 {
    // One load where eight bytes follow in the text (nearly always: a name is followed by
    // its value and the next pairs), then the bytes past the name dropped. The slice of
    // exactly eight lets the compiler drop `scan::word`'s short path there (handing it the
    // rest of the text costs 13 instructions more per parameter).
    let word = match text.get(start..start + 8) {
        Some(eight) => scan::word(eight),
        None => scan::word(text.get(start..).unwrap_or_default()),
    };
    let len = end.saturating_sub(start);
    if len >= 8 {
        word
    } else {
        word & ((1u64 << (8 * len)) - 1)
    }
}

/// Whether `a` and `b` have the same name: one word each for names of up to eight bytes
/// (nearly all), else eight bytes at a time.
fn same_name(text: &[u8], a: &Param, b: &Param) -> bool {
    let len = a.name_end.saturating_sub(a.start);
    if len != b.name_end.saturating_sub(b.start) {
        return false;
    }
    if len <= 8 {
        return bytes_at(text, a.start, a.name_end) == bytes_at(text, b.start, b.name_end);
    }
    scan::equal(text.get(a.start..a.name_end).unwrap_or_default(), text.get(b.start..b.name_end).unwrap_or_default())
}

/// `query` up to its fragment (`#`) if any, and whether it has an escape (`%`): one scan
/// for both where the query has neither (nearly always).
fn without_fragment(query: &str) -> (&str, bool) {
    let bytes = query.as_bytes();
    match scan::find2(bytes, b'#', b'%') {
        None => (query, false),
        Some(i) if bytes.get(i) == Some(&b'#') => (query.get(..i).unwrap_or_default(), false),
        Some(i) => {
            let end = bytes.get(i..).and_then(|rest| scan::find(rest, b'#')).map_or(query.len(), |j| i + j);
            (query.get(..end).unwrap_or_default(), true)
        }
    }
}

/// A query name or value with its `%XX` escapes decoded (`+` stays: the scheme signs it as
/// sent); borrowed when it has none.
fn decoded(text: &str) -> Cow<'_, str> {
    match url::percent_decode_bytes(text.as_bytes(), false) {
        Cow::Borrowed(_) => Cow::Borrowed(text),
        Cow::Owned(bytes) => Cow::Owned(String::from_utf8_lossy(&bytes).into_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(query: &str, form: &[(&str, &str)]) -> String {
        let form: Vec<(String, String)> = form.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let mut out = String::new();
        write_sorted(&mut out, query, &form);
        out
    }

    /// What the parameters sign as, the obvious way: decoded, sorted stably by name, the
    /// first of each name kept.
    fn reference(query: &str, form: &[(&str, &str)]) -> String {
        let mut params: Vec<(String, String)> = Vec::new();
        url::for_each_param(query, |k, v| params.push((url::percent_decode(k, false), url::percent_decode(v, false))));
        params.extend(form.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        params.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        params.dedup_by(|later, first| later.0 == first.0);
        let pairs: Vec<String> =
            params.iter().map(|(k, v)| if v.is_empty() { k.clone() } else { format!("{k}={v}") }).collect();
        if pairs.is_empty() {
            String::new()
        } else {
            format!("?{}", pairs.join("&"))
        }
    }

    #[test]
    fn small_lists() {
        assert_eq!(sorted("", &[]), "");
        assert_eq!(sorted("b=2&a=1&c", &[]), "?a=1&b=2&c");
        assert_eq!(sorted("a=1&a=2&a", &[]), "?a=1");
        assert_eq!(sorted("a=&b=", &[]), "?a&b");
        assert_eq!(sorted("&&x=1&&", &[]), "?x=1");
        assert_eq!(sorted("n%61me=v%20w&+=+", &[]), "?+=+&name=v w");
        assert_eq!(sorted("b=1", &[("a", "2"), ("b", "3")]), "?a=2&b=1");
        assert_eq!(sorted("a=x=y", &[]), "?a=x=y");
        assert_eq!(sorted("b=1&a=2#c=3&%61=4", &[]), "?a=2&b=1");
        assert_eq!(sorted("b=%31&a=2#c=3&%61=4", &[]), "?a=2&b=1");
        assert_eq!(sorted("#a=1", &[]), "");
        // Runs of sorted parameters, broken by an empty value, a repeat, an escape.
        assert_eq!(sorted("a=1&b&c=&d=4&d=5&e=6", &[]), "?a=1&b&c&d=4&e=6");
        assert_eq!(sorted("a=%26&b=2&c=3", &[]), "?a=&&b=2&c=3");
        assert_eq!(sorted("c=3&a=1&b=2", &[("d", "4"), ("e", "")]), "?a=1&b=2&c=3&d=4&e");
    }

    #[test]
    fn a_name_before_the_longer_names_it_starts() {
        assert_eq!(sorted("ab%00=3&ab=2&a=1&abcdefghij=5&abcdefgh=4", &[]), "?a=1&ab=2&ab\0=3&abcdefgh=4&abcdefghij=5");
    }

    /// Large lists go through the radix passes and the levels: checked against the obvious
    /// sort on names that share long prefixes, repeat, end inside a level, and come in every
    /// order.
    #[test]
    fn large_lists_as_the_obvious_sort() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let prefixes = ["", "p", "param", "parame", "paramet", "abcdefghijkl", "abcdefghijklm", "zz%00"];
        for round in 0..40 {
            let count = [17, 40, 300, 2_000][round % 4];
            let query: Vec<String> = (0..count)
                .map(|i| {
                    let prefix = prefixes[(next() % prefixes.len() as u64) as usize];
                    let suffix = next() % [3, 50, 100_000][round % 3];
                    let value = if next() % 5 == 0 { String::new() } else { format!("={i}") };
                    format!("{prefix}{suffix}{value}")
                })
                .collect();
            let query = query.join("&");
            assert_eq!(sorted(&query, &[]), reference(&query, &[]), "round {round}");
        }
    }

    /// Thousands of short names in random order take the radix passes (one, two or three
    /// bytes that differ, with repeats and empty values).
    #[test]
    fn many_short_names_by_radix() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for letters in 1..=3 {
            let query: Vec<String> = (0..20_000)
                .map(|i| {
                    let name: String = (0..letters)
                        .map(|_| {
                            state ^= state << 13;
                            state ^= state >> 7;
                            state ^= state << 17;
                            char::from(b'0' + (state % 75) as u8)
                        })
                        .filter(|c| !matches!(c, '&' | '=' | '#' | '%'))
                        .collect();
                    if i % 7 == 0 {
                        name
                    } else {
                        format!("{name}={i}")
                    }
                })
                .collect();
            let keys: Vec<u64> = Params::collect(&query.join("&"), &[]).keys;
            let (any, all) = keys.iter().fold((0, u64::MAX), |(a, b), k| (a | k, b & k));
            let layout = Layout::new(query.join("&").len() / 2 + 1);
            assert!(radix_pays(keys.len(), digits((any ^ all) & !layout.index_mask)), "{letters} letters");
            let query = query.join("&");
            assert_eq!(sorted(&query, &[]), reference(&query, &[]), "{letters} letters");
        }
    }

    #[test]
    fn sorted_runs_and_one_long_name() {
        let query: String = (0..7_000).map(|i| format!("p{i}=v")).collect::<Vec<_>>().join("&");
        assert_eq!(sorted(&query, &[]), reference(&query, &[]));
        let long = format!("{0}=1&{0}b=2&{0}=3&{0}a", "n".repeat(5_000));
        assert_eq!(sorted(&long, &[]), reference(&long, &[]));
        let shared: String = (0..100).rev().map(|i| format!("{}{i}=v", "s".repeat(200))).collect::<Vec<_>>().join("&");
        assert_eq!(sorted(&shared, &[]), reference(&shared, &[]));
    }
}
