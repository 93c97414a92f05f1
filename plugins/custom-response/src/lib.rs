//! custom-response: answers requests with a configured reply, or replaces responses whose
//! status a rule names, as Higress's Go plugin of the same name (same config, same replies).
//!
//! Without `enable_on_status` the reply is sent in the request-header phase and the request
//! never reaches the upstream (a mock). With it, the response-header phase reads `:status`
//! and, when a rule names it (exact code, else the pattern with the fewest `x`), replaces the
//! whole response - also a local reply an earlier plugin sent (basic-auth's 401, a rate
//! limiter's 429), provided custom-response runs before that plugin in the chain.

mod config;
mod reply;
mod status;

use config::{Config, Responses};
use higress_sdk::abi::MapType;
use higress_sdk::hostcalls;
use higress_sdk::prelude::*;

/// Details of a reply sent for every request (no `enable_on_status`).
const REPLY: &str = "custom-response.reply";
/// Details of a reply that replaced a response by its status.
const ON_STATUS: &str = "custom-response.on_status";

/// No per-request state.
#[derive(Default)]
struct CustomResponse;

impl HttpPlugin for CustomResponse {
    type Config = Config;

    fn validate_config(config: &mut Config, _cx: &ConfigContext) -> Result<(), ConfigError> {
        config.compile()
    }

    fn on_request_headers(&mut self, http: &mut Http, config: &Config) -> HeaderAction {
        match &config.responses {
            Responses::Always(reply) => {
                reply.send(http, REPLY);
                http.skip_rest();
                HeaderAction::StopIteration
            }
            // The response's status decides.
            Responses::OnStatus { .. } => HeaderAction::Continue,
            Responses::Nothing => {
                http.skip_rest();
                HeaderAction::Continue
            }
        }
    }

    fn on_response_headers(&mut self, http: &mut Http, config: &Config) -> HeaderAction {
        let Responses::OnStatus { table, replies } = &config.responses else {
            return HeaderAction::Continue;
        };
        let index = hostcalls::with_map_value(MapType::HttpResponseHeaders, ":status", |status| {
            table.lookup(status.ok().flatten().unwrap_or_default())
        });
        if let Some(reply) = index.and_then(|i| replies.get(i)) {
            // Replaces the response: the proxy sends this reply to the client instead.
            reply.send(http, ON_STATUS);
        }
        HeaderAction::Continue
    }
}

higress_sdk::export_plugin!("custom-response", CustomResponse);
