//! Converse's `usage`: `inputTokens` leaves out the tokens read from and written to the
//! prompt cache, which are counted apart (`cacheReadInputTokens`, `cacheWriteInputTokens`), as
//! Anthropic counts them. Go added reads and writes together as OpenAI's `cached_tokens`, so
//! a client was told a cache write (which costs more than input) was a cheap cache hit.

use crate::json::object;
use crate::usage::Usage;
use serde_json::{Map, Value};

/// The usage of a `usage` object (a reply's, or a stream's `metadata`), if `usage` is one.
pub(super) fn read_usage(usage: &Value) -> Option<Usage> {
    let usage = usage.as_object()?;
    let count = |key: &str| usage.get(key).and_then(Value::as_u64);
    // Anthropic's names, so that the usage knows the cached tokens are outside the input.
    let mut anthropic = Map::new();
    for (from, to) in [
        ("inputTokens", "input_tokens"),
        ("outputTokens", "output_tokens"),
        ("cacheReadInputTokens", "cache_read_input_tokens"),
        ("cacheWriteInputTokens", "cache_creation_input_tokens"),
    ] {
        if let Some(n) = count(from) {
            anthropic.insert(to.into(), n.into());
        }
    }
    let mut out = Usage::default();
    out.update(&object([("usage", Value::Object(anthropic))]));
    out.total = count("totalTokens");
    Some(out)
}

/// `{inputTokens, outputTokens, totalTokens, cacheReadInputTokens?, cacheWriteInputTokens?}`
/// (zeros when nothing is known: the three counts are required).
pub(super) fn write_usage(usage: &Usage) -> Value {
    let mut out = Map::new();
    out.insert("inputTokens".into(), usage.uncached_input().unwrap_or(0).into());
    out.insert("outputTokens".into(), usage.output.unwrap_or(0).into());
    out.insert("totalTokens".into(), usage.total_tokens().into());
    if let Some(read) = usage.cache_read {
        out.insert("cacheReadInputTokens".into(), read.into());
    }
    if let Some(write) = usage.cache_creation {
        out.insert("cacheWriteInputTokens".into(), write.into());
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cache_reads_and_writes_stay_apart() {
        let usage = read_usage(&json!({"inputTokens": 12, "outputTokens": 40, "totalTokens": 1852,
            "cacheReadInputTokens": 1600, "cacheWriteInputTokens": 200}))
        .unwrap();
        assert_eq!((usage.input, usage.output, usage.total), (Some(12), Some(40), Some(1852)));
        assert_eq!((usage.cache_read, usage.cache_creation), (Some(1600), Some(200)));
        // OpenAI's prompt_tokens count every prompt token; Anthropic's input_tokens the uncached.
        assert_eq!((usage.prompt_tokens(), usage.uncached_input()), (Some(1812), Some(12)));
        assert_eq!(
            write_usage(&usage),
            json!({"inputTokens": 12, "outputTokens": 40, "totalTokens": 1852,
                "cacheReadInputTokens": 1600, "cacheWriteInputTokens": 200})
        );
        assert_eq!(read_usage(&json!("x")), None);
        assert_eq!(write_usage(&Usage::default()), json!({"inputTokens": 0, "outputTokens": 0, "totalTokens": 0}));
    }

    #[test]
    fn an_openai_usage_has_its_cached_tokens_taken_out_of_the_input() {
        let mut openai = Usage::default();
        openai.update(&json!({"usage": {"prompt_tokens": 100, "completion_tokens": 5, "total_tokens": 105,
            "prompt_tokens_details": {"cached_tokens": 60}}}));
        assert_eq!(
            write_usage(&openai),
            json!({"inputTokens": 40, "outputTokens": 5, "totalTokens": 105, "cacheReadInputTokens": 60})
        );
    }
}
