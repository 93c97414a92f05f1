//! hmac-auth through the gateway: signed GETs and a signed JSON POST with Content-MD5.

use crate::gateway;
use base64::Engine;
use higress_e2e::client::RequestBuilder;
use higress_e2e::sign::{http_date, HmacRequest};
use md5::{Digest, Md5};

const HOST: &str = "hmac-auth.e2e.local";

fn signed(method: &str, path: &str, headers: &[(&str, &str)], key: &str, secret: &str) -> RequestBuilder {
    let mut all: Vec<(String, String)> = headers.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect();
    all.push(("date".into(), http_date()));
    let request = HmacRequest {
        method: method.into(),
        path: path.into(),
        headers: all,
        signed_headers: vec![("x-ca-nonce".into(), crate::unique("nonce"))],
    };
    let mut builder = gateway().request(method, HOST, path);
    for (name, value) in request.sign(key, secret) {
        builder = builder.header(&name, &value);
    }
    builder
}

#[test]
fn a_signed_request_passes() {
    let reply =
        signed("GET", "/orders?page=2&size=10", &[("accept", "application/json")], "e2e-app-key-1", "e2e-app-secret-1")
            .send();
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.echo().header("x-mse-consumer").as_deref(), Some("consumer1"));
}

#[test]
fn a_signed_body_with_content_md5_passes() {
    let body = r#"{"order": 42}"#;
    let md5 = base64::engine::general_purpose::STANDARD.encode(Md5::digest(body.as_bytes()));
    let headers = [("content-type", "application/json"), ("content-md5", md5.as_str())];
    let reply = signed("POST", "/orders", &headers, "e2e-app-key-1", "e2e-app-secret-1").body(body).send();
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.echo().body(), body);

    let wrong = [("content-type", "application/json"), ("content-md5", "AAAAAAAAAAAAAAAAAAAAAA==")];
    let reply = signed("POST", "/orders", &wrong, "e2e-app-key-1", "e2e-app-secret-1").body(body).send();
    assert_eq!(reply.status, 400);
    assert_eq!(reply.text(), "Invalid Content-MD5");
}

#[test]
fn refusals_match_higress() {
    let other = signed("GET", "/", &[], "e2e-app-key-2", "e2e-app-secret-2").send();
    assert_eq!(other.status, 403);
    assert_eq!(other.text(), "Unauthorized Consumer");
    assert_eq!(other.header("www-authenticate"), Some("HMAC realm=MSE Gateway"));

    let bad = signed("GET", "/", &[], "e2e-app-key-1", "not-the-secret").send();
    assert_eq!(bad.status, 400);
    assert_eq!(bad.text(), "Invalid Signature");
    assert!(bad.header("x-ca-error-message").is_some_and(|m| m.starts_with("Server StringToSign:")));

    let unsigned = gateway().get(HOST, "/").send();
    assert_eq!(unsigned.status, 401);
    assert_eq!(unsigned.text(), "Invalid Key");
}
