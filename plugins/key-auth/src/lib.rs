//! key-auth: authenticates requests by an API key found in request headers or query
//! parameters, as Higress's Go plugin of the same name (same config, replies and headers).

use higress_auth::{accept, allowed, check_unique, deny, find_by_secret, AuthScope, Decision};
use higress_sdk::prelude::*;
use higress_sdk::url;

const SCHEME: &str = "Key";

#[derive(Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
struct Consumer {
    name: String,
    credential: String,
}

#[derive(Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
struct Config {
    #[serde(flatten)]
    scope: AuthScope,
    /// Header or query-parameter names that may carry the key.
    keys: Vec<String>,
    #[serde(default)]
    in_header: Option<bool>,
    #[serde(default)]
    in_query: Option<bool>,
    consumers: Vec<Consumer>,
}

#[derive(Default)]
struct KeyAuth;

fn reject(http: &mut Http, status: u32, details: &str, body: &str) -> HeaderAction {
    deny(http, status, details, SCHEME, body, &[]);
    HeaderAction::StopIteration
}

impl HttpPlugin for KeyAuth {
    type Config = Config;
    const MERGE_GLOBAL_INTO_RULES: bool = true;
    const RULE_ONLY_KEYS: &'static [&'static str] = higress_auth::RULE_ONLY_KEYS;

    fn validate_config(config: &mut Config, cx: &ConfigContext) -> Result<(), ConfigError> {
        config.scope.validate(cx)?;
        if config.keys.is_empty() {
            return Err(ConfigError::at("keys", "cannot be empty"));
        }
        if let Some(i) = config.keys.iter().position(|k| k.trim().is_empty()) {
            return Err(ConfigError::at(format!("keys[{i}]"), "cannot be empty"));
        }
        // Go requires one of them; a config that names neither looks in headers only.
        if config.in_header.is_none() && config.in_query.is_none() {
            config.in_header = Some(true);
        }
        if config.in_header != Some(true) && config.in_query != Some(true) {
            return Err(ConfigError::at("in_header", "at least one of in_header and in_query must be true"));
        }
        if config.consumers.is_empty() {
            return Err(ConfigError::at("consumers", "cannot be empty"));
        }
        // Several keys may belong to one consumer: names may repeat, but not be empty.
        if let Some(i) = config.consumers.iter().position(|c| c.name.is_empty()) {
            return Err(ConfigError::at(format!("consumers[{i}].name"), "cannot be empty"));
        }
        check_unique(&config.consumers, "consumers", "credential", |c| c.credential.as_str())
    }

    fn on_request_headers(&mut self, http: &mut Http, config: &Config) -> HeaderAction {
        let decision = config.scope.decision();
        if decision == Decision::Skip {
            // Not protected here: nothing more to do with this request.
            http.skip_rest();
            return HeaderAction::Continue;
        }
        let mut tokens: Vec<String> = Vec::new();
        if config.in_header == Some(true) {
            for key in &config.keys {
                if let Some(value) = http.request_header(key).filter(|v| !v.is_empty()) {
                    tokens.push(value);
                }
            }
        }
        if config.in_query == Some(true) {
            // One pass over the query for every key name; a second key is already one too many.
            tokens.extend(url::query_values_any(http.path(), &config.keys, 2));
        }
        let token = match tokens.as_slice() {
            [] => {
                return reject(
                    http,
                    401,
                    "key-auth.no_key",
                    "Request denied by Key Auth check. No Key Authentication information found.",
                )
            }
            [token] => token,
            _ => {
                return reject(
                    http,
                    401,
                    "key-auth.multi_key",
                    "Request denied by Key Auth check. Multi Key Authentication information found.",
                )
            }
        };
        let Some(consumer) = find_by_secret(&config.consumers, token.as_bytes(), |c| c.credential.as_bytes()) else {
            log_warn!("unknown API key");
            return reject(
                http,
                403,
                "key-auth.unauthorized",
                "Request denied by Key Auth check. Unauthorized consumer.",
            );
        };
        if !allowed(decision, &consumer.name) {
            log_warn!("consumer {:?} is not allowed", consumer.name);
            return reject(
                http,
                403,
                "key-auth.unauthorized",
                "Request denied by Key Auth check. Unauthorized consumer.",
            );
        }
        accept(http, &consumer.name);
        HeaderAction::Continue
    }
}

higress_sdk::export_plugin!("key-auth", KeyAuth);
