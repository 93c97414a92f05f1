//! The authorization request: method, path and headers from the client's request, as each
//! endpoint mode builds them, sent with the service's timeout.

use crate::config::{AuthService, Endpoint};
use crate::headers::{is_framing, HeaderList};
use crate::verdict;
use crate::ExtAuth;
use higress_sdk::http_client::CallError;
use higress_sdk::prelude::*;

/// Sends the authorization request for the request of `http`, with `body` when the config
/// forwards it. The answer is handled by [`verdict::on_answer`] in the stream's context.
pub fn send(http: &Http, service: &AuthService, body: Vec<u8>) -> Result<u32, CallError> {
    let (method, path) = match &service.endpoint {
        Endpoint::Envoy { path_prefix } => (http.method(), prefixed(path_prefix, http.path())),
        Endpoint::ForwardAuth { method, path } => (method.as_str(), path.clone()),
    };
    let headers = headers(http, service);
    service
        .client
        .request(method, &path)
        .headers(headers.as_slice())
        .body(body)
        .timeout(service.timeout)
        .send(http, |_: &mut ExtAuth, http, config, answer| verdict::on_answer(http, config, answer))
}

/// `path_prefix` + the request's path and query, unchanged (Envoy's `path_prefix`).
fn prefixed(prefix: &str, path: &str) -> String {
    let separator = if path.starts_with('/') { "" } else { "/" };
    format!("{prefix}{separator}{path}")
}

/// The headers of the authorization request, in Go's order (later ones replace earlier
/// ones): allowed client headers, `headers_to_add`, `Authorization`, then in forward_auth
/// mode the description of the request.
fn headers(http: &Http, service: &AuthService) -> HeaderList {
    let mut out = HeaderList::default();
    if let Some(allowed) = &service.allowed_headers {
        for (name, value) in http.request_headers() {
            // Pseudo-headers are the call's own; the body's framing is the host's.
            if !name.starts_with(':') && !is_framing(&name) && allowed.matches(&name) {
                out.add(name.to_ascii_lowercase(), value);
            }
        }
    }
    for (name, value) in &service.headers_to_add {
        out.set(name, value);
    }
    if let Some(authorization) = http.request_header("authorization") {
        let authorization = authorization.trim();
        if !authorization.is_empty() {
            out.set("authorization", authorization);
        }
    }
    if let Endpoint::ForwardAuth { .. } = service.endpoint {
        let (method, uri) = (http.method(), http.path());
        // The x-original-* pair is what older Higress versions sent.
        out.set("x-original-method", method);
        out.set("x-original-uri", uri);
        out.set("x-forwarded-proto", http.scheme());
        out.set("x-forwarded-method", method);
        out.set("x-forwarded-uri", uri);
        out.set("x-forwarded-host", http.host());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prefix_is_prepended_verbatim() {
        assert_eq!(prefixed("/auth", "/users?apikey=1"), "/auth/users?apikey=1");
        assert_eq!(prefixed("/auth", "/users/"), "/auth/users/");
        assert_eq!(prefixed("", "/users"), "/users");
        assert_eq!(prefixed("/auth", "*"), "/auth/*");
        assert_eq!(prefixed("", "*"), "/*");
    }
}
