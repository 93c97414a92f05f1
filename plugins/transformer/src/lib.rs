//! transformer: removes, renames, replaces, adds, appends, maps and dedupes request and
//! response headers, query parameters and bodies, as Higress's Go `transformer` plugin.
//!
//! When a request's body is needed, its headers wait for it and every target is transformed
//! in the body callback, so `content-length` goes only when the body really changed. A
//! response's headers cannot wait (see `transform`). A body that does not parse passes
//! untouched (logged).

// The unit tests name `json::Node` without the lifetime it has since it borrows bodies.

mod body;
mod config;
mod json;
mod keyed;
mod kv;
mod media;
mod multipart;
mod number;
mod ops;
mod request_path;
mod run;
#[cfg(test)]
mod schema;
mod strategy;
mod transform;
mod urlencoded;

use body::Kind;
use config::Config;
use higress_sdk::prelude::*;
use kv::Pairs;
use transform::Side;

/// Largest body transformed: a larger one passes untouched (logged). A request that
/// declares a larger `content-length` is not even buffered.
const MAX_BODY: usize = 10 * 1024 * 1024;

/// Per-request state: the kind of body being read in each direction, and the response
/// headers as transformed (a response body's `map`s read them after they left).
#[derive(Default)]
struct Transformer {
    request_body: Option<Kind>,
    response_body: Option<Kind>,
    response_headers: Option<Pairs<'static>>,
}

impl HttpPlugin for Transformer {
    type Config = Config;
    const REQUEST_BODY: BodyMode = BodyMode::Buffered;
    const RESPONSE_BODY: BodyMode = BodyMode::Buffered;

    fn validate_config(config: &mut Config, _cx: &ConfigContext) -> Result<(), ConfigError> {
        config.compile()
    }

    fn on_request_headers(&mut self, http: &mut Http, config: &Config) -> HeaderAction {
        if !config.reroute {
            http.disable_reroute();
        }
        let Some(rules) = &config.request else {
            http.dont_read_request_body();
            if config.response.is_none() {
                http.skip_rest();
            }
            return HeaderAction::Continue;
        };
        if let Some(kind) = Side::Request.body_to_read(http, rules) {
            self.request_body = Some(kind);
            // The headers wait (body chunks keep coming) until the whole body is read.
            return HeaderAction::StopIteration;
        }
        http.dont_read_request_body();
        transform::request(http, rules, None);
        if config.response.is_none() {
            http.skip_rest();
        }
        HeaderAction::Continue
    }

    fn on_request_body(&mut self, http: &mut Http, config: &Config, body: &[u8]) -> DataAction {
        if let (Some(rules), Some(kind)) = (&config.request, self.request_body.take()) {
            let parsed = Side::Request.parse(&kind, body);
            transform::request(http, rules, parsed);
        }
        if config.response.is_none() {
            http.skip_rest();
        }
        DataAction::Continue
    }

    fn on_response_headers(&mut self, http: &mut Http, config: &Config) -> HeaderAction {
        let Some(rules) = &config.response else {
            http.dont_read_response_body();
            return HeaderAction::Continue;
        };
        self.response_body = Side::Response.body_to_read(http, rules);
        match transform::response_headers(http, rules, self.response_body.is_some()) {
            Ok(headers) => self.response_headers = headers,
            Err(()) => self.response_body = None,
        }
        if self.response_body.is_none() {
            http.dont_read_response_body();
        }
        HeaderAction::Continue
    }

    fn on_response_body(&mut self, http: &mut Http, config: &Config, body: &[u8]) -> DataAction {
        if let (Some(rules), Some(kind)) = (&config.response, self.response_body.take()) {
            if let Some(parsed) = Side::Response.parse(&kind, body) {
                transform::response_body(http, rules, parsed, self.response_headers.as_ref());
            }
        }
        DataAction::Continue
    }
}

higress_sdk::export_plugin!("transformer", Transformer);
