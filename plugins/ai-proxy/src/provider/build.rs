//! A provider's settings checked and resolved into a [`Provider`]. Every error names the
//! field (`provider.apiTokens: ...`).

use super::azure::Azure;
use super::bedrock::Bedrock;
use super::dify::Dify;
use super::gemini::Gemini;
use super::minimax::MiniMax;
use super::table::{self, Keys};
use super::vertex::Vertex;
use super::{url, BasePath, Claude, Provider};
use crate::api::{self, Api, CONFIGURABLE};
use crate::config::settings::{ContextSettings, ProviderSettings};
use crate::context::ContextFile;
use crate::custom_settings;
use crate::failover::{Failover, Retry};
use crate::model_map::ModelMapping;
use crate::request::Tidy;
use higress_sdk::config::ConfigError;
use higress_sdk::log_warn;
use serde_json::Value;

/// Higress's default `timeout`.
const DEFAULT_TIMEOUT_MS: u64 = 120_000;
const DEFAULT_ANTHROPIC_VERSION: &str = "2023-06-01";

/// Resolves `settings` found at `field` (`provider`, `providers[2]`). `order` is the order
/// of `modelMapping`'s keys in the configuration's text, when known.
pub fn build(settings: ProviderSettings, field: &str, order: Option<Vec<String>>) -> Result<Provider, ConfigError> {
    let at = |key: &str| format!("{field}.{key}");
    let kind = settings.kind.trim();
    if kind.is_empty() {
        return Err(ConfigError::at(at("type"), "missing: the provider's type (openai, azure, claude, qwen, ...)"));
    }
    let Some(spec) = table::spec(kind) else {
        let message = if table::NOT_YET.contains(&kind) {
            format!("`{kind}` is a Higress provider type this module does not implement yet")
        } else {
            format!("unknown provider type `{kind}`")
        };
        return Err(ConfigError::at(at("type"), message));
    };

    let original = match settings.protocol.as_deref() {
        None | Some("") | Some("openai") => false,
        Some("original") => true,
        Some(other) => return Err(ConfigError::at(at("protocol"), format!("`{other}`: expected openai or original"))),
    };

    let keys: Vec<String> = settings.api_tokens.iter().filter(|k| !k.trim().is_empty()).cloned().collect();
    if spec.keys == Keys::Required && keys.is_empty() {
        return Err(ConfigError::at(at("apiTokens"), format!("no apiToken found: the {kind} provider needs one")));
    }

    let mut provider = Provider {
        spec,
        id: settings.id.clone(),
        host: (!spec.host.is_empty()).then(|| spec.host.to_string()),
        paths: spec.paths.iter().map(|(api, path)| (*api, path.to_string())).collect(),
        fixed_path: None,
        azure: None,
        claude: None,
        gemini: None,
        vertex: None,
        bedrock: None,
        qwen_native: None,
        minimax: None,
        dify: None,
        failover: None,
        retry: None,
        keys,
        mapping: model_mapping(&settings, &at("modelMapping"), order)?,
        original,
        custom_settings: Vec::new(),
        base_path: base_path(&settings, &at("basePathHandling"))?,
        provider_base_path: settings.provider_base_path.trim().to_string(),
        provider_domain: Some(settings.provider_domain.trim().to_string()).filter(|d| !d.is_empty()),
        first_byte_timeout: settings.first_byte_timeout,
        stream_usage: !settings.disable_stream_usage_stats && !spec.quirks.raw_body,
        auth_header_key: Some(settings.auth_header_key.trim().to_string()).filter(|k| !k.is_empty()),
        json_schema: None,
        context: None,
        // `hiclawMode` (HiClaw's multi-agent setups) switches on both of its parts.
        tidy: Tidy {
            cleanup_commands: settings.context_cleanup_commands.iter().filter(|c| !c.is_empty()).cloned().collect(),
            merge: settings.merge_consecutive_messages || settings.hiclaw_mode,
        },
        promote_thinking: settings.promote_thinking_on_empty || settings.hiclaw_mode,
    };
    per_type(&mut provider, &settings, field)?;
    capabilities(&mut provider, &settings, &at("capabilities"))?;

    let protocol = if original { kind } else { "openai" };
    let (custom, dropped) = custom_settings::compile(&settings.custom_settings, protocol, &at("customSettings"))?;
    for setting in dropped {
        log_warn!("{setting}: dropped");
    }
    provider.custom_settings = custom;

    if spec.quirks.json_schema {
        provider.json_schema = match &settings.response_json_schema {
            Some(schema @ Value::Object(_)) => Some(schema.to_string().into_bytes()),
            None | Some(Value::Null) => None,
            Some(_) => return Err(ConfigError::at(at("responseJsonSchema"), "expected an object")),
        };
    }
    provider.context = match &settings.context {
        Some(context) => Some(context_of(context, settings.timeout, &at("context"))?),
        None => moonshot_file(&provider, &settings, &at("moonshotFileId"))?,
    };
    provider.failover = Failover::parse(settings.failover.as_ref(), spec.name, &settings.id, &at("failover"))?;
    provider.retry = Retry::parse(settings.retry_on_failure.as_ref(), &at("retryOnFailure"))?;
    not_yet_applied(&settings, field)?;
    Ok(provider)
}

