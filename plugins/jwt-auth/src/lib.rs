//! jwt-auth: authenticates requests by a JWT verified against each consumer's JWKS, as
//! Higress's Go plugin of the same name (same config, replies and headers).

mod cache;
mod config;
mod es256;
mod montgomery;
mod rsa;
mod token;
mod verify;

use config::{Config, Consumer};
use higress_auth::{accept, allowed, deny, Decision};
use higress_sdk::prelude::*;
use higress_sdk::{hostcalls, url};
use serde_json::Value;
use token::{Denial, Source};

const SCHEME: &str = "JWT";

#[derive(Default)]
struct JwtAuth;

impl Denial {
    fn reply(self) -> (u32, &'static str, &'static str) {
        match self {
            Denial::Missing => (401, "jwt-auth.token_missing", "Request denied by JWT Auth check. JWT is missing."),
            Denial::Expired => (401, "jwt-auth.token_expired", "Request denied by JWT Auth check. JWT is expired."),
            Denial::Invalid => {
                (401, "jwt-auth.verification_failed", "Request denied by JWT Auth check. JWT verification fails")
            }
            Denial::Unauthorized => {
                (403, "jwt-auth.unauthorized_customer", "Request denied by JWT Auth check. Unauthorized consumer.")
            }
            Denial::NotAllowed => {
                (403, "jwt-auth.not_allowed_by_default", "Request denied by JWT Auth check. JWT token not allow.")
            }
        }
    }
}

fn reject(http: &mut Http, denial: Denial) -> HeaderAction {
    let (status, details, body) = denial.reply();
    deny(http, status, details, SCHEME, body, &[]);
    HeaderAction::StopIteration
}

/// Copies claims into request headers (`claims_to_headers`).
fn claims_to_headers(http: &mut Http, consumer: &Consumer, claims: &Value) {
    for mapping in &consumer.claims_to_headers {
        let Some(value) = claims.get(&mapping.claim) else { continue };
        let text = match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        if mapping.override_header {
            http.set_request_header(&mapping.header, &text);
        } else {
            http.add_request_header(&mapping.header, &text);
        }
    }
}

/// Removes the token from where it came (`keep_token: false`).
fn drop_token(http: &mut Http, source: &Source) {
    match source {
        Source::Header(name) => {
            http.remove_request_header(name);
        }
        Source::Param(name) => {
            let path = url::remove_query_param(http.path(), name);
            http.set_request_header(":path", &path);
        }
        Source::Cookie(name) => {
            let cookie = http.request_header("cookie").unwrap_or_default();
            let rest = higress_sdk::cookie::without(&cookie, name);
            if rest.is_empty() {
                http.remove_request_header("cookie");
            } else {
                http.set_request_header("cookie", &rest);
            }
        }
    }
}

impl HttpPlugin for JwtAuth {
    type Config = Config;
    const MERGE_GLOBAL_INTO_RULES: bool = true;
    const RULE_ONLY_KEYS: &'static [&'static str] = higress_auth::RULE_ONLY_KEYS;

    fn validate_config(config: &mut Config, cx: &ConfigContext) -> Result<(), ConfigError> {
        config.validate(cx)
    }

    fn on_request_headers(&mut self, http: &mut Http, config: &Config) -> HeaderAction {
        let decision = config.scope.decision();
        if decision == Decision::Skip {
            // Not protected here: nothing more to do with this request.
            http.skip_rest();
            return HeaderAction::Continue;
        }
        let now = hostcalls::current_time_nanos().unwrap_or(0) / 1_000_000_000;
        let mut failures: Vec<(&str, Denial)> = Vec::new();
        let mut unauthorized = false;
        let mut sources = token::Sources::new(config);
        let mut keys = token::TokenKeys::default();
        // Consumers are tried in order; the first whose JWT verifies and who is allowed wins.
        for consumer in &config.consumers {
            let verified = match token::extract(http, consumer, &mut sources) {
                None => Err(Denial::Missing),
                Some((jwt, source)) => consumer.verify(&jwt, now, &mut keys).map(|claims| (claims, source)),
            };
            match verified {
                Err(denial) => {
                    log_debug!("consumer {:?}: {denial:?}", consumer.name);
                    failures.push((&consumer.name, denial));
                }
                Ok(_) if !allowed(decision, &consumer.name) => {
                    log_warn!("consumer {:?} verified but is not allowed", consumer.name);
                    unauthorized = true;
                }
                Ok((claims, source)) => {
                    claims_to_headers(http, consumer, &claims);
                    if !consumer.keep_token {
                        drop_token(http, &source);
                    }
                    accept(http, &consumer.name);
                    return HeaderAction::Continue;
                }
            }
        }
        // With exactly one allowed consumer the reply says why; otherwise it stays generic.
        if let Decision::Authorize([only]) = decision {
            if unauthorized {
                return reject(http, Denial::Unauthorized);
            }
            if let Some((_, denial)) = failures.iter().find(|(name, _)| *name == only) {
                return reject(http, *denial);
            }
        }
        log_warn!("no consumer verified the JWT");
        reject(http, Denial::NotAllowed)
    }
}

higress_sdk::export_plugin!("jwt-auth", JwtAuth);
