//! cors: preflights answered 204 by the gateway (with or without the policy), actual
//! cross-origin requests sent upstream and their responses given the policy, upstream policy
//! headers replaced, Higress's defaults working out of the box.

use crate::gateway;
use higress_e2e::client::Reply;

const HOST: &str = "cors.e2e.local";
const DEFAULTS: &str = "cors-defaults.e2e.local";

fn preflight(host: &str, origin: &str, method: &str, headers: Option<&str>) -> Reply {
    let mut r = gateway()
        .request("OPTIONS", host, "/api")
        .header("origin", origin)
        .header("access-control-request-method", method);
    if let Some(h) = headers {
        r = r.header("access-control-request-headers", h);
    }
    r.send()
}

fn all<'a>(reply: &'a Reply, name: &str) -> Vec<&'a str> {
    reply.headers.iter().filter(|(n, _)| n == name).map(|(_, v)| v.as_str()).collect()
}

#[test]
fn an_allowed_preflight_is_answered_by_the_gateway() {
    let reply = preflight(HOST, "http://app.e2e.test", "PATCH", Some("Content-Type, X-Token"));
    assert_eq!(reply.status, 204);
    assert!(reply.body.is_empty());
    assert_eq!(reply.header("access-control-allow-origin"), Some("http://app.e2e.test"));
    assert_eq!(reply.header("access-control-allow-methods"), Some("GET,POST,PATCH"));
    assert_eq!(reply.header("access-control-allow-headers"), Some("Content-Type,Authorization,X-Token"));
    assert_eq!(reply.header("access-control-expose-headers"), Some("X-Request-Id"));
    assert_eq!(reply.header("access-control-allow-credentials"), Some("true"));
    assert_eq!(reply.header("access-control-max-age"), Some("3600"));
    assert_eq!(all(&reply, "vary"), ["Origin"]);
    // A pattern, with any port.
    let reply = preflight(HOST, "http://web.clients.e2e.test:8443", "GET", None);
    assert_eq!(reply.status, 204);
    assert_eq!(reply.header("access-control-allow-origin"), Some("http://web.clients.e2e.test:8443"));
}

#[test]
fn a_refused_preflight_is_answered_without_the_policy() {
    for reply in [
        preflight(HOST, "http://evil.e2e.test", "GET", None),
        preflight(HOST, "http://web.clients.e2e.test.evil.e2e.test", "GET", None),
        preflight(HOST, "http://app.e2e.test", "DELETE", None),
        preflight(HOST, "http://app.e2e.test", "GET", Some("X-Other")),
    ] {
        assert_eq!(reply.status, 204);
        assert_eq!(reply.header("access-control-allow-origin"), None);
        assert_eq!(reply.header("access-control-allow-methods"), None);
        assert_eq!(reply.header("x-cors-version"), Some("2.0.1"));
    }
}

#[test]
fn an_allowed_request_goes_upstream_and_its_response_carries_the_policy() {
    let reply = gateway()
        .post(HOST, "/api/orders", "{}")
        .header("origin", "http://app.e2e.test")
        .header("x-echo-set-access-control-allow-origin", "*")
        .header("x-echo-set-vary", "Accept-Encoding")
        .send();
    assert_eq!(reply.status, 200);
    assert_eq!(reply.echo().method(), "POST");
    assert_eq!(all(&reply, "access-control-allow-origin"), ["http://app.e2e.test"]);
    assert_eq!(reply.header("access-control-allow-credentials"), Some("true"));
    assert_eq!(reply.header("access-control-expose-headers"), Some("X-Request-Id"));
    assert_eq!(reply.header("access-control-max-age"), None);
    assert_eq!(all(&reply, "vary"), ["Accept-Encoding", "Origin"]);
}

#[test]
fn a_refused_request_goes_upstream_and_its_response_carries_no_policy() {
    for (method, origin) in [("GET", "http://evil.e2e.test"), ("PUT", "http://app.e2e.test")] {
        let reply = gateway()
            .request(method, HOST, "/api")
            .header("origin", origin)
            .header("x-echo-set-access-control-allow-origin", origin)
            .header("x-echo-set-access-control-allow-credentials", "true")
            .send();
        assert_eq!(reply.status, 200, "{method} {origin}");
        assert_eq!(reply.echo().method(), method);
        assert_eq!(reply.header("access-control-allow-origin"), None, "{method} {origin}");
        assert_eq!(reply.header("access-control-allow-credentials"), None);
    }
}

#[test]
fn same_origin_requests_are_not_cors() {
    let reply = gateway()
        .request("OPTIONS", HOST, "/api")
        .header("origin", "http://cors.e2e.local")
        .header("access-control-request-method", "POST")
        .send();
    assert_eq!(reply.status, 200, "a same-origin OPTIONS goes upstream");
    assert_eq!(reply.echo().method(), "OPTIONS");
    assert_eq!(reply.header("access-control-allow-origin"), None);
}

#[test]
fn the_defaults_allow_every_origin_and_the_usual_methods() {
    let reply = preflight(DEFAULTS, "https://anywhere.e2e.test", "PUT", Some("content-type, authorization"));
    assert_eq!(reply.status, 204);
    assert_eq!(reply.header("access-control-allow-origin"), Some("https://anywhere.e2e.test"));
    assert_eq!(reply.header("access-control-allow-methods"), Some("GET,PUT,POST,DELETE,PATCH,OPTIONS"));
    assert_eq!(reply.header("access-control-max-age"), Some("86400"));
    assert_eq!(reply.header("access-control-allow-credentials"), None);
    let reply = gateway().get(DEFAULTS, "/").header("origin", "https://anywhere.e2e.test").send();
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("access-control-allow-origin"), Some("https://anywhere.e2e.test"));
}
