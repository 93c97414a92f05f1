//! Finding a consumer's token in the request and verifying it.

use crate::cache;
use crate::config::Consumer;
use crate::verify::base64url;
use higress_sdk::{cookie, scan, url, Http};
use jsonwebtoken::{decode_header, Header};
use serde_json::Value;
use std::rc::Rc;

/// Longest token considered (bigger ones are rejected unparsed).
const MAX_TOKEN_BYTES: usize = 16 * 1024;

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

/// The values of every consumer's query parameters ([`SourceValues::params`]: the first
/// non-empty value of each name) or cookies ([`SourceValues::cookies`]: the value of the
/// first cookie of each name), read in one pass the first time a consumer looks for one: a 60 KiB
/// query or `Cookie` header is fetched and scanned once per request, not once per consumer
/// and name.
pub(crate) struct SourceValues<'c> {
    consumers: &'c [Consumer],
    /// A consumer's names in this source.
    names: fn(&Consumer) -> Option<&Vec<String>>,
    /// The first value of each name, from the request.
    read: fn(&Http, &[&str]) -> Vec<Option<String>>,
    /// Each name with its value, once read.
    found: Option<Vec<(&'c str, Option<String>)>>,
}

impl<'c> SourceValues<'c> {
    pub(crate) fn params(consumers: &'c [Consumer]) -> Self {
        let read: fn(&Http, &[&str]) -> Vec<Option<String>> = |http, names| url::query_first_values(http.path(), names);
        SourceValues { consumers, names: |c| c.from_params.as_ref(), read, found: None }
    }

    pub(crate) fn cookies(consumers: &'c [Consumer]) -> Self {
        let read: fn(&Http, &[&str]) -> Vec<Option<String>> = |http, names| {
            let header = http.request_header("cookie").unwrap_or_default();
            cookie::values_any(&header, names).into_iter().map(|v| v.map(str::to_string)).collect()
        };
        SourceValues { consumers, names: |c| c.from_cookies.as_ref(), read, found: None }
    }

    /// The value of `name` (one of the consumers' names).
    fn get(&mut self, http: &Http, name: &str) -> Option<&str> {
        let (consumers, names_of, read) = (self.consumers, self.names, self.read);
        let found = self.found.get_or_insert_with(|| {
            let names: Vec<&str> =
                consumers.iter().flat_map(|c| names_of(c).into_iter().flatten()).map(String::as_str).collect();
            let values = read(http, &names);
            names.into_iter().zip(values).collect()
        });
        found.iter().find(|(n, _)| *n == name).and_then(|(_, v)| v.as_deref())
    }
}

/// What is known of the token last verified for this request: consumers mostly take the
/// token from the same place, and decoding a 16 KiB token's header costs most of 2 M wasm
/// instructions, hashing it (its cache key) over 100,000: each is done once per request, not
/// once per consumer. (Checking the header before the hash would spare the hash for tokens
/// no key takes, but costs a token found in the cache 12,000-16,000 more: not worth it.)
#[derive(Default)]
pub(crate) struct TokenKeys(Option<Seen>);

struct Seen {
    token: String,
    key: [u8; 32],
    /// Its decoded header, once a consumer needed it (`None` inside: not a JWT header).
    header: Option<Option<Header>>,
}

impl TokenKeys {
    fn seen(&mut self, jwt: &str) -> &mut Seen {
        if !self.0.as_ref().is_some_and(|seen| scan::equal(seen.token.as_bytes(), jwt.as_bytes())) {
            self.0 = None;
        }
        self.0.get_or_insert_with(|| Seen { token: jwt.to_string(), key: cache::key(jwt), header: None })
    }

    fn key(&mut self, jwt: &str) -> [u8; 32] {
        self.seen(jwt).key
    }

    fn header(&mut self, jwt: &str) -> Option<&Header> {
        self.seen(jwt).header.get_or_insert_with(|| decode_header(jwt).ok()).as_ref()
    }
}

/// The consumer's token: from its headers (the first present; a wrong prefix stops the
/// header search), then its query parameters, then its cookies.
pub(crate) fn extract(
    http: &Http,
    consumer: &Consumer,
    params: &mut SourceValues<'_>,
    cookies: &mut SourceValues<'_>,
) -> Option<(String, Source)> {
    if let Some(headers) = &consumer.from_headers {
        for header in headers {
            let Some(value) = http.request_header(&header.name).filter(|v| !v.is_empty()) else { continue };
            if let Some(token) = value.strip_prefix(header.value_prefix.as_str()) {
                return Some((token.to_string(), Source::Header(header.name.to_ascii_lowercase())));
            }
            break;
        }
    }
    for param in consumer.from_params.iter().flatten() {
        if let Some(token) = params.get(http, param) {
            return Some((token.to_string(), Source::Param(param.clone())));
        }
    }
    for name in consumer.from_cookies.iter().flatten() {
        if let Some(token) = cookies.get(http, name).filter(|v| !v.is_empty()) {
            return Some((token.to_string(), Source::Cookie(name.clone())));
        }
    }
    None
}

impl Consumer {
    /// Verifies `jwt` for this consumer at `now` (seconds): signature with the key its `kid`
    /// names (the first key without a `kid`), issuer, then `exp`/`nbf`/`iat` with the skew.
    pub(crate) fn verify(&self, jwt: &str, now: u64, keys: &mut TokenKeys) -> Result<Rc<Value>, Denial> {
        if jwt.len() > MAX_TOKEN_BYTES {
            return Err(Denial::Invalid);
        }
        let key = keys.key(jwt);
        let claims = match self.verified.get(&key) {
            Some(claims) => claims,
            None => {
                let header = keys.header(jwt).ok_or(Denial::Invalid)?;
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
        let key = match &header.kid {
            Some(kid) => self.keys.iter().find(|k| k.kid.as_deref() == Some(kid.as_str())),
            None => self.keys.first(),
        }
        .ok_or(Denial::Invalid)?;
        if !key.algorithms.contains(&header.alg) {
            return Err(Denial::Invalid);
        }
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
