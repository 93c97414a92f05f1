//! The LLM mock: the paid providers' APIs as ai-proxy and the AI plugins see them - OpenAI
//! chat completions, responses and embeddings (and the ~25 OpenAI-compatible providers),
//! Anthropic messages, Azure OpenAI, Gemini and Vertex AI (with Google's OAuth token endpoint),
//! Amazon Bedrock's Converse API (SigV4 checked, binary event streams) and DashScope's native
//! generation API - with deterministic answers, so tests can predict every byte, and a journal
//! of what it received.
//!
//! # Endpoints
//!
//! | request | protocol | auth | answer |
//! |---|---|---|---|
//! | `POST` any path ending in `/chat/completions` (`/v1/...`, `/api/v3/...`, `/compatible-mode/v1/...`), not under `/openai/` | openai | `Authorization: Bearer <key>` | [`openai`] |
//! | `POST` any path ending in `/responses` (`/v1/responses`, `/compatible-mode/v1/responses`), not under `/openai/` | responses | Bearer | [`responses`] |
//! | `GET` a path ending in `/models` (`/v1/models`) | openai | Bearer | the [`MODELS`] list |
//! | `POST` a path ending in `/v1/messages` (`/v1/messages`, `/anthropic/v1/messages`, `/apps/anthropic/v1/messages`) | anthropic | `x-api-key: <key>` (or `Authorization: Bearer` with an `anthropic-beta: oauth-...`), and `anthropic-version` | [`anthropic`] |
//! | `POST /openai/deployments/{d}/chat/completions?api-version=...`, `/openai/chat/completions?api-version=...`, `/openai/v1/chat/completions` | azure | `api-key: <key>` | [`azure`], then as openai |
//! | `POST` a path ending in `/embeddings` (`/v1/embeddings`), not under `/openai/` | openai | Bearer | [`embeddings::openai`] |
//! | `POST /{v1beta,v1}/models/{m}:generateContent`, `:streamGenerateContent[?alt=sse]` | gemini | `x-goog-api-key: <key>` or `?key=<key>` | [`gemini`] |
//! | `POST /{v1beta,v1}/models/{m}:embedContent`, `:batchEmbedContents` | gemini | as Gemini | [`embeddings`] |
//! | `POST /token` (`application/x-www-form-urlencoded`, `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<JWT>`) | google-oauth | the assertion, RS256 by the e2e service account | an access token ([`oauth`]) |
//! | `POST /{v1,v1beta1}/projects/{p}/locations/{r}/publishers/google/models/{m}:generateContent`, `:streamGenerateContent[?alt=sse]` | vertex | `Authorization: Bearer <token from /token>` | as Gemini ([`vertex`]) |
//! | `POST /{v1,v1beta1}/projects/{p}/locations/{r}/publishers/google/models/{m}:predict` | vertex | Bearer token | embeddings ([`embeddings::vertex_predict`]) |
//! | `POST /{v1,v1beta1}/projects/{p}/locations/{r}/publishers/anthropic/models/{m}:rawPredict`, `:streamRawPredict` | vertex | Bearer token | as Anthropic, body without `model`, with `anthropic_version: "vertex-2023-10-16"` ([`vertex`]) |
//! | `POST /{v1beta1,v1}/projects/{p}/locations/{r}/endpoints/openapi/chat/completions` | vertex | Bearer token | as OpenAI, `model` `<publisher>/<model>` ([`vertex`]) |
//! | `POST /{v1,v1beta1}/publishers/{google,anthropic}/models/{m}:...` (express mode) | vertex | `x-goog-api-key: <key>` or `?key=<key>` | as the OAuth paths |
//! | `POST /model/{modelId}/converse`, `/converse-stream` (the id percent-encoded: `...-v1%3A0`) | bedrock | `Authorization: Bearer <key>`, or AWS SigV4 by the e2e credentials ([`sigv4`]) | [`bedrock`]; streams in `application/vnd.amazon.eventstream` frames ([`eventstream`]) |
//! | `POST /api/v1/services/aigc/text-generation/generation`, `/api/v1/services/aigc/multimodal-generation/generation` | dashscope | Bearer | [`dashscope`]; streams with `X-DashScope-SSE: enable` |
//! | `GET /__mock/requests[?tag=<t>][&key=<k>][&protocol=<p>]` | - | none | the journal ([`record`]): a JSON array, oldest first |
//! | `POST` / `GET` / `DELETE /__mock/faults` | - | none | faults armed for the next requests ([`faults`]) |
//!
//! Any key is accepted; a missing one is refused as the provider does (OpenAI, its responses
//! too: 401 `invalid_api_key`; Anthropic: 401 `authentication_error`, and 400 without
//! `anthropic-version`; Azure: 401, its front end's shape; Gemini: 403 `PERMISSION_DENIED`;
//! Vertex express mode: 401 `UNAUTHENTICATED`; Bedrock: 403 `MissingAuthenticationTokenException`;
//! DashScope: 401 `InvalidApiKey`). Bedrock's signed requests are verified: a bad or expired
//! signature, an unknown access key or temporary credentials without their session token are
//! refused as AWS refuses them ([`sigv4`]). Vertex's OAuth paths take only a token the
//! mock's `/token` issued and that has not expired (3599 s): else 401 `UNAUTHENTICATED`, Google's
//! words for no credential, an API key, or a bad token ([`vertex`]). Other paths: 404 in the
//! shape of the protocol the path belongs to (`/v1beta1/...` and `/v1/{projects,publishers}/...`
//! are Vertex's, `/model/...` Bedrock's, `/api/v1/services/...` DashScope's); another method:
//! 405. Bodies over 32 MiB: 413.
//!
//! # Answers
//!
//! The same "model" for every protocol ([`model`]; Vertex AI's Gemini, Claude and OpenAI
//! endpoints answer with the Gemini, Anthropic and OpenAI code): `Mock reply to: <last user
//! message>`, tokens are whitespace-separated words; reasoning (OpenAI `reasoning_effort`, the
//! Responses API's `reasoning.effort`, Anthropic `thinking`, Bedrock's
//! `additionalModelRequestFields.thinking`, DashScope's `enable_thinking`) adds `Mock reasoning about: ...` first; `call <tool>` in the last user
//! message of a request with tools calls that tool with `{"q": "<the rest>"}`; stop sequences
//! and `max_tokens` cut the text.
//!
//! # Headers
//!
//! Every protocol answer carries `x-llm-mock-api-key` (the key it got, when it got one; a Vertex
//! OAuth call's is its bearer token, a token request's the assertion's `iss`),
//! `x-llm-mock-protocol` (`openai`, `responses`, `anthropic`, `azure`, `gemini`, `vertex`,
//! `google-oauth`, `bedrock`, `dashscope`), `x-mock-tag` (the request's, echoed), and a request
//! id `req_mock_<n>` (`x-request-id`; Anthropic: `request-id`; Bedrock: `x-amzn-requestid`); 429,
//! 503 and 529 answers carry `retry-after: 1`; Bedrock's errors `x-amzn-errortype`. Request
//! headers script failures and cache hits: see [`script`].
//!
//! # Journal
//!
//! The last 200 requests (but those to `/__mock/`) are kept with their method, path and query,
//! headers, body (JSON or text), protocol, key, tag and answer status ([`record`]). A test tags
//! its requests with `x-mock-tag: <unique>` and asks `GET /__mock/requests?tag=<unique>`, so
//! concurrent tests never see each other's requests. The token exchanges a gateway makes carry
//! no tag: `GET /__mock/requests?protocol=google-oauth` lists them (their key is the service
//! account, `gateway@e2e-project.iam.gserviceaccount.com`), so a test can count them; a
//! fault armed for that key fails them. A Bedrock request signed with SigV4 is recorded with
//! its access key id as the key, and `sigv4_canonical`: the canonical request the mock computed
//! (to show beside a refused signature).
//!
//! # Embeddings
//!
//! Vectors are [`embeddings::embedding`] of the text: deterministic, 8 values unless the request
//! asks for a size, each exact in `f32` and JSON ([`embeddings`]).

