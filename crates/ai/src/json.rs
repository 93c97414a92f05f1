//! Reading untrusted JSON field by field, with errors that name the field
//! (`messages[2].content[0].type: expected ...`), for every protocol adapter.
//!
//! The name is a chain of borrowed steps ([`Loc`]) formatted only when an error is reported,
//! so a valid body costs no string building. `null` counts as absent everywhere: OpenAI and
//! the SDKs that talk to it send `"content": null`, `"usage": null`, `"stop": null` freely,
//! and Anthropic's own SDKs send `null` for unset optional fields.

use crate::chat::Invalid;
use higress_sdk::sse::SseEvent;
use serde_json::{Map, Value};
use std::fmt;

/// Where a value sits in the body.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Loc<'a> {
    /// The body itself: named `body` alone, and nothing before its members (`model`,
    /// `messages[0]`).
    Root,
    /// A value with a name of its own, before its members: a stream event
    /// (`content_block_delta.index`). An empty name is like [`Loc::Root`] before its members.
    Named(&'a str),
    /// A member of an object.
    Key(&'a Loc<'a>, &'a str),
    /// An element of an array.
    Index(&'a Loc<'a>, usize),
}

impl<'a> Loc<'a> {
    /// The member `key` of this value.
    pub(crate) fn key(&'a self, key: &'a str) -> Loc<'a> {
        Loc::Key(self, key)
    }

    /// The element `index` of this value.
    pub(crate) fn index(&'a self, index: usize) -> Loc<'a> {
        Loc::Index(self, index)
    }

    /// "this value: expected `expected`".
    pub(crate) fn invalid(&self, expected: &str) -> Invalid {
        Invalid::field(&self.to_string(), expected)
    }
}

impl<'a> From<&'a str> for Loc<'a> {
    /// A value named `name` ([`Loc::Named`]).
    fn from(name: &'a str) -> Self {
        Loc::Named(name)
    }
}

impl fmt::Display for Loc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Loc::Root => f.write_str("body"),
            Loc::Named(name) => f.write_str(name),
            Loc::Key(Loc::Root | Loc::Named(""), key) => f.write_str(key),
            Loc::Key(parent, key) => write!(f, "{parent}.{key}"),
            Loc::Index(parent, index) => write!(f, "{parent}[{index}]"),
        }
    }
}

/// An object of the body, with where it is.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Obj<'v, 'a> {
    value: &'v Value,
    map: &'v Map<String, Value>,
    loc: Loc<'a>,
}

impl<'v, 'a> Obj<'v, 'a> {
    /// `value` as an object, or an error naming `loc`.
    pub(crate) fn new(value: &'v Value, loc: Loc<'a>) -> Result<Self, Invalid> {
        Obj::of(value, loc).ok_or_else(|| loc.invalid("an object"))
    }

    /// `value` as an object, or `None` (for a caller that names what it expected, or skips
    /// what is not an object).
    pub(crate) fn of(value: &'v Value, loc: Loc<'a>) -> Option<Self> {
        match value {
            Value::Object(map) => Some(Obj { value, map, loc }),
            _ => None,
        }
    }

