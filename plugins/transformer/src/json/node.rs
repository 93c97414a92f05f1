//! A JSON document as an ordered tree. Objects keep their keys in order (serde_json's map
//! would sort them unless the workspace-wide `preserve_order` feature were on) and scalars
//! keep their text: a number or a string no rule touched is written back byte for byte.
//!
//! A body is checked whole (it is transformed only when it is JSON), but an array or object
//! is split into nodes only when a path goes into it: until then it is its text
//! ([`Node::Unread`]), written back as it came but for the whitespace between tokens. Keys
//! and scalars borrow their text from the body. Building every node of a body, an
//! allocation or two apiece, was most of the cost of a body rule; the check is one pass
//! that allocates nothing, and a rule on one key splits only the containers on its path.

use higress_sdk::scan::word;
use std::borrow::Cow;

/// Deepest nesting parsed; a deeper document is not transformed (as serde_json, which stops
/// at 128, so a crafted body cannot exhaust the wasm stack).
const MAX_DEPTH: usize = 128;

/// A JSON value, borrowing its text from the document it was parsed from (`'a`).
#[derive(Debug, Clone)]
pub enum Node<'a> {
    /// `null`, `true`, `false`, a number, or a string with its quotes and escapes, as written.
    Scalar(Cow<'a, str>),
    /// An array.
    Array(Vec<Node<'a>>),
    /// An object: each key as written (quoted, escaped) with its value, in order.
    Object(Vec<(Cow<'a, str>, Node<'a>)>),
    /// An array or an object not split into nodes yet: its text (checked JSON) and whether
    /// that holds no whitespace between tokens (then it is written as it is).
    Unread { text: Cow<'a, str>, compact: bool },
}

/// Values are equal when their compact JSON is: an array still unread equals the same array
/// split into nodes, as it did when every body was split whole.
impl<'b> PartialEq<Node<'b>> for Node<'_> {
    fn eq(&self, other: &Node<'b>) -> bool {
        match (self, other) {
            (Node::Scalar(a), Node::Scalar(b)) => a == b,
            (Node::Scalar(_), _) | (_, Node::Scalar(_)) => false,
            _ => self.to_json() == other.to_json(),
        }
    }
}

impl Eq for Node<'_> {}

impl<'a> Node<'a> {
    /// `null`.
    pub fn null() -> Node<'a> {
        Node::Scalar(Cow::Borrowed("null"))
    }

    /// A string value.
    pub fn string(text: &str) -> Node<'a> {
        Node::Scalar(Cow::Owned(quote(text)))
    }

    /// The same value, owning its text (to keep it past the document, as a config value).
    pub fn into_owned(self) -> Node<'static> {
        match self {
            Node::Scalar(raw) => Node::Scalar(Cow::Owned(raw.into_owned())),
            Node::Array(items) => Node::Array(items.into_iter().map(Node::into_owned).collect()),
            Node::Object(entries) => Node::Object(
                entries.into_iter().map(|(key, value)| (Cow::Owned(key.into_owned()), value.into_owned())).collect(),
            ),
            Node::Unread { text, compact } => Node::Unread { text: Cow::Owned(text.into_owned()), compact },
        }
    }

    /// Splits an unread array or object into nodes, one level (its elements stay unread).
    pub fn unfold(&mut self) {
        if let Some(unfolded) = self.unfolded() {
            *self = unfolded;
        }
    }

    /// An unread array or object split into nodes, one level; `None` for any other value.
    pub fn unfolded(&self) -> Option<Node<'a>> {
        match self {
            Node::Unread { text: Cow::Borrowed(text), compact } => Some(unfold(text, *compact)),
            Node::Unread { text: Cow::Owned(text), compact } => Some(unfold(text, *compact).into_owned()),
            _ => None,
        }
    }

    /// The value with every array and object split into nodes, all the way down.
    #[cfg(test)]
    fn unfold_all(mut self) -> Node<'a> {
        self.unfold();
        match self {
            Node::Array(items) => Node::Array(items.into_iter().map(Node::unfold_all).collect()),
            Node::Object(entries) => Node::Object(entries.into_iter().map(|(k, v)| (k, v.unfold_all())).collect()),
            other => other,
        }
    }

    /// The value as Go's `gjson.Result.String()` gives it: a string's text, `""` for null,
    /// any other value as JSON.
    pub fn text(&self) -> String {
        match self {
            Node::Scalar(raw) if raw.starts_with('"') => serde_json::from_str(raw).unwrap_or_default(),
            Node::Scalar(raw) if raw == "null" => String::new(),
            Node::Scalar(raw) => raw.to_string(),
            _ => self.to_json(),
        }
    }

    /// The value as compact JSON.
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(self.size());
        self.write(&mut out);
        out
    }

    /// The length of the value's JSON, or a little more (unread text may hold whitespace):
    /// the output is allocated once.
    fn size(&self) -> usize {
        match self {
            Node::Scalar(raw) => raw.len(),
            Node::Unread { text, .. } => text.len(),
            Node::Array(items) => items.iter().map(|item| item.size() + 1).sum::<usize>() + 2,
            Node::Object(entries) => entries.iter().map(|(key, value)| key.len() + value.size() + 2).sum::<usize>() + 2,
        }
    }

    fn write(&self, out: &mut String) {
        match self {
            Node::Scalar(raw) => out.push_str(raw),
            Node::Unread { text, compact: true } => out.push_str(text),
            Node::Unread { text, compact: false } => write_compact(text, out),
            Node::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write(out);
                }
                out.push(']');
            }
            Node::Object(entries) => {
                out.push('{');
                for (i, (key, value)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(key);
                    out.push(':');
                    value.write(out);
                }
                out.push('}');
            }
        }
    }
}

