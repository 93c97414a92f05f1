//! A whole reply translated to the client's protocol: a success reply through the chat
//! model, an error reply as the client protocol's error body, a reply that cannot be
//! translated replaced by an error saying why.

use super::{now_seconds, promote};
use crate::flow::{Flow, Reply};
use crate::json::JsonDoc;
use crate::reply;
use higress_ai::translate::{self, Protocol};
use higress_sdk::prelude::*;
use serde_json::Value;

/// Processes the whole reply body.
pub fn on_body(http: &mut Http, flow: &mut Flow, body: &[u8]) -> DataAction {
    let bytes = match &flow.reply {
        Reply::Failed(message) => reply::failure_body(flow.client, message, true),
        Reply::Whole { error: Some(status), .. } => {
            serde_json::to_vec(&translate::error(flow.upstream, flow.client, *status, body)).unwrap_or_default()
        }
        Reply::Whole { error: None, promote } => match success(flow, body, *promote) {
            Ok(bytes) => bytes,
            Err(message) => {
                // The status has left already: the body says what went wrong.
                log_warn!("reply not translated: {message}");
                reply::failure_body(flow.client, &message, false)
            }
        },
        Reply::Promoted => match promoted(body) {
            Some(bytes) => bytes,
            None => return DataAction::Continue,
        },
        Reply::Embeddings => match embeddings(flow, body) {
            Ok(bytes) => bytes,
            Err(message) => {
                log_warn!("reply not translated: {message}");
                reply::failure_body(flow.client, &message, false)
            }
        },
        Reply::Untouched | Reply::Stream(..) | Reply::Edited(_) => return DataAction::Continue,
    };
    http.replace_response_body(&bytes);
    DataAction::Continue
}

/// A whole success reply in the client's protocol (an error body saying why when it cannot
/// be translated).
pub fn translated(flow: &Flow, body: &[u8]) -> Vec<u8> {
    success(flow, body, false).unwrap_or_else(|message| {
        log_warn!("reply not translated: {message}");
        reply::failure_body(flow.client, &message, false)
    })
}

/// The provider's embeddings reply as OpenAI's.
fn embeddings(flow: &Flow, body: &[u8]) -> Result<Vec<u8>, String> {
    let Some(pair) = &flow.embeddings else { return Ok(body.to_vec()) };
    let (embedder, request) = &**pair;
    let value: Value = serde_json::from_slice(body).map_err(|e| format!("the provider's reply is not JSON: {e}"))?;
    let reply = embedder.reply_to_openai(&value, request).map_err(|e| format!("the provider's reply: {e}"))?;
    Ok(serde_json::to_vec(&reply).unwrap_or_default())
}

/// `body` with the reasoning of its empty answers promoted; `None` when nothing changed
/// (or it is not JSON: it goes as it came).
fn promoted(body: &[u8]) -> Option<Vec<u8>> {
    let mut doc = JsonDoc::parse(body).ok()?;
    promote::whole(&mut doc);
    doc.changed().then(|| doc.into_bytes())
}

fn success(flow: &Flow, body: &[u8], promote: bool) -> Result<Vec<u8>, String> {
    // Promotion runs on the OpenAI side: the provider's reply, or the client's.
    let promoted_first = if promote && flow.upstream == Protocol::OpenAi { promoted(body) } else { None };
    let body = promoted_first.as_deref().unwrap_or(body);
    let value: Value = serde_json::from_slice(body).map_err(|e| format!("the provider's reply is not JSON: {e}"))?;
    let mut parsed = flow.upstream.read_reply(&value).map_err(|e| format!("the provider's reply: {e}"))?;
    if parsed.created.is_none() {
        parsed.created = Some(now_seconds());
    }
    if parsed.model.is_empty() {
        parsed.model = flow.model.clone().unwrap_or_default();
    }
    if parsed.id.is_empty() {
        parsed.id = flow.reply_id.clone().unwrap_or_default();
    }
    // Straight into bytes: writing a `Value` into a `Vec` cannot fail.
    let written = serde_json::to_vec(&flow.client.write_reply(&parsed)).unwrap_or_default();
    if promote && flow.client == Protocol::OpenAi {
        return Ok(promoted(&written).unwrap_or(written));
    }
    Ok(written)
}
