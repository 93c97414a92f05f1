//! The authorization request: method, path and headers from the client's request, as each
//! endpoint mode builds them, sent with the service's timeout.

use crate::config::{AuthService, Endpoint};
use crate::headers::{is_framing, HeaderList};
use crate::verdict;
use crate::ExtAuth;
use higress_sdk::http_client::CallError;
use higress_sdk::prelude::*;
use std::borrow::Cow;

/// Sends the authorization request for the request of `http`, with `body` when the config
/// forwards it. The answer is handled by [`verdict::on_answer`] in the stream's context.
pub fn send(http: &Http, service: &AuthService, body: Vec<u8>) -> Result<u32, CallError> {
    let (method, path) = match &service.endpoint {
        Endpoint::Envoy { path_prefix } => (http.method(), prefixed(path_prefix, http.path())),
        Endpoint::ForwardAuth { method, path } => (method.as_str(), Cow::Borrowed(path.as_str())),
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
fn prefixed<'a>(prefix: &str, path: &'a str) -> Cow<'a, str> {
    let separator = if path.starts_with('/') { "" } else { "/" };
    if prefix.is_empty() && separator.is_empty() {
        return Cow::Borrowed(path);
    }
    // Three appends: `format!` costs several times more in wasm.
    let mut full = String::with_capacity(prefix.len() + separator.len() + path.len());
    full.push_str(prefix);
    full.push_str(separator);
    full.push_str(path);
    Cow::Owned(full)
}

/// The headers of the authorization request, in Go's order (later ones replace earlier
/// ones): allowed client headers, `headers_to_add`, `Authorization`, then in forward_auth
/// mode the description of the request.
fn headers<'a>(http: &'a Http, service: &'a AuthService) -> HeaderList<Cow<'a, str>> {
    let forwarded = if matches!(service.endpoint, Endpoint::ForwardAuth { .. }) { 6 } else { 0 };
    let mut out = HeaderList::with_capacity(service.headers_to_add.len() + 1 + forwarded);
    if let Some(allowed) = &service.allowed_headers {
        for (name, value) in http.request_headers() {
            // Pseudo-headers are the call's own; the body's framing is the host's.
            if !name.starts_with(':') && !is_framing(&name) && allowed.matches(&name) {
                out.add(Cow::Owned(name.to_ascii_lowercase()), Cow::Owned(value));
            }
        }
    }
    for (name, value) in &service.headers_to_add {
        out.set(name.as_str(), value.as_str());
    }
    if let Some(authorization) = http.request_header("authorization") {
        let trimmed = authorization.trim();
        if !trimmed.is_empty() {
            // The value read is moved into the list, copied only when trimming changed it.
            let value = if trimmed.len() == authorization.len() { authorization } else { trimmed.to_string() };
            out.set("authorization", value);
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
