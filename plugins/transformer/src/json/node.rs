//! A JSON document as an ordered tree. Objects keep their keys in order (serde_json's map
//! would sort them unless the workspace-wide `preserve_order` feature were on) and scalars
//! keep their text: a number or a string no rule touched is written back byte for byte.

/// Deepest nesting parsed; a deeper document is not transformed (as serde_json, which stops
/// at 128, so a crafted body cannot exhaust the wasm stack).
const MAX_DEPTH: usize = 128;

/// A JSON value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// `null`, `true`, `false`, a number, or a string with its quotes and escapes, as written.
    Scalar(String),
    /// An array.
    Array(Vec<Node>),
    /// An object: each key as written (quoted, escaped) with its value, in order.
    Object(Vec<(String, Node)>),
}

impl Node {
    /// `null`.
    pub fn null() -> Node {
        Node::Scalar("null".to_string())
    }

    /// A string value.
    pub fn string(text: &str) -> Node {
        Node::Scalar(quote(text))
    }

    /// The value as Go's `gjson.Result.String()` gives it: a string's text, `""` for null,
    /// any other value as JSON.
    pub fn text(&self) -> String {
        match self {
            Node::Scalar(raw) if raw.starts_with('"') => serde_json::from_str(raw).unwrap_or_default(),
            Node::Scalar(raw) if raw == "null" => String::new(),
            Node::Scalar(raw) => raw.clone(),
            _ => self.to_json(),
        }
    }

    /// The value as compact JSON.
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }

    fn write(&self, out: &mut String) {
        match self {
            Node::Scalar(raw) => out.push_str(raw),
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

/// Parses a whole JSON document (whitespace around it allowed); `None` when it is not one.
pub fn parse(text: &str) -> Option<Node> {
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
    fn since(&self, start: usize) -> Option<String> {
        self.text.get(start..self.at).map(str::to_string)
    }

    fn value(&mut self, depth: usize) -> Option<Node> {
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

    fn literal(&mut self, word: &str) -> Option<Node> {
        let end = self.at + word.len();
        (self.bytes.get(self.at..end)? == word.as_bytes()).then(|| {
            self.at = end;
            Node::Scalar(word.to_string())
        })
    }

    fn object(&mut self, depth: usize) -> Option<Node> {
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

    fn array(&mut self, depth: usize) -> Option<Node> {
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

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
}
