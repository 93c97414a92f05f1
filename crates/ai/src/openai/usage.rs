//! Usage as OpenAI reports it, in a reply and in a stream's last chunk.

use crate::scan::write_u64;
use crate::usage::Usage;
use serde_json::{json, Map, Value};

/// `{prompt_tokens, completion_tokens, total_tokens, prompt_tokens_details?: {cached_tokens},
/// completion_tokens_details?: {reasoning_tokens}}`, or `None` when nothing is known.
///
/// `prompt_tokens` counts cached prompt tokens, as OpenAI does ([`Usage::prompt_tokens`]: an
/// Anthropic provider's cache reads and writes are added back, which Go left out).
pub(crate) fn write_usage(usage: &Usage) -> Option<Value> {
    if !usage.is_any_known() {
        return None;
    }
    let prompt = usage.prompt_tokens().unwrap_or(0);
    let completion = usage.output.unwrap_or(0);
    let total = usage.total.unwrap_or_else(|| prompt.saturating_add(completion));
    let mut out = Map::new();
    out.insert("prompt_tokens".into(), prompt.into());
    out.insert("completion_tokens".into(), completion.into());
    out.insert("total_tokens".into(), total.into());
    if let Some(cached) = usage.cache_read {
        out.insert("prompt_tokens_details".into(), json!({"cached_tokens": cached}));
    }
    if let Some(reasoning) = usage.reasoning {
        out.insert("completion_tokens_details".into(), json!({"reasoning_tokens": reasoning}));
    }
    Some(Value::Object(out))
}

/// [`write_usage`]'s JSON (when any count is known), written directly (keys in serde_json's
/// order).
pub(crate) fn write_usage_json(usage: &Usage, out: &mut Vec<u8>) {
    let prompt = usage.prompt_tokens().unwrap_or(0);
    let completion = usage.output.unwrap_or(0);
    let total = usage.total.unwrap_or_else(|| prompt.saturating_add(completion));
    out.extend_from_slice(b"{\"completion_tokens\":");
    write_u64(out, completion);
    if let Some(reasoning) = usage.reasoning {
        out.extend_from_slice(b",\"completion_tokens_details\":{\"reasoning_tokens\":");
        write_u64(out, reasoning);
        out.push(b'}');
    }
    out.extend_from_slice(b",\"prompt_tokens\":");
    write_u64(out, prompt);
    if let Some(cached) = usage.cache_read {
        out.extend_from_slice(b",\"prompt_tokens_details\":{\"cached_tokens\":");
        write_u64(out, cached);
        out.push(b'}');
    }
    out.extend_from_slice(b",\"total_tokens\":");
    write_u64(out, total);
    out.push(b'}');
}
