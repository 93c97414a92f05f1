//! A gateway without any plugin takes its direct path (no chain between client and upstream):
//! the same headers, router replies, timeouts and access log as with plugins, and bodies
//! streamed both ways.

use crate::{echo_routes, Gw};

#[test]
fn without_plugins_requests_go_straight_through_with_the_same_rules() {
    let echo = higress_e2e::echo::spawn().to_string();
    let dead = format!("127.0.0.1:{}", higress_host::testing::free_port());
    let config = echo_routes(&["direct.test"])
        + &format!(
            "---\nkind: Service\nname: dead.static\nport: 80\naddress: {dead}\n\
             ---\nkind: Route\nname: dead\ndomains: [dead.test]\nservice: dead.static\n\
             ---\nkind: Route\nname: slow\ndomains: [slow.test]\nservice: echo.static\ntimeout_ms: 300\n"
        );
    let gw = Gw::start(&config, &echo, 1);

    let reply = gw
        .client()
        .get("direct.test", "/a/b?c=d")
        .header("x-custom", "kept")
        .header("x-forwarded-for", "10.0.0.1")
        .header("keep-alive", "timeout=5")
        .send();
    assert_eq!(reply.status, 200);
    let seen = reply.echo();
    assert_eq!(seen.0["path"], "/a/b?c=d");
    assert_eq!(seen.header("x-custom").as_deref(), Some("kept"));
    assert_eq!(seen.header("host").as_deref(), Some("direct.test"));
    assert_eq!(seen.header("x-forwarded-for").as_deref(), Some("10.0.0.1, 127.0.0.1"));
    assert_eq!(seen.header("x-forwarded-proto").as_deref(), Some("http"));
    assert_eq!(seen.header("keep-alive"), None, "connection-level headers stay on their hop");
    let id = seen.header("x-request-id").unwrap_or_default();
    assert_eq!(id.len(), 32, "{id}");
    let again = gw.client().get("direct.test", "/").header("x-request-id", "given-id").send();
    assert_eq!(again.echo().header("x-request-id").as_deref(), Some("given-id"));

    let body = "x".repeat(300_000);
    let posted = gw.client().post("direct.test", "/upload", body.clone()).send();
    assert_eq!(posted.echo().0["body_length"], body.len());

    let events = gw.client().get("direct.test", "/sse/3").send();
    assert_eq!(events.status, 200);
    assert_eq!(events.text().matches("data:").count(), 3, "{}", events.text());

    let missing = gw.client().get("nowhere.test", "/").send();
    assert_eq!((missing.status, missing.text().as_str()), (404, ""));
    let dead = gw.client().get("dead.test", "/").send();
    assert_eq!(dead.status, 503);
    assert!(dead.text().starts_with("upstream connect error or disconnect/reset before headers"), "{}", dead.text());
    assert_eq!(dead.header("content-type"), Some("text/plain"));
    let slow = gw.client().get("slow.test", "/slow/5000").send();
    assert_eq!((slow.status, slow.text().as_str()), (504, "upstream request timeout"));

    let log = gw.wait_for(Gw::access_log, "/slow/5000");
    assert!(log.contains("\"GET /a/b?c=d\" 200 route=direct.test"), "{log}");
    assert!(log.contains("\"GET /slow/5000\" 504 route=slow"), "{log}");
    assert!(log.contains("\"GET /\" 404 "), "{log}");
}