/// `text` as a JSON string literal.
pub fn quote(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".to_string())
}

/// Whether the key `raw` (quoted, as written) is `name`.
pub fn key_is(raw: &str, name: &str) -> bool {
    let inner = raw.get(1..raw.len().saturating_sub(1)).unwrap_or_default();
    if inner.contains('\\') {
        serde_json::from_str::<String>(raw).is_ok_and(|key| key == name)
    } else {
        inner == name
    }
}

/// Parses a whole JSON document (whitespace around it allowed) into nodes all the way
/// down; `None` when it is not one. (The plugin reads lazily: this is the whole tree the
/// tests look into.)
#[cfg(test)]
pub fn parse(text: &str) -> Option<Node<'_>> {
    parse_lazily(text).map(Node::unfold_all)
}

/// Checks that `text` is a whole JSON document (whitespace around it allowed); its value,
/// an array or object split into its elements, which stay unread (see the module's doc).
/// `None` when it is not JSON.
pub fn parse_lazily(text: &str) -> Option<Node<'_>> {
    // The root's elements, as the check passes them: no second scan to find them. Whether
    // they are compact is known at the end.
    let (mut items, mut entries) = (Vec::new(), Vec::new());
    let (start, end, compact) = check(text.as_bytes(), |key, (from, to)| {
        let value = piece(text, from, to, false);
        match key {
            Some((key_from, key_to)) => {
                entries.push((Cow::Borrowed(text.get(key_from..key_to).unwrap_or_default()), value))
            }
            None => items.push(value),
        }
    })?;
    let elements = items.iter_mut().chain(entries.iter_mut().map(|(_, value)| value));
    for element in elements.filter(|_| compact) {
        if let Node::Unread { compact: known, .. } = element {
            *known = true;
        }
    }
    Some(match text.as_bytes().get(start) {
        Some(b'{') => Node::Object(entries),
        Some(b'[') => Node::Array(items),
        _ => piece(text, start, end, compact),
    })
}

