//! Finding bytes in long text eight at a time. Request heads reach 60 KiB, and wasm has no
//! vector search unless the module is built with SIMD: a byte-by-byte loop costs about ten
//! instructions per byte, these about two (one 64-bit load and a few integer operations per
//! eight bytes, the "has a zero byte" trick).

const ONES: u64 = 0x0101_0101_0101_0101;
const LOWS: u64 = 0x7f7f_7f7f_7f7f_7f7f;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The little-endian word of the first eight bytes of `bytes` (zero-padded when shorter).
pub fn word(bytes: &[u8]) -> u64 {
    if let Some(Ok(eight)) = bytes.get(..8).map(<[u8; 8]>::try_from) {
        // One load.
        return u64::from_le_bytes(eight);
    }
    let mut word = [0u8; 8];
    let n = bytes.len().min(8);
    if let (Some(to), Some(from)) = (word.get_mut(..n), bytes.get(..n)) {
        to.copy_from_slice(from);
    }
    u64::from_le_bytes(word)
}

/// High bit set in exactly the bytes of `word` that equal `byte` (no carries between bytes,
/// so every bit is exact, not only the lowest).
pub fn matches(word: u64, byte: u8) -> u64 {
    let x = word ^ (ONES * u64::from(byte));
    !((x & LOWS).wrapping_add(LOWS) | x | LOWS)
}

/// High bit set in exactly the bytes of `word` below `limit` (at most 0x80): control
/// characters are `below(word, 0x20)`.
pub fn below(word: u64, limit: u8) -> u64 {
    // The low seven bits plus `0x80 - limit` reach the high bit from `limit` up, without
    // carrying into the next byte; bytes with the high bit set are never below.
    !((word & LOWS).wrapping_add(ONES * u64::from(0x80u8.saturating_sub(limit))) | word) & HIGHS
}

/// The first position in `haystack` of a byte for which `hit` (built from [`matches`] and
/// [`below`]) sets the high bit.
pub fn find_with(haystack: &[u8], hit: impl Fn(u64) -> u64) -> Option<usize> {
    let mut first = None;
    each_with(haystack, hit, |i, _| {
        first = Some(i);
        false
    });
    first
}

/// Whether `a` and `b` are the same bytes, compared eight at a time (comparing slices
/// compiles to a byte loop in wasm, several times the cost).
pub fn equal(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let (x, y) = (a.chunks_exact(8), b.chunks_exact(8));
    let rest = x.remainder().iter().zip(y.remainder()).all(|(p, q)| p == q);
    rest && x.zip(y).all(|(p, q)| word(p) == word(q))
}

/// Whether `needle` is somewhere in `haystack`: its first byte found eight bytes at a time,
/// the rest compared eight at a time (`<[u8]>::windows` or `str::contains` cost several
/// times more in wasm).
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    let Some((&first, rest)) = needle.split_first() else { return true };
    let mut from = 0;
    while let Some(at) = haystack.get(from..).and_then(|h| find(h, first)).map(|p| p + from) {
        match haystack.get(at + 1..at + needle.len()) {
            Some(next) if equal(next, rest) => return true,
            Some(_) => from = at + 1,
            None => return false,
        }
    }
    false
}

/// Calls `f` with the position and value of every byte of `haystack` for which `hit` (built
/// from [`matches`]) sets the high bit, in order, while `f` returns true. The tail shorter
/// than a word is read as a word too (zero-padded, the padding masked off): a byte loop there
/// would cost more than the whole word loop of a short name.
fn each_with(haystack: &[u8], hit: impl Fn(u64) -> u64, mut f: impl FnMut(usize, u8) -> bool) {
    let mut chunks = haystack.chunks_exact(8);
    let mut base = 0;
    let mut visit = |base: usize, word: u64, mut found: u64| {
        while found != 0 {
            let bit = found.trailing_zeros();
            if !f(base + (bit / 8) as usize, (word >> (bit & !7)) as u8) {
                return false;
            }
            found &= found - 1;
        }
        true
    };
    for chunk in &mut chunks {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(chunk);
        let word = u64::from_le_bytes(bytes);
        if !visit(base, word, hit(word)) {
            return;
        }
        base += 8;
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        let mut bytes = [0u8; 8];
        if let Some(head) = bytes.get_mut(..tail.len()) {
            head.copy_from_slice(tail);
        }
        let word = u64::from_le_bytes(bytes);
        let valid = HIGHS & (u64::MAX >> (64 - 8 * tail.len()));
        visit(base, word, hit(word) & valid);
    }
}

/// The last position of `a` or `b` in `haystack`, eight bytes at a time from the end (a
/// host's port separator is near its end; `rfind` costs a searcher's setup and a byte loop).
pub fn rfind2(haystack: &[u8], a: u8, b: u8) -> Option<usize> {
    let mut end = haystack.len();
    for chunk in haystack.rchunks(8) {
        end = end.saturating_sub(chunk.len());
        // A short chunk is the first one, zero-padded: the padding masked off.
        let valid = HIGHS & (u64::MAX >> (64 - 8 * chunk.len()));
        let w = word(chunk);
        let found = (matches(w, a) | matches(w, b)) & valid;
        if found != 0 {
            return Some(end + ((63 - found.leading_zeros()) / 8) as usize);
        }
    }
    None
}

