//! Cookies in a `Cookie` request header (`name=value; name2=value2`), as plugins that take a
//! credential or a rate-limit key from one need them.

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
/// name and its `=` (a run of `;`) are passed over a word at a time.
pub fn values_any<'a, N: AsRef<str>>(header: &'a str, names: &[N]) -> Vec<Option<&'a str>> {
    let mut found = vec![None; names.len()];
    let Some(shortest) = names.iter().map(|n| n.as_ref().len()).min() else { return found };
    // Each name's length and first eight bytes: nearly every cookie differs from a name
    // there, which two compares tell (no byte comparison call per name).
    let keys: Vec<(usize, u64)> = names.iter().map(|n| (n.as_ref().len(), scan::word(n.as_ref().as_bytes()))).collect();
    let mut missing = names.len();
    // The scan finds each cookie's first `=` with its `;`.
    pairs::each::<true>(header.as_bytes(), b';', None, shortest + 1, None, |pair| {
        let Some(eq) = pair.eq else { return true };
        // The cuts are at `;` and `=`, so the slices are whole characters; trimmed as the
        // whole cookie would be.
        let name = crate::ascii::trim_start(header.get(pair.start..eq).unwrap_or_default()).as_bytes();
        let value = crate::ascii::trim_end(header.get(eq + 1..pair.end).unwrap_or_default());
        let head = scan::word(name);
        for ((slot, wanted), &(len, first)) in found.iter_mut().zip(names).zip(&keys) {
            if slot.is_none() && len == name.len() && first == head && wanted.as_ref().as_bytes() == name {
                *slot = Some(value);
                missing -= 1;
            }
        }
        missing > 0
    });
    found
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
