//! The configuration, in either of Go's forms: `rules: [...]`, or one rule's keys at the top
//! level (the old form). Both compile to [`Responses`].

use crate::reply::Reply;
use crate::status::{Pattern, StatusTable};
use higress_sdk::prelude::*;
use serde::de::{self, Deserializer, Visitor};
use std::fmt;

/// `custom-response`'s configuration (global or one `_rules_` entry): `rules`, or one rule's
/// keys at the top level (the old form).
#[derive(Deserialize)]
#[cfg_attr(
    test,
    derive(schemars::JsonSchema),
    schemars(extend(
        "if" = {"required": ["rules"], "properties": {"rules": {"type": "array"}}},
        "else" = {"$ref": "#/$defs/RuleConfig"},
    ))
)]
pub struct Config {
    /// The new form: several replies. When present, the top-level rule keys are ignored.
    #[serde(default)]
    #[cfg_attr(test, schemars(length(min = 1)))]
    rules: Option<Vec<RuleConfig>>,
    // The old form: one rule's keys at the top level. (Not `#[serde(flatten)]` of a
    // `RuleConfig`: flattened fields lose their path in config errors.) Their schema is
    // `RuleConfig`'s when `rules` is not set (see the container's `else`).
    /// Old form: status of the reply, 100..599 (default 200).
    #[serde(default)]
    status_code: Option<Text>,
    /// Old form: reply headers as `key=value`.
    #[serde(default)]
    headers: Option<Vec<String>>,
    /// Old form: body of the reply.
    #[serde(default)]
    body: Option<String>,
    /// Old form: statuses this rule replaces (`404`, `4xx`).
    #[serde(default)]
    enable_on_status: Option<Vec<Text>>,
    /// What the config compiles to.
    #[serde(skip)]
    pub responses: Responses,
}

/// One rule: a reply, and the statuses it replaces.
#[derive(Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
struct RuleConfig {
    /// Status of the reply, 100..599 (default 200): an integer or a numeric string.
    #[serde(default)]
    #[cfg_attr(test, schemars(with = "Option<StatusCode>"))]
    status_code: Option<Text>,
    /// Reply headers as `key=value` (split at the first `=`, both trimmed); `content-length`
    /// entries are dropped; a `content-type` entry sets the content type.
    #[serde(default)]
    #[cfg_attr(test, schemars(inner(regex(pattern = r"^\s*[A-Za-z0-9!#$%&'*+.^_`|~-]+\s*="))))]
    headers: Option<Vec<String>>,
    /// Body of the reply.
    #[serde(default)]
    body: Option<String>,
    /// Statuses this rule replaces: exact codes (`404`) or patterns of three digits and `x`
    /// with at least one digit (`4xx`, `40x`, `x04`; `X` works too). Without it, every
    /// request is answered (by the first rule without it, when no rule has it).
    #[serde(default)]
    #[cfg_attr(test, schemars(with = "Option<Vec<StatusPattern>>"))]
    enable_on_status: Option<Vec<Text>>,
}

/// What the plugin does with a stream.
#[derive(Debug, Default)]
pub enum Responses {
    /// Nothing (only before the config is compiled).
    #[default]
    Nothing,
    /// No rule has `enable_on_status`: every request is answered with this reply.
    Always(Reply),
    /// Responses whose status a rule names are replaced by that rule's reply.
    OnStatus { table: StatusTable, replies: Vec<Reply> },
}

impl Config {
    /// Checks and compiles the config. Errors name the field (`rules[1].enable_on_status[0]`).
    pub fn compile(&mut self) -> Result<(), ConfigError> {
        let rules = match self.rules.take() {
            Some(rules) => {
                if self.status_code.is_some()
                    || self.headers.is_some()
                    || self.body.is_some()
                    || self.enable_on_status.is_some()
                {
                    log_warn!(
                        "status_code, headers, body and enable_on_status at the top level are ignored: rules is set"
                    );
                }
                if rules.is_empty() {
                    return Err(ConfigError::at("rules", "cannot be empty"));
                }
                rules.into_iter().enumerate().map(|(i, rule)| (format!("rules[{i}]"), rule)).collect()
            }
            None => {
                let rule = RuleConfig {
                    status_code: self.status_code.take(),
                    headers: self.headers.take(),
                    body: self.body.take(),
                    enable_on_status: self.enable_on_status.take(),
                };
                vec![(String::new(), rule)]
            }
        };
        self.responses = compile(rules)?;
        Ok(())
    }
}

