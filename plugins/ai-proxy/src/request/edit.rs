//! A request in the provider's own protocol, edited in place: the model mapped, the stream's
//! usage asked for, `developer` messages made `system` ones, the provider's quirks.

use super::quirks::{self, Reasoning};
use crate::api::Api;
use crate::flow::Flow;
use crate::json::JsonDoc;
use crate::provider::Provider;
use higress_ai::translate::Protocol;

/// Edits `doc`, a request to `flow.api`; an error names a field of the wrong type.
pub fn edit(doc: &mut JsonDoc, provider: &Provider, flow: &mut Flow) -> Result<(), String> {
    let Some(api) = flow.api else { return Ok(()) };
    flow.stream = doc.bool(&["stream"]) == Some(true);
    map_model(doc, provider, flow)?;
    let chat = matches!(api, Api::ChatCompletion | Api::Completion);
    if chat && flow.upstream == Protocol::OpenAi && flow.stream && provider.stream_usage {
        // The gateway counts tokens from the stream's last chunk (ai-statistics,
        // ai-token-ratelimit): every OpenAI-style stream is asked for it.
        if !doc.exists(&["stream_options", "include_usage"]) {
            doc.set_raw(&["stream_options", "include_usage"], b"true");
        }
    }
    if api == Api::ChatCompletion && provider.spec.name != "azure" {
        developer_to_system(doc);
    }
    if flow.upstream == Protocol::OpenAi {
        quirks::apply(doc, provider, api, Reasoning::default());
    }
    Ok(())
}

/// Maps `model`. A body without one gets the mapping's answer for no model (`*`), if any:
/// Go wrote `"model": ""` into such bodies.
fn map_model(doc: &mut JsonDoc, provider: &Provider, flow: &mut Flow) -> Result<(), String> {
    let model = match doc.raw(&["model"]) {
        None | Some(b"null") => String::new(),
        Some(_) => doc.str(&["model"]).ok_or("model: expected a string")?,
    };
    let mapped = provider.mapping.map(&model).into_owned();
    if mapped != model {
        doc.set_str(&["model"], &mapped);
    }
    flow.model = Some(mapped).filter(|m| !m.is_empty());
    Ok(())
}

/// OpenAI's `developer` role is OpenAI's (and Azure's) alone: other providers refuse it, so
/// it is sent as `system`, as Higress does.
fn developer_to_system(doc: &mut JsonDoc) {
    // Rare: the text is searched once before any message is looked at.
    if !doc.contains_string("developer") {
        return;
    }
    let count = doc.len(&["messages"]).unwrap_or(0);
    for i in 0..count {
        let index = i.to_string();
        if doc.str(&["messages", &index, "role"]).as_deref() == Some("developer") {
            doc.set_str(&["messages", &index, "role"], "system");
        }
    }
}
