//! `customSettings`: request parameters the gateway fills in or overrides.
//!
//! In `auto` mode a setting names a parameter of Higress's table (`max_tokens`,
//! `temperature`, `top_p`, `top_k`, `seed`) and is written under the name the request's
//! protocol gives it (OpenAI's unless `protocol: original`, then the provider's own); a name
//! the protocol has no place for is dropped at start (logged). `raw` mode writes the name as
//! given, a dotted path (`a.b` sets `b` inside `a`). `overwrite: false` only fills a
//! parameter the client left out.

use crate::json::JsonDoc;
use higress_sdk::config::ConfigError;
use serde::Deserialize;
use serde_json::Value;

/// One entry of `customSettings`: a request parameter the gateway fills in or overrides.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema), schemars(extend("required" = ["name", "value"])))]
pub struct RawSetting {
    /// The parameter: one of Higress's table (`max_tokens`, `temperature`, `top_p`, `top_k`,
    /// `seed`) in `auto` mode, a dotted path in `raw` mode.
    #[serde(default)]
    pub name: String,
    /// Its value (any JSON).
    #[cfg_attr(test, schemars(with = "Value"))]
    pub value: Option<Value>,
    /// `auto` (default): `name` is written under the protocol's name for it (dropped, logged,
    /// when the protocol has none); `raw`: written as given.
    #[serde(default)]
    #[cfg_attr(test, schemars(with = "Option<crate::schema::SettingMode>"))]
    pub mode: Option<String>,
    /// `false`: only fills a parameter the client left out (default true).
    #[serde(default)]
    pub overwrite: Option<bool>,
}

/// A setting ready to apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomSetting {
    path: Vec<String>,
    value: Vec<u8>,
    overwrite: bool,
}

/// The name a protocol gives a parameter of Higress's table (`None`: it has none).
fn protocol_name(setting: &str, protocol: &str) -> Option<&'static str> {
    let table: &[(&str, &str)] = match setting {
        "max_tokens" => &[
            ("openai", "max_tokens"),
            ("baidu", "max_output_tokens"),
            ("spark", "max_tokens"),
            ("qwen", "max_tokens"),
            ("gemini", "maxOutputTokens"),
            ("claude", "max_tokens"),
            ("minimax", "tokens_to_generate"),
        ],
        "temperature" => &[
            ("openai", "temperature"),
            ("baidu", "temperature"),
            ("spark", "temperature"),
            ("qwen", "temperature"),
            ("gemini", "temperature"),
            ("hunyuan", "Temperature"),
            ("claude", "temperature"),
            ("minimax", "temperature"),
        ],
        "top_p" => &[
            ("openai", "top_p"),
            ("baidu", "top_p"),
            ("qwen", "top_p"),
            ("gemini", "topP"),
            ("hunyuan", "TopP"),
            ("claude", "top_p"),
            ("minimax", "top_p"),
        ],
        "top_k" => &[("spark", "top_k"), ("gemini", "topK"), ("claude", "top_k")],
        "seed" => &[("openai", "seed"), ("qwen", "seed")],
        _ => &[],
    };
    table.iter().find(|(p, _)| *p == protocol).map(|(_, name)| *name)
}

/// Compiles the settings for `protocol` (`openai`, or the provider's type with `protocol:
/// original`). Settings the protocol cannot take are returned apart, by index, to be logged.
pub fn compile(
    raw: &[RawSetting],
    protocol: &str,
    field: &str,
) -> Result<(Vec<CustomSetting>, Vec<String>), ConfigError> {
    let mut settings = Vec::with_capacity(raw.len());
    let mut dropped = Vec::new();
    for (i, setting) in raw.iter().enumerate() {
        let at = format!("{field}[{i}]");
        if setting.name.is_empty() {
            return Err(ConfigError::at(format!("{at}.name"), "missing"));
        }
        let Some(value) = &setting.value else {
            return Err(ConfigError::at(format!("{at}.value"), "missing"));
        };
        let raw_mode = match setting.mode.as_deref() {
            None | Some("auto") => false,
            Some("raw") => true,
            Some(other) => {
                return Err(ConfigError::at(format!("{at}.mode"), format!("`{other}`: expected auto or raw")))
            }
        };
        let name = if raw_mode {
            setting.name.clone()
        } else {
            match protocol_name(&setting.name, protocol) {
                Some(name) => name.to_string(),
                None => {
                    dropped.push(format!("{at} ({} has no place in the {protocol} protocol)", setting.name));
                    continue;
                }
            }
        };
        let name = match protocol {
            "qwen" => format!("parameters.{name}"),
            "gemini" => format!("generation_config.{name}"),
            _ => name,
        };
        settings.push(CustomSetting {
            path: name.split('.').map(str::to_string).collect(),
            value: value.to_string().into_bytes(),
            overwrite: setting.overwrite.unwrap_or(true),
        });
    }
    Ok((settings, dropped))
}

/// Applies `settings` to a request body, in order.
pub fn apply(settings: &[CustomSetting], doc: &mut JsonDoc) {
    for setting in settings {
        let path: Vec<&str> = setting.path.iter().map(String::as_str).collect();
        if !setting.overwrite && doc.exists(&path) {
            continue;
        }
        doc.set_raw(&path, &setting.value);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn raw(value: Value) -> Vec<RawSetting> {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn auto_names_follow_the_protocol() {
        let settings = raw(json!([
            {"name": "max_tokens", "value": 100},
            {"name": "top_k", "value": 3},
            {"name": "temperature", "value": 0.0, "overwrite": false},
            {"name": "a.b", "value": {"x": [1]}, "mode": "raw"}
        ]));
        let (compiled, dropped) = compile(&settings, "openai", "customSettings").unwrap();
        assert_eq!(compiled.len(), 3);
        assert_eq!(dropped.len(), 1);
        assert!(dropped[0].starts_with("customSettings[1]"));
        let mut doc = JsonDoc::parse(br#"{"temperature":1,"max_tokens":5}"#).unwrap();
        apply(&compiled, &mut doc);
        assert_eq!(doc.value(&[]).unwrap(), json!({"temperature": 1, "max_tokens": 100, "a": {"b": {"x": [1]}}}));

        let (compiled, _) = compile(&settings, "qwen", "customSettings").unwrap();
        let mut doc = JsonDoc::parse(b"{}").unwrap();
        apply(&compiled, &mut doc);
        assert_eq!(doc.value(&["parameters", "max_tokens"]), Some(json!(100)));
    }

    #[test]
    fn errors_name_the_field() {
        let err = compile(&raw(json!([{"name": "x", "value": 1, "mode": "magic"}])), "openai", "p.customSettings")
            .unwrap_err();
        assert_eq!(err.path(), "p.customSettings[0].mode");
        let err = compile(&raw(json!([{"name": "x"}])), "openai", "p.customSettings").unwrap_err();
        assert_eq!(err.path(), "p.customSettings[0].value");
        let err = compile(&raw(json!([{"value": 1}])), "openai", "p.customSettings").unwrap_err();
        assert_eq!(err.path(), "p.customSettings[0].name");
    }
}