    /// The same object, named by `loc`.
    pub(crate) fn with_loc<'b>(&self, loc: Loc<'b>) -> Obj<'v, 'b> {
        Obj { value: self.value, map: self.map, loc }
    }

    /// The object as JSON.
    pub(crate) fn value(&self) -> &'v Value {
        self.value
    }

    /// The member `key`, `null` counting as absent.
    pub(crate) fn get(&self, key: &str) -> Option<&'v Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    /// Where the member `key` is.
    pub(crate) fn at<'s>(&'s self, key: &'s str) -> Loc<'s> {
        self.loc.key(key)
    }

    /// The member `key` as an object, if present.
    pub(crate) fn obj<'s>(&'s self, key: &'s str) -> Result<Option<Obj<'v, 's>>, Invalid> {
        self.get(key).map(|v| Obj::new(v, self.at(key))).transpose()
    }

    /// The member `key` as an object, which must be present.
    pub(crate) fn req_obj<'s>(&'s self, key: &'s str) -> Result<Obj<'v, 's>, Invalid> {
        self.obj(key)?.ok_or_else(|| self.at(key).invalid("an object"))
    }

    /// The member `key` as a string, if present.
    pub(crate) fn str(&self, key: &str) -> Result<Option<&'v str>, Invalid> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(self.at(key).invalid("a string")),
        }
    }

    /// The member `key` as a string, which must be present.
    pub(crate) fn req_str(&self, key: &str) -> Result<&'v str, Invalid> {
        self.str(key)?.ok_or_else(|| self.at(key).invalid("a string"))
    }

    /// The member `key` as a boolean, if present.
    pub(crate) fn bool(&self, key: &str) -> Result<Option<bool>, Invalid> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(self.at(key).invalid("a boolean")),
        }
    }

    /// The member `key` as a non-negative integer, if present.
    pub(crate) fn u64(&self, key: &str) -> Result<Option<u64>, Invalid> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v.as_u64().map(Some).ok_or_else(|| self.at(key).invalid("a non-negative integer")),
        }
    }

    /// The member `key` as a number, kept as given (`0` stays `0`), if present.
    pub(crate) fn number(&self, key: &str) -> Result<Option<Value>, Invalid> {
        match self.get(key) {
            None => Ok(None),
            Some(v @ Value::Number(_)) => Ok(Some(v.clone())),
            Some(_) => Err(self.at(key).invalid("a number")),
        }
    }

    /// The member `key` as an array, if present.
    pub(crate) fn array(&self, key: &str) -> Result<Option<&'v [Value]>, Invalid> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Array(items)) => Ok(Some(items)),
            Some(_) => Err(self.at(key).invalid("an array")),
        }
    }

    /// `cache_control`, which must be an object, kept as given (`{"type": "ephemeral",
    /// "ttl": "1h"}`), if present.
    pub(crate) fn cache_control(&self) -> Result<Option<Value>, Invalid> {
        Ok(self.obj("cache_control")?.map(|cache| cache.value.clone()))
    }
}

/// Builds a JSON object from `(key, value)` pairs (a later pair with the same key wins).
///
/// The pairs are inserted one by one: collecting them would build the map through
/// `BTreeMap::from_iter`, whose stable sort is compiled once for every `N` (some 4 KB of
/// wasm each).
pub(crate) fn object<const N: usize>(pairs: [(&str, Value); N]) -> Value {
    let mut map = Map::new();
    for (key, value) in pairs {
        map.insert(key.to_string(), value);
    }
    Value::Object(map)
}

/// Appends `value` as compact JSON (what `value.to_string()` makes, written straight into
/// `out` rather than through `Display`'s formatter, which costs several times more).
pub(crate) fn write_value(value: &Value, out: &mut Vec<u8>) {
    // Writing a `Value` into a `Vec` cannot fail (its keys are strings, a `Vec` takes any
    // length).
    let _ = serde_json::to_writer(&mut *out, value);
}

/// `value` (an object) with `cache_control` added when there is one.
pub(crate) fn with_cache(mut value: Value, cache: Option<&Value>) -> Value {
    if let (Some(cache), Value::Object(map)) = (cache, &mut value) {
        map.insert("cache_control".into(), cache.clone());
    }
    value
}

/// The data of a stream event to read as JSON, trimmed; `None` for an event without data (a
/// comment, a keep-alive), with empty data, or OpenAI's `data: [DONE]` (which some
/// Anthropic-compatible endpoints send too).
pub(crate) fn event_data(event: &SseEvent) -> Option<&str> {
    data_text(event.data.as_deref())
}

