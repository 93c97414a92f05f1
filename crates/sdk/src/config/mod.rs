//! Plugin configuration: typed parsing with errors that name the field, and the `_rules_`
//! matcher that picks a config for each request.
//!
//! A config error fails plugin start; its message always carries the path of the offending
//! field (`_rules_[1].consumers[0].credential: missing field`), so a user can fix the YAML
//! without reading plugin code.

mod error;
mod rules;

pub use error::ConfigError;
pub use rules::{parse_rules, strip_port, HostPattern, MatchInput, Matcher, ParsedConfig, Rule, RuleSet, Selected};

use serde::de::DeserializeOwned;

/// Where a config being parsed sits in the plugin configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The global config (the keys beside `_rules_`).
    Global,
    /// The rule at this index of `_rules_`.
    Rule(usize),
}

/// What a plugin's validation hook knows about the config it validates.
#[derive(Debug, Clone, Copy)]
pub struct ConfigContext {
    /// Global config or which rule.
    pub scope: Scope,
    /// Whether the configuration has any `_rules_` (auth plugins derive `global_auth` from it).
    pub has_rules: bool,
}

impl ConfigContext {
    /// True when validating the global config.
    pub fn is_global(&self) -> bool {
        self.scope == Scope::Global
    }

    /// True when validating a rule's config.
    pub fn is_rule(&self) -> bool {
        matches!(self.scope, Scope::Rule(_))
    }
}

/// Deserializes a JSON value into `T`; on failure the error names the field path.
pub fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ConfigError> {
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        let path = if path == "." { String::new() } else { path };
        ConfigError::at(path, err.into_inner().to_string())
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Consumer {
        name: String,
        credential: String,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Conf {
        consumers: Vec<Consumer>,
    }

    #[test]
    fn errors_name_the_field() {
        let err = from_value::<Conf>(
            json!({"consumers": [{"name": "a", "credential": "x"}, {"name": "b", "credential": 5}]}),
        )
        .unwrap_err();
        assert_eq!(err.path(), "consumers[1].credential");
        assert!(err.message().contains("expected a string"), "{err}");
        assert!(err.to_string().starts_with("consumers[1].credential: "));
    }

    #[test]
    fn missing_fields_name_their_parent() {
        let err = from_value::<Conf>(json!({"consumers": [{"name": "a"}]})).unwrap_err();
        assert_eq!(err.path(), "consumers[0]");
        assert!(err.message().contains("missing field `credential`"));
        let err = from_value::<Conf>(json!({})).unwrap_err();
        assert_eq!(err.path(), "");
        assert_eq!(err.to_string(), "missing field `consumers`");
    }
}
