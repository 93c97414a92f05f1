//! The configuration: Higress's keys and defaults (`attributes`, `use_default_attributes`,
//! `use_default_response_attributes`, `value_length_limit`, `disable_openai_usage`,
//! `enable_path_suffixes`, `enable_content_types`, `session_id_header`), plus the price table
//! of the cost extension (`model_prices`).

use crate::attribute::{self, Attribute};
use crate::price::Prices;
use higress_sdk::prelude::*;
use serde::Deserialize;
use serde_json::Value;

/// Go's `value_length_limit` without `use_default_*`.
const DEFAULT_LIMIT: usize = 32_000;
/// With `use_default_attributes` (whole conversations in the log).
const DEFAULT_ATTRIBUTES_LIMIT: usize = 10 << 20;
/// With `use_default_response_attributes`.
const DEFAULT_RESPONSE_ATTRIBUTES_LIMIT: usize = 4_000;
/// The paths the default attribute sets apply to when `enable_path_suffixes` is absent.
const DEFAULT_SUFFIXES: [&str; 2] = ["/completions", "/messages"];

/// `ai-statistics`'s configuration as written.
#[derive(Deserialize, Default)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(default)]
pub struct Config {
    /// Values to record.
    #[cfg_attr(test, schemars(with = "Vec<crate::attribute::Raw>"))]
    attributes: Vec<Value>,
    /// Record `messages`, `question`, `system`, `answer`, `reasoning`, `tool_calls` and the
    /// token details (`attributes` ignored).
    use_default_attributes: bool,
    /// Record the token details only (no body kept).
    use_default_response_attributes: bool,
    /// Longest value written, in bytes (default 32000; 10485760 with
    /// `use_default_attributes`, 4000 with `use_default_response_attributes`): a longer one
    /// keeps its first and last halves.
    #[cfg_attr(test, schemars(range(min = 1)))]
    value_length_limit: Option<i64>,
    /// Read no token usage: no token fields, no counters.
    disable_openai_usage: bool,
    /// Request paths (suffixes, query ignored) the plugin works on; `*` means every path
    /// (default: every path; `/completions`, `/messages` with the default attributes).
    enable_path_suffixes: Option<Vec<String>>,
    /// Reply content types (substrings) whose bodies are read; `*` means every type
    /// (default: every type).
    enable_content_types: Option<Vec<String>>,
    /// The header holding a session id (`ai_log.session_id`), tried before the agents'
    /// session headers.
    session_id_header: Option<String>,
    /// Extension: model (or `*`) → prices per million tokens; a reply's cost goes to
    /// `ai_log.cost` and the `cost_micros` counter.
    #[cfg_attr(test, schemars(with = "Option<crate::schema::ModelPrices>"))]
    model_prices: Option<Value>,
    #[serde(skip)]
    pub compiled: Compiled,
}

/// What the configuration compiles to.
#[derive(Debug, Default)]
pub struct Compiled {
    pub attributes: Vec<Attribute>,
    /// The longest value written (longer ones keep their head and tail).
    pub limit: usize,
    /// No usage read, no token or duration metric (`disable_openai_usage`).
    pub usage_off: bool,
    /// Path suffixes the plugin works on (empty: every path).
    pub path_suffixes: Vec<String>,
    /// Reply content types the plugin reads (substrings; empty: every type).
    pub content_types: Vec<String>,
    /// `session_id_header`, tried before the default session headers.
    pub session_header: Option<String>,
    pub prices: Prices,
}

impl Config {
    /// Checks and compiles; errors name the field.
    pub fn compile(&mut self) -> Result<(), ConfigError> {
        let limit = match self.value_length_limit {
            Some(n) if n > 0 => n as usize,
            Some(n) => return Err(ConfigError::at("value_length_limit", format!("{n}: expected a positive number"))),
            None if self.use_default_attributes => DEFAULT_ATTRIBUTES_LIMIT,
            None if self.use_default_response_attributes => DEFAULT_RESPONSE_ATTRIBUTES_LIMIT,
            None => DEFAULT_LIMIT,
        };
        let attributes = if self.use_default_attributes {
            attribute::defaults()
        } else if self.use_default_response_attributes {
            attribute::response_defaults()
        } else {
            self.attributes
                .iter()
                .enumerate()
                .map(|(i, raw)| Attribute::parse(raw, &format!("attributes[{i}]")))
                .collect::<Result<_, _>>()?
        };
        let defaults = self.use_default_attributes || self.use_default_response_attributes;
        let path_suffixes = match &self.enable_path_suffixes {
            None if defaults => DEFAULT_SUFFIXES.iter().map(|s| s.to_string()).collect(),
            None => Vec::new(),
            Some(list) if list.iter().any(|s| s == "*") => Vec::new(),
            Some(list) => list.iter().filter(|s| !s.is_empty()).cloned().collect(),
        };
        let content_types = match &self.enable_content_types {
            Some(list) if !list.iter().any(|s| s == "*") => list.iter().filter(|s| !s.is_empty()).cloned().collect(),
            _ => Vec::new(),
        };
        let prices = Prices::parse(self.model_prices.as_ref(), "model_prices")?;
        self.compiled = Compiled {
            attributes,
            limit,
            usage_off: self.disable_openai_usage,
            path_suffixes,
            content_types,
            session_header: self.session_id_header.clone().filter(|h| !h.is_empty()).map(|h| h.to_ascii_lowercase()),
            prices,
        };
        Ok(())
    }
}

impl Compiled {
    /// Whether requests to `path` (query ignored) are counted.
    pub fn takes_path(&self, path: &str) -> bool {
        let path = path.split('?').next().unwrap_or_default();
        self.path_suffixes.is_empty() || self.path_suffixes.iter().any(|s| path.ends_with(s.as_str()))
    }

    /// Whether replies of `content_type` are read.
    pub fn takes_content_type(&self, content_type: &str) -> bool {
        self.content_types.is_empty() || self.content_types.iter().any(|t| content_type.contains(t.as_str()))
    }
}
