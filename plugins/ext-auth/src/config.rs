//! The configuration, with Higress's keys and defaults, checked at plugin start: every error
//! names the field at fault.

use crate::match_rules::{MatchRuleSpec, MatchRules};
use crate::matcher::{MatcherList, MatcherSpec};
use higress_sdk::prelude::*;
use serde_json::{Map, Value};
use std::time::Duration;

/// `http_service.timeout` when unset or 0, in milliseconds.
const DEFAULT_TIMEOUT_MS: u32 = 1000;
/// `max_request_body_bytes` when unset or 0: 10 MiB.
const DEFAULT_MAX_BODY: u32 = 10 * 1024 * 1024;
/// `status_on_error` when unset or 0.
const DEFAULT_STATUS_ON_ERROR: u32 = 403;
/// `service_port` when unset or 0.
const DEFAULT_PORT: u16 = 80;

/// The plugin config: the JSON keys, then what `validate` builds from them.
///
/// ext-auth asks an authorization service about each request: `http_service`, and which
/// requests skip the call (`match_type`, `match_list`).
#[derive(Deserialize)]
#[cfg_attr(
    test,
    derive(schemars::JsonSchema),
    schemars(extend(
        "required" = ["http_service"],
        "if" = {"required": ["match_list"], "properties": {"match_list": {"type": "array"}}},
        "then" = {"required": ["match_type"], "properties": {"match_type": {"type": "string"}}},
    ))
)]
pub struct Config {
    /// The authorization service.
    #[serde(default)]
    #[cfg_attr(test, schemars(with = "HttpServiceSpec"))]
    http_service: Option<HttpServiceSpec>,
    /// `whitelist`: the requests `match_list` lists are not checked; `blacklist`: only they
    /// are. Required with `match_list`.
    #[serde(default)]
    #[cfg_attr(test, schemars(extend("enum" = ["whitelist", "blacklist", null])))]
    match_type: Option<String>,
    /// Requests listed for `match_type`; without it every request is checked.
    #[serde(default)]
    match_list: Option<Vec<MatchRuleSpec>>,
    /// Let the request through when the service cannot be reached, times out or answers 5xx.
    #[serde(default)]
    pub failure_mode_allow: bool,
    /// With `failure_mode_allow`: add `x-envoy-auth-failure-mode-allowed: true` to such
    /// requests.
    #[serde(default)]
    pub failure_mode_allow_header_add: bool,
    /// Status of the reply when the service cannot be reached, times out or answers 5xx
    /// (200-599; 0: 403).
    #[serde(default)]
    #[cfg_attr(test, schemars(extend("anyOf" = [{"const": 0}, {"minimum": 200, "maximum": 599}])))]
    pub status_on_error: u32,
    /// The authorization service, built from `http_service`.
    #[serde(skip)]
    pub service: Option<AuthService>,
    /// Which requests skip the call.
    #[serde(skip)]
    pub rules: MatchRules,
}

/// The authorization service. `endpoint` needs `path` in `forward_auth` mode and
/// `path_prefix` in `envoy` mode.
#[derive(Deserialize)]
#[cfg_attr(
    test,
    derive(schemars::JsonSchema),
    schemars(extend(
        "required" = ["endpoint"],
        "if" = {"required": ["endpoint_mode"], "properties": {"endpoint_mode": {"const": "forward_auth"}}},
        "then" = {"properties": {"endpoint": {"required": ["path"], "properties": {"path": {"type": "string"}}}}},
        "else" = {"properties": {"endpoint": {"required": ["path_prefix"], "properties": {"path_prefix": {"type": "string"}}}}},
    ))
)]
struct HttpServiceSpec {
    /// `envoy` (default): the request's method and `path_prefix` + its path; `forward_auth`:
    /// a fixed `request_method` and `path`, the request described in `x-forwarded-*` headers.
    #[serde(default)]
    #[cfg_attr(test, schemars(extend("enum" = ["", "envoy", "forward_auth", null])))]
    endpoint_mode: Option<String>,
    /// Where the authorization request goes.
    #[serde(default)]
    #[cfg_attr(test, schemars(with = "EndpointSpec"))]
    endpoint: Option<EndpointSpec>,
    /// Milliseconds to wait for the answer (0: 1000).
    #[serde(default)]
    timeout: u32,
    /// What the authorization request carries.
    #[serde(default)]
    authorization_request: Option<AuthorizationRequestSpec>,
    /// What passes on from the answer.
    #[serde(default)]
    authorization_response: Option<AuthorizationResponseSpec>,
}

