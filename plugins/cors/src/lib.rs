//! cors: answers CORS preflights and adds CORS headers to the responses of allowed
//! cross-origin requests, as Higress's Go plugin of the same name since 2.0.1: a preflight
//! is answered `204` (without allowing headers when refused), a refused actual request goes
//! upstream and gets no CORS headers, upstream `Access-Control-*` policy headers are
//! replaced, and an allowed origin is echoed with `Vary: Origin`.

mod config;
mod decision;
mod items;
mod origin;
mod pattern;

use config::{Config, Names, Policy};
use decision::{Allowed, Request};
use higress_sdk::abi::{header_map, MapType};
use higress_sdk::ascii::eq_ignore_case;
use higress_sdk::prelude::*;
use higress_sdk::{hostcalls, scan};
use origin::Origin;
use std::borrow::Cow;

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
        // Not text, not an origin, or the request's own origin: not a CORS request. The
        // value read stays in the buffer the host wrote it to: an allowed actual request
        // keeps it, usually without a copy.
        let Some(value) = scan::utf8_string(raw) else { return HeaderAction::Continue };
        let origin_text = value.trim();
        let origin_text = origin_text.strip_suffix('/').unwrap_or(origin_text);
        let Some(origin) = Origin::parse(origin_text) else { return HeaderAction::Continue };
        if !origin.is_cross_origin(http.scheme(), http.host()) {
            return HeaderAction::Continue;
        }
        let method = http.method();
        let asked_method = if eq_ignore_case(method.as_bytes(), b"OPTIONS") {
            http.request_header("access-control-request-method")
        } else {
            None
        };
        let asked_method = asked_method.as_deref().map(str::trim).filter(|m| !m.is_empty());
        let Some(asked_method) = asked_method else {
            // An actual request: checked now, answered on the response.
            let request = Request { origin: origin_text, preflight: false, method, headers: "" };
            if config.policy.allow(&request).is_some() {
                let whole = origin_text.len() == value.len();
                self.allowed_origin = Some(if whole { value } else { origin_text.to_string() });
            }
            return HeaderAction::Continue;
        };
        preflight(http, &config.policy, origin_text, asked_method)
    }

    fn on_response_headers(&mut self, http: &mut Http, config: &Config) -> HeaderAction {
        for name in POLICY_HEADERS {
            http.remove_response_header(name);
        }
        http.add_response_header(VERSION_HEADER, VERSION);
        let Some(origin) = self.allowed_origin.as_deref() else { return HeaderAction::Continue };
        let policy = &config.policy;
        http.add_response_header(ALLOW_ORIGIN, origin);
        if let Some(expose) = &policy.expose {
            http.add_response_header(EXPOSE_HEADERS, expose);
        }
        if policy.credentials {
            http.add_response_header(ALLOW_CREDENTIALS, "true");
        }
        // The allowed origin is the request's: caches must keep replies apart by origin.
        let varies = hostcalls::with_map_value(MapType::HttpResponseHeaders, VARY, |vary| {
            vary.ok().flatten().is_some_and(|v| varies_by_origin(&text(v)))
        });
        if !varies {
            http.add_response_header(VARY, "Origin");
        }
        HeaderAction::Continue
    }
}

/// Answers a preflight for `method` from `origin`. The headers it asks for are only looked
/// at: lent where the host wrote them.
fn preflight(http: &mut Http, policy: &Policy, origin: &str, method: &str) -> HeaderAction {
    hostcalls::with_map_value(MapType::HttpRequestHeaders, "access-control-request-headers", |asked| {
        let asked = asked.ok().flatten().map(text).unwrap_or_default();
        let request = Request { origin, preflight: true, method, headers: &asked };
        match policy.allow(&request) {
            Some(allowed) => match &policy.preflight_tail {
                Some(tail) => {
                    let headers = header_map::encode_before(&[(ALLOW_ORIGIN, allowed.origin)], tail);
                    http.send_local_response_encoded(204, "cors.preflight", &headers, b"");
                    done(http)
                }
                None => answer(http, "cors.preflight", preflight_headers(policy, &allowed).as_slice()),
            },
            // Refused: a reply without allowing headers, which the browser takes as a no.
            None => answer(http, "cors.preflight.invalid", &[(VERSION_HEADER, VERSION)]),
        }
    })
}

/// A header value as text, invalid UTF-8 replaced (`from_utf8` first: `from_utf8_lossy`
/// costs twice as much on valid text).
fn text(bytes: &[u8]) -> Cow<'_, str> {
    std::str::from_utf8(bytes).map_or_else(|_| String::from_utf8_lossy(bytes), Cow::Borrowed)
}

