//! Test helpers for the auth plugins' tests (feature `testing`): what every Higress auth
//! plugin must answer, checked on a stream run in the host.

use higress_host::Stream;

/// Asserts that an auth plugin answered `s` itself - `status`, `body`, `details` and the
/// `WWW-Authenticate: <scheme> realm=MSE Gateway` every Higress auth plugin sends - and
/// that nothing reached the upstream.
pub fn assert_auth_denied(s: &Stream, scheme: &str, status: u16, details: &str, body: &str) {
    let r = s.response();
    assert_eq!((r.status(), r.body_text().as_str()), (Some(status), body));
    assert_eq!(r.header("www-authenticate"), Some(format!("{scheme} realm=MSE Gateway").as_str()));
    assert_eq!(s.local_response().map(|l| l.details), Some(details.to_string()));
    assert!(s.upstream().headers.is_none(), "the request reached the upstream");
}

/// The `X-Mse-Consumer` an auth plugin sent upstream (`None`: passed without one); panics
/// when the request was denied.
pub fn upstream_consumer(s: &Stream) -> Option<String> {
    let up = s.upstream();
    assert!(up.headers.is_some(), "denied: {:?} {}", s.response().status(), s.response().body_text());
    up.header("x-mse-consumer").map(str::to_string)
}
