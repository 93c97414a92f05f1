//! The request-header phase: which API is called in which protocol, where it goes, with
//! which key, and whether the body must be read before the headers go on.

use super::{auth, route};
use crate::api::{self, Api};
use crate::flow::Flow;
use crate::provider::table::Unsupported;
use crate::provider::Provider;
use crate::reply;
use crate::vertex_auth::{self, Step};
use higress_ai::translate::Protocol;
use higress_sdk::prelude::*;

/// Largest request body read (Higress's 100 MiB): a larger one is answered 413.
pub const MAX_BODY: u32 = 100 * 1024 * 1024;

/// Headers a client may not set: they tell the upstream what the gateway changed.
const ORIGINAL_HOST: &str = "x-envoy-original-host";
pub const ORIGINAL_PATH: &str = "x-envoy-original-path";
const ORIGINAL_AUTH: &str = "x-hi-original-auth";

/// Header asking Envoy to give up when a stream's first byte takes longer (milliseconds).
pub const FIRST_BYTE_TIMEOUT: &str = "x-envoy-upstream-rq-first-byte-timeout-ms";

/// Processes the request headers for `provider`: the request's state, and what to return.
pub fn on_headers(http: &mut Http, provider: &Provider) -> (Option<Flow>, HeaderAction) {
    http.disable_reroute();
    let client_host = http.host().to_string();
    let client_path = http.path().to_string();
    for header in [ORIGINAL_HOST, ORIGINAL_PATH, ORIGINAL_AUTH] {
        http.remove_request_header(header);
    }

    let (path_only, _) = api::split_query(&client_path);
    let api = match provider.original {
        true => provider.native_api(path_only).or_else(|| Api::of_path(path_only)),
        false => Api::of_path(path_only),
    };
    let (api, client, upstream, path) = protocols(provider, api, &client_path);
    let mut flow = Flow::new(api, client, upstream);

    let content_type = http.request_header("content-type").unwrap_or_default();
    let json_body = content_type.is_empty() || contains_ignore_case(&content_type, "application/json");
    let body_coming = http.has_request_body() && http.request_body_mode() != BodyMode::Skip && json_body;

    if let Some(called) = api {
        let refused = provider.spec.unsupported == Unsupported::Refuse && !provider.supports(called);
        if refused && body_coming {
            log_debug!("{}: the {} provider does not offer it", called.name(), provider.spec.name);
            reply::unsupported_api(http);
            return (None, HeaderAction::StopAllIterationAndWatermark);
        }
    } else {
        log_debug!("{path_only}: not an API the gateway knows; host and key rewritten, bodies passed untouched");
        http.dont_read_response_body();
    }

    http.remove_request_header("accept-encoding");
    let anthropic_upstream = flow.upstream == Protocol::Anthropic && provider.spec.name != "claude";
    flow.key = auth::apply(http, provider, api, anthropic_upstream && !provider.original);
    if provider.retry.is_some() {
        flow.tried.extend(flow.key.clone());
    }
    let upstream_path = route::path(provider, api, &path, None, false);
    if upstream_path != client_path {
        http.set_request_header(":path", &upstream_path);
        http.set_request_header(ORIGINAL_PATH, &client_path);
    }
    if let Some(host) = route::host(provider).filter(|h| *h != client_host) {
        http.set_request_header(":authority", host);
        http.set_request_header(ORIGINAL_HOST, &client_host);
    }
    if provider.spec.quirks.raw_body && provider.first_byte_timeout > 0 {
        http.set_request_header(FIRST_BYTE_TIMEOUT, &provider.first_byte_timeout.to_string());
    }

    // Bedrock's signature covers the body, whatever its type.
    let signs = provider.bedrock.as_ref().is_some_and(|b| b.signs());
    let body_signed = signs && http.has_request_body() && http.request_body_mode() != BodyMode::Skip;
    if (body_coming && reads_body(provider, &flow)) || body_signed {
        http.limit_request_body(MAX_BODY);
        return (Some(flow), HeaderAction::StopIteration);
    }
    http.dont_read_request_body();
    if signs {
        // No body (one would have been read above).
        super::sign(http, provider, b"");
    }
    // Vertex's OAuth token, when no body phase will put it on.
    if let Some(oauth) = provider.vertex_oauth() {
        return match vertex_auth::authorize(http, oauth, |_, http, _| http.resume_request()) {
            Step::Ready => (Some(flow), HeaderAction::Continue),
            Step::Waiting => (Some(flow), HeaderAction::StopIteration),
            Step::Failed => (None, HeaderAction::StopIteration),
        };
    }
    (Some(flow), HeaderAction::Continue)
}

/// The API a request to `api` at `path` calls at `provider`, the client's protocol, the
/// provider's, and the path then (an Anthropic client of a provider without Anthropic's API
/// is sent as an OpenAI chat request, a Responses client of one without the Responses API
/// as a chat request too).
pub fn protocols(provider: &Provider, api: Option<Api>, path: &str) -> (Option<Api>, Protocol, Protocol, String) {
    if provider.original {
        return (api, Protocol::OpenAi, Protocol::OpenAi, path.to_string());
    }
    match api {
        Some(Api::AnthropicMessages) if provider.supports(Api::AnthropicMessages) => {
            (api, Protocol::Anthropic, Protocol::Anthropic, path.to_string())
        }
        Some(Api::AnthropicMessages) => {
            let path = path.replacen("/v1/messages", "/v1/chat/completions", 1);
            (Some(Api::ChatCompletion), Protocol::Anthropic, provider.chat_protocol(), path)
        }
        Some(Api::ChatCompletion) => (api, Protocol::OpenAi, provider.chat_protocol(), path.to_string()),
        // OpenAI's Responses API to a provider without it: served through its chat API
        // (Go refused it), so Codex-style clients work with any provider.
        Some(Api::Responses) if !provider.supports(Api::Responses) => {
            let path = path.replacen("/v1/responses", "/v1/chat/completions", 1);
            (Some(Api::ChatCompletion), Protocol::Responses, provider.chat_protocol(), path)
        }
        _ => (api, Protocol::OpenAi, Protocol::OpenAi, path.to_string()),
    }
}

/// Whether `text` has `needle` (lowercase ASCII) in any case: `to_ascii_lowercase` and
/// `contains`, without the copy.
fn contains_ignore_case(text: &str, needle: &str) -> bool {
    text.as_bytes().windows(needle.len()).any(|window| window.eq_ignore_ascii_case(needle.as_bytes()))
}

/// Whether the body must be read: to translate it, map its model, set its stream options or
/// apply custom settings.
fn reads_body(provider: &Provider, flow: &Flow) -> bool {
    let Some(api) = flow.api else { return false };
    if provider.original || provider.spec.quirks.raw_body {
        return !provider.custom_settings.is_empty()
            || (provider.first_byte_timeout > 0 && !provider.spec.quirks.raw_body);
    }
    api.has_model_body() || flow.translates()
}
