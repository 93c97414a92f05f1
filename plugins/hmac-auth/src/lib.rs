//! hmac-auth: verifies Aliyun-API-gateway-style HMAC request signatures, as Higress's C++
//! `hmac-auth` plugin (same config, status codes and bodies).

mod params;
mod sign;

use higress_auth::{accept, allowed, check_unique, deny, find_by_secret, AuthScope, Decision};
use higress_sdk::prelude::*;
use higress_sdk::{hostcalls, url};
use sign::SigningRequest;

const SCHEME: &str = "HMAC";
/// Largest body read for Content-MD5 and form signatures.
const MAX_BODY: usize = 32 * 1024 * 1024;

/// A caller's key and secret (an entry of `credentials`).
#[derive(Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
struct Consumer {
    /// Matched against the request's `x-ca-key`; unique.
    #[cfg_attr(test, schemars(length(min = 1)))]
    key: String,
    /// The signing secret.
    #[cfg_attr(test, schemars(length(min = 1)))]
    secret: String,
    /// Legacy `credentials` entries have no name (and so never pass an `allow` list).
    #[serde(default)]
    name: Option<String>,
}

/// A caller (an entry of `consumers`): its name is required.
#[cfg(test)]
#[derive(schemars::JsonSchema)]
#[allow(dead_code)]
struct NamedConsumer {
    /// Matched against the request's `x-ca-key`; unique.
    #[schemars(length(min = 1))]
    key: String,
    /// The signing secret.
    #[schemars(length(min = 1))]
    secret: String,
    /// Consumer name, sent upstream in `X-Mse-Consumer`.
    #[schemars(length(min = 1))]
    name: String,
}

/// hmac-auth's config: `consumers` (or the older `credentials`, not both), `date_offset`,
/// `global_auth`, and `allow` in rules. A rule is the global config with its keys on top.
#[derive(Deserialize)]
#[cfg_attr(
    test,
    derive(schemars::JsonSchema),
    schemars(extend("oneOf" = [
        {"required": ["consumers"], "properties": {"consumers": {"type": "array"}}},
        {"required": ["credentials"], "properties": {"credentials": {"type": "array"}}},
    ]))
)]
struct Config {
    #[serde(flatten)]
    scope: AuthScope,
    /// The callers: `key` is matched against `x-ca-key` (unique), `name` is sent upstream in
    /// `X-Mse-Consumer`.
    #[serde(default)]
    #[cfg_attr(test, schemars(with = "Option<Vec<NamedConsumer>>", length(min = 1)))]
    consumers: Option<Vec<Consumer>>,
    /// The older form of `consumers`, without names (cannot be combined with `consumers`;
    /// never passes an `allow` list).
    #[serde(default)]
    #[cfg_attr(test, schemars(length(min = 1)))]
    credentials: Option<Vec<Consumer>>,
    /// Largest allowed distance in seconds between the request's `Date` (or
    /// `x-ca-timestamp`) and now; unset or 0: no check.
    #[serde(default)]
    #[cfg_attr(test, schemars(range(min = 0)))]
    date_offset: Option<i64>,
    #[serde(skip)]
    all: Vec<Consumer>,
}

/// Why a request is refused; each maps to the C++ plugin's reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Denial {
    InvalidKey,
    EmptySignature,
    Unauthorized,
    InvalidSignature,
    InvalidContentMd5,
    InvalidDate,
    BodyTooLarge,
}

