//! Schema-only shapes of the values the config reads by hand (test builds only: they make
//! `config.schema.json`, never the module): an attribute's `value_source` (read as a string),
//! and `model_prices`.

use crate::attribute::Source;
use schemars::JsonSchema;
use std::collections::BTreeMap;

/// `value_source`: where an attribute's value comes from; `""` (or none) for a built-in key.
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum ValueSource {
    /// One of the sources.
    Source(Source),
    /// A built-in key's own sources.
    Builtin(Empty),
}

/// The empty string.
#[derive(JsonSchema)]
#[allow(dead_code)]
pub enum Empty {
    #[serde(rename = "")]
    Empty,
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
