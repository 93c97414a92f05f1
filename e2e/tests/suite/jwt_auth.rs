//! jwt-auth through the gateway: EdDSA and RS256 tokens of consumer1, HS256 of consumer2 in
//! its own header (removed before the upstream: keep_token false), claims to headers.

use crate::gateway;
use higress_e2e::sign::{jwt, now};
use serde_json::json;

const HOST: &str = "jwt-auth.e2e.local";

fn token(kid: &str, exp_from_now: i64) -> String {
    let exp = now() as i64 + exp_from_now;
    jwt(kid, &json!({"iss": "https://e2e.example", "sub": format!("user-{kid}"), "exp": exp}))
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn consumer1_tokens_pass_with_claims_as_headers() {
    for kid in ["ed-1", "rsa-1"] {
        let bearer = format!("Bearer {}", token(kid, 600));
        let reply = gateway().get(HOST, "/me").header("authorization", &bearer).send();
        assert_eq!(reply.status, 200, "{kid}: {}", reply.text());
        let echo = reply.echo();
        assert_eq!(echo.header("x-mse-consumer").as_deref(), Some("consumer1"));
        assert_eq!(echo.header("x-user-id"), Some(format!("user-{kid}")));
        assert_eq!(echo.header("authorization"), Some(bearer), "keep_token defaults to true");
    }
}

#[test]
fn consumer2_token_is_taken_from_its_header_and_removed() {
    let reply = gateway().get(HOST, "/me").header("x-jwt", &token("hs-1", 600)).send();
    assert_eq!(reply.status, 200, "{}", reply.text());
    let echo = reply.echo();
    assert_eq!(echo.header("x-mse-consumer").as_deref(), Some("consumer2"));
    assert_eq!(echo.header("x-jwt"), None);
}

#[test]
fn bad_tokens_are_refused() {
    let expired = gateway().get(HOST, "/").header("authorization", &format!("Bearer {}", token("ed-1", -3600))).send();
    assert_eq!(expired.status, 403);
    assert_eq!(expired.text(), "Request denied by JWT Auth check. JWT token not allow.");
    assert_eq!(expired.header("www-authenticate"), Some("JWT realm=MSE Gateway"));
    let mut tampered = token("ed-1", 600);
    tampered.push('A');
    let reply = gateway().get(HOST, "/").header("authorization", &format!("Bearer {tampered}")).send();
    assert_eq!(reply.status, 403);
    let missing = gateway().get(HOST, "/").send();
    assert_eq!(missing.status, 403);
}
