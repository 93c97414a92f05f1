//! Amazon Bedrock's Converse API (`POST /model/{modelId}/converse` and `/converse-stream`), as
//! provider and as client: requests, whole replies, streams (AWS's binary event stream) and
//! errors, read into the canonical model ([`crate::chat`]) and written from it; and the
//! SigV4 signature Bedrock's requests carry.
//!
//! Where Higress's Go adapter loses things, this one keeps them: reasoning is reasoning (Go
//! wrapped it in `<think>` inside the text) with its signature, every text block is kept (Go
//! kept the last), tool calls in streams carry their index (Go sent none), cache reads and
//! writes are counted apart (Go added the writes to `cached_tokens`), every stop reason is
//! mapped (`tool_use`, the guardrail's and the content filter's), exceptions in the stream
//! reach the client as an error (Go ignored them), and a request signed with temporary
//! credentials carries and signs its session token (Go had no place for one).
//!
//! The model id and streaming are in the path, not in the body. Bedrock's bodies name no id
//! and no model: a reply read here has both empty (the caller has the `x-amzn-requestid`
//! header and the model it asked for; [`StreamDecoder::with_identity`] for a stream).

mod content;
mod error;
pub mod eventstream;
mod reply;
mod request;
pub mod sigv4;
mod stream_decode;
mod stream_encode;
mod usage;

pub use error::{exception_name, read_error, write_error};
pub use reply::{read_reply, write_reply};
pub use request::{read_request, write_request};
pub use stream_decode::StreamDecoder;
pub use stream_encode::StreamEncoder;

use crate::chat::FinishReason;

/// A Converse `stopReason` in the model; `sequence` is the stop sequence Claude reports in
/// `additionalModelResponseFields.stop_sequence`.
fn finish_from_bedrock(reason: &str, sequence: Option<&str>) -> FinishReason {
    match reason {
        "end_turn" => FinishReason::Stop,
        "stop_sequence" => FinishReason::StopSequence(sequence.map(str::to_string)),
        // Out of room for output, or for the whole conversation: OpenAI's `length` means both.
        "max_tokens" | "model_context_window_exceeded" => FinishReason::Length,
        "tool_use" => FinishReason::ToolCalls,
        "guardrail_intervened" | "content_filtered" => FinishReason::ContentFilter,
        // malformed_model_output, malformed_tool_use, ...: as Bedrock said it.
        other => FinishReason::Other(other.to_string()),
    }
}

/// The model's finish reason as a Converse `stopReason`.
fn finish_to_bedrock(reason: &FinishReason) -> &str {
    match reason {
        FinishReason::Stop => "end_turn",
        FinishReason::StopSequence(_) => "stop_sequence",
        FinishReason::Length => "max_tokens",
        FinishReason::ToolCalls => "tool_use",
        FinishReason::ContentFilter => "content_filtered",
        FinishReason::Other(other) => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_reasons() {
        let table = [
            ("end_turn", FinishReason::Stop),
            ("stop_sequence", FinishReason::StopSequence(None)),
            ("max_tokens", FinishReason::Length),
            ("tool_use", FinishReason::ToolCalls),
            ("guardrail_intervened", FinishReason::ContentFilter),
            ("content_filtered", FinishReason::ContentFilter),
            ("malformed_tool_use", FinishReason::Other("malformed_tool_use".into())),
        ];
        for (reason, finish) in table {
            assert_eq!(finish_from_bedrock(reason, None), finish, "{reason}");
        }
        assert_eq!(finish_from_bedrock("model_context_window_exceeded", None), FinishReason::Length);
        let sequence = finish_from_bedrock("stop_sequence", Some("END"));
        assert_eq!(sequence.sequence(), Some("END"));
        assert_eq!(finish_to_bedrock(&sequence), "stop_sequence");
        assert_eq!(finish_to_bedrock(&FinishReason::ContentFilter), "content_filtered");
        assert_eq!(finish_to_bedrock(&FinishReason::Other("x".into())), "x");
    }
}
