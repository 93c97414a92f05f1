//! custom-response through the gateway: a mock on one domain, upstream statuses replaced on
//! another (exact codes and patterns), and basic-auth's 401 replaced (Higress's conformance
//! pairing: custom-response runs before basic-auth).

use crate::gateway;
use base64::Engine;

const MOCK: &str = "custom-response.e2e.local";
const STATUS: &str = "custom-response-status.e2e.local";
const AUTH: &str = "custom-response-auth.e2e.local";

#[test]
fn every_request_gets_the_mock() {
    for reply in [gateway().get(MOCK, "/any/path").send(), gateway().post(MOCK, "/", "ignored").send()] {
        assert_eq!(reply.status, 200);
        assert_eq!(reply.header("key1"), Some("value1"));
        assert_eq!(reply.header("content-type"), Some("application/json; charset=utf-8"));
        assert_eq!(reply.text(), r#"{"hello":"foo"}"#);
    }
}

#[test]
fn upstream_statuses_are_replaced() {
    let not_found = gateway().get(STATUS, "/status/404").send();
    assert_eq!(not_found.status, 200);
    assert_eq!(not_found.header("x-custom"), Some("not-found"));
    assert_eq!(not_found.header("content-type"), Some("application/json; charset=utf-8"));
    assert_eq!(not_found.text(), r#"{"error":"not here"}"#);
    // `50x` is more specific than `5xx`.
    for (path, status, body) in [
        ("/status/500", 500, "the upstream failed"),
        ("/status/503", 500, "the upstream failed"),
        ("/status/520", 503, "try again later"),
        ("/status/599", 503, "try again later"),
    ] {
        let reply = gateway().get(STATUS, path).send();
        assert_eq!(reply.status, status, "{path}");
        assert_eq!(reply.text(), body, "{path}");
        assert_eq!(reply.header("content-type"), Some("text/plain; charset=utf-8"), "{path}");
    }
    let limited = gateway().get(STATUS, "/status/429").send();
    assert_eq!(limited.status, 302);
    assert_eq!(limited.header("location"), Some("https://example.com/slow-down"));
    assert_eq!(limited.text(), "");
    // Statuses no rule names pass untouched.
    for code in [200u16, 403, 410] {
        let reply = gateway().get(STATUS, &format!("/status/{code}")).send();
        assert_eq!(reply.status, code);
        assert_eq!(reply.echo().path(), format!("/status/{code}"));
    }
}

#[test]
fn basic_auths_401_is_replaced() {
    let denied = gateway().get(AUTH, "/").send();
    assert_eq!(denied.status, 200, "{}", denied.text());
    assert_eq!(denied.text(), r#"{"hello":"baz"}"#);
    assert_eq!(denied.header("key3"), Some("value3"));
    assert_eq!(denied.header("www-authenticate"), None);
    let basic = |credential: &str| format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(credential));
    let wrong = gateway().get(AUTH, "/").header("authorization", &basic("admin:wrong")).send();
    assert_eq!(wrong.text(), r#"{"hello":"baz"}"#);
    let allowed = gateway().get(AUTH, "/").header("authorization", &basic("admin:123456")).send();
    assert_eq!(allowed.status, 200);
    assert_eq!(allowed.echo().header("x-mse-consumer").as_deref(), Some("consumer1"));
}
