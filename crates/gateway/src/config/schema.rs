//! Plugin config schemas: every WasmPlugin's configuration is checked against the JSON Schema
//! shipped with its module (`config.schema.json`, generated from the plugin's Rust config
//! types) when the gateway configuration is loaded, so `hgw check` and `hgw serve` name the
//! offending field before any module starts.
//!
//! A schema describes one config object. Which objects a plugin parses is the SDK's rule model,
//! run here as the plugin runs it (`higress_sdk::config::parse_rules`): the global keys when
//! there are any (or when there are no rules), and each rule's keys, on their own or, when the
//! schema's `x-higress.mergeGlobalIntoRules` says so, on top of the global keys minus
//! `x-higress.ruleOnlyKeys`. A module without a schema (a user's own plugin, Higress's Go
//! plugins) is not checked.

use higress_sdk::config::{parse_rules, ConfigError};
use serde_json::Value;
use std::path::{Path, PathBuf};

type Failure = (String, String);

/// One plugin's schema, compiled.
pub struct Schema {
    validator: jsonschema::Validator,
    merge_global: bool,
    rule_only: Vec<String>,
    file: PathBuf,
}

/// Where the JSON the plugin receives came from, to name fields as the user wrote them.
pub enum Origin {
    /// `defaultConfig` + `matchRules`: the `n`th entry of `_rules_` is `spec.matchRules[rules[n]]`.
    Resource { rules: Vec<usize> },
    /// `pluginConfig`, given as the plugin receives it.
    Raw,
}

/// The schema file of the module at `wasm`: `config.schema.json` beside a `plugin.wasm` (as
/// `make build` lays out `dist/`), `<stem>.schema.json` beside any other module file.
pub fn file_for(wasm: &Path) -> PathBuf {
    if wasm.file_name().is_some_and(|n| n == "plugin.wasm") {
        wasm.with_file_name("config.schema.json")
    } else {
        wasm.with_extension("schema.json")
    }
}

impl Schema {
    /// The schema shipped with the module at `wasm`, if there is one.
    pub fn for_module(wasm: &Path) -> Result<Option<Schema>, String> {
        let file = file_for(wasm);
        let text = match std::fs::read_to_string(&file) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("{}: {e}", file.display())),
        };
        let schema: Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", file.display()))?;
        Schema::new(&schema, file).map(Some)
    }

    /// Compiles `schema` (read from `file`).
    pub fn new(schema: &Value, file: PathBuf) -> Result<Schema, String> {
        let validator = jsonschema::validator_for(schema)
            .map_err(|e| format!("{}: not a valid JSON Schema: {e}", file.display()))?;
        let meta = schema.get("x-higress");
        let merge_global = meta.and_then(|m| m.get("mergeGlobalIntoRules")).and_then(Value::as_bool) == Some(true);
        let rule_only = meta
            .and_then(|m| m.get("ruleOnlyKeys"))
            .and_then(Value::as_array)
            .map(|keys| keys.iter().filter_map(Value::as_str).map(str::to_string).collect())
            .unwrap_or_default();
        Ok(Schema { validator, merge_global, rule_only, file })
    }

    /// Checks the configuration a plugin receives (`None`: an empty one) as the plugin will
    /// parse it, through the SDK's own rule model; the error names the field
    /// (`spec.matchRules[1].config.allow[0]`).
    pub fn check(&self, config: Option<&Value>, origin: &Origin) -> Result<(), Failure> {
        let bytes = config.map(Value::to_string).unwrap_or_default();
        let rule_only: Vec<&str> = self.rule_only.iter().map(String::as_str).collect();
        let merge = self.merge_global.then_some(rule_only.as_slice());
        let parsed = parse_rules(bytes.as_bytes(), merge, |object, _| match self.validate(&object) {
            None => Ok(()),
            Some((path, message)) => Err(ConfigError::at(path, message)),
        });
        match parsed {
            Ok(_) => Ok(()),
            Err(error) => Err((label(error.path(), origin), error.message().to_string())),
        }
    }

    /// Validates one config object: the first error's field path and message, if any.
    fn validate(&self, instance: &Value) -> Option<(String, String)> {
        let error = self.validator.iter_errors(instance).next()?;
        let field = field_path(instance, error.instance_path().as_str());
        let schema = self.file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        Some((field, format!("{error} (the plugin's {schema})")))
    }
}

