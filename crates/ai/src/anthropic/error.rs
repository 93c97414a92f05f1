//! Anthropic's error bodies: `{"type": "error", "error": {"type", "message"}}`, the same in
//! a reply body and in a stream's `error` event.

use crate::json::object;
use serde_json::Value;

/// The error type and message of an Anthropic error body, or `None` when `body` is not one.
/// A missing message is empty.
pub fn read_error(body: &Value) -> Option<(String, String)> {
    if body.get("type").and_then(Value::as_str).is_some_and(|kind| kind != "error") {
        return None;
    }
    let error = body.get("error")?;
    let kind = error.get("type")?.as_str()?;
    let message = error.get("message").and_then(Value::as_str).unwrap_or_default();
    Some((kind.to_string(), message.to_string()))
}

/// `{"type": "error", "error": {"type": kind, "message": message}}`.
pub fn write_error(kind: &str, message: &str) -> Value {
    object([("type", "error".into()), ("error", object([("type", kind.into()), ("message", message.into())]))])
}

/// The error type Anthropic answers with a status (from its errors reference), for errors
/// of another provider or of the gateway written to an Anthropic client.
pub fn error_type_for_status(status: u16) -> &'static str {
    match status {
        400 => "invalid_request_error",
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        529 => "overloaded_error",
        _ => "api_error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn errors_round_trip() {
        let body = json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}});
        assert_eq!(read_error(&body), Some(("overloaded_error".into(), "Overloaded".into())));
        assert_eq!(write_error("overloaded_error", "Overloaded"), body);
        assert_eq!(read_error(&json!({"error": {"type": "api_error"}})), Some(("api_error".into(), String::new())));
        assert_eq!(read_error(&json!({"type": "message", "error": {"type": "x"}})), None);
        assert_eq!(read_error(&json!({"type": "error", "error": "boom"})), None);
        assert_eq!(read_error(&json!("error")), None);
    }

    #[test]
    fn statuses() {
        let table = [
            (400, "invalid_request_error"),
            (401, "authentication_error"),
            (403, "permission_error"),
            (404, "not_found_error"),
            (413, "request_too_large"),
            (429, "rate_limit_error"),
            (529, "overloaded_error"),
            (500, "api_error"),
            (502, "api_error"),
            (0, "api_error"),
        ];
        for (status, kind) in table {
            assert_eq!(error_type_for_status(status), kind, "{status}");
        }
    }
}
