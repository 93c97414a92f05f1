//! Finding the values of a few named parameters in a query, for plugins that take a
//! credential from it (key-auth, jwt-auth) on every request.

use super::name::{Is, Name};
use super::name_set::{Found, NameSet};
use super::{pairs, percent_decode, split_path_keep_fragment, Pair};
use crate::scan;

/// The first `max` non-empty decoded values, in query order, of the parameters of `:path`
/// whose decoded name is one of `names`: one pass over the query that stops at the `max`th
/// and decodes only those values. A pair is compared with a few names one by one, looked up
/// in a hash of many, and decoded at most once (`make bench` has the worst queries).
pub fn query_values_any<N: AsRef<str>>(path: &str, names: &[N], max: usize) -> Vec<String> {
    let mut values = Vec::new();
    if max > 0 {
        each_value(path, names, |_, raw| {
            values.push(percent_decode(raw, true));
            values.len() < max
        });
    }
    values
}

/// The first non-empty decoded value of each of `names` (in their order), from one pass over
/// the query that stops once every name has one: for a plugin whose consumers each name
/// their own parameter, the query is scanned once, not once per name.
pub fn query_first_values<N: AsRef<str>>(path: &str, names: &[N]) -> Vec<Option<String>> {
    let mut values: Vec<Option<String>> = vec![None; names.len()];
    // A repeated name takes the value of its first place.
    let first = |j: usize| names.iter().position(|n| n.as_ref() == names.get(j).map_or("", |m| m.as_ref()));
    let mut missing = (0..names.len()).filter(|&j| first(j) == Some(j)).count();
    each_value(path, names, |name, raw| {
        if let Some(slot @ None) = values.get_mut(name) {
            *slot = Some(percent_decode(raw, true));
            missing -= 1;
        }
        missing > 0
    });
    for j in 0..names.len() {
        if let Some(i) = first(j).filter(|&i| i != j) {
            let value = values.get(i).cloned().flatten();
            if let Some(slot) = values.get_mut(j) {
                *slot = value;
            }
        }
    }
    values
}

/// Calls `f` with the name (its first place in `names`) and raw value of each parameter of
/// `:path` that has one of `names` and a non-empty value, in query order, while `f` returns
/// true.
fn each_value<N: AsRef<str>>(path: &str, names: &[N], mut f: impl FnMut(usize, &str) -> bool) {
    // The pass stops at a fragment (`#`) itself: no scan for its end first.
    let Some(query) = split_path_keep_fragment(path).1 else { return };
    // Decoding never lengthens, and a pair without a value holds no credential: a pair
    // shorter than every name and `=` and one byte is passed over unread.
    let Some(shortest) = names.iter().map(|n| n.as_ref().len()).min() else { return };
    let min_len = shortest + 2;
    let query_bytes = query.as_bytes();
    let mut emit = |pair: Pair, found: Option<Found>| match found {
        Some(Found { value, name }) => f(name, query.get(pair.start + value..pair.end).unwrap_or_default()),
        None => true,
    };
    // Names that share a first byte would each be compared with a pair that starts so.
    let shared = {
        let mut seen = [false; 256];
        names.iter().filter_map(|n| n.as_ref().as_bytes().first()).any(|&b| {
            let slot = seen.get_mut(usize::from(b));
            slot.map(|s| std::mem::replace(s, true)).unwrap_or(false)
        })
    };
    if names.len() > FEW || shared {
        // Many names, or names that share their first byte: looked up in a hash.
        let mut set = NameSet::new(names);
        // A pair no name starts like, even decoded (nearly every pair of a long query), is
        // passed over by the scan itself.
        let first = set.first;
        pairs::each::<false>(query_bytes, b'&', Some(b'#'), min_len, Some(&first), |pair| {
            let head = head_of(query_bytes, pair);
            let raw = query_bytes.get(pair.start..pair.end).unwrap_or_default();
            let found = set.value_at(raw, head);
            emit(pair, found)
        });
        return;
    }
    // A few names are compared with the pair one by one, each a word operation or two. The
    // hash is built only for a pair whose name must be decoded.
    let few: Vec<Name<'_>> = names.iter().map(|n| Name::new(n.as_ref().as_bytes())).collect();
    let mut set: Option<NameSet<'_>> = None;
    let mut decoded = |raw: &[u8], head: u64| {
        // A short pair without a value holds no credential: its word tells, no decoding.
        if raw.len() <= 8 && (scan::matches(head, b'=') & ((1u64 << (8 * raw.len().saturating_sub(1))) - 1)) == 0 {
            return None;
        }
        set.get_or_insert_with(|| NameSet::new(names)).decoded_value_at(raw)
    };
    // Which names a pair can have, by its first byte (an escape there: any of them).
    let mut by_first = [0u8; 256];
    for (i, name) in few.iter().enumerate() {
        let bit = 1u8 << i;
        if name.escaped {
            by_first.iter_mut().for_each(|m| *m |= bit);
        }
        for b in name.bytes.first().into_iter().chain(b"%+") {
            if let Some(m) = by_first.get_mut(usize::from(*b)) {
                *m |= bit;
            }
        }
    }
    pairs::each::<false>(query_bytes, b'&', Some(b'#'), min_len, None, |pair| {
        let head = head_of(query_bytes, pair);
        let mut candidates = by_first.get(usize::from(head as u8)).copied().unwrap_or(0);
        if candidates == 0 {
            // No name starts so, even decoded: nearly every pair of a long query.
            return true;
        }
        let raw = query_bytes.get(pair.start..pair.end).unwrap_or_default();
        if matches!(head as u8, b'%' | b'+') {
            let found = decoded(raw, head);
            return emit(pair, found);
        }
        while candidates != 0 {
            let index = candidates.trailing_zeros() as usize;
            let Some(name) = few.get(index) else { break };
            match name.value_at(raw, head) {
                // An empty value is no credential.
                Is::Name(value) if value < raw.len() => return emit(pair, Some(Found { value, name: index })),
                Is::Name(_) => return true,
                // The decoded name answers for every name at once.
                Is::Escaped => {
                    let found = decoded(raw, head);
                    return emit(pair, found);
                }
                Is::Not => candidates &= candidates - 1,
            }
        }
        true
    });
}

