//! The plugin's configuration: one provider (`provider`), or several (`providers`) of which
//! `activeProviderId` names the one in use. A config without an active provider leaves
//! requests alone (Higress's "inert" plugin), so rules can switch the plugin off per route.

mod order;
pub mod settings;

use crate::failover::Fallback;
use crate::provider::{self, Provider};
use higress_sdk::config::{from_value, ConfigContext, ConfigError};
use higress_sdk::log_debug;
use order::Source;
use serde::Deserialize;
use serde_json::Value;
use settings::ProviderSettings;

/// The plugin's config (global, or a rule's: the global keys with the rule's on top).
#[derive(Debug, Default, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(rename_all = "camelCase")]
pub struct Config {
    /// The provider (legacy form; wins over `providers` when it is an object).
    #[serde(default)]
    #[cfg_attr(test, schemars(with = "Option<crate::schema::LegacyProvider>"))]
    provider: Option<Value>,
    /// Several providers, each with an `id`; `activeProviderId` names the one in use.
    #[serde(default)]
    #[cfg_attr(test, schemars(with = "Option<Vec<ProviderSettings>>"))]
    providers: Option<Value>,
    /// The `id` of the provider of `providers` in use; none (or `""`): the plugin leaves
    /// requests untouched, so a rule can switch it off. An id no provider has is a config
    /// error.
    #[serde(default)]
    #[cfg_attr(test, schemars(with = "Option<String>"))]
    active_provider_id: Option<Value>,
    /// Extension: where a failed request goes next - other providers of `providers` (by
    /// id), other models - in order, on `onStatus` statuses or upstream timeouts.
    #[serde(default)]
    #[cfg_attr(test, schemars(with = "Option<crate::schema::Fallback>"))]
    fallback: Option<Value>,
    /// The provider requests go to; `None`: the plugin lets requests through untouched.
    #[serde(skip)]
    active: Option<Provider>,
    /// `fallback`, resolved.
    #[serde(skip)]
    fallback_to: Option<Fallback>,
}

impl Config {
    /// The provider in use.
    pub fn active(&self) -> Option<&Provider> {
        self.active.as_ref()
    }

    /// Where failed requests fall back to.
    pub fn fallback(&self) -> Option<&Fallback> {
        self.fallback_to.as_ref()
    }

    /// Finds and builds the active provider.
    pub fn resolve(&mut self, cx: &ConfigContext) -> Result<(), ConfigError> {
        self.active = match (&self.provider, &self.providers) {
            // The legacy `provider` wins when it is an object.
            (Some(object @ Value::Object(_)), _) => Some(build(object, "provider", cx, Source::Provider)?),
            (Some(Value::Null) | None, None | Some(Value::Null)) => None,
            (Some(Value::Null) | None, Some(Value::Array(list))) => self.pick(list, cx)?,
            (Some(Value::Null) | None, Some(_)) => return Err(ConfigError::at("providers", "expected an array")),
            (Some(_), _) => return Err(ConfigError::at("provider", "expected an object")),
        };
        if let (Some(fallback), Some(_)) = (&self.fallback, &self.active) {
            let list = match &self.providers {
                Some(Value::Array(list)) => list.as_slice(),
                _ => &[],
            };
            self.fallback_to = Fallback::parse(fallback, "fallback", |id, field| {
                let (i, item) = list
                    .iter()
                    .enumerate()
                    .find(|(_, p)| p.get("id").and_then(Value::as_str) == Some(id))
                    .ok_or_else(|| ConfigError::at(field, format!("`{id}` names no provider of `providers`")))?;
                build(item, &format!("providers[{i}]"), cx, Source::Providers(i))
            })?;
        }
        Ok(())
    }

    /// The provider of `list` named by `activeProviderId`: none when no id is given; an
    /// error when the id names none.
    fn pick(&self, list: &[Value], cx: &ConfigContext) -> Result<Option<Provider>, ConfigError> {
        let id = match &self.active_provider_id {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::String(id)) if id.is_empty() => return Ok(None),
            Some(Value::String(id)) => id.clone(),
            Some(_) => return Err(ConfigError::at("activeProviderId", "expected a string")),
        };
        for (i, item) in list.iter().enumerate() {
            let field = format!("providers[{i}]");
            if !item.is_object() {
                return Err(ConfigError::at(field, "expected an object"));
            }
            if item.get("id").and_then(Value::as_str) == Some(id.as_str()) {
                return Ok(Some(build(item, &field, cx, Source::Providers(i))?));
            }
        }
        let known: Vec<&str> = list.iter().filter_map(|p| p.get("id").and_then(Value::as_str)).collect();
        Err(ConfigError::at("activeProviderId", format!("`{id}` names no provider (providers' ids: {known:?})")))
    }
}

fn build(value: &Value, field: &str, cx: &ConfigContext, source: Source) -> Result<Provider, ConfigError> {
    let settings: ProviderSettings = from_value(value.clone()).map_err(|e| e.within(field))?;
    let provider = provider::build(settings, field, order::mapping_keys(cx.scope, source))?;
    log_debug!("{field}: provider `{}` of type {} in use", provider.id, provider.spec.name);
    Ok(provider)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use higress_sdk::config::Scope;
    use serde_json::json;

    fn resolve(config: Value) -> Result<Config, ConfigError> {
        let mut config: Config = serde_json::from_value(config).unwrap();
        config.resolve(&ConfigContext { scope: Scope::Global, has_rules: false })?;
        Ok(config)
    }

    #[test]
    fn providers_and_the_active_one() {
        let list = json!([{"id": "a", "type": "openai"}, {"id": "b", "type": "deepseek", "apiTokens": ["k"]}]);
        let c = resolve(json!({"providers": list, "activeProviderId": "b"})).unwrap();
        assert_eq!(c.active().unwrap().spec.name, "deepseek");
        assert!(resolve(json!({"providers": list})).unwrap().active().is_none(), "no id: inert");
        let err = resolve(json!({"providers": list, "activeProviderId": "z"})).unwrap_err();
        assert_eq!(err.path(), "activeProviderId");
        let err = resolve(json!({"providers": [{"id": "a", "type": "x"}], "activeProviderId": "a"})).unwrap_err();
        assert_eq!(err.path(), "providers[0].type");
        let c = resolve(json!({"provider": {"type": "openai"}, "providers": list, "activeProviderId": "b"})).unwrap();
        assert_eq!(c.active().unwrap().spec.name, "openai", "provider wins");
        assert!(resolve(json!({})).unwrap().active().is_none());
        assert_eq!(resolve(json!({"provider": "x"})).unwrap_err().path(), "provider");
        let err = resolve(json!({"provider": {"type": "openai", "apiTokens": "k"}})).unwrap_err();
        assert_eq!(err.path(), "provider.apiTokens");
    }
}
