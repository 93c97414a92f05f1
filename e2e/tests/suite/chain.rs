//! A chain on one domain: key-auth (AUTHN) before hello-world (priority 100) before
//! redis-counter (priority 50). A request key-auth refuses never reaches the counter.

use crate::{gateway, unique};

const HOST: &str = "chain.e2e.local";

#[test]
fn plugins_run_in_phase_and_priority_order() {
    let key = unique("chain");
    let refused = gateway().post(HOST, "/c", "body").header("x-counter-key", &key).send();
    assert_eq!(refused.status, 401);
    assert_eq!(refused.header("x-request-count"), None, "key-auth answered before redis-counter ran");

    let reply = gateway()
        .post(HOST, "/c", "body")
        .header("x-counter-key", &key)
        .header("x-api-key", "e2e-key-consumer2")
        .send();
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.header("x-request-count"), Some("1"), "the refused request was not counted");
    let echo = reply.echo();
    assert_eq!(echo.header("x-mse-consumer").as_deref(), Some("consumer2"));
    assert_eq!(echo.header("x-hello-world").as_deref(), Some("hello world"));
    assert_eq!(echo.header("x-request-body-bytes").as_deref(), Some("4"));
    assert_eq!(echo.header("x-request-count").as_deref(), Some("1"));
}
