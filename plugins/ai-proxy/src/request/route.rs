//! Where a request goes: the provider's host and the path of the API called, in Higress's
//! order - `basePath` removed, the provider's path, `basePath` prepended, `providerBasePath`
//! - then `providerDomain` over the provider's host.

use crate::api::{self, Api};
use crate::provider::{url, Provider};

/// The path for a request to `api` whose client path (query included) is `path`. `model` is
/// the mapped model once known (Azure and Gemini put it in the path), `stream` whether the
/// request streams (Gemini's stream has its own method).
pub fn path(provider: &Provider, api: Option<Api>, path: &str, model: Option<&str>, stream: bool) -> String {
    let mut out = path.to_string();
    let mut removed = None;
    if let Some(base) = provider.base_path.as_ref().filter(|b| !b.prepend) {
        if let Some(rest) = out.strip_prefix(base.path.as_str()) {
            out = rest.to_string();
            removed = Some(out.clone());
        }
    }
    if !provider.original {
        if let Some(mapped) = provider_path(provider, api, path, model, stream) {
            out = mapped;
        }
    } else if let Some(removed) = removed {
        out = removed;
    }
    if let Some(claude) = &provider.claude {
        if claude.code_mode && !out.contains("beta=true") {
            out.push(if out.contains('?') { '&' } else { '?' });
            out.push_str("beta=true");
        }
    }
    if let Some(base) = provider.base_path.as_ref().filter(|b| b.prepend) {
        if !out.starts_with(base.path.as_str()) {
            out = url::join(&base.path, &out);
        }
    }
    let prefix = provider.provider_base_path.as_str();
    if !prefix.is_empty() && !out.starts_with(prefix) {
        out = format!("{prefix}{out}");
    }
    out
}

/// The provider's own path for the request (`None`: the path is kept).
fn provider_path(
    provider: &Provider,
    api: Option<Api>,
    path: &str,
    model: Option<&str>,
    stream: bool,
) -> Option<String> {
    if let Some(gemini) = &provider.gemini {
        // Chat: the mapped model's method, once known; Gemini's own calls keep their path.
        return match api {
            Some(Api::ChatCompletion) => model.map(|model| gemini.chat_path(model, stream)),
            Some(Api::Embeddings) => model.map(|model| gemini.embeddings_path(model)),
            _ => None,
        };
    }
    if let Some(bedrock) = &provider.bedrock {
        // Chat: the mapped model's Converse; other paths are kept.
        return match api {
            Some(Api::ChatCompletion) => model.map(|model| bedrock.chat_path(model, stream)),
            _ => None,
        };
    }
    if let Some(vertex) = &provider.vertex {
        // Chat and embeddings: the mapped model's method, once known; Vertex's own calls
        // (`/v1/projects/.../models/m:generateContent`) keep their path.
        return api.and_then(|api| vertex.path(api, model, stream));
    }
    if let Some(azure) = &provider.azure {
        let template = api.and_then(|api| provider.path_of(api));
        return Some(azure.path(api, template, path, model));
    }
    if !provider.spec.rewrite_path {
        return None;
    }
    if let Some(fixed) = &provider.fixed_path {
        return Some(fixed.clone());
    }
    let api = api?;
    Some(api::map_path(api, provider.path_of(api)?, path))
}

/// The host the request goes to (`None`: the client's is kept).
pub fn host(provider: &Provider) -> Option<&str> {
    provider.provider_domain.as_deref().or(provider.host.as_deref())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::provider::build;
    use serde_json::{json, Value};

    fn provider(config: Value) -> Provider {
        build(serde_json::from_value(config).unwrap(), "provider", None).unwrap()
    }

    #[test]
    fn base_paths_and_provider_paths_in_higress_order() {
        let p = provider(json!({"type": "baidu", "apiTokens": ["k"], "basePath": "/ai"}));
        assert_eq!(
            path(&p, Some(Api::ChatCompletion), "/ai/v1/chat/completions?x=1", None, false),
            "/v2/chat/completions?x=1"
        );
        let p = provider(json!({"type": "mistral", "apiTokens": ["k"], "basePath": "/ai"}));
        assert_eq!(path(&p, Some(Api::ChatCompletion), "/ai/v1/chat/completions", None, false), "/v1/chat/completions");
        let p =
            provider(json!({"type": "deepseek", "apiTokens": ["k"], "basePath": "/ai", "basePathHandling": "prepend"}));
        assert_eq!(path(&p, Some(Api::ChatCompletion), "/v1/chat/completions", None, false), "/ai/v1/chat/completions");
        let p = provider(json!({"type": "deepseek", "apiTokens": ["k"], "providerBasePath": "/proxy"}));
        assert_eq!(
            path(&p, Some(Api::ChatCompletion), "/v1/chat/completions", None, false),
            "/proxy/v1/chat/completions"
        );
        let p = provider(json!({"type": "deepseek", "apiTokens": ["k"], "protocol": "original", "basePath": "/ai"}));
        assert_eq!(path(&p, Some(Api::ChatCompletion), "/ai/v1/chat/completions", None, false), "/v1/chat/completions");
        let p = provider(json!({"type": "claude", "apiTokens": ["k"], "claudeCodeMode": true}));
        assert_eq!(path(&p, Some(Api::ChatCompletion), "/v1/chat/completions", None, false), "/v1/messages?beta=true");
        let p = provider(json!({"type": "generic", "genericHost": "g.com"}));
        assert_eq!(path(&p, Some(Api::ChatCompletion), "/any/path?q", None, false), "/any/path?q");
        assert_eq!(host(&p), Some("g.com"));
        let p = provider(json!({"type": "openai", "providerDomain": "proxy.local"}));
        assert_eq!(host(&p), Some("proxy.local"));
        assert_eq!(path(&p, None, "/unknown", None, false), "/unknown");
    }
}
