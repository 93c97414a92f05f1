//! redis-counter: a Redis round trip per request through the gateway's Redis cluster.

use crate::{gateway, unique};

#[test]
fn counts_per_key_in_redis_and_limits() {
    let key = unique("counter");
    for expected in 1..=3 {
        let reply = gateway().get("redis-counter.e2e.local", "/").header("x-counter-key", &key).send();
        assert_eq!(reply.status, 200, "{}", reply.text());
        assert_eq!(reply.header("x-request-count"), Some(expected.to_string().as_str()));
        assert_eq!(reply.echo().header("x-request-count"), Some(expected.to_string()));
    }
    let over = gateway().get("redis-counter.e2e.local", "/").header("x-counter-key", &key).send();
    assert_eq!(over.status, 429);
    assert_eq!(over.text(), "Too many requests");
    // Another key has its own window.
    let other = gateway().get("redis-counter.e2e.local", "/").header("x-counter-key", &unique("counter")).send();
    assert_eq!(other.status, 200);
    assert_eq!(other.header("x-request-count"), Some("1"));
}
