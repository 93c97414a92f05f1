//! Vertex AI (`{region}-aiplatform.googleapis.com`, `aiplatform.googleapis.com`): Google's
//! models, Anthropic's models and the OpenAI-compatible endpoint, the answers those of
//! [`super::gemini`], [`super::anthropic`], [`super::embeddings`] and [`super::openai`].
//!
//! | path (`/v1/` or `/v1beta1/`) | auth | body and answer |
//! |---|---|---|
//! | `projects/{p}/locations/{r}/publishers/google/models/{m}:generateContent`, `:streamGenerateContent[?alt=sse]` | OAuth | Gemini's |
//! | `projects/{p}/locations/{r}/publishers/google/models/{m}:predict` | OAuth | text embeddings ([`super::embeddings::vertex_predict`]) |
//! | `projects/{p}/locations/{r}/publishers/anthropic/models/{m}:rawPredict`, `:streamRawPredict` | OAuth | Anthropic's messages, without `model` and with `anthropic_version: "vertex-2023-10-16"`; streamed when the body says `stream: true` |
//! | `projects/{p}/locations/{r}/endpoints/openapi/chat/completions` | OAuth | OpenAI chat completions, `model` `<publisher>/<model>` (`google/gemini-2.5-flash`) |
//! | `publishers/google/models/{m}:...`, `publishers/anthropic/models/{m}:...` (express mode) | API key | as above |
//!
//! OAuth: `Authorization: Bearer <token>` with a token [`super::oauth`] issued and not expired;
//! else 401 `UNAUTHENTICATED` in Google's shape - no credential: `Request is missing required
//! authentication credential...`; an API key instead: `API keys are not supported by this
//! API...`; another or an expired token: `Request had invalid authentication credentials...`.
//! Express mode: `x-goog-api-key: <key>` or `?key=<key>` (any key); none is the 401 of a missing
//! credential.
//!
//! Checks besides those of the protocol answering, each a 400 as Vertex answers it: a Claude
//! body with `model` (`model: Extra inputs are not permitted`), without `anthropic_version` or
//! with another one (Anthropic's shape); an OpenAI body whose `model` is not
//! `<publisher>/<model>` (`INVALID_ARGUMENT`) or is Anthropic's (`FAILED_PRECONDITION`: Claude
//! has no ChatCompletions on Vertex). The OpenAI endpoint's errors are in Google's shape.
//!
//! Claude's reply names the model as Anthropic does (`claude-sonnet-4@20250514` ->
//! `claude-sonnet-4-20250514`).

use super::oauth::{TokenState, Tokens};
use super::script::Script;
use super::{anthropic, gemini, openai, Reply};
use serde_json::{json, Value};

/// The `anthropic_version` Claude on Vertex wants in the body.
pub const ANTHROPIC_VERSION: &str = "vertex-2023-10-16";

/// How a path authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// `projects/{p}/locations/{r}/...`: an OAuth access token.
    OAuth,
    /// `publishers/...` without a project: an API key.
    Express,
}

/// What a path asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A Gemini model's `generateContent` or `streamGenerateContent`.
    Gemini(gemini::Call),
    /// Text embeddings of this model.
    Predict(String),
    /// A Claude model's `rawPredict` or `streamRawPredict`.
    Anthropic { model: String, stream: bool },
    /// The OpenAI-compatible chat completions.
    OpenAi,
}

/// A Vertex AI call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub auth: Auth,
    pub target: Target,
}

impl Call {
    /// Whether the path is a streaming one.
    pub fn streams(&self) -> bool {
        match &self.target {
            Target::Gemini(call) => call.stream(),
            Target::Anthropic { stream, .. } => *stream,
            Target::Predict(_) | Target::OpenAi => false,
        }
    }
}

/// The part of `path` after its API version, when it is a Vertex AI path.
fn after_version(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("/v1/").or_else(|| path.strip_prefix("/v1beta1/"))?;
    (rest.starts_with("projects/") || rest.starts_with("publishers/")).then_some(rest)
}

/// Whether `path` is Vertex AI's (a call or not).
pub fn is_vertex(path: &str) -> bool {
    after_version(path).is_some() || path.starts_with("/v1beta1/")
}

