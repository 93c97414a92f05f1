//! Schema-only shapes of the values the config reads by hand (test builds only: they make
//! `config.schema.json`, never the module): an attribute's `value_source` and `rule` (read as
//! strings), and `model_prices`.

use schemars::JsonSchema;
use std::collections::BTreeMap;

/// `value_source`: where an attribute's value comes from.
#[derive(JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum ValueSource {
    /// `value` itself.
    FixedValue,
    /// The request header named `value`.
    RequestHeader,
    /// The request body, at the path `value`.
    RequestBody,
    /// The reply header named `value`.
    ResponseHeader,
    /// A whole reply body, at the path `value`.
    ResponseBody,
    /// A streamed reply's events, at the path `value` (with `rule`).
    ResponseStreamingBody,
    /// None: a built-in key's own sources.
    #[default]
    #[serde(rename = "")]
    Builtin,
}

/// `rule`: how a stream's events make one value.
#[derive(JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)]
pub enum AttributeRule {
    /// The first event's value.
    First,
    /// The last event's value.
    Replace,
    /// Every event's text, joined.
    Append,
    /// No rule (a streamed value is not read).
    #[default]
    #[serde(rename = "")]
    None,
}

/// `model_prices`: model (exactly, or `*` for any other) → its prices per million tokens.
pub type ModelPrices = BTreeMap<String, Price>;

/// One model's prices, per million tokens (numbers >= 0; only these keys).
#[derive(JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct Price {
    /// Prompt tokens (default 0).
    #[schemars(range(min = 0))]
    input: Option<f64>,
    /// Completion tokens (default 0).
    #[schemars(range(min = 0))]
    output: Option<f64>,
    /// Prompt tokens read from a cache (default `input`).
    #[schemars(range(min = 0))]
    cached_input: Option<f64>,
    /// Prompt tokens written to a cache, Anthropic (default `input`).
    #[schemars(range(min = 0))]
    cache_write: Option<f64>,
}
