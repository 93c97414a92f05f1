//! `context`: a text file whose content is put before a chat's conversation as a system
//! message. It is fetched once per VM, on the first chat request, which waits for it; later
//! requests use the copy (as Higress). Moonshot's `moonshotFileId` names a file uploaded to
//! Moonshot instead, read from its file API with the request's key (Go documents it but
//! never fetched it: the key had no effect).

use crate::flow::Flow;
use crate::json::JsonDoc;
use crate::provider::Provider;
use crate::AiProxy;
use higress_ai::translate::Protocol;
use higress_sdk::prelude::*;
use serde_json::{json, Value};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

/// Where the file is, and its content once fetched.
#[derive(Debug)]
pub struct ContextFile {
    client: HttpClient,
    path: String,
    timeout: Duration,
    /// Moonshot's file API: asked with the request's key, the text in the reply's `content`.
    moonshot: bool,
    content: RefCell<Option<Rc<str>>>,
}

impl ContextFile {
    /// The file at `path` (with its query) on the service `service:port`, asked for with
    /// `host` as its `Host`.
    pub fn new(service: &str, port: u16, host: &str, path: &str, timeout_ms: u64) -> ContextFile {
        let host = Some(host.to_string()).filter(|h| !h.is_empty());
        let cluster = Cluster::Fqdn { fqdn: service.to_string(), port, host };
        ContextFile {
            client: HttpClient::new(cluster),
            path: path.to_string(),
            timeout: Duration::from_millis(timeout_ms),
            moonshot: false,
            content: RefCell::new(None),
        }
    }

    /// The file `id` (checked to be URL-safe) uploaded to Moonshot, read at `host` through
    /// the route's cluster.
    pub fn moonshot(id: &str, host: &str, timeout_ms: u64) -> ContextFile {
        let cluster = Cluster::Route { host: Some(host.to_string()) };
        ContextFile {
            client: HttpClient::new(cluster),
            path: format!("/v1/files/{id}/content"),
            timeout: Duration::from_millis(timeout_ms),
            moonshot: true,
            content: RefCell::new(None),
        }
    }

    /// The text of the file in a reply to its fetch.
    fn text_of(&self, status: u16, body: &[u8]) -> Result<Rc<str>, String> {
        if status != 200 {
            let source = if self.moonshot { "knowledge base file from moonshot service" } else { "context file" };
            return Err(format!("failed to load {source}, status: {status}"));
        }
        if !self.moonshot {
            return Ok(String::from_utf8_lossy(body).into());
        }
        let value: Value =
            serde_json::from_slice(body).map_err(|e| format!("moonshot's file content is not JSON: {e}"))?;
        match value.get("content") {
            Some(Value::String(text)) => Ok(text.as_str().into()),
            _ => Err("moonshot's file content has no `content` text".into()),
        }
    }

    fn cached(&self) -> Option<Rc<str>> {
        self.content.try_borrow().ok().and_then(|c| c.clone())
    }

    fn store(&self, content: Rc<str>) {
        if let Ok(mut slot) = self.content.try_borrow_mut() {
            *slot = Some(content);
        }
    }
}

/// Puts the context into `body` (a chat request in `protocol`) now when it is known, else
/// fetches it and holds the request: `Ok(None)` then, and the body waits in `flow`.
pub fn apply(http: &mut Http, provider: &Provider, flow: &mut Flow, body: Vec<u8>) -> Result<Option<Vec<u8>>, String> {
    let Some(file) = &provider.context else { return Ok(Some(body)) };
    if let Some(content) = file.cached() {
        return Ok(Some(insert(&body, flow.upstream, &content)));
    }
    let kind = provider.spec.name;
    let key = if file.moonshot { http.request_header("authorization") } else { None };
    let mut request = file.client.get(&file.path).timeout(file.timeout);
    if let Some(key) = &key {
        request = request.header("authorization", key);
    }
    let sent = request.send(http, move |me: &mut AiProxy, http, config, response| {
        let (Some(provider), Some(flow)) = (config.active(), me.flow.as_mut()) else {
            http.resume_request();
            return;
        };
        let Some(file) = &provider.context else {
            http.resume_request();
            return;
        };
        let content = match file.text_of(response.status, &response.body) {
            Ok(content) => content,
            Err(message) => {
                let details = format!("ai-proxy.{kind}.load_ctx_failed");
                log_warn!("{message}");
                let body = format!("failed to load context file: {message}");
                http.send_local_response(500, &details, &[("content-type", "text/plain")], body.as_bytes());
                return;
            }
        };
        file.store(content.clone());
        if let Some(body) = flow.pending_body.take() {
            let body = insert(&body, flow.upstream, &content);
            crate::request::send(http, provider, &body);
            crate::failover::remember(http, provider, flow, &body);
        }
        http.resume_request();
    });
    match sent {
        Ok(_) => {
            flow.pending_body = Some(body);
            Ok(None)
        }
        Err(error) => Err(format!("failed to load context file: {error}")),
    }
}

