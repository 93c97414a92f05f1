//! Anthropic's messages protocol (`/v1/messages`), as client and as provider: requests, whole
//! replies, streams and errors, read into the canonical model ([`crate::chat`]) and written
//! from it.
//!
//! The readers take what Anthropic's API reference documents and name the field of anything
//! else ([`crate::chat::Invalid`]); blocks that only Anthropic can use (redacted thinking,
//! documents, server-side tool exchanges) are dropped when read, since no other provider
//! could take them. The writers follow Anthropic's rules for what it accepts (alternating
//! roles, tool results right after the tool calls, thinking and sampling parameters), so a
//! conversation written by an OpenAI client reaches Claude as a valid request.

mod billing;
mod blocks;
mod budget;
mod error;
mod reply;
mod request_read;
mod request_write;
mod stream_decode;
mod stream_encode;
mod usage;

pub use error::{error_type_for_status, read_error, write_error};
pub use reply::{read_reply, write_reply};
pub use request_read::read_request;
pub use request_write::write_request;
pub use stream_decode::StreamDecoder;
pub use stream_encode::StreamEncoder;

/// The usage object of Anthropic's replies (tests compare the encoders' direct writes with it).
#[cfg(test)]
pub(crate) fn write_usage_for_tests(usage: &crate::usage::Usage) -> serde_json::Value {
    usage::write_usage(usage)
}
