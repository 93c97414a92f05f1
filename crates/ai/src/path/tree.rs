//! JSON bodies and events as trees a [`Path`](super::Path) walks: read into tokens in one
//! pass where the SDK's AI scanner takes the text (no map, no value allocated), else parsed by
//! serde_json (numbers with exponents, escaped keys, very deep nesting).

use super::{Kind, Node};
use crate::scan::{self, Json, Token};
use serde_json::Value;

/// A value of a body read either way.
#[derive(Clone, Copy)]
pub enum Any<'t> {
    Tokens(Json<'t>, usize),
    Value(&'t Value),
}

/// Where a body's tree lives while it is read (reused from one event to the next).
#[derive(Default)]
pub struct Scratch {
    tokens: Vec<Token>,
    value: Option<Value>,
}

impl Scratch {
    /// The root of `text`, if it is JSON.
    pub fn read<'t>(&'t mut self, text: &'t [u8]) -> Option<Any<'t>> {
        self.value = None;
        if let Some(json) = Json::parse(text, &mut self.tokens) {
            return Some(Any::Tokens(json, 0));
        }
        self.value = serde_json::from_slice(text).ok();
        self.value.as_ref().map(Any::Value)
    }
}

impl Node for Any<'_> {
    fn kind(self) -> Kind {
        match self {
            Any::Tokens(json, at) => match json.token(at).map(|t| t.kind()) {
                Some(scan::Kind::Object) => Kind::Object,
                Some(scan::Kind::Array) => Kind::Array,
                Some(scan::Kind::Str | scan::Kind::Escaped | scan::Kind::Key) => Kind::String,
                Some(scan::Kind::Number) => Kind::Number,
                Some(scan::Kind::True) => Kind::True,
                Some(scan::Kind::False) => Kind::False,
                Some(scan::Kind::Null) | None => Kind::Null,
            },
            Any::Value(value) => match value {
                Value::Object(_) => Kind::Object,
                Value::Array(_) => Kind::Array,
                Value::String(_) => Kind::String,
                Value::Number(_) => Kind::Number,
                Value::Bool(true) => Kind::True,
                Value::Bool(false) => Kind::False,
                Value::Null => Kind::Null,
            },
        }
    }

    fn member(self, matches: impl Fn(&str) -> bool) -> Option<Self> {
        match self {
            Any::Tokens(json, at) => json
                .members(at)?
                .find(|(key, _)| std::str::from_utf8(key).is_ok_and(&matches))
                .map(|(_, value)| Any::Tokens(json, value)),
            Any::Value(value) => {
                value.as_object()?.iter().find(|(key, _)| matches(key)).map(|(_, value)| Any::Value(value))
            }
        }
    }

    fn elements(self) -> Vec<Self> {
        match self {
            Any::Tokens(json, at) => {
                json.elements(at).map(|items| items.map(|i| Any::Tokens(json, i)).collect()).unwrap_or_default()
            }
            Any::Value(value) => {
                value.as_array().map(|items| items.iter().map(Any::Value).collect()).unwrap_or_default()
            }
        }
    }

    fn string(self) -> Option<String> {
        match self {
            Any::Tokens(json, at) => json.str(at).map(|s| s.into_owned()),
            Any::Value(value) => value.as_str().map(str::to_string),
        }
    }

    fn number(self) -> Option<f64> {
        match self {
            Any::Tokens(json, at) => {
                let token = json.token(at).filter(|t| t.kind() == scan::Kind::Number)?;
                std::str::from_utf8(json.text(token.range())?).ok()?.parse().ok()
            }
            Any::Value(value) => value.as_f64(),
        }
    }

    fn write_json(self, out: &mut String) {
        match self {
            Any::Tokens(json, at) => {
                let raw = json.token(at).and_then(|t| json.text(t.range())).unwrap_or_default();
                out.push_str(&String::from_utf8_lossy(raw));
            }
            Any::Value(value) => out.push_str(&value.to_string()),
        }
    }
}

/// Go's `gjson.Result.Bool()`: `true`, a non-zero number, or a string `strconv.ParseBool` takes
/// as true.
pub fn truthy(node: Option<Any>) -> bool {
    let Some(node) = node else { return false };
    match node.kind() {
        Kind::True => true,
        Kind::Number => node.number().is_some_and(|n| n != 0.0),
        Kind::String => node.string().is_some_and(|s| matches!(s.as_str(), "1" | "t" | "T" | "TRUE" | "true" | "True")),
        _ => false,
    }
}
