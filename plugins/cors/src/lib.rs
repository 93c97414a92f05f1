//! cors: answers CORS preflights and adds CORS headers to the responses of allowed
//! cross-origin requests, as Higress's Go plugin of the same name since 2.0.1: a preflight
//! is answered `204` (without allowing headers when refused), a refused actual request goes
//! upstream and gets no CORS headers, upstream `Access-Control-*` policy headers are
//! replaced, and an allowed origin is echoed with `Vary: Origin`.

mod config;
mod decision;
mod origin;
mod pattern;

use config::Config;
use decision::Request;
use higress_sdk::ascii::eq_ignore_case;
use higress_sdk::prelude::*;
use origin::Origin;

/// Higress's plugin adds its version to every response; this is the version whose behaviour
/// this plugin follows.
const VERSION_HEADER: &str = "x-cors-version";
const VERSION: &str = "2.0.1";

const ALLOW_ORIGIN: &str = "access-control-allow-origin";
const ALLOW_METHODS: &str = "access-control-allow-methods";
const ALLOW_HEADERS: &str = "access-control-allow-headers";
const EXPOSE_HEADERS: &str = "access-control-expose-headers";
const ALLOW_CREDENTIALS: &str = "access-control-allow-credentials";
const MAX_AGE: &str = "access-control-max-age";
const VARY: &str = "vary";

/// Response headers that carry a CORS policy: the upstream's are removed, only this plugin
/// sets them (with Higress's internal marker header).
const POLICY_HEADERS: [&str; 7] =
    [ALLOW_ORIGIN, ALLOW_METHODS, ALLOW_HEADERS, EXPOSE_HEADERS, ALLOW_CREDENTIALS, MAX_AGE, "x-cors-trace"];

/// Per request: the origin to allow on the response, when the request is an allowed
/// cross-origin request.
#[derive(Default)]
struct Cors {
    allowed_origin: Option<String>,
}

impl HttpPlugin for Cors {
    type Config = Config;

    fn validate_config(config: &mut Config, _cx: &ConfigContext) -> Result<(), ConfigError> {
        config.compile()
    }

    fn on_request_headers(&mut self, http: &mut Http, config: &Config) -> HeaderAction {
        let Some(raw) = http.request_header_bytes("origin") else { return HeaderAction::Continue };
        // Not text, not an origin, or the request's own origin: not a CORS request.
        let Ok(text) = std::str::from_utf8(&raw) else { return HeaderAction::Continue };
        let text = text.trim();
        let text = text.strip_suffix('/').unwrap_or(text);
        let Some(origin) = Origin::parse(text) else { return HeaderAction::Continue };
        if !origin.is_cross_origin(http.scheme(), http.host()) {
            return HeaderAction::Continue;
        }
        let policy = &config.policy;
        let asked_method = if eq_ignore_case(http.method().as_bytes(), b"OPTIONS") {
            http.request_header("access-control-request-method")
        } else {
            None
        };
        let asked_method = asked_method.as_deref().map(str::trim).filter(|m| !m.is_empty());
        let Some(asked_method) = asked_method else {
            // An actual request: checked now, answered on the response.
            let request = Request { origin: text, preflight: false, method: http.method(), headers: "" };
            self.allowed_origin = policy.allow(&request).map(|a| a.origin.to_string());
            return HeaderAction::Continue;
        };
        let asked_headers = http.request_header("access-control-request-headers").unwrap_or_default();
        let request = Request { origin: text, preflight: true, method: asked_method, headers: &asked_headers };
        let mut headers: Vec<(&str, &str)> = Vec::with_capacity(8);
        match policy.allow(&request) {
            Some(allowed) => {
                let allowed_headers = allowed.headers;
                headers.push((ALLOW_ORIGIN, allowed.origin));
                headers.push((ALLOW_METHODS, allowed.methods));
                if !allowed_headers.is_empty() {
                    headers.push((ALLOW_HEADERS, &allowed_headers));
                }
                push_exposing(&mut headers, policy);
                headers.push((MAX_AGE, &policy.max_age));
                headers.push((VARY, "Origin"));
                headers.push((VERSION_HEADER, VERSION));
                answer(http, "cors.preflight", &headers)
            }
            // Refused: a reply without allowing headers, which the browser takes as a no.
            None => answer(http, "cors.preflight.invalid", &[(VERSION_HEADER, VERSION)]),
        }
    }

    fn on_response_headers(&mut self, http: &mut Http, config: &Config) -> HeaderAction {
        for name in POLICY_HEADERS {
            http.remove_response_header(name);
        }
        http.add_response_header(VERSION_HEADER, VERSION);
        let Some(origin) = self.allowed_origin.as_deref() else { return HeaderAction::Continue };
        let policy = &config.policy;
        let mut headers: Vec<(&str, &str)> = Vec::with_capacity(3);
        headers.push((ALLOW_ORIGIN, origin));
        push_exposing(&mut headers, policy);
        for (name, value) in headers {
            http.add_response_header(name, value);
        }
        // The allowed origin is the request's: caches must keep replies apart by origin.
        if !varies_by_origin(http.response_header(VARY).as_deref()) {
            http.add_response_header(VARY, "Origin");
        }
        HeaderAction::Continue
    }
}

/// `Access-Control-Expose-Headers` and `-Allow-Credentials`, as configured.
fn push_exposing<'a>(headers: &mut Vec<(&'a str, &'a str)>, policy: &'a config::Policy) {
    if let Some(expose) = &policy.expose {
        headers.push((EXPOSE_HEADERS, expose));
    }
    if policy.credentials {
        headers.push((ALLOW_CREDENTIALS, "true"));
    }
}

/// Answers a preflight: `204`, no body; the plugin is done with the request.
fn answer(http: &mut Http, details: &str, headers: &[(&str, &str)]) -> HeaderAction {
    http.send_local_response(204, details, headers, b"");
    http.skip_rest();
    HeaderAction::StopIteration
}

/// Whether a `Vary` value already covers `Origin` (or everything).
fn varies_by_origin(vary: Option<&str>) -> bool {
    vary.is_some_and(|v| config::split([v].into_iter()).any(|t| t == "*" || eq_ignore_case(t.as_bytes(), b"origin")))
}

higress_sdk::export_plugin!("cors", Cors);
