//! The events of a streamed reply, in no protocol in particular.
//!
//! A stream decoder (one per provider protocol) turns each upstream event into these as it
//! arrives; a stream encoder (one per client protocol) writes them as the client's events,
//! keeping the per-request state its protocol needs (Anthropic's open content block, OpenAI's
//! chunk id). Nothing waits for the end of the stream.

use super::FinishReason;
use crate::usage::Usage;

/// What happened in a streamed reply.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The reply began.
    Start { id: String, model: String },
    /// More text.
    Text(String),
    /// More reasoning.
    Reasoning(String),
    /// The signature of the reasoning so far (Anthropic's `signature_delta`).
    ReasoningSignature(String),
    /// The model began a tool call. `index` counts the reply's tool calls from 0, whatever
    /// the provider numbered them (Anthropic numbers content blocks, text included).
    ToolCall { index: usize, id: String, name: String },
    /// More of a tool call's JSON arguments.
    ToolArguments { index: usize, json: String },
    /// Why the model stopped.
    Finish(FinishReason),
    /// Token counts (each event's fields update the earlier ones).
    Usage(Usage),
    /// The provider reported an error mid-stream.
    Error { kind: String, message: String },
}

/// Writes events in a client's protocol.
pub trait EventSink {
    /// Appends what `event` becomes (possibly nothing yet) to `out`.
    fn event(&mut self, event: Event, out: &mut Vec<u8>);
    /// The stream ended: appends whatever closes it (`data: [DONE]`, `message_stop`).
    fn finish(&mut self, out: &mut Vec<u8>);
}
