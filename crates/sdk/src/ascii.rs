//! ASCII case-insensitive comparison, eight bytes at a time. Header names, methods, schemes
//! and origins are compared so on every request, and `str::eq_ignore_ascii_case` costs about
//! 40 wasm instructions per byte in the size-optimised builds plugins ship as; this costs a
//! few per byte.

use crate::scan::word;

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Whether `a` and `b` are equal when ASCII letters are folded to lowercase (as
/// `<[u8]>::eq_ignore_ascii_case`; other bytes must be equal).
pub fn eq_ignore_case(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len()
        && a.chunks(8).zip(b.chunks(8)).all(|(x, y)| {
            let (x, y) = (word(x), word(y));
            x == y || lower(x) == lower(y)
        })
}

/// `bytes` with ASCII letters made lowercase (as `<[u8]>::to_ascii_lowercase`), eight at a
/// time: for text searched many times case-insensitively, folded once.
pub fn to_lower(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + 8);
    let chunks = bytes.chunks_exact(8);
    let tail = chunks.remainder();
    for chunk in chunks {
        out.extend_from_slice(&lower(word(chunk)).to_le_bytes());
    }
    let folded = lower(word(tail)).to_le_bytes();
    out.extend_from_slice(folded.get(..tail.len()).unwrap_or_default());
    out
}

/// The eight bytes of `word` with `A`-`Z` made lowercase, other bytes unchanged.
fn lower(word: u64) -> u64 {
    // On the low seven bits of each byte no addition carries into the next byte: a byte's
    // high bit then says whether it reached `A` (and, in the second sum, passed `Z`).
    let seven = word & !HIGHS;
    let from_a = seven.wrapping_add(ONES * u64::from(0x80 - b'A'));
    let past_z = seven.wrapping_add(ONES * u64::from(0x80 - b'Z' - 1));
    // Letters are below 0x80: bytes with the high bit set are never folded.
    let upper = from_a & !past_z & !word & HIGHS;
    // 0x80 >> 2 is 0x20, the case bit.
    word | (upper >> 2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn lowercases_any_length() {
        for text in [
            "",
            "A",
            "Hello, WORLD",
            "ABCDEFGH",
            "ABCDEFGHI",
            "\u{c9}t\u{c9} \u{e9}T\u{e9} @[`{",
            "Z".repeat(100).as_str(),
        ] {
            assert_eq!(to_lower(text.as_bytes()), text.as_bytes().to_ascii_lowercase(), "{text:?}");
        }
    }

    #[test]
    fn folds_letters_only() {
        assert!(eq_ignore_case(b"Content-Type", b"content-TYPE"));
        assert!(eq_ignore_case(b"", b""));
        assert!(eq_ignore_case(b"HTTP://A.COM:8080/x", b"http://a.com:8080/X"));
        assert!(!eq_ignore_case(b"a", b"ab"));
        assert!(!eq_ignore_case(b"@", b"`"), "0x40 and 0x60 are not letters");
        assert!(!eq_ignore_case(b"[", b"{"));
        assert!(!eq_ignore_case("É".as_bytes(), "é".as_bytes()));
        assert!(!eq_ignore_case(b"\xc1", b"\xe1"));
    }

    proptest! {
        #[test]
        fn agrees_with_std(a in proptest::collection::vec(any::<u8>(), 0..40), flips in proptest::collection::vec(any::<bool>(), 40)) {
            // `b`: `a` with the case bit of some bytes flipped, so equal ones are common.
            let b: Vec<u8> = a.iter().zip(&flips).map(|(&x, &f)| if f { x ^ 0x20 } else { x }).collect();
            prop_assert_eq!(eq_ignore_case(&a, &b), a.eq_ignore_ascii_case(&b));
            prop_assert_eq!(eq_ignore_case(&a, &a), true);
        }
    }
}
