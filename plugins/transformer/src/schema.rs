//! The JSON Schema of the config (tests only), derived from schema-only shape types: [`Config`]
//! is JSON read by [`crate::config`], and these types mirror what it reads.
//!
//! A field read as text (Go's gjson `String()`) takes any JSON value (`true`, `20` are the text
//! `true`, `20`); so does a field only some operations read (the others ignore it). Names the
//! parser matches in any case (`operate`) are plain strings, their values in the description.
//!
//! [`Config`]: crate::config::Config

// Shape types are never built: only their schemas are used.
#![allow(dead_code)]

use schemars::JsonSchema;
use serde_json::Value;

/// The transformer's config: request and response rules.
#[derive(JsonSchema)]
#[schemars(rename = "Config", inline)]
pub struct ConfigShape {
    /// `false`: Envoy keeps the route it chose even when the request headers changed.
    #[serde(default = "reroute")]
    reroute: Option<bool>,
    /// Request rules, in order (one of `reqRules` and `respRules` is required).
    #[serde(rename = "reqRules")]
    req_rules: Option<Vec<RequestRule>>,
    /// Response rules, in order (one of `reqRules` and `respRules` is required).
    #[serde(rename = "respRules")]
    resp_rules: Option<Vec<ResponseRule>>,
    #[serde(flatten)]
    rules: AtLeastOne,
}

fn reroute() -> Option<bool> {
    Some(true)
}

/// `reqRules`, `respRules` or both are set (not null).
#[derive(JsonSchema)]
#[serde(untagged)]
enum AtLeastOne {
    /// `reqRules`.
    Request {
        #[serde(rename = "reqRules")]
        req_rules: Vec<Value>,
    },
    /// `respRules`.
    Response {
        #[serde(rename = "respRules")]
        resp_rules: Vec<Value>,
    },
}

/// A request rule: one operation on headers, query parameters and/or the body.
#[derive(JsonSchema)]
struct RequestRule {
    #[serde(flatten)]
    rule: Rule,
    /// Items on query parameters (case-sensitive).
    querys: Option<Vec<Item>>,
}

/// A response rule: one operation on headers and/or the body.
#[derive(JsonSchema)]
struct ResponseRule {
    #[serde(flatten)]
    rule: Rule,
    /// Ignored in a response (it has no query), with a warning.
    querys: Option<Vec<Value>>,
}

/// What request and response rules share.
#[derive(JsonSchema)]
struct Rule {
    /// `remove`, `rename`, `replace`, `add`, `append`, `map` or `dedupe` (any case).
    #[schemars(length(min = 1))]
    operate: String,
    /// `map` only: where values are read, `headers`, `querys` or `body` (default: the rule's own target).
    #[serde(rename = "mapSource")]
    map_source: Option<Value>,
    /// Items on headers (names are case-insensitive).
    headers: Option<Vec<Item>>,
    /// Items on the body: JSON paths, or form / multipart field names (case-sensitive).
    body: Option<Vec<Item>>,
}

/// An item of `headers`, `querys` or `body`: the keys it needs depend on the rule's `operate`.
#[derive(JsonSchema)]
#[serde(untagged)]
enum Item {
    /// `remove`, `replace`, `add`, `append` and `dedupe`: a `key`.
    Keyed(KeyedItem),
    /// `rename`: `oldKey` and `newKey`.
    Rename(RenameItem),
    /// `map`: `fromKey` and `toKey`.
    Map(MapItem),
}

/// An item of `remove`, `replace`, `add`, `append` or `dedupe`.
#[derive(JsonSchema)]
struct KeyedItem {
    /// The key: a header name (any case), a query parameter, or a body's JSON path or field name.
    key: Value,
    /// `replace`: the new value (empty when absent); a template with `host_pattern` / `path_pattern`.
    #[serde(rename = "newValue")]
    new_value: Option<Value>,
    /// `add`: the value (empty when absent); a template with `host_pattern` / `path_pattern`.
    value: Option<Value>,
    /// `append`: the value appended (empty when absent); a template with `host_pattern` / `path_pattern`.
    #[serde(rename = "appendValue")]
    append_value: Option<Value>,
    /// A regex: when it matches the request's host, the value is the host with each match replaced by the value as a
    /// template (`$1`, `${name}`).
    host_pattern: Option<Value>,
    /// The same on the request's path (query included); `host_pattern` wins when both are set.
    path_pattern: Option<Value>,
    /// For JSON bodies: `string` (default), `number`, `boolean` or `object` (any JSON value), in any case; the value
    /// must be of that type.
    value_type: Option<Value>,
    /// `dedupe`: which values are kept, `RETAIN_FIRST` (default), `RETAIN_LAST`, `RETAIN_UNIQUE`,
    /// `SPLIT_AND_RETAIN_FIRST` or `SPLIT_AND_RETAIN_LAST` (any case).
    strategy: Option<Value>,
}

/// An item of `rename`.
#[derive(JsonSchema)]
struct RenameItem {
    /// The key renamed.
    #[serde(rename = "oldKey")]
    old_key: Value,
    /// Its new name.
    #[serde(rename = "newKey")]
    new_key: Value,
}

/// An item of `map`.
#[derive(JsonSchema)]
struct MapItem {
    /// The key read in the source (`mapSource`).
    #[serde(rename = "fromKey")]
    from_key: Value,
    /// The key written.
    #[serde(rename = "toKey")]
    to_key: Value,
}
