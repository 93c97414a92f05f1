//! OpenAI error bodies: `{"error": {"message", "type", "param", "code"}}`.

use serde_json::{json, Value};

/// The `(type, message)` of an error body, or `None` when `body` is not one.
///
/// Besides OpenAI's form this reads what compatible providers send instead: an error that is
/// a plain string, a Google-style `status`/numeric `code`, and vLLM's and Mistral's top-level
/// `{"object": "error", "message", "type"}`. A missing type is `api_error`.
pub fn read_error(body: &Value) -> Option<(String, String)> {
    let error = match body.get("error") {
        Some(Value::String(message)) => return Some(("api_error".into(), message.clone())),
        Some(error @ Value::Object(_)) => error,
        _ if body.get("object").and_then(Value::as_str) == Some("error") => body,
        _ => return None,
    };
    let text = |key: &str| error.get(key).and_then(Value::as_str).filter(|s| !s.is_empty());
    let kind = text("type").or_else(|| text("status")).map(str::to_string).or_else(|| match error.get("code") {
        Some(Value::String(code)) if !code.is_empty() => Some(code.clone()),
        Some(Value::Number(code)) => Some(code.to_string()),
        _ => None,
    });
    Some((kind.unwrap_or_else(|| "api_error".into()), text("message").unwrap_or_default().to_string()))
}

/// An OpenAI error body: `{"error": {"message", "type", "param": null, "code": null}}`.
pub fn write_error(kind: &str, message: &str) -> Value {
    json!({"error": {"message": message, "type": kind, "param": null, "code": null}})
}
