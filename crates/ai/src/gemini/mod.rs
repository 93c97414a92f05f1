//! Google's Gemini protocol (`generateContent`, `streamGenerateContent?alt=sse`), as provider
//! and as client: requests, whole replies, streams and errors, read into the canonical model
//! ([`crate::chat`]) and written from it.
//!
//! Where Higress's Go adapter loses things, this one keeps them: every system message goes to
//! `systemInstruction`, tool calls are sent as `functionCall` parts and their results as
//! `functionResponse` parts (Go sent OpenAI's `tool` role, which Gemini rejects), a reply's
//! `functionCall` parts come back as tool calls (Go never returned them), one candidate is one
//! answer (Go made each part a choice), thoughts are reasoning, finish reasons are mapped
//! (`MAX_TOKENS` → `length`, the safety family → `content_filter`), and the usage counts the
//! thoughts in the output, as OpenAI's `completion_tokens` does.

mod error;
mod fast;
mod parts;
mod reply;
mod request;
mod stream;
mod usage;

pub(crate) use error::status_for_code;
pub use error::{read_error, write_error};
pub use reply::{read_reply, write_reply};
pub use request::{read_request, write_request};
pub use stream::{StreamDecoder, StreamEncoder};

use crate::chat::FinishReason;

/// A Gemini `finishReason` in the model.
fn finish_from_gemini(reason: &str, called_tools: bool) -> FinishReason {
    match reason {
        "STOP" if called_tools => FinishReason::ToolCalls,
        "STOP" => FinishReason::Stop,
        "MAX_TOKENS" => FinishReason::Length,
        "SAFETY" | "RECITATION" | "BLOCKLIST" | "PROHIBITED_CONTENT" | "SPII" | "IMAGE_SAFETY" | "LANGUAGE" => {
            FinishReason::ContentFilter
        }
        // MALFORMED_FUNCTION_CALL, UNEXPECTED_TOOL_CALL, OTHER, ...: as OpenAI-style text.
        other => FinishReason::Other(other.to_ascii_lowercase()),
    }
}

/// The model's finish reason as Gemini's `finishReason`.
fn finish_to_gemini(reason: &FinishReason) -> String {
    match reason {
        FinishReason::Stop | FinishReason::StopSequence(_) | FinishReason::ToolCalls => "STOP".into(),
        FinishReason::Length => "MAX_TOKENS".into(),
        FinishReason::ContentFilter => "SAFETY".into(),
        FinishReason::Other(other) => other.to_ascii_uppercase(),
    }
}

#[cfg(test)]
mod tests;
