//! The `WasmPlugin` resource and its translation to plugin JSON, as the Higress controller
//! does it (`pkg/ingress/config/ingress_config.go`, `convertIstioWasmPlugin`):
//!
//! - `pluginConfig`, when set, is used as it is;
//! - otherwise the config is `defaultConfig` (unless `defaultConfigDisable`), and each enabled
//!   match rule becomes an entry of `_rules_`: its `config` plus `_match_route_` (from
//!   `ingress`), `_match_service_` and `_match_domain_`; a rule with none of them is an error;
//! - rules without a global config give `{"_rules_": [...]}` (`{}` when every rule is
//!   disabled); no enabled rule and a disabled default config remove the plugin; no
//!   `defaultConfig` and no rules at all leave the configuration empty.

use serde::Deserialize;
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

/// Where a plugin sits in the chain (Istio's phases, in chain order).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
pub enum Phase {
    /// Before authentication filters.
    #[serde(rename = "AUTHN")]
    Authn,
    /// After authentication, before authorization.
    #[serde(rename = "AUTHZ")]
    Authz,
    /// Before the stats filter.
    #[serde(rename = "STATS")]
    Stats,
    /// At the end of the chain, before the router.
    #[default]
    #[serde(rename = "UNSPECIFIED_PHASE")]
    Unspecified,
}

/// What to do when the plugin cannot run (failed start or trap).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub enum FailStrategy {
    /// Answer 503.
    #[default]
    #[serde(rename = "FAIL_CLOSE")]
    FailClose,
    /// Skip the plugin.
    #[serde(rename = "FAIL_OPEN")]
    FailOpen,
}

/// A plugin ready to load: its module, its JSON configuration, its place in the chain.
#[derive(Debug, Clone)]
pub struct PluginSpec {
    /// `<namespace>.<name>` of the resource (or `name` without a namespace): Istio names the
    /// filter config so, and plugins see it as the `plugin_name` property.
    pub name: String,
    /// The `.wasm` file.
    pub wasm: PathBuf,
    /// The configuration, as the plugin receives it (`None`: empty, as the controller leaves
    /// it when there is neither a `defaultConfig` nor a match rule).
    pub config: Option<Value>,
    /// Phase.
    pub phase: Phase,
    /// Priority within the phase (higher first).
    pub priority: i32,
    /// Fail strategy.
    pub fail_strategy: FailStrategy,
}

impl PluginSpec {
    /// Chain order: phase, then higher priority first, then name.
    pub fn order_key(&self) -> (Phase, i64, String) {
        (self.phase, -i64::from(self.priority), self.name.clone())
    }
}

#[derive(Deserialize)]
pub(super) struct Metadata {
    name: String,
    #[serde(default)]
    namespace: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct MatchRule {
    #[serde(default)]
    ingress: Vec<String>,
    #[serde(default)]
    domain: Vec<String>,
    #[serde(default)]
    service: Vec<String>,
    #[serde(default)]
    config: Option<Value>,
    #[serde(default)]
    config_disable: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Spec {
    url: String,
    #[serde(default)]
    sha256: Option<String>,
    #[serde(default)]
    image_pull_policy: Option<String>,
    #[serde(default)]
    image_pull_secret: Option<String>,
    #[serde(default)]
    default_config: Option<Value>,
    #[serde(default)]
    default_config_disable: bool,
    #[serde(default)]
    match_rules: Vec<MatchRule>,
    #[serde(default)]
    phase: Phase,
    #[serde(default)]
    priority: i32,
    #[serde(default)]
    fail_strategy: FailStrategy,
    #[serde(default)]
    plugin_config: Option<Value>,
}

#[derive(Deserialize)]
pub(super) struct WasmPlugin {
    metadata: Metadata,
    spec: Spec,
}

type Failure = (String, String);

fn object(value: Option<Value>, path: &str) -> Result<Option<Map<String, Value>>, Failure> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(map)) => Ok(Some(map)),
        Some(_) => Err((path.to_string(), "must be an object".into())),
    }
}

