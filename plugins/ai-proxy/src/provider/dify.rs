//! Dify: OpenAI chat requests sent to a Dify app (`higress_ai::dify`), which `botType`
//! says the kind of: `Chat` (the default) and `Agent` apps at `/v1/chat-messages`,
//! `Completion` apps at `/v1/completion-messages`, `Workflow` apps at `/v1/workflows/run`
//! (with `inputVariable` and `outputVariable`). `difyApiUrl` names a self-hosted Dify: its
//! host, and its path as the API's base (`/v1` when it has none).
//!
//! A Chat or Agent request continues the conversation its `ConversationId` header names (as
//! Go); the reply's `id` is the conversation's.

use super::url;
use crate::config::settings::ProviderSettings;
use higress_ai::dify::{self, App, Kind};
use higress_sdk::config::ConfigError;
use higress_sdk::log_warn;
use serde_json::Value;

/// Dify's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dify {
    /// The app called.
    pub app: App,
    /// `difyApiUrl`'s host (`None`: `api.dify.ai`).
    pub host: Option<String>,
    /// The API's base path (`/v1`).
    base: String,
}

impl Dify {
    /// Reads the settings of a `dify` provider at `field`.
    pub fn parse(settings: &ProviderSettings, field: &str) -> Result<Dify, ConfigError> {
        let at = |key: &str| format!("{field}.{key}");
        let kind = match settings.bot_type.trim() {
            "" => Kind::Chat,
            name => Kind::named(name).ok_or_else(|| {
                ConfigError::at(at("botType"), format!("`{name}`: expected Chat, Completion, Agent or Workflow"))
            })?,
        };
        let (input, output) = (settings.input_variable.trim(), settings.output_variable.trim());
        match kind {
            Kind::Workflow if input.is_empty() => {
                return Err(ConfigError::at(
                    at("inputVariable"),
                    "missing: a Workflow app needs the variable the conversation goes in",
                ))
            }
            Kind::Workflow if output.is_empty() => {
                return Err(ConfigError::at(
                    at("outputVariable"),
                    "missing: a Workflow app needs the variable its answer is in",
                ))
            }
            Kind::Chat | Kind::Agent if !input.is_empty() || !output.is_empty() => {
                log_warn!("{}: not used by a {kind:?} app", at("inputVariable"));
            }
            Kind::Completion if !output.is_empty() => {
                log_warn!("{}: not used by a Completion app", at("outputVariable"))
            }
            _ => {}
        }
        let (mut host, mut base) = (None, "/v1".to_string());
        let api_url = settings.dify_api_url.trim();
        if !api_url.is_empty() {
            let (name, path, _) = url::split(api_url);
            if name.is_empty() {
                return Err(ConfigError::at(at("difyApiUrl"), format!("`{api_url}` has no host")));
            }
            host = Some(name.to_string());
            if path != "/" {
                base = url::join(path, "");
            }
        }
        Ok(Dify { app: App::new(kind, input, output), host, base })
    }

    /// The path chat requests go to.
    pub fn chat_path(&self) -> String {
        let api = self.app.kind.path();
        url::join(&self.base, api.strip_prefix("/v1").unwrap_or(api))
    }

    /// A translated Chat or Agent request continuing the conversation `id` (the client's
    /// `ConversationId` header); other requests, and a request without one, as they are.
    pub fn with_conversation(&self, body: Vec<u8>, id: Option<&str>) -> Vec<u8> {
        let Some(id) = id.map(str::trim).filter(|id| !id.is_empty() && self.app.kind.converses()) else {
            return body;
        };
        let Ok(mut value) = serde_json::from_slice::<Value>(&body) else { return body };
        dify::set_conversation(&mut value, id);
        serde_json::to_vec(&value).unwrap_or(body)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn dify(config: Value) -> Result<Dify, ConfigError> {
        let mut config = config;
        config["type"] = json!("dify");
        let settings: ProviderSettings = serde_json::from_value(config).unwrap();
        Dify::parse(&settings, "provider")
    }

    #[test]
    fn the_bot_type_picks_the_path_and_the_url_the_host() {
        let chat = dify(json!({})).unwrap();
        assert_eq!(
            (chat.app.kind, chat.host.as_deref(), chat.chat_path().as_str()),
            (Kind::Chat, None, "/v1/chat-messages")
        );
        let completion = dify(json!({"botType": "Completion"})).unwrap();
        assert_eq!(completion.chat_path(), "/v1/completion-messages");
        assert_eq!(completion.app.input(), "query");
        let workflow =
            dify(json!({"botType": "Workflow", "inputVariable": "q", "outputVariable": "a", "difyApiUrl": "http://dify.local:8080"}))
                .unwrap();
        assert_eq!(
            (workflow.host.as_deref(), workflow.chat_path().as_str()),
            (Some("dify.local:8080"), "/v1/workflows/run")
        );
        let prefixed = dify(json!({"botType": "Agent", "difyApiUrl": "https://x.com/dify/v1/"})).unwrap();
        assert_eq!(
            (prefixed.host.as_deref(), prefixed.chat_path().as_str()),
            (Some("x.com"), "/dify/v1/chat-messages")
        );
    }

    #[test]
    fn settings_are_checked_field_by_field() {
        for (config, message) in [
            (json!({"botType": "chat"}), "provider.botType: `chat`: expected Chat, Completion, Agent or Workflow"),
            (
                json!({"botType": "Workflow"}),
                "provider.inputVariable: missing: a Workflow app needs the variable the conversation goes in",
            ),
            (
                json!({"botType": "Workflow", "inputVariable": "q"}),
                "provider.outputVariable: missing: a Workflow app needs the variable its answer is in",
            ),
            (json!({"difyApiUrl": "https:///v1"}), "provider.difyApiUrl: `https:///v1` has no host"),
        ] {
            assert_eq!(dify(config).unwrap_err().to_string(), message);
        }
    }

    #[test]
    fn a_conversation_is_continued_by_chat_and_agent_apps_only() {
        let body = br#"{"inputs":{},"query":"q","conversation_id":""}"#.to_vec();
        let chat = dify(json!({})).unwrap();
        let continued: Value = serde_json::from_slice(&chat.with_conversation(body.clone(), Some("c-1"))).unwrap();
        assert_eq!(continued["conversation_id"], "c-1");
        assert_eq!(chat.with_conversation(body.clone(), Some(" ")), body);
        let completion = dify(json!({"botType": "Completion"})).unwrap();
        assert_eq!(completion.with_conversation(body.clone(), Some("c-1")), body);
    }
}