/// What depends on the type: hosts, paths and keys read from type-specific fields.
fn per_type(provider: &mut Provider, settings: &ProviderSettings, field: &str) -> Result<(), ConfigError> {
    let at = |key: &str| format!("{field}.{key}");
    let domain = |value: &str| Some(value.trim().to_string()).filter(|d| !d.is_empty());
    match provider.spec.name {
        "openai" if !settings.openai_custom_url.trim().is_empty() => {
            custom_url(provider, &settings.openai_custom_url, is_openai_direct);
        }
        "vllm" => {
            if !settings.vllm_custom_url.trim().is_empty() {
                custom_url(provider, &settings.vllm_custom_url, |p| {
                    p.ends_with("/completions") || p.ends_with("/rerank")
                });
            } else if let Some(host) = domain(&settings.vllm_server_host) {
                // Higress drops the port: the route's cluster decides where the request goes.
                provider.host = Some(host.split(':').next().unwrap_or_default().to_string());
            }
        }
        "ollama" => {
            if settings.ollama_server_host.trim().is_empty() {
                return Err(ConfigError::at(at("ollamaServerHost"), "missing"));
            }
            if settings.ollama_server_port == 0 || settings.ollama_server_port > 65535 {
                return Err(ConfigError::at(at("ollamaServerPort"), "missing or not a port"));
            }
            provider.host = Some(format!("{}:{}", settings.ollama_server_host.trim(), settings.ollama_server_port));
        }
        "cloudflare" => {
            let account = settings.cloudflare_account_id.trim();
            if account.is_empty() {
                // Higress accepts it (its conformance config has none): said, not refused.
                log_warn!("{}: missing; requests go to /client/v4/accounts//ai/...", at("cloudflareAccountId"));
            }
            for (_, path) in &mut provider.paths {
                *path = path.replace("{account_id}", account);
            }
        }
        "zhipuai" => {
            if let Some(host) = domain(&settings.zhipu_domain) {
                provider.host = Some(host);
            }
            if settings.zhipu_code_plan_mode {
                set_path(provider, Api::ChatCompletion, "/api/coding/paas/v4/chat/completions");
            }
        }
        "doubao" => {
            if let Some(host) = domain(&settings.doubao_domain) {
                provider.host = Some(host);
            }
        }
        "qwen" => {
            if settings.qwen_enable_compatible == Some(false) {
                let ids = settings.qwen_file_ids.iter().map(|id| id.trim()).filter(|id| !id.is_empty());
                provider.qwen_native = Some(ids.map(str::to_string).collect());
            }
            if !settings.qwen_file_ids.is_empty() && settings.context.is_some() {
                return Err(ConfigError::at(at("qwenFileIds"), "qwenFileIds and context cannot both be configured"));
            }
            if let Some(host) = domain(&settings.qwen_domain) {
                provider.host = Some(host);
            }
        }
        "moonshot" if !settings.moonshot_file_id.is_empty() && settings.context.is_some() => {
            return Err(ConfigError::at(at("moonshotFileId"), "moonshotFileId and context cannot both be configured"));
        }
        "generic" => provider.host = domain(&settings.generic_host),
        "azure" => {
            if settings.azure_service_url.trim().is_empty() {
                return Err(ConfigError::at(at("azureServiceUrl"), "missing"));
            }
            let azure =
                Azure::parse(&settings.azure_service_url).map_err(|e| ConfigError::at(at("azureServiceUrl"), e))?;
            provider.host = Some(azure.host.clone());
            provider.paths = Azure::paths();
            provider.azure = Some(azure);
        }
        "claude" => {
            let version = [&settings.claude_version, &settings.api_version]
                .into_iter()
                .map(|v| v.trim())
                .find(|v| !v.is_empty())
                .unwrap_or(DEFAULT_ANTHROPIC_VERSION);
            provider.claude = Some(Claude { version: version.to_string(), code_mode: settings.claude_code_mode });
        }
        "gemini" => provider.gemini = Some(Gemini::parse(settings, field)?),
        "bedrock" => {
            let bedrock = Bedrock::parse(settings, field)?;
            provider.host = Some(bedrock.host());
            provider.bedrock = Some(bedrock);
        }
        "minimax" => {
            let minimax = MiniMax::parse(settings, field)?;
            set_path(provider, Api::ChatCompletion, &minimax.chat_path());
            provider.minimax = Some(minimax);
        }
        "dify" => {
            let dify = Dify::parse(settings, field)?;
            if let Some(host) = &dify.host {
                provider.host = Some(host.clone());
            }
            set_path(provider, Api::ChatCompletion, &dify.chat_path());
            provider.dify = Some(dify);
        }
        "vertex" => {
            let timeout = settings.timeout.filter(|t| *t > 0).unwrap_or(DEFAULT_TIMEOUT_MS);
            let vertex = Vertex::parse(settings, field, timeout)?;
            provider.host = Some(vertex.host());
            provider.vertex = Some(vertex);
        }
        _ => {}
    }
    Ok(())
}

