//! Finding values in JSON text without parsing it into values: where a value starts and
//! ends, the members of an object, the elements of an array.
//!
//! The text has been checked once ([`super::JsonDoc::parse`]), so the scanner only needs to
//! find boundaries; still, every step is bounds-checked and gives `None` rather than
//! panicking on text it does not expect.

use std::ops::Range;

/// The position after the whitespace that starts at `at`.
pub(super) fn skip_ws(text: &[u8], mut at: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = text.get(at) {
        at += 1;
    }
    at
}

/// The end (exclusive) of the string whose opening quote is at `at`.
fn skip_string(text: &[u8], at: usize) -> Option<usize> {
    let mut i = at + 1;
    loop {
        match text.get(i)? {
            b'"' => return Some(i + 1),
            b'\\' => i += 2,
            _ => i += 1,
        }
    }
}

/// The end (exclusive) of the value that starts at `at`.
pub(super) fn skip_value(text: &[u8], at: usize) -> Option<usize> {
    match text.get(at)? {
        b'"' => skip_string(text, at),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut i = at;
            loop {
                match text.get(i)? {
                    b'"' => {
                        i = skip_string(text, i)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth = depth.checked_sub(1)?;
                        if depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
        }
        _ => {
            let mut i = at;
            while let Some(byte) = text.get(i) {
                if matches!(byte, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                    break;
                }
                i += 1;
            }
            (i > at).then_some(i)
        }
    }
}

/// One member of an object: where its key (with the quotes) and its value are.
#[derive(Debug, Clone)]
pub(super) struct Member {
    pub key: Range<usize>,
    pub value: Range<usize>,
}

/// The members of the object whose `{` is at `at`, in order; `None` when there is no object.
pub(super) fn members(text: &[u8], at: usize) -> Option<Vec<Member>> {
    if text.get(at) != Some(&b'{') {
        return None;
    }
    let mut out = Vec::new();
    let mut i = skip_ws(text, at + 1);
    if text.get(i) == Some(&b'}') {
        return Some(out);
    }
    loop {
        if text.get(i) != Some(&b'"') {
            return None;
        }
        let key_end = skip_string(text, i)?;
        let colon = skip_ws(text, key_end);
        if text.get(colon) != Some(&b':') {
            return None;
        }
        let value_start = skip_ws(text, colon + 1);
        let value_end = skip_value(text, value_start)?;
        out.push(Member { key: i..key_end, value: value_start..value_end });
        let next = skip_ws(text, value_end);
        match text.get(next)? {
            b',' => i = skip_ws(text, next + 1),
            b'}' => return Some(out),
            _ => return None,
        }
    }
}

/// The elements of the array whose `[` is at `at`, in order; `None` when there is no array.
pub(super) fn elements(text: &[u8], at: usize) -> Option<Vec<Range<usize>>> {
    if text.get(at) != Some(&b'[') {
        return None;
    }
    let mut out = Vec::new();
    let mut i = skip_ws(text, at + 1);
    if text.get(i) == Some(&b']') {
        return Some(out);
    }
    loop {
        let end = skip_value(text, i)?;
        out.push(i..end);
        let next = skip_ws(text, end);
        match text.get(next)? {
            b',' => i = skip_ws(text, next + 1),
            b']' => return Some(out),
            _ => return None,
        }
    }
}

/// Whether the key token at `key` (with its quotes) is `name`. Keys without escapes (nearly
/// all) are compared as bytes; others are decoded first.
pub(super) fn key_is(text: &[u8], key: &Range<usize>, name: &str) -> bool {
    let Some(token) = text.get(key.clone()) else { return false };
    let inner = token.get(1..token.len().saturating_sub(1)).unwrap_or_default();
    if !inner.contains(&b'\\') {
        return inner == name.as_bytes();
    }
    serde_json::from_slice::<String>(token).is_ok_and(|decoded| decoded == name)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn values_end_where_they_end() {
        let text = br#"{"a": "x\"}", "b": [1, {"c": "]"}], "d": -1.5e3 , "e": null}"#;
        let m = members(text, 0).unwrap();
        let keys: Vec<&[u8]> = m.iter().map(|m| &text[m.key.clone()]).collect();
        assert_eq!(keys, [&b"\"a\""[..], b"\"b\"", b"\"d\"", b"\"e\""]);
        assert_eq!(&text[m[0].value.clone()], br#""x\"}""#);
        assert_eq!(&text[m[1].value.clone()], br#"[1, {"c": "]"}]"#);
        assert_eq!(&text[m[2].value.clone()], b"-1.5e3");
        assert_eq!(&text[m[3].value.clone()], b"null");
        let e = elements(text, m[1].value.start).unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(members(b"{ }", 0).unwrap().len(), 0);
        assert_eq!(elements(b"[ ]", 0).unwrap().len(), 0);
        assert!(members(b"[1]", 0).is_none());
    }

    #[test]
    fn escaped_keys_are_decoded() {
        let text = br#"{"mo\u0064el": 1}"#;
        let m = members(text, 0).unwrap();
        assert!(key_is(text, &m[0].key, "model"));
        assert!(!key_is(text, &m[0].key, "mode"));
    }

    #[test]
    fn truncated_text_gives_none() {
        for text in [&b"{\"a\": \"x"[..], b"{\"a\": [1, 2", b"{\"a\" 1}", b"{\"a\": 1 2}", b"{"] {
            assert!(members(text, 0).is_none(), "{}", String::from_utf8_lossy(text));
        }
        assert!(skip_value(b"]", 0).is_none());
    }
}
