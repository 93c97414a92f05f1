//! Schema-only shapes of the keys the config keeps as JSON values and checks by hand (test
//! builds only: they make `config.schema.json`, never the module).

use schemars::JsonSchema;
use std::collections::BTreeMap;

/// `attributes[]`: a value taken from the request or the reply and written to `ai_log`, to a
/// property of its own, or to the trace span. A built-in key (`question`, `system`,
/// `answer`, `reasoning`, `tool_calls`, `reasoning_tokens`, `cached_tokens`,
/// `input_token_details`, `output_token_details`) needs no `value_source`.
#[derive(JsonSchema)]
#[schemars(extend("required" = ["key"], "anyOf" = [
    {"required": ["value_source"], "properties": {"value_source": {"minLength": 1}}},
    {"properties": {"key": {"enum": [
        "question", "system", "answer", "reasoning", "tool_calls", "reasoning_tokens", "cached_tokens",
        "input_token_details", "output_token_details"
    ]}}},
]))]
#[allow(dead_code)]
pub struct Attribute {
    /// Its name (in `ai_log`, as a property, or as a span tag).
    #[schemars(length(min = 1))]
    #[serde(default)]
    key: String,
    /// Where the value comes from; may be left out for the built-in keys.
    #[serde(default)]
    value_source: ValueSource,
    /// The fixed value, the header name, or a GJSON path into the body.
    #[serde(default)]
    value: String,
    /// Written when the source has no value.
    #[serde(default)]
    default_value: String,
    /// For `response_streaming_body`: how the stream's events make one value (without it a
    /// streamed value is not read, as in Go).
    #[serde(default)]
    rule: AttributeRule,
    /// Write it to `ai_log`.
    #[serde(default)]
    apply_to_log: bool,
    /// With `apply_to_log`: write it to a property of its own, named `key`.
    #[serde(default)]
    as_separate_log_field: bool,
    /// Write it as the span tag `trace_span_key`.
    #[serde(default)]
    apply_to_span: bool,
    /// The span tag's name (default: `key`).
    #[serde(default)]
    trace_span_key: String,
}

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
