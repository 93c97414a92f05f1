//! Usage as Anthropic reports it.

use crate::json::object;
use crate::scan::write_u64;
use crate::usage::Usage;
use serde_json::Value;

/// `{input_tokens, output_tokens, cache_read_input_tokens?, cache_creation_input_tokens?}`.
///
/// `input_tokens` leaves cached prompt tokens out, as Anthropic counts them
/// ([`Usage::uncached_input`]): from an OpenAI provider, whose `prompt_tokens` include the
/// cached ones, they are taken out (Go counted them twice, in `input_tokens` and in
/// `cache_read_input_tokens`). The cache counts are written when the provider gave them.
pub(super) fn write_usage(usage: &Usage) -> Value {
    let mut out = object([
        ("input_tokens", usage.uncached_input().unwrap_or(0).into()),
        ("output_tokens", usage.output.unwrap_or(0).into()),
    ]);
    if let Some(fields) = out.as_object_mut() {
        if let Some(read) = usage.cache_read {
            fields.insert("cache_read_input_tokens".into(), read.into());
        }
        if let Some(creation) = usage.cache_creation {
            fields.insert("cache_creation_input_tokens".into(), creation.into());
        }
    }
    out
}

/// [`write_usage`]'s JSON, written directly (keys in serde_json's order).
pub(super) fn write_usage_json(usage: &Usage, out: &mut Vec<u8>) {
    out.push(b'{');
    if let Some(creation) = usage.cache_creation {
        out.extend_from_slice(b"\"cache_creation_input_tokens\":");
        write_u64(out, creation);
        out.push(b',');
    }
    if let Some(read) = usage.cache_read {
        out.extend_from_slice(b"\"cache_read_input_tokens\":");
        write_u64(out, read);
        out.push(b',');
    }
    out.extend_from_slice(b"\"input_tokens\":");
    write_u64(out, usage.uncached_input().unwrap_or(0));
    out.extend_from_slice(b",\"output_tokens\":");
    write_u64(out, usage.output.unwrap_or(0));
    out.push(b'}');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cached_tokens_are_not_input_tokens() {
        let mut openai = Usage::default();
        openai.update(&json!({"usage": {"prompt_tokens": 2006, "completion_tokens": 300,
            "prompt_tokens_details": {"cached_tokens": 1920}}}));
        assert_eq!(
            write_usage(&openai),
            json!({"input_tokens": 86, "output_tokens": 300, "cache_read_input_tokens": 1920})
        );
        let mut anthropic = Usage::default();
        anthropic.update(&json!({"usage": {"input_tokens": 12, "output_tokens": 5,
            "cache_read_input_tokens": 100, "cache_creation_input_tokens": 40}}));
        assert_eq!(
            write_usage(&anthropic),
            json!({"input_tokens": 12, "output_tokens": 5, "cache_read_input_tokens": 100,
                "cache_creation_input_tokens": 40})
        );
        assert_eq!(write_usage(&Usage::default()), json!({"input_tokens": 0, "output_tokens": 0}));
    }
}
