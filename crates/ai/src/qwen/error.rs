//! DashScope's error body, `{"code": "InvalidParameter", "message": "...", "request_id": "..."}`
//! (a stream's error event has the same data). A successful reply may carry `"code": ""`.

use crate::json::object;
use serde_json::Value;

/// The error's `code` and message, if `body` is an error: a non-empty `code`, or a `message`
/// without `output`. Any other body is `None`.
pub fn read_error(body: &Value) -> Option<(String, String)> {
    let text = |key: &str| body.get(key).and_then(Value::as_str).filter(|s| !s.is_empty());
    let message = text("message");
    match (text("code"), message) {
        (Some(code), message) => Some((code.to_string(), message.unwrap_or_default().to_string())),
        (None, Some(message)) if body.get("output").is_none_or(Value::is_null) => {
            Some(("InternalError".into(), message.to_string()))
        }
        _ => None,
    }
}

/// An error body with `message` whose `code` is `kind` when it is a DashScope code, else the
/// code nearest another protocol's error type (OpenAI's, Anthropic's, Google's status names).
pub fn write_error(kind: &str, message: &str) -> Value {
    object([("code", code_for_kind(kind).into()), ("message", message.into()), ("request_id", "".into())])
}

/// The DashScope code for an error type of any protocol.
pub(super) fn code_for_kind(kind: &str) -> &str {
    match kind {
        "invalid_request_error" | "request_too_large" | "INVALID_ARGUMENT" | "FAILED_PRECONDITION" | "OUT_OF_RANGE" => {
            "InvalidParameter"
        }
        "authentication_error" | "invalid_api_key" | "UNAUTHENTICATED" => "InvalidApiKey",
        "permission_error" | "PERMISSION_DENIED" => "AccessDenied",
        "billing_error" | "insufficient_quota" => "Arrearage",
        "not_found_error" | "model_not_found" | "NOT_FOUND" => "ModelNotFound",
        "rate_limit_error" | "rate_limit_exceeded" | "requests" | "tokens" | "RESOURCE_EXHAUSTED" => "Throttling",
        "timeout_error" | "DEADLINE_EXCEEDED" => "RequestTimeOut",
        "overloaded_error" | "UNAVAILABLE" => "ServiceUnavailable",
        "" | "api_error" | "server_error" | "INTERNAL" | "UNKNOWN" => "InternalError",
        other => other,
    }
}

/// The code DashScope gives an HTTP status, for an error body that says none.
pub(crate) fn code_for_status(status: u16) -> &'static str {
    match status {
        400 | 413 | 422 => "InvalidParameter",
        401 => "InvalidApiKey",
        403 => "AccessDenied",
        404 => "ModelNotFound",
        408 | 504 => "RequestTimeOut",
        429 => "Throttling",
        503 => "ServiceUnavailable",
        _ => "InternalError",
    }
}

/// The HTTP status of a DashScope code (a stream's error event says it in its
/// `:HTTP_STATUS/<status>` comment).
pub(super) fn status_for_code(code: &str) -> u16 {
    let family = code.split('.').next().unwrap_or_default();
    match family {
        "InvalidParameter" | "DataInspectionFailed" | "BadRequest" | "Arrearage" | "InvalidSchema" => 400,
        "InvalidApiKey" => 401,
        "AccessDenied" => 403,
        "ModelNotFound" | "NotFound" => 404,
        "Throttling" => 429,
        "ServiceUnavailable" => 503,
        "RequestTimeOut" => 504,
        _ => 500,
    }
}
