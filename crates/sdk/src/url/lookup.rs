//! Finding the values of a few named parameters in a query, for plugins that take a
//! credential from it (key-auth, jwt-auth) on every request.

use super::{key_is, pairs, percent_decode, split_path_keep_fragment};
use crate::scan;

/// The first `max` non-empty decoded values, in query order, of the parameters of `:path`
/// whose decoded name is one of `names`: one pass over the query that stops at the `max`th
/// and decodes only those values. No 60 KiB query costs more than about 1.5 M instructions,
/// whatever it holds and however many names.
pub fn query_values_any<N: AsRef<str>>(path: &str, names: &[N], max: usize) -> Vec<String> {
    // The pass stops at a fragment (`#`) itself: no scan for its end first.
    let query = match split_path_keep_fragment(path) {
        (_, Some(query)) if max > 0 => query,
        _ => return Vec::new(),
    };
    let names: Vec<Name<'_>> = names.iter().map(|n| Name::new(n.as_ref().as_bytes())).collect();
    // Decoding never lengthens: a pair shorter than every name is passed over unread.
    let Some(shortest) = names.iter().map(|n| n.bytes.len()).min() else { return Vec::new() };
    // Which names a pair can have, by its first byte (an escape there: any of them). A pair
    // is compared with those only, and passed over unread when there are none. Names past
    // the 64th, and names with escapes of their own, are compared with every pair.
    let many = names.len() > 64;
    let mut by_first = [if many { u64::MAX } else { 0 }; 256];
    for (i, name) in names.iter().enumerate().take(64) {
        let bit = 1u64 << i;
        if name.escaped {
            by_first.iter_mut().for_each(|m| *m |= bit);
        }
        for b in name.bytes.first().into_iter().chain(b"%+") {
            if let Some(m) = by_first.get_mut(usize::from(*b)) {
                *m |= bit;
            }
        }
    }
    let query_bytes = query.as_bytes();
    let mut values = Vec::new();
    // The first byte is looked up here, not by the scan: its names come with it.
    pairs::each::<false>(query_bytes, Some(b'#'), shortest, None, |pair| {
        // One load where eight bytes follow (nearly always); zero-padded at the query's end.
        let head = match query_bytes.get(pair.start..pair.start + 8).map(<[u8; 8]>::try_from) {
            Some(Ok(eight)) => u64::from_le_bytes(eight),
            _ => scan::word(query_bytes.get(pair.start..pair.end).unwrap_or_default()),
        };
        let mut candidates = by_first.get(usize::from(head as u8)).copied().unwrap_or(0);
        if candidates == 0 {
            return true;
        }
        let raw = query_bytes.get(pair.start..pair.end).unwrap_or_default();
        let mut found = None;
        if many {
            found = names.iter().find_map(|name| name.value_at(raw, head));
            candidates = 0;
        }
        while candidates != 0 {
            let Some(name) = names.get(candidates.trailing_zeros() as usize) else { break };
            found = name.value_at(raw, head);
            if found.is_some() {
                break;
            }
            candidates &= candidates - 1;
        }
        match found {
            // An empty value (`name` or `name=`) is no credential: not even sliced.
            Some(at) if at < raw.len() => {
                values.push(percent_decode(query.get(pair.start + at..pair.end).unwrap_or_default(), true));
                values.len() < max
            }
            _ => true,
        }
    });
    values
}

/// A parameter name to look for, with its first eight bytes as a word: nearly every pair
/// differs from it there, which one XOR tells.
struct Name<'a> {
    bytes: &'a [u8],
    head: u64,
    mask: u64,
    /// The name holds `%` or `+`: raw bytes never tell, every pair is decoded to compare.
    escaped: bool,
    /// The name's length where a pair that long is the name exactly when its bytes are (a
    /// name of fewer than eight bytes, no escape nor space in it), else `usize::MAX`.
    exact: usize,
}

impl<'a> Name<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        let n = bytes.len().min(8);
        let mask = if n == 8 { u64::MAX } else { (1u64 << (8 * n)) - 1 };
        let escaped = bytes.iter().any(|&b| b == b'%' || b == b'+');
        let exact = if bytes.len() < 8 && !escaped && !bytes.contains(&b' ') { bytes.len() } else { usize::MAX };
        Name { bytes, head: scan::word(bytes), mask, escaped, exact }
    }

    /// Where the value of `pair` (`name=value` or `name`, still encoded; `head` its first
    /// eight bytes, zero-padded) starts, if the pair has this name. Inlined into the scan:
    /// every pair starting like a name comes here, so the common cases are a few word
    /// operations with no call.
    #[inline(always)]
    fn value_at(&self, pair: &[u8], head: u64) -> Option<usize> {
        if pair.len() == self.exact {
            // No escape makes a pair as long as the name into it: `%XX` is longer than the
            // byte it stands for, and `+` stands for a space the name does not have.
            return ((head ^ self.head) & self.mask == 0).then_some(self.exact);
        }
        if self.escaped {
            return self.decoded_value_at(pair);
        }
        let diff = (head ^ self.head) & self.mask;
        if diff != 0 {
            // Nearly every pair: raw bytes differ in the first eight, so the names differ,
            // unless an escape is where they do (the byte comes from `head`; past the pair's
            // end it is its `&`, `#` or padding, never an escape).
            let b = (head >> (diff.trailing_zeros() & !7)) as u8;
            return if b == b'%' || b == b'+' { self.decoded_value_at(pair) } else { None };
        }
        let len = self.bytes.len();
        if len >= 8 {
            return self.value_after_head(pair);
        }
        // A short name is all in `head`: the pair is the name, or the name and `=`.
        match pair.len() {
            n if n == len => Some(len),
            n if n > len && (head >> (8 * len)) as u8 == b'=' => Some(len + 1),
            // Shorter (decoding never lengthens) or the name goes on.
            _ => None,
        }
    }

    /// [`Name::value_at`] for a name of eight bytes or more whose first eight match.
    #[inline(never)]
    fn value_after_head(&self, pair: &[u8]) -> Option<usize> {
        let len = self.bytes.len();
        if pair.len() < len {
            // Decoding never lengthens.
            return None;
        }
        if len > 8 {
            let same = 8 + common_prefix(pair.get(8..).unwrap_or_default(), self.bytes.get(8..).unwrap_or_default());
            if same < len {
                return match pair.get(same) {
                    Some(b'%' | b'+') => self.decoded_value_at(pair),
                    _ => None,
                };
            }
        }
        match pair.get(len) {
            None => Some(len),
            Some(b'=') => Some(len + 1),
            // The name goes on: longer, however it decodes.
            Some(_) => None,
        }
    }

    /// [`Name::value_at`] by decoding the pair's name as it is compared.
    #[inline(never)]
    fn decoded_value_at(&self, pair: &[u8]) -> Option<usize> {
        let key_end = pair.iter().position(|&b| b == b'=').unwrap_or(pair.len());
        let key = pair.get(..key_end).unwrap_or_default();
        key_is(key, self.bytes).then_some((key_end + 1).min(pair.len()))
    }
}

