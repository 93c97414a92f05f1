//! The gateway's own answers: a request it cannot send on (a local reply, with a details
//! string `ai-proxy.<reason>` for the access log), a reply it cannot translate (the body
//! that replaces it).

use higress_ai::translate::Protocol;
use higress_sdk::Http;

/// Higress's details for a request body that could not be processed.
pub const REQUEST_FAILED: &str = "ai-proxy.proc_req_body_failed";

/// A request to an API the provider does not offer: 500 `text/plain`, as Higress.
pub fn unsupported_api(http: &mut Http) {
    http.send_local_response(
        500,
        REQUEST_FAILED,
        &[("content-type", "text/plain")],
        b"failed to process request body: unsupported API name",
    );
}

/// A request body that is not what its API takes (not JSON, a field of the wrong type): 400
/// with an error body in the client's protocol naming the problem (Higress answered 500
/// `text/plain`, a server error for the client's mistake, which SDKs then retry).
pub fn bad_request(http: &mut Http, client: Protocol, message: &str) {
    let body = serde_json::to_vec(&client.write_error("invalid_request_error", message)).unwrap_or_default();
    http.send_local_response(400, REQUEST_FAILED, &[("content-type", "application/json")], &body);
}

/// The `content-type` of a reply the gateway writes: Higress's `text/plain` line for an
/// OpenAI client whose reply failed, JSON otherwise.
pub fn content_type(client: Protocol, failed: bool) -> &'static str {
    if failed && client == Protocol::OpenAi {
        "text/plain"
    } else {
        "application/json"
    }
}

/// The body of a reply that could not be translated: Higress's line for an OpenAI client
/// whose reply's status could still be made 500 (`plain`), else an error body in the
/// client's protocol, which its SDK reads.
pub fn failure_body(client: Protocol, message: &str, plain: bool) -> Vec<u8> {
    let text = format!("failed to process response body: {message}");
    if plain && client == Protocol::OpenAi {
        return text.into_bytes();
    }
    serde_json::to_vec(&client.write_error("api_error", &text)).unwrap_or_default()
}
