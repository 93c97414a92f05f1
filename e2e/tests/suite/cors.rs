//! cors: the header it sets reaches the upstream.

use crate::gateway;

#[test]
fn the_upstream_sees_its_header() {
    let echo = gateway().get("cors.e2e.local", "/").header("x-cors", "forged").send().echo();
    assert_eq!(echo.header("x-cors").as_deref(), Some("hello from cors"));
}
