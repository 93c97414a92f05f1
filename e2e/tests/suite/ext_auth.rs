//! ext-auth against the stack's authorization service (`auth.static`, e2e/src/auth.rs):
//! allow with upstream headers, deny with the service's reply, the whitelist, the request
//! body and its limit, forward_auth mode (second domain), and a failing or slow service
//! under failure_mode_allow (third domain).

use crate::gateway;
use higress_e2e::auth::GOOD_TOKEN;

const HOST: &str = "ext-auth.e2e.local";
const FORWARD: &str = "ext-auth-forward.e2e.local";
const OPEN: &str = "ext-auth-open.e2e.local";

#[test]
fn an_allowed_request_reaches_the_upstream_with_the_services_headers() {
    let reply = gateway()
        .get(HOST, "/items?page=2")
        .header("authorization", GOOD_TOKEN)
        .header("x-auth-extra", "extra-1")
        .header("x-user-id", "forged")
        .send();
    assert_eq!(reply.status, 200, "{}", reply.text());
    let echo = reply.echo();
    assert_eq!(echo.headers("x-user-id"), ["e2e-user"], "the service's value replaces the client's");
    // envoy mode: the client's method, path_prefix + its path and query.
    assert_eq!(echo.header("x-auth-seen-method").as_deref(), Some("GET"));
    assert_eq!(echo.header("x-auth-seen-path").as_deref(), Some("/auth/items?page=2"));
    assert_eq!(echo.header("x-auth-seen-caller").as_deref(), Some("e2e-gateway"), "headers_to_add");
    assert_eq!(echo.header("x-auth-seen-extra").as_deref(), Some("extra-1"), "allowed_headers");
    assert_eq!(echo.path(), "/items?page=2");
}

#[test]
fn a_denied_request_gets_the_services_reply() {
    let reply = gateway().get(HOST, "/items").header("authorization", "Bearer bad").send();
    assert_eq!(reply.status, 401);
    assert_eq!(reply.text(), r#"{"error":"unauthorized"}"#);
    assert_eq!(reply.header("www-authenticate"), Some("Bearer realm=\"e2e\""));
    assert_eq!(reply.header("x-auth-denied"), Some("true"));
    assert_eq!(reply.header("x-auth-internal"), None, "not in allowed_client_headers");
    assert_eq!(gateway().get(HOST, "/items").send().status, 401, "no credential at all");
}

#[test]
fn whitelisted_paths_are_not_checked() {
    let reply = gateway().get(HOST, "/public/index.html").send();
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.echo().header("x-user-id"), None, "the service was not asked");
}

#[test]
fn the_body_goes_to_the_service_within_the_limit() {
    let reply = gateway().post(HOST, "/orders", "hello").header("authorization", GOOD_TOKEN).send();
    assert_eq!(reply.status, 200, "{}", reply.text());
    let echo = reply.echo();
    assert_eq!(echo.header("x-auth-seen-body-length").as_deref(), Some("5"));
    assert_eq!(echo.header("x-auth-seen-method").as_deref(), Some("POST"));
    assert_eq!(echo.body(), "hello", "the upstream gets the body too");
    let over = gateway().post(HOST, "/orders", vec![b'x'; 2048]).header("authorization", GOOD_TOKEN).send();
    assert_eq!(over.status, 413);
    assert_eq!(over.text(), "Payload Too Large");
}

#[test]
fn a_failing_service_refuses_with_status_on_error() {
    let reply = gateway().get(HOST, "/auth-fail").header("authorization", GOOD_TOKEN).send();
    assert_eq!(reply.status, 403);
    assert_eq!(reply.text(), "auth backend down");
}

#[test]
fn forward_auth_describes_the_request_in_headers() {
    let reply = gateway().request("DELETE", FORWARD, "/orders/7?force=1").header("authorization", GOOD_TOKEN).send();
    assert_eq!(reply.status, 200, "{}", reply.text());
    let echo = reply.echo();
    assert_eq!(echo.method(), "DELETE");
    assert_eq!(echo.header("x-user-id").as_deref(), Some("e2e-user"));
    assert_eq!(echo.header("x-auth-seen-method").as_deref(), Some("POST"), "the configured method");
    assert_eq!(echo.header("x-auth-seen-path").as_deref(), Some("/verify"), "the configured path");
    assert_eq!(echo.header("x-auth-seen-uri").as_deref(), Some("/orders/7?force=1"));
    assert_eq!(echo.header("x-auth-seen-forwarded-method").as_deref(), Some("DELETE"));
    assert_eq!(echo.header("x-auth-seen-host").as_deref(), Some(FORWARD));
    let denied = gateway().get(FORWARD, "/orders").send();
    assert_eq!(denied.status, 401);
    assert_eq!(denied.header("www-authenticate"), Some("Bearer realm=\"e2e\""), "every header when none is listed");
}

#[test]
fn failure_mode_allow_lets_requests_through_a_failing_or_slow_service() {
    for path in ["/auth-fail", "/auth-slow"] {
        let reply = gateway().get(OPEN, path).send();
        assert_eq!(reply.status, 200, "{path}: {}", reply.text());
        assert_eq!(reply.echo().header("x-envoy-auth-failure-mode-allowed").as_deref(), Some("true"), "{path}");
    }
    // A working service still decides.
    assert_eq!(gateway().get(OPEN, "/").send().status, 401);
    let allowed = gateway().get(OPEN, "/").header("authorization", GOOD_TOKEN).send();
    assert_eq!(allowed.status, 200);
    assert_eq!(allowed.echo().header("x-envoy-auth-failure-mode-allowed"), None);
}