/// Whether `openaiCustomUrl`'s path is one API's path (every request then goes there) rather
/// than a base the API paths are put under.
fn is_openai_direct(path: &str) -> bool {
    let path = api::split_query(path).0;
    [
        "/completions",
        "/embeddings",
        "/audio/speech",
        "/audio/transcriptions",
        "/audio/translations",
        "/images/generations",
        "/images/variations",
        "/images/edits",
        "/models",
        "/responses",
        "/fine_tuning/jobs",
        "/fine_tuning/checkpoints",
        "/realtime",
        "/videos",
    ]
    .iter()
    .any(|suffix| path.ends_with(suffix))
}

/// A custom URL: its host, and either one fixed path or a base for the type's API paths
/// (each without its `/v1`).
fn custom_url(provider: &mut Provider, url: &str, direct: impl Fn(&str) -> bool) {
    let (host, path) = url::custom(url);
    provider.host = Some(host);
    if direct(&path) {
        provider.fixed_path = Some(path);
        return;
    }
    for (_, template) in &mut provider.paths {
        let rest = template.strip_prefix("/v1").unwrap_or(template);
        *template = url::join(&path, rest);
    }
}

fn set_path(provider: &mut Provider, api: Api, path: &str) {
    match provider.paths.iter_mut().find(|(a, _)| *a == api) {
        Some((_, template)) => *template = path.to_string(),
        None => provider.paths.push((api, path.to_string())),
    }
}

/// `capabilities`: API name → path. The config's paths win over the type's (Higress let the
/// type's win, so a configured path for an API the type has was silently ignored). Names
/// Higress does not accept there are logged and ignored, as Higress ignores them.
fn capabilities(provider: &mut Provider, settings: &ProviderSettings, field: &str) -> Result<(), ConfigError> {
    for (name, path) in &settings.capabilities {
        let Some(api) = Api::named(name).filter(|api| CONFIGURABLE.contains(api)) else {
            log_warn!("{field}.{name}: not an API capabilities may name; ignored");
            continue;
        };
        let Some(path) = path.as_str().filter(|p| p.starts_with('/')) else {
            return Err(ConfigError::at(format!("{field}.{name}"), "expected a path starting with /"));
        };
        set_path(provider, api, path);
    }
    Ok(())
}

