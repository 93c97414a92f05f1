//! Amazon Bedrock: chat goes to the mapped model's Converse API
//! (`/model/{model}/converse`, `/converse-stream` for streams) at
//! `bedrock-runtime.{awsRegion}.amazonaws.com`, authorised by an API key (`apiTokens`, as
//! `Bearer`) or signed with Signature Version 4 from `awsAccessKey`/`awsSecretKey` (and
//! `awsSessionToken` for temporary credentials, which Go could not use).
//!
//! A signature covers the body, so it is computed on the body as it leaves: after the
//! translation, `bedrockAdditionalFields` and the context file.

use crate::config::settings::ProviderSettings;
use higress_ai::bedrock::sigv4::{self, Credentials, Request};
use higress_sdk::config::ConfigError;
use higress_sdk::Http;
use serde_json::{Map, Value};

/// AWS's name of the service in a signature's scope.
const SERVICE: &str = "bedrock";

/// Bedrock's settings.
#[derive(Debug)]
pub struct Bedrock {
    region: String,
    /// Signing keys (`None`: `apiTokens` go as `Bearer`).
    keys: Option<Keys>,
    /// `bedrockAdditionalFields`: merged into `additionalModelRequestFields`.
    additional_fields: Map<String, Value>,
}

/// An access key pair, and the session token of temporary credentials.
struct Keys {
    access: String,
    secret: String,
    session: Option<String>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret.
        f.debug_struct("Keys").field("access", &self.access).finish()
    }
}

impl Bedrock {
    /// Reads the settings of a `bedrock` provider at `field`.
    pub fn parse(settings: &ProviderSettings, field: &str) -> Result<Bedrock, ConfigError> {
        let at = |key: &str| format!("{field}.{key}");
        let region = settings.aws_region.trim();
        if region.is_empty() {
            return Err(ConfigError::at(at("awsRegion"), "missing"));
        }
        if !region.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(ConfigError::at(at("awsRegion"), format!("`{region}` is not an AWS region")));
        }
        let has_tokens = settings.api_tokens.iter().any(|k| !k.trim().is_empty());
        let (access, secret) = (settings.aws_access_key.trim(), settings.aws_secret_key.trim());
        if has_tokens && !(access.is_empty() && secret.is_empty()) {
            // As Higress: API keys win over the access key pair.
            higress_sdk::log_warn!("{field}.awsAccessKey: not used: apiTokens (Bedrock API keys) are");
            return Ok(Bedrock {
                region: region.to_string(),
                keys: None,
                additional_fields: settings.bedrock_additional_fields.clone(),
            });
        }
        let keys = match (access.is_empty(), secret.is_empty()) {
            (false, false) => Some(Keys {
                access: access.to_string(),
                secret: secret.to_string(),
                session: Some(settings.aws_session_token.trim().to_string()).filter(|t| !t.is_empty()),
            }),
            (true, true) if has_tokens => None,
            (true, true) => {
                return Err(ConfigError::at(
                    at("awsAccessKey"),
                    "missing: awsAccessKey and awsSecretKey to sign requests, or apiTokens (Bedrock API keys)",
                ))
            }
            (true, false) => return Err(ConfigError::at(at("awsAccessKey"), "missing (awsSecretKey is set)")),
            (false, true) => return Err(ConfigError::at(at("awsSecretKey"), "missing (awsAccessKey is set)")),
        };
        Ok(Bedrock { region: region.to_string(), keys, additional_fields: settings.bedrock_additional_fields.clone() })
    }

    /// The host requests go to.
    pub fn host(&self) -> String {
        format!("bedrock-runtime.{}.amazonaws.com", self.region)
    }

    /// Whether requests are signed (their body must then be read).
    pub fn signs(&self) -> bool {
        self.keys.is_some()
    }

    /// The path of a chat request to `model`.
    pub fn chat_path(&self, model: &str, stream: bool) -> String {
        let action = if stream { "converse-stream" } else { "converse" };
        format!("/model/{}/{action}", escape(model))
    }

    /// Adds `bedrockAdditionalFields` to a translated request (the request's own win).
    pub fn complete(&self, body: &mut Value) {
        if self.additional_fields.is_empty() {
            return;
        }
        let Value::Object(body) = body else { return };
        let fields = body.entry("additionalModelRequestFields").or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(fields) = fields {
            for (key, value) in &self.additional_fields {
                fields.entry(key.clone()).or_insert_with(|| value.clone());
            }
        }
    }

    /// Signs the request as it leaves, with `body`, at `now` (Unix seconds).
    pub fn sign(&self, http: &mut Http, body: &[u8], now: u64) {
        let Some(keys) = &self.keys else { return };
        // As they leave: the gateway rewrote both (`http.host()` and `http.path()` are the
        // client's).
        let host = http.request_header(":authority").unwrap_or_default();
        let full = http.request_header(":path").unwrap_or_default();
        let (path, query) = full.split_once('?').unwrap_or((full.as_str(), ""));
        let hash = sigv4::payload_hash(body);
        let request = Request { method: "POST", host: &host, path, query, headers: &[], payload_sha256: &hash };
        let credentials =
            Credentials { access_key: &keys.access, secret_key: &keys.secret, session_token: keys.session.as_deref() };
        let signed = sigv4::sign(&request, &credentials, &self.region, SERVICE, now);
        for (name, value) in signed.headers() {
            http.set_request_header(name, &value);
        }
    }
}

