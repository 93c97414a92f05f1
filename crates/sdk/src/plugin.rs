//! The plugin API: one trait, implemented by a per-request struct.
//!
//! A value of the plugin type is created (with `Default`) for every HTTP stream the rules
//! select, so its fields are the request's state; the parsed config is shared and passed
//! by reference to every phase.

pub use crate::body_mode::BodyMode;
use crate::config::{ConfigContext, ConfigError, RuleSet};
use crate::http::Http;
use crate::root::Root;
use higress_abi::{DataAction, HeaderAction, TrailersAction};
use serde::de::DeserializeOwned;
use std::rc::Rc;

/// An HTTP plugin. Every method has a default that lets the request through, so a plugin
/// implements only the phases it needs.
pub trait HttpPlugin: Default + 'static {
    /// The plugin's configuration (global and per rule), parsed from JSON with serde.
    type Config: DeserializeOwned + 'static;

    /// Parse rules as "global config with the rule's keys on top" (wasm-go's
    /// `ParseOverrideConfig`), instead of parsing each rule on its own.
    const MERGE_GLOBAL_INTO_RULES: bool = false;
    /// With `MERGE_GLOBAL_INTO_RULES`: keys that belong to rules only and are not copied from
    /// the global config into rules (an auth plugin's `allow`: Higress ignores a global one).
    const RULE_ONLY_KEYS: &'static [&'static str] = &[];
    /// How the request body is delivered.
    const REQUEST_BODY: BodyMode = BodyMode::Skip;
    /// How the response body is delivered.
    const RESPONSE_BODY: BodyMode = BodyMode::Skip;

    /// Checks (and completes) a parsed config: compile regexes, parse keys, check fields that
    /// depend on each other. An error fails plugin start and is logged with its path.
    fn validate_config(config: &mut Self::Config, cx: &ConfigContext) -> Result<(), ConfigError> {
        let _ = (config, cx);
        Ok(())
    }

    /// Runs once per configuration, after every config parsed: register tick functions
    /// (health checks, leader election) and queue handlers. `rules` can be cloned into them.
    /// An error fails plugin start.
    fn on_plugin_start(root: &mut Root, rules: &Rc<RuleSet<Self::Config>>) -> Result<(), ConfigError> {
        let _ = (root, rules);
        Ok(())
    }

    /// Request headers arrived. Read them with `http.request_header(..)`.
    fn on_request_headers(&mut self, http: &mut Http, config: &Self::Config) -> HeaderAction {
        let _ = (http, config);
        HeaderAction::Continue
    }

    /// The whole request body (`REQUEST_BODY = Buffered`).
    fn on_request_body(&mut self, http: &mut Http, config: &Self::Config, body: &[u8]) -> DataAction {
        let _ = (http, config, body);
        DataAction::Continue
    }

    /// One request body chunk (`REQUEST_BODY = Streaming`).
    fn on_request_body_chunk(
        &mut self,
        http: &mut Http,
        config: &Self::Config,
        chunk: &[u8],
        end_of_stream: bool,
    ) -> DataAction {
        let _ = (http, config, chunk, end_of_stream);
        DataAction::Continue
    }

    /// Request trailers arrived. A body the plugin reads was delivered just before; this
    /// runs only when that body callback returned `Continue` without answering the request.
    fn on_request_trailers(&mut self, http: &mut Http, config: &Self::Config) -> TrailersAction {
        let _ = (http, config);
        TrailersAction::Continue
    }

    /// Response headers arrived (from the upstream or from a local reply).
    fn on_response_headers(&mut self, http: &mut Http, config: &Self::Config) -> HeaderAction {
        let _ = (http, config);
        HeaderAction::Continue
    }

    /// The whole response body (`RESPONSE_BODY = Buffered`).
    fn on_response_body(&mut self, http: &mut Http, config: &Self::Config, body: &[u8]) -> DataAction {
        let _ = (http, config, body);
        DataAction::Continue
    }

    /// One response body chunk (`RESPONSE_BODY = Streaming`).
    fn on_response_body_chunk(
        &mut self,
        http: &mut Http,
        config: &Self::Config,
        chunk: &[u8],
        end_of_stream: bool,
    ) -> DataAction {
        let _ = (http, config, chunk, end_of_stream);
        DataAction::Continue
    }

    /// Response trailers arrived (after the body callback, as for request trailers).
    fn on_response_trailers(&mut self, http: &mut Http, config: &Self::Config) -> TrailersAction {
        let _ = (http, config);
        TrailersAction::Continue
    }

    /// Access-log time: request and response headers are readable, nothing is writable.
    fn on_log(&mut self, http: &mut Http, config: &Self::Config) {
        let _ = (http, config);
    }

    /// The stream is finished (wasm-go's `ProcessStreamDone`).
    fn on_stream_done(&mut self, http: &mut Http, config: &Self::Config) {
        let _ = (http, config);
    }
}
