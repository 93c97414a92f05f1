//! One provider's configuration, as written (Higress's keys, camelCase). Checked and turned
//! into a [`crate::provider::Provider`] by `provider::build`.

use crate::custom_settings::RawSetting;
use serde::Deserialize;
use serde_json::{Map, Value};

/// A provider object of `provider` or `providers[]`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProviderSettings {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub api_tokens: Vec<String>,
    /// Milliseconds: the context file's fetch (Higress: this and nothing else).
    pub timeout: Option<u64>,
    /// Milliseconds the upstream may take to send the first byte of a stream (0: Envoy's
    /// route timeout only).
    pub first_byte_timeout: u64,
    pub model_mapping: Map<String, Value>,
    pub protocol: Option<String>,
    pub context: Option<ContextSettings>,
    pub custom_settings: Vec<RawSetting>,
    pub capabilities: Map<String, Value>,
    pub base_path: String,
    pub base_path_handling: Option<String>,
    pub provider_domain: String,
    pub provider_base_path: String,
    pub auth_header_key: String,
    pub response_json_schema: Option<Value>,
    /// Upstream Higress's switch: no `stream_options.include_usage` added to streams.
    pub disable_stream_usage_stats: bool,

    // Part 2 (accepted and checked, not applied yet: logged at start).
    pub failover: Option<Value>,
    pub retry_on_failure: Option<Value>,
    pub reasoning_content_mode: Option<String>,
    pub context_cleanup_commands: Vec<String>,
    pub merge_consecutive_messages: bool,
    pub promote_thinking_on_empty: bool,
    pub hiclaw_mode: bool,

    // Per type.
    pub openai_custom_url: String,
    pub azure_service_url: String,
    pub claude_version: String,
    pub api_version: String,
    pub claude_code_mode: bool,
    pub qwen_enable_compatible: Option<bool>,
    pub qwen_domain: String,
    pub qwen_file_ids: Vec<String>,
    pub moonshot_file_id: String,
    pub ollama_server_host: String,
    pub ollama_server_port: u64,
    pub cloudflare_account_id: String,
    pub doubao_domain: String,
    pub zhipu_domain: String,
    pub zhipu_code_plan_mode: bool,
    pub vllm_custom_url: String,
    pub vllm_server_host: String,
    pub generic_host: String,
}

/// `context`: a text file whose content is put before the conversation as a system message.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ContextSettings {
    pub file_url: String,
    pub service_name: String,
    pub service_port: u64,
}
