//! Bedrock's errors: the body is `{"message": "..."}` and the type is in the
//! `x-amzn-errortype` header (`ThrottlingException:http://internal.amazon.com/...`); in a
//! stream, an `exception` frame whose `:exception-type` names it (`throttlingException`).
//!
//! Read, an AWS exception becomes the error type other protocols know (Anthropic's names,
//! which every writer here maps); written, a type becomes the AWS exception a Bedrock client
//! expects.

use crate::json::object;
use serde_json::Value;

/// The error type and message of a Bedrock error body, or `None` when `body` is not one.
/// The body rarely says its type (it is in a header this does not see): a `__type` or `code`
/// member is read when present, else the type is `api_error` (`translate::error` types
/// Bedrock's errors by their status).
pub fn read_error(body: &Value) -> Option<(String, String)> {
    let message = ["message", "Message"].iter().find_map(|key| body.get(key).and_then(Value::as_str))?;
    let named = ["__type", "code"].iter().find_map(|key| body.get(key).and_then(Value::as_str));
    Some((named.map_or("api_error", kind_of_exception).to_string(), message.to_string()))
}

/// `{"message": message}`: the body Bedrock sends; the type goes in the `x-amzn-errortype`
/// header ([`exception_name`]).
pub fn write_error(_kind: &str, message: &str) -> Value {
    object([("message", message.into())])
}

/// The error type (Anthropic's names) an AWS exception means. `name` may be a header's
/// value (`ThrottlingException:http://...`), a `__type` (`com.amazon...#ValidationException`)
/// or a stream's `:exception-type` (`throttlingException`).
pub(crate) fn kind_of_exception(name: &str) -> &'static str {
    let name = name.split(':').next().unwrap_or_default();
    let name = name.rsplit('#').next().unwrap_or_default().to_ascii_lowercase();
    match name.as_str() {
        "throttlingexception" | "servicequotaexceededexception" | "toomanyrequestsexception" => "rate_limit_error",
        "validationexception" => "invalid_request_error",
        "accessdeniedexception" => "permission_error",
        "unrecognizedclientexception" | "expiredtokenexception" | "invalidsignatureexception" => "authentication_error",
        "resourcenotfoundexception" => "not_found_error",
        "modeltimeoutexception" => "timeout_error",
        "serviceunavailableexception" | "modelnotreadyexception" => "overloaded_error",
        _ => "api_error",
    }
}

/// The AWS exception a Bedrock client expects for an error type (any protocol's): the value
/// of `x-amzn-errortype` for an error body.
pub fn exception_name(kind: &str) -> &'static str {
    match kind {
        "invalid_request_error" | "request_too_large" | "INVALID_ARGUMENT" | "FAILED_PRECONDITION" => {
            "ValidationException"
        }
        "authentication_error" | "UNAUTHENTICATED" => "UnrecognizedClientException",
        "permission_error" | "billing_error" | "PERMISSION_DENIED" => "AccessDeniedException",
        "not_found_error" | "NOT_FOUND" => "ResourceNotFoundException",
        "rate_limit_error" | "rate_limit_exceeded" | "requests" | "RESOURCE_EXHAUSTED" => "ThrottlingException",
        "timeout_error" | "DEADLINE_EXCEEDED" => "ModelTimeoutException",
        "overloaded_error" | "UNAVAILABLE" => "ServiceUnavailableException",
        _ => kind_as_exception(kind).unwrap_or("InternalServerException"),
    }
}

/// An AWS exception name given as the type, kept.
fn kind_as_exception(kind: &str) -> Option<&'static str> {
    const KNOWN: [&str; 12] = [
        "ValidationException",
        "AccessDeniedException",
        "UnrecognizedClientException",
        "ResourceNotFoundException",
        "ThrottlingException",
        "ServiceQuotaExceededException",
        "ModelTimeoutException",
        "ModelNotReadyException",
        "ModelErrorException",
        "ModelStreamErrorException",
        "ServiceUnavailableException",
        "InternalServerException",
    ];
    KNOWN.into_iter().find(|known| known.eq_ignore_ascii_case(kind))
}

/// The `:exception-type` of a stream's exception frame: one of the five a ConverseStream
/// client knows.
pub(super) fn stream_exception_name(kind: &str) -> &'static str {
    match exception_name(kind) {
        "ValidationException" => "validationException",
        "ThrottlingException" | "ServiceQuotaExceededException" => "throttlingException",
        "ServiceUnavailableException" | "ModelNotReadyException" => "serviceUnavailableException",
        "ModelStreamErrorException" => "modelStreamErrorException",
        _ => "internalServerException",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn error_bodies() {
        let body = json!({"message": "Too many requests, please wait before trying again."});
        assert_eq!(read_error(&body), Some(("api_error".into(), body["message"].as_str().unwrap().into())));
        let typed = json!({"__type": "com.amazon.bedrock#ValidationException", "Message": "bad"});
        assert_eq!(read_error(&typed), Some(("invalid_request_error".into(), "bad".into())));
        assert_eq!(read_error(&json!({"output": {}})), None);
        assert_eq!(write_error("rate_limit_error", "slow"), json!({"message": "slow"}));
    }

    #[test]
    fn exception_names_both_ways() {
        assert_eq!(kind_of_exception("ThrottlingException:http://internal.amazon.com/coral/"), "rate_limit_error");
        assert_eq!(kind_of_exception("throttlingException"), "rate_limit_error");
        assert_eq!(kind_of_exception("modelStreamErrorException"), "api_error");
        assert_eq!(kind_of_exception("serviceUnavailableException"), "overloaded_error");
        assert_eq!(exception_name("rate_limit_error"), "ThrottlingException");
        assert_eq!(exception_name("RESOURCE_EXHAUSTED"), "ThrottlingException");
        assert_eq!(exception_name("modelNotReadyException"), "ModelNotReadyException");
        assert_eq!(exception_name("server_error"), "InternalServerException");
        assert_eq!(stream_exception_name("overloaded_error"), "serviceUnavailableException");
        assert_eq!(stream_exception_name("invalid_request_error"), "validationException");
        assert_eq!(stream_exception_name("not_found_error"), "internalServerException");
        for kind in ["rate_limit_error", "invalid_request_error", "overloaded_error", "api_error"] {
            assert_eq!(kind_of_exception(stream_exception_name(kind)), kind, "{kind} survives a stream");
        }
    }
}