/// The first eight bytes of `pair`: one load where eight bytes follow (nearly always),
/// zero-padded at the query's end.
#[inline(always)]
fn head_of(query: &[u8], pair: Pair) -> u64 {
    match query.get(pair.start..pair.start + 8).map(<[u8; 8]>::try_from) {
        Some(Ok(eight)) => u64::from_le_bytes(eight),
        _ => scan::word(query.get(pair.start..pair.end).unwrap_or_default()),
    }
}

/// Up to this many names are compared one by one ([`Name`]).
const FEW: usize = 8;

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
    fn first_value_of_each_name() {
        let path = "/p?b=&a=1&c%31=x&b=2&a=3&zz=9";
        assert_eq!(
            query_first_values(path, &["a", "b", "c1", "d", "a", ""]),
            [Some("1".into()), Some("2".into()), Some("x".into()), None, Some("1".into()), None]
        );
        assert_eq!(query_first_values("/p", &["a"]), [None]);
        assert_eq!(query_first_values::<&str>("/p?a=1", &[]), Vec::<Option<String>>::new());
    }

    #[test]
    fn agrees_with_the_plain_definition() {
        // Past 64 names every pair is decoded and looked up: a list with the others in it.
        let many: Vec<String> =
            (0..67).map(|i| format!("n{i}")).chain(["apikey", "k", "a b"].map(String::from)).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        let names: &[&[&str]] = &[
            &["apikey"],
            &["x-api-key", "apikey"],
            &["a b", "k"],
            &["a+b"],
            &["access_token_long"],
            &["k", "k"],
            &["k", "kk", "a b", "apikey", "n1"],
            &["key", "k1", "a%b", "x=y"],
            &["access_token", "token1", "x-api-key"],
            &many,
        ];
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
            "access_token",
            "access_toke",
            "access_tokenx",
            "access_toke%6E",
            "access+token",
            "token1",
            "token1x",
            "é",
            "n1",
            "n%31",
            "%6E1",
            "%6B%6B",
            "+b",
            "k%31",
            "%6B%65%79",
            "ke%79",
            "%25",
            "%3D",
            "x",
            "y",
            "a%25b",
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
            let firsts: Vec<Option<String>> = names.iter().map(|n| reference(&path, &[n], 1).pop()).collect();
            assert_eq!(query_first_values(&path, names), firsts, "{path} {names:?}");
        }
    }
}
