//! Attributes: values taken from the request or the reply and written to `ai_log`, to a
//! property of their own, or to the trace span. Higress's keys: `key`, `value_source`
//! (`fixed_value`, `request_header`, `request_body`, `response_header`, `response_body`,
//! `response_streaming_body`), `value` (a header name or a GJSON path), `default_value`,
//! `rule` (`first`, `replace`, `append`: how a stream's events make one value),
//! `apply_to_log`, `as_separate_log_field`, `apply_to_span`, `trace_span_key`.
//!
//! Built-in keys need no source: `question`, `system`, `answer`, `reasoning`, `tool_calls`,
//! `reasoning_tokens`, `cached_tokens`, `input_token_details`, `output_token_details`.

use higress_ai::path::Path;
use higress_sdk::prelude::*;
use serde::Deserialize;
use serde_json::Value;

/// Where a value comes from (`value_source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(test, derive(schemars::JsonSchema), schemars(rename_all = "snake_case"))]
pub enum Source {
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
}

impl Source {
    fn parse(name: &str) -> Option<Source> {
        Some(match name {
            "fixed_value" => Source::FixedValue,
            "request_header" => Source::RequestHeader,
            "request_body" => Source::RequestBody,
            "response_header" => Source::ResponseHeader,
            "response_body" => Source::ResponseBody,
            "response_streaming_body" => Source::ResponseStreamingBody,
            _ => return None,
        })
    }
}

/// `rule`: how a stream's events make one value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(test, derive(schemars::JsonSchema), schemars(rename = "AttributeRule", rename_all = "snake_case"))]
pub enum Rule {
    /// No rule (a streamed value is not read, as in Go).
    #[cfg_attr(test, schemars(rename = ""))]
    None,
    /// The first event's value.
    First,
    /// The last event's value.
    Replace,
    /// Every event's text, joined.
    Append,
}

/// The built-in attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builtin {
    Question,
    System,
    Answer,
    Reasoning,
    ToolCalls,
    ReasoningTokens,
    CachedTokens,
    InputTokenDetails,
    OutputTokenDetails,
}

impl Builtin {
    fn of(key: &str) -> Option<Builtin> {
        Some(match key {
            "question" => Builtin::Question,
            "system" => Builtin::System,
            "answer" => Builtin::Answer,
            "reasoning" => Builtin::Reasoning,
            "tool_calls" => Builtin::ToolCalls,
            "reasoning_tokens" => Builtin::ReasoningTokens,
            "cached_tokens" => Builtin::CachedTokens,
            "input_token_details" => Builtin::InputTokenDetails,
            "output_token_details" => Builtin::OutputTokenDetails,
            _ => return None,
        })
    }

    /// The sources it is read from when none is configured.
    fn sources(self) -> &'static [Source] {
        match self {
            Builtin::Question | Builtin::System => &[Source::RequestBody],
            _ => &[Source::ResponseStreamingBody, Source::ResponseBody],
        }
    }
}

/// One attribute, checked.
#[derive(Debug, Clone)]
pub struct Attribute {
    pub key: String,
    /// The configured source (`None`: a built-in's own).
    pub source: Option<Source>,
    /// `value` as written (a fixed value or a header name).
    pub value: String,
    /// `value` compiled as a path, for body sources.
    pub path: Option<Path>,
    pub default_value: String,
    pub rule: Rule,
    pub builtin: Option<Builtin>,
    pub to_log: bool,
    pub separate: bool,
    pub to_span: bool,
    pub span_key: String,
}