/// The checked value of `text` from `from` to `to`: an array or object unread, or a scalar.
fn piece(text: &str, from: usize, to: usize, compact: bool) -> Node<'_> {
    let value = Cow::Borrowed(text.get(from..to).unwrap_or_default());
    match text.as_bytes().get(from) {
        Some(b'{' | b'[') => Node::Unread { text: value, compact },
        _ => Node::Scalar(value),
    }
}

/// Checks a JSON document, in one pass without recursion: where its value starts and ends
/// (whitespace around it is allowed) and whether the value is compact (no whitespace
/// between its tokens). Strings hold no raw control character and only JSON's escapes;
/// arrays and objects nest at most [`MAX_DEPTH`] deep. `element` gets each element of the
/// root array or object: its key's span (in an object) and its value's.
fn check(
    bytes: &[u8],
    mut element: impl FnMut(Option<(usize, usize)>, (usize, usize)),
) -> Option<(usize, usize, bool)> {
    let mut spaced = false;
    let start = skip_whitespace(bytes, 0);
    let mut at = start;
    // Whether the container at each depth (from 1) is an object.
    let mut objects = [false; MAX_DEPTH];
    let mut depth = 0;
    // The root's element being read: its key, where its value starts.
    let (mut key, mut from) = (None, 0);
    // An object's key comes before the value at `at` (read in one place, inlined).
    let mut key_next = false;
    'value: loop {
        if key_next {
            let end = match bytes.get(at) {
                Some(b'"') => string_end(bytes, at),
                _ => 0,
            };
            if end == 0 {
                return None;
            }
            if depth == 1 {
                key = Some((at, end));
            }
            let colon = skip_whitespace(bytes, end);
            if bytes.get(colon) != Some(&b':') {
                return None;
            }
            at = skip_whitespace(bytes, colon + 1);
            spaced |= colon != end || at != colon + 1;
        }
        // A value starts at `at`.
        if depth == 1 {
            from = at;
        }
        match *bytes.get(at)? {
            open @ (b'{' | b'[') => {
                // Deeper than MAX_DEPTH: no slot, not JSON here.
                *objects.get_mut(depth)? = open == b'{';
                depth += 1;
                let inside = skip_whitespace(bytes, at + 1);
                spaced |= inside != at + 1;
                at = inside;
                let close = if open == b'{' { b'}' } else { b']' };
                if bytes.get(at) != Some(&close) {
                    key_next = open == b'{';
                    continue 'value;
                }
                // Empty: closed at once.
                at += 1;
                depth -= 1;
            }
            b'"' => match string_end(bytes, at) {
                0 => return None,
                end => at = end,
            },
            b't' => at = literal(bytes, at, b"true")?,
            b'f' => at = literal(bytes, at, b"false")?,
            b'n' => at = literal(bytes, at, b"null")?,
            b'-' | b'0'..=b'9' => at = number_end(bytes, at)?,
            _ => return None,
        }
        // After a value: the next one, or the ends of containers.
        while depth > 0 {
            if depth == 1 {
                element(key, (from, at));
            }
            let next = skip_whitespace(bytes, at);
            spaced |= next != at;
            at = next;
            let in_object = objects.get(depth - 1).copied().unwrap_or_default();
            match *bytes.get(at)? {
                b',' => {
                    let next = skip_whitespace(bytes, at + 1);
                    spaced |= next != at + 1;
                    at = next;
                    key_next = in_object;
                    continue 'value;
                }
                b'}' if in_object => {}
                b']' if !in_object => {}
                _ => return None,
            }
            at += 1;
            depth -= 1;
        }
        break;
    }
    (skip_whitespace(bytes, at) == bytes.len()).then_some((start, at, !spaced))
}

fn skip_whitespace(bytes: &[u8], mut at: usize) -> usize {
    while matches!(bytes.get(at), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        at += 1;
    }
    at
}

