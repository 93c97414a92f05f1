//! Cookies in a `Cookie` request header (`name=value; name2=value2`), as plugins that take a
//! credential or a rate-limit key from one need them.

use crate::ascii;
use crate::name_table::{head_at, low_bytes, NameTable};
use crate::scan;
use crate::url::pairs;

/// The value of cookie `name` (exact, case-sensitive name; everything after the first `=`).
pub fn value<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    values_any(header, &[name]).pop().flatten()
}

/// The value of the first cookie of each of `names`, in their order ([`value`] for each),
/// from one pass over the header that stops once every name is found. A `Cookie` header
/// reaches 60 KiB, and a plugin that takes a credential from several cookie names (one
/// per consumer) would otherwise scan it once per name. Cookies shorter than the shortest
/// name and its `=` (a run of `;`) are passed over a word at a time, and a cookie's name is
/// looked up by its length and first eight bytes, one probe however many names there are.
pub fn values_any<'a, N: AsRef<str>>(header: &'a str, names: &[N]) -> Vec<Option<&'a str>> {
    let mut found = vec![None; names.len()];
    let Some(shortest) = names.iter().map(|n| n.as_ref().len()).min() else { return found };
    if header.len() <= shortest {
        // No cookie with a name and `=` (no header at all, most often).
        return found;
    }
    let table = NameTable::new(names);
    let mut missing = table.distinct();
    let bytes = header.as_bytes();
    pairs::each::<false>(bytes, b';', None, shortest + 1, None, |pair| {
        let start = name_start(header, pair.start, pair.end);
        // The name's end: the first `=`, in the first eight bytes for nearly every cookie.
        let head = head_at(bytes, start, pair.end);
        let eqs = scan::matches(head, b'=');
        let eq = if eqs != 0 {
            start + (eqs.trailing_zeros() / 8) as usize
        } else {
            match scan::find(bytes.get(start..pair.end).unwrap_or_default(), b'=') {
                Some(at) => start + at,
                None => return true,
            }
        };
        let len = eq - start;
        let index = table.find(len, head & low_bytes(len), bytes.get(start + 8..eq).unwrap_or_default());
        if let Some(slot @ None) = index.and_then(|i| found.get_mut(i)) {
            // The cuts are at `;` and `=`, so the value is whole characters; trimmed as the
            // whole cookie would be.
            *slot = Some(ascii::trim_end(header.get(eq + 1..pair.end).unwrap_or_default()));
            missing -= 1;
        }
        missing > 0
    });
    // A repeated name has the value of its first place.
    for j in 0..names.len() {
        let name = names.get(j).map_or(&b""[..], |n| n.as_ref().as_bytes());
        let first = table.find(name.len(), scan::word(name), name.get(8..).unwrap_or_default());
        if let Some(i) = first.filter(|&i| i != j) {
            let value = found.get(i).copied().flatten();
            if let Some(slot) = found.get_mut(j) {
                *slot = value;
            }
        }
    }
    found
}

/// Where the cookie `header[start..end]` starts once trimmed as the whole cookie would be:
/// offsets, no slicing of the header per cookie.
#[inline(always)]
fn name_start(header: &str, mut start: usize, end: usize) -> usize {
    let bytes = header.as_bytes();
    start = ascii::skip_spaces(bytes, start, end);
    if start < end && bytes.get(start).is_some_and(|b| !b.is_ascii()) {
        // Unicode white space (U+3000) is trimmed too, as `str::trim_start` does; `start`
        // follows ASCII bytes, so it is a character boundary.
        let cookie = header.get(start..end).unwrap_or_default().trim_start();
        start = end - cookie.len();
    }
    start
}

/// The header without cookie `name` (other cookies kept, in order).
pub fn without(header: &str, name: &str) -> String {
    header
        .split(';')
        .map(str::trim)
        .filter(|pair| !pair.is_empty() && pair.split_once('=').map_or(*pair, |(k, _)| k) != name)
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_removal() {
        assert_eq!(value("a=1; token=abc; tokenX=zzz", "token"), Some("abc"));
        assert_eq!(value("flag; token=abc=def", "token"), Some("abc=def"));
        assert_eq!(value("", "token"), None);
        assert_eq!(value("token", "token"), None);
        assert_eq!(without("a=1; token=abc; tokenX=zzz", "token"), "a=1; tokenX=zzz");
        assert_eq!(without("token=abc", "token"), "");
    }

    #[test]
    fn several_names_in_one_pass() {
        let header = " a=1;;b= ; token=abc; tokenX=zzz;token=later; \u{3000}c=3\u{3000};d";
        assert_eq!(
            values_any(header, &["token", "b", "c", "d", "tokenX", "zz", ""]),
            [Some("abc"), Some(""), Some("3"), None, Some("zzz"), None, None]
        );
        assert_eq!(values_any(";;;=x;;", &["", "a"]), [Some("x"), None]);
        assert_eq!(values_any::<&str>("a=1", &[]), Vec::<Option<&str>>::new());
    }

    /// [`values_any`] agrees with the plain definition: split at `;`, trimmed, cut at the
    /// first `=`, the first cookie of each name.
    #[test]
    fn agrees_with_the_plain_definition() {
        let parts = [
            "token=abc",
            "token",
            "tok",
            "=",
            ";",
            ";;",
            " ",
            "a=1",
            "b=",
            "x=y=z",
            "\u{3000}",
            "tokenX=1",
            "é=2",
            " b = 2 ",
            "longcookiename=v",
            "longcookienamx=w",
        ];
        let names: &[&[&str]] =
            &[&["token"], &["token", "a", "b"], &["tokenX", "x", "é"], &[""], &["longcookiename", "b "], &["b", "b"]];
        let mut x: u32 = 3;
        for _ in 0..20_000 {
            let mut header = String::new();
            for _ in 0..(x % 12) {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                header.push_str(parts[(x >> 16) as usize % parts.len()]);
            }
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            let names = names[(x >> 16) as usize % names.len()];
            let plain: Vec<Option<&str>> = names
                .iter()
                .map(|n| {
                    header.split(';').filter_map(|c| c.trim().split_once('=')).find(|(k, _)| k == n).map(|(_, v)| v)
                })
                .collect();
            assert_eq!(values_any(&header, names), plain, "{header:?} {names:?}");
        }
    }
}
