//! One provider's configuration, as written (Higress's keys, camelCase). Checked and turned
//! into a [`crate::provider::Provider`] by `provider::build`.

use crate::custom_settings::RawSetting;
use serde::Deserialize;
use serde_json::{Map, Value};

/// A provider object of `provider` or `providers[]`.
#[derive(Debug, Default, Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema), schemars(extend("required" = ["type"])))]
#[serde(rename_all = "camelCase", default)]
pub struct ProviderSettings {
    /// Its name, for `activeProviderId`.
    pub id: String,
    /// The provider's type (`openai`, `azure`, `claude`, `qwen`, ...).
    #[serde(rename = "type")]
    #[cfg_attr(test, schemars(with = "crate::schema::ProviderType"))]
    pub kind: String,
    /// The provider's keys; one is picked at random per request (per consumer on stateful
    /// APIs; a healthy one with `failover`). Required except for `openai`, `vllm`, `generic`
    /// (which then pass the client's own key), `ollama`, and `vertex` and `bedrock` signed
    /// with their own credentials (for them, keys are express-mode or Bedrock API keys).
    pub api_tokens: Vec<String>,
    /// Milliseconds for the context file's fetch and Vertex's token exchange (default 120000).
    pub timeout: Option<u64>,
    /// Milliseconds the upstream may take to send the first byte of a stream, set as
    /// `x-envoy-upstream-rq-first-byte-timeout-ms` (0: Envoy's route timeout only).
    pub first_byte_timeout: u64,
    /// Model asked for → model sent: exact names, prefixes (`gpt-4-*`), regular expressions
    /// (`~gpt-(.*)`, `$1` in the target), `*`. An empty target keeps the model.
    #[cfg_attr(test, schemars(with = "crate::schema::ModelMapping"))]
    pub model_mapping: Map<String, Value>,
    /// `openai` (default): clients speak OpenAI's protocol (and Anthropic's on `/v1/messages`);
    /// `original`: clients speak the provider's own.
    #[cfg_attr(test, schemars(with = "Option<crate::schema::Protocol>"))]
    pub protocol: Option<String>,
    /// A text file put before a chat's conversation as a system message.
    pub context: Option<ContextSettings>,
    /// Request parameters the gateway fills in or overrides.
    pub custom_settings: Vec<RawSetting>,
    /// API name → path, over the type's.
    #[cfg_attr(test, schemars(with = "crate::schema::Capabilities"))]
    pub capabilities: Map<String, Value>,
    /// With `basePathHandling: removePrefix` (default) removed from the client's path; with
    /// `prepend` put in front of the provider's path.
    pub base_path: String,
    /// How `basePath` is applied: `removePrefix` (default) or `prepend`.
    #[cfg_attr(test, schemars(with = "Option<crate::schema::BasePathHandling>"))]
    pub base_path_handling: Option<String>,
    /// The host requests go to, over the type's.
    pub provider_domain: String,
    /// Put in front of the provider's path.
    pub provider_base_path: String,
    /// Key pass-through (`openai`, `vllm`, `generic` without `apiTokens`): the header the
    /// client's key is read from, before `x-api-key`, `x-authorization`, `Authorization`.
    pub auth_header_key: String,
    /// `openai`, `longcat`: set as the chat request's `response_format`.
    #[cfg_attr(test, schemars(with = "Option<serde_json::Map<String, Value>>"))]
    pub response_json_schema: Option<Value>,
    /// Upstream Higress's switch: no `stream_options.include_usage` added to streams.
    pub disable_stream_usage_stats: bool,

    /// Key health: a key failing `failureThreshold` times in a row leaves rotation until
    /// health checks bring it back, as Higress (status patterns anchored).
    #[cfg_attr(test, schemars(with = "Option<crate::schema::Failover>"))]
    pub failover: Option<Value>,
    /// A failed request sent again with another key, as Higress (the request as it left;
    /// a stream answered as a stream).
    #[cfg_attr(test, schemars(with = "Option<crate::schema::RetryOnFailure>"))]
    pub retry_on_failure: Option<Value>,
    /// `passthrough`, `ignore` or `concat`: Higress's DashScope native option; reasoning always
    /// comes back as `reasoning_content` here (passthrough).
    pub reasoning_content_mode: Option<String>,
    /// Chat requests: the last user message that is exactly one of these (`/clear`) drops
    /// every message before it but system messages, and is dropped itself.
    pub context_cleanup_commands: Vec<String>,
    /// Chat requests: consecutive user (or assistant) messages become one.
    pub merge_consecutive_messages: bool,
    /// Chat replies: an answer with no content gets its reasoning as content.
    pub promote_thinking_on_empty: bool,
    /// Both `mergeConsecutiveMessages` and `promoteThinkingOnEmpty`.
    pub hiclaw_mode: bool,

