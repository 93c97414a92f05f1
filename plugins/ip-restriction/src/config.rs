//! The configuration, with Higress's keys and defaults, checked and compiled once: the
//! address list becomes an [`IpSet`], the reply body is written out.

use crate::ip_set::IpSet;
use higress_sdk::prelude::*;

const DEFAULT_HEADER: &str = "x-forwarded-for";
const DEFAULT_STATUS: u32 = 403;
const DEFAULT_MESSAGE: &str = "Your IP address is blocked.";

/// ip-restriction's config: where the client address comes from, and exactly one of `allow`
/// and `deny`.
#[derive(Deserialize)]
#[cfg_attr(
    test,
    derive(schemars::JsonSchema),
    schemars(extend("oneOf" = [
        {"required": ["allow"], "properties": {"allow": {"minItems": 1}}},
        {"required": ["deny"], "properties": {"deny": {"minItems": 1}}},
    ]))
)]
pub struct Config {
    /// Where the client address comes from: `origin-source` (the connection's peer, the
    /// default) or `header`.
    #[serde(default)]
    #[cfg_attr(test, schemars(extend("enum" = ["", "origin-source", "header"])))]
    ip_source_type: String,
    /// With `header`: the header whose first comma-separated value is the client address
    /// (default `X-Forwarded-For`).
    #[serde(default)]
    ip_header_name: String,
    /// Only these addresses / ranges pass (`10.0.0.1`, `192.168.0.0/16`, `2001:db8::/32`).
    #[serde(default)]
    allow: Vec<String>,
    /// These addresses / ranges are refused.
    #[serde(default)]
    deny: Vec<String>,
    /// Status of a refusal (100-599; 0 and Go's 1 mean the default, 403).
    #[serde(default)]
    #[cfg_attr(test, schemars(extend("anyOf" = [{"maximum": 1}, {"minimum": 100, "maximum": 599}])))]
    status: u32,
    /// The `message` of a refusal's JSON body (empty: `Your IP address is blocked.`).
    #[serde(default)]
    message: String,
    #[serde(skip)]
    pub compiled: Compiled,
}

/// What requests are checked against.
#[derive(Default)]
pub struct Compiled {
    /// `None`: the connection's peer (`source.address`); else the lowercase header name.
    pub header: Option<String>,
    pub list: List,
    pub status: u32,
    /// `{"message":"..."}`.
    pub body: String,
}

#[derive(Default)]
pub enum List {
    /// Only these addresses pass; an unreadable address is refused.
    Allow(IpSet),
    /// These addresses are refused; an unreadable address passes.
    Deny(IpSet),
    #[default]
    Unset,
}

impl Config {
    pub fn compile(&mut self) -> Result<(), ConfigError> {
        let header = match self.ip_source_type.as_str() {
            "" | "origin-source" => None,
            "header" => Some(match self.ip_header_name.trim() {
                "" => DEFAULT_HEADER.to_string(),
                name => name.to_ascii_lowercase(),
            }),
            other => {
                return Err(ConfigError::at(
                    "ip_source_type",
                    format!("must be `origin-source` or `header`, not {other:?}"),
                ))
            }
        };
        let list = match (self.allow.is_empty(), self.deny.is_empty()) {
            (false, false) => return Err(ConfigError::at("deny", "allow and deny cannot be set at the same time")),
            (true, true) => return Err(ConfigError::at("allow", "one of allow and deny must list addresses")),
            (false, true) => List::Allow(IpSet::parse(&self.allow, "allow")?),
            (true, false) => List::Deny(IpSet::parse(&self.deny, "deny")?),
        };
        let status = match self.status {
            0 | 1 => DEFAULT_STATUS,
            code @ 100..=599 => code,
            _ => return Err(ConfigError::at("status", "must be an HTTP status (100-599)")),
        };
        let message = if self.message.is_empty() { DEFAULT_MESSAGE } else { self.message.as_str() };
        let body = serde_json::json!({ "message": message }).to_string();
        self.compiled = Compiled { header, list, status, body };
        Ok(())
    }
}
