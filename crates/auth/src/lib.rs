//! The model shared by key-auth, basic-auth, jwt-auth and hmac-auth.
//!
//! - **Scope.** The global config carries `consumers` and optionally `global_auth`; a rule
//!   carries `allow` (required, non-empty). Rules are parsed as "global config + rule keys".
//! - **Decision.** `global_auth: true`: every request needs a valid credential; `false`: only
//!   requests that match a rule with `allow` do; unset: true when the configuration has no
//!   rules, false when it has some. Under `allow`, a valid credential of a consumer not in the
//!   list gets 403.
//! - **Success** sets `X-Mse-Consumer: <name>` on the request. **Every denial** carries
//!   `WWW-Authenticate: <Scheme> realm=MSE Gateway` and a `<plugin>.<reason>` details string.
//! - **Secrets** are compared in constant time.

#[cfg(feature = "testing")]
pub mod testing;

use higress_sdk::config::{ConfigContext, ConfigError};
use higress_sdk::Http;
use serde::Deserialize;
use subtle::ConstantTimeEq;

/// Header that names the authenticated consumer for the upstream (rate limiters read it).
pub const CONSUMER_HEADER: &str = "X-Mse-Consumer";
/// Realm of the `WWW-Authenticate` challenge.
pub const REALM: &str = "MSE Gateway";

/// Keys of the auth model that only rules carry: an auth plugin sets
/// `const RULE_ONLY_KEYS: &'static [&'static str] = higress_auth::RULE_ONLY_KEYS;`.
pub const RULE_ONLY_KEYS: &[&str] = &["allow"];

/// The keys every auth plugin's config shares; `#[serde(flatten)]` it into the config.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct AuthScope {
    /// `global_auth` (global config only).
    #[serde(default)]
    pub global_auth: Option<bool>,
    /// `allow` (rules only): consumer names allowed on the matching requests.
    #[serde(default)]
    pub allow: Option<Vec<String>>,
    /// Whether the configuration has rules (set by [`AuthScope::validate`]).
    #[serde(skip)]
    pub has_rules: bool,
}

/// What a request needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision<'a> {
    /// No credential needed: let it through untouched.
    Skip,
    /// A valid credential of any consumer.
    Authenticate,
    /// A valid credential of one of these consumers.
    Authorize(&'a [String]),
}

impl AuthScope {
    /// Checks the scope keys for where they stand: a rule needs a non-empty `allow`. A global
    /// `allow` is ignored with a warning, as Higress's Go plugins ignore it (and it is not
    /// merged into rules: [`RULE_ONLY_KEYS`]).
    pub fn validate(&mut self, cx: &ConfigContext) -> Result<(), ConfigError> {
        self.has_rules = cx.has_rules;
        if cx.is_global() && self.allow.take().is_some() {
            higress_sdk::log_warn!("allow in the global config is ignored: it only applies in rules (_rules_)");
        }
        if cx.is_rule() {
            match &self.allow {
                None => return Err(ConfigError::at("allow", "is required in a rule")),
                Some(list) if list.is_empty() => return Err(ConfigError::at("allow", "cannot be empty")),
                Some(list) => {
                    if let Some(i) = list.iter().position(|n| n.is_empty()) {
                        return Err(ConfigError::at(format!("allow[{i}]"), "consumer name is empty"));
                    }
                }
            }
        }
        Ok(())
    }

    /// What a request under this config needs.
    pub fn decision(&self) -> Decision<'_> {
        match &self.allow {
            Some(list) => Decision::Authorize(list),
            None if self.global_auth.unwrap_or(!self.has_rules) => Decision::Authenticate,
            None => Decision::Skip,
        }
    }
}

/// Whether `consumer` may pass under `decision` (`Skip` and `Authenticate` allow anyone).
pub fn allowed(decision: Decision<'_>, consumer: &str) -> bool {
    match decision {
        Decision::Authorize(list) => list.iter().any(|n| n == consumer),
        _ => true,
    }
}

/// Constant-time equality of two secrets (lengths may leak, contents do not).
pub fn secret_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// Finds the item whose secret equals `presented`, comparing against every item in
/// constant time (no early exit on the first match or mismatch).
pub fn find_by_secret<'a, T>(items: &'a [T], presented: &[u8], secret: impl Fn(&T) -> &[u8]) -> Option<&'a T> {
    let mut found = None;
    for item in items {
        if secret_eq(secret(item), presented) && found.is_none() {
            found = Some(item);
        }
    }
    found
}

