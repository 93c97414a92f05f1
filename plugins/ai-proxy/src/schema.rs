//! Schema-only shapes of the keys the config keeps as JSON values or checks by hand (test
//! builds only: they make `config.schema.json`, never the module).

use crate::api::CONFIGURABLE;
use crate::config::settings::ProviderSettings;
use crate::provider::table::{Keys, NOT_YET, SPECS};
use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde_json::{json, Value};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// `type` of a provider object: every Higress type name. The ones this module does not
/// implement yet fail to start when they are the provider in use.
pub struct ProviderType;

impl JsonSchema for ProviderType {
    fn schema_name() -> Cow<'static, str> {
        "ProviderType".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let names: Vec<&str> = SPECS.iter().map(|spec| spec.name).chain(NOT_YET.iter().copied()).collect();
        json_schema!({
            "type": "string",
            "enum": names,
            "description": format!(
                "The provider's type. Not implemented yet (a config using one fails to start): {}.",
                NOT_YET.join(", ")
            ),
        })
    }
}

/// `provider`: the legacy single provider; it is always the one in use, so its `type` must
/// be one this module implements.
pub struct LegacyProvider;

impl JsonSchema for LegacyProvider {
    fn schema_name() -> Cow<'static, str> {
        "LegacyProvider".into()
    }

    /// The provider object, with what starting the provider in use checks on top: a type
    /// this module implements, the keys its type needs, `failover.healthCheckModel`.
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let settings = generator.subschema_for::<ProviderSettings>();
        let names: Vec<&str> = SPECS.iter().map(|spec| spec.name).collect();
        let keyed: Vec<&str> = SPECS.iter().filter(|spec| spec.keys == Keys::Required).map(|spec| spec.name).collect();
        let when = |types: Value, then: Value| json!({"if": {"properties": {"type": {"enum": types}}}, "then": then});
        json_schema!({
            "description": "The provider (legacy form; wins over `providers` when it is an object).",
            "allOf": [
                settings,
                {"properties": {"type": {"enum": names}}},
                when(json!(keyed), json!({
                    "required": ["apiTokens"],
                    "properties": {"apiTokens": {"contains": {"type": "string", "pattern": "\\S"}}},
                })),
                when(json!(["azure"]), json!({
                    "required": ["azureServiceUrl"],
                    "properties": {"azureServiceUrl": {"pattern": "\\S"}},
                })),
                when(json!(["vertex"]), json!({"anyOf": [
                    {
                        "required": ["apiTokens"],
                        "properties": {"apiTokens": {"contains": {"type": "string", "pattern": "\\S"}}},
                    },
                    {"required": ["vertexAuthKey", "vertexRegion", "vertexProjectId", "vertexAuthServiceName"]},
                ]})),
                when(json!(["bedrock"]), json!({
                    "required": ["awsRegion"],
                    "properties": {"awsRegion": {"pattern": "\\S"}},
                    "anyOf": [
                        {
                            "required": ["apiTokens"],
                            "properties": {"apiTokens": {"contains": {"type": "string", "pattern": "\\S"}}},
                        },
                        {"required": ["awsAccessKey", "awsSecretKey"]},
                    ],
                })),
                when(json!(["minimax"]), json!({
                    "if": {"properties": {"minimaxApiType": {"const": "pro"}}, "required": ["minimaxApiType"]},
                    "then": {
                        "required": ["minimaxGroupId"],
                        "properties": {"minimaxGroupId": {"pattern": "\\S"}},
                    },
                })),
                when(json!(["dify"]), json!({
                    "if": {"properties": {"botType": {"const": "Workflow"}}, "required": ["botType"]},
                    "then": {
                        "required": ["inputVariable", "outputVariable"],
                        "properties": {"inputVariable": {"pattern": "\\S"}, "outputVariable": {"pattern": "\\S"}},
                    },
                })),
                when(json!(["ollama"]), json!({
                    "required": ["ollamaServerHost", "ollamaServerPort"],
                    "properties": {"ollamaServerHost": {"pattern": "\\S"}, "ollamaServerPort": {"minimum": 1}},
                })),
                {"properties": {"failover": {
                    "if": {"type": "object", "properties": {"enabled": {"const": true}}, "required": ["enabled"]},
                    "then": {"required": ["healthCheckModel"], "properties": {"healthCheckModel": {"minLength": 1}}},
                }}},
            ],
        })
    }
}

/// `modelMapping`: model asked for → model sent.
pub type ModelMapping = BTreeMap<String, Option<String>>;

/// `capabilities`: API name → path.
pub struct Capabilities;

impl JsonSchema for Capabilities {
    fn schema_name() -> Cow<'static, str> {
        "Capabilities".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let path = json!({"type": "string", "pattern": "^/", "description": "The path requests to this API go to."});
        let properties: serde_json::Map<String, Value> =
            CONFIGURABLE.iter().map(|api| (api.name().to_string(), path.clone())).collect();
        json_schema!({
            "type": "object",
            "properties": properties,
            "description": "API name → path (`\"openai/v1/chatcompletions\": \"/my/chat\"`); a configured path wins \
                            over the type's. Other API names are ignored (logged).",
        })
    }
}

