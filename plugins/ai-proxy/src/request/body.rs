//! The request-body phase: custom settings, then the body edited in place or translated,
//! then the headers that depend on it (the stream's `Accept`, the first-byte timeout, Azure's
//! deployment in the path, `content-length` when the body changed), then the context file.

use super::headers::{FIRST_BYTE_TIMEOUT, ORIGINAL_PATH};
use super::{convert, edit, route};
use crate::api::Api;
use crate::config::Config;
use crate::context;
use crate::custom_settings;
use crate::flow::Flow;
use crate::json::JsonDoc;
use crate::provider::Provider;
use crate::reply;
use crate::vertex_auth::{self, Step};
use crate::AiProxy;
use higress_ai::embeddings::{self, Embedder};
use higress_ai::translate::Protocol;
use higress_sdk::prelude::*;
use serde_json::Value;

/// Processes the whole request body.
pub fn on_body(http: &mut Http, provider: &Provider, flow: &mut Flow, body: &[u8]) -> DataAction {
    let original = body;
    let passthrough = provider.original || provider.spec.quirks.raw_body;
    if let (Some(Api::Embeddings), Some(embedder), false) = (flow.api, provider.embedder(), passthrough) {
        return match embeddings(provider, flow, embedder, body) {
            Ok(bytes) => finish(http, provider, flow, original, Some(bytes)),
            Err(message) => {
                reply::bad_request(http, flow.client, &message);
                DataAction::StopIterationNoBuffer
            }
        };
    }
    // An OpenAI chat request's conversation is tidied as its text, before any translation.
    let tidies = flow.client == Protocol::OpenAi && flow.api == Some(Api::ChatCompletion) && provider.tidy.is_active();
    // A translated body without custom settings is read once, as a `Value` (its text checked
    // there with the same answers): the text itself is not edited.
    if !passthrough && flow.translates() && provider.custom_settings.is_empty() && !tidies {
        return match convert::convert_unchecked(body, provider, flow) {
            Ok(bytes) => finish(http, provider, flow, original, Some(bytes)),
            Err(message) => {
                reply::bad_request(http, flow.client, &message);
                DataAction::StopIterationNoBuffer
            }
        };
    }
    let mut doc = match JsonDoc::parse(body) {
        Ok(doc) => doc,
        // A body the gateway does not interpret goes on as it came.
        Err(_) if passthrough => return finish(http, provider, flow, original, None),
        Err(message) => {
            reply::bad_request(http, flow.client, &message);
            return DataAction::StopIterationNoBuffer;
        }
    };
    custom_settings::apply(&provider.custom_settings, &mut doc);
    if tidies && !passthrough {
        provider.tidy.apply(&mut doc);
    }

    let result = if passthrough {
        flow.stream = doc.bool(&["stream"]) == Some(true);
        Ok(None)
    } else if flow.translates() {
        convert::convert(doc.as_bytes(), provider, flow).map(Some)
    } else {
        edit::edit(&mut doc, provider, flow).map(|()| None)
    };
    let translated = match result {
        Ok(translated) => translated,
        Err(message) => {
            reply::bad_request(http, flow.client, &message);
            return DataAction::StopIterationNoBuffer;
        }
    };
    let body = match translated {
        Some(bytes) => Some(bytes),
        None if doc.changed() => Some(doc.into_bytes()),
        None => None,
    };
    finish(http, provider, flow, original, body)
}

/// An OpenAI embeddings request as the provider's own embeddings API takes it.
fn embeddings(provider: &Provider, flow: &mut Flow, embedder: Embedder, body: &[u8]) -> Result<Vec<u8>, String> {
    let value: Value = serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))?;
    let mut request = embeddings::read_request(&value).map_err(|e| e.to_string())?;
    let model = provider.mapping.map(&request.model).into_owned();
    if model.is_empty() {
        return Err("model: missing".into());
    }
    request.model = model.clone();
    flow.model = Some(model);
    let bytes = serde_json::to_vec(&embedder.write_request(&request)).unwrap_or_default();
    flow.embeddings = Some(Box::new((embedder, request)));
    Ok(bytes)
}

