//! The provider's key on the request, and none of the client's credentials.
//!
//! Every header a client may carry a key in (`Authorization`, `x-api-key`, `x-goog-api-key`,
//! `x-authorization`, `api-key`, `authHeaderKey`) is removed, then the provider's header is
//! set from the key chosen for the request. Go kept the client's headers it did not
//! overwrite and added `X-HI-ORIGINAL-AUTH` with the client's `Authorization`, so a
//! gateway consumer's key reached the provider. The one exception is key pass-through:
//! providers that may run without `apiTokens` (OpenAI, vLLM, generic) take the client's own
//! key instead, read from `authHeaderKey`, `x-api-key`, `x-authorization` or
//! `Authorization` in that order, and sent in the provider's form.

use crate::api::Api;
use crate::provider::table::{Auth, Keys};
use crate::provider::{keys, Provider};
use higress_sdk::Http;

/// Headers a client's key may come in.
const CLIENT_KEY_HEADERS: &[&str] = &["x-api-key", "x-authorization", "authorization", "api-key", "x-goog-api-key"];

/// Claude Code's identity (`claudeCodeMode`).
const CLAUDE_CODE_AGENT: &str = "claude-cli/2.1.2 (external, cli)";
const CLAUDE_CODE_BETA: &str = "oauth-2025-04-20,interleaved-thinking-2025-05-14,claude-code-20250219";

/// The Anthropic API version sent when a client of an Anthropic-compatible endpoint gave none.
const ANTHROPIC_VERSION: &str = "2023-06-01";

/// Replaces the client's credentials with the provider's key. `anthropic` says the request
/// is sent in Anthropic's protocol to an endpoint that is not Claude's own (DeepSeek's and
/// Qwen's Anthropic-compatible APIs), which then also gets the key as `x-api-key`.
pub fn apply(http: &mut Http, provider: &Provider, api: Option<Api>, anthropic: bool) -> Option<String> {
    // The consumer only decides among several keys of a stateful API: read only then.
    let stateful = provider.keys.len() > 1 && api.is_some_and(Api::is_stateful);
    let consumer = if stateful { http.request_header("x-mse-consumer") } else { None };
    let picked = match &provider.failover {
        // Failover: a healthy key (the consumer's affinity gives way to health).
        Some(failover) if !stateful || consumer.is_none() => failover.pick(&provider.keys),
        _ => keys::pick(&provider.keys, api, consumer.as_deref()),
    };
    let key = match picked {
        Some(key) => Some(key.to_string()),
        None if provider.spec.keys == Keys::PassThrough => client_key(http, provider),
        None => None,
    };
    for header in CLIENT_KEY_HEADERS.iter().copied().chain(provider.auth_header_key.as_deref()) {
        http.remove_request_header(header);
    }
    let key = key.filter(|k| !k.is_empty())?;
    let has_version = anthropic && http.request_header("anthropic-version").is_some();
    for (name, value) in key_headers(provider, &key, anthropic, has_version) {
        http.set_request_header(name, &value);
    }
    Some(key)
}

/// The headers that carry `key` to the provider (`has_version`: the request names its
/// `anthropic-version` already). A retry with another key sends the same.
pub fn key_headers(provider: &Provider, key: &str, anthropic: bool, has_version: bool) -> Vec<(&'static str, String)> {
    let mut headers = Vec::with_capacity(2);
    match provider.spec.auth {
        Auth::Bearer => {
            let bare = key.strip_prefix("Bearer ").unwrap_or(key);
            headers.push(("authorization", ["Bearer ", bare].concat()));
            if anthropic {
                headers.push(("x-api-key", bare.to_string()));
                if !has_version {
                    headers.push(("anthropic-version", ANTHROPIC_VERSION.to_string()));
                }
            }
        }
        Auth::Raw => headers.push(("authorization", key.to_string())),
        Auth::ApiKey => headers.push(("api-key", key.to_string())),
        Auth::Google => headers.push(("x-goog-api-key", key.to_string())),
        Auth::None => {}
        Auth::Anthropic => {
            let claude = provider.claude.as_ref();
            let version = claude.map_or(ANTHROPIC_VERSION, |c| c.version.as_str());
            headers.push(("anthropic-version", version.to_string()));
            if claude.is_some_and(|c| c.code_mode) {
                headers.push(("authorization", ["Bearer ", key].concat()));
                headers.push(("user-agent", CLAUDE_CODE_AGENT.to_string()));
                headers.push(("x-app", "cli".to_string()));
                headers.push(("anthropic-beta", CLAUDE_CODE_BETA.to_string()));
            } else {
                headers.push(("x-api-key", key.to_string()));
            }
        }
    }
    headers
}

/// The client's own key, for providers that pass it through.
fn client_key(http: &Http, provider: &Provider) -> Option<String> {
    let from = |name: &str| http.request_header(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    let key = provider
        .auth_header_key
        .as_deref()
        .and_then(from)
        .or_else(|| from("x-api-key"))
        .or_else(|| from("x-authorization"))
        .or_else(|| from("authorization"))?;
    Some(key.strip_prefix("Bearer ").unwrap_or(&key).to_string())
}
