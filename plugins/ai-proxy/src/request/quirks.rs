//! Provider-specific changes to a request body in OpenAI's protocol (the table's `Quirks`),
//! applied after model mapping, to a client's body or to one translated from Anthropic's.

use crate::api::Api;
use crate::json::JsonDoc;
use crate::provider::Provider;
use serde_json::{json, Value};

/// What a translated request said about reasoning (the written body only has
/// `reasoning_effort`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Reasoning {
    /// The request was translated from Anthropic's protocol.
    pub translated: bool,
    /// Its thinking budget, if it asked for thinking with one.
    pub budget: Option<u64>,
}

/// Applies `provider`'s quirks to a request to `api`.
pub fn apply(doc: &mut JsonDoc, provider: &Provider, api: Api, reasoning: Reasoning) {
    let quirks = provider.spec.quirks;
    if api == Api::ChatCompletion {
        if let Some(schema) = provider.json_schema.as_deref() {
            doc.set_raw(&["response_format"], schema);
        }
        if quirks.thinking_switch {
            thinking_switch(doc, reasoning);
        }
        if quirks.reasoning_budget {
            reasoning_budget(doc, reasoning);
        }
    }
    if quirks.doubao {
        match api {
            Api::Responses => {
                doc.remove(&["parallel_tool_calls"]);
                doc.remove(&["tool_choice"]);
            }
            Api::ImageGeneration if !doc.exists(&["watermark"]) => {
                doc.set(&["watermark"], &Value::Bool(false));
            }
            _ => {}
        }
    }
}

/// Zhipu takes `thinking: {type: enabled|disabled}`, not `reasoning_effort`. A translated
/// request that asked for no thinking says so (Zhipu's models think by default).
fn thinking_switch(doc: &mut JsonDoc, reasoning: Reasoning) {
    let effort = doc.str(&["reasoning_effort"]).filter(|e| !e.is_empty());
    if effort.is_some() {
        doc.set(&["thinking"], &json!({"type": "enabled"}));
        doc.remove(&["reasoning_effort"]);
    } else if reasoning.translated {
        doc.set(&["thinking"], &json!({"type": "disabled"}));
    }
}

/// OpenRouter takes a budget as `reasoning.max_tokens` (`reasoning_max_tokens` in Higress's
/// extension of OpenAI's protocol, or a translated Anthropic thinking budget), instead of
/// `reasoning_effort`.
fn reasoning_budget(doc: &mut JsonDoc, reasoning: Reasoning) {
    let given = doc.value(&["reasoning_max_tokens"]).and_then(|v| v.as_u64()).filter(|b| *b > 0);
    let Some(budget) = given.or(reasoning.budget.filter(|b| *b > 0)) else { return };
    doc.remove(&["reasoning_effort"]);
    doc.remove(&["reasoning_max_tokens"]);
    doc.set(&["reasoning", "max_tokens"], &Value::from(budget));
}
