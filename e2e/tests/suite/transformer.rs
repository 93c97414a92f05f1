//! transformer: the header it sets reaches the upstream.

use crate::gateway;

#[test]
fn the_upstream_sees_its_header() {
    let echo = gateway().get("transformer.e2e.local", "/").header("x-transformer", "forged").send().echo();
    assert_eq!(echo.header("x-transformer").as_deref(), Some("hello from transformer"));
}
