//! Lowercasing for `case_sensitive: false`, as Go's `strings.ToLower` does it: character by
//! character with Unicode's simple mapping (`Ä` -> `ä`, `K` (Kelvin) -> `k`).
//!
//! Input is bytes (paths, header values and bodies need not be UTF-8): valid UTF-8 is
//! lowercased, other bytes pass as they are. A body arrives in chunks that may cut a
//! character in two, so the tail of an incomplete character can be left for the next chunk.

/// Lowercases one character (the first of its lowercase form: `İ` gives `i`, as in Go).
pub fn lower_char(c: char) -> char {
    c.to_lowercase().next().unwrap_or(c)
}

/// Appends `input` lowercased to `out` and returns how many bytes of it were used: all of
/// them, except, when `more` input follows, an incomplete UTF-8 character at the end (at
/// most 3 bytes), which the caller puts in front of the next piece.
pub fn lower_into(input: &[u8], more: bool, out: &mut Vec<u8>) -> usize {
    out.reserve(input.len());
    let mut i = 0;
    while let Some(&b) = input.get(i) {
        if b.is_ascii() {
            out.push(b.to_ascii_lowercase());
            i += 1;
            continue;
        }
        let width = utf8_width(b);
        let decoded = input.get(i..i + width).filter(|_| width > 0).map(std::str::from_utf8);
        match decoded {
            Some(Ok(text)) => {
                for c in text.chars() {
                    let mut utf8 = [0u8; 4];
                    out.extend_from_slice(lower_char(c).encode_utf8(&mut utf8).as_bytes());
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
