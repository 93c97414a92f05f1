//! Scenarios that measure each plugin the same way every time: one accepted and one
//! rejected request, with a fixed configuration and a fixed clock. Used by the report
//! (`make bench`: wasm instructions from wasmtime fuel, exact and repeatable) and by the
//! criterion benches (host wall time).

use base64::Engine;
use higress_host::testing::{self, request, Request};
use higress_host::{Env, Metering, Plugin, Stream, Vm};
use hmac::Mac;
use serde_json::json;
use std::time::Duration;

/// Clock of every scenario (tokens and signatures are made for it).
pub const NOW: u64 = 1_700_000_000;

/// One plugin, configured, with an accepted and a rejected request.
pub struct Scenario {
    /// Plugin (package) name.
    pub plugin: &'static str,
    config: serde_json::Value,
    accepted: fn() -> Request,
    /// A request the plugin denies (`None` for plugins that deny nothing).
    rejected: Option<fn() -> Request>,
    /// Sent once when a VM starts, before anything is measured (spends a rate limit's bucket).
    warmup: Option<fn() -> Request>,
}

fn workspace_file(path: &str) -> Vec<u8> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    std::fs::read(format!("{root}/{path}")).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The JWT test keys (`plugins/jwt-auth/tests/keys`), by kid.
pub fn jwt_signing_key(kid: &str) -> jsonwebtoken::EncodingKey {
    let file = |name: &str| workspace_file(&format!("plugins/jwt-auth/tests/keys/{name}"));
    let key = match kid {
        k if k.starts_with("rsa") => jsonwebtoken::EncodingKey::from_rsa_pem(&file(&format!("{k}.pem"))),
        k if k.starts_with("ec") => jsonwebtoken::EncodingKey::from_ec_pem(&file(&format!("{k}.pem"))),
        "ed-1" => jsonwebtoken::EncodingKey::from_ed_pem(&file("ed-1.pem")),
        _ => Ok(jsonwebtoken::EncodingKey::from_secret(&file("hs-1.secret"))),
    };
    key.unwrap_or_else(|e| panic!("{kid}: {e}"))
}

/// A token for the scenarios' clock, signed by test key `kid` with `alg`.
pub fn jwt_with(kid: &str, alg: jsonwebtoken::Algorithm) -> String {
    let mut header = jsonwebtoken::Header::new(alg);
    header.kid = Some(kid.into());
    let claims = json!({"iss": "bench", "sub": "u", "exp": NOW + 3600});
    jsonwebtoken::encode(&header, &claims, &jwt_signing_key(kid)).unwrap_or_else(|e| panic!("{e}"))
}

/// The JWKS of the test keys.
pub fn jwks() -> String {
    String::from_utf8(workspace_file("plugins/jwt-auth/tests/keys/jwks.json")).unwrap_or_default()
}

fn jwt() -> String {
    static TOKEN: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TOKEN.get_or_init(|| jwt_with("rsa-1", jsonwebtoken::Algorithm::RS256)).clone()
}

fn hmac_request(secret: &str) -> Request {
    let sts = "GET\napplication/json\n\n\n\nx-ca-key:bench-key\n/orders?page=1";
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    mac.update(sts.as_bytes());
    let signature = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    request("GET", "api.example.com", "/orders?page=1")
        .header("accept", "application/json")
        .header("x-ca-key", "bench-key")
        .header("x-ca-signature-headers", "x-ca-key")
        .header("x-ca-signature", &signature)
}

/// The scenarios, one per shipped plugin that needs no external service.
pub fn scenarios() -> Vec<Scenario> {
    let jwks = jwks();
    vec![
        Scenario {
            plugin: "hello-world",
            config: json!({"header": "x-hello"}),
            accepted: || request("GET", "api.example.com", "/orders"),
            rejected: None,
            warmup: None,
        },
        Scenario {
            plugin: "key-auth",
            config: json!({"keys": ["x-api-key"], "consumers": [{"name": "c1", "credential": "k1"}, {"name": "c2", "credential": "k2"}]}),
            accepted: || request("GET", "api.example.com", "/orders").header("x-api-key", "k2"),
            rejected: Some(|| request("GET", "api.example.com", "/orders").header("x-api-key", "nope")),
            warmup: None,
        },
        Scenario {
            plugin: "basic-auth",
            config: json!({"consumers": [{"name": "c1", "credential": "admin:123456"}, {"name": "c2", "credential": "guest:abc"}]}),
            accepted: || request("GET", "api.example.com", "/orders").header("authorization", "Basic Z3Vlc3Q6YWJj"),
            rejected: Some(|| {
                request("GET", "api.example.com", "/orders").header("authorization", "Basic Z3Vlc3Q6eHl6")
            }),
            warmup: None,
        },
        Scenario {
            plugin: "jwt-auth",
            config: json!({"consumers": [{"name": "c1", "issuer": "bench", "jwks": jwks}]}),
            accepted: || {
                request("GET", "api.example.com", "/orders").header("authorization", &format!("Bearer {}", jwt()))
            },
            rejected: Some(|| request("GET", "api.example.com", "/orders")),
            warmup: None,
        },
        Scenario {
            plugin: "hmac-auth",
            config: json!({"consumers": [{"key": "bench-key", "secret": "bench-secret", "name": "c1"}]}),
            accepted: || hmac_request("bench-secret"),
            rejected: Some(|| hmac_request("wrong-secret")),
            warmup: None,
        },
        Scenario {
            plugin: "key-rate-limit",
            // `busy` never runs out on the scenarios' frozen clock; `spent` is spent at start.
            config: json!({"limit_by_header": "x-ca-key", "limit_keys": [
                {"key": "busy", "query_per_second": 1_000_000_000_000u64},
                {"key": "spent", "query_per_day": 1}
            ]}),
            accepted: || request("GET", "api.example.com", "/orders").header("x-ca-key", "busy"),
            rejected: Some(|| request("GET", "api.example.com", "/orders").header("x-ca-key", "spent")),
            warmup: Some(|| request("GET", "api.example.com", "/orders").header("x-ca-key", "spent")),
        },
    ]
}

