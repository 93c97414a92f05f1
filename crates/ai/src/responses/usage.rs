//! Usage as the Responses API reports it: `{input_tokens, input_tokens_details: {cached_tokens,
//! cache_write_tokens}, output_tokens, output_tokens_details: {reasoning_tokens},
//! total_tokens}`.

use crate::json::object;
use crate::usage::Usage;
use serde_json::Value;

/// The usage object, or `None` when nothing is known. Every field is written (the SDKs
/// require the details): `input_tokens` counts cached prompt tokens, as OpenAI does
/// ([`Usage::prompt_tokens`]: an Anthropic provider's cache reads and writes are added back).
pub(super) fn write_usage(usage: &Usage) -> Option<Value> {
    if !usage.is_any_known() {
        return None;
    }
    let input = usage.prompt_tokens().unwrap_or(0);
    let output = usage.output.unwrap_or(0);
    let total = usage.total.unwrap_or_else(|| input.saturating_add(output));
    let input_details = object([
        ("cache_write_tokens", usage.cache_creation.unwrap_or(0).into()),
        ("cached_tokens", usage.cache_read.unwrap_or(0).into()),
    ]);
    let output_details = object([("reasoning_tokens", usage.reasoning.unwrap_or(0).into())]);
    Some(object([
        ("input_tokens", input.into()),
        ("input_tokens_details", input_details),
        ("output_tokens", output.into()),
        ("output_tokens_details", output_details),
        ("total_tokens", total.into()),
    ]))
}

/// The usage of a response (`response` is the response object): what [`Usage::update`] reads,
/// and the tokens written to a cache, which it does not (a count of 0 says nothing).
pub(super) fn read_usage(response: &Value) -> Usage {
    let mut usage = Usage::default();
    usage.update(response);
    let written = response
        .get("usage")
        .and_then(|usage| usage.get("input_tokens_details"))
        .and_then(|details| details.get("cache_write_tokens"))
        .and_then(Value::as_u64)
        .filter(|written| *written > 0);
    if written.is_some() {
        usage.cache_creation = written;
    }
    usage
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn usage_round_trips() {
        let mut anthropic = Usage::default();
        anthropic.update(&json!({"usage": {"input_tokens": 10, "output_tokens": 5,
            "cache_read_input_tokens": 100, "cache_creation_input_tokens": 20}}));
        let written = write_usage(&anthropic).unwrap();
        assert_eq!(
            written,
            json!({"input_tokens": 130, "input_tokens_details": {"cached_tokens": 100, "cache_write_tokens": 20},
                "output_tokens": 5, "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 135})
        );
        let read = read_usage(&json!({ "usage": written }));
        assert_eq!((read.prompt_tokens(), read.uncached_input(), read.output), (Some(130), Some(10), Some(5)));
        assert_eq!((read.cache_read, read.cache_creation, read.total_tokens()), (Some(100), Some(20), 135));
        assert_eq!(write_usage(&Usage::default()), None);
        let zero =
            read_usage(&json!({"usage": {"input_tokens": 1, "input_tokens_details": {"cache_write_tokens": 0}}}));
        assert_eq!(zero.cache_creation, None);
    }
}
