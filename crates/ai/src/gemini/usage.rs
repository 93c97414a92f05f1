//! `usageMetadata`: Gemini counts thoughts apart from the candidates' tokens; the model (and
//! OpenAI's `completion_tokens`) counts them in the output.

use crate::usage::Usage;
use serde_json::{Map, Value};

/// The usage of a reply or stream chunk's `usageMetadata`, if it has one.
pub(super) fn read_usage(body: &Value) -> Option<Usage> {
    let meta = body.get("usageMetadata").filter(|m| m.is_object())?;
    let count = |key: &str| meta.get(key).and_then(Value::as_u64);
    let (candidates, thoughts) = (count("candidatesTokenCount"), count("thoughtsTokenCount"));
    let mut usage = Usage::default();
    usage.input = count("promptTokenCount");
    usage.output = match (candidates, thoughts) {
        (None, None) => None,
        (c, t) => Some(c.unwrap_or(0).saturating_add(t.unwrap_or(0))),
    };
    usage.total = count("totalTokenCount");
    usage.cache_read = count("cachedContentTokenCount");
    usage.reasoning = thoughts;
    Some(usage)
}

/// `usageMetadata` for `usage`, or `None` when nothing is known.
pub(super) fn write_usage(usage: &Usage) -> Option<Value> {
    if !usage.is_any_known() {
        return None;
    }
    let prompt = usage.prompt_tokens().unwrap_or(0);
    let output = usage.output.unwrap_or(0);
    let thoughts = usage.reasoning.unwrap_or(0).min(output);
    let mut meta = Map::new();
    meta.insert("promptTokenCount".into(), prompt.into());
    meta.insert("candidatesTokenCount".into(), (output - thoughts).into());
    meta.insert("totalTokenCount".into(), usage.total.unwrap_or_else(|| prompt.saturating_add(output)).into());
    if let Some(cached) = usage.cache_read {
        meta.insert("cachedContentTokenCount".into(), cached.into());
    }
    if usage.reasoning.is_some() {
        meta.insert("thoughtsTokenCount".into(), thoughts.into());
    }
    Some(Value::Object(meta))
}
