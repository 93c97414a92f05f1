//! RESP2, the Redis wire format: commands are encoded here by the SDK, and replies are
//! decoded by the SDK (values) and framed by the host (where one reply ends on the socket).
//!
//! Decoding never panics and never trusts a length: a truncated reply is `Incomplete`, a
//! malformed one `Invalid`, nesting is bounded, and allocations never exceed what the input
//! can hold.

use alloc::string::String;
use alloc::vec::Vec;

/// Deepest array nesting accepted (a hostile server cannot exhaust the stack).
pub const MAX_DEPTH: usize = 32;
/// Largest bulk string Redis itself allows (512 MiB).
pub const MAX_BULK: usize = 512 * 1024 * 1024;

/// One RESP2 value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// `+OK`
    Simple(String),
    /// `-ERR message`
    Error(String),
    /// `:42`
    Integer(i64),
    /// `$3\r\nabc`
    Bulk(Vec<u8>),
    /// `$-1` or `*-1`
    Nil,
    /// `*2\r\n...`
    Array(Vec<Value>),
}

impl Value {
    /// The value as text: simple strings, bulk strings (lossy UTF-8) and integers.
    pub fn as_string(&self) -> Option<String> {
        match self {
            Value::Simple(s) => Some(s.clone()),
            Value::Bulk(b) => Some(String::from_utf8_lossy(b).into_owned()),
            Value::Integer(i) => Some(alloc::format!("{i}")),
            _ => None,
        }
    }

    /// The value as an integer: integers, and strings holding one.
    pub fn as_integer(&self) -> Option<i64> {
        match self {
            Value::Integer(i) => Some(*i),
            Value::Simple(s) => s.parse().ok(),
            Value::Bulk(b) => core::str::from_utf8(b).ok()?.parse().ok(),
            _ => None,
        }
    }

    /// The elements of an array.
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::Array(items) => Some(items),
            _ => None,
        }
    }

    /// Whether this is the nil reply.
    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Nil)
    }
}

/// Why bytes are not one RESP value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// More bytes are needed.
    Incomplete,
    /// The bytes are not RESP.
    Invalid(&'static str),
}

impl core::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            DecodeError::Incomplete => f.write_str("truncated RESP reply"),
            DecodeError::Invalid(why) => write!(f, "malformed RESP reply: {why}"),
        }
    }
}

/// Encodes a command as an array of bulk strings (what Redis expects from clients).
pub fn encode_command<A: AsRef<[u8]>>(args: &[A]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + args.iter().map(|a| a.as_ref().len() + 16).sum::<usize>());
    out.push(b'*');
    push_decimal(&mut out, args.len() as i64);
    out.extend_from_slice(b"\r\n");
    for arg in args {
        let arg = arg.as_ref();
        out.push(b'$');
        push_decimal(&mut out, arg.len() as i64);
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Encodes a value (used by tests and by hosts answering calls by hand).
pub fn encode(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    encode_into(value, &mut out);
    out
}

fn encode_into(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Simple(s) => line(out, b'+', s.as_bytes()),
        Value::Error(s) => line(out, b'-', s.as_bytes()),
        Value::Integer(i) => {
            out.push(b':');
            push_decimal(out, *i);
            out.extend_from_slice(b"\r\n");
        }
        Value::Bulk(b) => {
            out.push(b'$');
            push_decimal(out, b.len() as i64);
            out.extend_from_slice(b"\r\n");
            out.extend_from_slice(b);
            out.extend_from_slice(b"\r\n");
        }
        Value::Nil => out.extend_from_slice(b"$-1\r\n"),
        Value::Array(items) => {
            out.push(b'*');
            push_decimal(out, items.len() as i64);
            out.extend_from_slice(b"\r\n");
            for item in items {
                encode_into(item, out);
            }
        }
    }
}

fn line(out: &mut Vec<u8>, kind: u8, text: &[u8]) {
    out.push(kind);
    out.extend(text.iter().map(|b| if *b == b'\r' || *b == b'\n' { b' ' } else { *b }));
    out.extend_from_slice(b"\r\n");
}

fn push_decimal(out: &mut Vec<u8>, n: i64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let negative = n < 0;
    let mut v = n.unsigned_abs();
    loop {
        i -= 1;
        if let Some(slot) = buf.get_mut(i) {
            *slot = b'0' + (v % 10) as u8;
        }
        v /= 10;
        if v == 0 || i == 0 {
            break;
        }
    }
    if negative {
        out.push(b'-');
    }
    out.extend_from_slice(buf.get(i..).unwrap_or_default());
}

