//! Gemini's settings: the API version of its paths, and what every translated request gets
//! besides the conversation (`geminiSafetySetting`, `geminiThinkingBudget`).
//!
//! A chat request goes to the mapped model's `generateContent` (`streamGenerateContent?alt=sse`
//! when it streams): the path is known only once the body names the model, so it is set in
//! the body phase (the headers wait for it). Calls in Gemini's own protocol
//! (`/v1beta/models/{m}:generateContent`) keep their path, with the provider's key.

use crate::config::settings::ProviderSettings;
use higress_sdk::config::ConfigError;
use serde_json::{Map, Value};

/// Gemini's API version when `apiVersion` names none: the one with every feature used here
/// (system instructions, thinking, function calling).
pub const DEFAULT_VERSION: &str = "v1beta";

/// Gemini's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Gemini {
    /// `apiVersion` (`v1beta`, `v1`).
    pub version: String,
    /// `geminiSafetySetting`: category -> threshold, by category.
    safety: Vec<(String, String)>,
    /// `geminiThinkingBudget`: thinking tokens for requests that ask for none (`0` turns
    /// thinking off, `-1` lets the model decide).
    thinking_budget: Option<i64>,
}

impl Gemini {
    /// Reads the settings of a `gemini` provider at `field`.
    pub fn parse(settings: &ProviderSettings, field: &str) -> Result<Gemini, ConfigError> {
        let version = settings.api_version.trim();
        let version = if version.is_empty() { DEFAULT_VERSION } else { version };
        if !version.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.') {
            return Err(ConfigError::at(format!("{field}.apiVersion"), format!("`{version}` is not an API version")));
        }
        let mut safety = Vec::with_capacity(settings.gemini_safety_setting.len());
        for (category, threshold) in &settings.gemini_safety_setting {
            let Some(threshold) = threshold.as_str() else {
                let at = format!("{field}.geminiSafetySetting.{category}");
                return Err(ConfigError::at(at, "expected a threshold (BLOCK_NONE, BLOCK_ONLY_HIGH, ...)"));
            };
            safety.push((category.clone(), threshold.to_string()));
        }
        Ok(Gemini { version: version.to_string(), safety, thinking_budget: settings.gemini_thinking_budget })
    }

    /// The path of a chat request to `model`: `/{version}/models/{model}:generateContent`, or
    /// `:streamGenerateContent?alt=sse` for a stream (server-sent events, as the translator
    /// reads them; without `alt=sse` Gemini streams one JSON array).
    pub fn chat_path(&self, model: &str, stream: bool) -> String {
        let model = model.strip_prefix("models/").unwrap_or(model);
        let action = if stream { "streamGenerateContent?alt=sse" } else { "generateContent" };
        format!("/{}/models/{model}:{action}", self.version)
    }

    /// The path of an embeddings request to `model`: `batchEmbedContents`, which takes every
    /// input of the request at once.
    pub fn embeddings_path(&self, model: &str) -> String {
        let model = model.strip_prefix("models/").unwrap_or(model);
        format!("/{}/models/{model}:batchEmbedContents", self.version)
    }

    /// Adds the configured safety settings, and the thinking budget when the request asked for
    /// no reasoning, to a translated request body.
    pub fn complete(&self, body: &mut Value) {
        let Value::Object(body) = body else { return };
        if !self.safety.is_empty() && !body.contains_key("safetySettings") {
            let settings = self
                .safety
                .iter()
                .map(|(category, threshold)| {
                    let mut setting = Map::new();
                    setting.insert("category".into(), category.as_str().into());
                    setting.insert("threshold".into(), threshold.as_str().into());
                    Value::Object(setting)
                })
                .collect();
            body.insert("safetySettings".into(), Value::Array(settings));
        }
        let Some(budget) = self.thinking_budget else { return };
        let config = body.entry("generationConfig").or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(config) = config {
            if !config.contains_key("thinkingConfig") {
                let mut thinking = Map::new();
                thinking.insert("includeThoughts".into(), (budget != 0).into());
                thinking.insert("thinkingBudget".into(), budget.into());
                config.insert("thinkingConfig".into(), Value::Object(thinking));
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn gemini(config: Value) -> Result<Gemini, ConfigError> {
        let settings: ProviderSettings = serde_json::from_value(config).unwrap();
        Gemini::parse(&settings, "provider")
    }

    #[test]
    fn paths_name_the_model_and_the_stream() {
        let g = gemini(json!({"type": "gemini"})).unwrap();
        assert_eq!(g.chat_path("gemini-2.5-flash", false), "/v1beta/models/gemini-2.5-flash:generateContent");
        assert_eq!(g.chat_path("models/gemini-pro", true), "/v1beta/models/gemini-pro:streamGenerateContent?alt=sse");
        let g = gemini(json!({"type": "gemini", "apiVersion": "v1"})).unwrap();
        assert_eq!(g.chat_path("m", false), "/v1/models/m:generateContent");
        let error = gemini(json!({"type": "gemini", "apiVersion": "../x"})).unwrap_err();
        assert_eq!(error.to_string(), "provider.apiVersion: `../x` is not an API version");
    }

    #[test]
    fn safety_settings_and_thinking_budgets_are_added() {
        let g = gemini(json!({"type": "gemini",
            "geminiSafetySetting": {"HARM_CATEGORY_HARASSMENT": "BLOCK_NONE", "HARM_CATEGORY_HATE_SPEECH": "BLOCK_ONLY_HIGH"},
            "geminiThinkingBudget": 2048}))
        .unwrap();
        let mut body = json!({"contents": []});
        g.complete(&mut body);
        assert_eq!(
            body["safetySettings"],
            json!([{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"},
                {"category": "HARM_CATEGORY_HATE_SPEECH", "threshold": "BLOCK_ONLY_HIGH"}])
        );
        assert_eq!(
            body["generationConfig"]["thinkingConfig"],
            json!({"includeThoughts": true, "thinkingBudget": 2048})
        );
        // A request that asked for reasoning keeps its own budget.
        let mut asked = json!({"generationConfig": {"thinkingConfig": {"thinkingBudget": 1024}}});
        g.complete(&mut asked);
        assert_eq!(asked["generationConfig"]["thinkingConfig"], json!({"thinkingBudget": 1024}));
        let error = gemini(json!({"type": "gemini", "geminiSafetySetting": {"X": 1}})).unwrap_err();
        assert!(error.to_string().starts_with("provider.geminiSafetySetting.X: expected a threshold"));
    }
}
