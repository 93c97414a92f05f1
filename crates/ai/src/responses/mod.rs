//! OpenAI's Responses API (`POST /v1/responses`), as client and as provider: requests, whole
//! replies, streams and errors, read into the canonical model ([`crate::chat`]) and written
//! from it.
//!
//! As a client's protocol it lets Responses clients (Codex, the OpenAI SDKs'
//! `client.responses.create`) use providers that only have chat completions, Anthropic,
//! Gemini, Bedrock, ... The gateway keeps no state, so what only a stateful server could
//! serve (`previous_response_id`, `conversation`, stored prompts, item references, background
//! responses) and OpenAI's hosted tools (web search, file search, ...) are refused with a 400
//! naming the field; a client then sends the whole conversation with `store: false`, as Codex
//! does. Reasoning goes out as a reasoning item's summary; a provider's reasoning signature
//! (Anthropic's, Gemini's thought signature) as its `encrypted_content`, which such a client
//! sends back unchanged, so signed reasoning survives the next turn.

mod error;
mod items;
mod reply;
mod request_read;
mod request_write;
mod stream_decode;
mod stream_encode;
mod usage;

pub use error::{read_error, write_error};
pub use reply::{read_reply, write_reply};
pub use request_read::read_request;
pub use request_write::write_request;
pub use stream_decode::StreamDecoder;
pub use stream_encode::StreamEncoder;

use crate::chat::FinishReason;

/// The id of a response made of a provider's reply id: Responses clients expect `resp_...`
/// (one already so is kept); a reply without an id gets one from its creation time.
fn response_id(id: &str, created: u64) -> String {
    match id {
        "" => format!("resp_{created}"),
        id if id.starts_with("resp_") => id.to_string(),
        id => format!("resp_{id}"),
    }
}

/// The id of output item `index` of response `id` (`msg_...`, `rs_...`, `fc_...`): unique in
/// the response and, as far as the provider's reply ids are, across responses (clients key
/// items by id).
fn item_id(prefix: &str, id: &str, index: usize) -> String {
    let base = id.strip_prefix("resp_").unwrap_or(id);
    format!("{prefix}_{base}_{index}")
}

/// A response's `status` and `incomplete_details` for why the model stopped: the token limit
/// and a content filter leave it `incomplete`, anything else `completed`.
fn status_of(finish: Option<&FinishReason>) -> (&'static str, Option<&'static str>) {
    match finish {
        Some(FinishReason::Length) => ("incomplete", Some("max_output_tokens")),
        Some(FinishReason::ContentFilter) => ("incomplete", Some("content_filter")),
        _ => ("completed", None),
    }
}

/// Why the model stopped, from a response's `status` and `incomplete_details.reason`; `None`
/// while it is not done (`in_progress`, `queued`).
fn finish_of(status: &str, reason: Option<&str>, called_tools: bool) -> Option<FinishReason> {
    match (status, reason) {
        ("incomplete", Some("max_output_tokens")) => Some(FinishReason::Length),
        ("incomplete", Some("content_filter")) => Some(FinishReason::ContentFilter),
        ("incomplete", Some(other)) => Some(FinishReason::Other(other.to_string())),
        ("completed" | "incomplete", _) if called_tools => Some(FinishReason::ToolCalls),
        ("completed" | "incomplete", _) => Some(FinishReason::Stop),
        ("cancelled", _) => Some(FinishReason::Other("cancelled".into())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_statuses() {
        assert_eq!(response_id("chatcmpl-1", 5), "resp_chatcmpl-1");
        assert_eq!(response_id("resp_abc", 5), "resp_abc");
        assert_eq!(response_id("", 5), "resp_5");
        assert_eq!(item_id("msg", "resp_abc", 2), "msg_abc_2");
        assert_eq!(status_of(Some(&FinishReason::Length)), ("incomplete", Some("max_output_tokens")));
        assert_eq!(status_of(Some(&FinishReason::ContentFilter)), ("incomplete", Some("content_filter")));
        assert_eq!(status_of(Some(&FinishReason::ToolCalls)), ("completed", None));
        assert_eq!(status_of(None), ("completed", None));
        assert_eq!(finish_of("completed", None, true), Some(FinishReason::ToolCalls));
        assert_eq!(finish_of("completed", None, false), Some(FinishReason::Stop));
        assert_eq!(finish_of("incomplete", Some("max_output_tokens"), true), Some(FinishReason::Length));
        assert_eq!(finish_of("incomplete", Some("content_filter"), false), Some(FinishReason::ContentFilter));
        assert_eq!(finish_of("in_progress", None, false), None);
    }
}