impl WasmPlugin {
    /// The plugin to load, or `None` when the resource disables it entirely.
    pub(super) fn into_spec(self, base: &Path) -> Result<Option<PluginSpec>, Failure> {
        let name = match &self.metadata.namespace {
            Some(ns) if !ns.is_empty() => format!("{ns}.{}", self.metadata.name),
            _ => self.metadata.name.clone(),
        };
        if self.metadata.name.is_empty() {
            return Err(("metadata.name".into(), "cannot be empty".into()));
        }
        let spec = self.spec;
        if spec.image_pull_secret.as_deref().is_some_and(|s| !s.is_empty()) {
            return Err((
                "spec.imagePullSecret".into(),
                "not supported by the local gateway: it pulls anonymously (public registries, or a local one)".into(),
            ));
        }
        let wasm =
            super::module::module_path(&spec.url, spec.sha256.as_deref(), spec.image_pull_policy.as_deref(), base)
                .map_err(|(path, reason)| (path, format!("WasmPlugin {name}: {reason}")))?;
        let common = |config: Option<Value>| PluginSpec {
            name: name.clone(),
            wasm: wasm.clone(),
            config,
            phase: spec.phase,
            priority: spec.priority,
            fail_strategy: spec.fail_strategy,
        };
        let schema = super::schema::Schema::for_module(&wasm)
            .map_err(|e| ("spec.url".into(), format!("WasmPlugin {name}: {e}")))?;
        let checked = |config: Option<Value>, origin: super::schema::Origin| match &schema {
            Some(schema) => schema
                .check(config.as_ref(), &origin)
                .map(|_| config)
                .map_err(|(field, reason)| (field, format!("WasmPlugin {name}: {reason}"))),
            None => Ok(config),
        };
        if let Some(raw) = spec.plugin_config.clone() {
            return Ok(Some(common(checked(Some(raw), super::schema::Origin::Raw)?)));
        }
        let mut config =
            if spec.default_config_disable { None } else { object(spec.default_config.clone(), "spec.defaultConfig")? };
        if !spec.match_rules.is_empty() && config.is_none() {
            config = Some(Map::new());
        }
        let mut rules = Vec::new();
        let mut origins = Vec::new();
        for (i, rule) in spec.match_rules.into_iter().enumerate() {
            if rule.config_disable {
                continue;
            }
            origins.push(i);
            let path = format!("spec.matchRules[{i}]");
            let mut entry = object(rule.config, &format!("{path}.config"))?.unwrap_or_default();
            let lists =
                [("_match_route_", rule.ingress), ("_match_service_", rule.service), ("_match_domain_", rule.domain)];
            if lists.iter().all(|(_, l)| l.is_empty()) {
                return Err((path, "a match rule needs ingress, domain or service".into()));
            }
            for (key, list) in lists {
                if !list.is_empty() {
                    entry.insert(key.into(), Value::Array(list.into_iter().map(Value::String).collect()));
                }
            }
            rules.push(Value::Object(entry));
        }
        if rules.is_empty() {
            if spec.default_config_disable {
                return Ok(None);
            }
        } else {
            config.get_or_insert_with(Map::new).insert("_rules_".into(), Value::Array(rules));
        }
        let config = checked(config.map(Value::Object), super::schema::Origin::Resource { rules: origins })?;
        Ok(Some(common(config)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(value: Value) -> Result<Option<PluginSpec>, Failure> {
        let dir = std::env::temp_dir().join("hgw-wasmplugin-test");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("p.wasm"), b"").unwrap();
        let mut doc =
            json!({"metadata": {"name": "p", "namespace": "higress-system"}, "spec": {"url": "file://p.wasm"}});
        doc["spec"].as_object_mut().unwrap().extend(value.as_object().unwrap().clone());
        let plugin: WasmPlugin = serde_json::from_value(doc).unwrap();
        plugin.into_spec(&dir)
    }

    #[test]
    fn default_config_and_rules() {
        let s = spec(json!({
            "defaultConfig": {"a": 1},
            "matchRules": [
                {"ingress": ["default/foo"], "config": {"allow": ["c1"]}},
                {"domain": ["*.example.com"], "service": ["s.static:80"], "config": {"allow": ["c2"]}},
                {"ingress": ["default/off"], "configDisable": true}
            ]
        }))
        .unwrap()
        .unwrap();
        assert_eq!(s.name, "higress-system.p");
        assert_eq!(
            s.config.unwrap(),
            json!({"a": 1, "_rules_": [
                {"allow": ["c1"], "_match_route_": ["default/foo"]},
                {"allow": ["c2"], "_match_service_": ["s.static:80"], "_match_domain_": ["*.example.com"]}
            ]})
        );
    }

    #[test]
    fn disabled_default_config() {
        let s =
            spec(json!({"defaultConfig": {"a": 1}, "defaultConfigDisable": true, "matchRules": [{"domain": ["d"]}]}))
                .unwrap()
                .unwrap();
        assert_eq!(s.config, Some(json!({"_rules_": [{"_match_domain_": ["d"]}]})));
        assert!(spec(json!({"defaultConfig": {"a": 1}, "defaultConfigDisable": true})).unwrap().is_none());
        let all_disabled =
            spec(json!({"defaultConfigDisable": true, "matchRules": [{"domain": ["d"], "configDisable": true}]}))
                .unwrap();
        assert!(all_disabled.is_none());
    }

    #[test]
    fn empty_configs_and_raw_plugin_config() {
        // Neither defaultConfig nor rules: the controller leaves the configuration unset.
        assert_eq!(spec(json!({})).unwrap().unwrap().config, None);
        // Rules that are all disabled still make it an (empty) object.
        let disabled = spec(json!({"matchRules": [{"domain": ["d"], "configDisable": true}]})).unwrap().unwrap();
        assert_eq!(disabled.config, Some(json!({})));
        // A rule without config matches with an empty config.
        let bare = spec(json!({"matchRules": [{"ingress": ["r"]}]})).unwrap().unwrap();
        assert_eq!(bare.config, Some(json!({"_rules_": [{"_match_route_": ["r"]}]})));
        let raw = spec(json!({"pluginConfig": {"raw": true}, "defaultConfig": {"a": 1}})).unwrap().unwrap();
        assert_eq!(raw.config, Some(json!({"raw": true})));
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(spec(json!({"matchRules": [{"config": {}}]})).unwrap_err().0, "spec.matchRules[0]");
        assert_eq!(spec(json!({"defaultConfig": [1]})).unwrap_err().0, "spec.defaultConfig");
        assert_eq!(spec(json!({"url": "ftp://x/y"})).unwrap_err().0, "spec.url");
        assert!(spec(json!({"url": "file://missing.wasm"})).unwrap_err().1.contains("does not exist"));
    }

    #[test]
    fn chain_order() {
        let mk = |name: &str, phase, priority| PluginSpec {
            name: name.into(),
            wasm: PathBuf::new(),
            config: None,
            phase,
            priority,
            fail_strategy: FailStrategy::FailClose,
        };
        let mut plugins = [
            mk("stats", Phase::Stats, 900),
            mk("late", Phase::Unspecified, 1000),
            mk("b", Phase::Authn, 10),
            mk("a", Phase::Authn, 10),
            mk("first", Phase::Authn, 500),
            mk("z", Phase::Authz, 1),
        ];
        plugins.sort_by_key(PluginSpec::order_key);
        let names: Vec<_> = plugins.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["first", "a", "b", "z", "stats", "late"]);
    }
}
