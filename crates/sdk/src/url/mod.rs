//! Query strings and percent-encoding, as plugins need them for `:path`.
//!
//! Decoding follows `application/x-www-form-urlencoded` (Go's `url.ParseQuery`): `+` is a
//! space and `%XX` a byte; an invalid escape is kept as it is rather than failing the request.

mod escape;
mod lookup;
mod name;
mod name_set;
pub(crate) mod pairs;

pub use escape::query_escape_into;
pub use lookup::{query_first_values, query_values_any};
pub use pairs::Pair;

use crate::scan;
use std::borrow::Cow;

/// Splits `:path` into the path and the query (without `?`; a fragment is dropped).
pub fn split_path(path: &str) -> (&str, Option<&str>) {
    let (path, query) = split_path_keep_fragment(path);
    let query = query.map(|q| scan::find(q.as_bytes(), b'#').and_then(|end| q.get(..end)).unwrap_or(q));
    (path, query)
}

/// [`split_path`] with the query's fragment (`#...`) left on it: for a caller whose own
/// scan of the query stops at `#`, which then costs no scan of its own. One scan finds the
/// path's end: a `?` after a `#` belongs to the fragment.
pub fn split_path_keep_fragment(path: &str) -> (&str, Option<&str>) {
    let bytes = path.as_bytes();
    match scan::find2(bytes, b'?', b'#') {
        Some(i) if bytes.get(i) == Some(&b'?') => (path.get(..i).unwrap_or_default(), path.get(i + 1..)),
        Some(end) => (path.get(..end).unwrap_or_default(), None),
        None => (path, None),
    }
}

/// Decodes `%XX` escapes (and `+` as a space when `plus_is_space`), bytes kept as they are
/// otherwise; invalid UTF-8 is replaced.
pub fn percent_decode(text: &str, plus_is_space: bool) -> String {
    match percent_decode_bytes(text.as_bytes(), plus_is_space) {
        // Nothing to decode: the text as it is, with no second UTF-8 check.
        Cow::Borrowed(_) => text.to_string(),
        Cow::Owned(bytes) => {
            String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
        }
    }
}

/// [`percent_decode`] to raw bytes: nothing is replaced, so a value that is not UTF-8
/// (`%FF`) survives a decode and [`query_escape_into`] unchanged. Borrowed when there is
/// nothing to decode. Runs without an escape are found a word at a time and copied whole.
pub fn percent_decode_bytes(bytes: &[u8], plus_is_space: bool) -> Cow<'_, [u8]> {
    let special = |rest: &[u8]| {
        if rest.len() < 16 {
            // A short name or value (most of them): a byte loop costs less than a word
            // scan's setup.
            rest.iter().position(|&b| b == b'%' || (plus_is_space && b == b'+'))
        } else if plus_is_space {
            scan::find2(rest, b'%', b'+')
        } else {
            scan::find(rest, b'%')
        }
    };
    let Some(first) = special(bytes) else { return Cow::Borrowed(bytes) };
    // Written by index into a buffer as long as the input (decoding never lengthens), then
    // cut to what was written: a `push` per escape costs twice the decoding itself.
    let mut out = vec![0u8; bytes.len()];
    put(&mut out, 0, bytes.get(..first).unwrap_or_default());
    let (mut i, mut written) = (first, first);
    while i < bytes.len() {
        // A run of valid escapes (a 60 KiB value can be 20,000 of them), three bytes a step.
        while let Some(&[b'%', high, low]) = bytes.get(i..i + 3).and_then(|w| <&[u8; 3]>::try_from(w).ok()) {
            let (high, low) = (hex(high), hex(low));
            if (high | low) & NOT_HEX != 0 {
                break;
            }
            if let Some(slot) = out.get_mut(written) {
                *slot = high << 4 | low;
            }
            written += 1;
            i += 3;
        }
        let Some(&b) = bytes.get(i) else { break };
        if b == b'%' || (plus_is_space && b == b'+') {
            let (byte, len) = decode_at(bytes, i, b, plus_is_space);
            if let Some(slot) = out.get_mut(written) {
                *slot = byte;
            }
            written += 1;
            i += len;
        } else {
            // The plain run up to the next escape, at once.
            let rest = bytes.get(i..).unwrap_or_default();
            let run = special(rest).unwrap_or(rest.len());
            put(&mut out, written, rest.get(..run).unwrap_or_default());
            written += run;
            i += run;
        }
    }
    out.truncate(written);
    Cow::Owned(out)
}

