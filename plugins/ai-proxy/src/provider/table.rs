//! Every provider type this module speaks to, in one table: its host, the path of each API
//! it offers, how it takes the key, whether it needs one, and its quirks.
//!
//! A type whose host or paths depend on its config (a custom URL, a domain, an account id)
//! has its defaults here and is completed in `build.rs`.

use crate::api::{Api, OPENAI_PATHS};
use higress_ai::translate::Protocol;

/// How the provider takes the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// `Authorization: Bearer <key>`.
    Bearer,
    /// `Authorization: <key>` (360, GitHub Models).
    Raw,
    /// No key at all (Ollama).
    None,
    /// `api-key: <key>` (Azure).
    ApiKey,
    /// `x-api-key: <key>` and `anthropic-version` (Claude).
    Anthropic,
    /// `x-goog-api-key: <key>` (Gemini).
    Google,
}

/// Whether `apiTokens` must be configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keys {
    /// Start fails without them.
    Required,
    /// Optional: without them the client's own key is passed on (OpenAI, vLLM, generic).
    PassThrough,
    /// The provider takes none.
    Unused,
}

/// What a request to an API the provider does not offer gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unsupported {
    /// 500 `unsupported API name`, as Higress answers for most types.
    Refuse,
    /// Passed on untouched (OpenAI, Azure, Claude, Ollama).
    PassOn,
}

/// Provider-specific changes to a request, beyond model mapping.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Quirks {
    /// Zhipu: `reasoning_effort` becomes `thinking: {type: enabled}`; a converted Anthropic
    /// request without thinking gets `thinking: {type: disabled}`.
    pub thinking_switch: bool,
    /// OpenRouter: `reasoning_max_tokens` (or a converted Anthropic thinking budget) becomes
    /// `reasoning.max_tokens`, replacing `reasoning_effort`.
    pub reasoning_budget: bool,
    /// Doubao: `responses` requests lose `parallel_tool_calls` and `tool_choice`; image
    /// generations get `watermark: false` unless they say.
    pub doubao: bool,
    /// Moonshot: stream chunks carry their usage in `choices[0].usage`; it is moved to the
    /// chunk's `usage`, where OpenAI clients look.
    pub choice_usage: bool,
    /// `responseJsonSchema` is honoured (OpenAI, LongCat): set as `response_format`.
    pub json_schema: bool,
    /// Generic: the body is not touched (no model mapping, no `stream_options`).
    pub raw_body: bool,
}

/// One provider type.
#[derive(Debug)]
pub struct Spec {
    /// The `type` of the config.
    pub name: &'static str,
    /// The host requests go to (`""`: the client's, for `generic` without `genericHost`).
    pub host: &'static str,
    /// The path of each API it offers (`{x}`: an id from the request path).
    pub paths: &'static [(Api, &'static str)],
    pub auth: Auth,
    pub keys: Keys,
    /// Whether the path is rewritten to the API's (Mistral and generic keep the client's).
    pub rewrite_path: bool,
    pub unsupported: Unsupported,
    /// The protocol its chat API speaks.
    pub chat_protocol: Protocol,
    pub quirks: Quirks,
}

const NO_QUIRKS: Quirks = Quirks {
    thinking_switch: false,
    reasoning_budget: false,
    doubao: false,
    choice_usage: false,
    json_schema: false,
    raw_body: false,
};

/// The common case: an OpenAI-compatible provider at `host` with `Bearer` keys.
const fn compatible(name: &'static str, host: &'static str, paths: &'static [(Api, &'static str)]) -> Spec {
    Spec {
        name,
        host,
        paths,
        auth: Auth::Bearer,
        keys: Keys::Required,
        rewrite_path: true,
        unsupported: Unsupported::Refuse,
        chat_protocol: Protocol::OpenAi,
        quirks: NO_QUIRKS,
    }
}

use Api::*;

const CHAT: (Api, &str) = (ChatCompletion, "/v1/chat/completions");
const COMPLETIONS: (Api, &str) = (Completion, "/v1/completions");
const EMBEDDINGS: (Api, &str) = (Embeddings, "/v1/embeddings");
const MODELS: (Api, &str) = (Models, "/v1/models");

