//! A whole reply translated to the client's protocol: a success reply through the chat
//! model, an error reply as the client protocol's error body, a reply that cannot be
//! translated replaced by an error saying why.

use super::now_seconds;
use crate::flow::{Flow, Reply};
use crate::reply;
use higress_ai::translate;
use higress_sdk::prelude::*;
use serde_json::Value;

/// Processes the whole reply body.
pub fn on_body(http: &mut Http, flow: &mut Flow, body: &[u8]) -> DataAction {
    let bytes = match &flow.reply {
        Reply::Failed(message) => reply::failure_body(flow.client, message, true),
        Reply::Whole { error: Some(status) } => {
            serde_json::to_vec(&translate::error(flow.upstream, flow.client, *status, body)).unwrap_or_default()
        }
        Reply::Whole { error: None } => match success(flow, body) {
            Ok(bytes) => bytes,
            Err(message) => {
                // The status has left already: the body says what went wrong.
                log_warn!("reply not translated: {message}");
                reply::failure_body(flow.client, &message, false)
            }
        },
        Reply::Untouched | Reply::Stream(_) | Reply::ChoiceUsage(_) => return DataAction::Continue,
    };
    http.replace_response_body(&bytes);
    DataAction::Continue
}

fn success(flow: &Flow, body: &[u8]) -> Result<Vec<u8>, String> {
    let value: Value = serde_json::from_slice(body).map_err(|e| format!("the provider's reply is not JSON: {e}"))?;
    let mut parsed = flow.upstream.read_reply(&value).map_err(|e| format!("the provider's reply: {e}"))?;
    if parsed.created.is_none() {
        parsed.created = Some(now_seconds());
    }
    if parsed.model.is_empty() {
        parsed.model = flow.model.clone().unwrap_or_default();
    }
    // Straight into bytes: writing a `Value` into a `Vec` cannot fail.
    Ok(serde_json::to_vec(&flow.client.write_reply(&parsed)).unwrap_or_default())
}