/// How many leading bytes `a` and `b` share, eight at a time.
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let mut i = 0;
    while let (Some(x), Some(y)) = (a.get(i..i + 8), b.get(i..i + 8)) {
        let diff = scan::word(x) ^ scan::word(y);
        if diff != 0 {
            return i + (diff.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < n && a.get(i) == b.get(i) {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values() {
        assert_eq!(query_values_any("/p?apikey=1&x=2&apikey=3", &["apikey"], usize::MAX), vec!["1", "3"]);
        assert_eq!(query_values_any("/p?apikey=1&x=2&apikey=3", &["apikey"], 1), vec!["1"]);
        assert!(query_values_any("/p?apikey=1", &["apikey"], 0).is_empty());
        assert_eq!(query_values_any("/p?api%6Bey=a%20b&apikey&a+b=c", &["apikey"], usize::MAX), vec!["a b"]);
        assert_eq!(query_values_any("/p?a+b=c", &["a b"], usize::MAX), vec!["c"]);
        assert!(query_values_any("/p", &["apikey"], usize::MAX).is_empty());
        assert!(query_values_any("/p?apikey=1", &[] as &[&str], usize::MAX).is_empty());
        // Names that differ only after decoding, or are a prefix of the name, do not match.
        assert_eq!(
            query_values_any("/p?apike=1&apikeyy=2&%61pikey=3&apike%79=4&apike%7=5&+pikey=6", &["apikey"], usize::MAX),
            ["3", "4"]
        );
        assert_eq!(query_values_any("/p?a%2Bb=1&a+b=2&a%20b=3", &["a b"], usize::MAX), ["2", "3"]);
        // Pairs as long as the name: the name alone (no value), or not the name.
        assert_eq!(query_values_any("/p?apikey&apikez&apike+&k=1", &["apikey", "k"], usize::MAX), ["1"]);
        assert_eq!(query_values_any("/p?a+b&a+b=2", &["a b"], usize::MAX), ["2"]);
        assert_eq!(query_values_any("/p?k=1#k=2", &["k"], usize::MAX), ["1"]);
        assert_eq!(query_values_any("/p#?k=2", &["k"], usize::MAX), Vec::<String>::new());
        assert_eq!(query_values_any("/p?access_token_long=t&access_token_lon=u", &["access_token_long"], 9), ["t"]);
        // Past 64 names, every name is compared with every pair.
        let many: Vec<String> = (0..70).map(|i| format!("n{i}")).collect();
        assert_eq!(query_values_any("/p?n69=a&x=b&n0=c&n6%39=d", &many, usize::MAX), ["a", "c", "d"]);
    }

    /// Every value `query_values_any` finds, as the plain definition says: the query split at
    /// `&`, names and values decoded, compared whole.
    fn reference(path: &str, names: &[&str], max: usize) -> Vec<String> {
        let query = super::super::split_path(path).1.unwrap_or_default();
        let mut out = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            if names.contains(&percent_decode(k, true).as_str()) && !v.is_empty() {
                out.push(percent_decode(v, true));
            }
        }
        out.truncate(max);
        out
    }

    #[test]
    fn agrees_with_the_plain_definition() {
        let names: &[&[&str]] =
            &[&["apikey"], &["x-api-key", "apikey"], &["a b", "k"], &["a+b"], &["access_token_long"], &["k", "k"]];
        let parts = [
            "apikey",
            "apike",
            "apikeyy",
            "api%6Bey",
            "apike%79",
            "%61pikey",
            "x-api-key",
            "x-api-ke",
            "a+b",
            "a%20b",
            "a%2Bb",
            "k",
            "=",
            "&",
            "&&",
            "#",
            "v",
            "%",
            "%7",
            "access_token_long",
            "access_token_lon",
            "access%5Ftoken_long",
            "é",
        ];
        let mut x: u32 = 11;
        for _ in 0..40_000 {
            let mut path = String::from("/p?");
            for _ in 0..(x % 9) {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                path.push_str(parts[(x >> 16) as usize % parts.len()]);
            }
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            let names = names[(x >> 16) as usize % names.len()];
            let max = [1, 2, usize::MAX][(x >> 20) as usize % 3];
            assert_eq!(query_values_any(&path, names, max), reference(&path, names, max), "{path} {names:?} {max}");
        }
    }
}