/// The headers of an allowed preflight's answer.
fn preflight_headers<'a>(policy: &'a Policy, allowed: &'a Allowed<'a>) -> ReplyHeaders<'a> {
    let mut headers = ReplyHeaders::default();
    headers.push(ALLOW_ORIGIN, allowed.origin);
    headers.push(ALLOW_METHODS, allowed.methods);
    if !allowed.headers.is_empty() {
        headers.push(ALLOW_HEADERS, &allowed.headers);
    }
    if let Some(expose) = &policy.expose {
        headers.push(EXPOSE_HEADERS, expose);
    }
    if policy.credentials {
        headers.push(ALLOW_CREDENTIALS, "true");
    }
    headers.push(MAX_AGE, &policy.max_age);
    headers.push(VARY, "Origin");
    headers.push(VERSION_HEADER, VERSION);
    headers
}

/// The headers of an allowed preflight's answer after `Access-Control-Allow-Origin`, encoded
/// once, when they are the same for every request: methods and headers listed (`*` echoes
/// the request's). A preflight then encodes only its origin, not eight headers (about 1,300
/// instructions less).
pub(crate) fn preflight_tail(policy: &Policy) -> Option<Vec<u8>> {
    let (Names::Listed { joined: methods, .. }, Names::Listed { joined: headers, .. }) =
        (&policy.methods, &policy.headers)
    else {
        return None;
    };
    let allowed = Allowed { origin: "", methods, headers: Cow::Borrowed(headers) };
    Some(header_map::encode(preflight_headers(policy, &allowed).as_slice().get(1..)?))
}

/// The headers of a preflight's answer, at most eight, kept on the stack.
#[derive(Default)]
struct ReplyHeaders<'a> {
    pairs: [(&'a str, &'a str); 8],
    len: usize,
}

impl<'a> ReplyHeaders<'a> {
    fn push(&mut self, name: &'a str, value: &'a str) {
        if let Some(slot) = self.pairs.get_mut(self.len) {
            *slot = (name, value);
            self.len += 1;
        }
    }

    fn as_slice(&self) -> &[(&'a str, &'a str)] {
        self.pairs.get(..self.len).unwrap_or_default()
    }
}

/// Answers a preflight: `204`, no body; the plugin is done with the request.
fn answer(http: &mut Http, details: &str, headers: &[(&str, &str)]) -> HeaderAction {
    http.send_local_response(204, details, headers, b"");
    done(http)
}

/// After a preflight's answer: the plugin is done with the request.
fn done(http: &mut Http) -> HeaderAction {
    http.skip_rest();
    HeaderAction::StopIteration
}

/// Whether a `Vary` value already covers `Origin` (or everything).
fn varies_by_origin(vary: &str) -> bool {
    items::varies_by_origin(vary)
        .unwrap_or_else(|| !config::each_item(vary, |t| t != "*" && !eq_ignore_case(t.as_bytes(), b"origin")))
}

higress_sdk::export_plugin!("cors", Cors);

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn policy(config: serde_json::Value) -> Policy {
        let mut config: Config = serde_json::from_value(config).unwrap();
        config.compile().unwrap();
        config.policy
    }

    /// The reply encoded from the tail made at config time is the one encoded header by
    /// header, for every policy that has a tail.
    #[test]
    fn the_encoded_tail_makes_the_same_reply() {
        let configs = [
            json!({"allow_origins": ["https://x.a.com"]}),
            json!({"allow_origins": ["https://x.a.com"], "allow_methods": ["GET", "POST"],
                "allow_headers": ["content-type", "authorization"], "allow_credentials": true}),
            json!({"allow_origin_patterns": ["https://*.a.com"], "expose_headers": ["x-a", "x-b"], "max_age": 60}),
        ];
        for config in configs {
            let policy = policy(config.clone());
            let tail = preflight_tail(&policy).unwrap_or_else(|| panic!("no tail for {config}"));
            let mut compared = 0;
            for (method, headers) in [("POST", "content-type"), ("GET", ""), ("PUT", "authorization,content-type")] {
                let request = Request { origin: "https://x.a.com", preflight: true, method, headers };
                let Some(allowed) = policy.allow(&request) else { continue };
                let general = header_map::encode(preflight_headers(&policy, &allowed).as_slice());
                assert_eq!(header_map::encode_before(&[(ALLOW_ORIGIN, allowed.origin)], &tail), general, "{config}");
                compared += 1;
            }
            assert!(compared > 0, "{config}: no request allowed");
        }
    }

    #[test]
    fn echoed_names_have_no_tail() {
        assert!(preflight_tail(&policy(json!({"allow_origins": ["*"], "allow_methods": ["*"]}))).is_none());
        assert!(preflight_tail(&policy(json!({"allow_origins": ["*"], "allow_headers": ["*"]}))).is_none());
    }
}
