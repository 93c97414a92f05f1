//! The header-map wire format shared by `proxy_{get,set}_header_map_pairs`,
//! `proxy_send_local_response` and `proxy_http_call`.
//!
//! Layout (little-endian): `u32 count`, then `count` pairs of `(u32 key_len, u32 value_len)`,
//! then every key and value, each followed by one NUL byte. Lengths are explicit, so keys and
//! values may themselves contain NUL bytes; the terminators are still checked on decode.

use alloc::vec::Vec;
use core::ops::Range;

/// Why a header-map buffer could not be decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// The buffer ends before the data its header announces.
    Truncated,
    /// A key or value is not followed by its NUL terminator.
    MissingTerminator,
    /// Bytes remain after the last pair.
    TrailingBytes,
}

impl core::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            DecodeError::Truncated => "header map is truncated",
            DecodeError::MissingTerminator => "header map entry is not NUL-terminated",
            DecodeError::TrailingBytes => "header map has trailing bytes",
        })
    }
}

/// Decoded pairs, borrowing from the encoded buffer.
pub type Pairs<'a> = Vec<(&'a [u8], &'a [u8])>;

/// Size in bytes of the encoding of `pairs`.
pub fn encoded_len<K: AsRef<[u8]>, V: AsRef<[u8]>>(pairs: &[(K, V)]) -> usize {
    pairs.iter().fold(4, |n, (k, v)| n + 8 + k.as_ref().len() + v.as_ref().len() + 2)
}

/// Encodes `pairs`. An empty slice encodes as a 4-byte zero count.
pub fn encode<K: AsRef<[u8]>, V: AsRef<[u8]>>(pairs: &[(K, V)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(encoded_len(pairs));
    encode_into(pairs, &mut out);
    out
}

/// Appends the encoding of `pairs` to `out`.
///
/// The buffer grows once, zero-filled, and every size, key and value is copied into its
/// place; the NUL terminators are the zeros left between them. Appending piece by piece
/// cost a call and a capacity check per piece (about 40 wasm instructions, six pieces a
/// pair), three times what the zero-fill costs.
pub fn encode_into<K: AsRef<[u8]>, V: AsRef<[u8]>>(pairs: &[(K, V)], out: &mut Vec<u8>) {
    let start = out.len();
    out.resize(start + encoded_len(pairs), 0);
    let Some(buffer) = out.get_mut(start..) else { return };
    let Some((mut sizes, mut data)) = buffer.split_at_mut_checked(4 + 8 * pairs.len()) else { return };
    sizes = put(sizes, &len_u32(pairs.len()).to_le_bytes(), 0);
    for (k, v) in pairs {
        let (k, v) = (k.as_ref(), v.as_ref());
        // Both sizes in one 8-byte copy.
        let both = u64::from(len_u32(k.len())) | u64::from(len_u32(v.len())) << 32;
        sizes = put(sizes, &both.to_le_bytes(), 0);
        data = put(data, k, 1);
        data = put(data, v, 1);
    }
}

/// Encodes `first` followed by the pairs of `rest`, itself an encoding (headers that are the
/// same on every reply, encoded once): `rest`'s sizes and data are copied as two blocks
/// instead of being encoded pair by pair again. A `rest` that does not hold the pairs its
/// count announces counts as empty.
pub fn encode_before<K: AsRef<[u8]>, V: AsRef<[u8]>>(first: &[(K, V)], rest: &[u8]) -> Vec<u8> {
    let count = read_u32(rest, 0).map_or(0, |c| c as usize);
    let (sizes, data) = match rest.get(4..).and_then(|r| r.split_at_checked(count.saturating_mul(8))) {
        Some(split) => split,
        None => (&[][..], &[][..]),
    };
    let count = sizes.len() / 8;
    let mut out = Vec::with_capacity(encoded_len(first) + sizes.len() + data.len());
    out.extend_from_slice(&len_u32(first.len() + count).to_le_bytes());
    for (k, v) in first {
        let both = u64::from(len_u32(k.as_ref().len())) | u64::from(len_u32(v.as_ref().len())) << 32;
        out.extend_from_slice(&both.to_le_bytes());
    }
    out.extend_from_slice(sizes);
    for (k, v) in first {
        out.extend_from_slice(k.as_ref());
        out.push(0);
        out.extend_from_slice(v.as_ref());
        out.push(0);
    }
    out.extend_from_slice(data);
    out
}

/// Copies `bytes` to the start of `out` and returns what follows them and `gap` more bytes
/// (a terminator, already written as a zero). `out` always has the room: its size was
/// computed from the same pairs.
fn put<'a>(out: &'a mut [u8], bytes: &[u8], gap: usize) -> &'a mut [u8] {
    let Some((into, rest)) = out.split_at_mut_checked(bytes.len()) else { return &mut [] };
    into.copy_from_slice(bytes);
    rest.get_mut(gap..).unwrap_or_default()
}

