//! Finding a consumer's token in the request and verifying it.

use crate::cache;
use crate::config::{Config, Consumer, VerifyKey};
use crate::verify::base64url;
use higress_sdk::{cookie, scan, url, Http};
use jsonwebtoken::{decode_header, Header};
use serde_json::Value;
use std::rc::Rc;

/// Longest token considered (bigger ones are rejected unparsed).
const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// From this length a token's header is checked against the consumer's keys before the token
/// is hashed for the cache: hashing 16 KiB costs over 1 M wasm instructions, decoding a
/// usual header a few thousand, while for a usual token the hash is the cheaper first step.
const HEADER_FIRST_BYTES: usize = 4 * 1024;

/// Why a consumer did not authenticate the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Denial {
    Missing,
    Expired,
    Invalid,
    Unauthorized,
    NotAllowed,
}

/// Where a token was found (to remove it with `keep_token: false`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    Header(String),
    Param(String),
    Cookie(String),
}

/// A token found in the request: `text[start..]`, where `text` is the header, parameter or
/// cookie value it came from. Consumers that read the same place share `text`, so telling
/// that two consumers have the same token is a pointer comparison, not one of 16 KiB.
#[derive(Clone)]
pub(crate) struct Token {
    text: Rc<str>,
    start: usize,
}

impl Token {
    pub(crate) fn as_str(&self) -> &str {
        self.text.get(self.start..).unwrap_or_default()
    }

    fn same(&self, other: &Token) -> bool {
        (Rc::ptr_eq(&self.text, &other.text) && self.start == other.start)
            || scan::equal(self.as_str().as_bytes(), other.as_str().as_bytes())
    }
}

/// The request headers consumers named, each fetched once per request: a 16 KiB
/// `Authorization` is copied out of the host and checked once, not once per consumer.
#[derive(Default)]
pub(crate) struct HeaderValues<'c>(Vec<(&'c str, Option<Rc<str>>)>);

impl<'c> HeaderValues<'c> {
    fn get(&mut self, http: &Http, name: &'c str) -> Option<Rc<str>> {
        if let Some((_, value)) = self.0.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
            return value.clone();
        }
        let value: Option<Rc<str>> = http.request_header(name).filter(|v| !v.is_empty()).map(Rc::from);
        self.0.push((name, value.clone()));
        value
    }
}

/// The values of every consumer's query parameters ([`SourceValues::params`]: the first
/// non-empty value of each name) or cookies ([`SourceValues::cookies`]: the value of the
/// first cookie of each name), read in one pass the first time a consumer looks for one: a 60 KiB
/// query or `Cookie` header is fetched and scanned once per request, not once per consumer
/// and name, and a value is copied once however many consumers share its name.
pub(crate) struct SourceValues<'c> {
    /// Every consumer's names in this source, each once.
    names: &'c [String],
    /// The first value of each name, from the request.
    read: Read,
    /// The value of each name, once read.
    found: Option<Vec<Option<Rc<str>>>>,
}

impl<'c> SourceValues<'c> {
    pub(crate) fn params(config: &'c Config) -> Self {
        let read: Read =
            |http, names| url::query_first_values(http.path(), names).into_iter().map(|v| v.map(Rc::from)).collect();
        SourceValues { names: &config.param_names, read, found: None }
    }

    pub(crate) fn cookies(config: &'c Config) -> Self {
        let read: Read = |http, names| {
            let header = http.request_header("cookie").unwrap_or_default();
            // Each value copied once, straight into what consumers share.
            cookie::values_any(&header, names).into_iter().map(|v| v.map(Rc::from)).collect()
        };
        SourceValues { names: &config.cookie_names, read, found: None }
    }

    /// The value of `name` (one of the consumers' names).
    fn get(&mut self, http: &Http, name: &str) -> Option<Rc<str>> {
        let (names, read) = (self.names, self.read);
        let found = self.found.get_or_insert_with(|| read(http, names));
        let at = names.iter().position(|n| n == name)?;
        found.get(at).cloned().flatten()
    }
}

/// Reads the first value of each name from the request.
type Read = fn(&Http, &[String]) -> Vec<Option<Rc<str>>>;

/// Where consumers look for their token, each read once per request.
pub(crate) struct Sources<'c> {
    headers: HeaderValues<'c>,
    params: SourceValues<'c>,
    cookies: SourceValues<'c>,
}

impl<'c> Sources<'c> {
    pub(crate) fn new(config: &'c Config) -> Self {
        Sources {
            headers: HeaderValues::default(),
            params: SourceValues::params(config),
            cookies: SourceValues::cookies(config),
        }
    }
}

/// What is known of the token last verified for this request: consumers mostly take the
/// token from the same place, and decoding a 16 KiB token's header costs up to 400,000 wasm
/// instructions, hashing it (its cache key) over 1 M: each is done once per request, not
/// once per consumer. (Checking the header before the hash for every token would spare the
/// hash for tokens no key takes, but costs a usual token found in the cache 12,000-16,000
/// more: only long tokens are checked first, [`HEADER_FIRST_BYTES`].)
#[derive(Default)]
pub(crate) struct TokenKeys(Option<Seen>);

struct Seen {
    token: Token,
    /// Its cache key, once a consumer needed it.
    key: Option<[u8; 32]>,
    /// Its decoded header, once a consumer needed it (`None` inside: not a JWT header).
    header: Option<Option<Header>>,
}

impl TokenKeys {
    fn seen(&mut self, token: &Token) -> &mut Seen {
        if !self.0.as_ref().is_some_and(|seen| seen.token.same(token)) {
            self.0 = None;
        }
        self.0.get_or_insert_with(|| Seen { token: token.clone(), key: None, header: None })
    }

