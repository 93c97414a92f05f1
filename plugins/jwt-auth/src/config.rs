//! jwt-auth configuration: consumers with their JWKS (parsed into verifying keys once, at
//! configuration time), token sources and claim mappings.

use crate::verify::Verifier;
use higress_auth::{check_unique, AuthScope};
use higress_sdk::prelude::*;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm};
use jsonwebtoken::Algorithm;
use serde_json::Value;

/// jwt-auth's config: the consumers (global), `global_auth`, and `allow` in rules. A rule is
/// the global config with its keys on top.
#[derive(Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub(crate) struct Config {
    #[serde(flatten)]
    pub scope: AuthScope,
    /// The callers; tried in order, the first whose token verifies wins.
    #[cfg_attr(test, schemars(length(min = 1)))]
    pub consumers: Vec<Consumer>,
    /// Every consumer's query parameter names, each once, in order (set by `validate`): read
    /// from the request in one pass.
    #[serde(skip)]
    pub param_names: Vec<String>,
    /// Every consumer's cookie names, each once, in order (set by `validate`).
    #[serde(skip)]
    pub cookie_names: Vec<String>,
}

/// Copies a claim of the verified token to a request header.
#[derive(Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub(crate) struct ClaimToHeader {
    /// The claim (a top-level claim of the payload).
    #[cfg_attr(test, schemars(length(min = 1)))]
    pub claim: String,
    /// The request header it is copied to; unique.
    #[cfg_attr(test, schemars(length(min = 1)))]
    pub header: String,
    /// `true` replaces the header, `false` adds a value.
    #[serde(default = "yes", rename = "override")]
    pub override_header: bool,
}

/// A request header that carries the token.
#[derive(Deserialize, Clone)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub(crate) struct FromHeader {
    /// The header name.
    #[cfg_attr(test, schemars(regex(pattern = r"\S")))]
    pub name: String,
    /// The prefix stripped from the value (`Bearer `).
    #[serde(default)]
    pub value_prefix: String,
}

/// What `jwks` accepts: the JWKS as a JSON string (as Higress) or as an object.
#[cfg(test)]
#[derive(schemars::JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum Jwks {
    /// The JWKS as a JSON string (`{"keys": [...]}`).
    Text(String),
    /// The JWKS as an object.
    Set(JwkSetShape),
}

/// A JSON Web Key Set (RFC 7517): RSA, EC (P-256, P-384), OKP (Ed25519) and oct keys.
#[cfg(test)]
#[derive(schemars::JsonSchema)]
#[allow(dead_code)]
#[schemars(rename = "JwkSet")]
struct JwkSetShape {
    /// The keys (JWKs).
    #[schemars(length(min = 1))]
    keys: Vec<serde_json::Map<String, Value>>,
}

fn yes() -> bool {
    true
}

fn default_skew() -> u64 {
    60
}

/// A key of a consumer's JWKS, ready to verify.
pub(crate) struct VerifyKey {
    pub kid: Option<String>,
    pub algorithms: Vec<Algorithm>,
    pub verifier: Verifier,
}

/// A caller and how its tokens are found and verified. Without any of `from_headers`,
/// `from_params`, `from_cookies`, the token is taken from `Authorization: Bearer`, then
/// `?access_token=`.
#[derive(Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub(crate) struct Consumer {
    /// Consumer name (unique), sent upstream in `X-Mse-Consumer`.
    #[cfg_attr(test, schemars(length(min = 1)))]
    pub name: String,
    /// The JWKS, as a JSON string (as Higress) or an object.
    #[cfg_attr(test, schemars(with = "Jwks"))]
    jwks: Value,
    /// Must equal the token's `iss` (empty: not checked).
    #[serde(default)]
    pub issuer: String,
    /// Claims copied to request headers.
    #[serde(default)]
    pub claims_to_headers: Vec<ClaimToHeader>,
    /// Headers carrying the token, with the prefix to strip.
    #[serde(default)]
    pub from_headers: Option<Vec<FromHeader>>,
    /// Query parameters carrying the token.
    #[serde(default)]
    pub from_params: Option<Vec<String>>,
    /// Cookies carrying the token.
    #[serde(default)]
    pub from_cookies: Option<Vec<String>>,
    /// Tolerance in seconds for `exp`, `nbf`, `iat`.
    #[serde(default = "default_skew")]
    pub clock_skew_seconds: u64,
    /// `false` removes the token from where it came before the request goes upstream.
    #[serde(default = "yes")]
    pub keep_token: bool,
    #[serde(skip)]
    pub keys: Vec<VerifyKey>,
    #[serde(skip)]
    pub verified: crate::cache::VerifiedTokens,
}

