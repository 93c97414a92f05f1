//! A request translated to the provider's protocol (an OpenAI client to Claude, an Anthropic
//! client to an OpenAI-style provider) through the chat model of `higress_ai`.

use super::quirks::{self, Reasoning};
use crate::api::Api;
use crate::flow::Flow;
use crate::json::JsonDoc;
use crate::provider::Provider;
use higress_ai::chat::{Part, Request};
use serde_json::{json, Value};

/// Claude Code's system prompt, sent when a request in `claudeCodeMode` has none.
const CLAUDE_CODE_PROMPT: &str = "You are Claude Code, Anthropic's official CLI for Claude.";

/// The body to send for `body` (already checked to be a JSON object); an error names what
/// the client's request got wrong.
pub fn convert(body: &[u8], provider: &Provider, flow: &mut Flow) -> Result<Vec<u8>, String> {
    let value: Value = serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))?;
    let mut request = flow.client.read_request(&value).map_err(|e| e.to_string())?;
    let model = provider.mapping.map(&request.model).into_owned();
    if model.is_empty() {
        return Err("model: missing".into());
    }
    request.model = model.clone();
    flow.model = Some(model);
    flow.stream = request.stream;
    if provider.claude.as_ref().is_some_and(|c| c.code_mode) {
        claude_code_system(&mut request);
    }
    let reasoning =
        Reasoning { translated: true, budget: request.params.reasoning.as_ref().and_then(|r| r.budget_tokens) };
    let written = flow.upstream.write_request(&request).to_string().into_bytes();
    if provider.spec.quirks == Default::default() && provider.json_schema.is_none() {
        return Ok(written);
    }
    let mut doc = JsonDoc::parse(&written)?;
    quirks::apply(&mut doc, provider, Api::ChatCompletion, reasoning);
    Ok(doc.into_bytes())
}

/// Claude Code's system prompt form: text blocks, the last one marked for caching (when no
/// block is already: Anthropic takes four breakpoints at most), Claude Code's own prompt
/// when the request has none (Anthropic refuses its OAuth tokens otherwise).
fn claude_code_system(request: &mut Request) {
    if request.system.is_empty() {
        request.system.push(Part::Text { text: CLAUDE_CODE_PROMPT.into(), cache: None });
    }
    let cached = request.system.iter().any(|p| matches!(p, Part::Text { cache: Some(_), .. }));
    let last = request.system.iter_mut().rev().find(|p| matches!(p, Part::Text { .. }));
    if let (false, Some(Part::Text { cache, .. })) = (cached, last) {
        *cache = Some(json!({"type": "ephemeral"}));
    }
}
