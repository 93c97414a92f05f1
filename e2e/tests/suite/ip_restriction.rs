//! ip-restriction: the header it sets reaches the upstream.

use crate::gateway;

#[test]
fn the_upstream_sees_its_header() {
    let echo = gateway().get("ip-restriction.e2e.local", "/").header("x-ip-restriction", "forged").send().echo();
    assert_eq!(echo.header("x-ip-restriction").as_deref(), Some("hello from ip-restriction"));
}