impl Config {
    pub(crate) fn validate(&mut self, cx: &ConfigContext) -> Result<(), ConfigError> {
        self.scope.validate(cx)?;
        if self.consumers.is_empty() {
            return Err(ConfigError::at("consumers", "at least one consumer must be configured"));
        }
        check_unique(&self.consumers, "consumers", "name", |c| c.name.as_str())?;
        for (i, consumer) in self.consumers.iter_mut().enumerate() {
            consumer.prepare().map_err(|e| e.within(&format!("consumers[{i}]")))?;
        }
        let distinct = |names_of: fn(&Consumer) -> Option<&Vec<String>>| {
            let mut names: Vec<String> = Vec::new();
            for name in self.consumers.iter().filter_map(names_of).flatten() {
                if !names.contains(name) {
                    names.push(name.clone());
                }
            }
            names
        };
        self.param_names = distinct(|c| c.from_params.as_ref());
        self.cookie_names = distinct(|c| c.from_cookies.as_ref());
        Ok(())
    }
}

impl Consumer {
    fn prepare(&mut self) -> Result<(), ConfigError> {
        let set: JwkSet = match &self.jwks {
            Value::String(text) => serde_json::from_str(text),
            other => serde_json::from_value(other.clone()),
        }
        .map_err(|e| ConfigError::at("jwks", format!("invalid JWKS: {e}")))?;
        if set.keys.is_empty() {
            return Err(ConfigError::at("jwks", "the JWKS has no keys"));
        }
        self.keys = set
            .keys
            .iter()
            .enumerate()
            .map(|(i, jwk)| verify_key(jwk).map_err(|e| ConfigError::at(format!("jwks.keys[{i}]"), e)))
            .collect::<Result<_, _>>()?;
        // Without any source configured: `Authorization: Bearer`, then `?access_token=`.
        if self.from_headers.is_none() && self.from_params.is_none() && self.from_cookies.is_none() {
            self.from_headers = Some(vec![FromHeader { name: "Authorization".into(), value_prefix: "Bearer ".into() }]);
            self.from_params = Some(vec!["access_token".into()]);
        }
        for (i, header) in self.from_headers.iter().flatten().enumerate() {
            if header.name.trim().is_empty() {
                return Err(ConfigError::at(format!("from_headers[{i}].name"), "cannot be empty"));
            }
        }
        check_unique(&self.claims_to_headers, "claims_to_headers", "header", |c| c.header.as_str())?;
        if let Some(i) = self.claims_to_headers.iter().position(|c| c.claim.is_empty()) {
            return Err(ConfigError::at(format!("claims_to_headers[{i}].claim"), "cannot be empty"));
        }
        Ok(())
    }
}

/// The key and the algorithms it may verify: the JWK's `alg` when given, else every
/// algorithm of its key type. A token whose `alg` is not among them is rejected, so an
/// RSA public key can never be used as an HMAC secret.
fn verify_key(jwk: &Jwk) -> Result<VerifyKey, String> {
    let by_type = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => {
            vec![
                Algorithm::RS256,
                Algorithm::RS384,
                Algorithm::RS512,
                Algorithm::PS256,
                Algorithm::PS384,
                Algorithm::PS512,
            ]
        }
        AlgorithmParameters::EllipticCurve(ec) => match ec.curve {
            EllipticCurve::P256 => vec![Algorithm::ES256],
            EllipticCurve::P384 => vec![Algorithm::ES384],
            ref other => return Err(format!("unsupported EC curve {other:?} (P-256 and P-384 are)")),
        },
        AlgorithmParameters::OctetKeyPair(okp) => match okp.curve {
            EllipticCurve::Ed25519 => vec![Algorithm::EdDSA],
            ref other => return Err(format!("unsupported OKP curve {other:?} (Ed25519 is)")),
        },
        AlgorithmParameters::OctetKey(_) => vec![Algorithm::HS256, Algorithm::HS384, Algorithm::HS512],
        _ => return Err("unsupported key type".into()),
    };
    let algorithms = match jwk.common.key_algorithm {
        None => by_type,
        Some(alg) => {
            let alg = signing_algorithm(alg).ok_or_else(|| format!("`alg` {alg:?} is not a signature algorithm"))?;
            if !by_type.contains(&alg) {
                return Err(format!("`alg` {alg:?} does not fit the key type"));
            }
            vec![alg]
        }
    };
    let verifier = Verifier::from_jwk(jwk).map_err(|e| format!("invalid key: {e}"))?;
    Ok(VerifyKey { kid: jwk.common.key_id.clone(), algorithms, verifier })
}

fn signing_algorithm(alg: KeyAlgorithm) -> Option<Algorithm> {
    Some(match alg {
        KeyAlgorithm::HS256 => Algorithm::HS256,
        KeyAlgorithm::HS384 => Algorithm::HS384,
        KeyAlgorithm::HS512 => Algorithm::HS512,
        KeyAlgorithm::ES256 => Algorithm::ES256,
        KeyAlgorithm::ES384 => Algorithm::ES384,
        KeyAlgorithm::RS256 => Algorithm::RS256,
        KeyAlgorithm::RS384 => Algorithm::RS384,
        KeyAlgorithm::RS512 => Algorithm::RS512,
        KeyAlgorithm::PS256 => Algorithm::PS256,
        KeyAlgorithm::PS384 => Algorithm::PS384,
        KeyAlgorithm::PS512 => Algorithm::PS512,
        KeyAlgorithm::EdDSA => Algorithm::EdDSA,
        _ => return None,
    })
}