/// The authorization service's address and the request sent to it.
#[derive(Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema), schemars(extend("required" = ["service_name"])))]
struct EndpointSpec {
    /// The service as registered in Higress, FQDN with its kind: `ext-auth.dns`,
    /// `auth.static`, `ext-auth.backend.svc.cluster.local`.
    #[serde(default)]
    #[cfg_attr(test, schemars(regex(pattern = r"\S")))]
    service_name: String,
    /// Its port (0: 80).
    #[serde(default)]
    #[cfg_attr(test, schemars(range(max = 65535)))]
    service_port: u64,
    /// The `Host` of the authorization request (default: `service_name`).
    #[serde(default)]
    service_host: Option<String>,
    /// `envoy` mode (required there): prefixed to the request's path (empty, or starting
    /// with `/`).
    #[serde(default)]
    #[cfg_attr(test, schemars(regex(pattern = r"^(|/\S*|\S*://\S*)$")))]
    path_prefix: Option<String>,
    /// `forward_auth` mode: the method of the authorization request (default `GET`).
    #[serde(default)]
    #[cfg_attr(test, schemars(regex(pattern = r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")))]
    request_method: Option<String>,
    /// `forward_auth` mode (required there): the path (and query) of the authorization
    /// request, starting with `/`; a full URL (`http://auth.example.com/verify`) also sets
    /// the `Host`.
    #[serde(default)]
    #[cfg_attr(test, schemars(regex(pattern = r"^(/\S*|\S*://\S*)$")))]
    path: Option<String>,
}

/// What the authorization request carries.
#[derive(Deserialize, Default)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
struct AuthorizationRequestSpec {
    /// Client request headers whose names match are copied to the authorization request
    /// (every value). `Authorization` is always copied; `forward_auth` adds the
    /// `x-forwarded-*` headers.
    #[serde(default)]
    allowed_headers: Option<Vec<MatcherSpec>>,
    /// Headers set on the authorization request, replacing copied ones (`true` or `5` become
    /// the text `true`, `5`).
    #[serde(default)]
    #[cfg_attr(
        test,
        schemars(extend(
            "propertyNames" = {"pattern": "^[A-Za-z0-9!#$%&'*+.^_`|~-]+$"},
            "additionalProperties" = {"pattern": "^[^\\r\\n\\u0000]*$"},
        ))
    )]
    headers_to_add: Option<Map<String, Value>>,
    /// Send the request body too (it is buffered first). In `forward_auth` mode not with
    /// `request_method` `GET`, `HEAD` or `OPTIONS`.
    #[serde(default)]
    with_request_body: bool,
    /// With `with_request_body`: a larger body is refused with 413 before the service is
    /// asked (0: 10 MiB).
    #[serde(default)]
    max_request_body_bytes: u32,
}

/// What passes on from the authorization service's answer.
#[derive(Deserialize, Default)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
struct AuthorizationResponseSpec {
    /// On a 2xx answer, its headers whose names match replace the request's before it goes
    /// upstream (first value of each).
    #[serde(default)]
    allowed_upstream_headers: Option<Vec<MatcherSpec>>,
    /// On a refusal, the answer's headers whose names match go to the client (every value);
    /// unset, all of them do.
    #[serde(default)]
    allowed_client_headers: Option<Vec<MatcherSpec>>,
}

/// Where and how the authorization request is sent.
pub enum Endpoint {
    /// Envoy's ext_authz: the request's own method, `path_prefix` + its path.
    Envoy { path_prefix: String },
    /// nginx / Traefik style: a fixed method and path, the request described in
    /// `x-forwarded-*` headers.
    ForwardAuth { method: String, path: String },
}

/// The authorization service and what passes to and from it.
pub struct AuthService {
    pub client: HttpClient,
    pub endpoint: Endpoint,
    pub timeout: Duration,
    /// Client request headers copied to the authorization request.
    pub allowed_headers: Option<MatcherList>,
    /// Headers set on the authorization request (lower-case names).
    pub headers_to_add: Vec<(String, String)>,
    pub with_request_body: bool,
    pub max_request_body_bytes: u32,
    /// Service answer headers copied onto an allowed request.
    pub allowed_upstream_headers: Option<MatcherList>,
    /// Service answer headers passed to the client of a denied request (all when unset).
    pub allowed_client_headers: Option<MatcherList>,
}

impl Config {
    /// Checks the keys and builds the service and the match rules.
    pub fn validate(&mut self) -> Result<(), ConfigError> {
        let spec = self.http_service.take().ok_or_else(|| ConfigError::at("http_service", "is required"))?;
        self.service = Some(spec.build().map_err(|e| e.within("http_service"))?);
        self.rules = MatchRules::parse(self.match_type.as_deref(), self.match_list.as_deref())?;
        self.match_list = None;
        self.status_on_error = or_default(self.status_on_error, DEFAULT_STATUS_ON_ERROR);
        if !(200..=599).contains(&self.status_on_error) {
            return Err(ConfigError::at("status_on_error", "must be an HTTP status from 200 to 599"));
        }
        Ok(())
    }
}

