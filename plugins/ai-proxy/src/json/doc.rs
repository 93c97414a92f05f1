//! A JSON body read and changed where it stands.

use super::scan::{elements, key_is, members, skip_value, skip_ws};
use higress_ai::scan::{self as tokens, write_str, Json, Kind, Token};
use serde_json::Value;
use std::borrow::Cow;
use std::ops::Range;

/// A JSON object held as its text. Reads find values by scanning; writes splice new text in
/// place of the old, so what is not written keeps its bytes.
///
/// The text is read into tokens once (`higress_ai::scan`, which checks it as it goes): reads
/// then find a value by walking the tokens, not the bytes. A value replaced by a scalar
/// keeps the tokens up to date; after any other write, reads scan the text.
#[derive(Debug, Clone)]
pub struct JsonDoc {
    text: Vec<u8>,
    changed: bool,
    /// The text's tokens while they describe it.
    tokens: Option<Vec<Token>>,
}

impl JsonDoc {
    /// `text` if it is one JSON object (the whole of it checked once, here); else why not.
    pub fn parse(text: &[u8]) -> Result<JsonDoc, String> {
        // The tokenizer takes a subset of what serde_json takes (no exponents, for one):
        // what it does not take, serde_json judges (and names what is wrong).
        let mut read = Vec::new();
        let tokens = match Json::parse(text, &mut read) {
            Some(_) => Some(read),
            None => {
                serde_json::from_slice::<serde::de::IgnoredAny>(text)
                    .map_err(|e| format!("the body is not JSON: {e}"))?;
                None
            }
        };
        if text.get(skip_ws(text, 0)) != Some(&b'{') {
            return Err("the body is not a JSON object".into());
        }
        Ok(JsonDoc { text: text.to_vec(), changed: false, tokens })
    }

    /// Whether a write changed the text.
    pub fn changed(&self) -> bool {
        self.changed
    }

    /// The text.
    pub fn as_bytes(&self) -> &[u8] {
        &self.text
    }

    /// The text, for sending.
    pub fn into_bytes(self) -> Vec<u8> {
        self.text
    }

