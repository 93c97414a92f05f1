//! A client's protocol joined to a provider's through the chat model: request bodies, whole
//! replies, error replies and streams.
//!
//! Used only when the two protocols differ; a request in the provider's own protocol is
//! edited in place instead, so every field the adapters do not know survives.

#[cfg(test)]
mod equivalence;
mod stream;

pub use stream::StreamTranslator;

use crate::chat::{self, Invalid};
use crate::{anthropic, bedrock, dify, gemini, minimax, openai, qwen, responses};
use serde_json::Value;

/// A wire protocol of chat requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// OpenAI chat completions (and every OpenAI-compatible provider).
    OpenAi,
    /// Anthropic messages.
    Anthropic,
    /// Gemini `generateContent` (the model and streaming are in the path).
    Gemini,
    /// Qwen's native DashScope generation (streaming is the `X-DashScope-SSE` header; the
    /// path depends on the model: `qwen::path`).
    Qwen,
    /// Bedrock's Converse (the model and streaming are in the path; streams are AWS's binary
    /// event stream).
    Bedrock,
    /// OpenAI's Responses API (`/v1/responses`): stateless only (no `previous_response_id`).
    Responses,
    /// MiniMax's ChatCompletion Pro (`/v1/text/chatcompletion_pro`; the group is in the
    /// path's query).
    MiniMaxPro,
    /// A Dify app's API (the path depends on the app's kind: [`dify::Kind::path`]; a Chat or
    /// Agent app's conversation is set by the caller: [`dify::set_conversation`]).
    Dify(dify::App),
}

impl Protocol {
    /// Reads a request body of this protocol.
    pub fn read_request(self, body: &Value) -> Result<chat::Request, Invalid> {
        match self {
            Protocol::OpenAi => openai::read_request(body),
            Protocol::Anthropic => anthropic::read_request(body),
            Protocol::Gemini => gemini::read_request(body),
            Protocol::Qwen => qwen::read_request(body),
            Protocol::Bedrock => bedrock::read_request(body),
            Protocol::Responses => responses::read_request(body),
            Protocol::MiniMaxPro => minimax::read_request(body),
            Protocol::Dify(_) => dify::read_request(body),
        }
    }

    /// Writes a request body of this protocol; [`Invalid`] for what the protocol cannot
    /// carry (Bedrock: an image by URL; MiniMax's Pro: any image; Dify: an inline image).
    pub fn write_request(self, request: &chat::Request) -> Result<Value, Invalid> {
        Ok(match self {
            Protocol::OpenAi => openai::write_request(request),
            Protocol::Anthropic => anthropic::write_request(request),
            Protocol::Gemini => gemini::write_request(request),
            Protocol::Qwen => qwen::write_request(request),
            Protocol::Bedrock => return bedrock::write_request(request),
            Protocol::Responses => responses::write_request(request),
            Protocol::MiniMaxPro => return minimax::write_request(request),
            Protocol::Dify(app) => return dify::write_request(&app, request),
        })
    }

    /// Reads a whole reply of this protocol.
    pub fn read_reply(self, body: &Value) -> Result<chat::Reply, Invalid> {
        match self {
            Protocol::OpenAi => openai::read_reply(body),
            Protocol::Anthropic => anthropic::read_reply(body),
            Protocol::Gemini => gemini::read_reply(body),
            Protocol::Qwen => qwen::read_reply(body),
            Protocol::Bedrock => bedrock::read_reply(body),
            Protocol::Responses => responses::read_reply(body),
            Protocol::MiniMaxPro => minimax::read_reply(body),
            Protocol::Dify(app) => dify::read_reply(&app, body),
        }
    }

    /// Writes a whole reply of this protocol.
    pub fn write_reply(self, reply: &chat::Reply) -> Value {
        match self {
            Protocol::OpenAi => openai::write_reply(reply),
            Protocol::Anthropic => anthropic::write_reply(reply),
            Protocol::Gemini => gemini::write_reply(reply),
            Protocol::Qwen => qwen::write_reply(reply),
            Protocol::Bedrock => bedrock::write_reply(reply),
            Protocol::Responses => responses::write_reply(reply),
            Protocol::MiniMaxPro => minimax::write_reply(reply),
            Protocol::Dify(app) => dify::write_reply(&app, reply),
        }
    }