pub mod anthropic;
pub mod azure;
pub mod bedrock;
pub mod dashscope;
pub mod embeddings;
pub mod eventstream;
pub mod faults;
pub mod gemini;
pub mod model;
pub mod oauth;
pub mod openai;
pub mod record;
pub mod responses;
pub mod script;
pub mod sigv4;
pub mod vertex;

use crate::body::OutBody;
use crate::server::json;
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header::HeaderValue;
use hyper::{HeaderMap, Method, Request, Response};
use serde_json::Value;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use model::tokens;

/// Models `GET /v1/models` lists (any model name is accepted).
pub const MODELS: &[&str] = &["mock-gpt-4o", "mock-gpt-4o-mini"];

/// Largest request body read.
pub const MAX_REQUEST_BODY: usize = 32 << 20;

/// The mock's settings, counters and journal.
#[derive(Clone, Default)]
pub struct LlmMock {
    /// Pause between streamed chunks unless the request says otherwise.
    pub chunk_delay: Duration,
    served: Arc<AtomicU64>,
    journal: record::Journal,
    faults: faults::Faults,
    tokens: oauth::Tokens,
}

/// The API a request speaks (from its path).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    OpenAi,
    /// OpenAI's Responses API.
    Responses,
    Anthropic,
    Azure,
    Gemini,
    Vertex,
    /// Google's OAuth token endpoint.
    GoogleOAuth,
    /// Amazon Bedrock's Converse API.
    Bedrock,
    /// DashScope's native generation API.
    DashScope,
}

impl Protocol {
    /// `openai`, `responses`, `anthropic`, `azure`, `gemini`, `vertex`, `google-oauth`, `bedrock`,
    /// `dashscope`.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::OpenAi => "openai",
            Protocol::Responses => "responses",
            Protocol::Anthropic => "anthropic",
            Protocol::Azure => "azure",
            Protocol::Gemini => "gemini",
            Protocol::Vertex => "vertex",
            Protocol::GoogleOAuth => "google-oauth",
            Protocol::Bedrock => "bedrock",
            Protocol::DashScope => "dashscope",
        }
    }
}

/// What a path is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Route {
    Journal,
    Faults,
    OpenAiChat,
    OpenAiResponses,
    OpenAiModels,
    OpenAiEmbeddings,
    Anthropic,
    Azure(azure::Chat),
    Gemini(gemini::Call),
    Vertex(vertex::Call),
    Bedrock(bedrock::Call),
    DashScope(dashscope::Kind),
    Token,
    Unknown(Protocol),
}

impl Route {
    fn of(path: &str) -> Route {
        if path == "/__mock/requests" {
            Route::Journal
        } else if path == "/__mock/faults" {
            Route::Faults
        } else if path == "/token" {
            Route::Token
        } else if bedrock::is_bedrock(path) {
            bedrock::route(path).map_or(Route::Unknown(Protocol::Bedrock), Route::Bedrock)
        } else if dashscope::is_dashscope(path) {
            dashscope::route(path).map_or(Route::Unknown(Protocol::DashScope), Route::DashScope)
        } else if let Some(call) = gemini::route(path) {
            Route::Gemini(call)
        } else if let Some(call) = vertex::route(path) {
            Route::Vertex(call)
        } else if vertex::is_vertex(path) {
            Route::Unknown(Protocol::Vertex)
        } else if path.starts_with("/v1beta/") {
            Route::Unknown(Protocol::Gemini)
        } else if path.starts_with("/openai/") {
            azure::route(path).map_or(Route::Unknown(Protocol::Azure), Route::Azure)
        } else if path.ends_with("/v1/messages") {
            Route::Anthropic
        } else if path.ends_with("/chat/completions") {
            Route::OpenAiChat
        } else if path.ends_with("/responses") {
            Route::OpenAiResponses
        } else if path.ends_with("/embeddings") {
            Route::OpenAiEmbeddings
        } else if path.ends_with("/models") {
            Route::OpenAiModels
        } else if path.contains("/anthropic/") {
            Route::Unknown(Protocol::Anthropic)
        } else {
            Route::Unknown(Protocol::OpenAi)
        }
    }

    fn protocol(&self) -> Protocol {
        match self {
            Route::Anthropic => Protocol::Anthropic,
            Route::Azure(_) => Protocol::Azure,
            Route::Gemini(_) => Protocol::Gemini,
            Route::Vertex(_) => Protocol::Vertex,
            Route::Bedrock(_) => Protocol::Bedrock,
            Route::DashScope(_) => Protocol::DashScope,
            Route::Token => Protocol::GoogleOAuth,
            Route::OpenAiResponses => Protocol::Responses,
            Route::Unknown(protocol) => *protocol,
            Route::Journal | Route::Faults | Route::OpenAiChat | Route::OpenAiModels | Route::OpenAiEmbeddings => {
                Protocol::OpenAi
            }
        }
    }

    /// Whether the answer is a stream whatever the body says.
    fn streams(&self) -> bool {
        match self {
            Route::Gemini(call) => call.stream(),
            Route::Vertex(call) => call.streams(),
            Route::Bedrock(call) => call.stream,
            _ => false,
        }
    }
}

/// A protocol module's answer, before the script shapes its delivery.
pub enum Reply {
    /// A whole JSON answer.
    Json(u16, Value),
    /// Server-sent events, and the protocol's mid-stream error event.
    Stream(Vec<script::Event>, String),
}

/// Seconds since the epoch (`created`).
pub fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default()
}

/// What the mock answers to `messages`: `Mock reply to: <last user message>`.
pub fn reply_to(messages: &[Value]) -> String {
    format!("Mock reply to: {}", model::subject(messages))
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty())
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    header(headers, "authorization")?.strip_prefix("Bearer ").map(str::trim).filter(|k| !k.is_empty())
}

/// A Google API key: `x-goog-api-key` or the `key` query parameter.
fn google_key(headers: &HeaderMap, query: &str) -> Option<String> {
    header(headers, "x-goog-api-key")
        .map(str::to_string)
        .or_else(|| record::query_param(query, "key").filter(|k| !k.is_empty()))
}

/// The API key of the route's header (Gemini's may be the `key` query parameter; a Vertex
/// OAuth call's is its bearer token; a token request's, its assertion's `iss`).
fn key_of(route: &Route, headers: &HeaderMap, query: &str, body: &[u8]) -> Option<String> {
    let key = match (route, route.protocol()) {
        (Route::Token, _) => return oauth::issuer(header(headers, "content-type"), body),
        (Route::Vertex(call), _) if call.auth == vertex::Auth::OAuth => bearer(headers),
        (Route::Vertex(_), _) | (_, Protocol::Gemini) => return google_key(headers, query),
        (_, Protocol::Vertex) => return bearer(headers).map(str::to_string).or_else(|| google_key(headers, query)),
        (_, Protocol::OpenAi | Protocol::Responses) => bearer(headers),
        (_, Protocol::Anthropic) => header(headers, "x-api-key").or_else(|| {
            header(headers, "anthropic-beta").filter(|b| b.contains("oauth-")).and_then(|_| bearer(headers))
        }),
        (_, Protocol::Azure) => header(headers, "api-key"),
        (_, Protocol::Bedrock) => return bedrock::key(headers),
        (_, Protocol::DashScope) => bearer(headers),
        (_, Protocol::GoogleOAuth) => None,
    };
    key.map(str::to_string)
}

