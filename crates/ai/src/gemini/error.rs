//! Gemini's error body: `{"error": {"code": 400, "message": "...", "status": "INVALID_ARGUMENT"}}`.

use crate::json::object;
use serde_json::Value;

/// The error's `status` (Google's canonical code name) and message, if `body` is an error.
pub fn read_error(body: &Value) -> Option<(String, String)> {
    let error = body.get("error").filter(|e| e.is_object())?;
    let message = error.get("message").and_then(Value::as_str).unwrap_or_default();
    let status = match error.get("status").and_then(Value::as_str) {
        Some(status) => status.to_string(),
        None => status_for_code(error.get("code").and_then(Value::as_u64).unwrap_or(500)).to_string(),
    };
    Some((status, message.to_string()))
}

/// An error body of type `kind` (a Google status name, or another protocol's error type,
/// mapped to the nearest status) with `message`.
pub fn write_error(kind: &str, message: &str) -> Value {
    let status = match kind {
        "invalid_request_error" | "request_too_large" => "INVALID_ARGUMENT",
        "authentication_error" => "UNAUTHENTICATED",
        "permission_error" | "billing_error" => "PERMISSION_DENIED",
        "not_found_error" => "NOT_FOUND",
        "rate_limit_error" | "rate_limit_exceeded" | "requests" => "RESOURCE_EXHAUSTED",
        "timeout_error" => "DEADLINE_EXCEEDED",
        "overloaded_error" => "UNAVAILABLE",
        "api_error" | "server_error" => "INTERNAL",
        other if other.bytes().all(|b| b.is_ascii_uppercase() || b == b'_') && !other.is_empty() => other,
        _ => "UNKNOWN",
    };
    object([(
        "error",
        object([("code", code_for_status(status).into()), ("message", message.into()), ("status", status.into())]),
    )])
}

/// The HTTP status Google gives a canonical code name.
fn code_for_status(status: &str) -> u16 {
    match status {
        "INVALID_ARGUMENT" | "FAILED_PRECONDITION" | "OUT_OF_RANGE" => 400,
        "UNAUTHENTICATED" => 401,
        "PERMISSION_DENIED" => 403,
        "NOT_FOUND" => 404,
        "ABORTED" | "ALREADY_EXISTS" => 409,
        "RESOURCE_EXHAUSTED" => 429,
        "CANCELLED" => 499,
        "UNIMPLEMENTED" => 501,
        "UNAVAILABLE" => 503,
        "DEADLINE_EXCEEDED" => 504,
        _ => 500,
    }
}

/// The canonical code name of an HTTP status, for an error body without `status`.
pub(crate) fn status_for_code(code: u64) -> &'static str {
    match code {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ABORTED",
        429 => "RESOURCE_EXHAUSTED",
        501 => "UNIMPLEMENTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        _ => "INTERNAL",
    }
}