/// Marks the request as authenticated: sets `X-Mse-Consumer` (replacing any value the
/// client sent, so it cannot be forged). The plugin is then done with the request.
pub fn accept(http: &mut Http, consumer: &str) {
    http.set_request_header(CONSUMER_HEADER, consumer);
    http.skip_rest();
}

/// Denies the request with the plugin's challenge scheme (`Key`, `Basic`, `JWT`, `HMAC`).
pub fn deny(http: &mut Http, status: u32, details: &str, scheme: &str, body: &str, extra: &[(&str, &str)]) {
    let challenge = format!("{scheme} realm={REALM}");
    let mut headers = vec![("WWW-Authenticate", challenge.as_str())];
    headers.extend_from_slice(extra);
    http.send_local_response(status, details, &headers, body.as_bytes());
    http.skip_rest();
}

/// Checks that a list of consumer names has no empty and no duplicate names; `field` names
/// the list (`consumers`) and `name` extracts each name.
pub fn check_unique<T>(items: &[T], field: &str, key: &str, value: impl Fn(&T) -> &str) -> Result<(), ConfigError> {
    for (i, item) in items.iter().enumerate() {
        let v = value(item);
        if v.is_empty() {
            return Err(ConfigError::at(format!("{field}[{i}].{key}"), "cannot be empty"));
        }
        if items.iter().take(i).any(|other| value(other) == v) {
            return Err(ConfigError::at(format!("{field}[{i}].{key}"), format!("duplicate {key} `{v}`")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use higress_sdk::config::Scope;

    fn cx(scope: Scope, has_rules: bool) -> ConfigContext {
        ConfigContext { scope, has_rules }
    }

    fn scope(global_auth: Option<bool>, allow: Option<&[&str]>, has_rules: bool) -> AuthScope {
        AuthScope { global_auth, allow: allow.map(|a| a.iter().map(|s| s.to_string()).collect()), has_rules }
    }

    #[test]
    fn decisions_follow_global_auth() {
        assert_eq!(scope(Some(true), None, true).decision(), Decision::Authenticate);
        assert_eq!(scope(Some(false), None, false).decision(), Decision::Skip);
        assert_eq!(scope(None, None, false).decision(), Decision::Authenticate, "unset, no rules: global");
        assert_eq!(scope(None, None, true).decision(), Decision::Skip, "unset, rules: only rules protect");
        let s = scope(Some(false), Some(&["a"]), true);
        assert_eq!(s.decision(), Decision::Authorize(&["a".to_string()]));
        assert!(allowed(s.decision(), "a"));
        assert!(!allowed(s.decision(), "b"));
        assert!(allowed(Decision::Authenticate, "anyone"));
    }

    #[test]
    fn rules_need_allow() {
        let mut s = scope(None, None, true);
        assert_eq!(s.validate(&cx(Scope::Rule(0), true)).unwrap_err().path(), "allow");
        let mut s = scope(None, Some(&[]), true);
        assert_eq!(s.validate(&cx(Scope::Rule(0), true)).unwrap_err().to_string(), "allow: cannot be empty");
        let mut s = scope(None, Some(&["a", ""]), true);
        assert_eq!(s.validate(&cx(Scope::Rule(0), true)).unwrap_err().path(), "allow[1]");
        let mut s = scope(None, None, true);
        assert!(s.validate(&cx(Scope::Global, true)).is_ok());
        assert!(s.has_rules);
        // A global `allow` is ignored (with a warning), as Higress does.
        let mut s = scope(None, Some(&["a"]), false);
        assert!(s.validate(&cx(Scope::Global, false)).is_ok());
        assert_eq!(s.allow, None);
        assert_eq!(s.decision(), Decision::Authenticate);
    }

    #[test]
    fn constant_time_lookup() {
        let items = [("a", "secret-1"), ("b", "secret-2")];
        assert_eq!(find_by_secret(&items, b"secret-2", |i| i.1.as_bytes()).map(|i| i.0), Some("b"));
        assert_eq!(find_by_secret(&items, b"secret-3", |i| i.1.as_bytes()), None);
        assert!(secret_eq(b"x", b"x"));
        assert!(!secret_eq(b"x", b"xy"));
    }

    #[test]
    fn uniqueness() {
        let items = ["a", "b", "a"];
        assert_eq!(
            check_unique(&items, "consumers", "name", |s| s).unwrap_err().to_string(),
            "consumers[2].name: duplicate name `a`"
        );
        assert_eq!(check_unique(&["", "b"], "consumers", "name", |s| s).unwrap_err().path(), "consumers[0].name");
        assert!(check_unique(&["a", "b"], "consumers", "name", |s| s).is_ok());
    }
}
