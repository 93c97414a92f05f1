//! Error bodies of the Responses API: OpenAI's `{"error": {"message", "type", "param",
//! "code"}}`, and the `error` of a failed response, whose `code` is one of a closed set.

use crate::json::object;
use serde_json::Value;

/// The `(type, message)` of an error body, or `None` when `body` is not one (OpenAI's reading:
/// the Responses API answers errors as chat completions does).
pub fn read_error(body: &Value) -> Option<(String, String)> {
    crate::openai::read_error(body)
}

/// An error body: `{"error": {"message", "type", "param": null, "code": null}}`.
pub fn write_error(kind: &str, message: &str) -> Value {
    crate::openai::write_error(kind, message)
}

/// A failed response's `error`: `{code, message, type}`. `code` must be one the SDKs know
/// (a rate limit, an invalid prompt, else a server error); the provider's own type is kept
/// as `type`.
pub(super) fn failure(kind: &str, message: &str) -> Value {
    object([("code", failure_code(kind).into()), ("message", message.into()), ("type", kind.into())])
}

/// The code of a failed response for a provider's error type.
fn failure_code(kind: &str) -> &'static str {
    let kind = kind.to_ascii_lowercase();
    if kind.contains("rate_limit") || kind.contains("resource_exhausted") || kind.contains("throttl") || kind == "429" {
        "rate_limit_exceeded"
    } else if kind.contains("invalid") || kind == "400" {
        "invalid_prompt"
    } else {
        "server_error"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn failure_codes() {
        assert_eq!(failure("rate_limit_error", "slow")["code"], "rate_limit_exceeded");
        assert_eq!(failure("RESOURCE_EXHAUSTED", "q")["code"], "rate_limit_exceeded");
        assert_eq!(failure("ThrottlingException", "q")["code"], "rate_limit_exceeded");
        assert_eq!(failure("invalid_request_error", "bad")["code"], "invalid_prompt");
        assert_eq!(
            failure("overloaded_error", "busy"),
            json!({"code": "server_error", "message": "busy", "type": "overloaded_error"})
        );
        assert_eq!(read_error(&write_error("api_error", "boom")), Some(("api_error".into(), "boom".into())));
    }
}
