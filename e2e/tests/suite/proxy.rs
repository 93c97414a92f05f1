//! Plain proxying, no plugin: routing, methods, bodies, status codes, headers both ways.

use crate::gateway;

#[test]
fn requests_reach_the_upstream_unchanged() {
    let reply =
        gateway().post("echo.e2e.local", "/some/path?a=1&b=two", "payload bytes").header("x-custom", "value").send();
    assert_eq!(reply.status, 200, "{}", reply.text());
    let echo = reply.echo();
    assert_eq!(echo.method(), "POST");
    assert_eq!(echo.path(), "/some/path?a=1&b=two");
    assert_eq!(echo.body(), "payload bytes");
    assert_eq!(echo.header("x-custom").as_deref(), Some("value"));
    assert_eq!(echo.header("host").as_deref(), Some("echo.e2e.local"));
    assert!(echo.header("x-request-id").is_some_and(|id| !id.is_empty()), "gateways add x-request-id");
}

#[test]
fn every_method_and_large_bodies_pass() {
    for method in ["GET", "PUT", "DELETE", "PATCH", "OPTIONS"] {
        let reply = gateway().request(method, "echo.e2e.local", "/m").send();
        assert_eq!(reply.status, 200);
        assert_eq!(reply.echo().method(), method);
    }
    let big = "z".repeat(3 << 20);
    let reply = gateway().post("echo.e2e.local", "/big", big.clone()).send();
    assert_eq!(reply.status, 200);
    assert_eq!(reply.echo().0["body_length"], big.len());
    let download = gateway().get("echo.e2e.local", "/bytes/5000000").send();
    assert_eq!(download.status, 200);
    assert_eq!(download.body.len(), 5_000_000);
}

#[test]
fn upstream_status_codes_and_response_headers_come_back() {
    for status in [201, 204, 301, 404, 418, 500, 503] {
        let reply = gateway()
            .get("echo.e2e.local", &format!("/status/{status}"))
            .header("x-echo-set-x-from-upstream", "yes")
            .send();
        assert_eq!(reply.status, status);
        assert_eq!(reply.header("x-from-upstream"), Some("yes"), "status {status}");
    }
}

#[test]
fn an_unknown_host_gets_404() {
    let reply = gateway().get("nobody.e2e.local", "/").send();
    assert_eq!(reply.status, 404);
}
