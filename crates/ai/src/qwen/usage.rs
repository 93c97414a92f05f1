//! DashScope's `usage`: `input_tokens` (cached ones included, as OpenAI counts them),
//! `output_tokens` (reasoning included), `total_tokens`, `prompt_tokens_details.cached_tokens`
//! and `output_tokens_details.reasoning_tokens`. Go kept only the first three.

use crate::usage::Usage;
use serde_json::{json, Map, Value};

/// The usage of a reply or stream event, if it has one (a stream's is the running total).
pub(super) fn read_usage(body: &Value) -> Option<Usage> {
    let usage = body.get("usage").filter(|u| u.is_object())?;
    let count = |path: &[&str]| path.iter().try_fold(usage, |v, key| v.get(key)).and_then(Value::as_u64);
    let mut out = Usage::default();
    out.input = count(&["input_tokens"]);
    out.output = count(&["output_tokens"]);
    out.total = count(&["total_tokens"]);
    out.cache_read = count(&["prompt_tokens_details", "cached_tokens"]);
    out.reasoning = count(&["output_tokens_details", "reasoning_tokens"]);
    Some(out)
}

/// `usage` for `usage`, or `None` when nothing is known.
pub(super) fn write_usage(usage: &Usage) -> Option<Value> {
    if !usage.is_any_known() {
        return None;
    }
    let input = usage.prompt_tokens().unwrap_or(0);
    let output = usage.output.unwrap_or(0);
    let mut out = Map::new();
    out.insert("input_tokens".into(), input.into());
    out.insert("output_tokens".into(), output.into());
    out.insert("total_tokens".into(), usage.total.unwrap_or_else(|| input.saturating_add(output)).into());
    if let Some(cached) = usage.cache_read {
        out.insert("prompt_tokens_details".into(), json!({"cached_tokens": cached}));
    }
    if let Some(reasoning) = usage.reasoning {
        out.insert("output_tokens_details".into(), json!({"reasoning_tokens": reasoning}));
    }
    Some(Value::Object(out))
}
