//! The OpenAI chat completions protocol (`/v1/chat/completions`), as client and as provider:
//! requests, whole replies, streams and errors, read into the canonical model
//! ([`crate::chat`]) and written from it.
//!
//! OpenAI's protocol is also that of most providers (DeepSeek, Qwen's compatible mode,
//! Moonshot, vLLM, Groq, OpenRouter, ...), so the readers accept their variations (reasoning
//! as `reasoning_content` or `reasoning`, tool calls without `index`, usage inside the
//! choice) and the writers write the form the most of them accept.

mod decoder;
mod encoder;
mod error;
mod reply;
mod request_read;
mod request_write;
mod usage;

pub use decoder::StreamDecoder;
pub use encoder::StreamEncoder;
pub use error::{read_error, write_error};
pub use reply::{read_reply, write_reply};
pub use request_read::read_request;
pub(crate) use request_read::read_stop;
pub(crate) use request_write::tool_call;
pub use request_write::write_request;

/// A message's or a delta's reasoning: `reasoning_content` (DeepSeek, vLLM) or `reasoning`
/// (OpenRouter, Groq), whichever the provider uses.
fn reasoning<'v>(message: &crate::json::Obj<'v, '_>) -> Result<Option<&'v str>, crate::chat::Invalid> {
    match message.str("reasoning_content")? {
        Some(text) => Ok(Some(text)),
        None => message.str("reasoning"),
    }
}

/// The usage object of OpenAI's replies (tests compare the encoders' direct writes with it).
#[cfg(test)]
pub(crate) fn write_usage_for_tests(usage: &crate::usage::Usage) -> Option<serde_json::Value> {
    usage::write_usage(usage)
}
