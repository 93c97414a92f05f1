//! AWS's binary event stream (`application/vnd.amazon.eventstream`), in which Bedrock's
//! `converse-stream` answers: frames written (the mock's) and read back (tests, and a suite
//! that looks at the mock's bytes).
//!
//! A frame is its total length (u32 big-endian), the length of its headers (u32 BE), a CRC32
//! of those 8 bytes (the prelude), the headers, the payload and a CRC32 of everything before
//! it. A header is its name's length (u8), the name, a value type (u8) and the value: 0 true
//! and 1 false (no bytes), 2 a byte, 3 an i16, 4 an i32, 5 an i64, 6 bytes and 7 a string
//! (each a u16 BE length then the bytes), 8 a timestamp (i64 milliseconds), 9 a UUID (16
//! bytes). Bedrock's events carry three strings: `:event-type` (`messageStart`,
//! `contentBlockDelta`, ...), `:content-type` `application/json` and `:message-type` `event`;
//! its exceptions `:exception-type` (`throttlingException`, ...), `:content-type` and
//! `:message-type` `exception`, with `{"message": ...}` as the payload.

/// The content type of an event stream.
pub const CONTENT_TYPE: &str = "application/vnd.amazon.eventstream";

/// The prelude: two lengths and their CRC.
const PRELUDE: usize = 12;

/// A header value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Bool(bool),
    /// A byte, i16, i32 or i64.
    Int(i64),
    Bytes(Vec<u8>),
    String(String),
    /// Milliseconds since the epoch.
    Timestamp(i64),
    Uuid([u8; 16]),
}

/// A frame read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub headers: Vec<(String, Value)>,
    pub payload: Vec<u8>,
}

impl Frame {
    /// The string header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).and_then(|(_, v)| match v {
            Value::String(s) => Some(s.as_str()),
            _ => None,
        })
    }

    /// The payload as JSON (`Null` when it is not).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.payload).unwrap_or_default()
    }
}

/// A frame of string headers and `payload`.
pub fn frame(headers: &[(&str, &str)], payload: &[u8]) -> Vec<u8> {
    let mut encoded = Vec::new();
    for (name, value) in headers {
        let name = name.as_bytes();
        encoded.push(u8::try_from(name.len()).unwrap_or(u8::MAX));
        encoded.extend_from_slice(name.get(..usize::from(u8::MAX)).unwrap_or(name));
        encoded.push(7);
        let value = value.as_bytes();
        let len = u16::try_from(value.len()).unwrap_or(u16::MAX);
        encoded.extend_from_slice(&len.to_be_bytes());
        encoded.extend_from_slice(value.get(..usize::from(len)).unwrap_or(value));
    }
    let total = PRELUDE + encoded.len() + payload.len() + 4;
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&u32::try_from(total).unwrap_or(u32::MAX).to_be_bytes());
    out.extend_from_slice(&u32::try_from(encoded.len()).unwrap_or(u32::MAX).to_be_bytes());
    let prelude_crc = crc32fast::hash(&out);
    out.extend_from_slice(&prelude_crc.to_be_bytes());
    out.extend_from_slice(&encoded);
    out.extend_from_slice(payload);
    let message_crc = crc32fast::hash(&out);
    out.extend_from_slice(&message_crc.to_be_bytes());
    out
}

/// An event frame: `:event-type` `event_type`, a JSON payload.
pub fn event(event_type: &str, payload: &serde_json::Value) -> Vec<u8> {
    frame(
        &[(":event-type", event_type), (":content-type", "application/json"), (":message-type", "event")],
        payload.to_string().as_bytes(),
    )
}

/// An exception frame: `:exception-type` `exception_type`, payload `{"message": message}`.
pub fn exception(exception_type: &str, message: &str) -> Vec<u8> {
    frame(
        &[(":exception-type", exception_type), (":content-type", "application/json"), (":message-type", "exception")],
        serde_json::json!({ "message": message }).to_string().as_bytes(),
    )
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    bytes.get(at..at + 4).and_then(|b| b.try_into().ok()).map(u32::from_be_bytes)
}

