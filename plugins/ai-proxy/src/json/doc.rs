//! A JSON body read and changed where it stands.

use super::scan::{elements, key_is, members, skip_value, skip_ws};
use serde_json::Value;
use std::ops::Range;

/// A JSON object held as its text. Reads find values by scanning; writes splice new text in
/// place of the old, so what is not written keeps its bytes.
#[derive(Debug, Clone)]
pub struct JsonDoc {
    text: Vec<u8>,
    changed: bool,
}

impl JsonDoc {
    /// `text` if it is one JSON object (the whole of it checked once, here); else why not.
    pub fn parse(text: &[u8]) -> Result<JsonDoc, String> {
        serde_json::from_slice::<serde::de::IgnoredAny>(text).map_err(|e| format!("the body is not JSON: {e}"))?;
        if text.get(skip_ws(text, 0)) != Some(&b'{') {
            return Err("the body is not a JSON object".into());
        }
        Ok(JsonDoc { text: text.to_vec(), changed: false })
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

    /// Where the value at `path` is: object keys, and array indexes as decimal numbers.
    fn find(&self, path: &[&str]) -> Option<Range<usize>> {
        let start = skip_ws(&self.text, 0);
        let mut range = start..skip_value(&self.text, start)?;
        for segment in path {
            range = self.child(range.start, segment)?;
        }
        Some(range)
    }

    /// The member `segment` of the object at `at`, or element `segment` of the array there.
    fn child(&self, at: usize, segment: &str) -> Option<Range<usize>> {
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
        Some(elements(&self.text, range.start)?.len())
    }

    /// Sets `path` to `value` (serialised).
    pub fn set(&mut self, path: &[&str], value: &Value) {
        self.set_raw(path, value.to_string().as_bytes());
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
        let Some(found) = members(&self.text, at) else { return false };
        let mut member = Value::String(key.to_string()).to_string().into_bytes();
        member.push(b':');
        member.extend_from_slice(raw);
        match found.last() {
            Some(last) => {
                member.insert(0, b',');
                let end = last.value.end;
                self.splice(end..end, &member);
            }
            None => self.splice(at + 1..at + 1, &member),
        }
        true
    }

    fn splice(&mut self, range: Range<usize>, with: &[u8]) {
        if range.end <= self.text.len() && range.start <= range.end {
            self.text.splice(range, with.iter().copied());
            self.changed = true;
        }
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
        out.extend_from_slice(Value::String((*key).to_string()).to_string().as_bytes());
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

    #[test]
    fn refuses_what_is_not_an_object() {
        assert!(JsonDoc::parse(b"[1]").is_err());
        assert!(JsonDoc::parse(b"{\"a\":").is_err());
        assert!(JsonDoc::parse(b"hello").is_err());
        assert!(JsonDoc::parse(b"").is_err());
    }
}
