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
pub fn apply(http: &mut Http, provider: &Provider, api: Option<Api>, anthropic: bool) {
    // The consumer only decides among several keys of a stateful API: read only then.
    let stateful = provider.keys.len() > 1 && api.is_some_and(Api::is_stateful);
    let consumer = if stateful { http.request_header("x-mse-consumer") } else { None };
    let key = match keys::pick(&provider.keys, api, consumer.as_deref()) {
        Some(key) => Some(key.to_string()),
        None if provider.spec.keys == Keys::PassThrough => client_key(http, provider),
        None => None,
    };
    for header in CLIENT_KEY_HEADERS.iter().copied().chain(provider.auth_header_key.as_deref()) {
        http.remove_request_header(header);
    }
    let Some(key) = key.filter(|k| !k.is_empty()) else { return };
    match provider.spec.auth {
        Auth::Bearer => {
            let bare = key.strip_prefix("Bearer ").unwrap_or(&key);
            http.set_request_header("authorization", &["Bearer ", bare].concat());
            if anthropic {
                http.set_request_header("x-api-key", bare);
                if http.request_header("anthropic-version").is_none() {
                    http.set_request_header("anthropic-version", ANTHROPIC_VERSION);
                }
            }
        }
        Auth::Raw => http.set_request_header("authorization", &key),
        Auth::ApiKey => http.set_request_header("api-key", &key),
        Auth::Google => http.set_request_header("x-goog-api-key", &key),
        Auth::None => {}
        Auth::Anthropic => {
            let claude = provider.claude.as_ref();
            let version = claude.map_or(ANTHROPIC_VERSION, |c| c.version.as_str());
            http.set_request_header("anthropic-version", version);
            if claude.is_some_and(|c| c.code_mode) {
                http.set_request_header("authorization", &["Bearer ", &key].concat());
                http.set_request_header("user-agent", CLAUDE_CODE_AGENT);
                http.set_request_header("x-app", "cli");
                http.set_request_header("anthropic-beta", CLAUDE_CODE_BETA);
            } else {
                http.set_request_header("x-api-key", &key);
            }
        }
    }
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
