//! ASCII case-insensitive comparison, eight bytes at a time, and trimming. Header names, methods, schemes
//! and origins are compared so on every request, and `str::eq_ignore_ascii_case` costs about
//! 40 wasm instructions per byte in the size-optimised builds plugins ship as; this costs a
//! few per byte.

use crate::scan::word;

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Whether `a` and `b` are equal when ASCII letters are folded to lowercase (as
/// `<[u8]>::eq_ignore_ascii_case`; other bytes must be equal).
pub fn eq_ignore_case(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let same = |x: u64, y: u64| x == y || lower_word(x) == lower_word(y);
    let mut i = 0;
    // One load per side per eight bytes (chunk iterators cost several times that).
    while let (Some(x), Some(y)) = (a.get(i..i + 8), b.get(i..i + 8)) {
        if !same(word(x), word(y)) {
            return false;
        }
        i += 8;
    }
    // The tails, zero-padded alike.
    same(word(a.get(i..).unwrap_or_default()), word(b.get(i..).unwrap_or_default()))
}

/// `bytes` with ASCII letters made lowercase (as `<[u8]>::to_ascii_lowercase`), eight at a
/// time: for text searched many times case-insensitively, folded once.
pub fn to_lower(bytes: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; bytes.len()];
    let mut at = 0;
    // One load and one store per eight bytes (`extend_from_slice` is a call each).
    while let (Some(from), Some(Ok(to))) =
        (bytes.get(at..at + 8), out.get_mut(at..at + 8).map(<&mut [u8; 8]>::try_from))
    {
        *to = lower_word(word(from)).to_le_bytes();
        at += 8;
    }
    let folded = lower_word(word(bytes.get(at..).unwrap_or_default())).to_le_bytes();
    if let Some(to) = out.get_mut(at..) {
        to.copy_from_slice(folded.get(..to.len()).unwrap_or_default());
    }
    out
}

/// `text` without leading and trailing white space, as `str::trim`: ASCII white space is
/// passed over a byte at a time, and the Unicode kind is looked for only when a non-ASCII
/// character is at an end. `str::trim` decodes a character per step, several times the cost
/// on the 60 KiB of spaces a header may hold.
#[inline]
pub fn trim(text: &str) -> &str {
    trim_end(trim_start(text))
}

/// `text` without leading white space, as `str::trim_start` ([`trim`]).
#[inline]
pub fn trim_start(text: &str) -> &str {
    let bytes = text.as_bytes();
    let start = skip_spaces(bytes, 0, bytes.len());
    match bytes.get(start) {
        // Cut at an ASCII byte: a character boundary.
        Some(b) if b.is_ascii() => text.get(start..).unwrap_or_default(),
        Some(_) => text.get(start..).unwrap_or_default().trim_start(),
        None => "",
    }
}

/// `text` without trailing white space, as `str::trim_end` ([`trim`]).
#[inline]
pub fn trim_end(text: &str) -> &str {
    let bytes = text.as_bytes();
    let mut end = bytes.len();
    while end > 0 && bytes.get(end - 1).is_some_and(|&b| is_space(b)) {
        end -= 1;
    }
    match end.checked_sub(1).and_then(|last| bytes.get(last)) {
        Some(b) if b.is_ascii() => text.get(..end).unwrap_or_default(),
        Some(_) => text.get(..end).unwrap_or_default().trim_end(),
        None => "",
    }
}

/// The first position from `start` (up to `end`) that does not hold ASCII white space
/// ([`is_space`]). Most runs are none or one byte (`a=1; b=2`), a byte step each here; a
/// longer one goes on eight bytes a step: a header may be 60 KiB of spaces.
#[inline(always)]
pub fn skip_spaces(bytes: &[u8], start: usize, end: usize) -> usize {
    let space = |at: usize| at < end && bytes.get(at).is_some_and(|&b| is_space(b));
    if !space(start) {
        start
    } else if !space(start + 1) {
        start + 1
    } else {
        skip_space_run(bytes, start + 2, end)
    }
}

/// [`skip_spaces`] past its first bytes.
#[inline(never)]
fn skip_space_run(bytes: &[u8], mut start: usize, end: usize) -> usize {
    let end = end.min(bytes.len());
    while let Some(eight) = bytes.get(start..start + 8).filter(|_| start + 8 <= end) {
        let others = not_spaces(crate::scan::word(eight));
        if others != 0 {
            return start + (others.trailing_zeros() / 8) as usize;
        }
        start += 8;
    }
    while start < end && bytes.get(start).is_some_and(|&b| is_space(b)) {
        start += 1;
    }
    start
}

