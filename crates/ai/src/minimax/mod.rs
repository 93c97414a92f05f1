//! MiniMax's ChatCompletion Pro API (`POST /v1/text/chatcompletion_pro?GroupId=<group>`;
//! ai-proxy's `minimax` provider with `minimaxApiType: pro`), as provider and as client:
//! requests, whole replies, streams and errors, read into the canonical model
//! ([`crate::chat`]) and written from it. (The ChatCompletion v2 API speaks OpenAI's
//! protocol: [`V2_PATH`].)
//!
//! A Pro request has no roles but senders: `messages` of `{sender_type: USER | BOT |
//! FUNCTION, sender_name, text}`, the bot's persona in `bot_setting` (`[{bot_name, content}]`,
//! where system instructions go) and who answers in `reply_constraints`. A reply holds
//! `choices[0].messages` (the bot's answer is the last), `reply` (its text), `usage`
//! (`total_tokens`) and `base_resp` (`status_code` 0, or an error, under HTTP 200). A stream
//! is `data:` events of the same shape, each with the new text; the last one has the
//! `finish_reason`, the usage and the whole text again.
//!
//! Where Higress's Go adapter goes wrong, this one does not: a streamed reply becomes OpenAI
//! chunks (`delta`, `object: chat.completion.chunk`, `finish_reason: null` until the end,
//! then `[DONE]`; Go wrote whole `chat.completion` objects with `message` and
//! `finish_reason: ""`, no `[DONE]`), events split across chunks are kept whole and the last
//! chunk is not dropped (Go lost both: its conformance case expects a reply without its last
//! character), the last event's whole text is not repeated, an error in `base_resp` is an
//! error (mid-stream too), tool calls and tool results are carried (`functions`,
//! `function_call`, `FUNCTION` messages; Go dropped them), and every system part is kept.

mod reply;
mod request;
mod stream;

pub use reply::{read_error, read_reply, write_error, write_reply};
pub use request::{read_request, write_request};
pub use stream::{StreamDecoder, StreamEncoder};

pub(crate) use reply::code_for_status;

use crate::chat::FinishReason;
use serde_json::{Map, Value};

/// The ChatCompletion v2 API (OpenAI's protocol).
pub const V2_PATH: &str = "/v1/text/chatcompletion_v2";
/// The ChatCompletion Pro API (its own protocol); its query names the group: `?GroupId=`.
pub const PRO_PATH: &str = "/v1/text/chatcompletion_pro";
/// The bot's name when the request gives none (Go's).
pub const DEFAULT_BOT_NAME: &str = "MM智能助理";
/// The bot's persona when the request has no system instructions (Go's, MiniMax's own
/// example: the API requires one).
pub const DEFAULT_BOT_SETTING: &str = "MM智能助理是一款由MiniMax自研的，没有调用其他产品的接口的大型语言模型。MiniMax是一家中国科技公司，一直致力于进行大模型相关的研究。";
/// The user's name when the request gives none (Go's).
pub const DEFAULT_USER_NAME: &str = "小明";

/// The path of a Pro request for `group`.
pub fn pro_path(group: &str) -> String {
    format!("{PRO_PATH}?GroupId={group}")
}

/// A Pro `finish_reason` in the model (`""` while the reply runs); `stop` after a function
/// call is `tool_calls`, as OpenAI clients expect.
fn finish_from_minimax(reason: &str, called: bool) -> Option<FinishReason> {
    match reason {
        "" => None,
        "stop" if called => Some(FinishReason::ToolCalls),
        "max_output" | "length" => Some(FinishReason::Length),
        other => Some(FinishReason::from_openai(other)),
    }
}

/// The id a function call gets (Pro's calls have none): `call_<n>`, `n` counting the reply's
/// calls, so its result can be sent back.
fn call_id(index: usize) -> String {
    format!("call_{index}")
}

/// Puts `content` (the `context` file) into a request written by [`write_request`], as Go
/// did: the persona of a request without system instructions becomes `content`; otherwise
/// `content` is a first `bot_setting` for the same bot.
pub fn insert_context(body: &mut Value, content: &str) {
    let Value::Object(map) = body else { return };
    let setting = |name: &str| {
        let mut setting = Map::new();
        setting.insert("bot_name".into(), name.into());
        setting.insert("content".into(), content.into());
        Value::Object(setting)
    };
    match map.get_mut("bot_setting") {
        Some(Value::Array(settings)) => {
            let first = settings.first().and_then(|s| s.get("bot_name")).and_then(Value::as_str);
            let name = first.unwrap_or(DEFAULT_BOT_NAME).to_string();
            let only_default = settings.len() == 1
                && settings.first().and_then(|s| s.get("content")).and_then(Value::as_str) == Some(DEFAULT_BOT_SETTING);
            if only_default {
                settings.clear();
            }
            settings.insert(0, setting(&name));
        }
        _ => {
            map.insert("bot_setting".into(), Value::Array(vec![setting(DEFAULT_BOT_NAME)]));
        }
    }
}

#[cfg(test)]
mod tests;
