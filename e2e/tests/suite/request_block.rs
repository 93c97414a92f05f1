//! request-block: the header it sets reaches the upstream.

use crate::gateway;

#[test]
fn the_upstream_sees_its_header() {
    let echo = gateway().get("request-block.e2e.local", "/").header("x-request-block", "forged").send().echo();
    assert_eq!(echo.header("x-request-block").as_deref(), Some("hello from request-block"));
}