/// `protocol`.
#[derive(JsonSchema)]
#[allow(dead_code)]
pub enum Protocol {
    /// Clients speak OpenAI's protocol (and Anthropic's on `/v1/messages`); the default.
    #[serde(rename = "openai")]
    OpenAi,
    /// Clients speak the provider's own: host and key are rewritten, path and body kept.
    #[serde(rename = "original")]
    Original,
    /// The default (`openai`).
    #[serde(rename = "")]
    Default,
}

/// `basePathHandling`.
#[derive(JsonSchema)]
#[allow(dead_code)]
pub enum BasePathHandling {
    /// `basePath` is removed from the client's path (the default).
    #[serde(rename = "removePrefix")]
    RemovePrefix,
    /// `basePath` is put in front of the provider's path.
    #[serde(rename = "prepend")]
    Prepend,
    /// The default (`removePrefix`).
    #[serde(rename = "")]
    Default,
}

/// `minimaxApiType`.
#[derive(JsonSchema)]
#[allow(dead_code)]
pub enum MinimaxApiType {
    /// ChatCompletion v2, OpenAI's protocol (the default).
    #[serde(rename = "v2")]
    V2,
    /// ChatCompletion Pro, translated both ways (needs `minimaxGroupId`).
    #[serde(rename = "pro")]
    Pro,
    /// The default (`v2`).
    #[serde(rename = "")]
    Default,
}

/// A value given as a string or a number (`minimaxGroupId`).
pub struct StringOrNumber;

impl JsonSchema for StringOrNumber {
    fn schema_name() -> Cow<'static, str> {
        "StringOrNumber".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": ["string", "integer"]})
    }
}

/// `botType`: the Dify app's type.
#[derive(JsonSchema)]
#[allow(dead_code)]
pub enum BotType {
    /// A chatbot or chatflow, `/v1/chat-messages` (the default).
    Chat,
    /// A text generator, `/v1/completion-messages`.
    Completion,
    /// An agent, `/v1/chat-messages` (Dify answers agents only as streams).
    Agent,
    /// A workflow, `/v1/workflows/run` (needs `inputVariable` and `outputVariable`).
    Workflow,
    /// The default (`Chat`).
    #[serde(rename = "")]
    Default,
}

/// `customSettings[].mode`.
#[derive(JsonSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
pub enum SettingMode {
    /// `name` is one of Higress's table (`max_tokens`, `temperature`, `top_p`, `top_k`, `seed`),
    /// written under the protocol's name for it (the default).
    Auto,
    /// `name` is written as given, a dotted path (`a.b` sets `b` inside `a`).
    Raw,
}

/// `failover`: failing keys out of rotation until health checks bring them back.
#[derive(JsonSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct Failover {
    /// Switches failover on (then `healthCheckModel` is required in the provider in use).
    enabled: Option<bool>,
    /// Consecutive failures after which a key is taken out (Higress: 3).
    failure_threshold: Option<u64>,
    /// Successful health checks after which a key is back (Higress: 1).
    success_threshold: Option<u64>,
    /// Milliseconds between health checks (Higress: 5000).
    health_check_interval: Option<u64>,
    /// Milliseconds a health check may take (Higress: 5000).
    health_check_timeout: Option<u64>,
    /// The model health checks ask.
    health_check_model: Option<String>,
    /// Response statuses (regular expressions) counted as failures (Higress: `["4.*", "5.*"]`).
    failover_on_status: Option<Vec<String>>,
}

/// `retryOnFailure`: a failed request retried with another key.
#[derive(JsonSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct RetryOnFailure {
    /// Switches retries on.
    enabled: Option<bool>,
    /// Retries per request (Higress: 1).
    max_retries: Option<u64>,
    /// Milliseconds a retry may take (Higress: 60000).
    retry_timeout: Option<u64>,
    /// Response statuses (regular expressions) retried (Higress: `["4.*", "5.*"]`).
    retry_on_status: Option<Vec<String>>,
}

/// `fallback` (an extension): where a failed request goes next.
#[derive(JsonSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct Fallback {
    /// Reply statuses that fall back: regular expressions of the whole status (default
    /// `["429", "5.*"]`).
    on_status: Option<Vec<String>>,
    /// Fall back when the provider times out or cannot be reached (default true).
    on_timeout: Option<bool>,
    /// Milliseconds each target may take (default 60000).
    timeout: Option<u64>,
    /// The targets, in order.
    #[schemars(length(min = 1))]
    targets: Vec<FallbackTarget>,
}

/// One target of `fallback`: another provider, another model, or both.
#[derive(JsonSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct FallbackTarget {
    /// The `id` of a provider of `providers` (default: the one in use).
    provider_id: Option<String>,
    /// The model asked for there (default: the request's, mapped by that provider).
    model: Option<String>,
    /// The service (as registered in Higress) the target is reached through (default: the
    /// route's cluster).
    service_name: Option<String>,
    /// The service's port (default 443).
    #[schemars(range(min = 1, max = 65535))]
    service_port: Option<u64>,
    /// The `Host` sent (default: the provider's host).
    service_host: Option<String>,
}