/// What an auth plugin's rule protects in [`Scenario::skipping_vm`]: the rules read the
/// `route_name` property, or the `:authority` header (as Higress's matchRules by domain).
#[derive(Clone, Copy, Debug)]
pub enum SkipBy {
    /// `_match_route_: [protected]`.
    Route,
    /// `_match_domain_: [protected.example.com]`.
    Domain,
}

impl Scenario {
    /// The compiled plugin (built if needed).
    pub fn load(&self) -> Plugin {
        testing::plugin(self.plugin)
    }

    /// The compiled plugin (built if needed), without fuel metering: as `hgw` runs it.
    pub fn load_unmetered(&self) -> Plugin {
        Plugin::load_with(testing::build_plugin(self.plugin), Metering::Off)
            .unwrap_or_else(|e| panic!("{}: {e}", self.plugin))
    }

    /// Its configuration.
    pub fn config(&self) -> &serde_json::Value {
        &self.config
    }

    /// A started VM on the scenario's clock.
    pub fn vm(&self, plugin: &Plugin) -> Vm {
        let env = Env::with_manual_clock(Duration::from_secs(NOW));
        let vm = Vm::builder(plugin).env(&env).config_json(&self.config).start().unwrap_or_else(|e| panic!("{e}"));
        if let Some(warmup) = self.warmup {
            warmup().send(&vm);
        }
        vm
    }

    /// For an auth plugin: a VM whose rules protect only the route `protected`, or the domain
    /// `protected.example.com` (`global_auth` false), where [`Scenario::skip`] sends a request
    /// the plugin lets through untouched.
    pub fn skipping_vm(&self, plugin: &Plugin, by: SkipBy) -> Option<Vm> {
        let mut config = self.config.clone();
        let object = config.as_object_mut()?;
        object.get("consumers")?;
        object.insert("global_auth".into(), json!(false));
        let rule = match by {
            SkipBy::Route => json!({"_match_route_": ["protected"], "allow": ["c1"]}),
            SkipBy::Domain => json!({"_match_domain_": ["protected.example.com"], "allow": ["c1"]}),
        };
        object.insert("_rules_".into(), json!([rule]));
        let env = Env::with_manual_clock(Duration::from_secs(NOW));
        Some(Vm::builder(plugin).env(&env).config_json(&config).start().unwrap_or_else(|e| panic!("{e}")))
    }

    /// A request on a route the plugin does not protect, and a 200 response: every callback of
    /// a stream the plugin only lets through.
    pub fn skip(&self, vm: &Vm) -> Stream {
        let s = request("GET", "api.example.com", "/public").route("public").send(vm);
        assert!(s.upstream().headers.is_some(), "{}: the skipped request was denied", self.plugin);
        s.send_response_headers([(":status", "200")], true).unwrap_or_else(|e| panic!("{e}"));
        s
    }

    /// Sends the accepted request and a 200 response; panics if it was not accepted.
    pub fn accept(&self, vm: &Vm) -> Stream {
        let s = (self.accepted)().send(vm);
        assert!(s.upstream().headers.is_some(), "{}: the accepted request was denied", self.plugin);
        s.send_response_headers([(":status", "200")], true).unwrap_or_else(|e| panic!("{e}"));
        s
    }

    /// Sends the rejected request (a denial for auth plugins), if the plugin has one.
    pub fn reject(&self, vm: &Vm) -> Option<Stream> {
        self.rejected.map(|r| {
            let s = r().send(vm);
            assert!(s.local_response().is_some(), "{}: the rejected request was accepted", self.plugin);
            s
        })
    }
}