/// The headers that depend on the body, then the body sent (`body`: the one to send
/// instead of the client's, if any), once Vertex's token is on the request, or the context
/// file fetched first.
fn finish(http: &mut Http, provider: &Provider, flow: &mut Flow, original: &[u8], body: Option<Vec<u8>>) -> DataAction {
    let passthrough = provider.original || provider.spec.quirks.raw_body;
    // A Dify chat continues the conversation the client names (Go's `ConversationId` header).
    let body = match (&provider.dify, body) {
        (Some(dify), Some(bytes)) if flow.translates() => {
            let conversation = http.request_header(&higress_ai::dify::CONVERSATION_HEADER.to_ascii_lowercase());
            Some(dify.with_conversation(bytes, conversation.as_deref()))
        }
        (_, body) => body,
    };
    if flow.stream {
        if !passthrough {
            http.set_request_header("accept", "text/event-stream");
        }
        if provider.first_byte_timeout > 0 && flow.api.is_some_and(|api| api.may_stream()) {
            http.set_request_header(FIRST_BYTE_TIMEOUT, &provider.first_byte_timeout.to_string());
        }
    }
    if provider.path_needs_model(flow.api) {
        let client_path = http.path().to_string();
        let path = route::path(provider, flow.api, &client_path, flow.model.as_deref(), flow.stream);
        if path != client_path {
            http.set_request_header(":path", &path);
            if http.request_header(ORIGINAL_PATH).is_none() {
                http.set_request_header(ORIGINAL_PATH, &client_path);
            }
        }
    }
    if let Some(path) = flow.native_path {
        // DashScope's native generation: the path names the kind of input, the header the stream.
        let client_path = http.path().to_string();
        let path = [provider.provider_base_path.as_str(), path].concat();
        http.set_request_header(":path", &path);
        if http.request_header(ORIGINAL_PATH).is_none() {
            http.set_request_header(ORIGINAL_PATH, &client_path);
        }
        if flow.stream {
            http.set_request_header(higress_ai::qwen::SSE_HEADER, higress_ai::qwen::SSE_ENABLE);
        }
    }
    if let Some(oauth) = provider.vertex_oauth() {
        match vertex_auth::authorize(http, oauth, after_token) {
            Step::Ready => {}
            Step::Waiting => {
                flow.waiting_body = body;
                return DataAction::StopIterationAndBuffer;
            }
            Step::Failed => return DataAction::StopIterationNoBuffer,
        }
    }
    deliver(http, provider, flow, body, |_| original.to_vec())
}

/// A request that waited for Vertex's token goes on.
fn after_token(me: &mut AiProxy, http: &mut Http, config: &Config) {
    let (Some(provider), Some(flow)) = (config.active(), me.flow.as_mut()) else {
        http.resume_request();
        return;
    };
    let body = flow.waiting_body.take();
    let action = deliver(http, provider, flow, body, |http| http.request_body().unwrap_or_default());
    if matches!(action, DataAction::Continue) {
        http.resume_request();
    }
}

/// The body sent (`body`: the one to send instead of the client's, if any; `original` reads
/// the client's), or the context file fetched first.
fn deliver(
    http: &mut Http,
    provider: &Provider,
    flow: &mut Flow,
    body: Option<Vec<u8>>,
    original: impl FnOnce(&Http) -> Vec<u8>,
) -> DataAction {
    let passthrough = provider.original || provider.spec.quirks.raw_body;
    if provider.context.is_some() && flow.api == Some(Api::ChatCompletion) && !passthrough {
        let body = body.unwrap_or_else(|| original(http));
        return match context::apply(http, provider, flow, body) {
            Ok(Some(bytes)) => {
                send(http, provider, &bytes);
                crate::failover::remember(http, provider, flow, &bytes);
                DataAction::Continue
            }
            // The request waits for the file.
            Ok(None) => DataAction::StopIterationAndBuffer,
            Err(message) => {
                log_warn!("{message}");
                let details = format!("ai-proxy.{}.load_ctx_failed", provider.spec.name);
                http.send_local_response(500, &details, &[("content-type", "text/plain")], message.as_bytes());
                DataAction::StopIterationNoBuffer
            }
        };
    }
    match body {
        Some(bytes) => {
            send(http, provider, &bytes);
            crate::failover::remember(http, provider, flow, &bytes);
        }
        None if provider.bedrock.as_ref().is_some_and(|b| b.signs()) || provider.retry.is_some() => {
            let bytes = original(http);
            sign(http, provider, &bytes);
            crate::failover::remember(http, provider, flow, &bytes);
        }
        None => {}
    }
    DataAction::Continue
}

/// Replaces the body (its length changed with it), signed when the provider signs.
pub fn send(http: &mut Http, provider: &Provider, body: &[u8]) {
    http.replace_request_body(body);
    http.remove_request_header("content-length");
    sign(http, provider, body);
}

/// Signs the request with `body` as it leaves (Bedrock's SigV4), when the provider signs.
pub fn sign(http: &mut Http, provider: &Provider, body: &[u8]) {
    if let Some(bedrock) = provider.bedrock.as_ref().filter(|b| b.signs()) {
        let now = higress_sdk::hostcalls::current_time_nanos().unwrap_or(0) / 1_000_000_000;
        bedrock.sign(http, body, now);
    }
}
