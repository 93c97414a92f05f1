//! key-auth: Higress's replies (status, body, WWW-Authenticate), keys in headers and query,
//! rules by domain and by route.

use crate::gateway;

const HOST: &str = "key-auth.e2e.local";

#[test]
fn a_request_without_a_key_gets_401() {
    let reply = gateway().get(HOST, "/").send();
    assert_eq!(reply.status, 401);
    assert_eq!(reply.text(), "Request denied by Key Auth check. No Key Authentication information found.");
    assert_eq!(reply.header("www-authenticate"), Some("Key realm=MSE Gateway"));
}

#[test]
fn a_known_key_passes_with_the_consumer_header() {
    for (key, consumer) in [("e2e-key-consumer1", "consumer1"), ("e2e-key-consumer2", "consumer2")] {
        let reply = gateway().get(HOST, "/").header("x-api-key", key).send();
        assert_eq!(reply.status, 200, "{}", reply.text());
        assert_eq!(reply.echo().header("x-mse-consumer").as_deref(), Some(consumer));
    }
    let by_query = gateway().get(HOST, "/?apikey=e2e-key-consumer1").send();
    assert_eq!(by_query.status, 200);
    assert_eq!(by_query.echo().header("x-mse-consumer").as_deref(), Some("consumer1"));
}

#[test]
fn a_client_cannot_choose_its_consumer() {
    let reply =
        gateway().get(HOST, "/").header("x-api-key", "e2e-key-consumer1").header("x-mse-consumer", "consumer2").send();
    assert_eq!(reply.status, 200);
    assert_eq!(reply.echo().headers("x-mse-consumer"), ["consumer1"]);
}

#[test]
fn unknown_and_duplicate_keys_are_refused() {
    let unknown = gateway().get(HOST, "/").header("x-api-key", "not-a-key").send();
    assert_eq!(unknown.status, 403);
    assert_eq!(unknown.text(), "Request denied by Key Auth check. Unauthorized consumer.");
    // Two of the configured key names carry a key: ambiguous.
    let twice = gateway().get(HOST, "/?apikey=e2e-key-consumer2").header("x-api-key", "e2e-key-consumer1").send();
    assert_eq!(twice.status, 401);
    assert_eq!(twice.text(), "Request denied by Key Auth check. Multi Key Authentication information found.");
}

#[test]
fn the_admin_route_allows_consumer2_only() {
    let consumer1 = gateway().get(HOST, "/admin/users").header("x-api-key", "e2e-key-consumer1").send();
    assert_eq!(consumer1.status, 403);
    let consumer2 = gateway().get(HOST, "/admin/users").header("x-api-key", "e2e-key-consumer2").send();
    assert_eq!(consumer2.status, 200);
    assert_eq!(consumer2.echo().header("x-mse-consumer").as_deref(), Some("consumer2"));
}

#[test]
fn domains_without_a_rule_are_open() {
    let reply = gateway().get("echo.e2e.local", "/").send();
    assert_eq!(reply.status, 200);
    assert_eq!(reply.echo().header("x-mse-consumer"), None);
}