/// `attributes[]`: a value taken from the request or the reply and written to `ai_log`, to a
/// property of its own, or to the trace span. A built-in key (`question`, `system`,
/// `answer`, `reasoning`, `tool_calls`, `reasoning_tokens`, `cached_tokens`,
/// `input_token_details`, `output_token_details`) needs no `value_source`.
#[derive(Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema), schemars(rename = "Attribute"))]
#[cfg_attr(test, schemars(extend("required" = ["key"], "anyOf" = [
    {"required": ["value_source"], "properties": {"value_source": {"minLength": 1}}},
    {"properties": {"key": {"enum": [
        "question", "system", "answer", "reasoning", "tool_calls", "reasoning_tokens", "cached_tokens",
        "input_token_details", "output_token_details"
    ]}}},
])))]
pub(crate) struct Raw {
    /// Its name (in `ai_log`, as a property, or as a span tag).
    #[serde(default)]
    #[cfg_attr(test, schemars(length(min = 1)))]
    key: String,
    /// Where the value comes from; may be left out for the built-in keys.
    #[serde(default)]
    #[cfg_attr(test, schemars(with = "crate::schema::ValueSource"))]
    value_source: String,
    /// The fixed value, the header name, or a GJSON path into the body.
    #[serde(default)]
    value: String,
    /// Written when the source has no value.
    #[serde(default)]
    default_value: String,
    /// For `response_streaming_body`: how the stream's events make one value (without it a
    /// streamed value is not read, as in Go).
    #[serde(default)]
    #[cfg_attr(test, schemars(with = "Rule"))]
    rule: String,
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

impl Attribute {
    /// Reads the attribute at `field` (`attributes[2]`).
    pub fn parse(raw: &Value, field: &str) -> Result<Attribute, ConfigError> {
        let raw: Raw = serde_json::from_value(raw.clone())
            .map_err(|e| ConfigError::at(field, format!("not an attribute: {e}")))?;
        if raw.key.is_empty() {
            return Err(ConfigError::at(format!("{field}.key"), "missing"));
        }
        let rule = match raw.rule.as_str() {
            "" => Rule::None,
            "first" => Rule::First,
            "replace" => Rule::Replace,
            "append" => Rule::Append,
            other => {
                return Err(ConfigError::at(
                    format!("{field}.rule"),
                    format!("`{other}`: value of rule must be one of [nil, first, replace, append]"),
                ))
            }
        };
        let builtin = Builtin::of(&raw.key);
        let source = match raw.value_source.as_str() {
            "" if builtin.is_some() => None,
            "" => {
                return Err(ConfigError::at(
                    format!("{field}.value_source"),
                    format!("missing: `{}` is not a built-in attribute", raw.key),
                ))
            }
            name => Some(Source::parse(name).ok_or_else(|| {
                ConfigError::at(
                    format!("{field}.value_source"),
                    format!(
                        "`{name}`: expected fixed_value, request_header, request_body, response_header, response_body \
                         or response_streaming_body"
                    ),
                )
            })?),
        };
        let body = matches!(source, Some(Source::RequestBody | Source::ResponseBody | Source::ResponseStreamingBody));
        let path = if body && !raw.value.is_empty() {
            Some(Path::compile(&raw.value).map_err(|e| ConfigError::at(format!("{field}.value"), e))?)
        } else {
            None
        };
        if source == Some(Source::ResponseStreamingBody) && rule == Rule::None && builtin.is_none() {
            log_warn!(
                "{field}.rule: missing, so `{}` is never read from a stream (as in Go): set first, replace or append",
                raw.key
            );
        }
        Ok(Attribute {
            key: raw.key,
            source,
            value: raw.value,
            path,
            default_value: raw.default_value,
            rule,
            builtin,
            to_log: raw.apply_to_log,
            separate: raw.as_separate_log_field,
            to_span: raw.apply_to_span,
            span_key: raw.trace_span_key,
        })
    }

    /// A built-in written to `ai_log`, with `rule`.
    fn builtin(key: &str, rule: Rule) -> Attribute {
        Attribute {
            key: key.to_string(),
            source: None,
            value: String::new(),
            path: None,
            default_value: String::new(),
            rule,
            builtin: Builtin::of(key),
            to_log: true,
            separate: false,
            to_span: false,
            span_key: String::new(),
        }
    }

    /// Whether it is evaluated at `source`.
    pub fn at(&self, source: Source) -> bool {
        match (self.source, self.builtin) {
            (Some(configured), _) => configured == source,
            (None, Some(builtin)) => builtin.sources().contains(&source),
            (None, None) => false,
        }
    }
}

/// `use_default_attributes`: the conversation, the answer and the token details.
pub fn defaults() -> Vec<Attribute> {
    let mut list = vec![Attribute {
        key: "messages".into(),
        source: Some(Source::RequestBody),
        value: "messages".into(),
        path: Path::compile("messages").ok(),
        ..Attribute::builtin("messages", Rule::None)
    }];
    list.extend([
        Attribute::builtin("question", Rule::None),
        Attribute::builtin("system", Rule::None),
        Attribute::builtin("answer", Rule::Append),
        Attribute::builtin("reasoning", Rule::Append),
        Attribute::builtin("tool_calls", Rule::None),
    ]);
    list.extend(response_defaults());
    list
}

/// `use_default_response_attributes`: the token details only (no body kept).
pub fn response_defaults() -> Vec<Attribute> {
    ["reasoning_tokens", "cached_tokens", "input_token_details", "output_token_details"]
        .into_iter()
        .map(|key| Attribute::builtin(key, Rule::None))
        .collect()
}