/// The end of the string at `at` (its opening quote), checking its escapes and that it
/// holds no raw control character; 0 when it is not a string (one ends past its quote).
/// Read eight bytes at a time up to the next quote, backslash or control character: most
/// strings end within the first word.
fn string_end(bytes: &[u8], mut at: usize) -> usize {
    at += 1;
    loop {
        // Past the end, the word's padding reads as control characters: no end quote.
        let Some(rest) = bytes.get(at..) else { return 0 };
        let stops = stops(word(rest));
        if stops == 0 {
            at += 8;
            continue;
        }
        at += (stops.trailing_zeros() / 8) as usize;
        let escape = bytes.get(at + 1..).unwrap_or_default();
        at += match (bytes.get(at), escape) {
            (Some(b'"'), _) => return at + 1,
            (Some(b'\\'), [b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't', ..]) => 2,
            (Some(b'\\'), [b'u', hex @ ..]) if hex.get(..4).is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) => 6,
            _ => return 0,
        };
    }
}

const ONES: u64 = 0x0101_0101_0101_0101;
const LOWS: u64 = 0x7f7f_7f7f_7f7f_7f7f;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The high bit of the first byte of `word` (little-endian) that is a quote, a backslash or
/// below 0x20, and maybe of later bytes: only the lowest set bit is exact (a byte below
/// 0x20 borrows from the next in the subtraction), which is the one read.
fn stops(word: u64) -> u64 {
    let equal = |byte: u8| {
        let x = word ^ (ONES * u64::from(byte));
        !((x & LOWS).wrapping_add(LOWS) | x | LOWS)
    };
    equal(b'"') | equal(b'\\') | (word.wrapping_sub(ONES * 0x20) & !word & HIGHS)
}

fn literal(bytes: &[u8], at: usize, word: &[u8]) -> Option<usize> {
    let end = at + word.len();
    (bytes.get(at..end)? == word).then_some(end)
}

/// The end of the number at `at`: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
fn number_end(bytes: &[u8], mut at: usize) -> Option<usize> {
    if bytes.get(at) == Some(&b'-') {
        at += 1;
    }
    match *bytes.get(at)? {
        b'0' => at += 1,
        b'1'..=b'9' => at = digits_end(bytes, at),
        _ => return None,
    }
    if bytes.get(at) == Some(&b'.') {
        at = some_digits_end(bytes, at + 1)?;
    }
    if matches!(bytes.get(at), Some(b'e' | b'E')) {
        at += 1;
        if matches!(bytes.get(at), Some(b'+' | b'-')) {
            at += 1;
        }
        at = some_digits_end(bytes, at)?;
    }
    Some(at)
}

fn digits_end(bytes: &[u8], mut at: usize) -> usize {
    while matches!(bytes.get(at), Some(b'0'..=b'9')) {
        at += 1;
    }
    at
}

fn some_digits_end(bytes: &[u8], at: usize) -> Option<usize> {
    let end = digits_end(bytes, at);
    (end > at).then_some(end)
}

/// The nodes of the array or object `text` (checked by [`check`]), its elements unread.
fn unfold(text: &str, compact: bool) -> Node<'_> {
    let bytes = text.as_bytes();
    let object = bytes.first() == Some(&b'{');
    let (mut items, mut entries) = (Vec::new(), Vec::new());
    let mut at = skip_whitespace(bytes, 1);
    while !matches!(bytes.get(at), None | Some(b'}' | b']')) {
        if object {
            let key_end = skip_string(bytes, at);
            let key = text.get(at..key_end).unwrap_or_default();
            // The colon, and the whitespace around it.
            let value_at = skip_whitespace(bytes, skip_whitespace(bytes, key_end) + 1);
            let (value, end) = element(text, value_at, compact);
            entries.push((Cow::Borrowed(key), value));
            at = end;
        } else {
            let (value, end) = element(text, at, compact);
            items.push(value);
            at = end;
        }
        at = skip_whitespace(bytes, at);
        if bytes.get(at) == Some(&b',') {
            at = skip_whitespace(bytes, at + 1);
        }
    }
    match object {
        true => Node::Object(entries),
        false => Node::Array(items),
    }
}

