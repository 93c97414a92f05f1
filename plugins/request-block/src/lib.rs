//! request-block: refuses requests whose URL, headers or body contain configured words, as
//! Higress's Go plugin of the same name (same config, same replies).
//!
//! Each list is checked on its own, in Go's order: `block_exact_urls`, `block_urls`,
//! `block_regexp_urls` on `:path` (with query), then `block_headers`, then `block_bodies`.
//! The body streams through chunk by chunk; see [`RequestBlock::on_request_headers`] for what
//! reaches the upstream before a word is found.

mod body;
mod config;
mod fold;
mod headers;
mod keywords;
mod url;

use body::BodyScan;
use config::Config;
use higress_sdk::abi::MapType;
use higress_sdk::prelude::*;
use higress_sdk::{hostcalls, scan};

/// Per-request state: where the body scan is.
#[derive(Default)]
struct RequestBlock {
    body: BodyScan,
}

/// Answers the request with the configured status and message.
fn block(http: &mut Http, config: &Config, details: &str) {
    http.send_local_response(config.rules.code, details, &[], config.blocked_message.as_bytes());
}

impl HttpPlugin for RequestBlock {
    type Config = Config;
    const REQUEST_BODY: BodyMode = BodyMode::Streaming;

    fn validate_config(config: &mut Config, _cx: &ConfigContext) -> Result<(), ConfigError> {
        config.compile()
    }

    /// URL and header checks. With `block_bodies` and a body to come, the headers are held
    /// (`StopIteration`) until the first chunk is checked: a body whose word is in its first
    /// chunk - every small body - never reaches the upstream, as in Go. Later chunks pass
    /// once checked (Go buffers the whole body instead); a word found in a later chunk
    /// answers the request and resets the upstream request mid-body, so the upstream never
    /// receives a complete request carrying the word.
    fn on_request_headers(&mut self, http: &mut Http, config: &Config) -> HeaderAction {
        let rules = &config.rules;
        // A path that is not ASCII is lowercased once for the URL lists and the headers
        // (where `:path` is one of them): a 60 KiB path of `É` costs millions per pass.
        let mut lowered: Option<Vec<u8>> = None;
        if !rules.url.is_empty() {
            let details = hostcalls::with_map_value(MapType::HttpRequestHeaders, ":path", |path| {
                let path = path.ok().flatten().unwrap_or_default();
                if rules.fold && rules.headers.is_some() && !scan::is_ascii(path) {
                    lowered = Some(fold::lower(path));
                }
                rules.url.check(path, lowered.as_deref())
            });
            if let Some(details) = details {
                block(http, config, details);
                return HeaderAction::StopIteration;
            }
        }
        if rules.headers.as_ref().is_some_and(|words| headers::blocked(words, rules.fold, lowered.as_deref())) {
            block(http, config, headers::DETAILS);
            return HeaderAction::StopIteration;
        }
        // Binary bodies and WebSocket streams are never delivered (as in wasm-go): holding
        // the headers for them would wait for nothing.
        let body_follows =
            rules.bodies.is_some() && http.has_request_body() && http.request_body_mode() != BodyMode::Skip;
        if !body_follows {
            http.skip_rest();
            return HeaderAction::Continue;
        }
        HeaderAction::StopIteration
    }

    fn on_request_body_chunk(&mut self, http: &mut Http, config: &Config, chunk: &[u8], end: bool) -> DataAction {
        let rules = &config.rules;
        let Some(words) = &rules.bodies else {
            return DataAction::Continue;
        };
        if self.body.found(words, rules.fold, chunk, end) {
            block(http, config, body::DETAILS);
            return DataAction::StopIterationNoBuffer;
        }
        if end {
            http.skip_rest();
        }
        DataAction::Continue
    }
}

higress_sdk::export_plugin!("request-block", RequestBlock);