    // Per type.
    /// `openai`: a full API path (every request goes there), else a base under which each
    /// API's path goes.
    pub openai_custom_url: String,
    /// `azure` (required): the deployment's URL, with its `api-version`.
    pub azure_service_url: String,
    /// `claude`: the `anthropic-version` (default `2023-06-01`).
    pub claude_version: String,
    /// `claude`: the `anthropic-version`, when `claudeVersion` is not set; `gemini`: the API
    /// version of its paths (default `v1beta`).
    pub api_version: String,
    /// `claude`: an OAuth token as `Bearer`, presented as Claude Code.
    pub claude_code_mode: bool,
    /// `gemini`, `vertex`: safety settings sent with every chat request, harm category -> threshold
    /// (`HARM_CATEGORY_HARASSMENT: BLOCK_ONLY_HIGH`).
    #[cfg_attr(test, schemars(with = "Option<std::collections::BTreeMap<String, String>>"))]
    pub gemini_safety_setting: Map<String, Value>,
    /// `gemini`, `vertex`: thinking tokens for chat requests that ask for no reasoning (`0`: off, `-1`:
    /// the model decides).
    pub gemini_thinking_budget: Option<i64>,
    /// `vertex`: the service account's JSON key (`client_email`, `private_key`,
    /// `private_key_id`, `token_uri`), for OAuth; without it, `apiTokens` (express mode).
    pub vertex_auth_key: String,
    /// `vertex` (OAuth): the region (`us-central1`; `global` for the global endpoint).
    pub vertex_region: String,
    /// `vertex` (OAuth): the Google Cloud project.
    pub vertex_project_id: String,
    /// `vertex` (OAuth): the service (as registered in Higress) that reaches
    /// `oauth2.googleapis.com` on port 443, for the token exchange.
    pub vertex_auth_service_name: String,
    /// `vertex` (OAuth): seconds before its expiry an access token is renewed (default 60).
    pub vertex_token_refresh_ahead: Option<u64>,
    /// `vertex` (OAuth): chat requests go to Vertex's OpenAI-compatible endpoint, untranslated.
    #[serde(rename = "vertexOpenAICompatible")]
    pub vertex_openai_compatible: bool,
    /// `bedrock` (required): the AWS region (`us-east-1`).
    pub aws_region: String,
    /// `bedrock`: the access key id requests are signed with (SigV4), with `awsSecretKey`;
    /// without them, `apiTokens` are Bedrock API keys.
    pub aws_access_key: String,
    /// `bedrock`: the secret access key.
    pub aws_secret_key: String,
    /// `bedrock` (extension): the session token of temporary credentials (STS, an assumed
    /// role), sent as `x-amz-security-token` and signed.
    pub aws_session_token: String,
    /// `bedrock`: fields merged into every request's `additionalModelRequestFields`
    /// (`top_k`, `anthropic_beta`, ...).
    #[cfg_attr(test, schemars(with = "Option<serde_json::Map<String, Value>>"))]
    pub bedrock_additional_fields: Map<String, Value>,
    /// `qwen`: the OpenAI-compatible mode (default true); `false`: chat in DashScope's native
    /// protocol (text or multimodal generation).
    pub qwen_enable_compatible: Option<bool>,
    /// `qwen`: the host, over `dashscope.aliyuncs.com`.
    pub qwen_domain: String,
    /// `qwen`: files for DashScope's native protocol (no effect in compatible mode).
    pub qwen_file_ids: Vec<String>,
    /// `moonshot`: a file uploaded to Moonshot, put before the conversation (not with
    /// `context`).
    pub moonshot_file_id: String,
    /// `ollama` (required): the Ollama server's host.
    pub ollama_server_host: String,
    /// `ollama` (required): the Ollama server's port.
    #[cfg_attr(test, schemars(range(max = 65535)))]
    pub ollama_server_port: u64,
    /// `cloudflare`: the account id in the API paths.
    pub cloudflare_account_id: String,
    /// `doubao`: the host, over `ark.cn-beijing.volces.com`.
    pub doubao_domain: String,
    /// `zhipuai`: the host, over `open.bigmodel.cn`.
    pub zhipu_domain: String,
    /// `zhipuai`: chat requests go to the coding plan's path.
    pub zhipu_code_plan_mode: bool,
    /// `vllm`: a full API path or a base, as `openaiCustomUrl`.
    pub vllm_custom_url: String,
    /// `vllm`: the vLLM server's host (its port is dropped: the route's cluster decides).
    pub vllm_server_host: String,
    /// `generic`: the host requests go to (default: the client's).
    pub generic_host: String,
    /// `minimax`: `v2` (default): ChatCompletion v2, OpenAI's protocol; `pro`: ChatCompletion
    /// Pro, translated both ways.
    #[cfg_attr(test, schemars(with = "Option<crate::schema::MinimaxApiType>"))]
    pub minimax_api_type: String,
    /// `minimax` (required with `minimaxApiType: pro`): the group id in the Pro API's path (a
    /// string or a number).
    #[cfg_attr(test, schemars(with = "Option<crate::schema::StringOrNumber>"))]
    pub minimax_group_id: Value,
    /// `dify`: the Dify API's URL, for a self-hosted Dify (`https://dify.example.com/v1`; the
    /// path is the API's base, `/v1` when absent); default `api.dify.ai`.
    pub dify_api_url: String,
    /// `dify`: the app's type: `Chat` (default), `Completion`, `Agent`, `Workflow`.
    #[cfg_attr(test, schemars(with = "Option<crate::schema::BotType>"))]
    pub bot_type: String,
    /// `dify`: the input variable the conversation goes in (`Workflow`, required;
    /// `Completion`, default `query`).
    pub input_variable: String,
    /// `dify` (`Workflow`, required): the output variable that is the answer.
    pub output_variable: String,
}

/// `context`: a text file whose content is put before the conversation as a system message.
#[derive(Debug, Default, Clone, Deserialize)]
#[cfg_attr(
    test,
    derive(schemars::JsonSchema),
    schemars(extend("required" = ["fileUrl", "serviceName", "servicePort"]))
)]
#[serde(rename_all = "camelCase", default)]
pub struct ContextSettings {
    /// The file's URL.
    pub file_url: String,
    /// The service (as registered in Higress) the file is fetched from.
    pub service_name: String,
    /// The service's port.
    #[cfg_attr(test, schemars(range(min = 1, max = 65535)))]
    pub service_port: u64,
}
