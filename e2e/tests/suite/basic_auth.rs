//! basic-auth through the gateway.

use crate::gateway;
use base64::Engine;

const HOST: &str = "basic-auth.e2e.local";

fn basic(credential: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(credential))
}

#[test]
fn the_allowed_consumer_passes() {
    let reply = gateway().get(HOST, "/").header("authorization", &basic("admin:123456")).send();
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.echo().header("x-mse-consumer").as_deref(), Some("consumer1"));
}

#[test]
fn refusals_match_higress() {
    let none = gateway().get(HOST, "/").send();
    assert_eq!(none.status, 401);
    assert_eq!(none.text(), "Request denied by Basic Auth check. No Basic Authentication information found.");
    assert_eq!(none.header("www-authenticate"), Some("Basic realm=MSE Gateway"));

    let wrong = gateway().get(HOST, "/").header("authorization", &basic("admin:wrong")).send();
    assert_eq!(wrong.status, 401);
    assert_eq!(wrong.text(), "Request denied by Basic Auth check. Invalid username and/or password.");

    let other = gateway().get(HOST, "/").header("authorization", &basic("guest:abc")).send();
    assert_eq!(other.status, 403);
    assert_eq!(other.text(), "Request denied by Basic Auth check. Unauthorized consumer.");
}