/// Decodes the first value of `bytes`; returns it with the number of bytes it took.
pub fn decode(bytes: &[u8]) -> Result<(Value, usize), DecodeError> {
    let mut pos = 0;
    let value = parse(bytes, &mut pos, 0, true)?.unwrap_or(Value::Nil);
    Ok((value, pos))
}

/// Decodes `bytes` as exactly one value (a callout reply): trailing bytes are an error.
pub fn decode_exact(bytes: &[u8]) -> Result<Value, DecodeError> {
    let (value, used) = decode(bytes)?;
    if used != bytes.len() {
        return Err(DecodeError::Invalid("trailing bytes after the reply"));
    }
    Ok(value)
}

/// Length of the first complete value in `bytes`, without building it; `Ok(None)` while it
/// is incomplete. Hosts use this to cut replies out of a socket stream.
pub fn frame_len(bytes: &[u8]) -> Result<Option<usize>, DecodeError> {
    let mut pos = 0;
    match parse(bytes, &mut pos, 0, false) {
        Ok(_) => Ok(Some(pos)),
        Err(DecodeError::Incomplete) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Parses one value at `pos`; builds it only when `build` is set.
fn parse(bytes: &[u8], pos: &mut usize, depth: usize, build: bool) -> Result<Option<Value>, DecodeError> {
    if depth > MAX_DEPTH {
        return Err(DecodeError::Invalid("arrays nested too deeply"));
    }
    let kind = *bytes.get(*pos).ok_or(DecodeError::Incomplete)?;
    *pos += 1;
    match kind {
        b'+' | b'-' => {
            let text = read_line(bytes, pos)?;
            let text = String::from_utf8_lossy(text).into_owned();
            Ok(build.then_some(if kind == b'+' { Value::Simple(text) } else { Value::Error(text) }))
        }
        b':' => {
            let n = parse_int(read_line(bytes, pos)?)?;
            Ok(build.then_some(Value::Integer(n)))
        }
        b'$' => {
            let len = parse_int(read_line(bytes, pos)?)?;
            if len == -1 {
                return Ok(build.then_some(Value::Nil));
            }
            let len = usize::try_from(len).map_err(|_| DecodeError::Invalid("negative bulk length"))?;
            if len > MAX_BULK {
                return Err(DecodeError::Invalid("bulk string too long"));
            }
            let end = pos.checked_add(len).ok_or(DecodeError::Invalid("bulk length overflows"))?;
            let data = bytes.get(*pos..end).ok_or(DecodeError::Incomplete)?;
            match bytes.get(end..end + 2) {
                Some(b"\r\n") => {}
                Some(_) => return Err(DecodeError::Invalid("bulk string not followed by CRLF")),
                None => return Err(DecodeError::Incomplete),
            }
            let value = build.then(|| Value::Bulk(data.to_vec()));
            *pos = end + 2;
            Ok(value)
        }
        b'*' => {
            let count = parse_int(read_line(bytes, pos)?)?;
            if count == -1 {
                return Ok(build.then_some(Value::Nil));
            }
            let count = usize::try_from(count).map_err(|_| DecodeError::Invalid("negative array length"))?;
            // Every element takes at least 3 bytes: never reserve more than the input holds.
            let room = bytes.len().saturating_sub(*pos) / 3;
            let mut items = if build { Vec::with_capacity(count.min(room)) } else { Vec::new() };
            for _ in 0..count {
                if let Some(item) = parse(bytes, pos, depth + 1, build)? {
                    items.push(item);
                }
            }
            Ok(build.then_some(Value::Array(items)))
        }
        _ => Err(DecodeError::Invalid("unknown type byte")),
    }
}

fn read_line<'a>(bytes: &'a [u8], pos: &mut usize) -> Result<&'a [u8], DecodeError> {
    let rest = bytes.get(*pos..).ok_or(DecodeError::Incomplete)?;
    for (i, b) in rest.iter().enumerate() {
        match b {
            b'\r' => {
                return match rest.get(i + 1) {
                    Some(b'\n') => {
                        *pos += i + 2;
                        Ok(rest.get(..i).unwrap_or_default())
                    }
                    Some(_) => Err(DecodeError::Invalid("CR not followed by LF")),
                    None => Err(DecodeError::Incomplete),
                };
            }
            b'\n' => return Err(DecodeError::Invalid("LF without CR")),
            _ => {}
        }
    }
    Err(DecodeError::Incomplete)
}