/// Reads every frame of `bytes`, checking lengths and both CRCs; the error says where and
/// what is wrong.
pub fn decode(bytes: &[u8]) -> Result<Vec<Frame>, String> {
    let mut frames = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let rest = &bytes[at..];
        let (Some(total), Some(headers_len), Some(prelude_crc)) = (u32_at(rest, 0), u32_at(rest, 4), u32_at(rest, 8))
        else {
            return Err(format!("frame at {at}: {} bytes, a prelude is {PRELUDE}", rest.len()));
        };
        if crc32fast::hash(&rest[..8]) != prelude_crc {
            return Err(format!("frame at {at}: prelude CRC {prelude_crc:#010x} does not match"));
        }
        let (total, headers_len) = (total as usize, headers_len as usize);
        if total < PRELUDE + 4 || PRELUDE + headers_len + 4 > total {
            return Err(format!("frame at {at}: total {total} cannot hold {headers_len} bytes of headers"));
        }
        let Some(whole) = rest.get(..total) else {
            return Err(format!("frame at {at}: {total} bytes announced, {} left", rest.len()));
        };
        let message_crc = u32_at(whole, total - 4).unwrap_or_default();
        if crc32fast::hash(&whole[..total - 4]) != message_crc {
            return Err(format!("frame at {at}: message CRC {message_crc:#010x} does not match"));
        }
        let headers =
            decode_headers(&whole[PRELUDE..PRELUDE + headers_len]).map_err(|e| format!("frame at {at}: {e}"))?;
        frames.push(Frame { headers, payload: whole[PRELUDE + headers_len..total - 4].to_vec() });
        at += total;
    }
    Ok(frames)
}

