//! basic-auth on the compiled `.wasm`.
// Helpers outside #[test] functions may panic too: a failing test should fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use higress_host::testing::{self, request};
use higress_host::{Stream, Vm};
use proptest::prelude::*;
use serde_json::{json, Value};

const NO_AUTH: &str = "Request denied by Basic Auth check. No Basic Authentication information found.";
const INVALID: &str = "Request denied by Basic Auth check. Invalid username and/or password.";
const UNAUTHORIZED: &str = "Request denied by Basic Auth check. Unauthorized consumer.";

fn b64(text: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}

fn basic(credential: &str) -> String {
    format!("Basic {}", b64(credential.as_bytes()))
}

fn vm(config: Value) -> Vm {
    testing::vm("basic-auth", &config)
}

fn consumers() -> Value {
    json!([
        {"name": "consumer1", "credential": "admin:123456"},
        {"name": "consumer2", "credential": "guest:abc"},
        {"name": "colon", "credential": "tricky:pa:ss:word"}
    ])
}

/// Higress's e2e conformance setup: rule on one route allowing consumer1.
fn conformance() -> Vm {
    vm(
        json!({"consumers": consumers(), "global_auth": false, "_rules_": [{"_match_route_": ["foo"], "allow": ["consumer1", "colon"]}]}),
    )
}

fn send(vm: &Vm, authorization: Option<&str>) -> Stream {
    let mut req = request("GET", "foo.com", "/foo").route("foo");
    if let Some(a) = authorization {
        req = req.header("authorization", a);
    }
    req.send(vm)
}

fn assert_denied(s: &Stream, status: u16, details: &str, body: &str) {
    higress_auth::testing::assert_auth_denied(s, "Basic", status, details, body);
}

fn consumer(s: &Stream) -> Option<String> {
    higress_auth::testing::upstream_consumer(s)
}

#[test]
fn conformance_cases() {
    let vm = conformance();
    assert_eq!(consumer(&send(&vm, Some(&basic("admin:123456")))).as_deref(), Some("consumer1"));
    assert_denied(&send(&vm, None), 401, "basic-auth.no_auth_data", NO_AUTH);
    assert_denied(&send(&vm, Some("Bearer abc")), 401, "basic-auth.no_auth_data", NO_AUTH);
    assert_denied(&send(&vm, Some(&basic("admin:wrong"))), 401, "basic-auth.bad_credential", INVALID);
    assert_denied(&send(&vm, Some(&basic("nobody:123456"))), 401, "basic-auth.bad_credential", INVALID);
    assert_denied(&send(&vm, Some(&basic("guest:abc"))), 403, "basic-auth.unauthorized", UNAUTHORIZED);
    assert_eq!(consumer(&request("GET", "foo.com", "/other").route("other").send(&vm)), None);
}

#[test]
fn malformed_credentials() {
    let vm = conformance();
    assert_denied(&send(&vm, Some("Basic !!!not-base64!!!")), 401, "basic-auth.bad_credential", INVALID);
    assert_denied(&send(&vm, Some("Basic YWRtaW4")), 401, "basic-auth.bad_credential", INVALID);
    assert_denied(&send(&vm, Some(&basic("no-colon-here"))), 401, "basic-auth.bad_credential", INVALID);
    assert_denied(&send(&vm, Some(&basic(":123456"))), 401, "basic-auth.bad_credential", INVALID);
    assert_denied(&send(&vm, Some(&basic(""))), 401, "basic-auth.bad_credential", INVALID);
    assert_denied(&send(&vm, Some("Basic")), 401, "basic-auth.no_auth_data", NO_AUTH);
    assert_denied(
        &send(&vm, Some(&format!("Basic {}", b64(b"admin:\xff\xfe")))),
        401,
        "basic-auth.bad_credential",
        INVALID,
    );
}

#[test]
fn values_that_are_not_utf8_are_told_apart_by_their_scheme() {
    let vm = conformance();
    let send_bytes =
        |value: &[u8]| request("GET", "foo.com", "/foo").route("foo").header_bytes("authorization", value).send(&vm);
    let mut big = b"Basic ".to_vec();
    big.extend(std::iter::repeat_n(0xff, 60_000));
    assert_denied(&send_bytes(&big), 401, "basic-auth.bad_credential", INVALID);
    assert_denied(&send_bytes(b"  basic YWRt\xffaW4="), 401, "basic-auth.bad_credential", INVALID);
    assert_denied(&send_bytes(b"Basic\xff YWRtaW4="), 401, "basic-auth.no_auth_data", NO_AUTH);
    assert_denied(&send_bytes(b"\xff\xfe"), 401, "basic-auth.no_auth_data", NO_AUTH);
    assert_denied(&send_bytes(b"Bearer \xff"), 401, "basic-auth.no_auth_data", NO_AUTH);
    assert!(!vm.is_failed());
}