/// Qwen's compatible mode (`qwenEnableCompatible`, on unless set to false).
const QWEN_COMPATIBLE: &[(Api, &str)] = &[
    (ChatCompletion, "/compatible-mode/v1/chat/completions"),
    (Embeddings, "/compatible-mode/v1/embeddings"),
    (Completion, "/compatible-mode/v1/completions"),
    (Responses, "/compatible-mode/v1/responses"),
    (Files, "/compatible-mode/v1/files"),
    (RetrieveFile, "/compatible-mode/v1/files/{file_id}"),
    (RetrieveFileContent, "/compatible-mode/v1/files/{file_id}/content"),
    (Batches, "/compatible-mode/v1/batches"),
    (RetrieveBatch, "/compatible-mode/v1/batches/{batch_id}"),
    (QwenAsyncAigc, "/api/v1/services/aigc/"),
    (QwenAsyncTask, "/api/v1/tasks/"),
    (QwenRerank, "/compatible-api/v1/reranks"),
    (QwenConversations, "/compatible-mode/v1/conversations"),
    (AnthropicMessages, "/apps/anthropic/v1/messages"),
];

/// Gemini: chat goes to the mapped model's `generateContent` (`provider/gemini.rs` makes the
/// path once the body names the model); calls in Gemini's own protocol keep their path.
const GEMINI: &[(Api, &str)] = &[
    (ChatCompletion, "/{version}/models/{model}:generateContent"),
    (GeminiGenerateContent, "/{version}/models/{model}:generateContent"),
    (GeminiStreamGenerateContent, "/{version}/models/{model}:streamGenerateContent"),
    (Embeddings, "/{version}/models/{model}:batchEmbedContents"),
];

/// Vertex: chat and embeddings go to the mapped model's method (`provider/vertex.rs`);
/// calls in Vertex's own protocol keep their path.
const VERTEX: &[(Api, &str)] = &[
    (ChatCompletion, "/v1/projects/{project}/locations/{region}/publishers/google/models/{model}:generateContent"),
    (Embeddings, "/v1/projects/{project}/locations/{region}/publishers/google/models/{model}:predict"),
    (
        GeminiGenerateContent,
        "/v1/projects/{project}/locations/{region}/publishers/google/models/{model}:generateContent",
    ),
    (
        GeminiStreamGenerateContent,
        "/v1/projects/{project}/locations/{region}/publishers/google/models/{model}:streamGenerateContent",
    ),
];

