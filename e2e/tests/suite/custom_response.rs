//! custom-response: the header it sets reaches the upstream.

use crate::gateway;

#[test]
fn the_upstream_sees_its_header() {
    let echo = gateway().get("custom-response.e2e.local", "/").header("x-custom-response", "forged").send().echo();
    assert_eq!(echo.header("x-custom-response").as_deref(), Some("hello from custom-response"));
}