/// `from` copied into `out` at `at` (always in bounds: decoding never lengthens).
fn put(out: &mut [u8], at: usize, from: &[u8]) {
    if let Some(to) = out.get_mut(at..at + from.len()) {
        to.copy_from_slice(from);
    }
}

/// The byte that `b`, at `i` of `bytes`, decodes to, and how many bytes it took.
#[inline]
fn decode_at(bytes: &[u8], i: usize, b: u8, plus_is_space: bool) -> (u8, usize) {
    match b {
        b'+' if plus_is_space => (b' ', 1),
        b'%' => {
            let digit = |at: usize| bytes.get(at).map_or(NOT_HEX, |&d| hex(d));
            let (high, low) = (digit(i + 1), digit(i + 2));
            if (high | low) & NOT_HEX == 0 {
                (high << 4 | low, 3)
            } else {
                (b'%', 1)
            }
        }
        other => (other, 1),
    }
}

/// The value of hex digit `d`, [`NOT_HEX`] when it is none.
#[inline]
fn hex(d: u8) -> u8 {
    HEX.get(usize::from(d)).copied().unwrap_or(NOT_HEX)
}

/// Not a hex digit, in [`HEX`].
const NOT_HEX: u8 = 0x10;

/// Each byte's value as a hex digit, [`NOT_HEX`] when it is none: one load per digit, not a
/// chain of range checks (a 60 KiB query can be 20,000 escapes).
#[allow(clippy::indexing_slicing)] // constant evaluation: an index out of range fails the build
static HEX: [u8; 256] = {
    let mut table = [NOT_HEX; 256];
    let mut d = 0;
    while d < 10 {
        table[b'0' as usize + d] = d as u8;
        d += 1;
    }
    let mut d = 0;
    while d < 6 {
        table[b'a' as usize + d] = 10 + d as u8;
        table[b'A' as usize + d] = 10 + d as u8;
        d += 1;
    }
    table
};

/// The parameters of a query string, decoded, in order (names may repeat). A parameter
/// without `=` has an empty value.
pub fn parse_query(query: &str) -> Vec<(String, String)> {
    let mut params = Vec::new();
    for_each_param(query, |k, v| params.push((percent_decode(k, true), percent_decode(v, true))));
    params
}

/// Calls `f` with each raw (still encoded) `name` and `value` of a query string, in order;
/// empty pairs are skipped, a pair without `=` has an empty value.
pub fn for_each_param<'a>(query: &'a str, mut f: impl FnMut(&'a str, &'a str)) {
    // The cuts are at ASCII bytes, so slicing the `str` needs no second UTF-8 validation
    // (which costs more than the scan for short pairs).
    each_pair(query, |Pair { start, end, eq }| match eq {
        Some(eq) => f(query.get(start..eq).unwrap_or_default(), query.get(eq + 1..end).unwrap_or_default()),
        None => f(query.get(start..end).unwrap_or_default(), ""),
    });
}

/// Calls `f` with where each pair of a query string is (its bytes and its first `=`), in
/// order; empty pairs are skipped. For callers that keep positions rather than slices: a
/// list of 7,000 parameters is then a few bytes each, not two slices.
#[inline(always)]
pub fn each_pair(query: &str, mut f: impl FnMut(Pair)) {
    pairs::each::<true>(query.as_bytes(), b'&', None, 1, None, |pair| {
        f(pair);
        true
    });
}

/// Whether the raw (encoded) parameter name `key` decodes to `name`: decoded and compared a
/// byte at a time, so a name that differs early costs little and nothing is allocated.
fn key_is(key: &[u8], name: &[u8]) -> bool {
    // Decoding never lengthens.
    if key.len() < name.len() {
        return false;
    }
    let (mut i, mut j) = (0, 0);
    while let Some(&b) = key.get(i) {
        let Some(&want) = name.get(j) else { return false };
        let (byte, len) = if b != b'%' && b != b'+' { (b, 1) } else { decode_at(key, i, b, true) };
        if byte != want {
            return false;
        }
        (i, j) = (i + len, j + 1);
    }
    j == name.len()
}

