//! Google Vertex AI: Gemini models (Gemini's protocol under Vertex's paths), `claude*` models
//! (Anthropic's protocol, `rawPredict`), embeddings (`predict`), and the OpenAI-compatible
//! endpoint.
//!
//! Two ways in: **OAuth** with a service account (`vertexAuthKey`, `vertexRegion`,
//! `vertexProjectId`, `vertexAuthServiceName`; the access token comes from `crate::vertex_auth`)
//! on `{region}-aiplatform.googleapis.com` (`global`: the bare host), or **express mode** with
//! `apiTokens` on `aiplatform.googleapis.com/v1/publishers/...`. Express keys go in the
//! `x-goog-api-key` header (Go put them in the URL's `?key=`, where access logs keep them).
//! Paths in Vertex's own protocol (`/v1/projects/.../models/m:generateContent`) keep their
//! path and body and only get the credential.

use super::gemini::Gemini;
use crate::api::Api;
use crate::config::settings::ProviderSettings;
use crate::vertex_auth::OAuth;
use higress_ai::translate::Protocol;
use higress_sdk::config::ConfigError;

/// Vertex's host; regional hosts put the region in front.
const DOMAIN: &str = "aiplatform.googleapis.com";
/// The region whose host is the bare domain.
const GLOBAL: &str = "global";
/// What Anthropic's models on Vertex take in place of the `anthropic-version` header.
pub const ANTHROPIC_VERSION: &str = "vertex-2023-10-16";

/// Vertex's settings.
#[derive(Debug)]
pub struct Vertex {
    /// `vertexRegion` (`""` in express mode).
    region: String,
    /// `vertexProjectId` (`""` in express mode).
    project: String,
    /// `vertexOpenAICompatible`: chat goes untranslated to the OpenAI-compatible endpoint.
    pub openai_compatible: bool,
    /// Safety settings and thinking budget, as Gemini's.
    pub gemini: Gemini,
    /// The service account (`None`: express mode, with `apiTokens`).
    pub oauth: Option<OAuth>,
}

impl Vertex {
    /// Reads the settings of a `vertex` provider at `field`.
    pub fn parse(settings: &ProviderSettings, field: &str, timeout_ms: u64) -> Result<Vertex, ConfigError> {
        let at = |key: &str| format!("{field}.{key}");
        let gemini = Gemini::parse(settings, field)?;
        let has_keys = settings.api_tokens.iter().any(|k| !k.trim().is_empty());
        if has_keys {
            if settings.vertex_openai_compatible {
                return Err(ConfigError::at(
                    at("vertexOpenAICompatible"),
                    "the OpenAI-compatible endpoint needs OAuth (vertexAuthKey), not express mode (apiTokens)",
                ));
            }
            return Ok(Vertex {
                region: String::new(),
                project: String::new(),
                openai_compatible: false,
                gemini,
                oauth: None,
            });
        }
        if settings.vertex_auth_key.trim().is_empty() {
            return Err(ConfigError::at(
                at("vertexAuthKey"),
                "missing: a service account key for OAuth, or apiTokens for express mode",
            ));
        }
        let region = settings.vertex_region.trim();
        let project = settings.vertex_project_id.trim();
        for (key, value) in [("vertexRegion", region), ("vertexProjectId", project)] {
            if value.is_empty() {
                return Err(ConfigError::at(at(key), "missing"));
            }
            if !value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.') {
                return Err(ConfigError::at(at(key), format!("`{value}` cannot be put in a path")));
            }
        }
        let service = settings.vertex_auth_service_name.trim();
        if service.is_empty() {
            return Err(ConfigError::at(at("vertexAuthServiceName"), "missing"));
        }
        let refresh_ahead = settings.vertex_token_refresh_ahead.unwrap_or(60);
        let cache_key = format!("vertex-{region}-{project}-access-token");
        let oauth = OAuth::new(&settings.vertex_auth_key, service, cache_key, refresh_ahead, timeout_ms)
            .map_err(|e| ConfigError::at(at("vertexAuthKey"), e))?;
        Ok(Vertex {
            region: region.to_string(),
            project: project.to_string(),
            openai_compatible: settings.vertex_openai_compatible,
            gemini,
            oauth: Some(oauth),
        })
    }

    /// The host requests go to.
    pub fn host(&self) -> String {
        if self.oauth.is_none() || self.region == GLOBAL {
            DOMAIN.to_string()
        } else {
            format!("{}-{DOMAIN}", self.region)
        }
    }

    /// The protocol a chat request for `model` is sent in.
    pub fn chat_protocol(&self, model: &str) -> Protocol {
        if self.openai_compatible {
            Protocol::OpenAi
        } else if is_claude(model) {
            Protocol::Anthropic
        } else {
            Protocol::Gemini
        }
    }

    /// The path of a request to `api` for `model` (`None`: the client's path is kept).
    /// `model` is the mapped model, once known (the OpenAI-compatible endpoint's path names
    /// none).
    pub fn path(&self, api: Api, model: Option<&str>, stream: bool) -> Option<String> {
        if api == Api::ChatCompletion && self.openai_compatible {
            let (project, region) = (&self.project, &self.region);
            return Some(format!("/v1beta1/projects/{project}/locations/{region}/endpoints/openapi/chat/completions"));
        }
        let model = model?;
        let model = model.strip_prefix("models/").unwrap_or(model);
        let (publisher, action) = match api {
            Api::ChatCompletion if is_claude(model) => {
                ("anthropic", if stream { "streamRawPredict" } else { "rawPredict" })
            }
            Api::ChatCompletion => ("google", if stream { "streamGenerateContent?alt=sse" } else { "generateContent" }),
            Api::Embeddings => ("google", "predict"),
            _ => return None,
        };
        Some(match self.oauth {
            Some(_) => format!(
                "/v1/projects/{}/locations/{}/publishers/{publisher}/models/{model}:{action}",
                self.project, self.region
            ),
            None => format!("/v1/publishers/{publisher}/models/{model}:{action}"),
        })
    }
}