/// `modelMapping`, in the configuration's order (sorted when it cannot be read).
fn model_mapping(
    settings: &ProviderSettings,
    field: &str,
    order: Option<Vec<String>>,
) -> Result<ModelMapping, ConfigError> {
    let map = &settings.model_mapping;
    let mut keys: Vec<String> = order.unwrap_or_default().into_iter().filter(|k| map.contains_key(k)).collect();
    for key in map.keys() {
        if !keys.contains(key) {
            keys.push(key.clone());
        }
    }
    let mut entries = Vec::with_capacity(keys.len());
    for key in keys {
        match map.get(&key) {
            Some(Value::String(target)) => entries.push((key, target.clone())),
            Some(Value::Null) => entries.push((key, String::new())),
            _ => return Err(ConfigError::at(format!("{field}.{key}"), "expected a model name (a string)")),
        }
    }
    ModelMapping::compile(&entries, field)
}

fn base_path(settings: &ProviderSettings, field: &str) -> Result<Option<BasePath>, ConfigError> {
    let path = settings.base_path.trim();
    let prepend = match settings.base_path_handling.as_deref() {
        None | Some("") | Some("removePrefix") => false,
        Some("prepend") => true,
        Some(other) => return Err(ConfigError::at(field, format!("`{other}`: expected removePrefix or prepend"))),
    };
    Ok((!path.is_empty()).then(|| BasePath { path: path.to_string(), prepend }))
}

fn context_of(context: &ContextSettings, timeout: Option<u64>, field: &str) -> Result<ContextFile, ConfigError> {
    if context.file_url.trim().is_empty() {
        return Err(ConfigError::at(format!("{field}.fileUrl"), "missing"));
    }
    if context.service_name.trim().is_empty() {
        return Err(ConfigError::at(format!("{field}.serviceName"), "missing"));
    }
    let port = u16::try_from(context.service_port)
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| ConfigError::at(format!("{field}.servicePort"), "missing or not a port"))?;
    let (host, path, query) = url::split(&context.file_url);
    let path = if query.is_empty() { path.to_string() } else { format!("{path}?{query}") };
    let timeout = timeout.filter(|t| *t != 0).unwrap_or(DEFAULT_TIMEOUT_MS);
    Ok(ContextFile::new(context.service_name.trim(), port, host, &path, timeout))
}

/// `moonshotFileId` (Moonshot only): the uploaded file read as the context.
fn moonshot_file(
    provider: &Provider,
    settings: &ProviderSettings,
    field: &str,
) -> Result<Option<ContextFile>, ConfigError> {
    let id = settings.moonshot_file_id.trim();
    if id.is_empty() || provider.spec.name != "moonshot" {
        return Ok(None);
    }
    if !id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)) {
        return Err(ConfigError::at(field, format!("`{id}`: expected a file id (letters, digits, `-`, `_`, `.`)")));
    }
    let host = provider.provider_domain.as_deref().or(provider.host.as_deref()).unwrap_or_default();
    let timeout = settings.timeout.filter(|t| *t != 0).unwrap_or(DEFAULT_TIMEOUT_MS);
    Ok(Some(ContextFile::moonshot(id, host, timeout)))
}

