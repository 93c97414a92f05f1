//! Which reply statuses count as failures: regular expressions matched against the whole
//! status (`4.*` matches `429`, not `1429`; Go's were unanchored, so `5.*` matched `200`'s
//! neighbours only by luck and `2` matched every status with a 2 in it).

use higress_sdk::config::ConfigError;
use regex_lite::Regex;
use serde_json::Value;

/// Higress's default: every 4xx and 5xx.
pub const DEFAULT: &[&str] = &["4.*", "5.*"];

/// Status patterns, each anchored.
#[derive(Debug, Clone)]
pub struct Statuses(Vec<Regex>);

impl Statuses {
    /// Reads `value` (an array of patterns; absent: [`DEFAULT`]) found at `field`.
    pub fn parse(value: Option<&Value>, field: &str) -> Result<Statuses, ConfigError> {
        let patterns: Vec<String> = match value {
            None | Some(Value::Null) => DEFAULT.iter().map(|p| p.to_string()).collect(),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, item)| {
                    item.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| ConfigError::at(format!("{field}[{i}]"), "expected a pattern (`5.*`, `429`)"))
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(ConfigError::at(field, "expected an array of status patterns")),
        };
        let mut compiled = Vec::with_capacity(patterns.len());
        for (i, pattern) in patterns.iter().enumerate() {
            let regex = Regex::new(&format!("^(?:{pattern})$"))
                .map_err(|e| ConfigError::at(format!("{field}[{i}]"), format!("`{pattern}`: {e}")))?;
            compiled.push(regex);
        }
        Ok(Statuses(compiled))
    }

    /// Whether `status` (`"429"`) is one of them.
    pub fn matches(&self, status: &str) -> bool {
        self.0.iter().any(|regex| regex.is_match(status))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn patterns_match_whole_statuses() {
        let default = Statuses::parse(None, "f").unwrap();
        assert!(default.matches("429") && default.matches("503") && !default.matches("200"));
        let some = Statuses::parse(Some(&json!(["429", "50[23]"])), "f").unwrap();
        assert!(some.matches("429") && some.matches("503") && !some.matches("500") && !some.matches("4290"));
        let error = Statuses::parse(Some(&json!(["5.*", "("])), "provider.failover.failoverOnStatus").unwrap_err();
        assert!(error.to_string().starts_with("provider.failover.failoverOnStatus[1]: `(`"), "{error}");
        let error = Statuses::parse(Some(&json!([5])), "f").unwrap_err();
        assert_eq!(error.to_string(), "f[0]: expected a pattern (`5.*`, `429`)");
    }
}
