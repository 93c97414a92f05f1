//! ai-proxy: one API in front of many LLM providers. Clients speak OpenAI's chat completions
//! (or Anthropic's messages, or OpenAI's embeddings); the plugin sends each request to the
//! configured provider - OpenAI, Azure OpenAI, Claude, Gemini, Vertex AI, Bedrock, Qwen
//! (compatible or native), or one of two dozen OpenAI-compatible services - with the
//! provider's host, path and credentials (keys, Vertex's OAuth token, Bedrock's SigV4), the
//! model renamed by `modelMapping`, and the body translated when the provider speaks another
//! protocol, and translates the reply back, whole or streamed. Failing keys leave rotation
//! (`failover`), failed requests are retried (`retryOnFailure`) or fall back to other
//! providers (`fallback`). A drop-in for Higress's Go plugin of the same name.
//!
//! Layout: `config` reads the configuration and `provider` resolves the provider in use
//! (`provider/table.rs` has every type); `request` handles the request's headers and body,
//! `response` the reply; `vertex_auth` the OAuth token; `failover` keys, retries and
//! fallback; `json` edits bodies in place; `higress_ai` does the translation.

mod api;
mod config;
mod context;
mod custom_settings;
mod failover;
mod flow;
mod json;
mod model_map;
mod provider;
mod reply;
mod request;
mod response;
#[cfg(test)]
mod schema;
mod vertex_auth;

use config::Config;
use flow::{Flow, Reply};
use higress_sdk::config::Selected;
use higress_sdk::prelude::*;
use std::rc::Rc;
use std::time::Duration;

/// Per-request state: set when a provider takes the request.
#[derive(Default)]
pub(crate) struct AiProxy {
    flow: Option<Flow>,
}

impl HttpPlugin for AiProxy {
    type Config = Config;
    /// A rule is the global config with the rule's keys on top (Higress's override parser):
    /// a rule may only switch `activeProviderId`.
    const MERGE_GLOBAL_INTO_RULES: bool = true;
    const REQUEST_BODY: BodyMode = BodyMode::Buffered;
    const RESPONSE_BODY: BodyMode = BodyMode::Streaming;

    fn validate_config(config: &mut Config, cx: &ConfigContext) -> Result<(), ConfigError> {
        config.resolve(cx)
    }

    fn on_plugin_start(root: &mut Root, rules: &Rc<RuleSet<Config>>) -> Result<(), ConfigError> {
        // Requests waiting for a Vertex token another VM fetches are woken by a tick.
        let configs = rules.global.iter().chain(rules.rules.iter().map(|rule| &rule.config));
        if configs.filter_map(Config::active).any(|provider| provider.vertex_oauth().is_some()) {
            root.register_tick(Duration::from_millis(100), vertex_auth::check_parked);
        }
        // Key health: reset, and checked by one VM, once per provider (rules repeat it).
        let selections =
            rules.global.iter().map(|_| Selected::Global).chain((0..rules.rules.len()).map(Selected::Rule));
        let mut seen: Vec<String> = Vec::new();
        for at in selections {
            let Some(provider) = rules.get(at).and_then(Config::active) else { continue };
            let Some(failover) = &provider.failover else { continue };
            let name = format!("ai-proxy-{}-{}", provider.spec.name, provider.id);
            if seen.contains(&name) {
                continue;
            }
            failover.reset();
            let election = higress_sdk::leader::LeaderElection::new(&name);
            let rules = Rc::clone(rules);
            root.register_tick(failover.interval, move || failover::check_keys(&rules, at, &election));
            seen.push(name);
        }
        Ok(())
    }

    fn on_request_headers(&mut self, http: &mut Http, config: &Config) -> HeaderAction {
        let Some(provider) = config.active() else {
            http.skip_rest();
            return HeaderAction::Continue;
        };
        let (flow, action) = request::on_headers(http, provider);
        if flow.is_none() && !http.local_response_sent() {
            http.skip_rest();
        }
        self.flow = flow;
        action
    }

    fn on_request_body(&mut self, http: &mut Http, config: &Config, body: &[u8]) -> DataAction {
        match (config.active(), self.flow.as_mut()) {
            (Some(provider), Some(flow)) => {
                failover::remember_original(config, flow, http.path(), body);
                request::on_body(http, provider, flow, body)
            }
            _ => DataAction::Continue,
        }
    }

    fn on_response_headers(&mut self, http: &mut Http, config: &Config) -> HeaderAction {
        let (Some(provider), Some(flow)) = (config.active(), self.flow.as_mut()) else {
            http.dont_read_response_body();
            return HeaderAction::Continue;
        };
        let action = response::on_headers(http, provider, flow);
        if flow.retrying() {
            return action;
        }
        if flow.original.is_some() {
            let failure = response::failure(http);
            if failure.is_some_and(|failure| failover::fall_back(http, config, flow, &failure)) {
                // The failed reply waits for the fallback's.
                return HeaderAction::StopIteration;
            }
            flow.original = None;
        }
        if matches!(flow.reply, Reply::Untouched) {
            http.skip_rest();
        }
        action
    }

    fn on_response_body(&mut self, http: &mut Http, _config: &Config, body: &[u8]) -> DataAction {
        match self.flow.as_mut() {
            Some(flow) => response::on_body(http, flow, body),
            None => DataAction::Continue,
        }
    }

    fn on_response_body_chunk(
        &mut self,
        http: &mut Http,
        _config: &Config,
        chunk: &[u8],
        end_of_stream: bool,
    ) -> DataAction {
        match self.flow.as_mut() {
            Some(flow) => response::on_chunk(http, flow, chunk, end_of_stream),
            None => DataAction::Continue,
        }
    }
}

higress_sdk::export_plugin!("ai-proxy", AiProxy);