/// A model id as one path segment: everything but unreserved characters percent-encoded
/// (`anthropic.claude-3-5-sonnet-20240620-v1:0` → `...v1%3A0`; an ARN's `/` → `%2F`).
fn escape(model: &str) -> String {
    let mut out = String::with_capacity(model.len() + 8);
    for byte in model.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn bedrock(config: Value) -> Result<Bedrock, ConfigError> {
        let settings: ProviderSettings = serde_json::from_value(config).unwrap();
        Bedrock::parse(&settings, "provider")
    }

    #[test]
    fn paths_escape_the_model() {
        let b = bedrock(json!({"type": "bedrock", "awsRegion": "us-east-1", "apiTokens": ["k"]})).unwrap();
        assert_eq!(b.host(), "bedrock-runtime.us-east-1.amazonaws.com");
        assert!(!b.signs());
        assert_eq!(
            b.chat_path("anthropic.claude-3-5-sonnet-20240620-v1:0", false),
            "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse"
        );
        assert_eq!(
            b.chat_path("arn:aws:bedrock:us-east-1:1:inference-profile/us.x", true),
            "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A1%3Ainference-profile%2Fus.x/converse-stream"
        );
    }

    #[test]
    fn settings_are_checked_field_by_field() {
        let error = bedrock(json!({"type": "bedrock"})).unwrap_err();
        assert_eq!(error.to_string(), "provider.awsRegion: missing");
        let error = bedrock(json!({"type": "bedrock", "awsRegion": "us-east-1"})).unwrap_err();
        assert!(error.to_string().starts_with("provider.awsAccessKey: missing"), "{error}");
        let error = bedrock(json!({"type": "bedrock", "awsRegion": "us-east-1", "awsAccessKey": "A"})).unwrap_err();
        assert!(error.to_string().starts_with("provider.awsSecretKey: missing"), "{error}");
        let error = bedrock(json!({"type": "bedrock", "awsRegion": "us east"})).unwrap_err();
        assert!(error.to_string().starts_with("provider.awsRegion: `us east`"), "{error}");
        let b = bedrock(json!({"type": "bedrock", "awsRegion": "eu-west-1", "awsAccessKey": "A", "awsSecretKey": "S"}));
        assert!(b.unwrap().signs());
    }

    #[test]
    fn additional_fields_fill_in_what_the_request_lacks() {
        let b = bedrock(json!({"type": "bedrock", "awsRegion": "us-east-1", "apiTokens": ["k"],
            "bedrockAdditionalFields": {"top_k": 40, "anthropic_beta": ["x"]}}))
        .unwrap();
        let mut body = json!({"messages": [], "additionalModelRequestFields": {"top_k": 5}});
        b.complete(&mut body);
        assert_eq!(body["additionalModelRequestFields"], json!({"top_k": 5, "anthropic_beta": ["x"]}));
    }
}
