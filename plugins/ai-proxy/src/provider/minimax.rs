//! MiniMax: `minimaxApiType` `v2` (the default) sends chat to ChatCompletion v2
//! (`/v1/text/chatcompletion_v2`), which speaks OpenAI's protocol (the model mapped, nothing
//! else changed); `pro` sends it to ChatCompletion Pro (`/v1/text/chatcompletion_pro?GroupId=
//! <minimaxGroupId>`), translated both ways (`higress_ai::minimax`).

use crate::config::settings::ProviderSettings;
use higress_ai::minimax;
use higress_sdk::config::ConfigError;
use serde_json::Value;

/// MiniMax's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MiniMax {
    /// `minimaxApiType: pro`.
    pub pro: bool,
    /// `minimaxGroupId`.
    group: String,
}

impl MiniMax {
    /// Reads the settings of a `minimax` provider at `field`.
    pub fn parse(settings: &ProviderSettings, field: &str) -> Result<MiniMax, ConfigError> {
        let at = |key: &str| format!("{field}.{key}");
        let pro = match settings.minimax_api_type.trim() {
            "" | "v2" => false,
            "pro" => true,
            other => return Err(ConfigError::at(at("minimaxApiType"), format!("`{other}`: expected v2 or pro"))),
        };
        // A YAML config writes a numeric id as a number (Higress's conformance config does).
        let group = match &settings.minimax_group_id {
            Value::Null => String::new(),
            Value::String(group) => group.trim().to_string(),
            Value::Number(group) => group.to_string(),
            _ => return Err(ConfigError::at(at("minimaxGroupId"), "expected a string or a number")),
        };
        if pro && group.is_empty() {
            return Err(ConfigError::at(at("minimaxGroupId"), "missing: the Pro API (minimaxApiType: pro) needs it"));
        }
        if !group.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            let message = format!("`{group}`: expected a group id (letters, digits, `-`, `_`)");
            return Err(ConfigError::at(at("minimaxGroupId"), message));
        }
        Ok(MiniMax { pro, group })
    }

    /// The path chat requests go to.
    pub fn chat_path(&self) -> String {
        match self.pro {
            true => minimax::pro_path(&self.group),
            false => minimax::V2_PATH.to_string(),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn minimax(config: Value) -> Result<MiniMax, ConfigError> {
        let settings: ProviderSettings = serde_json::from_value(config).unwrap();
        MiniMax::parse(&settings, "provider")
    }

    #[test]
    fn the_api_type_picks_the_path() {
        assert_eq!(minimax(json!({"type": "minimax"})).unwrap().chat_path(), "/v1/text/chatcompletion_v2");
        let pro = minimax(json!({"type": "minimax", "minimaxApiType": "pro", "minimaxGroupId": 1})).unwrap();
        assert_eq!(pro.chat_path(), "/v1/text/chatcompletion_pro?GroupId=1", "a number, as YAML writes it");
        let pro = minimax(json!({"type": "minimax", "minimaxApiType": "pro", "minimaxGroupId": " 17 "})).unwrap();
        assert_eq!(pro.chat_path(), "/v1/text/chatcompletion_pro?GroupId=17");
    }

    #[test]
    fn settings_are_checked_field_by_field() {
        for (config, message) in [
            (
                json!({"minimaxApiType": "pro"}),
                "provider.minimaxGroupId: missing: the Pro API (minimaxApiType: pro) needs it",
            ),
            (json!({"minimaxApiType": "Pro"}), "provider.minimaxApiType: `Pro`: expected v2 or pro"),
            (
                json!({"minimaxApiType": "pro", "minimaxGroupId": [1]}),
                "provider.minimaxGroupId: expected a string or a number",
            ),
            (
                json!({"minimaxApiType": "pro", "minimaxGroupId": "1&x=2"}),
                "provider.minimaxGroupId: `1&x=2`: expected a group id (letters, digits, `-`, `_`)",
            ),
        ] {
            let mut config = config;
            config["type"] = json!("minimax");
            assert_eq!(minimax(config).unwrap_err().to_string(), message);
        }
    }
}
