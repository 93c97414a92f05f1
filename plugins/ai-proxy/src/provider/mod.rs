//! A configured provider: where its requests go, how they are authorised, and what is done
//! to their bodies, resolved once at start from the type's table entry and the config.

pub mod azure;
pub mod bedrock;
mod build;
pub mod dify;
pub mod gemini;
pub mod keys;
pub mod minimax;
pub mod table;
pub mod url;
pub mod vertex;

pub use build::build;

use crate::api::Api;
use crate::context::ContextFile;
use crate::custom_settings::CustomSetting;
use crate::model_map::ModelMapping;
use crate::request::Tidy;
use azure::Azure;
use bedrock::Bedrock;
use dify::Dify;
use gemini::Gemini;
use higress_ai::embeddings::Embedder;
use higress_ai::translate::Protocol;
use minimax::MiniMax;
use table::Spec;
use vertex::Vertex;

/// How `basePath` is applied to the request path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BasePath {
    pub path: String,
    /// `prepend`: added in front of the provider's path; else (`removePrefix`, the default)
    /// removed from the client's path before anything else.
    pub prepend: bool,
}

/// Claude's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claude {
    /// `anthropic-version`.
    pub version: String,
    /// `claudeCodeMode`: an OAuth token as `Bearer`, presented as Claude Code.
    pub code_mode: bool,
}

/// A provider ready for requests.
#[derive(Debug)]
pub struct Provider {
    pub spec: &'static Spec,
    pub id: String,
    /// Where requests go (`None`: the client's host).
    pub host: Option<String>,
    /// The path of each API offered (capabilities: the type's, then the config's).
    pub paths: Vec<(Api, String)>,
    /// A custom URL naming one API's path: every request goes there.
    pub fixed_path: Option<String>,
    pub azure: Option<Azure>,
    pub claude: Option<Claude>,
    pub gemini: Option<Gemini>,
    pub vertex: Option<Vertex>,
    pub bedrock: Option<Bedrock>,
    /// Qwen with `qwenEnableCompatible: false`: chat in DashScope's native protocol, with
    /// `qwenFileIds` for `qwen-long` models.
    pub qwen_native: Option<Vec<String>>,
    /// MiniMax's API (`minimaxApiType`).
    pub minimax: Option<MiniMax>,
    /// The Dify app called.
    pub dify: Option<Dify>,
    /// `failover`: key health.
    pub failover: Option<crate::failover::Failover>,
    /// `retryOnFailure`: failed requests sent again with another key.
    pub retry: Option<crate::failover::Retry>,
    pub keys: Vec<String>,
    pub mapping: ModelMapping,
    /// `protocol: original`: the client speaks the provider's own protocol.
    pub original: bool,
    pub custom_settings: Vec<CustomSetting>,
    pub base_path: Option<BasePath>,
    pub provider_base_path: String,
    pub provider_domain: Option<String>,
    pub first_byte_timeout: u64,
    /// Whether streamed chat requests are given `stream_options.include_usage`.
    pub stream_usage: bool,
    /// `authHeaderKey`: where a client's own key is read (key pass-through).
    pub auth_header_key: Option<String>,
    /// `responseJsonSchema`, as JSON text.
    pub json_schema: Option<Vec<u8>>,
    /// `context` (or `moonshotFileId`): the file put before a chat's conversation.
    pub context: Option<ContextFile>,
    /// `contextCleanupCommands`, `mergeConsecutiveMessages`.
    pub tidy: Tidy,
    /// `promoteThinkingOnEmpty`: a chat answer with no content gets its reasoning as content.
    pub promote_thinking: bool,
}

impl Provider {
    /// The path template of `api`, if the provider offers it.
    pub fn path_of(&self, api: Api) -> Option<&str> {
        self.paths.iter().find(|(a, _)| *a == api).map(|(_, p)| p.as_str())
    }

    /// Whether the provider offers `api`.
    pub fn supports(&self, api: Api) -> bool {
        self.path_of(api).is_some()
    }

    /// Whether a request to `api` goes to a path named after the mapped model (Azure's
    /// deployment from the model, Gemini's chat): set once the body is read.
    pub fn path_needs_model(&self, api: Option<Api>) -> bool {
        if self.original {
            return false;
        }
        self.azure.as_ref().is_some_and(|azure| azure.needs_model())
            || ((self.gemini.is_some() || self.vertex.is_some())
                && matches!(api, Some(Api::ChatCompletion | Api::Embeddings)))
            || (self.bedrock.is_some() && api == Some(Api::ChatCompletion))
    }

    /// The protocol the provider's chat API speaks (Vertex's OpenAI-compatible endpoint
    /// speaks OpenAI's; its `claude*` models are told apart once the body names them;
    /// MiniMax's v2 API speaks OpenAI's, its Pro API its own; a Dify app its kind's).
    pub fn chat_protocol(&self) -> Protocol {
        match &self.vertex {
            Some(vertex) if vertex.openai_compatible => Protocol::OpenAi,
            _ if self.qwen_native.is_some() => Protocol::Qwen,
            _ if self.minimax.as_ref().is_some_and(|m| m.pro) => Protocol::MiniMaxPro,
            _ => match &self.dify {
                Some(dify) => Protocol::Dify(dify.app),
                None => self.spec.chat_protocol,
            },
        }
    }

    /// The provider's own embeddings API, when OpenAI's is translated to it.
    pub fn embedder(&self) -> Option<Embedder> {
        if self.original {
            None
        } else if self.vertex.is_some() {
            Some(Embedder::Vertex)
        } else {
            self.gemini.as_ref().map(|_| Embedder::Gemini)
        }
    }

    /// Vertex's OAuth, when the provider uses it.
    pub fn vertex_oauth(&self) -> Option<&crate::vertex_auth::OAuth> {
        self.vertex.as_ref()?.oauth.as_ref()
    }

    /// The API a path in the provider's own protocol calls (`protocol: original`): the first
    /// of its paths the request path contains, as Higress's per-type `GetApiName`.
    pub fn native_api(&self, path: &str) -> Option<Api> {
        self.paths
            .iter()
            .find(|(_, template)| !template.contains('{') && template.len() > 1 && path.contains(template.as_str()))
            .map(|(api, _)| *api)
    }
}