/// The error body `route` answers `status` with.
fn status_error(route: &Route, status: u16, n: u64) -> Value {
    match (route, route.protocol()) {
        // Claude on Vertex: Google's errors, but the model's own overload.
        (Route::Vertex(vertex::Call { target: vertex::Target::Anthropic { .. }, .. }), _) if status == 529 => {
            anthropic::status_error(status, &format!("req_mock_{n}"))
        }
        (_, Protocol::OpenAi | Protocol::Responses) => openai::status_error(status),
        (_, Protocol::Anthropic) => anthropic::status_error(status, &format!("req_mock_{n}")),
        (_, Protocol::Azure) => azure::status_error(status),
        (_, Protocol::Gemini | Protocol::Vertex) => gemini::status_error(status),
        (_, Protocol::GoogleOAuth) => oauth::status_error(status),
        (_, Protocol::Bedrock) => bedrock::error(&bedrock::status_error(status).1),
        (_, Protocol::DashScope) => dashscope::status_error(status, &format!("req_mock_{n}")),
    }
}

/// Whether a request body asks for a stream.
fn wants_stream(body: &[u8]) -> bool {
    serde_json::from_slice::<Value>(body).is_ok_and(|v| v["stream"].as_bool() == Some(true))
}

impl LlmMock {
    /// A mock whose streams pause `chunk_delay` between chunks.
    pub fn new(chunk_delay: Duration) -> LlmMock {
        LlmMock { chunk_delay, ..LlmMock::default() }
    }

    /// Answers one request.
    pub async fn handle(self, req: Request<Incoming>) -> Response<OutBody> {
        let (parts, body) = req.into_parts();
        let route = Route::of(parts.uri.path());
        let protocol = route.protocol();
        let tag = header(&parts.headers, "x-mock-tag").map(str::to_string);
        let (body, too_large) = match http_body_util::Limited::new(body, MAX_REQUEST_BODY).collect().await {
            Ok(collected) => (collected.to_bytes(), false),
            Err(_) => (Bytes::new(), true),
        };
        let key = key_of(&route, &parts.headers, parts.uri.query().unwrap_or_default(), &body);
        if route == Route::Journal {
            let query = parts.uri.query().unwrap_or_default();
            let [tag, key, protocol] = ["tag", "key", "protocol"].map(|name| record::query_param(query, name));
            let filter = record::Filter { tag: tag.as_deref(), key: key.as_deref(), protocol: protocol.as_deref() };
            return json(200, &Value::Array(self.journal.find_by(&filter)));
        }
        if route == Route::Faults {
            return match parts.method {
                Method::POST => match serde_json::from_slice::<Value>(&body)
                    .map_err(|e| e.to_string())
                    .and_then(|v| faults::Fault::parse(&v))
                {
                    Ok(fault) => {
                        self.faults.arm(fault);
                        json(200, &self.faults.list())
                    }
                    Err(error) => json(400, &serde_json::json!({"error": error})),
                },
                Method::DELETE => {
                    self.faults.clear();
                    json(200, &self.faults.list())
                }
                _ => json(200, &self.faults.list()),
            };
        }
        let received = record::Received {
            parts: &parts,
            body: &body,
            protocol: protocol.as_str(),
            key: key.as_deref(),
            tag: tag.as_deref(),
        };
        let seq = self.journal.record(&received);
        let n = self.served.fetch_add(1, Ordering::Relaxed) + 1;
        // Bedrock's credentials (the canonical request a signature was checked against goes to
        // the journal; a body too large to read is refused for its size).
        let authentication =
            (matches!(route, Route::Bedrock(_)) && !too_large).then(|| bedrock::authenticate(&parts, &body, now()));
        if let Some(canonical) = authentication.as_ref().and_then(|a| a.canonical_request.clone()) {
            self.journal.note(seq, "sigv4_canonical", Value::String(canonical));
        }
        let mut script = script::Script::new(&parts.headers, key.as_deref(), self.chunk_delay);
        if let Some(fault) = self.faults.take(key.as_deref()) {
            script.status = fault.status.or(script.status);
            script.delay = fault.stall.or(script.delay);
            script.close_mid_stream |= fault.close_mid_stream;
        }
        if let Some(delay) = script.delay {
            tokio::time::sleep(delay).await;
        }
        let mut response =
            self.answer(&parts, &route, key.as_deref(), &body, too_large, &script, n, authentication.as_ref());
        let headers = response.headers_mut();
        if let Some(value) = key.and_then(|k| HeaderValue::from_str(&k).ok()) {
            headers.insert("x-llm-mock-api-key", value);
        }
        headers.insert("x-llm-mock-protocol", HeaderValue::from_static(protocol.as_str()));
        if let Some(value) = tag.and_then(|t| HeaderValue::from_str(&t).ok()) {
            headers.insert("x-mock-tag", value);
        }
        let id_header = match protocol {
            Protocol::Anthropic => "request-id",
            Protocol::Bedrock => "x-amzn-requestid",
            _ => "x-request-id",
        };
        if let Ok(value) = HeaderValue::from_str(&format!("req_mock_{n}")) {
            headers.insert(id_header, value);
        }
        let status = response.status().as_u16();
        if protocol == Protocol::Bedrock && status >= 400 && !response.headers().contains_key("x-amzn-errortype") {
            let kind = bedrock::status_error(status).0;
            if let Ok(value) = HeaderValue::from_str(&bedrock::error_type(kind)) {
                response.headers_mut().insert("x-amzn-errortype", value);
            }
        }
        if matches!(status, 429 | 503 | 529) {
            response.headers_mut().insert("retry-after", HeaderValue::from_static("1"));
        }
        self.journal.answered(seq, status);
        response
    }

