//! transformer: request headers, query and bodies as the echo upstream received them, and a
//! response's headers and JSON body as the client gets them (e2e/config: two domains).

use crate::gateway;

const HOST: &str = "transformer.e2e.local";
const RESPONSE_HOST: &str = "transformer-response.e2e.local";

#[test]
fn header_and_query_rules_reach_the_upstream() {
    let echo = gateway()
        .get(HOST, "/get?k1=v11&k1=v12&k2=v2")
        .header("x-remove", "exist")
        .header("x-not-renamed", "test")
        .header("x-replace", "not-replaced")
        .header("x-dedupe", "1")
        .header("x-dedupe", "2")
        .send()
        .echo();
    assert_eq!(echo.path(), "/get?k2-new=v2&k3=v31");
    assert!(echo.headers("x-remove").is_empty());
    assert!(echo.headers("x-not-renamed").is_empty());
    assert_eq!(echo.header("x-renamed").as_deref(), Some("test"));
    assert_eq!(echo.header("x-replace").as_deref(), Some("replaced"));
    assert_eq!(echo.headers("x-add-append"), ["host-transformer", "path-get"]);
    assert_eq!(echo.header("x-dedupe").as_deref(), Some("2"));
}

#[test]
fn a_json_body_rule_edits_the_body_and_maps_into_a_header() {
    let body = r#"{"user":{"id":7,"name":"ann"},"password":"secret","keep":[1, 2]}"#;
    let reply = gateway().post(HOST, "/login", body).header("content-type", "application/json").send();
    assert_eq!(reply.status, 200, "{}", reply.text());
    let echo = reply.echo();
    assert_eq!(echo.body(), r#"{"user":{"id":7,"login":"ann"},"password":"***","keep":[1,2],"source":"gateway"}"#);
    assert_eq!(echo.0["body_length"].as_u64(), Some(echo.body().len() as u64));
    assert_eq!(echo.header("x-user-id").as_deref(), Some("7"));
    assert_eq!(echo.headers("x-add-append"), ["host-transformer", "path-login"]);
}

#[test]
fn a_form_body_rule_edits_the_fields() {
    let reply = gateway()
        .post(HOST, "/form", "password=secret&user.name=ann&other=%C3%A9")
        .header("content-type", "application/x-www-form-urlencoded")
        .send();
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.echo().body(), "password=%2A%2A%2A&user.login=ann&other=%C3%A9&source=gateway");
}

#[test]
fn a_body_that_does_not_parse_passes_untouched() {
    let body = r#"{"password": "secret""#;
    let reply = gateway()
        .post(HOST, "/broken", body)
        .header("content-type", "application/json")
        .header("x-replace", "x")
        .send();
    assert_eq!(reply.status, 200, "{}", reply.text());
    let echo = reply.echo();
    assert_eq!(echo.body(), body);
    assert_eq!(echo.header("x-replace").as_deref(), Some("replaced"), "header rules still apply");
}

#[test]
fn a_response_json_body_rule_edits_what_the_client_gets() {
    let reply = gateway().post(RESPONSE_HOST, "/status/201", "abc").send();
    assert_eq!(reply.status, 201);
    assert_eq!(reply.header("x-transformed"), Some("yes"));
    assert_eq!(reply.header("x-request-body-length"), Some("3"));
    assert_eq!(reply.header("x-echo-body-length"), None);
    let json = reply.json();
    assert_eq!(json["verb"], "POST");
    assert_eq!(json["transformed"], true);
    assert_eq!(json["body"], "abc");
    assert!(json.get("method").is_none() && json.get("headers").is_none(), "{json}");
    // The request rules belong to the other domain: the upstream saw the body as sent.
    assert_eq!(json["path"], "/status/201");
}

#[test]
fn a_response_that_is_not_json_passes_untouched() {
    let reply = gateway().get(RESPONSE_HOST, "/bytes/5").send();
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, b"xxxxx");
    assert_eq!(reply.header("x-transformed"), Some("yes"));
}
