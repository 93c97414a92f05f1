//! Lowercasing for `case_sensitive: false`, as Go's `strings.ToLower` does it: character by
//! character with Unicode's simple mapping (`Ä` -> `ä`, `K` (Kelvin) -> `k`).
//!
//! Input is bytes (paths, header values and bodies need not be UTF-8): valid UTF-8 is
//! lowercased, other bytes pass as they are. A body arrives in chunks that may cut a
//! character in two, so the tail of an incomplete character can be left for the next chunk.

use higress_sdk::ascii;

/// Lowercases one character (the first of its lowercase form: `İ` gives `i`, as in Go).
pub fn lower_char(c: char) -> char {
    c.to_lowercase().next().unwrap_or(c)
}

/// Appends `input` lowercased to `out` and returns how many bytes of it were used: all of
/// them, except, when `more` input follows, an incomplete UTF-8 character at the end (at
/// most 3 bytes), which the caller puts in front of the next piece.
pub fn lower_into(input: &[u8], more: bool, out: &mut Vec<u8>) -> usize {
    out.reserve(input.len());
    // Fetched at the first two-byte character, once per call (not once per character).
    let mut two_byte: Option<&[(u32, u8)]> = None;
    let mut i = 0;
    while let Some(&b) = input.get(i) {
        if b.is_ascii() {
            // Eight ASCII bytes at a time where they are (paths nearly always are).
            while let Some(Ok(eight)) = input.get(i..i + 8).map(<[u8; 8]>::try_from) {
                let word = u64::from_le_bytes(eight);
                if word & 0x8080_8080_8080_8080 != 0 {
                    break;
                }
                out.extend(ascii::lower_word(word).to_le_bytes());
                i += 8;
            }
            if let Some(&b) = input.get(i).filter(|b| b.is_ascii()) {
                out.push(b.to_ascii_lowercase());
                i += 1;
            }
            continue;
        }
        let width = utf8_width(b);
        if width == 0 || (width == 2 && input.get(i + 1).is_some_and(|&n| n & 0xC0 != 0x80)) {
            // Not UTF-8 (no validation call needed to tell): the byte is kept as it is.
            out.push(b);
            i += 1;
            continue;
        }
        if width == 2 {
            // Decoded here: no validation call for the commonest non-ASCII characters.
            if let Some(&next) = input.get(i + 1).filter(|&&n| n & 0xC0 == 0x80) {
                let code = (usize::from(b & 0x1F) << 6) | usize::from(next & 0x3F);
                match two_byte.get_or_insert_with(two_byte_lower).get(code) {
                    // Its lowercase is two bytes too (nearly all): written as they are.
                    Some(&(lower, 2)) => {
                        let [first, second, ..] = lower.to_le_bytes();
                        out.push(first);
                        out.push(second);
                    }
                    _ => push_char(out, lower_char(char::from_u32(code as u32).unwrap_or('\u{FFFD}'))),
                }
                i += 2;
                continue;
            }
        }
        let decoded = input.get(i..i + width).filter(|_| width > 0).map(std::str::from_utf8);
        match decoded {
            Some(Ok(text)) => {
                for c in text.chars() {
                    push_char(out, lower_char(c));
                }
                i += width;
            }
            // The character continues in the next piece.
            None if more && width > 0 => return i,
            // Not UTF-8: the byte is kept as it is.
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    i
}

/// Appends `c` in UTF-8 from a fixed array (no `extend_from_slice` call per character,
/// several times the bytes' own cost).
fn push_char(out: &mut Vec<u8>, c: char) {
    let mut utf8 = [0u8; 4];
    let len = c.encode_utf8(&mut utf8).len();
    out.extend(utf8.into_iter().take(len));
}

/// The lowercase of each two-byte character (U+0080 to U+07FF), by code point: its UTF-8
/// bytes (little-endian) and their count. Computed once per VM from `lower_char`: a table
/// load per character instead of a search of Unicode's case table.
fn two_byte_lower() -> &'static [(u32, u8)] {
    static TABLE: std::sync::OnceLock<Vec<(u32, u8)>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        (0..0x800u32)
            .map(|code| {
                let mut utf8 = [0u8; 4];
                let lower = char::from_u32(code).map_or("", |c| lower_char(c).encode_utf8(&mut utf8));
                let mut word = [0u8; 4];
                word.iter_mut().zip(lower.bytes()).for_each(|(w, b)| *w = b);
                (u32::from_le_bytes(word), lower.len() as u8)
            })
            .collect()
    })
}

/// `input` lowercased (an incomplete character at the end kept as it is).
pub fn lower(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    lower_into(input, false, &mut out);
    out
}

/// The length of the UTF-8 character a byte starts; 0 for a byte that starts none.
fn utf8_width(lead: u8) -> usize {
    match lead {
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowercases_like_go() {
        assert_eq!(lower(b"/API/Blocked?Foo=BAR"), b"/api/blocked?foo=bar");
        assert_eq!(lower("ÄÖÜ ΣΑΣ \u{212A}".as_bytes()), "äöü σασ k".as_bytes());
        assert_eq!(lower("İ".as_bytes()), b"i");
        assert_eq!(lower("中文".as_bytes()), "中文".as_bytes());
    }

    #[test]
    fn every_character_as_lower_char_says() {
        // Between ASCII runs long enough for the eight-byte path, and alone.
        for c in (0..0x3_0000).filter_map(char::from_u32) {
            let text = format!("ABCDEFGHI{c}Z{c}");
            let l = lower_char(c);
            assert_eq!(lower(text.as_bytes()), format!("abcdefghi{l}z{l}").into_bytes(), "{c:?}");
        }
    }

    #[test]
    fn other_bytes_pass_as_they_are() {
        assert_eq!(lower(&[b'A', 0xFF, 0x80, b'B', 0xC3]), vec![b'a', 0xFF, 0x80, b'b', 0xC3]);
        // A lead byte followed by a non-continuation byte.
        assert_eq!(lower(&[0xC3, b'A']), vec![0xC3, b'a']);
    }

    #[test]
    fn an_incomplete_character_waits_for_more() {
        let text = "xÄy".as_bytes();
        for split in 0..=text.len() {
            let (a, b) = text.split_at(split);
            let mut out = Vec::new();
            let used = lower_into(a, true, &mut out);
            let mut rest = a[used..].to_vec();
            assert!(rest.len() <= 3);
            rest.extend_from_slice(b);
            lower_into(&rest, false, &mut out);
            assert_eq!(out, "xäy".as_bytes(), "split at {split}");
        }
    }
}
