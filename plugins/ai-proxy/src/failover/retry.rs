//! `retryOnFailure`: a request whose reply failed (its status matches `retryOnStatus`) is sent
//! again with another of the provider's keys, up to `maxRetries` times, while the failed
//! reply waits (its headers have not left). A retry carries the request exactly as it left
//! the first time (the translated body, the stream's `Accept`, the protocol's headers), not
//! the client's original body as Go did; its answer reaches the client in the client's
//! protocol, a stream as a stream (Go parsed a retried stream as one JSON body and broke
//! it). When every retry fails, the first failure goes on as it came.

use super::statuses::Statuses;
use crate::config::Config;
use crate::flow::Flow;
use crate::provider::Provider;
use crate::request::key_headers;
use crate::AiProxy;
use higress_sdk::config::ConfigError;
use higress_sdk::prelude::*;
use serde_json::Value;
use std::time::Duration;

/// Request headers a retry sends as the first attempt sent them (besides the key's).
const KEPT: &[&str] = &["content-type", "accept", "anthropic-version", "anthropic-beta", "x-dashscope-sse"];

/// `retryOnFailure`, when enabled.
#[derive(Debug)]
pub struct Retry {
    max: u32,
    timeout: Duration,
    on_status: Statuses,
}

impl Retry {
    /// Reads `retryOnFailure` at `field`; `None` when it is not enabled.
    pub fn parse(value: Option<&Value>, field: &str) -> Result<Option<Retry>, ConfigError> {
        let Some(value) = value.filter(|v| !v.is_null()) else { return Ok(None) };
        let Value::Object(object) = value else { return Err(ConfigError::at(field, "expected an object")) };
        if object.get("enabled").and_then(Value::as_bool) != Some(true) {
            return Ok(None);
        }
        let number = |key: &str, default: u64| super::integer(object, field, key, default, false);
        Ok(Some(Retry {
            max: u32::try_from(number("maxRetries", 1)?).unwrap_or(u32::MAX),
            timeout: Duration::from_millis(number("retryTimeout", 60_000)?),
            on_status: Statuses::parse(object.get("retryOnStatus"), &format!("{field}.retryOnStatus"))?,
        }))
    }
}

/// The request as it left, kept while its reply may be retried.
#[derive(Debug)]
pub struct Sent {
    path: String,
    host: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// Sent in Anthropic's protocol to an endpoint that takes the key as `x-api-key` too.
    anthropic: bool,
}

/// Keeps what leaves for the upstream (`body` as sent), when retries are configured.
pub fn remember(http: &Http, provider: &Provider, flow: &mut Flow, body: &[u8]) {
    if provider.retry.is_none() || provider.keys.len() < 2 {
        return;
    }
    let header = |name: &str| http.request_header(name);
    let headers =
        KEPT.iter().filter_map(|name| Some((name.to_string(), header(name)?))).collect::<Vec<(String, String)>>();
    flow.sent = Some(Box::new(Sent {
        path: header(":path").unwrap_or_default(),
        host: header(":authority").unwrap_or_default(),
        headers,
        body: body.to_vec(),
        anthropic: header("x-api-key").is_some() && provider.spec.auth == crate::provider::table::Auth::Bearer,
    }));
}

/// Sends the request again with a key it has not tried, if its reply of `status` may be
/// retried; the reply then waits. Returns whether a retry left.
pub fn start(http: &mut Http, provider: &Provider, flow: &mut Flow, status: &str) -> bool {
    let (Some(retry), Some(sent)) = (&provider.retry, &flow.sent) else { return false };
    if flow.retries >= retry.max || !retry.on_status.matches(status) {
        return false;
    }
    let untried: Vec<&String> = provider.keys.iter().filter(|k| !flow.tried.contains(k)).collect();
    let healthy: Vec<&String> = match &provider.failover {
        Some(failover) => {
            let out = failover.unavailable();
            let healthy: Vec<&String> = untried.iter().copied().filter(|k| !out.contains(k)).collect();
            if healthy.is_empty() {
                untried
            } else {
                healthy
            }
        }
        None => untried,
    };
    let Some(key) = healthy.get(usize::try_from(crate::provider::keys::random()).unwrap_or(0) % healthy.len().max(1))
    else {
        return false;
    };
    let key = key.to_string();
    let has_version = sent.headers.iter().any(|(name, _)| name == "anthropic-version");
    let mut headers: Vec<(String, String)> = sent.headers.clone();
    for (name, value) in key_headers(provider, &key, sent.anthropic, has_version) {
        headers.push((name.to_string(), value));
    }
    let request = HttpClient::new(Cluster::Route { host: Some(sent.host.clone()) })
        .post(&sent.path, sent.body.clone())
        .headers(&headers)
        .timeout(retry.timeout);
    let sent = request.send(http, move |me: &mut AiProxy, http, config: &Config, response| {
        answered(me, http, config, response);
    });
    match sent {
        Ok(_) => {
            log_debug!("retrying a {status} reply with another key");
            flow.retries += 1;
            flow.tried.push(key);
            true
        }
        Err(error) => {
            log_warn!("the retry could not be sent: {error}");
            false
        }
    }
}

/// A retry's answer: the client gets it when it succeeded; else another key is tried, or the
/// first failure goes on.
fn answered(me: &mut AiProxy, http: &mut Http, config: &Config, response: HttpResponse) {
    let (Some(provider), Some(flow)) = (config.active(), me.flow.as_mut()) else {
        http.resume_response();
        return;
    };
    let status = response.status.to_string();
    if let (Some(failover), Some(key)) = (&provider.failover, flow.tried.last()) {
        let host = flow.sent.as_ref().map(|s| s.host.clone()).unwrap_or_default();
        let path = flow.sent.as_ref().map(|s| s.path.clone()).unwrap_or_default();
        let cluster = Cluster::Route { host: None }.name();
        failover.record(key, &status, || super::Endpoint { host, path, cluster });
    }
    if response.status == 200 {
        let content_type = response.header("content-type").unwrap_or("application/json").to_string();
        let (content_type, body) = crate::response::retried(flow, &content_type, &response.body);
        flow.sent = None;
        let headers = [("content-type", content_type.as_str())];
        http.send_local_response(200, "ai-proxy.retried", &headers, &body);
        return;
    }
    if !start(http, provider, flow, &status) {
        log_warn!("every retry failed (the last answered {status}): the first failure goes on");
        flow.sent = None;
        http.resume_response();
    }
}