fn decode_headers(mut bytes: &[u8]) -> Result<Vec<(String, Value)>, String> {
    fn take<'b>(bytes: &mut &'b [u8], n: usize) -> Result<&'b [u8], String> {
        let (head, tail) = bytes.split_at_checked(n).ok_or("a header is cut short")?;
        *bytes = tail;
        Ok(head)
    }
    fn int(bytes: &mut &[u8], n: usize) -> Result<i64, String> {
        let raw = take(bytes, n)?;
        let mut padded = if raw.first().is_some_and(|b| b & 0x80 != 0) { [0xff; 8] } else { [0; 8] };
        padded[8 - n..].copy_from_slice(raw);
        Ok(i64::from_be_bytes(padded))
    }
    let mut headers = Vec::new();
    while !bytes.is_empty() {
        let name_len = usize::from(take(&mut bytes, 1)?[0]);
        let name = String::from_utf8(take(&mut bytes, name_len)?.to_vec()).map_err(|_| "a header name is not UTF-8")?;
        let value = match take(&mut bytes, 1)?[0] {
            0 => Value::Bool(true),
            1 => Value::Bool(false),
            2 => Value::Int(int(&mut bytes, 1)?),
            3 => Value::Int(int(&mut bytes, 2)?),
            4 => Value::Int(int(&mut bytes, 4)?),
            5 => Value::Int(int(&mut bytes, 8)?),
            kind @ (6 | 7) => {
                let len = usize::try_from(int(&mut bytes, 2)? & 0xffff).unwrap_or_default();
                let raw = take(&mut bytes, len)?.to_vec();
                match kind {
                    6 => Value::Bytes(raw),
                    _ => Value::String(String::from_utf8(raw).map_err(|_| "a string header is not UTF-8")?),
                }
            }
            8 => Value::Timestamp(int(&mut bytes, 8)?),
            9 => Value::Uuid(take(&mut bytes, 16)?.try_into().map_err(|_| "a UUID is cut short")?),
            other => return Err(format!("header {name}: value type {other}")),
        };
        headers.push((name, value));
    }
    Ok(headers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn frames_carry_their_lengths_and_checksums() {
        let bytes = event("messageStart", &json!({"p": "abcd", "role": "assistant"}));
        let payload = br#"{"p":"abcd","role":"assistant"}"#;
        let headers_len = (1 + 11 + 1 + 2 + 12) + (1 + 13 + 1 + 2 + 16) + (1 + 13 + 1 + 2 + 5);
        assert_eq!(u32_at(&bytes, 0), Some((12 + headers_len + payload.len() + 4) as u32));
        assert_eq!(u32_at(&bytes, 4), Some(headers_len as u32));
        assert_eq!(bytes.len(), 12 + headers_len + payload.len() + 4);
        // The CRCs: CRC-32 (IEEE) of the 8 bytes of lengths, then of everything before the last 4.
        assert_eq!(u32_at(&bytes, 8), Some(crc32fast::hash(&bytes[..8])));
        assert_eq!(u32_at(&bytes, bytes.len() - 4), Some(crc32fast::hash(&bytes[..bytes.len() - 4])));
        assert_eq!(&bytes[12..13], &[11]);
        assert_eq!(&bytes[13..24], b":event-type");
        assert_eq!(&bytes[24..27], &[7, 0, 12]);
        assert_eq!(&bytes[bytes.len() - 4 - payload.len()..bytes.len() - 4], payload);
        let frames = decode(&bytes).unwrap();
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].header(":event-type"), Some("messageStart"));
        assert_eq!(frames[0].header(":message-type"), Some("event"));
        assert_eq!(frames[0].json()["role"], "assistant");
    }

    #[test]
    fn a_known_frame_and_crc() {
        // The CRC-32 check value of "123456789" is 0xCBF43926. AWS's event stream test suite's
        // `empty_message` is `AAAAEAAAAAAFwkjrfZjI/w==`: the prelude (16, 0, CRC 0x05c248eb) and
        // the message CRC 0x7d98c8ff.
        assert_eq!(crc32fast::hash(b"123456789"), 0xcbf4_3926);
        let empty = frame(&[], b"");
        assert_eq!(empty, [0, 0, 0, 0x10, 0, 0, 0, 0, 0x05, 0xc2, 0x48, 0xeb, 0x7d, 0x98, 0xc8, 0xff]);
        assert_eq!(decode(&empty).unwrap(), vec![Frame { headers: vec![], payload: vec![] }]);
    }

    #[test]
    fn exceptions_and_broken_frames() {
        let mut bytes = event("messageStart", &json!({"role": "assistant"}));
        bytes.extend(exception("throttlingException", "Too many tokens"));
        let frames = decode(&bytes).unwrap();
        assert_eq!(frames[1].header(":message-type"), Some("exception"));
        assert_eq!(frames[1].header(":exception-type"), Some("throttlingException"));
        assert_eq!(frames[1].json(), json!({"message": "Too many tokens"}));
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        assert!(decode(&bytes).unwrap_err().contains("message CRC"));
        let mut prelude = frame(&[], b"x");
        prelude[3] ^= 1;
        assert!(decode(&prelude).unwrap_err().contains("prelude CRC"));
        assert!(decode(&frame(&[], b"xyz")[..10]).unwrap_err().contains("prelude"));
        let whole = frame(&[], b"xyz");
        assert!(decode(&whole[..whole.len() - 1]).unwrap_err().contains("announced"));
    }

    #[test]
    fn every_header_type_is_read() {
        let mut headers = Vec::new();
        let mut push = |name: &str, kind: u8, value: &[u8]| {
            headers.push(name.len() as u8);
            headers.extend_from_slice(name.as_bytes());
            headers.push(kind);
            headers.extend_from_slice(value);
        };
        push("t", 0, &[]);
        push("f", 1, &[]);
        push("b", 2, &[0xff]);
        push("s", 3, &[0x01, 0x00]);
        push("i", 4, &[0, 0, 0, 7]);
        push("l", 5, &[0xff; 8]);
        push("y", 6, &[0, 2, 1, 2]);
        push("z", 7, &[0, 2, b'h', b'i']);
        push("ts", 8, &1_000i64.to_be_bytes());
        push("u", 9, &[3; 16]);
        let total = 12 + headers.len() + 4;
        let mut bytes = (total as u32).to_be_bytes().to_vec();
        bytes.extend_from_slice(&(headers.len() as u32).to_be_bytes());
        bytes.extend_from_slice(&crc32fast::hash(&bytes).to_be_bytes());
        bytes.extend_from_slice(&headers);
        bytes.extend_from_slice(&crc32fast::hash(&bytes).to_be_bytes());
        let frame = decode(&bytes).unwrap().remove(0);
        let values: Vec<Value> = frame.headers.into_iter().map(|(_, v)| v).collect();
        assert_eq!(
            values,
            vec![
                Value::Bool(true),
                Value::Bool(false),
                Value::Int(-1),
                Value::Int(256),
                Value::Int(7),
                Value::Int(-1),
                Value::Bytes(vec![1, 2]),
                Value::String("hi".into()),
                Value::Timestamp(1000),
                Value::Uuid([3; 16]),
            ]
        );
    }
}
