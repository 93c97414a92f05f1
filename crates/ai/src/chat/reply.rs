//! A whole (not streamed) chat reply.

use super::Part;
use crate::usage::Usage;

/// A reply in no protocol in particular: one choice (Anthropic has no others; an OpenAI
/// reply's first choice).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reply {
    /// The provider's id of the reply.
    pub id: String,
    /// The model that answered.
    pub model: String,
    /// Reasoning, text and tool calls, in the order the model produced them.
    pub parts: Vec<Part>,
    /// Why it stopped.
    pub finish: Option<FinishReason>,
    /// What it cost.
    pub usage: Usage,
    /// Creation time (seconds since the epoch), when the provider gave one.
    pub created: Option<u64>,
}

impl Reply {
    /// Its text and its reasoning, each joined, and its tool calls (id, name, arguments), in
    /// order: what protocols with one message per answer (OpenAI's, DashScope's) write.
    pub fn joined(&self) -> (String, String, Vec<(&str, &str, &str)>) {
        let (mut text, mut reasoning, mut calls) = (String::new(), String::new(), Vec::new());
        for part in &self.parts {
            match part {
                Part::Text { text: t, .. } => text.push_str(t),
                Part::Reasoning { text: t, .. } => reasoning.push_str(t),
                Part::ToolCall { id, name, arguments } => calls.push((id.as_str(), name.as_str(), arguments.as_str())),
                Part::Image { .. } | Part::ToolResult { .. } => {}
            }
        }
        (text, reasoning, calls)
    }
}

/// Why the model stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FinishReason {
    /// It was done (OpenAI `stop`, Anthropic `end_turn`).
    Stop,
    /// It produced a stop sequence (Anthropic `stop_sequence`, with the sequence).
    StopSequence(Option<String>),
    /// It reached the token limit (`length`, `max_tokens`).
    Length,
    /// It called tools (`tool_calls`, `tool_use`).
    ToolCalls,
    /// Its output was filtered or refused (`content_filter`, `refusal`).
    ContentFilter,
    /// Anything else, as the provider said it.
    Other(String),
}

impl FinishReason {
    /// From OpenAI's `finish_reason`.
    pub fn from_openai(reason: &str) -> FinishReason {
        match reason {
            "stop" => FinishReason::Stop,
            "length" => FinishReason::Length,
            "tool_calls" | "function_call" => FinishReason::ToolCalls,
            "content_filter" => FinishReason::ContentFilter,
            other => FinishReason::Other(other.to_string()),
        }
    }

    /// As OpenAI's `finish_reason`.
    pub fn to_openai(&self) -> &str {
        match self {
            FinishReason::Stop | FinishReason::StopSequence(_) => "stop",
            FinishReason::Length => "length",
            FinishReason::ToolCalls => "tool_calls",
            FinishReason::ContentFilter => "content_filter",
            FinishReason::Other(other) => other,
        }
    }

    /// From Anthropic's `stop_reason` (and `stop_sequence`).
    pub fn from_anthropic(reason: &str, sequence: Option<&str>) -> FinishReason {
        match reason {
            "end_turn" => FinishReason::Stop,
            "stop_sequence" => FinishReason::StopSequence(sequence.map(str::to_string)),
            "max_tokens" => FinishReason::Length,
            "tool_use" => FinishReason::ToolCalls,
            "refusal" => FinishReason::ContentFilter,
            other => FinishReason::Other(other.to_string()),
        }
    }

    /// As Anthropic's `stop_reason`.
    pub fn to_anthropic(&self) -> &str {
        match self {
            FinishReason::Stop => "end_turn",
            FinishReason::StopSequence(_) => "stop_sequence",
            FinishReason::Length => "max_tokens",
            FinishReason::ToolCalls => "tool_use",
            FinishReason::ContentFilter => "refusal",
            FinishReason::Other(other) => other,
        }
    }

    /// The stop sequence that ended the reply, when the provider said which.
    pub fn sequence(&self) -> Option<&str> {
        match self {
            FinishReason::StopSequence(sequence) => sequence.as_deref(),
            _ => None,
        }
    }
}