fn parse_int(text: &[u8]) -> Result<i64, DecodeError> {
    let (negative, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    if digits.is_empty() {
        return Err(DecodeError::Invalid("empty integer"));
    }
    // Accumulate toward the sign so i64::MIN parses.
    let mut n: i64 = 0;
    for d in digits {
        if !d.is_ascii_digit() {
            return Err(DecodeError::Invalid("invalid integer"));
        }
        let digit = i64::from(d - b'0');
        let next = n.checked_mul(10).and_then(|n| if negative { n.checked_sub(digit) } else { n.checked_add(digit) });
        n = next.ok_or(DecodeError::Invalid("integer overflows"))?;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn bulk(s: &str) -> Value {
        Value::Bulk(s.as_bytes().to_vec())
    }

    #[test]
    fn commands_are_arrays_of_bulk_strings() {
        assert_eq!(encode_command(&["SET", "k", "v"]), b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n".to_vec());
        assert_eq!(encode_command::<&str>(&[]), b"*0\r\n".to_vec());
        assert_eq!(encode_command(&[&b"a\r\nb"[..]]), b"*1\r\n$4\r\na\r\nb\r\n".to_vec());
    }

    #[test]
    fn every_reply_type() {
        assert_eq!(decode_exact(b"+OK\r\n"), Ok(Value::Simple("OK".into())));
        assert_eq!(decode_exact(b"-ERR bad\r\n"), Ok(Value::Error("ERR bad".into())));
        assert_eq!(decode_exact(b":-42\r\n"), Ok(Value::Integer(-42)));
        assert_eq!(decode_exact(b"$5\r\nhello\r\n"), Ok(bulk("hello")));
        assert_eq!(decode_exact(b"$0\r\n\r\n"), Ok(bulk("")));
        assert_eq!(decode_exact(b"$-1\r\n"), Ok(Value::Nil));
        assert_eq!(decode_exact(b"*-1\r\n"), Ok(Value::Nil));
        assert_eq!(decode_exact(b"*0\r\n"), Ok(Value::Array(vec![])));
        assert_eq!(
            decode_exact(b"*3\r\n:1\r\n*2\r\n$1\r\na\r\n$-1\r\n+x\r\n"),
            Ok(Value::Array(vec![
                Value::Integer(1),
                Value::Array(vec![bulk("a"), Value::Nil]),
                Value::Simple("x".into())
            ]))
        );
    }

    #[test]
    fn bulk_strings_may_hold_crlf_and_binary() {
        assert_eq!(decode_exact(b"$4\r\na\r\n\0\r\n"), Ok(Value::Bulk(b"a\r\n\0".to_vec())));
    }

    #[test]
    fn every_truncation_is_incomplete() {
        let reply = b"*3\r\n:1\r\n*2\r\n$5\r\nhello\r\n$-1\r\n-ERR x\r\n";
        assert!(decode_exact(reply).is_ok());
        for cut in 0..reply.len() {
            assert_eq!(decode(&reply[..cut]).err(), Some(DecodeError::Incomplete), "cut at {cut}");
            assert_eq!(frame_len(&reply[..cut]), Ok(None));
        }
        assert_eq!(frame_len(reply), Ok(Some(reply.len())));
    }

    #[test]
    fn malformed_input_is_rejected() {
        for bad in [
            &b"?x\r\n"[..],
            b"+OK\n",
            b":12a\r\n",
            b":\r\n",
            b"$3\r\nabcX\r\n",
            b"$-5\r\n",
            b"*-2\r\n",
            b":99999999999999999999\r\n",
            b"+a\rb\r\n",
            b"$999999999999\r\n",
        ] {
            assert!(matches!(decode(bad), Err(DecodeError::Invalid(_))), "{:?} accepted", bad);
        }
        assert_eq!(decode_exact(b"+OK\r\n+OK\r\n"), Err(DecodeError::Invalid("trailing bytes after the reply")));
    }

    #[test]
    fn deep_nesting_is_bounded() {
        let mut deep = Vec::new();
        for _ in 0..100 {
            deep.extend_from_slice(b"*1\r\n");
        }
        deep.extend_from_slice(b":1\r\n");
        assert_eq!(decode(&deep), Err(DecodeError::Invalid("arrays nested too deeply")));
    }

    #[test]
    fn huge_counts_do_not_allocate() {
        assert_eq!(decode(b"*2147483647\r\n:1\r\n"), Err(DecodeError::Incomplete));
    }

    #[test]
    fn encode_round_trips() {
        let value = Value::Array(vec![
            Value::Integer(i64::MIN),
            Value::Integer(0),
            bulk("x"),
            Value::Error("E".into()),
            Value::Nil,
        ]);
        assert_eq!(decode_exact(&encode(&value)), Ok(value));
    }

    #[test]
    fn value_accessors() {
        assert_eq!(bulk("12").as_integer(), Some(12));
        assert_eq!(Value::Integer(3).as_string().as_deref(), Some("3"));
        assert!(Value::Nil.is_nil());
        assert_eq!(Value::Array(vec![Value::Nil]).as_array().map(|a| a.len()), Some(1));
    }
}
