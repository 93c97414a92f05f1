//! {{name}}: the header it sets reaches the upstream.

use crate::gateway;

#[test]
fn the_upstream_sees_its_header() {
    let echo = gateway().get("{{name}}.e2e.local", "/").header("x-{{name}}", "forged").send().echo();
    assert_eq!(echo.header("x-{{name}}").as_deref(), Some("hello from {{name}}"));
}