    #[allow(clippy::too_many_arguments)]
    fn answer(
        &self,
        parts: &hyper::http::request::Parts,
        route: &Route,
        key: Option<&str>,
        body: &[u8],
        too_large: bool,
        script: &script::Script,
        n: u64,
        authentication: Option<&bedrock::Authentication>,
    ) -> Response<OutBody> {
        let protocol = route.protocol();
        let path = parts.uri.path();
        let query = parts.uri.query().unwrap_or_default();
        let method_ok = match route {
            Route::OpenAiModels => parts.method == Method::GET,
            _ => parts.method == Method::POST,
        };
        // Which path and method: the provider's 404 and 405.
        match (protocol, route, method_ok) {
            (Protocol::Azure, Route::Unknown(_), _) => return json(404, &azure::not_found()),
            (Protocol::Gemini, Route::Unknown(_), _) => return json(404, &gemini::not_found(path)),
            (Protocol::Vertex, Route::Unknown(_), _) => return json(404, &vertex::not_found(path)),
            (Protocol::Bedrock, Route::Unknown(_), _) => return bedrock::not_found(parts.method.as_str(), path),
            (Protocol::DashScope, Route::Unknown(_), _) => {
                return json(404, &dashscope::not_found(&format!("req_mock_{n}")))
            }
            (Protocol::Anthropic, Route::Unknown(_), _) => {
                let id = format!("req_mock_{n}");
                return json(404, &anthropic::error("not_found_error", &format!("Not found: {path}"), &id));
            }
            (_, Route::Unknown(_), _) => {
                let message = format!("Unknown request URL: {} {path}.", parts.method);
                return json(404, &openai::error(&message, "invalid_request_error", Some("unknown_url"), None));
            }
            (Protocol::Azure, _, false) => return json(405, &azure::error("405", "Method not allowed.")),
            (Protocol::Gemini | Protocol::Vertex, _, false) => {
                return json(405, &gemini::error(405, "INVALID_ARGUMENT", "Method not allowed."))
            }
            (Protocol::Bedrock, _, false) => {
                return bedrock::error_response(405, "UnknownOperationException", "Method not allowed.")
            }
            (Protocol::DashScope, _, false) => {
                return json(405, &dashscope::error("InvalidURL", "Method not allowed.", &format!("req_mock_{n}")))
            }
            (Protocol::GoogleOAuth, _, false) => {
                return json(405, &oauth::error("invalid_request", "Invalid HTTP method."))
            }
            (Protocol::Anthropic, _, false) => {
                let id = format!("req_mock_{n}");
                return json(405, &anthropic::error("invalid_request_error", "Method not allowed.", &id));
            }
            (_, _, false) => {
                let error =
                    openai::error("Method not allowed.", "invalid_request_error", Some("method_not_allowed"), None);
                return json(405, &error);
            }
            _ => {}
        }
        if let Route::Azure(chat) = route {
            if let Err((status, error)) = azure::check_version(chat, query) {
                return json(status, &error);
            }
        }
        // Who: the provider's 401 (and Anthropic's version header; Bedrock's verdict).
        if let Some(Err(refusal)) = authentication.map(|a| &a.result) {
            return bedrock::error_response(refusal.status, refusal.kind, &refusal.message);
        }
        if let Route::Vertex(call) = route {
            let api_key = google_key(&parts.headers, query);
            if let Err(error) = vertex::check_auth(call.auth, bearer(&parts.headers), api_key.as_deref(), &self.tokens)
            {
                return json(401, &error);
            }
        } else if key.is_none() && *route != Route::Token && authentication.is_none() {
            let error = match protocol {
                Protocol::Anthropic => {
                    anthropic::error("authentication_error", "x-api-key header is required", &format!("req_mock_{n}"))
                }
                Protocol::Azure => azure::unauthorized(),
                Protocol::Gemini => return json(403, &gemini::no_key()),
                Protocol::Vertex | Protocol::GoogleOAuth => vertex::unauthenticated(vertex::MISSING, "CREDENTIALS_MISSING"),
                Protocol::Bedrock => {
                    return bedrock::error_response(403, "MissingAuthenticationTokenException", bedrock::MISSING_TOKEN)
                }
                Protocol::DashScope => dashscope::unauthorized(&format!("req_mock_{n}")),
                Protocol::OpenAi | Protocol::Responses => openai::error(
                    "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                    "invalid_request_error",
                    Some("invalid_api_key"),
                    None,
                ),
            };
            return json(401, &error);
        }
        if protocol == Protocol::Anthropic && header(&parts.headers, "anthropic-version").is_none() {
            let id = format!("req_mock_{n}");
            return json(400, &anthropic::error("invalid_request_error", "anthropic-version: header is required", &id));
        }
        if too_large {
            return json(413, &status_error(route, 413, n));
        }
        // What the test scripted.
        if let Some(status) = script.status {
            return json(status, &status_error(route, status, n));
        }
        let dashscope_stream = dashscope::wants_stream(&parts.headers);
        if script.garbage {
            return match route {
                Route::Bedrock(call) if call.stream => bedrock::garbage_stream(),
                Route::DashScope(_) => script::garbage(dashscope_stream),
                _ => script::garbage(wants_stream(body) || route.streams()),
            };
        }
        let sse = record::query_param(query, "alt").as_deref() == Some("sse");
        let reply = match route {
            Route::OpenAiModels => Reply::Json(200, openai::models()),
            Route::OpenAiChat => openai::chat(body, &openai::Flavor::OpenAi, n, script),
            Route::OpenAiResponses => responses::respond(body, n, script),
            Route::OpenAiEmbeddings => embeddings::openai(body),
            Route::Azure(chat) => {
                openai::chat(body, &openai::Flavor::Azure { deployment: chat.deployment.clone() }, n, script)
            }
            Route::Gemini(call) => match call.method {
                gemini::Method::EmbedContent => embeddings::gemini_embed(&call.model, body),
                gemini::Method::BatchEmbedContents => embeddings::gemini_batch(&call.model, body),
                _ => gemini::generate(call, sse, body, n, script),
            },
            Route::Vertex(call) => match &call.target {
                vertex::Target::Gemini(call) => gemini::generate(call, sse, body, n, script),
                vertex::Target::Predict(model) => embeddings::vertex_predict(model, body),
                vertex::Target::Anthropic { model, .. } => vertex::raw_predict(model, body, n, script),
                vertex::Target::OpenAi => vertex::openapi_chat(body, n, script),
            },
            Route::Bedrock(call) => match bedrock::converse(call, body, script) {
                bedrock::Converse::Reply(reply) => reply,
                bedrock::Converse::Stream(frames) => return bedrock::stream(frames, script),
            },
            Route::DashScope(kind) => dashscope::generate(*kind, dashscope_stream, body, n, script),
            Route::Token => {
                let (status, value) =
                    oauth::exchange(header(&parts.headers, "content-type"), body, &self.tokens, now());
                Reply::Json(status, value)
            }
            _ => anthropic::messages(body, n, script),
        };
        match reply {
            Reply::Json(200, value) if script.close_mid_stream => script::cut_json(200, &value),
            Reply::Json(status, value) => json(status, &value),
            Reply::Stream(events, error) => script::stream(events, error, script),
        }
    }

    /// The journal (for tests that run the mock in-process).
    pub fn journal(&self) -> &record::Journal {
        &self.journal
    }

    /// The access tokens the OAuth endpoint issued (for tests that run the mock in-process).
    pub fn tokens(&self) -> &oauth::Tokens {
        &self.tokens
    }
}

