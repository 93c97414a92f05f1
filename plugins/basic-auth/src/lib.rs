//! basic-auth: authenticates requests by HTTP Basic credentials (RFC 7617), as Higress's Go
//! plugin of the same name (same config, replies and headers).

use base64::Engine;
use higress_auth::{accept, allowed, check_unique, deny, secret_eq, AuthScope, Decision};
use higress_sdk::ascii;
use higress_sdk::prelude::*;

const SCHEME: &str = "Basic";
const NO_AUTH: &str = "Request denied by Basic Auth check. No Basic Authentication information found.";
const INVALID: &str = "Request denied by Basic Auth check. Invalid username and/or password.";
const UNAUTHORIZED: &str = "Request denied by Basic Auth check. Unauthorized consumer.";

/// A caller.
#[derive(Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
struct Consumer {
    /// Consumer name, sent upstream in `X-Mse-Consumer`.
    #[cfg_attr(test, schemars(length(min = 1)))]
    name: String,
    /// `user:password`; unique; the user is not empty, the password may contain `:`.
    #[cfg_attr(test, schemars(regex(pattern = "^[^:]+:")))]
    credential: String,
    #[serde(skip)]
    user: String,
    #[serde(skip)]
    password: String,
}

/// basic-auth's config: the consumers (global), `global_auth`, and `allow` in rules. A rule
/// is the global config with its keys on top.
#[derive(Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
struct Config {
    #[serde(flatten)]
    scope: AuthScope,
    /// The callers and their credentials.
    #[cfg_attr(test, schemars(length(min = 1)))]
    consumers: Vec<Consumer>,
}

#[derive(Default)]
struct BasicAuth;

fn reject(http: &mut Http, status: u32, details: &str, body: &str) -> HeaderAction {
    deny(http, status, details, SCHEME, body, &[]);
    HeaderAction::StopIteration
}

/// `user:password` from an `Authorization` value; `Err(true)` when it is not Basic at all,
/// `Err(false)` when it is Basic but malformed.
fn credentials(authorization: &[u8]) -> Result<(Vec<u8>, Vec<u8>), bool> {
    let authorization = match std::str::from_utf8(authorization) {
        Ok(text) => text,
        // Bytes that are not UTF-8 are not base64 either: only the scheme before them can
        // tell "not Basic" from "malformed Basic". Read as bytes, so 60 KiB of them costs a
        // scan, not a lossy copy three times their size.
        Err(error) => {
            let valid = authorization.get(..error.valid_up_to()).unwrap_or_default();
            let valid = std::str::from_utf8(valid).unwrap_or_default();
            return match ascii::trim_start(valid).split_once(' ') {
                Some((scheme, _)) if scheme.eq_ignore_ascii_case(SCHEME) => Err(false),
                _ => Err(true),
            };
        }
    };
    let (scheme, rest) = ascii::trim_start(authorization).split_once(' ').ok_or(true)?;
    if !scheme.eq_ignore_ascii_case(SCHEME) {
        return Err(true);
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(ascii::trim(rest)).map_err(|_| false)?;
    // RFC 7617: the user-id ends at the first colon; the password may contain colons.
    let colon = higress_sdk::scan::find(&decoded, b':').ok_or(false)?;
    let (user, password) = decoded.split_at(colon);
    Ok((user.to_vec(), password.get(1..).unwrap_or_default().to_vec()))
}

impl HttpPlugin for BasicAuth {
    type Config = Config;
    const MERGE_GLOBAL_INTO_RULES: bool = true;
    const RULE_ONLY_KEYS: &'static [&'static str] = higress_auth::RULE_ONLY_KEYS;

    fn validate_config(config: &mut Config, cx: &ConfigContext) -> Result<(), ConfigError> {
        config.scope.validate(cx)?;
        if config.consumers.is_empty() {
            return Err(ConfigError::at("consumers", "cannot be empty"));
        }
        check_unique(&config.consumers, "consumers", "credential", |c| c.credential.as_str())?;
        for (i, consumer) in config.consumers.iter_mut().enumerate() {
            if consumer.name.is_empty() {
                return Err(ConfigError::at(format!("consumers[{i}].name"), "cannot be empty"));
            }
            let Some((user, password)) = consumer.credential.split_once(':') else {
                return Err(ConfigError::at(format!("consumers[{i}].credential"), "must be `user:password`"));
            };
            if user.is_empty() {
                return Err(ConfigError::at(format!("consumers[{i}].credential"), "the user name is empty"));
            }
            consumer.user = user.to_string();
            consumer.password = password.to_string();
        }
        Ok(())
    }

    fn on_request_headers(&mut self, http: &mut Http, config: &Config) -> HeaderAction {
        let decision = config.scope.decision();
        if decision == Decision::Skip {
            // Not protected here: nothing more to do with this request.
            http.skip_rest();
            return HeaderAction::Continue;
        }
        let authorization = http.request_header_bytes("authorization").unwrap_or_default();
        let (user, password) = match credentials(&authorization) {
            Ok(pair) => pair,
            Err(true) => return reject(http, 401, "basic-auth.no_auth_data", NO_AUTH),
            Err(false) => return reject(http, 401, "basic-auth.bad_credential", INVALID),
        };
        // Every consumer is compared, in constant time, whatever matches.
        let mut found = None;
        for consumer in &config.consumers {
            let matches =
                secret_eq(consumer.user.as_bytes(), &user) & secret_eq(consumer.password.as_bytes(), &password);
            if matches && found.is_none() {
                found = Some(consumer);
            }
        }
        let Some(consumer) = found else {
            log_warn!("invalid basic credentials");
            return reject(http, 401, "basic-auth.bad_credential", INVALID);
        };
        if !allowed(decision, &consumer.name) {
            log_warn!("consumer {:?} is not allowed", consumer.name);
            return reject(http, 403, "basic-auth.unauthorized", UNAUTHORIZED);
        }
        accept(http, &consumer.name);
        HeaderAction::Continue
    }
}

higress_sdk::export_plugin!("basic-auth", BasicAuth);