/// Settings that have no effect here, said at start.
fn not_yet_applied(settings: &ProviderSettings, field: &str) -> Result<(), ConfigError> {
    let native = settings.kind.trim() == "qwen" && settings.qwen_enable_compatible == Some(false);
    if !settings.qwen_file_ids.is_empty() && !native {
        log_warn!("{field}.qwenFileIds: only used by qwen's native protocol (qwenEnableCompatible: false)");
    }
    if settings.reasoning_content_mode.as_deref().is_some_and(|mode| mode != "passthrough") {
        log_warn!("{field}.reasoningContentMode: not applied; reasoning comes back as reasoning_content (passthrough)");
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn provider(config: Value) -> Result<Provider, ConfigError> {
        build(serde_json::from_value(config).unwrap(), "provider", None)
    }

    #[test]
    fn openai_custom_urls() {
        let p =
            provider(json!({"type": "openai", "openaiCustomUrl": "https://proxy.com/v1/chat/completions"})).unwrap();
        assert_eq!(p.host.as_deref(), Some("proxy.com"));
        assert_eq!(p.fixed_path.as_deref(), Some("/v1/chat/completions"));
        let p = provider(json!({"type": "openai", "openaiCustomUrl": "proxy.com/api/openai"})).unwrap();
        assert_eq!(p.fixed_path, None);
        assert_eq!(p.path_of(Api::ChatCompletion), Some("/api/openai/chat/completions"));
        assert_eq!(p.path_of(Api::RetrieveFile), Some("/api/openai/files/{file_id}"));
    }

    #[test]
    fn errors_name_the_field() {
        for (config, path) in [
            (json!({}), "provider.type"),
            (json!({"type": "nope"}), "provider.type"),
            (json!({"type": "hunyuan"}), "provider.type"),
            (json!({"type": "minimax", "apiTokens": ["k"], "minimaxApiType": "pro"}), "provider.minimaxGroupId"),
            (json!({"type": "dify", "apiTokens": ["k"], "botType": "Workflow"}), "provider.inputVariable"),
            (json!({"type": "dify"}), "provider.apiTokens"),
            (json!({"type": "vertex"}), "provider.vertexAuthKey"),
            (json!({"type": "deepseek"}), "provider.apiTokens"),
            (json!({"type": "deepseek", "apiTokens": [""]}), "provider.apiTokens"),
            (json!({"type": "openai", "protocol": "grpc"}), "provider.protocol"),
            (json!({"type": "openai", "modelMapping": {"~(": "x"}}), "provider.modelMapping.~("),
            (json!({"type": "openai", "modelMapping": {"a": 1}}), "provider.modelMapping.a"),
            (json!({"type": "azure", "apiTokens": ["k"]}), "provider.azureServiceUrl"),
            (
                json!({"type": "azure", "apiTokens": ["k"], "azureServiceUrl": "https://a.com"}),
                "provider.azureServiceUrl",
            ),
            (json!({"type": "ollama", "ollamaServerHost": "h"}), "provider.ollamaServerPort"),
            (json!({"type": "openai", "basePathHandling": "x"}), "provider.basePathHandling"),
            (json!({"type": "openai", "failover": {"enabled": true}}), "provider.failover.healthCheckModel"),
            (
                json!({"type": "openai", "context": {"fileUrl": "http://f/x", "serviceName": "s"}}),
                "provider.context.servicePort",
            ),
            (
                json!({"type": "openai", "capabilities": {"openai/v1/chatcompletions": 3}}),
                "provider.capabilities.openai/v1/chatcompletions",
            ),
        ] {
            let err = provider(config.clone()).err().unwrap_or_else(|| panic!("{config} started"));
            assert_eq!(err.path(), path, "{config}: {err}");
        }
    }

    #[test]
    fn per_type_hosts_and_paths() {
        let p = provider(json!({"type": "vllm", "vllmServerHost": "vllm.svc:8000"})).unwrap();
        assert_eq!(p.host.as_deref(), Some("vllm.svc"));
        let p = provider(json!({"type": "ollama", "ollamaServerHost": "o.local", "ollamaServerPort": 11434})).unwrap();
        assert_eq!(p.host.as_deref(), Some("o.local:11434"));
        let p = provider(json!({"type": "cloudflare", "apiTokens": ["k"], "cloudflareAccountId": "acc"})).unwrap();
        assert_eq!(p.path_of(Api::ChatCompletion), Some("/client/v4/accounts/acc/ai/v1/chat/completions"));
        let p = provider(
            json!({"type": "zhipuai", "apiTokens": ["k"], "zhipuCodePlanMode": true, "zhipuDomain": "api.z.ai"}),
        )
        .unwrap();
        assert_eq!(p.path_of(Api::ChatCompletion), Some("/api/coding/paas/v4/chat/completions"));
        assert_eq!(p.host.as_deref(), Some("api.z.ai"));
        let p = provider(json!({"type": "generic"})).unwrap();
        assert_eq!(p.host, None);
        let p = provider(json!({"type": "claude", "apiTokens": ["k"], "apiVersion": "2024-01-01"})).unwrap();
        assert_eq!(p.claude.unwrap().version, "2024-01-01");
        let p = provider(
            json!({"type": "openai", "capabilities": {"openai/v1/chatcompletions": "/mine", "openai/v1/files": "/x"}}),
        )
        .unwrap();
        assert_eq!(p.path_of(Api::ChatCompletion), Some("/mine"));
        assert_eq!(p.path_of(Api::Files), Some("/v1/files"), "files is not a configurable capability");
    }
}
