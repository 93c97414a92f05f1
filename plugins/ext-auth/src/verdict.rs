//! What the authorization service's answer means for the request held for it: a 2xx lets
//! it go on with the allowed upstream headers; another status refuses it with the service's
//! status, body and client headers; a failing service (5xx, unreachable, timed out) refuses
//! it with `status_on_error`, or lets it through under `failure_mode_allow`.

use crate::config::Config;
use crate::headers::is_framing;
use higress_sdk::ascii::eq_ignore_case;
use higress_sdk::http_client::Headers;
use higress_sdk::prelude::*;

/// Request header that marks a request let through because the service failed.
const FAILURE_MODE_HEADER: &str = "x-envoy-auth-failure-mode-allowed";

/// Runs in the callback of the authorization request: resumes the request or answers it.
pub fn on_answer(http: &mut Http, config: &Config, answer: HttpResponse) {
    // Whatever the answer, this plugin is done with the request.
    http.skip_rest();
    let status = answer.status;
    if (200..300).contains(&status) {
        copy_upstream_headers(http, config, &answer.headers);
        http.resume_request();
    } else if failed(status) && config.failure_mode_allow {
        mark_failure_mode(http, config);
        http.resume_request();
    } else {
        refuse(http, config, status, &answer.headers, &answer.body);
    }
}

/// The authorization request could not even be sent (as Go, a 500 without headers or
/// body). Returns whether the request goes on; otherwise it was answered.
pub fn on_send_error(http: &mut Http, config: &Config) -> bool {
    http.skip_rest();
    if config.failure_mode_allow {
        mark_failure_mode(http, config);
        return true;
    }
    refuse(http, config, 500, &Headers::default(), &[]);
    false
}

/// A status that means the service failed rather than decided: 5xx, or no final status.
fn failed(status: u16) -> bool {
    !(200..500).contains(&status)
}

fn mark_failure_mode(http: &mut Http, config: &Config) {
    if config.failure_mode_allow_header_add {
        http.set_request_header(FAILURE_MODE_HEADER, "true");
    }
}

/// Answer headers the service allows upstream replace the request's, first value of each.
fn copy_upstream_headers(http: &mut Http, config: &Config, headers: &Headers) {
    let Some(allowed) = config.service.as_ref().and_then(|s| s.allowed_upstream_headers.as_ref()) else { return };
    for (i, (name, value)) in headers.iter().enumerate() {
        if name.starts_with(':') || is_framing(name) || !allowed.matches(name) {
            continue;
        }
        // A later value of a name copied already: whether a header is copied depends on its
        // name alone (case aside), so an earlier one of the name was.
        if headers.iter().take(i).any(|(earlier, _)| eq_ignore_case(earlier.as_bytes(), name.as_bytes())) {
            continue;
        }
        http.set_request_header(name, value);
    }
}

/// Refuses the request: the service's status (a failure's becomes `status_on_error`), its
/// body, and its headers (those `allowed_client_headers` names, or all).
fn refuse(http: &mut Http, config: &Config, status: u16, headers: &Headers, body: &[u8]) {
    let (status, details) = if failed(status) {
        (config.status_on_error, "ext-auth.service_error")
    } else {
        (u32::from(status), "ext-auth.unauthorized")
    };
    let allowed = config.service.as_ref().and_then(|s| s.allowed_client_headers.as_ref());
    let passed: Vec<(&str, &str)> = headers
        .iter()
        .filter(|(name, _)| !name.starts_with(':') && !is_framing(name) && allowed.is_none_or(|m| m.matches(name)))
        .collect();
    http.send_local_response(status, details, &passed, body);
}