/// Calls `f` with the position and value of every `a` or `b` in `haystack`, in order, while
/// `f` returns true.
pub fn each2(haystack: &[u8], a: u8, b: u8, f: impl FnMut(usize, u8) -> bool) {
    each_with(haystack, |w| matches(w, a) | matches(w, b), f);
}

/// [`each2`] for three bytes.
pub fn each3(haystack: &[u8], a: u8, b: u8, c: u8, f: impl FnMut(usize, u8) -> bool) {
    each_with(haystack, |w| matches(w, a) | matches(w, b) | matches(w, c), f);
}

/// Calls `f` with the position of every `a` in `haystack`, in order, while `f` returns
/// true: one pass over a list's separators, eight bytes at a time.
pub fn each(haystack: &[u8], a: u8, mut f: impl FnMut(usize) -> bool) {
    each_with(haystack, |w| matches(w, a), |i, _| f(i));
}

/// The first position of `a` in `haystack`.
pub fn find(haystack: &[u8], a: u8) -> Option<usize> {
    let mut first = None;
    each_with(
        haystack,
        |w| matches(w, a),
        |i, _| {
            first = Some(i);
            false
        },
    );
    first
}

/// The first position of `a` or `b` in `haystack`.
pub fn find2(haystack: &[u8], a: u8, b: u8) -> Option<usize> {
    let mut first = None;
    each2(haystack, a, b, |i, _| {
        first = Some(i);
        false
    });
    first
}

/// Whether every byte of `bytes` is printable ASCII other than space (`!` to `~`, as
/// `u8::is_ascii_graphic`) and none is one of `except`: a URL path or an origin's
/// authority is checked so, where a byte loop costs about thirty instructions a byte.
/// Always inlined: `except`, a constant at every call, then folds into a few operations
/// per word instead of a loop over it per word (four times the cost).
#[inline(always)]
pub fn is_graphic_except(bytes: &[u8], except: &[u8]) -> bool {
    let mut chunks = bytes.chunks_exact(8);
    if chunks.any(|chunk| not_graphic_except(word(chunk), except) != 0) {
        return false;
    }
    // The tail, zero-padded: the padding bytes are bad, and only they are masked off (a
    // borrow out of them goes to the higher, padding, bytes).
    let tail = chunks.remainder();
    tail.is_empty() || not_graphic_except(word(tail), except) & (u64::MAX >> (64 - 8 * tail.len())) == 0
}

/// For [`is_graphic_except`] and scans that do more in the same pass: nonzero when a byte
/// of `w` is not printable ASCII or is one of `except` (its high bit set in the lowest such
/// byte at least).
#[inline(always)]
pub fn not_graphic_except(w: u64, except: &[u8]) -> u64 {
    // High bit set in the bytes below `!`: exact in the lowest one, and a borrow may set it
    // in bytes above that one too, which only answers "some byte is bad" sooner.
    let below = w.wrapping_sub(ONES * u64::from(b'!')) & !w;
    // High bit set in the bytes from DEL up: the low seven bits of DEL plus one carry into
    // the high bit, without reaching the next byte.
    let above = (w & LOWS).wrapping_add(ONES) | w;
    // Up to five excepted bytes written out, not looped over: `except` is a constant at
    // every call, and a loop per word is not unrolled in builds optimised for size.
    let one = |i: usize| except.get(i).map_or(0, |&b| matches(w, b));
    let bad = (below | above) & HIGHS | one(0) | one(1) | one(2) | one(3) | one(4);
    except.get(5..).unwrap_or_default().iter().fold(bad, |bad, &b| bad | matches(w, b))
}

/// Whether every byte of `bytes` is ASCII, sixteen at a time: header values reach 60 KiB and
/// are nearly always ASCII, where `String::from_utf8` costs about two and a half
/// instructions a byte in wasm. Short text takes the standard check, cheaper there than
/// this one's setup.
pub fn is_ascii(bytes: &[u8]) -> bool {
    if bytes.len() < 64 {
        return bytes.is_ascii();
    }
    let mut pairs = bytes.chunks_exact(16);
    let ascii = |p: &[u8]| {
        // The tail is zero-padded by `word`: padding is ASCII.
        let (a, b) = p.split_at(p.len().min(8));
        (word(a) | word(b)) & HIGHS == 0
    };
    pairs.all(ascii) && ascii(pairs.remainder())
}

/// Lends `bytes` to `f` as text, invalid UTF-8 replaced: ASCII (nearly always) is told by
/// [`is_ascii`], where `str::from_utf8` costs about 250 instructions even on a host name.
pub fn with_str<R>(bytes: &[u8], f: impl FnOnce(&str) -> R) -> R {
    if is_ascii(bytes) {
        // SAFETY: ASCII is UTF-8.
        return f(unsafe { std::str::from_utf8_unchecked(bytes) });
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => f(text),
        Err(_) => f(&String::from_utf8_lossy(bytes)),
    }
}