fn segment(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// The call `path` makes, if it is one.
pub fn route(path: &str) -> Option<Call> {
    let rest = after_version(path)?;
    let (auth, rest) = match rest.strip_prefix("projects/") {
        Some(project_rest) => {
            let (project, rest) = project_rest.split_once('/')?;
            let (location, rest) = rest.strip_prefix("locations/")?.split_once('/')?;
            if !segment(project) || !segment(location) {
                return None;
            }
            if rest == "endpoints/openapi/chat/completions" {
                return Some(Call { auth: Auth::OAuth, target: Target::OpenAi });
            }
            (Auth::OAuth, rest)
        }
        None => (Auth::Express, rest),
    };
    let rest = rest.strip_prefix("publishers/")?;
    let (publisher, rest) = rest.split_once("/models/")?;
    let (model, method) = rest.rsplit_once(':')?;
    if !gemini::model_name(model) {
        return None;
    }
    let target = match (publisher, method) {
        ("google", "generateContent") => {
            Target::Gemini(gemini::Call { model: model.to_string(), method: gemini::Method::GenerateContent })
        }
        ("google", "streamGenerateContent") => {
            Target::Gemini(gemini::Call { model: model.to_string(), method: gemini::Method::StreamGenerateContent })
        }
        ("google", "predict") => Target::Predict(model.to_string()),
        ("anthropic", "rawPredict") => Target::Anthropic { model: model.to_string(), stream: false },
        ("anthropic", "streamRawPredict") => Target::Anthropic { model: model.to_string(), stream: true },
        _ => return None,
    };
    Some(Call { auth, target })
}

/// No credential at all.
pub const MISSING: &str = "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.";
/// A bearer token that is not (or no longer) one.
pub const INVALID: &str = "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.";
/// An API key where OAuth is needed.
pub const KEYS_NOT_SUPPORTED: &str = "API keys are not supported by this API. Expected OAuth2 access token or other authentication credentials that assert a principal. See https://cloud.google.com/docs/authentication";

/// Google's 401, with its reason.
pub fn unauthenticated(message: &str, reason: &str) -> Value {
    json!({"error": {"code": 401, "message": message, "status": "UNAUTHENTICATED", "details": [{
        "@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": reason, "domain": "googleapis.com",
        "metadata": {"service": "aiplatform.googleapis.com"}}]}})
}

/// The 401 body of a call with `auth` that has the bearer token `bearer` and the API key
/// `api_key`, if it is refused.
pub fn check_auth(auth: Auth, bearer: Option<&str>, api_key: Option<&str>, tokens: &Tokens) -> Result<(), Value> {
    match (auth, bearer, api_key) {
        (Auth::Express, _, Some(_)) => Ok(()),
        (Auth::OAuth, Some(token), _) => match tokens.state(token) {
            TokenState::Valid => Ok(()),
            TokenState::Expired => Err(unauthenticated(INVALID, "ACCESS_TOKEN_EXPIRED")),
            TokenState::Unknown => Err(unauthenticated(INVALID, "ACCESS_TOKEN_TYPE_UNSUPPORTED")),
        },
        (Auth::OAuth, None, Some(_)) => Err(unauthenticated(KEYS_NOT_SUPPORTED, "CREDENTIALS_MISSING")),
        _ => Err(unauthenticated(MISSING, "CREDENTIALS_MISSING")),
    }
}

/// The 404 of a Vertex path that is no call the mock knows.
pub fn not_found(path: &str) -> Value {
    gemini::error(
        404,
        "NOT_FOUND",
        &format!("Publisher Model or method `{path}` was not found or your project does not have access to it."),
    )
}

/// The name Claude's reply gives the model of the path (`claude-sonnet-4@20250514` ->
/// `claude-sonnet-4-20250514`).
pub fn reply_model(model: &str) -> String {
    model.replace('@', "-")
}

/// Answers Claude's `rawPredict` / `streamRawPredict` for `model` (of the path).
pub fn raw_predict(model: &str, body: &[u8], n: u64, script: &Script) -> Reply {
    let mut request = match anthropic::parse(body, n) {
        Ok(request) => request,
        Err(reply) => return reply,
    };
    if request.get("model").is_some() {
        return anthropic::invalid("model: Extra inputs are not permitted", n);
    }
    match &request["anthropic_version"] {
        Value::String(version) if version == ANTHROPIC_VERSION => {}
        Value::Null => return anthropic::invalid("anthropic_version: Field required", n),
        other => {
            let message = format!("anthropic_version: Input should be '{ANTHROPIC_VERSION}' (got {other})");
            return anthropic::invalid(&message, n);
        }
    }
    if let Some(object) = request.as_object_mut() {
        object.remove("anthropic_version");
    }
    anthropic::respond(&request, &reply_model(model), n, script)
}

fn google_bad(status: &str, message: &str) -> Reply {
    Reply::Json(400, gemini::error(400, status, message))
}

/// Answers the OpenAI-compatible chat completions.
pub fn openapi_chat(body: &[u8], n: u64, script: &Script) -> Reply {
    let request: Value = match serde_json::from_slice(body) {
        Ok(value) => value,
        Err(e) => return google_bad("INVALID_ARGUMENT", &format!("Invalid JSON payload received. {e}")),
    };
    let Some(model) = request["model"].as_str() else {
        return google_bad(
            "INVALID_ARGUMENT",
            "model is required: `<publisher>/<model>`, for a Gemini model `google/<model>` (google/gemini-2.5-flash).",
        );
    };
    let publisher = match model.split_once('/') {
        Some((publisher, name)) if segment(publisher) && gemini::model_name(name) => publisher,
        _ => {
            return google_bad(
                "INVALID_ARGUMENT",
                &format!("Malformed publisher model name `{model}`: expected `<publisher>/<model>`, for a Gemini model `google/<model>` (google/gemini-2.5-flash)."),
            )
        }
    };
    if publisher == "anthropic" {
        return google_bad(
            "FAILED_PRECONDITION",
            &format!(
                "The deployed model does not support ChatCompletions: {model}. Use rawPredict or streamRawPredict."
            ),
        );
    }
    match openai::chat(body, &openai::Flavor::OpenAi, n, script) {
        Reply::Json(status, error) if status >= 400 => {
            let message = error["error"]["message"].as_str().unwrap_or("Request contains an invalid argument.");
            Reply::Json(status, gemini::error(status, "INVALID_ARGUMENT", message))
        }
        reply => reply,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(reply: Reply) -> (u16, Value) {
        match reply {
            Reply::Json(status, value) => (status, value),
            Reply::Stream(..) => (0, Value::Null),
        }
    }

    #[test]
    fn routes() {
        let base = "/v1/projects/e2e-project/locations/us-central1/publishers";
        let gemini = |method| gemini::Call { model: "gemini-2.5-flash".into(), method };
        assert_eq!(
            route(&format!("{base}/google/models/gemini-2.5-flash:generateContent")),
            Some(Call { auth: Auth::OAuth, target: Target::Gemini(gemini(gemini::Method::GenerateContent)) })
        );
        let stream = route(&format!("{base}/google/models/gemini-2.5-flash:streamGenerateContent")).unwrap();
        assert!(stream.streams());
        assert_eq!(
            route(&format!("{base}/google/models/text-embedding-005:predict")).map(|c| c.target),
            Some(Target::Predict("text-embedding-005".into()))
        );
        assert_eq!(
            route(&format!("{base}/anthropic/models/claude-sonnet-4@20250514:streamRawPredict")).map(|c| c.target),
            Some(Target::Anthropic { model: "claude-sonnet-4@20250514".into(), stream: true })
        );
        assert_eq!(
            route("/v1beta1/projects/p/locations/global/endpoints/openapi/chat/completions"),
            Some(Call { auth: Auth::OAuth, target: Target::OpenAi })
        );
        assert_eq!(
            route("/v1/publishers/google/models/gemini-2.5-flash:generateContent"),
            Some(Call { auth: Auth::Express, target: Target::Gemini(gemini(gemini::Method::GenerateContent)) })
        );
        assert_eq!(
            route("/v1/publishers/anthropic/models/claude-3-5-haiku@20241022:rawPredict").map(|c| c.auth),
            Some(Auth::Express)
        );
        for path in [
            "/v1/publishers/google/models/g:rawPredict",
            "/v1/publishers/anthropic/models/c:generateContent",
            "/v1/publishers/meta/models/m:predict",
            "/v1/projects/p/locations/r/publishers/google/models/g:countTokens",
            "/v1/projects/p/publishers/google/models/g:generateContent",
            "/v1/publishers/openapi/chat/completions",
            "/v1/projects/p/locations/r/endpoints/123:predict",
        ] {
            assert_eq!(route(path), None, "{path}");
            assert!(is_vertex(path), "{path}");
        }
        assert!(!is_vertex("/v1/chat/completions") && !is_vertex("/v1beta/models/g:generateContent"));
    }

    #[test]
    fn auth() {
        let tokens = Tokens::default();
        let token = tokens.issue();
        assert_eq!(check_auth(Auth::OAuth, Some(&token), None, &tokens), Ok(()));
        let reason = |result: Result<(), Value>| {
            let error = result.unwrap_err();
            assert_eq!(
                (error["error"]["code"].clone(), error["error"]["status"].clone()),
                (json!(401), json!("UNAUTHENTICATED"))
            );
            error["error"]["message"].as_str().unwrap().to_string()
        };
        assert_eq!(reason(check_auth(Auth::OAuth, Some("ya29.forged"), None, &tokens)), INVALID);
        assert_eq!(reason(check_auth(Auth::OAuth, None, Some("AQ.key"), &tokens)), KEYS_NOT_SUPPORTED);
        assert_eq!(reason(check_auth(Auth::OAuth, None, None, &tokens)), MISSING);
        assert_eq!(check_auth(Auth::Express, None, Some("AQ.key"), &tokens), Ok(()));
        assert_eq!(reason(check_auth(Auth::Express, Some(&token), None, &tokens)), MISSING);
    }

    #[test]
    fn claude_bodies_are_vertex_shaped() {
        let messages = json!([{"role": "user", "content": "hi"}]);
        let good = json!({"anthropic_version": ANTHROPIC_VERSION, "max_tokens": 20, "messages": messages});
        let (status, value) =
            answer(raw_predict("claude-sonnet-4@20250514", good.to_string().as_bytes(), 1, &Script::default()));
        assert_eq!(status, 200, "{value}");
        assert_eq!(value["model"], "claude-sonnet-4-20250514");
        assert_eq!(value["content"][0]["text"], "Mock reply to: hi");
        let message = |body: Value| {
            let (status, value) = answer(raw_predict("c", body.to_string().as_bytes(), 1, &Script::default()));
            assert_eq!((status, value["error"]["type"].clone()), (400, json!("invalid_request_error")));
            value["error"]["message"].as_str().unwrap().to_string()
        };
        let mut with_model = good.clone();
        with_model["model"] = json!("claude-sonnet-4");
        assert_eq!(message(with_model), "model: Extra inputs are not permitted");
        let mut without_version = good.clone();
        without_version.as_object_mut().unwrap().remove("anthropic_version");
        assert_eq!(message(without_version), "anthropic_version: Field required");
        let mut api_version = good.clone();
        api_version["anthropic_version"] = json!("2023-06-01");
        assert!(message(api_version).starts_with("anthropic_version: Input should be 'vertex-2023-10-16'"));
        // The Anthropic checks still apply.
        let mut no_max = good.clone();
        no_max.as_object_mut().unwrap().remove("max_tokens");
        assert_eq!(message(no_max), "max_tokens: Field required");
        let mut streamed = good;
        streamed["stream"] = json!(true);
        assert!(matches!(raw_predict("c", streamed.to_string().as_bytes(), 1, &Script::default()), Reply::Stream(..)));
    }

    #[test]
    fn the_openai_endpoint_wants_publisher_models() {
        let chat = |model: Value| {
            let body = json!({"model": model, "messages": [{"role": "user", "content": "hi"}]});
            answer(openapi_chat(body.to_string().as_bytes(), 1, &Script::default()))
        };
        let (status, value) = chat(json!("google/gemini-2.5-flash"));
        assert_eq!(status, 200, "{value}");
        assert_eq!(value["model"], "google/gemini-2.5-flash");
        assert_eq!(value["choices"][0]["message"]["content"], "Mock reply to: hi");
        let (status, value) = chat(json!("gemini-2.5-flash"));
        assert_eq!((status, value["error"]["status"].clone()), (400, json!("INVALID_ARGUMENT")));
        assert_eq!(chat(json!("google/")).0, 400);
        assert_eq!(chat(Value::Null).0, 400);
        let (status, value) = chat(json!("anthropic/claude-sonnet-4"));
        assert_eq!((status, value["error"]["status"].clone()), (400, json!("FAILED_PRECONDITION")));
        let body = json!({"model": "google/g", "messages": []});
        let (status, value) = answer(openapi_chat(body.to_string().as_bytes(), 1, &Script::default()));
        assert_eq!((status, value["error"]["status"].clone()), (400, json!("INVALID_ARGUMENT")), "Google's shape");
    }
}