#[test]
fn passwords_may_contain_colons_and_the_scheme_is_case_insensitive() {
    let vm = conformance();
    assert_eq!(consumer(&send(&vm, Some(&basic("tricky:pa:ss:word")))).as_deref(), Some("colon"));
    assert_denied(&send(&vm, Some(&basic("tricky:pa"))), 401, "basic-auth.bad_credential", INVALID);
    let lower = format!("basic {}", b64(b"admin:123456"));
    assert_eq!(consumer(&send(&vm, Some(&lower))).as_deref(), Some("consumer1"));
}

#[test]
fn global_auth_modes_and_rules() {
    let global = vm(json!({"consumers": consumers()}));
    assert_denied(&request("GET", "h", "/").send(&global), 401, "basic-auth.no_auth_data", NO_AUTH);
    let s = request("GET", "h", "/").header("authorization", &basic("guest:abc")).send(&global);
    assert_eq!(consumer(&s).as_deref(), Some("consumer2"));

    let strict = vm(
        json!({"consumers": consumers(), "global_auth": true, "_rules_": [{"_match_domain_": ["admin.com"], "allow": ["consumer1"]}]}),
    );
    assert_denied(&request("GET", "h", "/").send(&strict), 401, "basic-auth.no_auth_data", NO_AUTH);
    let s = request("GET", "admin.com", "/").header("authorization", &basic("guest:abc")).send(&strict);
    assert_denied(&s, 403, "basic-auth.unauthorized", UNAUTHORIZED);
    let s = request("GET", "admin.com:443", "/").header("authorization", &basic("admin:123456")).send(&strict);
    assert_eq!(consumer(&s).as_deref(), Some("consumer1"));

    let open = vm(json!({"consumers": consumers(), "global_auth": false}));
    assert_eq!(consumer(&request("GET", "h", "/").send(&open)), None);
}

#[test]
fn config_errors_name_the_field() {
    let plugin = testing::plugin("basic-auth");
    let cases = [
        (json!({}), "missing field `consumers`"),
        (json!({"consumers": []}), "consumers: cannot be empty"),
        (
            json!({"consumers": [{"name": "a", "credential": "nocolon"}]}),
            "consumers[0].credential: must be `user:password`",
        ),
        (json!({"consumers": [{"name": "a", "credential": ":pw"}]}), "consumers[0].credential: the user name is empty"),
        (
            json!({"consumers": [{"name": "a", "credential": "u:p"}, {"name": "b", "credential": "u:p"}]}),
            "consumers[1].credential: duplicate credential `u:p`",
        ),
        (
            json!({"consumers": consumers(), "_rules_": [{"_match_domain_": ["x"]}]}),
            "_rules_[0].allow: is required in a rule",
        ),
    ];
    for (config, expected) in cases {
        let line = testing::config_error(&plugin, &config);
        assert!(line.contains(&format!("basic-auth config error: {expected}")), "{line}\n  expected: {expected}");
    }
}

thread_local! {
    static VM: Vm = conformance();
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
    /// Random Authorization values (raw bytes, random base64) get the reply the credential
    /// model predicts, and never break the VM.
    #[test]
    fn random_authorization_keeps_the_vm_serving(raw in proptest::collection::vec(any::<u8>(), 0..96), decoded in proptest::collection::vec(any::<u8>(), 1..48)) {
        let vm = VM.with(Vm::clone);
        // Random bytes are never a credential: 401, and without a space not even Basic.
        let s = request("GET", "foo.com", "/foo").route("foo").header_bytes("authorization", &raw).send(&vm);
        if raw.contains(&b' ') {
            let details = s.local_response().map(|l| l.details).unwrap_or_default();
            prop_assert!(details == "basic-auth.no_auth_data" || details == "basic-auth.bad_credential", "{}", details);
            let expected = if details == "basic-auth.no_auth_data" { NO_AUTH } else { INVALID };
            assert_denied(&s, 401, &details, expected);
        } else {
            assert_denied(&s, 401, "basic-auth.no_auth_data", NO_AUTH);
        }
        // Well-formed Basic: passes only for a configured `user:password`.
        let s = request("GET", "foo.com", "/foo").route("foo").header("authorization", &format!("Basic {}", b64(&decoded))).send(&vm);
        match decoded.as_slice() {
            b"admin:123456" => prop_assert_eq!(consumer(&s), Some("consumer1".to_string())),
            b"tricky:pa:ss:word" => prop_assert_eq!(consumer(&s), Some("colon".to_string())),
            b"guest:abc" => assert_denied(&s, 403, "basic-auth.unauthorized", UNAUTHORIZED),
            _ => assert_denied(&s, 401, "basic-auth.bad_credential", INVALID),
        }
        prop_assert!(!vm.is_failed());
        let ok = send(&vm, Some(&basic("admin:123456")));
        let up = ok.upstream();
        prop_assert_eq!(up.header("x-mse-consumer"), Some("consumer1"));
    }
}