    fn key(&mut self, token: &Token) -> [u8; 32] {
        *self.seen(token).key.get_or_insert_with(|| cache::key(token.as_str()))
    }

    fn header(&mut self, token: &Token) -> Option<&Header> {
        self.seen(token).header.get_or_insert_with(|| decode_header(token.as_str()).ok()).as_ref()
    }
}

/// The consumer's token: from its headers (the first present; a wrong prefix stops the
/// header search), then its query parameters, then its cookies.
pub(crate) fn extract<'c>(http: &Http, consumer: &'c Consumer, sources: &mut Sources<'c>) -> Option<(Token, Source)> {
    if let Some(headers) = &consumer.from_headers {
        for header in headers {
            let Some(value) = sources.headers.get(http, &header.name) else { continue };
            if value.starts_with(header.value_prefix.as_str()) {
                let token = Token { text: value, start: header.value_prefix.len() };
                return Some((token, Source::Header(header.name.to_ascii_lowercase())));
            }
            break;
        }
    }
    for param in consumer.from_params.iter().flatten() {
        if let Some(text) = sources.params.get(http, param) {
            return Some((Token { text, start: 0 }, Source::Param(param.clone())));
        }
    }
    for name in consumer.from_cookies.iter().flatten() {
        if let Some(text) = sources.cookies.get(http, name).filter(|v| !v.is_empty()) {
            return Some((Token { text, start: 0 }, Source::Cookie(name.clone())));
        }
    }
    None
}

impl Consumer {
    /// Verifies `jwt` for this consumer at `now` (seconds): signature with the key its `kid`
    /// names (the first key without a `kid`), issuer, then `exp`/`nbf`/`iat` with the skew.
    pub(crate) fn verify(&self, token: &Token, now: u64, keys: &mut TokenKeys) -> Result<Rc<Value>, Denial> {
        let jwt = token.as_str();
        if jwt.len() > MAX_TOKEN_BYTES {
            return Err(Denial::Invalid);
        }
        if jwt.len() > HEADER_FIRST_BYTES {
            // A verified token passed this check when it was cached: only the cost changes.
            let header = keys.header(token).ok_or(Denial::Invalid)?;
            self.key_for(header)?;
        }
        let key = keys.key(token);
        let claims = match self.verified.get(&key) {
            Some(claims) => claims,
            None => {
                let header = keys.header(token).ok_or(Denial::Invalid)?;
                let claims = Rc::new(self.verify_signature(jwt, header)?);
                self.verified.insert(key, claims.clone());
                claims
            }
        };
        self.check_times(&claims, now)?;
        Ok(claims)
    }

    /// Signature and issuer: what does not change with time.
    fn verify_signature(&self, jwt: &str, header: &Header) -> Result<Value, Denial> {
        let key = self.key_for(header)?;
        let (signing_input, signature) = jwt.rsplit_once('.').ok_or(Denial::Invalid)?;
        let signature = base64url(signature).ok_or(Denial::Invalid)?;
        if !key.verifier.verify(header.alg, signing_input.as_bytes(), &signature) {
            return Err(Denial::Invalid);
        }
        // Verified: the claims are read as they are; times are checked on every request.
        let payload = signing_input.split_once('.').map(|(_, payload)| payload).ok_or(Denial::Invalid)?;
        let claims: Value =
            serde_json::from_slice(&base64url(payload).ok_or(Denial::Invalid)?).map_err(|_| Denial::Invalid)?;
        if !claims.is_object() {
            return Err(Denial::Invalid);
        }
        let issuer = match claims.get("iss") {
            None => "",
            Some(Value::String(iss)) => iss.as_str(),
            Some(_) => return Err(Denial::Invalid),
        };
        if issuer != self.issuer {
            return Err(Denial::Invalid);
        }
        Ok(claims)
    }

    /// The key that checks a token with `header`: the one its `kid` names (the first key
    /// without a `kid`), if it takes the token's algorithm.
    fn key_for(&self, header: &Header) -> Result<&VerifyKey, Denial> {
        let key = match &header.kid {
            Some(kid) => self.keys.iter().find(|k| k.kid.as_deref() == Some(kid.as_str())),
            None => self.keys.first(),
        }
        .ok_or(Denial::Invalid)?;
        if !key.algorithms.contains(&header.alg) {
            return Err(Denial::Invalid);
        }
        Ok(key)
    }

    /// `exp`, `nbf` and `iat` against `now` (seconds), with the consumer's clock skew.
    fn check_times(&self, claims: &Value, now: u64) -> Result<(), Denial> {
        let time = |name: &str| -> Result<Option<i64>, Denial> {
            match claims.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Number(n)) => {
                    n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)).map(Some).ok_or(Denial::Invalid)
                }
                Some(_) => Err(Denial::Invalid),
            }
        };
        let (now, skew) =
            (i64::try_from(now).unwrap_or(i64::MAX), i64::try_from(self.clock_skew_seconds).unwrap_or(i64::MAX));
        let (exp, nbf, iat) = (time("exp")?, time("nbf")?, time("iat")?);
        if exp.is_some_and(|exp| now.saturating_sub(skew) > exp) {
            return Err(Denial::Expired);
        }
        if nbf.is_some_and(|nbf| now.saturating_add(skew) < nbf)
            || iat.is_some_and(|iat| now.saturating_add(skew) < iat)
        {
            return Err(Denial::Expired);
        }
        Ok(())
    }
}