/// `:path` without every parameter named `name` (other parameters kept byte for byte).
pub fn remove_query_param(path: &str, name: &str) -> String {
    let (base, query) = split_path(path);
    let Some(query) = query else { return base.to_string() };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| {
            let key = pair.split_once('=').map_or(*pair, |(k, _)| k);
            !pair.is_empty() && !key_is(key.as_bytes(), name.as_bytes())
        })
        .collect();
    if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoding() {
        assert_eq!(percent_decode("a%20b+c", true), "a b c");
        assert_eq!(percent_decode("a+b", false), "a+b");
        assert_eq!(percent_decode("100%", true), "100%");
        assert_eq!(percent_decode("%zz%4", true), "%zz%4");
        assert_eq!(percent_decode("%E4%BD%A0", true), "你");
        assert_eq!(percent_decode("%ff", true), "\u{fffd}");
        // Only two hex digits make an escape (`from_str_radix` would take a sign).
        assert_eq!(percent_decode("%+5%-1%4a", true), "% 5%-1J");
    }

    /// Decoding by runs agrees with the byte-at-a-time definition on every mix of escapes,
    /// plain runs longer and shorter than a word, and bad escapes.
    #[test]
    fn decoding_agrees_with_a_byte_loop() {
        fn reference(bytes: &[u8], plus: bool) -> Vec<u8> {
            let mut out = Vec::new();
            let mut i = 0;
            while let Some(&b) = bytes.get(i) {
                let (byte, len) = decode_at(bytes, i, b, plus);
                out.push(byte);
                i += len;
            }
            out
        }
        let parts = ["%41", "%4", "%", "+", "a", "abcdefghij", "%e4%bd%a0", "%zz", "%%41", "\u{e9}", "=", "&"];
        let mut x: u32 = 7;
        for _ in 0..20_000 {
            let mut text = String::new();
            for _ in 0..(x % 10) {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                text.push_str(parts[(x >> 16) as usize % parts.len()]);
            }
            for plus in [true, false] {
                let expected = reference(text.as_bytes(), plus);
                assert_eq!(percent_decode_bytes(text.as_bytes(), plus).as_ref(), expected.as_slice(), "{text:?}");
                assert_eq!(percent_decode(&text, plus), String::from_utf8_lossy(&expected), "{text:?}");
            }
        }
    }

    #[test]
    fn queries() {
        assert_eq!(split_path("/a?b=1#f"), ("/a", Some("b=1")));
        assert_eq!(split_path("/a"), ("/a", None));
        assert_eq!(
            parse_query("a=1&b&&c=x%3Dy&a=2"),
            vec![
                ("a".to_string(), "1".to_string()),
                ("b".to_string(), String::new()),
                ("c".to_string(), "x=y".to_string()),
                ("a".to_string(), "2".to_string()),
            ]
        );
        // Names that differ only after decoding, or are a prefix of the name, do not match.
    }

    #[test]
    fn params_in_order() {
        let mut seen = Vec::new();
        for_each_param("a=1&&b&c=x=y&=v&", |k, v| seen.push((k, v)));
        assert_eq!(seen, [("a", "1"), ("b", ""), ("c", "x=y"), ("", "v")]);
        let mut none = Vec::new();
        for_each_param("", |k, v| none.push((k, v)));
        assert!(none.is_empty());
    }

    #[test]
    fn bytes_round_trip() {
        assert_eq!(percent_decode_bytes(b"%ff+a%zz", true).as_ref(), b"\xff a%zz");
        assert!(matches!(percent_decode_bytes(b"a+b", false), Cow::Borrowed(b"a+b")));
        let mut out = String::new();
        query_escape_into(&mut out, &percent_decode_bytes(b"%ff+a%2B~-_.*", true));
        assert_eq!(out, "%FF+a%2B~-_.%2A");
    }

    #[test]
    fn removal() {
        assert_eq!(remove_query_param("/p?access_token=t&a=1&access_token=u", "access_token"), "/p?a=1");
        assert_eq!(remove_query_param("/p?access_token=t", "access_token"), "/p");
        assert_eq!(remove_query_param("/p?a=%20&b", "x"), "/p?a=%20&b");
        assert_eq!(remove_query_param("/p", "x"), "/p");
        assert_eq!(remove_query_param("/p?access%5Ftoken=t&z", "access_token"), "/p?z");
    }
}
