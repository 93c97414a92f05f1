//! hello-world: a header on the way up, a buffered request body, a local reply, a streamed
//! response-body rewrite.

use crate::gateway;

#[test]
fn adds_its_header_and_counts_the_request_body() {
    let reply = gateway().post("hello-world.e2e.local", "/hello", "twelve bytes").send();
    assert_eq!(reply.status, 200, "{}", reply.text());
    let echo = reply.echo();
    assert_eq!(echo.header("x-hello-world").as_deref(), Some("hello world"));
    assert_eq!(echo.header("x-request-body-bytes").as_deref(), Some("12"));
    assert_eq!(echo.body(), "twelve bytes");
}

#[test]
fn answers_by_itself_on_the_reply_domain() {
    let reply = gateway().get("hello-reply.e2e.local", "/anything").send();
    assert_eq!(reply.status, 200);
    assert_eq!(reply.text(), "hello from the gateway");
    assert_eq!(reply.header("content-type"), Some("text/plain"));
}

#[test]
fn appends_to_the_response_body() {
    let reply = gateway().get("hello-suffix.e2e.local", "/x").send();
    assert_eq!(reply.status, 200);
    let text = reply.text();
    assert!(text.ends_with("\n-- appended by hello-world"), "{text}");
    let json_part = text.trim_end_matches("\n-- appended by hello-world");
    let echo: serde_json::Value = serde_json::from_str(json_part).unwrap_or_else(|e| panic!("{e}: {json_part}"));
    assert_eq!(echo["path"], "/x");
}

#[test]
fn other_domains_are_untouched() {
    let echo = gateway().get("echo.e2e.local", "/").send().echo();
    assert_eq!(echo.header("x-hello-world"), None);
}