/// [`event_data`] of an event's `data` field.
pub(crate) fn data_text(data: Option<&str>) -> Option<&str> {
    data.map(str::trim).filter(|data| !data.is_empty() && *data != "[DONE]")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn errors_name_the_field() {
        let body = json!({"messages": [{"role": "user", "content": [{"type": 3}]}], "stream": "yes", "n": null});
        let root = Obj::new(&body, Loc::Root).unwrap();
        assert_eq!(root.bool("stream").unwrap_err().0, "stream: expected a boolean");
        assert_eq!(root.bool("n").unwrap(), None, "null is absent");
        let messages = root.array("messages").unwrap().unwrap();
        let at = root.at("messages");
        let item = at.index(0);
        let message = Obj::new(&messages[0], item).unwrap();
        let content = message.array("content").unwrap().unwrap();
        let content_at = message.at("content");
        let part = Obj::new(&content[0], content_at.index(0)).unwrap();
        assert_eq!(part.str("type").unwrap_err().0, "messages[0].content[0].type: expected a string");
        assert_eq!(part.req_str("text").unwrap_err().0, "messages[0].content[0].text: expected a string");
        assert_eq!(Obj::new(&json!([]), Loc::Root).unwrap_err().0, "body: expected an object");
        assert_eq!(root.u64("stream").unwrap_err().0, "stream: expected a non-negative integer");
        assert_eq!(root.number("stream").unwrap_err().0, "stream: expected a number");
    }

    #[test]
    fn numbers_keep_their_form() {
        let body = json!({"temperature": 0, "top_p": 0.0, "max_tokens": 5});
        let root = Obj::new(&body, Loc::Root).unwrap();
        assert_eq!(root.number("temperature").unwrap(), Some(json!(0)));
        assert_eq!(root.number("top_p").unwrap(), Some(json!(0.0)));
        assert_eq!(root.u64("max_tokens").unwrap(), Some(5));
    }

    #[test]
    fn paths_and_types() {
        let body = json!({"a": "x", "n": 3, "f": 0.0, "b": true, "z": null, "o": {"k": 1}});
        let root = Obj::new(&body, Loc::Root).unwrap();
        assert_eq!(root.str("a").unwrap(), Some("x"));
        assert_eq!(root.str("z").unwrap(), None);
        let m = Loc::Named("m");
        let m1 = Obj::new(&body, m.index(1)).unwrap();
        assert_eq!(m1.str("n").unwrap_err().0, "m[1].n: expected a string");
        assert_eq!(root.req_str("missing").unwrap_err().0, "missing: expected a string");
        assert_eq!(root.u64("n").unwrap(), Some(3));
        assert_eq!(root.u64("f").unwrap_err().0, "f: expected a non-negative integer");
        assert_eq!(root.number("f").unwrap(), Some(json!(0.0)));
        assert_eq!(root.bool("b").unwrap(), Some(true));
        assert_eq!(root.array("o").unwrap_err().0, "o: expected an array");
        assert_eq!(root.req_obj("o").unwrap().value(), &json!({"k": 1}));
        assert_eq!(root.req_obj("z").unwrap_err().0, "z: expected an object");
        assert_eq!(root.obj("o").unwrap().unwrap().u64("k").unwrap(), Some(1));
        assert_eq!(root.obj("a").unwrap_err().0, "a: expected an object");
        assert_eq!(root.at("messages").index(2).to_string(), "messages[2]");
        assert_eq!(object([("a", json!(1))]), json!({"a": 1}));
    }

    #[test]
    fn named_values() {
        let event = json!({"index": "x", "delta": {"text": 1}});
        let data = Obj::new(&event, Loc::Named("content_block_delta")).unwrap();
        assert_eq!(data.u64("index").unwrap_err().0, "content_block_delta.index: expected a non-negative integer");
        let delta = data.req_obj("delta").unwrap();
        assert_eq!(delta.req_str("text").unwrap_err().0, "content_block_delta.delta.text: expected a string");
        assert_eq!(Obj::new(&json!(1), "c[0]".into()).unwrap_err().0, "c[0]: expected an object");
        assert_eq!(data.with_loc(Loc::Named("message_start")).at("index").to_string(), "message_start.index");
        let unnamed = Obj::new(&event, Loc::Named("")).unwrap();
        assert_eq!(unnamed.u64("index").unwrap_err().0, "index: expected a non-negative integer");
        assert!(Obj::of(&json!("x"), Loc::Root).is_none());
    }

    #[test]
    fn cache_control_is_an_object() {
        let block = json!({"cache_control": {"type": "ephemeral", "ttl": "1h"}});
        let block = Obj::new(&block, Loc::Named("system[0]")).unwrap();
        assert_eq!(block.cache_control().unwrap(), Some(json!({"type": "ephemeral", "ttl": "1h"})));
        let none = json!({"cache_control": null});
        assert_eq!(Obj::new(&none, Loc::Root).unwrap().cache_control().unwrap(), None);
        let bad = json!({"cache_control": "ephemeral"});
        let bad = Obj::new(&bad, Loc::Named("tools[1]")).unwrap();
        assert_eq!(bad.cache_control().unwrap_err().0, "tools[1].cache_control: expected an object");
        let cache = json!({"type": "ephemeral"});
        assert_eq!(with_cache(json!({"a": 1}), Some(&cache)), json!({"a": 1, "cache_control": {"type": "ephemeral"}}));
        assert_eq!(with_cache(json!({"a": 1}), None), json!({"a": 1}));
    }

    #[test]
    fn event_data_skips_what_carries_nothing() {
        assert_eq!(event_data(&SseEvent::data(" {\"a\":1}\n")), Some("{\"a\":1}"));
        assert_eq!(event_data(&SseEvent::data("  ")), None);
        assert_eq!(event_data(&SseEvent::data(" [DONE] ")), None);
        assert_eq!(event_data(&SseEvent::default()), None);
    }
}