/// A field path of the plugin's JSON (`consumers[0]`, `_rules_[2].allow[0]`) as the resource
/// spells it (`spec.defaultConfig.consumers[0]`, `spec.matchRules[5].config.allow[0]`).
fn label(path: &str, origin: &Origin) -> String {
    let join = |base: String, rest: &str| match rest {
        "" => base,
        rest if rest.starts_with('[') => format!("{base}{rest}"),
        rest => format!("{base}.{}", rest.trim_start_matches('.')),
    };
    match origin {
        Origin::Raw => join("spec.pluginConfig".into(), path),
        Origin::Resource { rules } => {
            let rule = path.strip_prefix("_rules_[").and_then(|rest| rest.split_once(']'));
            match rule.and_then(|(n, rest)| Some((n.parse::<usize>().ok()?, rest))) {
                Some((n, rest)) => {
                    join(format!("spec.matchRules[{}].config", rules.get(n).copied().unwrap_or(n)), rest)
                }
                None => join("spec.defaultConfig".into(), path),
            }
        }
    }
}

/// The JSON pointer `pointer` into `instance`, written as a user reads a field:
/// `consumers[0].credential`.
fn field_path(instance: &Value, pointer: &str) -> String {
    let mut out = String::new();
    let mut at = Some(instance);
    for raw in pointer.split('/').skip(1) {
        let segment = raw.replace("~1", "/").replace("~0", "~");
        match at {
            Some(Value::Array(items)) => {
                let index = segment.parse::<usize>().ok();
                out.push_str(&format!("[{segment}]"));
                at = index.and_then(|i| items.get(i));
            }
            other => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(&segment);
                at = other.and_then(|v| v.get(&segment));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema(merge: bool) -> Schema {
        let schema = json!({
            "type": "object",
            "properties": {
                "keys": {"type": "array", "items": {"type": "string"}},
                "consumers": {"type": "array", "items": {
                    "type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}},
                "allow": {"type": "array", "items": {"type": "string"}},
            },
            "required": ["keys"],
            "x-higress": {"mergeGlobalIntoRules": merge, "ruleOnlyKeys": ["allow"]},
        });
        Schema::new(&schema, PathBuf::from("config.schema.json")).unwrap()
    }

    #[test]
    fn errors_name_the_field_as_written() {
        let config = json!({"keys": ["k"], "consumers": [{"name": "a"}, {"name": 5}]});
        let (field, message) = schema(false).check(Some(&config), &Origin::Resource { rules: vec![] }).unwrap_err();
        assert_eq!(field, "spec.defaultConfig.consumers[1].name");
        assert!(message.contains("not of type \"string\""), "{message}");
        let config = json!({"_rules_": [{"_match_route_": ["r"], "keys": ["k"], "allow": [1]}]});
        let (field, _) = schema(false).check(Some(&config), &Origin::Resource { rules: vec![3] }).unwrap_err();
        assert_eq!(field, "spec.matchRules[3].config.allow[0]");
        let (field, _) = schema(false).check(Some(&config), &Origin::Raw).unwrap_err();
        assert_eq!(field, "spec.pluginConfig._rules_[0].allow[0]");
    }

    #[test]
    fn rules_are_checked_as_the_sdk_parses_them() {
        let rules = Origin::Resource { rules: vec![0] };
        // Alone, a rule without `keys` misses it; merged over the global keys it does not.
        let config = json!({"keys": ["k"], "_rules_": [{"_match_route_": ["r"], "allow": ["a"]}]});
        assert_eq!(schema(false).check(Some(&config), &rules).unwrap_err().0, "spec.matchRules[0].config");
        schema(true).check(Some(&config), &rules).unwrap();
        // Rules only: no global config to check.
        let config = json!({"_rules_": [{"_match_route_": ["r"], "keys": ["k"]}]});
        schema(false).check(Some(&config), &rules).unwrap();
        // No config at all: the plugin parses `{}`.
        assert_eq!(schema(false).check(None, &rules).unwrap_err().0, "spec.defaultConfig");
    }

    #[test]
    fn schema_files_sit_beside_modules() {
        assert_eq!(file_for(Path::new("dist/a/plugin.wasm")), Path::new("dist/a/config.schema.json"));
        assert_eq!(file_for(Path::new("/cache/ab12.wasm")), Path::new("/cache/ab12.schema.json"));
    }
}