    /// The text's tokens, while they describe it.
    fn json(&self) -> Option<Json<'_>> {
        self.tokens.as_deref().map(|tokens| Json::of(&self.text, tokens))
    }

    /// Where the value at `path` is: object keys, and array indexes as decimal numbers.
    fn find(&self, path: &[&str]) -> Option<Range<usize>> {
        if let Some(json) = self.json() {
            let mut index = 0;
            for segment in path {
                index = child_token(&json, index, segment)?;
            }
            return Some(json.token(index)?.range());
        }
        let start = skip_ws(&self.text, 0);
        let mut range = start..skip_value(&self.text, start)?;
        for segment in path {
            range = self.child(range.start, segment)?;
        }
        Some(range)
    }

    /// The member `segment` of the object at `at`, or element `segment` of the array there.
    fn child(&self, at: usize, segment: &str) -> Option<Range<usize>> {
        if let Some(json) = self.json() {
            let index = child_token(&json, json.at(at)?, segment)?;
            return Some(json.token(index)?.range());
        }
        match self.text.get(at)? {
            b'{' => members(&self.text, at)?.into_iter().find(|m| key_is(&self.text, &m.key, segment)).map(|m| m.value),
            b'[' => elements(&self.text, at)?.into_iter().nth(segment.parse().ok()?),
            _ => None,
        }
    }

    /// The text of the value at `path`.
    pub fn raw(&self, path: &[&str]) -> Option<&[u8]> {
        self.text.get(self.find(path)?)
    }

    /// Whether `path` is there (`null` counts, as gjson's `Exists`).
    pub fn exists(&self, path: &[&str]) -> bool {
        self.find(path).is_some()
    }

    /// The value at `path`, parsed.
    pub fn value(&self, path: &[&str]) -> Option<Value> {
        serde_json::from_slice(self.raw(path)?).ok()
    }

    /// The string at `path` (`None` for anything else).
    pub fn str(&self, path: &[&str]) -> Option<String> {
        if let Some(json) = self.json() {
            let range = self.find(path)?;
            return json.str(json.at(range.start)?).map(Cow::into_owned);
        }
        let raw = self.raw(path)?;
        if raw.first() != Some(&b'"') {
            return None;
        }
        serde_json::from_slice(raw).ok()
    }

    /// The boolean at `path`.
    pub fn bool(&self, path: &[&str]) -> Option<bool> {
        match self.raw(path)? {
            b"true" => Some(true),
            b"false" => Some(false),
            _ => None,
        }
    }

    /// How many elements the array at `path` has.
    pub fn len(&self, path: &[&str]) -> Option<usize> {
        let range = self.find(path)?;
        if let Some(json) = self.json() {
            return Some(json.elements(json.at(range.start)?)?.count());
        }
        Some(elements(&self.text, range.start)?.len())
    }

    /// Sets `path` to `value` (serialised).
    pub fn set(&mut self, path: &[&str], value: &Value) {
        self.set_raw(path, value.to_string().as_bytes());
    }

    /// Sets `path` to the string `value` (as [`JsonDoc::set`] of a `Value::String` writes it).
    pub fn set_str(&mut self, path: &[&str], value: &str) {
        let mut raw = Vec::with_capacity(value.len() + 2);
        write_str(&mut raw, value);
        self.set_raw(path, &raw);
    }

    /// Sets `path` to the JSON text `raw`, as sjson's `SetRaw`: a missing member is added at
    /// the end of its object, missing objects on the way are created, and a value on the way
    /// that is not an object (`"stream_options": null`) is replaced by one. Returns whether
    /// the value could be placed (an array index past the end cannot).
    pub fn set_raw(&mut self, path: &[&str], raw: &[u8]) -> bool {
        let Some((last, parents)) = path.split_last() else { return false };
        let start = skip_ws(&self.text, 0);
        let mut at = start;
        for (i, segment) in parents.iter().enumerate() {
            match self.child(at, segment) {
                Some(range) if self.text.get(range.start) == Some(&b'{') => at = range.start,
                Some(range) if self.text.get(range.start) == Some(&b'[') && is_index(path.get(i + 1)) => {
                    at = range.start;
                }
                Some(range) => {
                    let nested = nest(path.get(i + 1..).unwrap_or_default(), raw);
                    self.splice(range, &nested);
                    return true;
                }
                None => return self.insert(at, segment, &nest(path.get(i + 1..).unwrap_or_default(), raw)),
            }
        }
        match self.child(at, last) {
            Some(range) => {
                if self.text.get(range.clone()) != Some(raw) {
                    self.splice(range, raw);
                }
                true
            }
            None => self.insert(at, last, raw),
        }
    }

    /// Removes the member at `path` (with its comma). Returns whether there was one.
    pub fn remove(&mut self, path: &[&str]) -> bool {
        let Some((last, parents)) = path.split_last() else { return false };
        let Some(parent) = self.find(parents) else { return false };
        let Some(found) = members(&self.text, parent.start) else { return false };
        let Some(index) = found.iter().position(|m| key_is(&self.text, &m.key, last)) else { return false };
        let cut = match (index.checked_sub(1).and_then(|i| found.get(i)), found.get(index), found.get(index + 1)) {
            (Some(before), Some(this), _) => before.value.end..this.value.end,
            (None, Some(this), Some(after)) => this.key.start..after.key.start,
            (None, Some(this), None) => this.key.start..this.value.end,
            _ => return false,
        };
        self.splice(cut, b"");
        true
    }

    /// Puts the JSON text `raw` into the array at `path` before element `index` (at the end
    /// when there are fewer). Returns whether there was an array.
    pub fn insert_element(&mut self, path: &[&str], index: usize, raw: &[u8]) -> bool {
        let Some(range) = self.find(path) else { return false };
        let Some(items) = elements(&self.text, range.start) else { return false };
        let mut element = raw.to_vec();
        match (items.get(index), items.last()) {
            (Some(before), _) => {
                element.push(b',');
                self.splice(before.start..before.start, &element);
            }
            (None, Some(last)) => {
                element.insert(0, b',');
                self.splice(last.end..last.end, &element);
            }
            (None, None) => self.splice(range.start + 1..range.start + 1, &element),
        }
        true
    }

    /// Adds `"key": raw` at the end of the object at `at`.
    fn insert(&mut self, at: usize, key: &str, raw: &[u8]) -> bool {
        // Where its last member's value ends, if it has members.
        let last = match self.json() {
            Some(json) => {
                let Some(members) = json.at(at).and_then(|object| json.members(object)) else { return false };
                members.last().and_then(|(_, value)| json.token(value)).map(|value| value.range().end)
            }
            None => {
                let Some(found) = members(&self.text, at) else { return false };
                found.last().map(|last| last.value.end)
            }
        };
        let mut member = Vec::with_capacity(key.len() + raw.len() + 4);
        if last.is_some() {
            member.push(b',');
        }
        write_str(&mut member, key);
        member.push(b':');
        member.extend_from_slice(raw);
        let end = last.unwrap_or(at + 1);
        self.splice(end..end, &member);
        true
    }

    /// Whether the text has `"text"` (with its quotes) anywhere, as a search of its bytes
    /// finds it. For a `text` of letters, digits and `_`, such a run can only end a string
    /// (letters are never between two strings, and its last quote is not escaped): its first
    /// quote opens the string or is an escaped one in it. The tokens' strings then tell.
    pub fn contains_string(&self, text: &str) -> bool {
        let mut quoted = Vec::with_capacity(text.len() + 2);
        write_str(&mut quoted, text);
        let word = !text.is_empty() && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        match self.json() {
            Some(json) if word => (0..)
                .map_while(|index| json.token(index))
                .filter(|token| matches!(token.kind(), Kind::Str | Kind::Escaped | Kind::Key))
                .any(|token| self.text.get(token.range()).is_some_and(|raw| raw.ends_with(&quoted))),
            _ => higress_sdk::scan::contains(&self.text, &quoted),
        }
    }

    fn splice(&mut self, range: Range<usize>, with: &[u8]) {
        if range.end <= self.text.len() && range.start <= range.end {
            if let Some(tokens) = &mut self.tokens {
                if tokens::replaced(tokens, range.clone(), with).is_none() {
                    self.tokens = None;
                }
            }
            self.text.splice(range, with.iter().copied());
            self.changed = true;
        }
    }
}