/// Every type, by `type`.
pub static SPECS: &[Spec] = &[
    Spec {
        keys: Keys::PassThrough,
        unsupported: Unsupported::PassOn,
        quirks: Quirks { json_schema: true, ..NO_QUIRKS },
        ..compatible("openai", "api.openai.com", OPENAI_PATHS)
    },
    compatible("deepseek", "api.deepseek.com", &[CHAT, MODELS, (AnthropicMessages, "/anthropic/v1/messages")]),
    Spec {
        quirks: Quirks { choice_usage: true, ..NO_QUIRKS },
        ..compatible("moonshot", "api.moonshot.cn", &[CHAT, MODELS])
    },
    compatible(
        "groq",
        "api.groq.com",
        &[(ChatCompletion, "/openai/v1/chat/completions"), (Responses, "/openai/v1/responses")],
    ),
    compatible("grok", "api.x.ai", &[CHAT]),
    Spec { rewrite_path: false, ..compatible("mistral", "api.mistral.ai", &[CHAT, EMBEDDINGS]) },
    compatible("together-ai", "api.together.xyz", &[CHAT]),
    compatible("fireworks", "api.fireworks.ai", &[CHAT, COMPLETIONS, MODELS]),
    Spec {
        quirks: Quirks { reasoning_budget: true, ..NO_QUIRKS },
        ..compatible(
            "openrouter",
            "openrouter.ai",
            &[(ChatCompletion, "/api/v1/chat/completions"), (Completion, "/api/v1/completions")],
        )
    },
    compatible("yi", "api.lingyiwanwu.com", &[CHAT]),
    compatible("baichuan", "api.baichuan-ai.com", &[CHAT, EMBEDDINGS]),
    compatible("stepfun", "api.stepfun.com", &[CHAT]),
    Spec { auth: Auth::Raw, ..compatible("ai360", "api.360.cn", &[CHAT, EMBEDDINGS]) },
    Spec {
        auth: Auth::Raw,
        ..compatible(
            "github",
            "models.inference.ai.azure.com",
            &[(ChatCompletion, "/chat/completions"), (Embeddings, "/embeddings")],
        )
    },
    Spec {
        quirks: Quirks { json_schema: true, ..NO_QUIRKS },
        ..compatible("longcat", "api.longcat.chat", &[CHAT, EMBEDDINGS, MODELS])
    },
    compatible(
        "baidu",
        "qianfan.baidubce.com",
        &[(ChatCompletion, "/v2/chat/completions"), (Embeddings, "/v2/embeddings")],
    ),
    Spec {
        quirks: Quirks { doubao: true, ..NO_QUIRKS },
        ..compatible(
            "doubao",
            "ark.cn-beijing.volces.com",
            &[
                (ChatCompletion, "/api/v3/chat/completions"),
                (Embeddings, "/api/v3/embeddings"),
                (ImageGeneration, "/api/v3/images/generations"),
                (Responses, "/api/v3/responses"),
            ],
        )
    },
    Spec {
        quirks: Quirks { thinking_switch: true, ..NO_QUIRKS },
        ..compatible(
            "zhipuai",
            "open.bigmodel.cn",
            &[(ChatCompletion, "/api/paas/v4/chat/completions"), (Embeddings, "/api/paas/v4/embeddings")],
        )
    },
    compatible(
        "cloudflare",
        "api.cloudflare.com",
        &[(ChatCompletion, "/client/v4/accounts/{account_id}/ai/v1/chat/completions")],
    ),
    Spec {
        keys: Keys::PassThrough,
        ..compatible(
            "vllm",
            "vllm-service.cluster.local",
            &[CHAT, COMPLETIONS, MODELS, EMBEDDINGS, (CohereRerank, "/v1/rerank")],
        )
    },
    Spec {
        auth: Auth::None,
        keys: Keys::Unused,
        unsupported: Unsupported::PassOn,
        ..compatible("ollama", "", &[CHAT, EMBEDDINGS, MODELS])
    },
    Spec {
        keys: Keys::PassThrough,
        rewrite_path: false,
        unsupported: Unsupported::PassOn,
        quirks: Quirks { raw_body: true, ..NO_QUIRKS },
        ..compatible("generic", "", &[])
    },
    compatible("qwen", "dashscope.aliyuncs.com", QWEN_COMPATIBLE),
    Spec { auth: Auth::ApiKey, unsupported: Unsupported::PassOn, ..compatible("azure", "", &[]) },
    Spec {
        auth: Auth::Anthropic,
        unsupported: Unsupported::PassOn,
        chat_protocol: Protocol::Anthropic,
        ..compatible(
            "claude",
            "api.anthropic.com",
            &[
                (ChatCompletion, "/v1/messages"),
                (Completion, "/v1/complete"),
                (AnthropicMessages, "/v1/messages"),
                (Embeddings, "/v1/embeddings"),
                (Models, "/v1/models"),
            ],
        )
    },
    // v2 speaks OpenAI's protocol; `minimaxApiType: pro` makes chat go to the Pro API
    // (`provider/minimax.rs`).
    compatible("minimax", "api.minimax.chat", &[(ChatCompletion, higress_ai::minimax::V2_PATH)]),
    // The path is the app kind's (`botType`), the host `difyApiUrl`'s (`provider/dify.rs`).
    compatible("dify", "api.dify.ai", &[(ChatCompletion, higress_ai::dify::CHAT_PATH)]),
    Spec {
        auth: Auth::Google,
        chat_protocol: Protocol::Gemini,
        ..compatible("gemini", "generativelanguage.googleapis.com", GEMINI)
    },
    Spec {
        // `apiTokens` (Bedrock API keys) or SigV4 (`provider/bedrock.rs` checks which).
        keys: Keys::Unused,
        chat_protocol: Protocol::Bedrock,
        ..compatible("bedrock", "", &[(ChatCompletion, "/model/{model}/converse")])
    },
    Spec {
        auth: Auth::Google,
        // `apiTokens` (express mode) or a service account (`provider/vertex.rs` checks which).
        keys: Keys::Unused,
        chat_protocol: Protocol::Gemini,
        ..compatible("vertex", "aiplatform.googleapis.com", VERTEX)
    },
];

/// Types Higress has that this module does not implement yet: a config naming one fails to
/// start, rather than proxying requests the provider would not understand.
pub const NOT_YET: &[&str] = &["hunyuan", "spark", "cohere", "deepl", "coze", "triton"];

/// The type named `name`.
pub fn spec(name: &str) -> Option<&'static Spec> {
    SPECS.iter().find(|spec| spec.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_known() {
        for (i, spec) in SPECS.iter().enumerate() {
            assert!(SPECS.iter().skip(i + 1).all(|other| other.name != spec.name), "{}", spec.name);
            assert!(!NOT_YET.contains(&spec.name));
            for (api, path) in spec.paths {
                assert!(path.starts_with('/'), "{} {api:?}", spec.name);
            }
        }
        assert_eq!(SPECS.len(), 30);
    }
}
