//! Alibaba DashScope's native generation protocol (ai-proxy's `qwen` provider with
//! `qwenEnableCompatible` off), as provider and as client: requests, whole replies, streams
//! and errors, read into the canonical model ([`crate::chat`]) and written from it.
//!
//! Text models take `POST` [`TEXT_PATH`]; vision, audio and omni models, and any conversation
//! with images, take [`MULTIMODAL_PATH`] ([`is_multimodal`], [`path`]), whose message contents
//! are lists of `{text}` / `{image}` items instead of strings. Streaming is not in the body: it
//! is the request header `X-DashScope-SSE: enable` ([`SSE_HEADER`], [`wants_stream`]), which the caller
//! sets. A reply names no model: the caller sets [`crate::chat::Reply::model`] (or
//! [`StreamDecoder::with_model`]) from the request, as Go did.
//!
//! Where Higress's Go adapter loses things, this one keeps them: a tool result carries its
//! `tool_call_id` (Go's message type had no place for it), `temperature` and `top_p` are sent
//! only when given (Go dropped `temperature: 0` and sent `top_p: 1e-6`, near-greedy, when the
//! client gave none), `tool_choice`, `stop` and thinking reach Qwen (Go dropped them), every
//! system part is kept, reasoning comes back as reasoning, the usage keeps cached and
//! reasoning tokens, and streams are asked incremental also with tools (Go turned that off and
//! derived the deltas by stripping repeated text; thinking models only stream incrementally).

mod content;
mod delta;
mod error;
mod reply;
mod request_read;
mod request_write;
mod stream_decode;
mod stream_encode;
mod usage;

pub(crate) use error::code_for_status;
pub use error::{read_error, write_error};
pub use reply::{read_reply, write_reply};
pub use request_read::read_request;
pub use request_write::write_request;
pub use stream_decode::StreamDecoder;
pub use stream_encode::StreamEncoder;

use crate::chat::{FinishReason, Part, Request};

/// Where text models generate.
pub const TEXT_PATH: &str = "/api/v1/services/aigc/text-generation/generation";
/// Where vision, audio and omni models generate (and any model shown images).
pub const MULTIMODAL_PATH: &str = "/api/v1/services/aigc/multimodal-generation/generation";
/// The request header that asks for a stream (`stream` has no place in the body).
pub const SSE_HEADER: &str = "X-DashScope-SSE";
/// [`SSE_HEADER`]'s value that asks for a stream.
pub const SSE_ENABLE: &str = "enable";

/// Whether the request goes to [`MULTIMODAL_PATH`] with list contents: the model is a vision,
/// audio or omni model (`qwen-vl*`, `qwen3-vl-plus`, `qvq*`, `qwen-audio*`, `qwen-omni*`,
/// `qwen3-asr*`), or the conversation has an image (which text-generation refuses). Go looked at
/// the `qwen-vl` prefix only, and sent list contents of other models to text-generation.
pub fn is_multimodal(request: &Request) -> bool {
    let model = request.model.to_ascii_lowercase();
    let by_name = ["-vl", "-audio", "omni", "-asr"].iter().any(|kind| model.contains(kind)) || model.starts_with("qvq");
    by_name || has_images(request)
}

/// The path `request` is sent to.
pub fn path(request: &Request) -> &'static str {
    if is_multimodal(request) {
        MULTIMODAL_PATH
    } else {
        TEXT_PATH
    }
}

/// Whether the request is streamed: the caller then sends `X-DashScope-SSE: enable`
/// ([`SSE_HEADER`], [`SSE_ENABLE`]) and `Accept: text/event-stream`; [`write_request`] asks
/// for incremental output.
pub fn wants_stream(request: &Request) -> bool {
    request.stream
}

/// Whether a message has an image. One in a tool result does not count: a `tool` message
/// carries text only, so it is not sent.
fn has_images(request: &Request) -> bool {
    request.messages.iter().flat_map(|m| m.parts.iter()).any(|part| matches!(part, Part::Image { .. }))
}

/// A DashScope `finish_reason` in the model: `"null"` (a string) or nothing while the reply
/// runs; `stop` after tool calls is `tool_calls`, as OpenAI clients expect.
fn finish_from_qwen(reason: &str, called_tools: bool) -> Option<FinishReason> {
    match reason {
        "" | "null" => None,
        "stop" if called_tools => Some(FinishReason::ToolCalls),
        other => Some(FinishReason::from_openai(other)),
    }
}

#[cfg(test)]
mod tests;