/// Refuses the request; a signature mismatch shows the server's string to sign (built
/// here, not in [`check`], so `make bench` can tell the signature check's cost apart).
fn reject(http: &mut Http, denial: Denial, string_to_sign: Option<&str>) {
    let (status, details, body) = match denial {
        Denial::InvalidKey => (401, "hmac-auth.invalid_key", "Invalid Key"),
        Denial::EmptySignature => (401, "hmac-auth.empty_signature", "Empty Signature"),
        Denial::Unauthorized => (403, "hmac-auth.unauthorized_consumer", "Unauthorized Consumer"),
        Denial::InvalidSignature => (400, "hmac-auth.invalid_signature", "Invalid Signature"),
        Denial::InvalidContentMd5 => (400, "hmac-auth.invalid_content_md5", "Invalid Content-MD5"),
        Denial::InvalidDate => (400, "hmac-auth.invalid_date", "Invalid Date"),
        Denial::BodyTooLarge => (413, "hmac-auth.body_too_large", "Request Body Too Large"),
    };
    let message = string_to_sign.map(server_string_to_sign);
    let extra: Vec<(&str, &str)> = message.as_deref().map(|m| ("x-ca-error-message", m)).into_iter().collect();
    deny(http, status, details, SCHEME, body, &extra);
}

/// A request whose verification waits for its body.
struct Pending {
    request: SigningRequest,
    consumer: usize,
    content_md5: String,
    form: bool,
}

#[derive(Default)]
struct HmacAuth {
    pending: Option<Pending>,
}

impl HttpPlugin for HmacAuth {
    type Config = Config;
    const MERGE_GLOBAL_INTO_RULES: bool = true;
    const RULE_ONLY_KEYS: &'static [&'static str] = higress_auth::RULE_ONLY_KEYS;

    fn validate_config(config: &mut Config, cx: &ConfigContext) -> Result<(), ConfigError> {
        config.scope.validate(cx)?;
        let (field, list) = match (config.consumers.take(), config.credentials.take()) {
            (Some(_), Some(_)) => return Err(ConfigError::at("credentials", "cannot be used together with consumers")),
            (Some(c), None) => ("consumers", c),
            (None, Some(c)) => ("credentials", c),
            (None, None) => return Err(ConfigError::at("consumers", "is required")),
        };
        if list.is_empty() {
            return Err(ConfigError::at(field, "cannot be empty"));
        }
        check_unique(&list, field, "key", |c| c.key.as_str())?;
        for (i, c) in list.iter().enumerate() {
            if c.secret.is_empty() {
                return Err(ConfigError::at(format!("{field}[{i}].secret"), "cannot be empty"));
            }
            if field == "consumers" && c.name.as_deref().unwrap_or_default().is_empty() {
                return Err(ConfigError::at(format!("{field}[{i}].name"), "is required"));
            }
        }
        if config.date_offset.is_some_and(|d| d < 0) {
            return Err(ConfigError::at("date_offset", "cannot be negative"));
        }
        config.all = list;
        Ok(())
    }

    fn on_request_headers(&mut self, http: &mut Http, config: &Config) -> HeaderAction {
        let decision = config.scope.decision();
        if decision == Decision::Skip {
            // Not protected here: nothing more to do with this request.
            http.skip_rest();
            return HeaderAction::Continue;
        }
        let header = |name: &str| http.request_header(name).unwrap_or_default();
        let key = header("x-ca-key");
        let Some(index) = (!key.is_empty()).then(|| find_index(&config.all, &key)).flatten() else {
            reject(http, Denial::InvalidKey, None);
            return HeaderAction::StopIteration;
        };
        let consumer = config.all.get(index);
        let name = consumer.and_then(|c| c.name.as_deref());
        let permitted = match name {
            Some(name) => allowed(decision, name),
            None => !matches!(decision, Decision::Authorize(_)),
        };
        if !permitted {
            reject(http, Denial::Unauthorized, None);
            return HeaderAction::StopIteration;
        }
        let request = SigningRequest::from_headers(http);
        let content_md5 = header("content-md5");
        let form = header("content-type").to_ascii_lowercase().contains("application/x-www-form-urlencoded");
        if (form || !content_md5.is_empty()) && http.has_request_body() {
            // The signature (form parameters) or the Content-MD5 needs the body: hold the
            // headers until it is read.
            self.pending = Some(Pending { request, consumer: index, content_md5, form });
            http.buffer_request_body();
            return HeaderAction::StopIteration;
        }
        if !content_md5.is_empty() {
            reject(http, Denial::InvalidContentMd5, None);
            return HeaderAction::StopIteration;
        }
        match check(config, index, &request, &[]) {
            Ok(()) => {
                if let Some(name) = name {
                    accept(http, name);
                }
                HeaderAction::Continue
            }
            Err((denial, message)) => {
                reject(http, denial, message.as_deref());
                HeaderAction::StopIteration
            }
        }
    }

    fn on_request_body(&mut self, http: &mut Http, config: &Config, body: &[u8]) -> DataAction {
        let Some(pending) = self.pending.take() else { return DataAction::Continue };
        if body.len() > MAX_BODY {
            reject(http, Denial::BodyTooLarge, None);
            return DataAction::StopIterationNoBuffer;
        }
        if !pending.content_md5.is_empty() && (body.is_empty() || sign::content_md5(body) != pending.content_md5) {
            reject(http, Denial::InvalidContentMd5, None);
            return DataAction::StopIterationNoBuffer;
        }
        let params = if pending.form { url::parse_query(&String::from_utf8_lossy(body)) } else { Vec::new() };
        match check(config, pending.consumer, &pending.request, &params) {
            Ok(()) => {
                if let Some(name) = config.all.get(pending.consumer).and_then(|c| c.name.as_deref()) {
                    accept(http, name);
                }
                DataAction::Continue
            }
            Err((denial, message)) => {
                reject(http, denial, message.as_deref());
                DataAction::StopIterationNoBuffer
            }
        }
    }
}