/// Whether `model` is one of Anthropic's (sent in Anthropic's protocol), as Go decides.
fn is_claude(model: &str) -> bool {
    model.starts_with("claude")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn vertex(config: Value) -> Result<Vertex, ConfigError> {
        let settings: ProviderSettings = serde_json::from_value(config).unwrap();
        Vertex::parse(&settings, "provider", 1000)
    }

    #[test]
    fn express_mode_paths_and_host() {
        let v = vertex(json!({"type": "vertex", "apiTokens": ["k"]})).unwrap();
        assert_eq!(v.host(), "aiplatform.googleapis.com");
        assert_eq!(
            v.path(Api::ChatCompletion, Some("gemini-2.5-flash"), true).unwrap(),
            "/v1/publishers/google/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
        );
        assert_eq!(
            v.path(Api::ChatCompletion, Some("claude-sonnet-4@20250514"), false).unwrap(),
            "/v1/publishers/anthropic/models/claude-sonnet-4@20250514:rawPredict"
        );
        assert_eq!(v.chat_protocol("claude-3-haiku"), Protocol::Anthropic);
        assert_eq!(v.chat_protocol("gemini-2.0-flash"), Protocol::Gemini);
        let error = vertex(json!({"type": "vertex", "apiTokens": ["k"], "vertexOpenAICompatible": true})).unwrap_err();
        assert!(error.to_string().starts_with("provider.vertexOpenAICompatible: "), "{error}");
    }

    #[test]
    fn oauth_settings_are_checked_field_by_field() {
        let error = vertex(json!({"type": "vertex"})).unwrap_err();
        assert!(error.to_string().starts_with("provider.vertexAuthKey: missing"), "{error}");
        let error = vertex(json!({"type": "vertex", "vertexAuthKey": "{}"})).unwrap_err();
        assert_eq!(error.to_string(), "provider.vertexRegion: missing");
        let error =
            vertex(json!({"type": "vertex", "vertexAuthKey": "{}", "vertexRegion": "us/x", "vertexProjectId": "p"}))
                .unwrap_err();
        assert_eq!(error.to_string(), "provider.vertexRegion: `us/x` cannot be put in a path");
        let error =
            vertex(json!({"type": "vertex", "vertexAuthKey": "{}", "vertexRegion": "us", "vertexProjectId": "p"}))
                .unwrap_err();
        assert_eq!(error.to_string(), "provider.vertexAuthServiceName: missing");
        let error = vertex(json!({"type": "vertex", "vertexAuthKey": "{}", "vertexRegion": "us",
            "vertexProjectId": "p", "vertexAuthServiceName": "google.dns"}))
        .unwrap_err();
        assert!(error.to_string().starts_with("provider.vertexAuthKey: "), "{error}");
    }
}
