//! `fallback` (an extension: Higress has none, and its users' most reported problem after
//! lost stream events is model fallback that does not work): when the provider in use fails
//! a request - a status of `onStatus`, or (`onTimeout`) an upstream timeout or connection
//! failure - it is sent to the next target in order: another provider of `providers` (by
//! id), another model, or both. Each target gets the client's request as that provider
//! takes it (mapped, translated, on its path, with its key), through its own service or the
//! route's cluster; its answer reaches the client in the client's protocol, a stream as a
//! stream. A fallback happens while the failed reply waits, so never once bytes reached the
//! client; when every target fails, the first failure goes on.

use super::statuses::Statuses;
use crate::api::Api;
use crate::config::Config;
use crate::flow::Flow;
use crate::json::JsonDoc;
use crate::provider::{keys, Provider};
use crate::request::{self, key_headers};
use crate::AiProxy;
use higress_ai::translate::Protocol;
use higress_sdk::cluster::ServiceConfig;
use higress_sdk::config::ConfigError;
use higress_sdk::prelude::*;
use serde_json::Value;
use std::time::Duration;

/// Higress's retry timeout, for each target.
const DEFAULT_TIMEOUT_MS: u64 = 60_000;

/// `fallback`.
#[derive(Debug)]
pub struct Fallback {
    on_status: Statuses,
    on_timeout: bool,
    timeout: Duration,
    targets: Vec<Target>,
}

/// One place to fall back to.
#[derive(Debug)]
pub struct Target {
    /// Another provider (`None`: the one in use).
    provider: Option<Box<Provider>>,
    /// The model asked for there (`None`: the request's, mapped by that provider).
    model: Option<String>,
    /// Where it is reached (`None`: the route's cluster); its `Host` is the provider's
    /// unless `serviceHost` says.
    service: Option<ServiceConfig>,
}

impl Fallback {
    /// Reads `fallback` at `field`; `build` makes the provider of an id of `providers`.
    pub fn parse(
        value: &Value,
        field: &str,
        mut build: impl FnMut(&str, &str) -> Result<Provider, ConfigError>,
    ) -> Result<Option<Fallback>, ConfigError> {
        let Value::Object(object) = value else {
            return match value {
                Value::Null => Ok(None),
                _ => Err(ConfigError::at(field, "expected an object")),
            };
        };
        let on_timeout = match object.get("onTimeout") {
            None | Some(Value::Null) => true,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(ConfigError::at(format!("{field}.onTimeout"), "expected true or false")),
        };
        let timeout = super::integer(object, field, "timeout", DEFAULT_TIMEOUT_MS, false)?;
        let on_status = match object.get("onStatus") {
            None | Some(Value::Null) => Statuses::parse(Some(&serde_json::json!(["429", "5.*"])), field)?,
            status => Statuses::parse(status, &format!("{field}.onStatus"))?,
        };
        let list = match object.get("targets") {
            Some(Value::Array(list)) if !list.is_empty() => list,
            _ => return Err(ConfigError::at(format!("{field}.targets"), "expected a non-empty array")),
        };
        let mut targets = Vec::with_capacity(list.len());
        for (i, item) in list.iter().enumerate() {
            let at = format!("{field}.targets[{i}]");
            let Value::Object(target) = item else { return Err(ConfigError::at(at, "expected an object")) };
            let text = |key: &str| -> Result<Option<String>, ConfigError> {
                match target.get(key) {
                    None | Some(Value::Null) => Ok(None),
                    Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.trim().to_string())),
                    Some(_) => Err(ConfigError::at(format!("{at}.{key}"), "expected a non-empty string")),
                }
            };
            let provider = match text("providerId")? {
                Some(id) => Some(Box::new(build(&id, &format!("{at}.providerId"))?)),
                None => None,
            };
            let model = text("model")?;
            if provider.is_none() && model.is_none() {
                return Err(ConfigError::at(at, "names neither a providerId nor a model"));
            }
            let service = match target.get("serviceName") {
                None | Some(Value::Null) => None,
                Some(_) => {
                    let service: ServiceConfig =
                        serde_json::from_value(item.clone()).map_err(|e| ConfigError::at(&at, e.to_string()))?;
                    service.cluster(443).map_err(|e| e.within(&at))?;
                    Some(service)
                }
            };
            targets.push(Target { provider, model, service });
        }
        Ok(Some(Fallback { on_status, on_timeout, timeout: Duration::from_millis(timeout), targets }))
    }
}

/// Why the request failed, as fallback sees it.
pub enum Failure {
    /// The provider answered this status.
    Status(String),
    /// The gateway gave up on the provider (a timeout, a refused or reset connection).
    Upstream,
}

/// The client's request, kept while it may fall back.
#[derive(Debug)]
pub struct Original {
    path: String,
    body: Vec<u8>,
    /// The next target to try.
    next: usize,
}

/// Keeps the client's request when a fallback is configured.
pub fn remember(config: &Config, flow: &mut Flow, path: &str, body: &[u8]) {
    if config.fallback().is_some() && flow.api.is_some() {
        flow.original = Some(Box::new(Original { path: path.to_string(), body: body.to_vec(), next: 0 }));
    }
}