    /// The error type and message of an error body of this protocol.
    pub fn read_error(self, body: &Value) -> Option<(String, String)> {
        match self {
            Protocol::OpenAi => openai::read_error(body),
            Protocol::Anthropic => anthropic::read_error(body),
            Protocol::Gemini => gemini::read_error(body),
            Protocol::Qwen => qwen::read_error(body),
            Protocol::Bedrock => bedrock::read_error(body),
            Protocol::Responses => responses::read_error(body),
            Protocol::MiniMaxPro => minimax::read_error(body),
            Protocol::Dify(_) => dify::read_error(body),
        }
    }

    /// An error body of this protocol.
    pub fn write_error(self, kind: &str, message: &str) -> Value {
        match self {
            Protocol::OpenAi => openai::write_error(kind, message),
            Protocol::Anthropic => anthropic::write_error(kind, message),
            Protocol::Gemini => gemini::write_error(kind, message),
            Protocol::Qwen => qwen::write_error(kind, message),
            Protocol::Bedrock => bedrock::write_error(kind, message),
            Protocol::Responses => responses::write_error(kind, message),
            Protocol::MiniMaxPro => minimax::write_error(kind, message),
            Protocol::Dify(_) => dify::write_error(kind, message),
        }
    }
}

/// A request body the client wrote in `from`, as a provider of `to` takes it.
pub fn request(from: Protocol, to: Protocol, body: &Value) -> Result<Value, Invalid> {
    to.write_request(&from.read_request(body)?)
}

/// A whole reply a provider of `from` sent, as the client of `to` expects it.
pub fn reply(from: Protocol, to: Protocol, body: &Value) -> Result<Value, Invalid> {
    Ok(to.write_reply(&from.read_reply(body)?))
}

/// An error reply (any status) a provider of `from` sent, as the client of `to` expects it:
/// the provider's error type and message when its body has them, else a type for the status
/// and the body's text (Go passed provider errors through untranslated, which clients of the
/// other protocol cannot read).
pub fn error(from: Protocol, to: Protocol, status: u16, body: &[u8]) -> Value {
    let parsed = serde_json::from_slice::<Value>(body).ok();
    let (kind, message) = match parsed.as_ref().and_then(|b| from.read_error(b)) {
        // An Anthropic client knows a closed set of error types (and Claude Code retries on
        // some): a provider's own (OpenAI-compatible ones use anything, `requests` for a 429)
        // becomes the one its status means. OpenAI clients get the provider's type as it is.
        Some((kind, message)) if to == Protocol::Anthropic && from != to && !anthropic_type(&kind) => {
            (error_type(to, status).to_string(), message)
        }
        // Bedrock's body is only `{"message"}` (the type is in `x-amzn-errortype`): the
        // status says the type.
        Some((_, message)) if from == Protocol::Bedrock && from != to => (error_type(to, status).to_string(), message),
        Some(error) => error,
        None => {
            let text = String::from_utf8_lossy(body);
            let text = text.trim();
            let message = if text.is_empty() { format!("upstream answered {status}") } else { text.to_string() };
            (error_type(to, status).to_string(), message)
        }
    };
    to.write_error(&kind, &message)
}

/// Whether `kind` is one of the error types Anthropic documents.
fn anthropic_type(kind: &str) -> bool {
    matches!(
        kind,
        "invalid_request_error"
            | "authentication_error"
            | "billing_error"
            | "permission_error"
            | "not_found_error"
            | "request_too_large"
            | "rate_limit_error"
            | "timeout_error"
            | "api_error"
            | "overloaded_error"
    )
}

/// The error type a client of `protocol` expects for an HTTP status.
fn error_type(protocol: Protocol, status: u16) -> &'static str {
    match protocol {
        Protocol::Anthropic => anthropic::error_type_for_status(status),
        Protocol::Gemini => gemini::status_for_code(u64::from(status)),
        Protocol::Qwen => qwen::code_for_status(status),
        Protocol::MiniMaxPro => minimax::code_for_status(status),
        Protocol::Dify(_) => dify::code_for_status(status),
        // Bedrock's type goes in a header (`bedrock::exception_name`); the body has none.
        Protocol::Bedrock => anthropic::error_type_for_status(status),
        Protocol::OpenAi | Protocol::Responses => match status {
            400 | 404 | 413 | 422 => "invalid_request_error",
            401 => "authentication_error",
            403 => "permission_error",
            429 => "rate_limit_error",
            _ => "api_error",
        },
    }
}