/// The member `segment` of the object at token `index` (the first of that name, as the
/// scanner finds it), or element `segment` of the array there.
fn child_token(json: &Json, index: usize, segment: &str) -> Option<usize> {
    match json.token(index)?.kind() {
        Kind::Object => json.members(index)?.find(|(key, _)| *key == segment.as_bytes()).map(|(_, value)| value),
        Kind::Array => json.elements(index)?.nth(segment.parse().ok()?),
        _ => None,
    }
}

fn is_index(segment: Option<&&str>) -> bool {
    segment.is_some_and(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
}

/// `{"a":{"b":raw}}` for the path `a.b`; `raw` itself for an empty path.
fn nest(path: &[&str], raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + path.len() * 8);
    for key in path {
        out.push(b'{');
        write_str(&mut out, key);
        out.push(b':');
    }
    out.extend_from_slice(raw);
    out.extend(std::iter::repeat_n(b'}', path.len()));
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn doc(text: &str) -> JsonDoc {
        JsonDoc::parse(text.as_bytes()).unwrap()
    }

    fn text(doc: &JsonDoc) -> String {
        String::from_utf8(doc.as_bytes().to_vec()).unwrap()
    }

    #[test]
    fn reads() {
        let d = doc(r#" {"model": "gpt-4", "stream": true, "messages": [{"role": "developer"}], "n": 0.0}"#);
        assert_eq!(d.str(&["model"]).as_deref(), Some("gpt-4"));
        assert_eq!(d.bool(&["stream"]), Some(true));
        assert_eq!(d.str(&["messages", "0", "role"]).as_deref(), Some("developer"));
        assert_eq!(d.raw(&["n"]), Some(&b"0.0"[..]));
        assert_eq!(d.len(&["messages"]), Some(1));
        assert!(!d.exists(&["messages", "1"]));
        assert_eq!(d.str(&["stream"]), None);
    }

    #[test]
    fn writes_keep_everything_else() {
        let mut d = doc(r#"{"model":"a", "temperature": 0.0, "x-unknown": {"k": [1,2]}}"#);
        d.set(&["model"], &json!("b"));
        d.set_raw(&["stream_options", "include_usage"], b"true");
        assert_eq!(
            text(&d),
            r#"{"model":"b", "temperature": 0.0, "x-unknown": {"k": [1,2]},"stream_options":{"include_usage":true}}"#
        );
        assert!(d.changed());

        let mut d = doc(r#"{"stream_options": null}"#);
        d.set_raw(&["stream_options", "include_usage"], b"true");
        assert_eq!(text(&d), r#"{"stream_options": {"include_usage":true}}"#);

        let mut d = doc(r#"{"stream_options": {"x": 1}}"#);
        d.set_raw(&["stream_options", "include_usage"], b"true");
        assert_eq!(text(&d), r#"{"stream_options": {"x": 1,"include_usage":true}}"#);

        let mut d = doc("{}");
        d.set_raw(&["model"], b"\"m\"");
        assert_eq!(text(&d), r#"{"model":"m"}"#);

        let mut d = doc(r#"{"messages":[{"role":"developer","content":"x"}]}"#);
        d.set(&["messages", "0", "role"], &json!("system"));
        assert_eq!(text(&d), r#"{"messages":[{"role":"system","content":"x"}]}"#);
        assert!(!d.set_raw(&["messages", "3", "role"], b"1"));

        let mut d = doc(r#"{"model":"a"}"#);
        d.set(&["model"], &json!("a"));
        assert!(!d.changed(), "the same value is no change");
    }

    #[test]
    fn inserts_elements() {
        let mut d = doc(r#"{"m": [1, 2]}"#);
        assert!(d.insert_element(&["m"], 0, b"0"));
        assert!(d.insert_element(&["m"], 2, b"1.5"));
        assert!(d.insert_element(&["m"], 9, b"3"));
        assert_eq!(text(&d), r#"{"m": [0,1, 1.5,2,3]}"#);
        let mut d = doc(r#"{"m": [ ]}"#);
        assert!(d.insert_element(&["m"], 0, b"{}"));
        assert_eq!(text(&d), r#"{"m": [{} ]}"#);
        assert!(!d.insert_element(&["x"], 0, b"1"));
    }

    #[test]
    fn removes() {
        for (before, key, after) in [
            (r#"{"a":1, "b":2, "c":3}"#, "b", r#"{"a":1, "c":3}"#),
            (r#"{"a":1, "b":2}"#, "a", r#"{"b":2}"#),
            (r#"{"a":1, "b":2}"#, "b", r#"{"a":1}"#),
            (r#"{ "a" : 1 }"#, "a", r#"{  }"#),
        ] {
            let mut d = doc(before);
            assert!(d.remove(&[key]));
            assert_eq!(text(&d), after);
            assert!(serde_json::from_slice::<Value>(d.as_bytes()).is_ok());
        }
        let mut d = doc(r#"{"a":1}"#);
        assert!(!d.remove(&["z"]));
        assert!(!d.changed());
    }

    /// The same doc read without its tokens (every read scans the text).
    fn scanned(mut d: JsonDoc) -> JsonDoc {
        d.tokens = None;
        d
    }

    #[test]
    fn reads_with_tokens_as_without() {
        let body = r#" {"model": "gpt-4o", "messages": [{"role": "developer", "content": "x\"y"}, {"role":"user","content":[1,{"a":null}]}],
            "stream": true, "n": 0.0, "s": "\u00e9", "o": {"k": [true, false]}} "#;
        let with = doc(body);
        assert!(with.tokens.is_some());
        let without = scanned(with.clone());
        for path in [
            &[][..],
            &["model"],
            &["messages"],
            &["messages", "0"],
            &["messages", "1", "content", "1", "a"],
            &["messages", "2"],
            &["stream"],
            &["n"],
            &["s"],
            &["o", "k", "1"],
            &["o", "k", "x"],
            &["missing"],
            &["model", "x"],
            &["messages", "01"],
        ] {
            assert_eq!(with.raw(path), without.raw(path), "{path:?}");
            assert_eq!(with.str(path), without.str(path), "{path:?}");
            assert_eq!(with.bool(path), without.bool(path), "{path:?}");
            assert_eq!(with.len(path), without.len(path), "{path:?}");
        }
        // A body with an exponent (which the tokenizer leaves to serde_json) is read without
        // tokens.
        let exponent = doc(r#"{"e": 1e3, "model": "m"}"#);
        assert!(exponent.tokens.is_none());
        assert_eq!(exponent.raw(&["e"]), Some(&b"1e3"[..]));
        assert_eq!(exponent.str(&["model"]).as_deref(), Some("m"));
    }

    #[test]
    fn contains_string_is_a_search_of_the_bytes() {
        for body in [
            r#"{"role":"developer"}"#,
            r#"{"a":"say \"developer"}"#,
            r#"{"a":"developers"}"#,
            r#"{"developer":1}"#,
            r#"{"a":"x developer\" y"}"#,
            r#"{"a":"\u0064eveloper"}"#,
            r#"{"a":["developer"]}"#,
        ] {
            let d = doc(body);
            let expected = body.as_bytes().windows(11).any(|w| w == b"\"developer\"");
            assert_eq!(d.contains_string("developer"), expected, "{body}");
            assert_eq!(scanned(d).contains_string("developer"), expected, "{body}");
        }
    }

    proptest! {
        /// Any sequence of reads and writes gives the same answers and the same text with the
        /// tokens as without them.
        #[test]
        fn edits_with_tokens_as_without(value in bodies(), ops in proptest::collection::vec((0usize..8, 0usize..PATHS.len(), 0usize..RAWS.len()), 0..12)) {
            let text = value.to_string();
            let mut with = doc(&text);
            let mut without = scanned(with.clone());
            for (op, path, raw) in ops {
                let (path, raw) = (PATHS[path], RAWS[raw]);
                match op {
                    0 => prop_assert_eq!(with.raw(path), without.raw(path)),
                    1 => prop_assert_eq!(with.str(path), without.str(path)),
                    2 => prop_assert_eq!(with.len(path), without.len(path)),
                    3 => prop_assert_eq!(with.set_raw(path, raw.as_bytes()), without.set_raw(path, raw.as_bytes())),
                    4 => {
                        with.set_str(path, raw);
                        without.set_str(path, raw);
                    }
                    5 => prop_assert_eq!(with.remove(path), without.remove(path)),
                    6 => prop_assert_eq!(
                        with.insert_element(path, 1, raw.as_bytes()),
                        without.insert_element(path, 1, raw.as_bytes())
                    ),
                    _ => prop_assert_eq!(with.contains_string("developer"), without.contains_string("developer")),
                }
                prop_assert_eq!(with.as_bytes(), without.as_bytes());
                prop_assert_eq!(with.changed(), without.changed());
            }
            prop_assert!(serde_json::from_slice::<Value>(with.as_bytes()).is_ok(), "{}", String::from_utf8_lossy(with.as_bytes()));
        }
    }

    const PATHS: &[&[&str]] = &[
        &["model"],
        &["stream"],
        &["stream_options", "include_usage"],
        &["messages"],
        &["messages", "0", "role"],
        &["messages", "1", "content"],
        &["a", "b"],
        &["n"],
    ];
    const RAWS: &[&str] = &["\"x\"", "\"developer\"", "true", "12", "-0.5", "null", "{\"k\":1}", "[1,2]", "\"a\\\"b\""];

    fn bodies() -> impl Strategy<Value = Value> {
        let scalar = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            (-50i64..50).prop_map(Value::from),
            "[a-z \"\\\\é]{0,6}".prop_map(Value::String),
            Just(Value::String("developer".into())),
        ];
        let message = (prop_oneof![Just("user"), Just("developer"), Just("system")], scalar.clone())
            .prop_map(|(role, content)| json!({"role": role, "content": content}));
        (
            proptest::option::of(scalar.clone()),
            proptest::option::of(proptest::collection::vec(message, 0..4)),
            proptest::option::of(scalar.clone()),
            proptest::option::of(prop_oneof![scalar.clone(), Just(json!({"x": 1}))]),
            proptest::option::of(scalar),
        )
            .prop_map(|(model, messages, stream, options, n)| {
                let mut body = serde_json::Map::new();
                let fields = [
                    ("model", model),
                    ("messages", messages.map(Value::from)),
                    ("stream", stream),
                    ("stream_options", options),
                    ("n", n),
                ];
                for (key, value) in fields {
                    if let Some(value) = value {
                        body.insert(key.to_string(), value);
                    }
                }
                Value::Object(body)
            })
    }

    #[test]
    fn refuses_what_is_not_an_object() {
        assert!(JsonDoc::parse(b"[1]").is_err());
        assert!(JsonDoc::parse(b"{\"a\":").is_err());
        assert!(JsonDoc::parse(b"hello").is_err());
        assert!(JsonDoc::parse(b"").is_err());
    }
}
