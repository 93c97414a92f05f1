//! `modelMapping`: the model a client asks for, renamed for the provider.
//!
//! Keys are exact names, prefixes (`gpt-4-*`), regular expressions (`~gpt-(.*)`, the target
//! may use `$1`) or `*` (anything). A model is mapped by the first that matches, in a fixed
//! order: the exact name, then the longest matching prefix, then the regular expressions in
//! the order the config lists them, then `*`. Go tried prefixes and regular expressions in
//! Go's map order, which changes from one VM start to the next, so two overlapping keys
//! could each win. An empty target keeps the model asked for.

use higress_dfa::Pattern;
use higress_sdk::config::ConfigError;
use std::borrow::Cow;

/// A compiled `modelMapping`.
#[derive(Debug, Default)]
pub struct ModelMapping {
    exact: Vec<(String, String)>,
    /// Longest prefix first.
    prefixes: Vec<(String, String)>,
    regexes: Vec<(Pattern, String)>,
    wildcard: Option<String>,
}

impl ModelMapping {
    /// Compiles `entries` (key, target), in the config's order. `field` names the mapping
    /// in errors (`provider.modelMapping`).
    pub fn compile(entries: &[(String, String)], field: &str) -> Result<ModelMapping, ConfigError> {
        let mut mapping = ModelMapping::default();
        for (key, target) in entries {
            if key == "*" {
                mapping.wildcard = Some(target.clone());
            } else if let Some(pattern) = key.strip_prefix('~') {
                let regex = Pattern::new(pattern).map_err(|e| {
                    ConfigError::at(format!("{field}.{key}"), format!("invalid regular expression: {e}"))
                })?;
                mapping.regexes.push((regex, target.clone()));
            } else if let Some(prefix) = key.strip_suffix('*') {
                // Longest prefix first; among prefixes of one length, the config's order (a
                // stable sort, without the stable sort's code: some 10 KB of wasm).
                let at = mapping.prefixes.partition_point(|(longer, _)| longer.len() >= prefix.len());
                mapping.prefixes.insert(at, (prefix.to_string(), target.clone()));
            } else {
                mapping.exact.push((key.clone(), target.clone()));
            }
        }
        Ok(mapping)
    }

    /// The model to send for `model`: `model` itself when nothing matches or the match's
    /// target is empty.
    pub fn map<'m>(&self, model: &'m str) -> Cow<'m, str> {
        let target = self.find(model);
        match target {
            Some(Cow::Borrowed(target)) if !target.is_empty() => Cow::Owned(target.to_string()),
            Some(Cow::Owned(target)) if !target.is_empty() => Cow::Owned(target),
            _ => Cow::Borrowed(model),
        }
    }

    fn find<'s>(&'s self, model: &str) -> Option<Cow<'s, str>> {
        if let Some((_, target)) = self.exact.iter().find(|(key, _)| key == model) {
            return Some(Cow::Borrowed(target));
        }
        if let Some((_, target)) = self.prefixes.iter().find(|(prefix, _)| model.starts_with(prefix.as_str())) {
            return Some(Cow::Borrowed(target));
        }
        for (regex, target) in &self.regexes {
            if regex.is_match(model) {
                return Some(Cow::Owned(regex.regex().replace_all(model, target.as_str()).into_owned()));
            }
        }
        self.wildcard.as_deref().map(Cow::Borrowed)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn mapping(entries: &[(&str, &str)]) -> ModelMapping {
        let entries: Vec<(String, String)> = entries.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        ModelMapping::compile(&entries, "modelMapping").unwrap()
    }

    #[test]
    fn exact_then_longest_prefix_then_regexes_in_order_then_wildcard() {
        let m = mapping(&[
            ("*", "fallback"),
            ("~^gpt-(.*)$", "re-$1"),
            ("gpt-*", "short-prefix"),
            ("gpt-4-*", "long-prefix"),
            ("~^gpt-4o$", "never: the earlier regex wins"),
            ("gpt-4", "exact"),
            ("claude-*", ""),
        ]);
        assert_eq!(m.map("gpt-4"), "exact");
        assert_eq!(m.map("gpt-4-turbo"), "long-prefix");
        assert_eq!(m.map("gpt-3.5"), "short-prefix");
        assert_eq!(m.map("llama"), "fallback");
        assert_eq!(m.map("claude-3"), "claude-3", "an empty target keeps the model");
        let m = mapping(&[("~^gpt-(.*)$", "re-$1"), ("~^gpt-4o$", "second"), ("*", "any")]);
        assert_eq!(m.map("gpt-4o"), "re-4o");
        assert_eq!(m.map("x"), "any");
        assert_eq!(mapping(&[]).map("same"), "same");
    }

    #[test]
    fn regex_errors_name_the_key() {
        let err = ModelMapping::compile(&[("~(".into(), "x".into())], "provider.modelMapping").unwrap_err();
        assert_eq!(err.path(), "provider.modelMapping.~(");
        assert!(err.message().contains("invalid regular expression"), "{err}");
    }

    #[test]
    fn prefixes_of_one_length_keep_the_config_order() {
        let m = mapping(&[("ab*", "first"), ("a*", "short"), ("ac*", "second")]);
        assert_eq!(m.map("abz"), "first");
        assert_eq!(m.map("acz"), "second");
        assert_eq!(m.map("az"), "short");
    }
}