/// The replies of `rules` (each with the path its errors are reported under).
fn compile(rules: Vec<(String, RuleConfig)>) -> Result<Responses, ConfigError> {
    let mut replies = Vec::with_capacity(rules.len());
    let mut patterns: Vec<(Pattern, usize)> = Vec::new();
    let mut default = None;
    for (index, (path, rule)) in rules.into_iter().enumerate() {
        let within = |e: ConfigError| e.within(&path);
        let status = rule.status_code.as_ref().map(|t| t.0.as_str());
        let reply = Reply::new(status, rule.headers.as_deref().unwrap_or_default(), rule.body.unwrap_or_default())
            .map_err(within)?;
        let entries = rule.enable_on_status.unwrap_or_default();
        if entries.is_empty() && default.is_none() {
            // The first rule without enable_on_status answers every request (Go).
            default = Some(index);
        }
        for (j, entry) in entries.iter().enumerate() {
            let error = |message: String| ConfigError::at(format!("enable_on_status[{j}]"), message).within(&path);
            let pattern = Pattern::parse(&entry.0).map_err(error)?;
            if let Some((_, other)) = patterns.iter().find(|(p, _)| *p == pattern) {
                let owner = if path.is_empty() { "an earlier entry".to_string() } else { format!("rules[{other}]") };
                let message = format!("{} is already used by {owner}: each status may appear once", pattern.as_str());
                return Err(error(message));
            }
            patterns.push((pattern, index));
        }
        replies.push(reply);
    }
    if patterns.is_empty() {
        let reply = default.and_then(|i| replies.into_iter().nth(i)).unwrap_or_default();
        return Ok(Responses::Always(reply));
    }
    if let Some(i) = default {
        log_warn!("rules[{i}] has no enable_on_status and is not used: other rules have enable_on_status, so only the statuses they name are replaced");
    }
    Ok(Responses::OnStatus { table: StatusTable::new(&patterns)?, replies })
}

/// What `status_code` accepts: an integer or a numeric string, 100 to 599.
#[cfg(test)]
struct StatusCode;

#[cfg(test)]
impl schemars::JsonSchema for StatusCode {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "StatusCode".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "An HTTP status, 100 to 599: an integer or a numeric string.",
            "anyOf": [
                {"type": "integer", "minimum": 100, "maximum": 599},
                {"type": "string", "pattern": "^\\+?0*[1-5][0-9]{2}$"},
            ],
        })
    }
}

/// What an `enable_on_status` entry accepts: a status code or a pattern like `4xx`.
#[cfg(test)]
struct StatusPattern;

#[cfg(test)]
impl schemars::JsonSchema for StatusPattern {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "StatusPattern".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A status code (`404`, an integer or a string) or a pattern of three digits and `x` with at least one digit (`4xx`, `40x`, `x04`).",
            "anyOf": [
                {"type": "integer", "minimum": 100, "maximum": 999},
                {"type": "string", "pattern": "^([0-9][0-9xX]{2}|[xX][0-9][0-9xX]|[xX]{2}[0-9])$"},
            ],
        })
    }
}

/// A value Go reads as text: a string or an integer (`404` or `"404"`, `"4xx"`).
struct Text(String);

#[cfg(test)]
impl schemars::JsonSchema for Text {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Text".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({"type": ["integer", "string"]})
    }
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl Visitor<'_> for TextVisitor {
            type Value = Text;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an integer or a string")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
        }
        d.deserialize_any(TextVisitor)
    }
}
