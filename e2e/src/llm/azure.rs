//! Azure OpenAI: its paths, the `api-version` query, the `api-key` header and the errors its
//! front end answers with (`{"error": {"code", "message"}}`). Past those, a request is answered
//! as OpenAI does ([`super::openai`], Azure flavour: the reply's model is the deployment,
//! content filter results are added).
//!
//! | path | model | `api-version` |
//! |---|---|---|
//! | `/openai/deployments/{deployment}/chat/completions` | the deployment | required |
//! | `/openai/chat/completions` | the body's `model` | required |
//! | `/openai/v1/chat/completions` (the v1 API) | the body's `model` | not needed |
//!
//! Without `api-version` where it is required: 404 `Resource not found`; one that is not a
//! date (`2024-10-21`, `2025-01-01-preview`): 400 `API version not supported`. Without
//! `api-key`: 401. Any other path under `/openai/`: 404.

use super::record::query_param;
use serde_json::{json, Value};

/// A chat completions path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chat {
    pub deployment: Option<String>,
    /// Whether the path wants `api-version`.
    pub versioned: bool,
}

fn deployment_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// The chat completions path `path` is, if it is one (`path` starts with `/openai/`).
pub fn route(path: &str) -> Option<Chat> {
    match path {
        "/openai/chat/completions" => Some(Chat { deployment: None, versioned: true }),
        "/openai/v1/chat/completions" => Some(Chat { deployment: None, versioned: false }),
        _ => path
            .strip_prefix("/openai/deployments/")
            .and_then(|rest| rest.strip_suffix("/chat/completions"))
            .filter(|name| deployment_name(name))
            .map(|name| Chat { deployment: Some(name.to_string()), versioned: true }),
    }
}

/// An Azure front-end error body.
pub fn error(code: &str, message: &str) -> Value {
    json!({"error": {"code": code, "message": message}})
}

/// 404 for any path Azure does not serve.
pub fn not_found() -> Value {
    error("404", "Resource not found")
}

/// 401 without a key.
pub fn unauthorized() -> Value {
    error("401", "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.")
}

fn is_api_version(version: &str) -> bool {
    let date = version.strip_suffix("-preview").unwrap_or(version);
    let parts: Vec<&str> = date.split('-').collect();
    matches!(parts.as_slice(), [y, m, d] if y.len() == 4 && m.len() == 2 && d.len() == 2
        && date.chars().all(|c| c.is_ascii_digit() || c == '-'))
}

/// The `api-version` check of a request to `chat` with `query`: the error status and body.
pub fn check_version(chat: &Chat, query: &str) -> Result<(), (u16, Value)> {
    match query_param(query, "api-version") {
        None if chat.versioned => Err((404, not_found())),
        Some(version) if chat.versioned && !is_api_version(&version) => {
            Err((400, error("BadRequest", "API version not supported")))
        }
        _ => Ok(()),
    }
}

/// The error body Azure answers `status` with: its front end's shape for the statuses it
/// decides (401, 403, 404, 429), the model's OpenAI shape for the others.
pub fn status_error(status: u16) -> Value {
    match status {
        401 => unauthorized(),
        403 => error("403", "Access denied."),
        404 => error("DeploymentNotFound", "The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again."),
        429 => error("429", "Requests to the ChatCompletions_Create Operation have exceeded the rate limit of your current pricing tier. Please retry after 1 second."),
        _ => super::openai::status_error(status),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_versions() {
        let deployment = route("/openai/deployments/gpt-4o.1/chat/completions");
        assert_eq!(deployment, Some(Chat { deployment: Some("gpt-4o.1".into()), versioned: true }));
        assert_eq!(route("/openai/deployments//chat/completions"), None);
        assert_eq!(route("/openai/deployments/a/b/chat/completions"), None);
        assert_eq!(route("/openai/v1/chat/completions").map(|c| c.versioned), Some(false));
        assert_eq!(route("/openai/embeddings"), None);
        let chat = Chat { deployment: None, versioned: true };
        assert!(check_version(&chat, "api-version=2024-10-21").is_ok());
        assert!(check_version(&chat, "x=1&api-version=2025-01-01-preview").is_ok());
        assert_eq!(check_version(&chat, "").map_err(|e| e.0), Err(404));
        assert_eq!(check_version(&chat, "api-version=latest").map_err(|e| e.0), Err(400));
        assert_eq!(check_version(&chat, "api-version=2024-1-021").map_err(|e| e.0), Err(400));
        assert!(check_version(&Chat { deployment: None, versioned: false }, "").is_ok());
    }
}