/// `bytes` as a `String`, invalid UTF-8 replaced; long ASCII values are told by [`is_ascii`]
/// and taken without a second look.
pub fn into_string(bytes: Vec<u8>) -> String {
    checked_string(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// `bytes` as a `String` if they are UTF-8 ([`into_string`] without the replacing).
pub fn utf8_string(bytes: Vec<u8>) -> Option<String> {
    checked_string(bytes).ok()
}

/// `String::from_utf8`, with long ASCII values told by [`is_ascii`] at half its cost; short
/// values (route names, most headers) are validated the usual way, cheaper there.
fn checked_string(bytes: Vec<u8>) -> Result<String, std::string::FromUtf8Error> {
    if bytes.len() >= 64 && is_ascii(&bytes) {
        // SAFETY: ASCII is UTF-8.
        return Ok(unsafe { String::from_utf8_unchecked(bytes) });
    }
    String::from_utf8(bytes)
}

/// How many bytes of `bytes` are `a`.
pub fn count(bytes: &[u8], a: u8) -> usize {
    let mut n = 0;
    each_with(
        bytes,
        |w| matches(w, a),
        |_, _| {
            n += 1;
            true
        },
    );
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn classes_agree_with_a_byte_loop(
            text in proptest::collection::vec(prop_oneof![Just(b'a'), Just(b'#'), Just(b'?'), Just(b' '), Just(b'!'),
                Just(b'~'), Just(0x7f), Just(0x80), Just(0xff), Just(0), Just(0x20), Just(0x21)], 0..40),
        ) {
            let graphic = text.iter().all(|&b| b.is_ascii_graphic() && b != b'#' && b != b'?');
            prop_assert_eq!(is_graphic_except(&text, b"#?"), graphic);
            prop_assert_eq!(is_graphic_except(&text, b""), text.iter().all(u8::is_ascii_graphic));
            prop_assert_eq!(into_string(text.clone()), String::from_utf8_lossy(&text).into_owned());
            prop_assert_eq!(count(&text, b'?'), text.iter().filter(|&&b| b == b'?').count());
            prop_assert_eq!(count(&text, 0), text.iter().filter(|&&b| b == 0).count());
            prop_assert_eq!(
                find_with(&text, |w| matches(w, b'?') | below(w, 0x21)),
                text.iter().position(|&b| b == b'?' || b < 0x21)
            );
            for needle in [&b"a#"[..], b"?", b"a?~", b"", b"\xff\x00"] {
                prop_assert_eq!(contains(&text, needle), needle.is_empty() || text.windows(needle.len()).any(|w| w == needle));
            }
            prop_assert_eq!(rfind2(&text, b'#', 0), text.iter().rposition(|&b| b == b'#' || b == 0));
            prop_assert_eq!(rfind2(&text, b'?', b'~'), text.iter().rposition(|&b| b == b'?' || b == b'~'));
            prop_assert_eq!(with_str(&text, str::to_string), String::from_utf8_lossy(&text).into_owned());
            prop_assert!(equal(&text, &text.clone()));
            let mut other = text.clone();
            if let Some(last) = other.last_mut() {
                *last ^= 1;
                prop_assert!(!equal(&text, &other));
            }
        }
    }

    #[test]
    fn line_ends() {
        assert_eq!(find2(b"event: x\r\ndata: y\n", b'\n', b'\r'), Some(8));
        assert_eq!(find2(b"data: y\n", b'\n', b'\r'), Some(7));
    }

    #[test]
    fn agrees_with_a_byte_loop() {
        let mut x: u32 = 7;
        for len in 0..70 {
            for _ in 0..40 {
                let text: Vec<u8> = (0..len)
                    .map(|_| {
                        x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                        // Mostly letters, some separators and bytes next to them in value.
                        [b'a', b'&', b'=', b'%', b'%' + 1, b'&' - 1, 0x80, 0xff][(x >> 16) as usize % 8]
                    })
                    .collect();
                assert_eq!(find(&text, b'&'), text.iter().position(|&b| b == b'&'), "{text:?}");
                assert_eq!(find2(&text, b'&', b'='), text.iter().position(|&b| b == b'&' || b == b'='), "{text:?}");
                assert_eq!(find(&text, 0x80), text.iter().position(|&b| b == 0x80), "{text:?}");
                let mut all = Vec::new();
                each2(&text, b'&', 0xff, |i, b| {
                    all.push((i, b));
                    true
                });
                let expected: Vec<(usize, u8)> =
                    text.iter().enumerate().filter(|(_, &b)| b == b'&' || b == 0xff).map(|(i, &b)| (i, b)).collect();
                assert_eq!(all, expected, "{text:?}");
            }
        }
    }
}
