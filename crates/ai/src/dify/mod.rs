//! Dify's app APIs (ai-proxy's `dify` provider), as provider and as client: a chat request
//! sent to a Dify app, its blocking reply and its stream read into the canonical model
//! ([`crate::chat`]), and written from it.
//!
//! A Dify app is not a model: it takes one text, not a conversation, and its own variables.
//! What an app takes depends on its type ([`Kind`], the config's `botType`):
//! - Chat and Agent apps (`POST /v1/chat-messages`): `{inputs: {}, query, response_mode, user,
//!   auto_generate_name, conversation_id}`; the reply's `answer`. Dify keeps the conversation
//!   by `conversation_id` (the caller sets it: [`set_conversation`]).
//! - Completion apps (`POST /v1/completion-messages`): the text in `inputs` under the app's
//!   input variable (`query` unless the config names another); the reply's `answer`.
//! - Workflow apps (`POST /v1/workflows/run`): the text in `inputs` under the configured
//!   input variable; the answer is the run's output variable (`data.outputs[<output>]`).
//!
//! The text is the whole conversation flattened as Higress's Go adapter flattens it
//! (`SYSTEM: \n<text>\nUSER: \n<text>\nASSISTANT: \n<text>\n`), so the app sees what the
//! client sent. `response_mode` is `streaming` for a streamed request, else `blocking`; `user`
//! is the request's `user`, else `api-user`.
//!
//! Where Go's adapter went wrong, this one does not: a stream is read as Dify's events (the
//! text of `message` and `agent_message` events; `message_end`'s usage and finish; a
//! workflow's output once, at `workflow_finished`; `error` events as errors), events split
//! across chunks are kept whole, the last chunk is not dropped and the client's stream ends
//! with `[DONE]`; a workflow's output that is not a string is its JSON text (Go put the JSON
//! value itself in `content`); a failed run is an error; a workflow's usage is its
//! `total_tokens`; a run's id is the run's (`workflow_run_id`), not the workflow's, which is
//! the same for every run.

mod reply;
mod request;
mod stream;

pub use reply::{read_error, read_reply, write_error, write_reply};
pub use request::{read_request, write_request};
pub use stream::{StreamDecoder, StreamEncoder};

pub(crate) use reply::code_for_status;

use crate::chat::{Part, Request, Role};
use serde_json::Value;
use std::sync::Mutex;

/// Chat and Agent apps' API.
pub const CHAT_PATH: &str = "/v1/chat-messages";
/// Completion apps' API.
pub const COMPLETION_PATH: &str = "/v1/completion-messages";
/// Workflow apps' API.
pub const WORKFLOW_PATH: &str = "/v1/workflows/run";
/// The `user` of a request that names none (Go's).
pub const DEFAULT_USER: &str = "api-user";
/// The input variable of a Completion app when the config names none (Go's).
pub const DEFAULT_INPUT: &str = "query";
/// The request header naming the conversation a Chat or Agent request continues (Go's).
pub const CONVERSATION_HEADER: &str = "ConversationId";

/// The type of a Dify app (`botType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Kind {
    /// A chatbot (or a chatflow): `/v1/chat-messages`.
    #[default]
    Chat,
    /// A text generator: `/v1/completion-messages`.
    Completion,
    /// An agent: `/v1/chat-messages`, which it answers only as a stream.
    Agent,
    /// A workflow: `/v1/workflows/run`.
    Workflow,
}

impl Kind {
    /// The kind `botType` names (`Chat`, `Completion`, `Agent`, `Workflow`).
    pub fn named(name: &str) -> Option<Kind> {
        match name {
            "Chat" => Some(Kind::Chat),
            "Completion" => Some(Kind::Completion),
            "Agent" => Some(Kind::Agent),
            "Workflow" => Some(Kind::Workflow),
            _ => None,
        }
    }

    /// The path of the API that runs an app of this kind, under `/v1`.
    pub fn path(self) -> &'static str {
        match self {
            Kind::Chat | Kind::Agent => CHAT_PATH,
            Kind::Completion => COMPLETION_PATH,
            Kind::Workflow => WORKFLOW_PATH,
        }
    }

    /// Whether the app keeps conversations (`conversation_id`).
    pub fn converses(self) -> bool {
        matches!(self, Kind::Chat | Kind::Agent)
    }
}