fn len_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Decodes a header map, borrowing keys and values from `bytes`.
///
/// An empty buffer is an empty map (hosts return size 0 for an absent map).
/// Never panics and never allocates more than the input can justify.
pub fn decode(bytes: &[u8]) -> Result<Pairs<'_>, DecodeError> {
    let mut pairs = Vec::with_capacity(pair_count(bytes));
    for_each(bytes, |key, value| pairs.push((key, value)))?;
    Ok(pairs)
}

/// Calls `f` with each pair in order, borrowing from `bytes`, without allocating; the whole
/// buffer is validated (an error may come after some pairs were seen).
pub fn for_each<'a>(bytes: &'a [u8], mut f: impl FnMut(&'a [u8], &'a [u8])) -> Result<(), DecodeError> {
    for_each_span(bytes, |key, value| {
        f(bytes.get(key).unwrap_or_default(), bytes.get(value).unwrap_or_default());
    })
}

/// Like [`for_each`], with where each key and value is in `bytes` instead of the bytes: for
/// a reader that keeps the buffer and hands out its pairs later.
pub fn for_each_span(bytes: &[u8], mut f: impl FnMut(Range<usize>, Range<usize>)) -> Result<(), DecodeError> {
    if bytes.is_empty() {
        return Ok(());
    }
    let count = read_u32(bytes, 0)? as usize;
    // Each pair needs at least 8 size bytes and 2 terminators: reject absurd counts early.
    let sizes_end = count.checked_mul(8).and_then(|n| n.checked_add(4)).ok_or(DecodeError::Truncated)?;
    if sizes_end > bytes.len() || count.saturating_mul(10) > bytes.len() {
        return Err(DecodeError::Truncated);
    }
    let mut data = sizes_end;
    for i in 0..count {
        let key_len = read_u32(bytes, 4 + i * 8)? as usize;
        let value_len = read_u32(bytes, 8 + i * 8)? as usize;
        let key = terminated(bytes, data, key_len)?;
        let value = terminated(bytes, key.end + 1, value_len)?;
        data = value.end + 1;
        f(key, value);
    }
    if data != bytes.len() {
        return Err(DecodeError::TrailingBytes);
    }
    Ok(())
}

/// The pair count a buffer announces, bounded by what its size can hold.
fn pair_count(bytes: &[u8]) -> usize {
    let count = read_u32(bytes, 0).map_or(0, |c| c as usize);
    count.min(bytes.len() / 10)
}

fn read_u32(bytes: &[u8], at: usize) -> Result<u32, DecodeError> {
    let end = at.checked_add(4).ok_or(DecodeError::Truncated)?;
    let raw = bytes.get(at..end).ok_or(DecodeError::Truncated)?;
    let mut word = [0u8; 4];
    word.copy_from_slice(raw);
    Ok(u32::from_le_bytes(word))
}

