//! The configuration, in either of Go's forms: `rules: [...]`, or one rule's keys at the top
//! level (the old form). Both compile to [`Responses`].

use crate::reply::Reply;
use crate::status::{Pattern, StatusTable};
use higress_sdk::prelude::*;
use serde::de::{self, Deserializer, Visitor};
use std::fmt;

/// `custom-response`'s configuration (global or one `_rules_` entry).
#[derive(Deserialize)]
pub struct Config {
    /// The new form: several replies. When present, the top-level rule keys are ignored.
    #[serde(default)]
    rules: Option<Vec<RuleConfig>>,
    /// The old form: one rule's keys at the top level. (Not `#[serde(flatten)]` of a
    /// `RuleConfig`: flattened fields lose their path in config errors.)
    #[serde(default)]
    status_code: Option<Text>,
    #[serde(default)]
    headers: Option<Vec<String>>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    enable_on_status: Option<Vec<Text>>,
    /// What the config compiles to.
    #[serde(skip)]
    pub responses: Responses,
}

/// One rule.
#[derive(Deserialize)]
struct RuleConfig {
    #[serde(default)]
    status_code: Option<Text>,
    #[serde(default)]
    headers: Option<Vec<String>>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
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

/// A value Go reads as text: a string or an integer (`404` or `"404"`, `"4xx"`).
struct Text(String);

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
