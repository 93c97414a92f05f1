//! hello-world: adds a request header, or answers every request itself.
//!
//! A fuller example than `templates/plugin` (which `make new-plugin` copies): a typed config,
//! the request-header phase, and the two body modes (a buffered request body, a streamed
//! response body).

use higress_sdk::prelude::*;

/// Header added when the config names none.
const DEFAULT_HEADER: &str = "x-hello-world";

/// hello-world's config: what is added to requests and responses.
#[derive(Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
struct Config {
    /// Off: requests pass untouched.
    #[serde(default = "enabled_by_default")]
    enabled: bool,
    /// Name of the request header to add (value `hello world`; default `x-hello-world`).
    #[serde(default)]
    #[cfg_attr(test, schemars(regex(pattern = "^[A-Za-z0-9_-]+$")))]
    header: Option<String>,
    /// When set, every request is answered with this body (status 200, `text/plain`).
    #[serde(default)]
    reply: Option<String>,
    /// When set, the request reaches the upstream with `x-request-body-bytes`: the headers are
    /// held until the whole body has been read.
    #[serde(default)]
    count_request_body: bool,
    /// When set, appended to the end of every response body, streamed chunk by chunk.
    #[serde(default)]
    response_suffix: Option<String>,
}

fn enabled_by_default() -> bool {
    true
}

#[derive(Default)]
struct HelloWorld;

impl HttpPlugin for HelloWorld {
    type Config = Config;
    const REQUEST_BODY: BodyMode = BodyMode::Buffered;
    const RESPONSE_BODY: BodyMode = BodyMode::Streaming;

    fn validate_config(config: &mut Config, _cx: &ConfigContext) -> Result<(), ConfigError> {
        if let Some(header) = &config.header {
            let valid =
                !header.is_empty() && header.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !valid {
                return Err(ConfigError::at("header", format!("`{header}` is not a valid header name")));
            }
        }
        Ok(())
    }

    fn on_request_headers(&mut self, http: &mut Http, config: &Config) -> HeaderAction {
        if !config.enabled {
            http.skip_rest();
            return HeaderAction::Continue;
        }
        if let Some(reply) = &config.reply {
            http.send_local_response(200, "hello-world.reply", &[("content-type", "text/plain")], reply.as_bytes());
            return HeaderAction::StopIteration;
        }
        http.add_request_header(config.header.as_deref().unwrap_or(DEFAULT_HEADER), "hello world");
        if config.response_suffix.is_none() {
            http.dont_read_response_body();
        }
        if config.count_request_body && http.has_request_body() {
            // Hold the headers (body chunks keep coming) until the body is complete.
            return HeaderAction::StopIteration;
        }
        http.dont_read_request_body();
        if config.response_suffix.is_none() {
            // Nothing more to do with this request: the cheapest way to let it go.
            http.skip_rest();
        }
        HeaderAction::Continue
    }

    fn on_request_body(&mut self, http: &mut Http, _config: &Config, body: &[u8]) -> DataAction {
        http.set_request_header("x-request-body-bytes", &body.len().to_string());
        DataAction::Continue
    }

    fn on_response_headers(&mut self, http: &mut Http, config: &Config) -> HeaderAction {
        if config.response_suffix.is_some() {
            // The body grows: the upstream's length no longer holds.
            http.remove_response_header("content-length");
        }
        HeaderAction::Continue
    }

    fn on_response_body_chunk(
        &mut self,
        http: &mut Http,
        config: &Config,
        _chunk: &[u8],
        end_of_stream: bool,
    ) -> DataAction {
        if let (true, Some(suffix)) = (end_of_stream, &config.response_suffix) {
            http.append_response_body(suffix.as_bytes());
        }
        DataAction::Continue
    }
}

higress_sdk::export_plugin!("hello-world", HelloWorld);
