//! The request a health check of a key sends (`failover`): Higress's "who are you?" to
//! `healthCheckModel`, as the provider takes a chat request - mapped, translated, on the
//! provider's path, with the key's headers.

use super::{convert, key_headers, route};
use crate::api::Api;
use crate::flow::Flow;
use crate::provider::Provider;
use higress_ai::translate::Protocol;
use serde_json::json;

/// The path, headers and body of a health check of `key` asking `model`.
pub type HealthRequest = (String, Vec<(String, String)>, Vec<u8>);

/// The health check of `key`, or why none can be made.
pub fn health_request(provider: &Provider, model: &str, key: &str) -> Result<HealthRequest, String> {
    let messages = json!([{"role": "user", "content": "who are you?"}]);
    let body = json!({"model": model, "messages": messages});
    let mut flow = Flow::new(Some(Api::ChatCompletion), Protocol::OpenAi, provider.chat_protocol());
    let bytes = if flow.translates() {
        convert::convert_value(&body, provider, &mut flow)?
    } else {
        let mapped = provider.mapping.map(model).into_owned();
        flow.model = Some(mapped.clone());
        serde_json::to_vec(&json!({"model": mapped, "messages": messages})).map_err(|e| e.to_string())?
    };
    let path = match flow.native_path {
        Some(path) => path.to_string(),
        None => route::path(provider, Some(Api::ChatCompletion), "/v1/chat/completions", flow.model.as_deref(), false),
    };
    let mut headers = vec![("content-type".to_string(), "application/json".to_string())];
    let anthropic = flow.upstream == Protocol::Anthropic && provider.spec.name != "claude";
    for (name, value) in key_headers(provider, key, anthropic, false) {
        headers.push((name.to_string(), value));
    }
    Ok((path, headers, bytes))
}