/// A Dify app as the gateway calls it: its kind and its variables. `Copy`, so it travels in
/// [`crate::translate::Protocol::Dify`]: its variable names are interned (each distinct name
/// is kept once for the life of the process, however often a configuration names it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct App {
    /// The app's type.
    pub kind: Kind,
    /// The variable of `inputs` the text goes in (Completion, Workflow).
    input: &'static str,
    /// The output variable that is the answer (Workflow).
    output: &'static str,
}

impl Default for App {
    fn default() -> Self {
        App::CHAT
    }
}

impl App {
    /// A Chat app.
    pub const CHAT: App = App { kind: Kind::Chat, input: DEFAULT_INPUT, output: "" };

    /// An app of `kind` whose text goes in `input` (empty: `query`) and whose answer is the
    /// output variable `output` (workflows).
    pub fn new(kind: Kind, input: &str, output: &str) -> App {
        let input = if input.is_empty() { DEFAULT_INPUT } else { intern(input) };
        App { kind, input, output: intern(output) }
    }

    /// The variable of `inputs` the text goes in (Completion and Workflow apps).
    pub fn input(&self) -> &'static str {
        self.input
    }

    /// The output variable that is a workflow's answer (empty: the only output there is).
    pub fn output(&self) -> &'static str {
        self.output
    }
}

/// `name`, kept once for the life of the process.
fn intern(name: &str) -> &'static str {
    static NAMES: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());
    if name.is_empty() {
        return "";
    }
    let mut names = NAMES.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(known) = names.iter().find(|known| **known == name) {
        return known;
    }
    let kept: &'static str = Box::leak(name.to_string().into_boxed_str());
    names.push(kept);
    kept
}

/// The conversation as one text, as Go wrote it: each system part `SYSTEM: \n<text>\n`, then
/// each message `USER: \n<text>\n` or `ASSISTANT: \n<text>\n` (a message's texts joined with a
/// newline; a tool result's text is the user's, as Go had a `tool` message).
pub fn query(request: &Request) -> String {
    let mut out = String::new();
    for part in &request.system {
        if let Part::Text { text, .. } = part {
            out.push_str("SYSTEM: \n");
            out.push_str(text);
            out.push('\n');
        }
    }
    for message in &request.messages {
        out.push_str(match message.role {
            Role::User => "USER: \n",
            Role::Assistant => "ASSISTANT: \n",
        });
        let mut first = true;
        let mut text = |t: &str| {
            if !first {
                out.push('\n');
            }
            first = false;
            out.push_str(t);
        };
        for part in &message.parts {
            match part {
                Part::Text { text: t, .. } => text(t),
                Part::ToolResult { content, .. } => {
                    for inner in content {
                        if let Part::Text { text: t, .. } = inner {
                            text(t);
                        }
                    }
                }
                Part::Image { .. } | Part::Reasoning { .. } | Part::ToolCall { .. } => {}
            }
        }
        out.push('\n');
    }
    out
}

/// Continues the conversation `id` in a Chat or Agent request written by [`write_request`]
/// (an empty id starts a new one).
pub fn set_conversation(body: &mut Value, id: &str) {
    if let Value::Object(map) = body {
        if map.contains_key("query") {
            map.insert("conversation_id".into(), id.into());
        }
    }
}

/// Puts `content` (the `context` file) first in a request written by [`write_request`], as a
/// system text: before the `query` of a Chat or Agent request, else before the one text of
/// its `inputs`.
pub fn insert_context(body: &mut Value, content: &str) {
    let prefix = format!("SYSTEM: \n{content}\n");
    let Value::Object(map) = body else { return };
    if let Some(Value::String(query)) = map.get_mut("query") {
        query.insert_str(0, &prefix);
        return;
    }
    if let Some(Value::Object(inputs)) = map.get_mut("inputs") {
        let mut texts = inputs.values_mut().filter_map(|v| match v {
            Value::String(text) => Some(text),
            _ => None,
        });
        if let (Some(text), None) = (texts.next(), texts.next()) {
            text.insert_str(0, &prefix);
        }
    }
}

#[cfg(test)]
mod tests;
