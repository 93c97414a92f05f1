//! request-block through the gateway: Higress's conformance cases, header and body words,
//! case sensitivity, and bodies large enough to arrive in several chunks.

use crate::gateway;

const HOST: &str = "request-block.e2e.local";
const STRICT: &str = "request-block-strict.e2e.local";
const MESSAGE: &str = "blocked by request-block";

#[test]
fn conformance_urls_are_blocked() {
    // Substring, regexp, exact (Higress's conformance paths), matched without case.
    for path in ["/swagger.html", "/env/info", "/web/info", "/docs/SWAGGER.HTML?v=1", "/ENV"] {
        let reply = gateway().get(HOST, path).send();
        assert_eq!(reply.status, 403, "{path}");
        assert_eq!(reply.text(), MESSAGE, "{path}");
    }
    for path in ["/web/info/more", "/web", "/environment-free/x"] {
        let reply = gateway().get(HOST, path).send();
        if path == "/environment-free/x" {
            // "/env.*" matches anywhere in the path: Go's regexp search, not a whole match.
            assert_eq!(reply.status, 403, "{path}");
            continue;
        }
        assert_eq!(reply.status, 200, "{path}: {}", reply.text());
        assert_eq!(reply.echo().path(), path);
    }
}

#[test]
fn conformance_bodies() {
    let blocked = gateway().post(HOST, "/foo", "hello world").header("content-type", "text/plain").send();
    assert_eq!(blocked.status, 403);
    assert_eq!(blocked.text(), MESSAGE);
    let shouted = gateway().post(HOST, "/foo", "say HELLO WORLD").header("content-type", "text/plain").send();
    assert_eq!(shouted.status, 403);
    let passed = gateway().post(HOST, "/foo", "hello higress").header("content-type", "text/plain").send();
    assert_eq!(passed.status, 200, "{}", passed.text());
    assert_eq!(passed.echo().body(), "hello higress");
}

#[test]
fn header_words_are_blocked() {
    let reply = gateway().get(HOST, "/").header("user-agent", "Evil-Bot/1.0").send();
    assert_eq!(reply.status, 403);
    assert_eq!(reply.text(), MESSAGE);
    let reply = gateway().get(HOST, "/").header("user-agent", "good-bot/1.0").send();
    assert_eq!(reply.status, 200);
}

#[test]
fn large_bodies_stream_and_are_checked_to_the_end() {
    let clean = "a".repeat(3 << 20);
    let reply = gateway().post(HOST, "/upload", clean.clone()).header("content-type", "text/plain").send();
    assert_eq!(reply.status, 200, "{}", reply.text().chars().take(200).collect::<String>());
    assert_eq!(reply.echo().0["body_length"], 3 << 20);
    let dirty = format!("{clean}hello world");
    let reply = gateway().post(HOST, "/upload", dirty).header("content-type", "text/plain").send();
    assert_eq!(reply.status, 403);
    assert_eq!(reply.text(), MESSAGE);
    // A word cut by wherever the gateway splits the body is still found.
    let middle = format!("{}hello world{}", "b".repeat(1 << 20), "c".repeat(1 << 20));
    let reply = gateway().post(HOST, "/upload", middle).header("content-type", "text/plain").send();
    assert_eq!(reply.status, 403);
}

#[test]
fn the_strict_domain_is_case_sensitive_with_its_own_status() {
    let reply = gateway().get(STRICT, "/x/SECRET").send();
    assert_eq!(reply.status, 451);
    assert_eq!(reply.text(), "unavailable");
    assert_eq!(gateway().get(STRICT, "/x/secret").send().status, 200);
    let reply = gateway().post(STRICT, "/q", "DROP TABLE users").send();
    assert_eq!(reply.status, 451);
    assert_eq!(gateway().post(STRICT, "/q", "drop table users").send().status, 200);
    // The other domain's words do not apply here.
    assert_eq!(gateway().get(STRICT, "/swagger.html").send().status, 200);
}