/// Where the `len` bytes at `at` are, when a NUL follows them.
fn terminated(bytes: &[u8], at: usize, len: usize) -> Result<Range<usize>, DecodeError> {
    let end = at.checked_add(len).ok_or(DecodeError::Truncated)?;
    match bytes.get(end) {
        Some(0) => Ok(at..end),
        Some(_) => Err(DecodeError::MissingTerminator),
        None => Err(DecodeError::Truncated),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn empty_map() {
        let empty: [(&str, &str); 0] = [];
        let bytes = encode(&empty);
        assert_eq!(bytes, vec![0, 0, 0, 0]);
        assert_eq!(decode(&bytes), Ok(vec![]));
        assert_eq!(decode(&[]), Ok(vec![]));
    }

    #[test]
    fn round_trip_with_exact_layout() {
        let pairs = [(":path", "/a"), ("x", "")];
        let bytes = encode(&pairs);
        let mut expected = vec![2, 0, 0, 0, 5, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0];
        expected.extend_from_slice(b":path\0/a\0x\0\0");
        assert_eq!(bytes, expected);
        assert_eq!(bytes.len(), encoded_len(&pairs));
        let decoded = decode(&bytes).unwrap();
        assert_eq!(decoded, vec![(&b":path"[..], &b"/a"[..]), (&b"x"[..], &b""[..])]);
    }

    #[test]
    fn nul_bytes_inside_values_survive() {
        let pairs = [(&b"k\0ey"[..], &b"\0v\0"[..])];
        let bytes = encode(&pairs);
        assert_eq!(decode(&bytes).unwrap(), vec![(&b"k\0ey"[..], &b"\0v\0"[..])]);
    }

    #[test]
    fn missing_terminator_is_rejected() {
        let mut bytes = encode(&[("a", "b")]);
        let last = bytes.len() - 1;
        bytes[last] = b'!';
        assert_eq!(decode(&bytes), Err(DecodeError::MissingTerminator));
    }

    #[test]
    fn every_truncation_is_rejected_without_panic() {
        let bytes = encode(&[("content-type", "application/json"), ("x-a", "1")]);
        for cut in 1..bytes.len() {
            assert!(decode(&bytes[..cut]).is_err(), "cut at {cut} decoded");
        }
    }

    #[test]
    fn an_encoding_can_follow_pairs() {
        let all = [("access-control-allow-origin", "https://a.com"), ("vary", "Origin"), ("x-v", "")];
        for at in 0..=all.len() {
            assert_eq!(encode_before(&all[..at], &encode(&all[at..])), encode(&all), "split at {at}");
        }
        let rest = encode(&all[1..]);
        assert_eq!(encode_before(&all, &encode::<&str, &str>(&[])), encode(&all));
        let none: [(&str, &str); 0] = [];
        assert_eq!(encode_before(&none, &rest), rest);
        // A broken `rest` adds nothing.
        assert_eq!(encode_before(&all[..1], &[9, 0, 0, 0, 1]), encode(&all[..1]));
        assert_eq!(encode_before(&all[..1], &[]), encode(&all[..1]));
    }

    #[test]
    fn trailing_bytes_are_rejected() {
        let mut bytes = encode(&[("a", "b")]);
        bytes.push(7);
        assert_eq!(decode(&bytes), Err(DecodeError::TrailingBytes));
    }

    #[test]
    fn absurd_counts_do_not_allocate() {
        assert_eq!(decode(&[0xff, 0xff, 0xff, 0xff]), Err(DecodeError::Truncated));
        let mut bytes = vec![0xff, 0xff, 0xff, 0x0f];
        bytes.extend_from_slice(&[0u8; 64]);
        assert_eq!(decode(&bytes), Err(DecodeError::Truncated));
    }

    #[test]
    fn lengths_that_overflow_are_rejected() {
        let mut bytes = vec![1, 0, 0, 0];
        bytes.extend_from_slice(&u32::MAX.to_le_bytes());
        bytes.extend_from_slice(&u32::MAX.to_le_bytes());
        bytes.extend_from_slice(b"a\0b\0");
        assert_eq!(decode(&bytes), Err(DecodeError::Truncated));
    }
}