/// The element of checked JSON at `at` (an array or object unread) and where it ends.
fn element(text: &str, at: usize, compact: bool) -> (Node<'_>, usize) {
    let bytes = text.as_bytes();
    let end = match bytes.get(at) {
        Some(b'{' | b'[') => container_end(bytes, at),
        Some(b'"') => skip_string(bytes, at),
        _ => bytes.iter().skip(at).position(|b| b",]} \t\n\r".contains(b)).map_or(bytes.len(), |n| at + n),
    };
    // Always past `at`, so unfolding moves on whatever the text.
    let end = end.max(at + 1).min(bytes.len());
    (piece(text, at, end, compact), end)
}

/// The end of the checked string at `at` (its opening quote).
fn skip_string(bytes: &[u8], mut at: usize) -> usize {
    at += 1;
    while let Some(&b) = bytes.get(at) {
        at += 1;
        if b == b'"' {
            return at;
        }
        if b == b'\\' {
            at += 1;
        }
    }
    bytes.len()
}

/// The end of the checked array or object at `at`. (`b | 0x20` folds `[` into `{` and `]`
/// into `}`, and no other byte into either: one test a byte for each.)
fn container_end(bytes: &[u8], mut at: usize) -> usize {
    let mut depth = 0usize;
    while let Some(&b) = bytes.get(at) {
        at += 1;
        if b == b'"' {
            at = skip_string(bytes, at - 1);
        } else if b | 0x20 == b'{' {
            depth += 1;
        } else if b | 0x20 == b'}' {
            depth = depth.saturating_sub(1);
            if depth == 0 {
                return at;
            }
        }
    }
    bytes.len()
}

