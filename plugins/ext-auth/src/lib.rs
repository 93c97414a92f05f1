//! ext-auth: asks an external HTTP authorization service about each request and lets it go
//! on or refuses it with the service's answer (Envoy's ext_authz over HTTP, or
//! forward_auth), as Higress's Go `ext-auth`.
//!
//! The project's example of "call a service, then resume or deny": the request is held
//! (`StopAllIterationAndWatermark` on headers, `StopIterationAndBuffer` on a body being
//! forwarded) while the callout runs with a timeout; its callback resumes the request or
//! answers it. A stream that ends first drops the callback (the SDK forgets it).

mod auth_request;
mod config;
mod headers;
mod match_rules;
mod matcher;
mod verdict;

use config::Config;
use higress_sdk::prelude::*;

/// Per-request state: none, the held request is the state.
#[derive(Default)]
pub struct ExtAuth;

impl HttpPlugin for ExtAuth {
    type Config = Config;

    fn validate_config(config: &mut Config, _cx: &ConfigContext) -> Result<(), ConfigError> {
        config.validate()
    }

    fn on_request_headers(&mut self, http: &mut Http, config: &Config) -> HeaderAction {
        let Some(service) = &config.service else { return HeaderAction::Continue };
        if config.rules.skips(http) {
            http.skip_rest();
            return HeaderAction::Continue;
        }
        // Headers may change below (failure mode, allowed upstream headers): keep the route.
        http.disable_reroute();
        // A WebSocket upgrade's "body" is the connection itself: never wait for its end.
        if service.with_request_body && http.has_request_body() && !http.is_websocket() {
            // Every body is read, binary or compressed too: Go skipped reading those and so
            // let them through unchecked.
            http.buffer_request_body();
            http.limit_request_body(service.max_request_body_bytes);
            return HeaderAction::StopIteration;
        }
        match auth_request::send(http, service, Vec::new()) {
            Ok(_) => HeaderAction::StopAllIterationAndWatermark,
            Err(e) => {
                log_error!("cannot call the authorization service: {e}");
                if verdict::on_send_error(http, config) {
                    HeaderAction::Continue
                } else {
                    HeaderAction::StopIteration
                }
            }
        }
    }

    fn on_request_body(&mut self, http: &mut Http, config: &Config, body: &[u8]) -> DataAction {
        let Some(service) = &config.service else { return DataAction::Continue };
        match auth_request::send(http, service, body.to_vec()) {
            Ok(_) => DataAction::StopIterationAndBuffer,
            Err(e) => {
                log_error!("cannot call the authorization service: {e}");
                if verdict::on_send_error(http, config) {
                    DataAction::Continue
                } else {
                    DataAction::StopIterationNoBuffer
                }
            }
        }
    }
}

higress_sdk::export_plugin!("ext-auth", ExtAuth);
