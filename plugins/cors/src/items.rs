//! Comma-separated lists read as one pass of a byte machine when they are ASCII (always, in
//! practice): a preflight's 60 KiB of one-letter header names, or a `Vary` of as many items,
//! cost a few instructions a byte, not a call per item. Text with other characters goes the
//! general way ([`crate::config::each_item`]), whose Unicode trim these machines would not
//! match; the tests compare the two.

use crate::decision::TCHARS;
use higress_sdk::ascii::{eq_ignore_case, is_space, skip_spaces, skip_spaces_back};
use higress_sdk::scan;

/// For an ASCII `value`: its items, trimmed and without empty ones, comma-joined, when each
/// is a token (`Some(None)` when one is not). `None` when `value` is not ASCII.
pub fn joined_tokens(value: &str) -> Option<Option<String>> {
    let bytes = value.as_bytes();
    if !bytes.is_ascii() {
        return None;
    }
    // Never longer than `value`: a comma is written only where one was read.
    let mut out = vec![0u8; bytes.len()];
    let mut n = 0;
    // In an item's token; past white space that followed it.
    let (mut in_item, mut spaced) = (false, false);
    for &b in bytes {
        match CLASSES.get(usize::from(b)).copied().unwrap_or(OTHER) {
            COMMA => (in_item, spaced) = (false, false),
            SPACE => spaced |= in_item,
            TCHAR if !spaced => {
                if !in_item && n > 0 {
                    if let Some(slot) = out.get_mut(n) {
                        *slot = b',';
                    }
                    n += 1;
                }
                in_item = true;
                if let Some(slot) = out.get_mut(n) {
                    *slot = b;
                }
                n += 1;
            }
            _ => return Some(None),
        }
    }
    out.truncate(n);
    Some(String::from_utf8(out).ok())
}

const OTHER: u8 = 0;
const COMMA: u8 = 1;
const SPACE: u8 = 2;
const TCHAR: u8 = 3;

/// Each byte's part in a list of tokens: one load per byte, not three tests. Computed at
/// compile time (an index out of bounds would fail the build, never a request).
#[allow(clippy::indexing_slicing)]
const CLASSES: [u8; 256] = {
    let mut classes = [OTHER; 256];
    let mut b = 0;
    while b < 256 {
        let byte = b as u8;
        classes[b] = if byte == b',' {
            COMMA
        } else if is_space(byte) {
            SPACE
        } else if byte < 128 && (TCHARS[b / 64] >> (b % 64)) & 1 == 1 {
            TCHAR
        } else {
            OTHER
        };
        b += 1;
    }
    classes
};

/// For an ASCII `Vary` value: whether an item (trimmed) is `*` or `Origin` in any case.
/// `None` when `value` is not ASCII. Only a `*` or an `o` can start such an item: those are
/// found eight bytes a step, and each is checked where it stands (a response's `Vary` may
/// be 60 KiB of short items, where a byte machine costs about sixty instructions a byte).
pub fn varies_by_origin(value: &str) -> Option<bool> {
    let bytes = value.as_bytes();
    if !scan::is_ascii(bytes) {
        return None;
    }
    // An item ends at a comma or the end, after white space.
    let ends_item = |at: usize| {
        let after = skip_spaces(bytes, at, bytes.len());
        after == bytes.len() || bytes.get(after) == Some(&b',')
    };
    let mut varies = false;
    scan::each3(bytes, b'*', b'o', b'O', |at, b| {
        let before = skip_spaces_back(bytes, 0, at);
        let starts_item = before == 0 || bytes.get(before - 1) == Some(&b',');
        varies = starts_item
            && if b == b'*' {
                ends_item(at + 1)
            } else {
                bytes.get(at + 1..at + 6).is_some_and(|rest| eq_ignore_case(rest, b"rigin")) && ends_item(at + 6)
            };
        !varies
    });
    Some(varies)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::each_item;
    use crate::decision::is_tchar;
    use higress_sdk::ascii::eq_ignore_case;
    use proptest::prelude::*;

    /// The general way: `each_item` and a check per item.
    fn joined_by_items(value: &str) -> Option<String> {
        let mut names = Vec::new();
        let tokens = each_item(value, |name| {
            names.push(name);
            !name.is_empty() && name.bytes().all(is_tchar)
        });
        tokens.then(|| names.join(","))
    }

    fn varies_by_items(value: &str) -> bool {
        !each_item(value, |t| t != "*" && !eq_ignore_case(t.as_bytes(), b"origin"))
    }

    #[test]
    fn lists() {
        assert_eq!(joined_tokens(" a , b,,c ,"), Some(Some("a,b,c".into())));
        assert_eq!(joined_tokens("a b"), Some(None));
        assert_eq!(joined_tokens("a,\"b\""), Some(None));
        assert_eq!(joined_tokens(""), Some(Some(String::new())));
        assert_eq!(joined_tokens("é"), None);
        assert_eq!(varies_by_origin("accept, ORIGIN "), Some(true));
        assert_eq!(varies_by_origin("origins, orig, * x"), Some(false));
        assert_eq!(varies_by_origin(" * "), Some(true));
    }

    proptest! {
        #[test]
        fn machines_agree_with_each_item(value in "[a,o rigRInG*\t\"x]{0,24}") {
            prop_assert_eq!(joined_tokens(&value), Some(joined_by_items(&value)));
            prop_assert_eq!(varies_by_origin(&value), Some(varies_by_items(&value)));
        }
    }
}