/// Writes checked JSON without the whitespace between its tokens.
fn write_compact(text: &str, out: &mut String) {
    let bytes = text.as_bytes();
    let (mut from, mut at) = (0, 0);
    while let Some(&b) = bytes.get(at) {
        match b {
            b'"' => at = skip_string(bytes, at),
            b' ' | b'\t' | b'\n' | b'\r' => {
                out.push_str(text.get(from..at).unwrap_or_default());
                at += 1;
                from = at;
            }
            _ => at += 1,
        }
    }
    out.push_str(text.get(from..).unwrap_or_default());
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn keeps_order_and_text() {
        let text = "{\n  \"z\": 1.50, \"a\": [1e3, -0, \"\\u00e9\"], \"m\": {\"\\u0041\": null, \"b\": true}\n}";
        let node = parse(text).unwrap();
        assert_eq!(node.to_json(), r#"{"z":1.50,"a":[1e3,-0,"\u00e9"],"m":{"\u0041":null,"b":true}}"#);
        let Node::Object(entries) = &node else { panic!() };
        assert!(key_is(&entries[2].0, "m"));
        let Node::Object(inner) = &entries[2].1 else { panic!() };
        assert!(key_is(&inner[0].0, "A"), "escaped keys compare decoded");
        let Node::Array(items) = &entries[1].1 else { panic!() };
        assert_eq!(items[2].text(), "é");
        assert_eq!(items[0].text(), "1e3");
        assert_eq!(Node::null().text(), "");
        assert_eq!(entries[1].1.text(), r#"[1e3,-0,"\u00e9"]"#);
    }

    #[test]
    fn rejects_what_is_not_json() {
        for bad in [
            "",
            "{",
            "{\"a\":}",
            "[1,]",
            "{\"a\" 1}",
            "01",
            "1.",
            "-",
            "\"\t\"",
            "\"\\x\"",
            "\"\\u12\"",
            "tru",
            "{} x",
            "{'a':1}",
            "[1 2]",
            "\"open",
        ] {
            assert!(parse(bad).is_none(), "{bad:?}");
        }
        for good in ["0", " -1.5e+3 ", "\"\"", "[]", "{}", "[null,true,false]", "\"\\ud83d\\ude00\""] {
            assert!(parse(good).is_some(), "{good:?}");
        }
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        assert!(parse(&deep).is_some());
        let deeper = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
        assert!(parse(&deeper).is_none());
        let crafted = "{\"a\":".repeat(100_000);
        assert!(parse(&crafted).is_none());
    }

    #[test]
    fn strings_are_quoted_as_json() {
        assert_eq!(Node::string("a\"b\n").to_json(), r#""a\"b\n""#);
        assert_eq!(Node::string("a\"b\n").text(), "a\"b\n");
    }

    /// The recursive parser every body went through before bodies were read lazily: what
    /// the lazy reading must agree with.
    mod reference {
        use super::super::{Node, MAX_DEPTH};
        use std::borrow::Cow;

        /// Parses a whole JSON document (whitespace around it allowed); `None` when it is not one.
        pub fn parse(text: &str) -> Option<Node<'static>> {
            let mut parser = Parser { text, bytes: text.as_bytes(), at: 0 };
            parser.whitespace();
            let node = parser.value(0)?;
            parser.whitespace();
            (parser.at == parser.bytes.len()).then_some(node)
        }

        struct Parser<'a> {
            text: &'a str,
            bytes: &'a [u8],
            at: usize,
        }

        impl Parser<'_> {
            fn peek(&self) -> Option<u8> {
                self.bytes.get(self.at).copied()
            }

            fn eat(&mut self, byte: u8) -> bool {
                let found = self.peek() == Some(byte);
                if found {
                    self.at += 1;
                }
                found
            }

            fn whitespace(&mut self) {
                while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
                    self.at += 1;
                }
            }

            /// The text from `start` to here (cut at ASCII bytes, so always on a char boundary).
            fn since(&self, start: usize) -> Option<Cow<'static, str>> {
                self.text.get(start..self.at).map(|s| Cow::Owned(s.to_string()))
            }

            fn value(&mut self, depth: usize) -> Option<Node<'static>> {
                let start = self.at;
                match self.peek()? {
                    b'{' => self.object(depth + 1),
                    b'[' => self.array(depth + 1),
                    b'"' => {
                        self.string()?;
                        Some(Node::Scalar(self.since(start)?))
                    }
                    b't' => self.literal("true"),
                    b'f' => self.literal("false"),
                    b'n' => self.literal("null"),
                    b'-' | b'0'..=b'9' => {
                        self.number()?;
                        Some(Node::Scalar(self.since(start)?))
                    }
                    _ => None,
                }
            }

            fn literal(&mut self, word: &str) -> Option<Node<'static>> {
                let end = self.at + word.len();
                (self.bytes.get(self.at..end)? == word.as_bytes()).then(|| {
                    self.at = end;
                    Node::Scalar(Cow::Owned(word.to_string()))
                })
            }

            fn object(&mut self, depth: usize) -> Option<Node<'static>> {
                if depth > MAX_DEPTH {
                    return None;
                }
                self.at += 1;
                let mut entries = Vec::new();
                self.whitespace();
                if self.eat(b'}') {
                    return Some(Node::Object(entries));
                }
                loop {
                    self.whitespace();
                    let start = self.at;
                    if self.peek() != Some(b'"') {
                        return None;
                    }
                    self.string()?;
                    let key = self.since(start)?;
                    self.whitespace();
                    if !self.eat(b':') {
                        return None;
                    }
                    self.whitespace();
                    let value = self.value(depth)?;
                    entries.push((key, value));
                    self.whitespace();
                    if self.eat(b'}') {
                        return Some(Node::Object(entries));
                    }
                    if !self.eat(b',') {
                        return None;
                    }
                }
            }

            fn array(&mut self, depth: usize) -> Option<Node<'static>> {
                if depth > MAX_DEPTH {
                    return None;
                }
                self.at += 1;
                let mut items = Vec::new();
                self.whitespace();
                if self.eat(b']') {
                    return Some(Node::Array(items));
                }
                loop {
                    self.whitespace();
                    items.push(self.value(depth)?);
                    self.whitespace();
                    if self.eat(b']') {
                        return Some(Node::Array(items));
                    }
                    if !self.eat(b',') {
                        return None;
                    }
                }
            }

            /// Skips a string (at its opening quote), checking its escapes and that it holds no raw
            /// control character.
            fn string(&mut self) -> Option<()> {
                self.at += 1;
                loop {
                    match self.peek()? {
                        b'"' => {
                            self.at += 1;
                            return Some(());
                        }
                        b'\\' => {
                            self.at += 1;
                            match self.peek()? {
                                b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => self.at += 1,
                                b'u' => {
                                    self.at += 1;
                                    for _ in 0..4 {
                                        if !self.peek()?.is_ascii_hexdigit() {
                                            return None;
                                        }
                                        self.at += 1;
                                    }
                                }
                                _ => return None,
                            }
                        }
                        0..=0x1f => return None,
                        _ => self.at += 1,
                    }
                }
            }

            /// Skips a number: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
            fn number(&mut self) -> Option<()> {
                self.eat(b'-');
                match self.peek()? {
                    b'0' => self.at += 1,
                    b'1'..=b'9' => self.digits(),
                    _ => return None,
                }
                if self.eat(b'.') {
                    self.some_digits()?;
                }
                if self.eat(b'e') || self.eat(b'E') {
                    if !self.eat(b'+') {
                        self.eat(b'-');
                    }
                    self.some_digits()?;
                }
                Some(())
            }

            fn digits(&mut self) {
                while matches!(self.peek(), Some(b'0'..=b'9')) {
                    self.at += 1;
                }
            }

            fn some_digits(&mut self) -> Option<()> {
                let start = self.at;
                self.digits();
                (self.at > start).then_some(())
            }
        }
    }

    /// Numbers, literals and strings: escapes, non-ASCII text, strings longer than a word
    /// (eight bytes are checked at a time).
    fn scalar() -> impl Strategy<Value = String> {
        prop_oneof![
            prop_oneof![Just("null"), Just("true"), Just("false"), Just("0"), Just("-0"), Just("1.50"), Just("1e3")]
                .prop_map(String::from),
            prop_oneof![Just("-12.5E-3"), Just("42"), Just(r#""\u00e9\ud83d\ude00""#), Just(r#""a\"b\\c\/d\n""#)]
                .prop_map(String::from),
            "[a-z\"\\\\é/ ]{0,20}".prop_map(|s| quote(&s)),
        ]
    }

    fn spaces() -> impl Strategy<Value = &'static str> {
        prop_oneof![6 => Just(""), 1 => Just(" "), 1 => Just("\n\t ")]
    }

    /// JSON documents, with or without whitespace between tokens, duplicate and escaped keys.
    fn document() -> impl Strategy<Value = String> {
        let key = prop_oneof![Just(r#""a""#), Just(r#""b""#), Just(r#""l""#), Just(r#""\u0061""#), Just(r#""x.y""#)];
        scalar().prop_recursive(5, 48, 6, move |inner| {
            let element = (spaces(), inner.clone(), spaces()).prop_map(|(a, v, b)| format!("{a}{v}{b}"));
            let entry =
                (key.clone(), spaces(), inner, spaces()).prop_map(|(k, a, v, b)| format!("{a}{k}{b}:{a}{v}{b}"));
            prop_oneof![
                proptest::collection::vec(element, 0..5).prop_map(|items| format!("[{}]", items.join(","))),
                proptest::collection::vec(entry, 0..5).prop_map(|entries| format!("{{{}}}", entries.join(","))),
            ]
        })
    }

    /// A document with one byte changed: mostly not JSON any more.
    fn damaged() -> impl Strategy<Value = String> {
        (
            document(),
            any::<prop::sample::Index>(),
            prop::sample::select(vec!["", "\"", "\\", "{", "}", "[", "]", ",", ":", "\u{1}", "e", " "]),
        )
            .prop_map(|(text, at, with)| {
                let cut = text.char_indices().map(|(i, _)| i).nth(at.index(text.chars().count().max(1))).unwrap_or(0);
                let next = text[cut..].chars().next().map_or(cut, |c| cut + c.len_utf8());
                format!("{}{with}{}", &text[..cut], &text[next..])
            })
    }

    proptest! {
        #[test]
        fn lazy_reading_agrees_with_the_recursive_parser(text in prop_oneof![document(), damaged()]) {
            let expected = reference::parse(&text).map(|node| node.to_json());
            prop_assert_eq!(parse_lazily(&text).map(|node| node.to_json()), expected.clone(), "{}", text);
            prop_assert_eq!(parse(&text).map(|node| node.to_json()), expected, "{}", text);
        }
    }

    fn path() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec![
            "a", "b", "l", "a.b", "a.0", "l.1", "l.-1", "l.#", "l.#.a", "a.b.l", "x\\.y", "0", "0.a",
        ])
    }

    proptest! {
        /// A path operation gives the same answer and leaves the same document on a document
        /// read lazily as on one split into nodes whole.
        #[test]
        fn paths_agree_on_lazy_and_whole_documents(text in document(), path in path(), value in document(), op in 0..4u8) {
            use crate::json::{delete, get, get_mut, set, Path};
            let (Some(mut lazy), Some(mut whole)) = (parse_lazily(&text), parse(&text)) else { return Ok(()) };
            let (path, value) = (Path::parse(path), parse_lazily(&value).unwrap());
            let answer = |doc: &mut Node| match op {
                0 => get(doc, &path).map(|n| n.to_json()),
                1 => Some(set(doc, &path, &value).to_string()),
                2 => Some(delete(doc, &path).to_string()),
                // Split into nodes, as `dedupe` and `append` match on them.
                _ => get_mut(doc, &path).map(|n| format!("{} {}", matches!(n, Node::Array(_) | Node::Object(_)), n.to_json())),
            };
            prop_assert_eq!(answer(&mut lazy), answer(&mut whole), "{} at {:?}", text, path);
            prop_assert_eq!(lazy.to_json(), whole.to_json());
        }
    }

    #[test]
    fn closers_must_match_their_openers() {
        for bad in ["[1}", "{\"a\":1]", "[{]", "{\"a\":[}]", "[[]}", "{\"a\":{]}"] {
            assert!(parse_lazily(bad).is_none(), "{bad:?}");
            assert!(reference::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn unread_values_are_written_compact_and_compare_by_their_json() {
        let node = parse_lazily("{ \"a\" : [1, {\"b\" : \"x y\"}], \"c\":{}}").unwrap();
        let Node::Object(entries) = &node else { panic!() };
        assert!(matches!(&entries[0].1, Node::Unread { compact: false, .. }));
        assert_eq!(node.to_json(), r#"{"a":[1,{"b":"x y"}],"c":{}}"#);
        assert_eq!(entries[0].1, parse(r#"[1,{"b":"x y"}]"#).unwrap());
        assert_ne!(entries[0].1, parse(r#"[1,{"b":"x  y"}]"#).unwrap());
        assert_ne!(entries[1].1, Node::Scalar("{}".into()), "a scalar never equals a container");
        assert!(
            matches!(parse_lazily("[[1],2]").unwrap(), Node::Array(items) if matches!(items[0], Node::Unread { compact: true, .. }))
        );
        assert_eq!(parse_lazily(" 7 ").unwrap(), Node::Scalar("7".into()));
    }
}