/// `body` with `content` first: an OpenAI request gets a system message before its first
/// message that is not one; an Anthropic request gets it before its system prompt.
fn insert(body: &[u8], protocol: Protocol, content: &str) -> Vec<u8> {
    let Ok(mut doc) = JsonDoc::parse(body) else { return body.to_vec() };
    match protocol {
        Protocol::OpenAi => system_message(&mut doc, &["messages"], content),
        // DashScope's messages are OpenAI's, under `input`.
        Protocol::Qwen => system_message(&mut doc, &["input", "messages"], content),
        // Never a provider's protocol here (a Responses request to a provider with the API
        // passes untranslated, not as a chat).
        Protocol::Responses => {}
        Protocol::Bedrock => {
            let block = json!({"text": content});
            match doc.value(&["system"]) {
                Some(Value::Array(_)) => {
                    doc.insert_element(&["system"], 0, block.to_string().as_bytes());
                }
                _ => doc.set(&["system"], &json!([block])),
            }
        }
        Protocol::Anthropic => match doc.value(&["system"]) {
            Some(Value::String(system)) if !system.is_empty() => {
                doc.set(&["system"], &Value::String(format!("{content}\n{system}")));
            }
            Some(Value::Array(_)) => {
                let block = json!({"type": "text", "text": content}).to_string();
                doc.insert_element(&["system"], 0, block.as_bytes());
            }
            _ => doc.set(&["system"], &Value::String(content.to_string())),
        },
        // Their bodies are small: edited as values by their adapters, as Go edited them.
        Protocol::MiniMaxPro | Protocol::Dify(_) => {
            let Ok(mut value) = serde_json::from_slice::<Value>(body) else { return body.to_vec() };
            match protocol {
                Protocol::MiniMaxPro => higress_ai::minimax::insert_context(&mut value, content),
                _ => higress_ai::dify::insert_context(&mut value, content),
            }
            return serde_json::to_vec(&value).unwrap_or_else(|_| body.to_vec());
        }
        Protocol::Gemini => {
            let part = json!({"text": content});
            match doc.value(&["systemInstruction", "parts"]) {
                Some(Value::Array(_)) => {
                    doc.insert_element(&["systemInstruction", "parts"], 0, part.to_string().as_bytes());
                }
                _ => doc.set(&["systemInstruction"], &json!({"parts": [part]})),
            }
        }
    }
    doc.into_bytes()
}

/// A system message with `content` before the first message of `messages` that is not one.
fn system_message(doc: &mut JsonDoc, messages: &[&str], content: &str) {
    let count = doc.len(messages).unwrap_or(0);
    let first = (0..count)
        .find(|i| {
            let index = i.to_string();
            let role: Vec<&str> = messages.iter().copied().chain([index.as_str(), "role"]).collect();
            doc.str(&role).as_deref() != Some("system")
        })
        .unwrap_or(0);
    let message = json!({"role": "system", "content": content}).to_string();
    doc.insert_element(messages, first, message.as_bytes());
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn inserted(body: Value, protocol: Protocol) -> Value {
        serde_json::from_slice(&insert(body.to_string().as_bytes(), protocol, "CTX")).unwrap()
    }

    #[test]
    fn the_context_goes_before_the_conversation() {
        let body = json!({"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]});
        let out = inserted(body, Protocol::OpenAi);
        assert_eq!(out["messages"][1], json!({"role": "system", "content": "CTX"}));
        assert_eq!(out["messages"][2]["role"], "user");
        let out = inserted(json!({"messages": [{"role": "user", "content": "u"}]}), Protocol::OpenAi);
        assert_eq!(out["messages"][0]["content"], "CTX");
        assert_eq!(inserted(json!({"system": "s"}), Protocol::Anthropic)["system"], "CTX\ns");
        assert_eq!(inserted(json!({}), Protocol::Anthropic)["system"], "CTX");
        assert_eq!(
            inserted(json!({"system": [{"type": "text", "text": "s"}]}), Protocol::Anthropic)["system"][0]["text"],
            "CTX"
        );
    }
}
