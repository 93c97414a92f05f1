//! A request translated to the provider's protocol (an OpenAI client to Claude, an Anthropic
//! client to an OpenAI-style provider) through the chat model of `higress_ai`.

use super::quirks::{self, Reasoning};
use crate::api::Api;
use crate::flow::Flow;
use crate::json::JsonDoc;
use crate::provider::{vertex, Provider};
use higress_ai::chat::{Part, Request};
use higress_ai::translate::Protocol;
use serde_json::{json, Value};

/// Claude Code's system prompt, sent when a request in `claudeCodeMode` has none.
const CLAUDE_CODE_PROMPT: &str = "You are Claude Code, Anthropic's official CLI for Claude.";

/// The body to send for `body` (already checked to be a JSON object); an error names what
/// the client's request got wrong.
pub fn convert(body: &[u8], provider: &Provider, flow: &mut Flow) -> Result<Vec<u8>, String> {
    let value: Value = serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))?;
    convert_value(&value, provider, flow)
}

/// [`convert`] of a body not checked yet: read once, as a `Value`, with the answers
/// `JsonDoc::parse` and then [`convert`] give (the same error for the same body).
pub fn convert_unchecked(body: &[u8], provider: &Provider, flow: &mut Flow) -> Result<Vec<u8>, String> {
    let object = || body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    match serde_json::from_slice::<Value>(body) {
        Ok(value) if value.is_object() => convert_value(&value, provider, flow),
        Ok(_) => Err("the body is not a JSON object".into()),
        // JsonDoc::parse checks as serde_json's `IgnoredAny` does (which takes lone surrogates).
        Err(e) => match serde_json::from_slice::<serde::de::IgnoredAny>(body) {
            Err(first) => Err(format!("the body is not JSON: {first}")),
            Ok(_) if !object() => Err("the body is not a JSON object".into()),
            Ok(_) => Err(format!("the body is not JSON: {e}")),
        },
    }
}

pub fn convert_value(value: &Value, provider: &Provider, flow: &mut Flow) -> Result<Vec<u8>, String> {
    let mut request = flow.client.read_request(value).map_err(|e| e.to_string())?;
    let model = provider.mapping.map(&request.model).into_owned();
    if model.is_empty() {
        return Err("model: missing".into());
    }
    if let Some(vertex) = &provider.vertex {
        // Vertex serves Anthropic's models in Anthropic's protocol, Google's in Gemini's.
        flow.upstream = vertex.chat_protocol(&model);
    }
    request.model = model.clone();
    flow.model = Some(model);
    flow.stream = request.stream;
    if provider.claude.as_ref().is_some_and(|c| c.code_mode) {
        claude_code_system(&mut request);
    }
    if let Some(file_ids) = &provider.qwen_native {
        // `qwenFileIds`: Qwen-Long reads the files named in a system message, as Go sends them.
        if !file_ids.is_empty() && request.model.starts_with("qwen-long") {
            let text = file_ids.iter().map(|id| format!("fileid://{id}")).collect::<Vec<_>>().join(",");
            request.system.insert(0, Part::Text { text, cache: None });
        }
        flow.native_path = Some(higress_ai::qwen::path(&request));
    }
    let reasoning =
        Reasoning { translated: true, budget: request.params.reasoning.as_ref().and_then(|r| r.budget_tokens) };
    // Straight into bytes (`to_string` goes through `Display`'s formatter, several times
    // slower); writing a `Value` into a `Vec` cannot fail.
    let mut body = flow.upstream.write_request(&request).map_err(|e| e.to_string())?;
    let gemini = provider.gemini.as_ref().or(provider.vertex.as_ref().map(|v| &v.gemini));
    match (gemini, flow.upstream) {
        (Some(gemini), Protocol::Gemini) => gemini.complete(&mut body),
        (_, Protocol::Bedrock) => {
            if let Some(bedrock) = &provider.bedrock {
                bedrock.complete(&mut body);
            }
        }
        (_, Protocol::Anthropic) if provider.vertex.is_some() => {
            // The model is in the path; the API version in the body.
            if let Value::Object(body) = &mut body {
                body.remove("model");
                body.insert("anthropic_version".into(), vertex::ANTHROPIC_VERSION.into());
            }
        }
        _ => {}
    }
    let written = serde_json::to_vec(&body).unwrap_or_default();
    // Tidied as an OpenAI request, as Go does after translating an Anthropic one (an OpenAI
    // client's was tidied before).
    let tidies = flow.upstream == Protocol::OpenAi && provider.tidy.is_active();
    if provider.spec.quirks == Default::default() && provider.json_schema.is_none() && !tidies {
        return Ok(written);
    }
    let mut doc = JsonDoc::parse(&written)?;
    if tidies {
        provider.tidy.apply(&mut doc);
    }
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::provider::build;

    /// What the body phase answered before translated bodies were read once: `JsonDoc` first,
    /// then [`convert`].
    fn checked_then_converted(body: &[u8], provider: &Provider, flow: &mut Flow) -> Result<Vec<u8>, String> {
        let doc = JsonDoc::parse(body)?;
        convert(doc.as_bytes(), provider, flow)
    }

    #[test]
    fn a_body_read_once_gets_the_answers_it_got() {
        let provider =
            build(serde_json::from_value(json!({"type": "claude", "apiTokens": ["k"]})).unwrap(), "p", None).unwrap();
        let bodies: [&[u8]; 12] = [
            br#"{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true}"#,
            b"",
            b"  ",
            b"[1]",
            b" \"x\"",
            b"{\"a\":",
            b"{\"model\":\"m\",\"messages\":[]} x",
            br#"{"model":"m","messages":[{"role":"user","content":"\ud800"}]}"#,
            br#"{"model":"m","messages":[{"role":"user","content":"hi"}],"temperature":1e999}"#,
            br#"{"model":"m","messages":"no"}"#,
            br#"{"messages":[{"role":"user","content":"hi"}]}"#,
            b"\n{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"a\"}]}],\"max_tokens\":5}\t",
        ];
        for body in bodies {
            let (mut once, mut twice) = (
                Flow::new(Some(Api::ChatCompletion), Protocol::OpenAi, Protocol::Anthropic),
                Flow::new(Some(Api::ChatCompletion), Protocol::OpenAi, Protocol::Anthropic),
            );
            let got = convert_unchecked(body, &provider, &mut once);
            let expected = checked_then_converted(body, &provider, &mut twice);
            assert_eq!(got, expected, "{}", String::from_utf8_lossy(body));
            assert_eq!((once.stream, once.model), (twice.stream, twice.model));
        }
    }
}