/// The index of the consumer with key `key` (keys are not secret; compared in constant time
/// anyway, like every credential).
fn find_index(all: &[Consumer], key: &str) -> Option<usize> {
    let found = find_by_secret(all, key.as_bytes(), |c| c.key.as_bytes())?;
    all.iter().position(|c| std::ptr::eq(c, found))
}

/// Signature, then date, as the C++ plugin orders them. A function of its own: `make bench`
/// tells the signature check's instructions apart by its frame.
#[inline(never)]
fn check(
    config: &Config,
    consumer: usize,
    request: &SigningRequest,
    body_params: &[(String, String)],
) -> Result<(), (Denial, Option<String>)> {
    if request.signature.is_empty() {
        return Err((Denial::EmptySignature, None));
    }
    if let Some(offset) = config.date_offset.filter(|o| *o > 0) {
        let now = hostcalls::current_time_nanos().unwrap_or(0);
        let sent = request.time_nanos().ok_or((Denial::InvalidDate, None))?;
        let distance = (i128::from(sent) - i128::from(now)).unsigned_abs();
        if distance > u128::try_from(offset).unwrap_or(0) * 1_000_000_000 {
            return Err((Denial::InvalidDate, None));
        }
    }
    let secret = config.all.get(consumer).map(|c| c.secret.as_bytes()).unwrap_or_default();
    let string_to_sign = request.string_to_sign(body_params);
    if !sign::verify(&request.method, secret, &string_to_sign, &request.signature) {
        log_debug!("signature mismatch");
        return Err((Denial::InvalidSignature, Some(string_to_sign)));
    }
    Ok(())
}

/// The `x-ca-error-message` of a signature mismatch: the server's string to sign, with `#`
/// for each line break. Built in one allocation with a fast search for the breaks: the string
/// reaches 60 KiB.
fn server_string_to_sign(string_to_sign: &str) -> String {
    const PREFIX: &str = "Server StringToSign:`";
    let mut message = String::with_capacity(PREFIX.len() + string_to_sign.len() + 1);
    message.push_str(PREFIX);
    let mut rest = string_to_sign;
    while let Some(i) = higress_sdk::scan::find(rest.as_bytes(), b'\n') {
        message.push_str(rest.get(..i).unwrap_or_default());
        message.push('#');
        rest = rest.get(i + 1..).unwrap_or_default();
    }
    message.push_str(rest);
    message.push('`');
    message
}

higress_sdk::export_plugin!("hmac-auth", HmacAuth);
