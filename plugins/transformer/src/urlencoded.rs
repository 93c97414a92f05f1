//! `name=value&...` text - a query string or an `application/x-www-form-urlencoded` body - to
//! [`Pairs`] and back.
//!
//! Each pair keeps its encoded text: a query or form rebuilt after a rule changed one
//! parameter carries every other pair byte for byte as the client sent it. Pairs a rule made
//! are encoded as Go's `url.QueryEscape` does.

use crate::kv::{Pairs, Val};
use higress_sdk::url::{percent_decode_bytes, query_escape_into};
use std::borrow::Cow;

/// The pairs of `text`, decoded (`+` is a space), empty pairs skipped; a pair without `=`
/// has an empty value.
pub fn parse(text: &[u8]) -> Pairs<'_> {
    let pairs = text.split(|&b| b == b'&').filter(|p| !p.is_empty()).map(|raw| {
        let mut halves = raw.splitn(2, |&b| b == b'=');
        let key = percent_decode_bytes(halves.next().unwrap_or_default(), true);
        let value = percent_decode_bytes(halves.next().unwrap_or_default(), true);
        (key, Val { bytes: value, raw: Some(Cow::Borrowed(raw)) })
    });
    // At most one pair per `&` and one more (counted a word at a time).
    Pairs::grouped(pairs, higress_sdk::scan::count(text, b'&') + 1)
}

/// Whether `text` is a form Go's `url.ParseQuery` accepts: every `%` starts a two-digit hex
/// escape and no name holds a `;`. A form that is not is passed on untouched, as Go does.
pub fn is_well_formed(text: &[u8]) -> bool {
    let escapes_ok = text.iter().enumerate().filter(|(_, &b)| b == b'%').all(|(i, _)| {
        matches!((text.get(i + 1), text.get(i + 2)), (Some(h), Some(l)) if h.is_ascii_hexdigit() && l.is_ascii_hexdigit())
    });
    let names_ok =
        text.split(|&b| b == b'&').all(|pair| !pair.split(|&b| b == b'=').next().unwrap_or_default().contains(&b';'));
    escapes_ok && names_ok
}

/// The pairs as `name=value&...`.
pub fn encode(pairs: &Pairs) -> Vec<u8> {
    let mut out = Vec::new();
    let mut scratch = String::new();
    for entry in pairs.entries() {
        for value in &entry.values {
            if !out.is_empty() {
                out.push(b'&');
            }
            match &value.raw {
                Some(raw) => out.extend_from_slice(raw),
                None => {
                    scratch.clear();
                    query_escape_into(&mut scratch, &entry.key);
                    scratch.push('=');
                    query_escape_into(&mut scratch, &value.bytes);
                    out.extend_from_slice(scratch.as_bytes());
                }
            }
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_untouched_pairs() {
        let text = b"k1=v11&k1=v1%32&&k2=a+b%zz&flag&k3=%FF";
        let mut pairs = parse(text);
        assert_eq!(pairs.get(b"k1").unwrap()[1].bytes.as_ref(), b"v12");
        assert_eq!(pairs.get(b"k2").unwrap()[0].bytes.as_ref(), b"a b%zz");
        assert_eq!(pairs.get(b"k3").unwrap()[0].bytes.as_ref(), b"\xff");
        assert_eq!(encode(&pairs), b"k1=v11&k1=v1%32&k2=a+b%zz&flag&k3=%FF");
        pairs.append(b"new key", "va/lue é".as_bytes());
        assert_eq!(encode(&pairs), b"k1=v11&k1=v1%32&k2=a+b%zz&flag&k3=%FF&new+key=va%2Flue+%C3%A9");
    }

    #[test]
    fn well_formed_forms() {
        assert!(is_well_formed(b"a=1&b=%20x&c"));
        assert!(!is_well_formed(b"a=%zz"));
        assert!(!is_well_formed(b"a=%2"));
        assert!(!is_well_formed(b"a;b=1"));
        assert!(is_well_formed(b"a=b;c"));
    }
}
