//! One model of an LLM chat exchange that every wire protocol is translated through: a
//! request, a whole reply, and the events of a streamed reply.
//!
//! Each protocol has one adapter that reads its JSON into this model and writes the model as
//! its JSON (`crate::openai`, `crate::anthropic`, later Gemini, Bedrock Converse, Qwen and the
//! Responses API). A client protocol and a provider protocol are then joined through the
//! model, so a fix (tool-call indexes, every system message kept, usage with cache tokens,
//! stop reasons) is made once for every pair.
//!
//! Values the model does not interpret are kept as JSON (`temperature: 0` stays the number
//! `0`; a tool's schema is passed as it is), and a request whose protocol does not change is
//! never translated at all: it is edited in place (`model`, `stream_options`), so fields
//! unknown to us survive.

mod event;
mod reply;
mod request;

pub use event::{Event, EventSink};
pub use reply::{FinishReason, Reply};
pub use request::{ImageSource, Message, Params, Part, Reasoning, Request, Role, Tool, ToolChoice};

/// Why a body could not be read as its protocol: the client gets a 400 naming it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid(pub String);

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Invalid {
    /// `what` is missing or has the wrong type.
    pub fn field(what: &str, expected: &str) -> Self {
        Invalid(format!("{what}: expected {expected}"))
    }
}