/// Sends the request to the next target when `failure` is one to fall back on; the failed
/// reply then waits. Returns whether a fallback left.
pub fn start(http: &mut Http, config: &Config, flow: &mut Flow, failure: &Failure) -> bool {
    let Some(fallback) = config.fallback() else { return false };
    let wanted = match failure {
        Failure::Status(status) => fallback.on_status.matches(status),
        Failure::Upstream => fallback.on_timeout,
    };
    wanted && next_target(http, config, flow)
}

/// Sends the request to the next target that can take it; returns whether one left.
fn next_target(http: &mut Http, config: &Config, flow: &mut Flow) -> bool {
    let (Some(fallback), Some(active)) = (config.fallback(), config.active()) else { return false };
    loop {
        let Some(original) = flow.original.as_mut() else { return false };
        let Some(target) = fallback.targets.get(original.next) else { return false };
        original.next += 1;
        let provider = target.provider.as_deref().unwrap_or(active);
        match send(http, provider, target, fallback.timeout, flow) {
            Ok(()) => return true,
            Err(message) => log_warn!("fallback to `{}` skipped: {message}", provider.id),
        }
    }
}

/// What a fallback's answer is translated from.
#[derive(Debug)]
pub struct Pending {
    pub upstream: Protocol,
    pub model: Option<String>,
    pub stream: bool,
}

fn send(
    http: &mut Http,
    provider: &Provider,
    target: &Target,
    timeout: Duration,
    flow: &mut Flow,
) -> Result<(), String> {
    let original = flow.original.as_ref().ok_or("no request kept")?;
    let (api, client, upstream, path) = request::protocols(provider, flow.api, &original.path);
    let mut next = Flow::new(api, client, upstream);
    let mut value: Value = serde_json::from_slice(&original.body).map_err(|e| format!("the request: {e}"))?;
    if let (Some(model), Value::Object(body)) = (&target.model, &mut value) {
        body.insert("model".into(), model.as_str().into());
    }
    let body = if next.translates() {
        request::convert_value(&value, provider, &mut next)?
    } else {
        let bytes = serde_json::to_vec(&value).map_err(|e| e.to_string())?;
        let mut doc = JsonDoc::parse(&bytes)?;
        request::edit(&mut doc, provider, &mut next)?;
        doc.into_bytes()
    };
    let path = match next.native_path {
        Some(native) => native.to_string(),
        None => request::route_path(provider, next.api, &path, next.model.as_deref(), next.stream),
    };
    let host = request::route_host(provider).map(str::to_string).unwrap_or_else(|| http.host().to_string());
    let mut headers = vec![("content-type".to_string(), "application/json".to_string())];
    if next.stream {
        headers.push(("accept".to_string(), "text/event-stream".to_string()));
        if next.native_path.is_some() {
            headers.push((higress_ai::qwen::SSE_HEADER.to_string(), higress_ai::qwen::SSE_ENABLE.to_string()));
        }
    }
    let key = match &provider.failover {
        Some(failover) => failover.pick(&provider.keys),
        None => keys::pick(&provider.keys, next.api, None),
    };
    let anthropic = next.upstream == Protocol::Anthropic && provider.spec.name != "claude";
    for (name, value) in key.map(|key| key_headers(provider, key, anthropic, false)).unwrap_or_default() {
        headers.push((name.to_string(), value));
    }
    if provider.vertex_oauth().is_some() || provider.bedrock.as_ref().is_some_and(|b| b.signs()) {
        return Err(
            "its credentials are made per request (Vertex OAuth, Bedrock SigV4): not a fallback target yet".into()
        );
    }
    let cluster = match &target.service {
        Some(service) => {
            let mut service = service.clone();
            service.service_host = service.service_host.or(Some(host));
            service.cluster(443).map_err(|e| e.to_string())?
        }
        None => Cluster::Route { host: Some(host) },
    };
    let request = HttpClient::new(cluster).post(&path, body).headers(&headers).timeout(timeout);
    request
        .send(http, move |me: &mut AiProxy, http, config: &Config, response| answered(me, http, config, response))
        .map_err(|e| e.to_string())?;
    log_debug!("falling back to `{}` ({})", provider.id, next.model.as_deref().unwrap_or_default());
    flow.fallback = Some(Box::new(Pending { upstream: next.upstream, model: next.model, stream: next.stream }));
    Ok(())
}

/// A fallback's answer: the client gets it when it succeeded; else the next target is tried,
/// or the first failure goes on.
fn answered(me: &mut AiProxy, http: &mut Http, config: &Config, response: HttpResponse) {
    let Some(flow) = me.flow.as_mut() else {
        http.resume_response();
        return;
    };
    let pending = flow.fallback.take();
    if let (200, Some(pending)) = (response.status, pending) {
        let mut answered = Flow::new(flow.api.or(Some(Api::ChatCompletion)), flow.client, pending.upstream);
        answered.model = pending.model;
        answered.stream = pending.stream;
        let content_type = response.header("content-type").unwrap_or("application/json").to_string();
        let (content_type, body) = crate::response::retried(&mut answered, &content_type, &response.body);
        flow.original = None;
        http.send_local_response(200, "ai-proxy.fallback", &[("content-type", content_type.as_str())], &body);
        return;
    }
    let status = response.status;
    if !next_target(http, config, flow) {
        log_warn!("every fallback failed (the last answered {status}): the first failure goes on");
        flow.original = None;
        http.resume_response();
    }
}
