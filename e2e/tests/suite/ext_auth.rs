//! ext-auth: the header it sets reaches the upstream.

use crate::gateway;

#[test]
fn the_upstream_sees_its_header() {
    let echo = gateway().get("ext-auth.e2e.local", "/").header("x-ext-auth", "forged").send().echo();
    assert_eq!(echo.header("x-ext-auth").as_deref(), Some("hello from ext-auth"));
}