impl HttpServiceSpec {
    fn build(self) -> Result<AuthService, ConfigError> {
        let mode = self.endpoint_mode.as_deref().unwrap_or_default();
        if !matches!(mode, "" | "envoy" | "forward_auth") {
            return Err(ConfigError::at("endpoint_mode", format!("must be envoy or forward_auth, not `{mode}`")));
        }
        let endpoint = self.endpoint.ok_or_else(|| ConfigError::at("endpoint", "is required"))?;
        let (client, endpoint) = endpoint.build(mode == "forward_auth").map_err(|e| e.within("endpoint"))?;
        let request = self.authorization_request.unwrap_or_default();
        if let Endpoint::ForwardAuth { method, .. } = &endpoint {
            if request.with_request_body && matches!(method.as_str(), "GET" | "HEAD" | "OPTIONS") {
                return Err(ConfigError::at(
                    "authorization_request.with_request_body",
                    format!("cannot be true when endpoint.request_method is {method}"),
                ));
            }
        }
        let response = self.authorization_response.unwrap_or_default();
        let list = |specs: Option<Vec<MatcherSpec>>, field: &str| {
            specs.map(|s| MatcherList::header_names(&s, field)).transpose()
        };
        Ok(AuthService {
            client,
            endpoint,
            timeout: Duration::from_millis(u64::from(or_default(self.timeout, DEFAULT_TIMEOUT_MS))),
            allowed_headers: list(request.allowed_headers, "authorization_request.allowed_headers")?,
            headers_to_add: headers_to_add(request.headers_to_add.unwrap_or_default())
                .map_err(|e| e.within("authorization_request.headers_to_add"))?,
            with_request_body: request.with_request_body,
            max_request_body_bytes: or_default(request.max_request_body_bytes, DEFAULT_MAX_BODY),
            allowed_upstream_headers: list(
                response.allowed_upstream_headers,
                "authorization_response.allowed_upstream_headers",
            )?,
            allowed_client_headers: list(
                response.allowed_client_headers,
                "authorization_response.allowed_client_headers",
            )?,
        })
    }
}

impl EndpointSpec {
    fn build(self, forward_auth: bool) -> Result<(HttpClient, Endpoint), ConfigError> {
        if self.service_name.trim().is_empty() {
            return Err(ConfigError::at("service_name", "cannot be empty"));
        }
        let port = match self.service_port {
            0 => DEFAULT_PORT,
            n => u16::try_from(n).map_err(|_| ConfigError::at("service_port", "must be a port from 1 to 65535"))?,
        };
        let host = self.service_host.filter(|h| !h.is_empty());
        let client = HttpClient::new(Cluster::Fqdn { fqdn: self.service_name, port, host });
        let endpoint = if forward_auth {
            let method = self.request_method.unwrap_or_else(|| "GET".into()).to_ascii_uppercase();
            if method.is_empty() || !method.bytes().all(is_token_byte) {
                return Err(ConfigError::at("request_method", format!("`{method}` is not an HTTP method")));
            }
            let path =
                self.path.ok_or_else(|| ConfigError::at("path", "is required when endpoint_mode is forward_auth"))?;
            check_path(&path, "path")?;
            Endpoint::ForwardAuth { method, path }
        } else {
            let path_prefix = self
                .path_prefix
                .ok_or_else(|| ConfigError::at("path_prefix", "is required when endpoint_mode is envoy"))?;
            if !path_prefix.is_empty() {
                check_path(&path_prefix, "path_prefix")?;
            }
            Endpoint::Envoy { path_prefix: path_prefix.trim_end_matches('/').to_string() }
        };
        Ok((client, endpoint))
    }
}

/// A path the authorization request can carry: absolute (or a full URL), one line.
fn check_path(path: &str, field: &str) -> Result<(), ConfigError> {
    if !(path.starts_with('/') || path.contains("://")) {
        return Err(ConfigError::at(field, format!("`{path}` must start with /")));
    }
    if path.contains(|c: char| c.is_whitespace() || c.is_control()) {
        return Err(ConfigError::at(field, "cannot contain spaces or control characters"));
    }
    Ok(())
}

/// `headers_to_add`: names lower-cased, scalar values as text (a YAML `true` is `"true"`,
/// as Go's gjson reads it).
fn headers_to_add(map: Map<String, Value>) -> Result<Vec<(String, String)>, ConfigError> {
    map.into_iter()
        .map(|(name, value)| {
            if name.is_empty() || !name.bytes().all(is_token_byte) {
                return Err(ConfigError::at(name, "is not a valid header name"));
            }
            let value = match value {
                Value::String(s) => s,
                Value::Null => String::new(),
                other => other.to_string(),
            };
            if value.contains(['\r', '\n', '\0']) {
                return Err(ConfigError::at(name, "cannot contain line breaks"));
            }
            Ok((name.to_ascii_lowercase(), value))
        })
        .collect()
}

/// Go's defaulting: 0 (or unset) means the default.
fn or_default(value: u32, default: u32) -> u32 {
    if value == 0 {
        default
    } else {
        value
    }
}

/// An RFC 9110 token character (header names, methods).
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}