/// Starts a mock on a free loopback port in the background (tests); returns its address.
pub fn spawn(chunk_delay: Duration) -> std::net::SocketAddr {
    let mock = LlmMock::new(chunk_delay);
    crate::server::spawn_background(move |req| mock.clone().handle(req))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::Gateway;
    use serde_json::json;

    #[test]
    fn routes() {
        assert_eq!(Route::of("/v1/chat/completions"), Route::OpenAiChat);
        assert_eq!(Route::of("/api/paas/v4/chat/completions"), Route::OpenAiChat);
        assert_eq!(Route::of("/apps/anthropic/v1/messages"), Route::Anthropic);
        assert_eq!(Route::of("/anthropic/v1/messages"), Route::Anthropic);
        assert_eq!(Route::of("/anthropic/v1/other"), Route::Unknown(Protocol::Anthropic));
        assert_eq!(Route::of("/openai/v1/chat/completions").protocol(), Protocol::Azure);
        assert_eq!(Route::of("/openai/files"), Route::Unknown(Protocol::Azure));
        assert_eq!(Route::of("/v2/nothing"), Route::Unknown(Protocol::OpenAi));
        assert_eq!(Route::of("/token"), Route::Token);
        assert_eq!(Route::of("/v1/embeddings"), Route::OpenAiEmbeddings);
        assert_eq!(Route::of("/compatible-mode/v1/embeddings"), Route::OpenAiEmbeddings);
        assert_eq!(Route::of("/v1beta/models/e:batchEmbedContents").protocol(), Protocol::Gemini);
        let vertex = "/v1beta1/projects/p/locations/us-central1/endpoints/openapi/chat/completions";
        assert_eq!(Route::of(vertex).protocol(), Protocol::Vertex, "not OpenAI's chat completions");
        assert_eq!(Route::of("/v1/publishers/google/models/g:generateContent").protocol(), Protocol::Vertex);
        assert_eq!(Route::of("/v1/projects/p/locations/r/models"), Route::Unknown(Protocol::Vertex));
        assert_eq!(Route::of("/model/a.b-v1%3A0/converse-stream").protocol(), Protocol::Bedrock);
        assert!(Route::of("/model/a.b-v1%3A0/converse-stream").streams());
        assert_eq!(Route::of("/model/m/invoke"), Route::Unknown(Protocol::Bedrock));
        assert_eq!(
            Route::of("/api/v1/services/aigc/text-generation/generation"),
            Route::DashScope(dashscope::Kind::Text)
        );
        assert_eq!(Route::of("/api/v1/services/aigc/other"), Route::Unknown(Protocol::DashScope));
        assert_eq!(Route::of("/api/v1/chat/completions"), Route::OpenAiChat, "OpenRouter's path stays OpenAI's");
        assert_eq!(
            reply_to(&[
                json!({"role": "user", "content": [{"type": "text", "text": "second"}, {"type": "text", "text": "part"}]})
            ]),
            "Mock reply to: second part"
        );
    }

    #[test]
    fn answers_like_the_openai_api() {
        let mock = Gateway::new(&spawn(Duration::ZERO).to_string());
        let body = json!({"model": "m", "messages": [{"role": "user", "content": "hi there"}]}).to_string();
        let reply = mock.post("llm", "/v1/chat/completions", body.clone()).header("authorization", "Bearer k1").send();
        assert_eq!(reply.status, 200);
        let value = reply.json();
        assert_eq!(value["choices"][0]["message"]["content"], "Mock reply to: hi there");
        assert_eq!(value["usage"]["total_tokens"], 7);
        assert_eq!(value["usage"]["prompt_tokens_details"]["cached_tokens"], 0);
        assert_eq!(reply.header("x-llm-mock-api-key"), Some("k1"));
        assert_eq!(reply.header("x-llm-mock-protocol"), Some("openai"));

        let unauthorized = mock.post("llm", "/v1/chat/completions", body).send();
        assert_eq!(unauthorized.status, 401);
        assert_eq!(unauthorized.json()["error"]["code"], "invalid_api_key");
        let no_model =
            mock.post("llm", "/v1/chat/completions", r#"{"messages": []}"#).header("authorization", "Bearer k").send();
        assert_eq!((no_model.status, no_model.json()["error"]["code"].clone()), (400, json!("missing_model")));
        let bad_json = mock.post("llm", "/v1/chat/completions", "{").header("authorization", "Bearer k").send();
        assert_eq!(bad_json.status, 400);
        let models = mock.get("llm", "/v1/models").header("authorization", "Bearer k").send();
        assert_eq!(models.json()["data"].as_array().map(Vec::len), Some(MODELS.len()));
        assert_eq!(mock.get("llm", "/v2/nothing").header("authorization", "Bearer k").send().status, 404);
    }

    #[test]
    fn streams_chunks_then_usage_then_done() {
        let mock = Gateway::new(&spawn(Duration::ZERO).to_string());
        let body = json!({"model": "m", "stream": true, "stream_options": {"include_usage": true}, "messages": [{"role": "user", "content": "one two"}]});
        let reply =
            mock.post("llm", "/v1/chat/completions", body.to_string()).header("authorization", "Bearer k").send();
        assert_eq!(reply.header("content-type"), Some("text/event-stream"));
        let text = reply.text();
        let events: Vec<&str> = text.split("\n\n").filter(|e| !e.is_empty()).collect();
        // role chunk, 5 words, finish chunk, usage chunk, [DONE]
        assert_eq!(events.len(), 9, "{text}");
        assert_eq!(events.last(), Some(&"data: [DONE]"));
        let usage: Value = serde_json::from_str(events[7].trim_start_matches("data: ")).unwrap_or_default();
        assert_eq!(usage["usage"]["total_tokens"], 7);
        assert_eq!(usage["choices"], json!([]));
    }

    #[test]
    fn armed_faults_fail_the_next_requests() {
        let mock = Gateway::new(&spawn(Duration::ZERO).to_string());
        let armed = mock.post("llm", "/__mock/faults", r#"{"count": 2, "status": 503, "key": "k1"}"#).send();
        assert_eq!(
            armed.json(),
            json!([{"count": 2, "key": "k1", "status": 503, "stall_ms": null, "close_mid_stream": false}])
        );
        let body = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]}).to_string();
        let send = |key: &str| {
            mock.post("llm", "/v1/chat/completions", body.clone())
                .header("authorization", &format!("Bearer {key}"))
                .send()
        };
        assert_eq!(send("k2").status, 200, "another key is not affected");
        assert_eq!(send("k1").status, 503);
        let second = send("k1");
        assert_eq!((second.status, second.header("retry-after")), (503, Some("1")));
        assert_eq!(send("k1").status, 200, "used up");
        assert_eq!(mock.post("llm", "/__mock/faults", r#"{"count": 1}"#).send().status, 400);
        mock.post("llm", "/__mock/faults", r#"{"count": 5, "status": 429}"#).send();
        assert_eq!(mock.request("DELETE", "llm", "/__mock/faults").send().json(), json!([]));
        assert_eq!(send("k1").status, 200, "disarmed");
    }

    #[test]
    fn answers_like_the_gemini_api() {
        let mock = Gateway::new(&spawn(Duration::ZERO).to_string());
        let body = json!({
            "contents": [{"role": "user", "parts": [{"text": "hi there"}]}],
            "generationConfig": {"thinkingConfig": {"includeThoughts": true}}
        })
        .to_string();
        let path = "/v1beta/models/gemini-2.5-flash:generateContent";
        let reply = mock.post("llm", path, body.clone()).header("x-goog-api-key", "g1").send();
        assert_eq!(reply.status, 200, "{}", reply.text());
        let value = reply.json();
        let parts = &value["candidates"][0]["content"]["parts"];
        assert_eq!(parts[0], json!({"text": "Mock reasoning about: hi there", "thought": true}));
        assert_eq!(parts[1], json!({"text": "Mock reply to: hi there"}));
        assert_eq!(value["candidates"][0]["finishReason"], "STOP");
        assert_eq!(value["usageMetadata"]["candidatesTokenCount"], 5);
        assert_eq!(value["usageMetadata"]["thoughtsTokenCount"], 5);
        assert_eq!(value["usageMetadata"]["totalTokenCount"], 12);
        assert_eq!(value["modelVersion"], "gemini-2.5-flash");
        assert_eq!(reply.header("x-llm-mock-protocol"), Some("gemini"));
        // The key may be a query parameter; none is a 403.
        let by_query = mock.post("llm", &format!("{path}?key=g2"), body.clone()).send();
        assert_eq!((by_query.status, by_query.header("x-llm-mock-api-key")), (200, Some("g2")));
        let anonymous = mock.post("llm", path, body.clone()).send();
        assert_eq!((anonymous.status, anonymous.json()["error"]["status"].clone()), (403, json!("PERMISSION_DENIED")));
        let openai = json!({"model": "g", "messages": []}).to_string();
        let refused = mock.post("llm", path, openai).header("x-goog-api-key", "g").send();
        assert_eq!(refused.status, 400);
        assert!(refused.text().contains("Unknown name"), "{}", refused.text());
        // Streams: SSE with alt=sse, chunks framed with CRLF; one JSON array without.
        let stream = "/v1beta/models/gemini-2.5-flash:streamGenerateContent";
        let sse = mock.post("llm", &format!("{stream}?alt=sse"), body.clone()).header("x-goog-api-key", "g").send();
        assert_eq!(sse.header("content-type"), Some("text/event-stream"));
        let text = sse.text();
        let chunks: Vec<Value> = text
            .split("\r\n\r\n")
            .filter(|e| !e.is_empty())
            .map(|e| serde_json::from_str(e.trim_start_matches("data: ")).unwrap())
            .collect();
        assert_eq!(chunks.len(), 11, "5 thought words, 5 text words, the finish: {text}");
        assert_eq!(chunks[10]["candidates"][0]["finishReason"], "STOP");
        assert_eq!(chunks[10]["usageMetadata"]["totalTokenCount"], 12);
        let array = mock.post("llm", stream, body).header("x-goog-api-key", "g").send().json();
        assert_eq!(array.as_array().map(Vec::len), Some(11));
        let other = mock.post("llm", "/v1beta/models/g:countTokens", "{}").header("x-goog-api-key", "g").send();
        assert_eq!(other.status, 404);
    }

    /// A token from the mock's OAuth endpoint, as ai-proxy gets it.
    fn token(mock: &Gateway) -> String {
        let account = oauth::Account::e2e().unwrap();
        let reply = mock
            .post("llm", "/token", account.token_request(now()))
            .header("content-type", "application/x-www-form-urlencoded")
            .send();
        assert_eq!(reply.status, 200, "{}", reply.text());
        reply.json()["access_token"].as_str().unwrap().to_string()
    }

    #[test]
    fn issues_tokens_and_records_the_exchanges() {
        let mock = LlmMock::new(Duration::ZERO);
        let (journal, tokens) = (mock.journal().clone(), mock.tokens().clone());
        let address = crate::server::spawn_background(move |req| mock.clone().handle(req));
        let client = Gateway::new(&address.to_string());
        let first = token(&client);
        assert_eq!(first, "ya29.mock-1");
        assert_eq!(tokens.state(&first), oauth::TokenState::Valid);
        let listed = client.get("llm", "/__mock/requests?protocol=google-oauth").send().json();
        assert_eq!(listed.as_array().map(Vec::len), Some(1));
        assert_eq!(listed[0]["key"], "gateway@e2e-project.iam.gserviceaccount.com");
        assert_eq!(listed[0]["status"], 200);
        // Google's refusals.
        let expired = oauth::Account::e2e().unwrap().token_request(now() - 7200);
        let form = |body: String| {
            client.post("llm", "/token", body).header("content-type", "application/x-www-form-urlencoded").send()
        };
        let refused = form(expired);
        assert_eq!((refused.status, refused.json()["error"].clone()), (400, json!("invalid_grant")));
        assert_eq!(refused.header("x-llm-mock-protocol"), Some("google-oauth"));
        let wrong_grant = form("grant_type=password&assertion=x".into());
        assert_eq!(wrong_grant.json()["error"], "unsupported_grant_type");
        assert_eq!(client.get("llm", "/token").send().status, 405);
        // A fault armed for the account fails its next exchange, in the endpoint's shape.
        let fault = json!({"count": 1, "status": 503, "key": "gateway@e2e-project.iam.gserviceaccount.com"});
        client.post("llm", "/__mock/faults", fault.to_string()).send();
        let failed = form(oauth::Account::e2e().unwrap().token_request(now()));
        assert_eq!((failed.status, failed.json()["error"].clone()), (503, json!("internal_failure")));
        assert_eq!(token(&client), "ya29.mock-2");
        let exchanges = journal.find_by(&record::Filter { protocol: Some("google-oauth"), ..Default::default() });
        assert_eq!(exchanges.len(), 6);
    }

    #[test]
    fn answers_like_vertex_ai() {
        let mock = Gateway::new(&spawn(Duration::ZERO).to_string());
        let bearer = format!("Bearer {}", token(&mock));
        let base = "/v1/projects/e2e-project/locations/us-central1/publishers";
        let gemini = json!({"contents": [{"role": "user", "parts": [{"text": "hi there"}]}]}).to_string();
        let path = format!("{base}/google/models/gemini-2.5-flash:generateContent");
        let reply = mock.post("llm", &path, gemini.clone()).header("authorization", &bearer).send();
        assert_eq!(reply.status, 200, "{}", reply.text());
        assert_eq!(reply.json()["candidates"][0]["content"]["parts"][0]["text"], "Mock reply to: hi there");
        assert_eq!(reply.header("x-llm-mock-protocol"), Some("vertex"));
        assert_eq!(reply.header("x-llm-mock-api-key"), bearer.strip_prefix("Bearer "));
        // Credentials: none, a key, a token the endpoint never issued.
        let unauthenticated = |reply: crate::client::Reply| {
            assert_eq!(reply.status, 401, "{}", reply.text());
            let error = reply.json();
            assert_eq!(error["error"]["status"], "UNAUTHENTICATED");
            error["error"]["message"].as_str().unwrap().to_string()
        };
        assert_eq!(unauthenticated(mock.post("llm", &path, gemini.clone()).send()), vertex::MISSING);
        let keyed = mock.post("llm", &path, gemini.clone()).header("x-goog-api-key", "AQ.k").send();
        assert_eq!(unauthenticated(keyed), vertex::KEYS_NOT_SUPPORTED);
        let forged = mock.post("llm", &path, gemini.clone()).header("authorization", "Bearer ya29.forged").send();
        assert!(unauthenticated(forged).starts_with("Request had invalid authentication credentials."));
        // Streams as Gemini does.
        let stream = format!("{base}/google/models/gemini-2.5-flash:streamGenerateContent?alt=sse");
        let sse = mock.post("llm", &stream, gemini.clone()).header("authorization", &bearer).send();
        assert_eq!(sse.header("content-type"), Some("text/event-stream"));
        assert_eq!(sse.text().matches("\r\n\r\n").count(), 6, "5 words and the finish");
        // Embeddings.
        let predict = format!("{base}/google/models/text-embedding-005:predict");
        let body = json!({"instances": [{"content": "a b"}], "parameters": {"outputDimensionality": 2}});
        let reply = mock.post("llm", &predict, body.to_string()).header("authorization", &bearer).send().json();
        assert_eq!(reply["predictions"][0]["embeddings"]["values"], json!(embeddings::embedding("a b", 2)));
        // Claude: Vertex's body, the model in the path.
        let claude = format!("{base}/anthropic/models/claude-sonnet-4@20250514:streamRawPredict");
        let body = json!({"anthropic_version": "vertex-2023-10-16", "max_tokens": 20, "stream": true,
            "messages": [{"role": "user", "content": "hi"}]});
        let reply = mock.post("llm", &claude, body.to_string()).header("authorization", &bearer).send();
        assert_eq!(reply.header("content-type"), Some("text/event-stream"));
        assert!(reply.text().contains("\"model\":\"claude-sonnet-4-20250514\""), "{}", reply.text());
        let anthropic_body =
            json!({"model": "claude-sonnet-4", "max_tokens": 20, "messages": [{"role": "user", "content": "hi"}]});
        let refused = mock.post("llm", &claude, anthropic_body.to_string()).header("authorization", &bearer).send();
        assert_eq!((refused.status, refused.json()["error"]["type"].clone()), (400, json!("invalid_request_error")));
        // The OpenAI-compatible endpoint.
        let openapi = "/v1beta1/projects/e2e-project/locations/us-central1/endpoints/openapi/chat/completions";
        let chat = |model: &str| {
            let body = json!({"model": model, "messages": [{"role": "user", "content": "hi"}]});
            mock.post("llm", openapi, body.to_string()).header("authorization", &bearer).send()
        };
        assert_eq!(chat("google/gemini-2.5-flash").json()["choices"][0]["message"]["content"], "Mock reply to: hi");
        assert_eq!(chat("gemini-2.5-flash").status, 400);
        // Express mode: an API key, no project.
        let express = "/v1/publishers/google/models/gemini-2.5-flash:generateContent";
        let reply = mock.post("llm", express, gemini.clone()).header("x-goog-api-key", "AQ.express").send();
        assert_eq!((reply.status, reply.header("x-llm-mock-api-key")), (200, Some("AQ.express")));
        assert_eq!(mock.post("llm", &format!("{express}?key=AQ.q"), gemini.clone()).send().status, 200);
        assert_eq!(unauthenticated(mock.post("llm", express, gemini.clone()).send()), vertex::MISSING);
        let express_claude = "/v1/publishers/anthropic/models/claude-3-5-haiku@20241022:rawPredict";
        let body = json!({"anthropic_version": "vertex-2023-10-16", "max_tokens": 20, "messages": [{"role": "user", "content": "yo"}]});
        let reply = mock.post("llm", express_claude, body.to_string()).header("x-goog-api-key", "AQ.e").send();
        assert_eq!(reply.json()["content"][0]["text"], "Mock reply to: yo");
        // Other paths: Google's 404; a scripted status: Google's shape.
        let other = mock
            .post("llm", &format!("{base}/google/models/g:countTokens"), "{}")
            .header("authorization", &bearer)
            .send();
        assert_eq!((other.status, other.json()["error"]["status"].clone()), (404, json!("NOT_FOUND")));
        let busy =
            mock.post("llm", &path, gemini).header("authorization", &bearer).header("x-mock-status", "429").send();
        assert_eq!((busy.status, busy.json()["error"]["status"].clone()), (429, json!("RESOURCE_EXHAUSTED")));
    }

    #[test]
    fn answers_embeddings() {
        let mock = Gateway::new(&spawn(Duration::ZERO).to_string());
        let body = json!({"model": "text-embedding-3-small", "input": ["a", "b"], "dimensions": 4});
        let reply = mock.post("llm", "/v1/embeddings", body.to_string()).header("authorization", "Bearer k").send();
        assert_eq!(reply.status, 200, "{}", reply.text());
        let value = reply.json();
        assert_eq!(value["data"][1]["embedding"], json!(embeddings::embedding("b", 4)));
        assert_eq!(mock.post("llm", "/v1/embeddings", body.to_string()).send().status, 401);
        let batch =
            json!({"requests": [{"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "a"}]}}]});
        let path = "/v1beta/models/gemini-embedding-001:batchEmbedContents";
        let reply = mock.post("llm", path, batch.to_string()).header("x-goog-api-key", "g").send();
        assert_eq!(
            reply.json()["embeddings"][0]["values"],
            json!(embeddings::embedding("a", embeddings::DEFAULT_DIMS))
        );
        let other = mock.post("llm", "/v1beta/models/text-embedding-004:batchEmbedContents", batch.to_string());
        assert_eq!(other.header("x-goog-api-key", "g").send().status, 400, "each request's model is the path's");
        let single = json!({"content": {"parts": [{"text": "a"}]}});
        let reply =
            mock.post("llm", "/v1/models/e:embedContent", single.to_string()).header("x-goog-api-key", "g").send();
        assert_eq!(reply.json()["embedding"]["values"], json!(embeddings::embedding("a", embeddings::DEFAULT_DIMS)));
    }

    #[test]
    fn records_by_tag_and_answers_anthropic_and_azure() {
        let mock = LlmMock::new(Duration::ZERO);
        let journal = mock.journal().clone();
        let address = crate::server::spawn_background(move |req| mock.clone().handle(req));
        let client = Gateway::new(&address.to_string());
        let body = json!({"model": "claude", "max_tokens": 50, "messages": [{"role": "user", "content": "hi"}]});
        let reply = client
            .post("llm", "/v1/messages", body.to_string())
            .header("x-api-key", "ak")
            .header("anthropic-version", "2023-06-01")
            .header("x-mock-tag", "unit-a")
            .send();
        assert_eq!(reply.status, 200, "{}", reply.text());
        assert_eq!(reply.json()["content"][0]["text"], "Mock reply to: hi");
        assert_eq!(reply.header("x-llm-mock-protocol"), Some("anthropic"));
        let azure = client
            .post(
                "llm",
                "/openai/deployments/dep/chat/completions?api-version=2024-10-21",
                r#"{"messages": [{"role": "user", "content": "x"}]}"#,
            )
            .header("api-key", "zk")
            .header("x-mock-tag", "unit-b")
            .send();
        assert_eq!((azure.status, azure.json()["model"].clone()), (200, json!("dep")));
        let tagged = journal.find(Some("unit-a"), None);
        assert_eq!(tagged.len(), 1);
        assert_eq!((tagged[0]["key"].clone(), tagged[0]["status"].clone()), (json!("ak"), json!(200)));
        let listed = client.get("llm", "/__mock/requests?tag=unit-b").send().json();
        assert_eq!(listed[0]["path"], "/openai/deployments/dep/chat/completions?api-version=2024-10-21");
    }

    /// A Bedrock request on `path` signed by `credential` at `at`.
    fn signed_request(
        mock: &Gateway,
        path: &str,
        body: &str,
        credential: &sigv4::Credential<'_>,
        at: u64,
    ) -> crate::client::RequestBuilder {
        let host = "bedrock-runtime.us-east-1.amazonaws.com";
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static(host));
        sigv4::sign(&sigv4::Target::post(path, body.as_bytes()), &mut headers, credential, "us-east-1", at);
        let mut request = mock.post(host, path, body.to_string());
        for (name, value) in headers.iter().filter(|(name, _)| *name != "host") {
            request = request.header(name.as_str(), value.to_str().unwrap_or_default());
        }
        request
    }

    /// The frames of an event stream answer.
    fn frames(reply: &crate::client::Reply) -> Vec<eventstream::Frame> {
        assert_eq!(reply.header("content-type"), Some(eventstream::CONTENT_TYPE), "{}", reply.text());
        eventstream::decode(&reply.body).unwrap()
    }

    #[test]
    fn answers_like_bedrock() {
        let mock = LlmMock::new(Duration::ZERO);
        let journal = mock.journal().clone();
        let address = crate::server::spawn_background(move |req| mock.clone().handle(req));
        let client = Gateway::new(&address.to_string());
        let path = "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse";
        let body = json!({"messages": [{"role": "user", "content": [{"text": "hi there"}]}]}).to_string();
        let [long_term, temporary] = sigv4::CREDENTIALS;
        let reply = signed_request(&client, path, &body, &long_term, now()).header("x-mock-tag", "bedrock-a").send();
        assert_eq!(reply.status, 200, "{}", reply.text());
        assert_eq!(reply.json()["output"]["message"]["content"][0]["text"], "Mock reply to: hi there");
        assert_eq!(reply.json()["stopReason"], "end_turn");
        assert_eq!(reply.header("x-llm-mock-protocol"), Some("bedrock"));
        assert_eq!(reply.header("x-llm-mock-api-key"), Some(sigv4::ACCESS_KEY));
        assert!(reply.header("x-amzn-requestid").is_some_and(|id| id.starts_with("req_mock_")));
        let entry = journal.find(Some("bedrock-a"), None).remove(0);
        assert_eq!(entry["key"], sigv4::ACCESS_KEY);
        let canonical = entry["sigv4_canonical"].as_str().unwrap_or_default();
        assert!(
            canonical.starts_with("POST\n/model/anthropic.claude-3-5-sonnet-20240620-v1%253A0/converse\n\nhost:bedrock-runtime.us-east-1.amazonaws.com\n"),
            "{canonical}"
        );
        let temp = signed_request(&client, path, &body, &temporary, now()).send();
        assert_eq!((temp.status, temp.header("x-llm-mock-api-key")), (200, Some(sigv4::TEMP_ACCESS_KEY)));
        // A Bedrock API key.
        let keyed = client.post("llm", path, body.clone()).header("authorization", "Bearer ABSKmock").send();
        assert_eq!((keyed.status, keyed.header("x-llm-mock-api-key")), (200, Some("ABSKmock")));
        // Refusals: no credentials, a body other than the signed one, temporary credentials
        // without their token, an old signature.
        let refusal = |reply: crate::client::Reply| {
            let message = reply.json()["message"].as_str().unwrap_or_default().to_string();
            (reply.status, reply.header("x-amzn-errortype").unwrap_or_default().to_string(), message)
        };
        let (status, kind, _) = refusal(client.post("llm", path, body.clone()).send());
        assert_eq!((status, kind.as_str()), (403, "MissingAuthenticationTokenException"));
        let tampered = signed_request(&client, path, &body, &long_term, now()).body(body.replace("hi", "yo")).send();
        let (status, kind, message) = refusal(tampered);
        assert_eq!((status, kind.as_str()), (403, "InvalidSignatureException"));
        assert!(message.starts_with("The request signature we calculated does not match the signature you provided."));
        let tokenless = sigv4::Credential { session_token: None, ..temporary };
        let (status, kind, message) = refusal(signed_request(&client, path, &body, &tokenless, now()).send());
        assert_eq!((status, kind.as_str()), (403, "UnrecognizedClientException"));
        assert_eq!(message, "The security token included in the request is invalid.");
        let (status, kind, message) = refusal(signed_request(&client, path, &body, &long_term, now() - 600).send());
        assert_eq!((status, kind.as_str()), (403, "InvalidSignatureException"));
        assert!(message.starts_with("Signature expired"), "{message}");
        // Validation; a scripted status; another operation.
        let openai = json!({"model": "m", "messages": [{"role": "user", "content": "hi"}]}).to_string();
        let (status, kind, message) = refusal(signed_request(&client, path, &openai, &long_term, now()).send());
        assert_eq!(
            (status, kind.as_str()),
            (400, "ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/")
        );
        assert!(message.contains("extraneous key [model]"), "{message}");
        let busy = signed_request(&client, path, &body, &long_term, now()).header("x-mock-status", "429").send();
        assert_eq!(busy.header("retry-after"), Some("1"));
        let (status, kind, _) = refusal(busy);
        assert_eq!(
            (status, kind.as_str()),
            (429, "ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/")
        );
        let (status, kind, _) =
            refusal(client.post("llm", "/model/m/invoke", "{}").header("authorization", "Bearer k").send());
        assert_eq!(
            (status, kind.as_str()),
            (404, "UnknownOperationException:http://internal.amazon.com/coral/com.amazon.bedrock/")
        );
    }

    #[test]
    fn streams_like_bedrock() {
        let mock = Gateway::new(&spawn(Duration::ZERO).to_string());
        let path = "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse-stream";
        let body = json!({"messages": [{"role": "user", "content": [{"text": "hi there"}]}]}).to_string();
        let reply = signed_request(&mock, path, &body, &sigv4::CREDENTIALS[1], now()).send();
        assert_eq!(reply.status, 200);
        let events = frames(&reply);
        let text: String =
            events.iter().filter_map(|f| f.json()["delta"]["text"].as_str().map(str::to_string)).collect();
        assert_eq!(text, "Mock reply to: hi there");
        assert_eq!(events.last().map(|f| f.header(":event-type")), Some(Some("metadata")));
        assert_eq!(events.last().map(|f| f.json()["usage"]["totalTokens"].clone()), Some(json!(7)));
        // The body arrives in pieces, some of which end inside a frame.
        let mut streaming = signed_request(&mock, path, &body, &sigv4::CREDENTIALS[0], now()).stream();
        let mut chunks = Vec::new();
        while let Some(chunk) = streaming.next_chunk(Duration::from_secs(5)) {
            chunks.push(chunk);
        }
        assert_eq!(chunks.concat(), reply.body);
        let ends_inside = chunks.iter().take(chunks.len() - 1).filter(|c| eventstream::decode(c).is_err()).count();
        assert!(chunks.len() > 3 && ends_inside > 0, "{} chunks, {ends_inside} not whole frames", chunks.len());
        // A scripted error, and a fault that closes the stream: an exception frame after the
        // first delta.
        let failed = mock
            .post("llm", path, body.clone())
            .header("authorization", "Bearer k")
            .header("x-mock-error-mid-stream", "1")
            .send();
        let frames_failed = frames(&failed);
        assert_eq!(frames_failed.len(), 3, "messageStart, a delta, the exception");
        assert_eq!(frames_failed[2].header(":message-type"), Some("exception"));
        assert_eq!(frames_failed[2].header(":exception-type"), Some("throttlingException"));
        mock.post("llm", "/__mock/faults", r#"{"count": 1, "close_mid_stream": true, "key": "k-cut"}"#).send();
        let cut = mock.post("llm", path, body.clone()).header("authorization", "Bearer k-cut").send();
        assert_eq!(
            frames(&cut).last().and_then(|f| f.header(":exception-type").map(str::to_string)).as_deref(),
            Some("internalServerException")
        );
        // Garbage: a frame whose checksum is wrong.
        let garbage =
            mock.post("llm", path, body).header("authorization", "Bearer k").header("x-mock-garbage", "1").send();
        assert!(eventstream::decode(&garbage.body).unwrap_err().contains("CRC"));
    }

    #[test]
    fn answers_like_dashscope() {
        let mock = Gateway::new(&spawn(Duration::ZERO).to_string());
        let path = "/api/v1/services/aigc/text-generation/generation";
        let body = json!({"model": "qwen-plus", "input": {"messages": [{"role": "user", "content": "hi there"}]},
            "parameters": {"result_format": "message", "incremental_output": true}})
        .to_string();
        let reply = mock.post("llm", path, body.clone()).header("authorization", "Bearer sk-q").send();
        assert_eq!(reply.status, 200, "{}", reply.text());
        assert_eq!(reply.json()["output"]["choices"][0]["message"]["content"], "Mock reply to: hi there");
        assert_eq!(reply.json()["request_id"], reply.header("x-request-id").unwrap_or_default());
        assert_eq!(
            (reply.header("x-llm-mock-protocol"), reply.header("x-llm-mock-api-key")),
            (Some("dashscope"), Some("sk-q"))
        );
        let sse = mock
            .post("llm", path, body.clone())
            .header("authorization", "Bearer sk-q")
            .header("x-dashscope-sse", "enable")
            .send();
        assert_eq!(sse.header("content-type"), Some("text/event-stream"));
        let text = sse.text();
        assert!(text.starts_with("id:1\nevent:result\n:HTTP_STATUS/200\ndata:"), "{text}");
        assert_eq!(text.matches("event:result").count(), 6, "5 words and the finish: {text}");
        let unauthorized = mock.post("llm", path, body.clone()).send();
        assert_eq!((unauthorized.status, unauthorized.json()["code"].clone()), (401, json!("InvalidApiKey")));
        let openai = json!({"model": "qwen-plus", "messages": [{"role": "user", "content": "hi"}], "stream": true});
        let refused = mock.post("llm", path, openai.to_string()).header("authorization", "Bearer k").send();
        assert_eq!((refused.status, refused.json()["code"].clone()), (400, json!("InvalidParameter")));
        let busy =
            mock.post("llm", path, body).header("authorization", "Bearer k").header("x-mock-status", "429").send();
        assert_eq!((busy.status, busy.json()["code"].clone()), (429, json!("Throttling.RateQuota")));
        let other = mock.post("llm", "/api/v1/services/aigc/nothing", "{}").header("authorization", "Bearer k").send();
        assert_eq!(other.status, 404);
    }
}