/// Where a run of ASCII white space ending at `end` (back to `start` at most) begins: the
/// end of the text before it. [`skip_spaces`] from the other side.
#[inline(always)]
pub fn skip_spaces_back(bytes: &[u8], start: usize, end: usize) -> usize {
    let space = |at: usize| at > start && bytes.get(at - 1).is_some_and(|&b| is_space(b));
    if !space(end) {
        end
    } else if !space(end - 1) {
        end - 1
    } else {
        skip_space_run_back(bytes, start, end - 2)
    }
}

/// [`skip_spaces_back`] past its last bytes.
#[inline(never)]
fn skip_space_run_back(bytes: &[u8], start: usize, mut end: usize) -> usize {
    end = end.min(bytes.len());
    while end >= start + 8 {
        let Some(eight) = bytes.get(end - 8..end) else { break };
        let others = not_spaces(crate::scan::word(eight));
        if others != 0 {
            // The highest byte that is not a space ends the text.
            return end - 8 + (63 - others.leading_zeros()) as usize / 8 + 1;
        }
        end -= 8;
    }
    while end > start && bytes.get(end - 1).is_some_and(|&b| is_space(b)) {
        end -= 1;
    }
    end
}

/// The high bit of each byte of `word` that is not ASCII white space ([`is_space`]).
#[inline(always)]
fn not_spaces(word: u64) -> u64 {
    // Tab to carriage return are 0x09-0x0d: below 0x0e and not below 0x09.
    let spaces = crate::scan::matches(word, b' ') | (crate::scan::below(word, 0x0e) & !crate::scan::below(word, 0x09));
    !spaces & HIGHS
}

/// `char::is_whitespace` for ASCII: tab, line feed, vertical tab, form feed, carriage
/// return and space.
#[inline]
pub const fn is_space(b: u8) -> bool {
    matches!(b, b'\t'..=b'\r' | b' ')
}

/// The eight bytes of `word` with `A`-`Z` made lowercase, other bytes unchanged: a plugin
/// that lowercases text of its own kind (Unicode too) folds its ASCII runs with it.
#[inline]
pub fn lower_word(word: u64) -> u64 {
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

    #[test]
    fn trims_as_std() {
        for text in [
            "",
            " ",
            "a",
            " a ",
            "\t\n\x0b\x0c\r a b \r\n",
            "\u{3000}a\u{3000}",
            " \u{85}\u{a0}x\u{2003} ",
            "\u{e9} ",
            " \u{e9}",
            "\x1fa\x1f",
            "\u{200b}a",
        ] {
            assert_eq!(trim(text), text.trim(), "{text:?}");
            assert_eq!(trim_start(text), text.trim_start(), "{text:?}");
            assert_eq!(trim_end(text), text.trim_end(), "{text:?}");
        }
        assert_eq!(trim(&" ".repeat(60_000)), "");
    }

    proptest! {
        #[test]
        fn trim_agrees_with_std(text in "[ \t\n\x0b\x0c\r\u{85}\u{a0}\u{3000}\u{2028}a\u{e9},\x1f\x08\x0e]{0,40}") {
            prop_assert_eq!(trim(&text), text.trim());
            prop_assert_eq!(trim_start(&text), text.trim_start());
            prop_assert_eq!(trim_end(&text), text.trim_end());
        }

        #[test]
        fn skips_back_over_the_spaces_a_byte_loop_would(bytes in proptest::collection::vec(prop_oneof![Just(b' '), Just(b'\t'), Just(b'\r'), Just(0x08u8), Just(0x0eu8), any::<u8>()], 0..40), start in 0usize..45, end in 0usize..45) {
            let end = end.min(bytes.len());
            let mut expected = end;
            while expected > start && is_space(bytes[expected - 1]) {
                expected -= 1;
            }
            prop_assert_eq!(skip_spaces_back(&bytes, start, end), expected);
        }

        #[test]
        fn skips_the_spaces_a_byte_loop_would(bytes in proptest::collection::vec(prop_oneof![Just(b' '), Just(b'\t'), Just(b'\r'), Just(0x08u8), Just(0x0eu8), any::<u8>()], 0..40), start in 0usize..45, end in 0usize..45) {
            let mut expected = start;
            while expected < end.min(bytes.len()) && is_space(bytes[expected]) {
                expected += 1;
            }
            prop_assert_eq!(skip_spaces(&bytes, start, end), expected);
        }

        #[test]
        fn agrees_with_std(a in proptest::collection::vec(any::<u8>(), 0..40), flips in proptest::collection::vec(any::<bool>(), 40)) {
            // `b`: `a` with the case bit of some bytes flipped, so equal ones are common.
            let b: Vec<u8> = a.iter().zip(&flips).map(|(&x, &f)| if f { x ^ 0x20 } else { x }).collect();
            prop_assert_eq!(eq_ignore_case(&a, &b), a.eq_ignore_ascii_case(&b));
            prop_assert_eq!(eq_ignore_case(&a, &a), true);
        }
    }
}
