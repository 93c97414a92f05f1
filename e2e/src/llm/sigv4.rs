//! AWS Signature Version 4 as Bedrock checks it: the mock recomputes the signature of each
//! signed request from what it received and compares.
//!
//! The canonical request is
//!
//! ```text
//! {method}\n{path, each segment URI-encoded again}\n{query, pairs encoded and sorted}\n
//! {name}:{value}\n for each signed header (lowercase, sorted, values trimmed, runs of spaces made one)\n
//! {signed header names joined by ;}\n{hex sha256 of the body}
//! ```
//!
//! (the path segment `a%3A0` of a model id is signed as `a%253A0`: AWS encodes the path as
//! sent once more for every service but S3); the string to sign is
//! `AWS4-HMAC-SHA256\n{x-amz-date}\n{date}/{region}/{service}/aws4_request\n{hex sha256 of the
//! canonical request}`; the key the HMAC-SHA256 chain `AWS4{secret}` -> date -> region ->
//! service -> `aws4_request`; the signature the hex HMAC of the string to sign with that key.
//!
//! The mock knows the e2e credentials ([`CREDENTIALS`]): a long-term key
//! ([`ACCESS_KEY`] / [`SECRET_KEY`]) and temporary credentials ([`TEMP_ACCESS_KEY`] /
//! [`TEMP_SECRET_KEY`] with the session token [`SESSION_TOKEN`]).
//!
//! Refusals, in the order AWS makes them:
//!
//! | what | status | `x-amzn-errortype` | message |
//! |---|---|---|---|
//! | an `Authorization` that is not `AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...` | 400 | `IncompleteSignatureException` | `Authorization header requires '<part>' parameter. ...` |
//! | no `x-amz-date`, or not `YYYYMMDDTHHMMSSZ` | 400 | `IncompleteSignatureException` | AWS's words |
//! | an access key the mock does not know | 403 | `UnrecognizedClientException` | `The security token included in the request is invalid.` |
//! | temporary credentials without their `x-amz-security-token` (or another token; or a long-term key with one) | 403 | `UnrecognizedClientException` | the same |
//! | the scope's date is not `x-amz-date`'s, its service not `bedrock`, its terminator not `aws4_request`, its region not the host's (`bedrock-runtime.{region}.amazonaws.com`) | 403 | `InvalidSignatureException` | AWS's words |
//! | `x-amz-date` more than 5 minutes away from the mock's clock | 403 | `InvalidSignatureException` | `Signature expired: ...` (`Signature not yet current: ...` ahead) |
//! | `host` or `x-amz-date` (or a present `x-amz-security-token`) not signed | 403 | `InvalidSignatureException` | `'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.`, ... |
//! | another signature | 403 | `InvalidSignatureException` | `The request signature we calculated does not match the signature you provided. ...`, then the canonical request and string to sign the mock computed, as AWS's own services tell them |
//!
//! The canonical request computed is kept ([`Verification::canonical_request`]): the mock
//! records it in the journal entry (`sigv4_canonical`).

use hmac::{Hmac, Mac};
use hyper::HeaderMap;
use sha2::{Digest, Sha256};

/// The service name of Bedrock's signatures (the runtime's too).
pub const SERVICE: &str = "bedrock";
/// The signature algorithm, the first word of `Authorization`.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// The e2e long-term access key id (the gateway's `awsAccessKey`).
pub const ACCESS_KEY: &str = "AKIDE2EEXAMPLE";
/// Its secret (the gateway's `awsSecretKey`).
pub const SECRET_KEY: &str = "e2e/bedrock/secret/key/EXAMPLE";
/// The e2e temporary credentials' access key id (STS keys start with `ASIA`).
pub const TEMP_ACCESS_KEY: &str = "ASIAE2EEXAMPLE";
/// Their secret.
pub const TEMP_SECRET_KEY: &str = "e2e/bedrock/temp/secret";
/// Their session token, which requests must carry in `x-amz-security-token` (and sign).
pub const SESSION_TOKEN: &str = "e2e-session-token";
/// How far `x-amz-date` may be from the mock's clock, in seconds (AWS allows 5 minutes).
pub const MAX_SKEW: u64 = 300;

/// A credential the verifier knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Credential<'a> {
    pub access_key: &'a str,
    pub secret_key: &'a str,
    /// The session token of temporary credentials.
    pub session_token: Option<&'a str>,
}

/// The e2e credentials the mock accepts.
pub const CREDENTIALS: [Credential<'static>; 2] = [
    Credential { access_key: ACCESS_KEY, secret_key: SECRET_KEY, session_token: None },
    Credential { access_key: TEMP_ACCESS_KEY, secret_key: TEMP_SECRET_KEY, session_token: Some(SESSION_TOKEN) },
];

/// What of a request is signed.
#[derive(Debug, Clone, Copy)]
pub struct Signable<'a> {
    pub method: &'a str,
    /// The path as received (still percent-encoded).
    pub path: &'a str,
    /// The query as received, without `?`.
    pub query: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// Why a request is refused: its status, AWS's error type and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: u16,
    /// `InvalidSignatureException`, `UnrecognizedClientException`, ...
    pub kind: &'static str,
    pub message: String,
}

impl Refusal {
    fn new(status: u16, kind: &'static str, message: impl Into<String>) -> Refusal {
        Refusal { status, kind, message: message.into() }
    }

    fn signature(message: impl Into<String>) -> Refusal {
        Refusal::new(403, "InvalidSignatureException", message)
    }

    fn incomplete(message: impl Into<String>) -> Refusal {
        Refusal::new(400, "IncompleteSignatureException", message)
    }

    fn unrecognized() -> Refusal {
        Refusal::new(403, "UnrecognizedClientException", "The security token included in the request is invalid.")
    }
}

/// The outcome of a verification, with what was computed on the way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// The access key id of the `Credential` (when the header has one).
    pub access_key: Option<String>,
    /// The canonical request the mock computed (when it got that far).
    pub canonical_request: Option<String>,
    /// The string to sign (idem).
    pub string_to_sign: Option<String>,
    pub result: Result<(), Refusal>,
}

/// The parts of an `Authorization: AWS4-HMAC-SHA256 ...` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    pub access_key: String,
    /// `YYYYMMDD`.
    pub date: String,
    pub region: String,
    pub service: String,
    pub terminator: String,
    /// As listed.
    pub signed_headers: Vec<String>,
    pub signature: String,
}

impl Authorization {
    /// Reads an `Authorization` header value.
    pub fn parse(value: &str) -> Result<Authorization, Refusal> {
        let rest = value
            .trim()
            .strip_prefix(ALGORITHM)
            .filter(|rest| rest.starts_with(' '))
            .ok_or_else(|| Refusal::incomplete(format!("Unsupported AWS 'algorithm': '{}'.", first_word(value))))?;
        let mut credential = None;
        let mut signed_headers = None;
        let mut signature = None;
        for part in rest.split(',') {
            let Some((name, value)) = part.trim().split_once('=') else { continue };
            let slot = match name.trim() {
                "Credential" => &mut credential,
                "SignedHeaders" => &mut signed_headers,
                "Signature" => &mut signature,
                _ => continue,
            };
            *slot = Some(value.trim().to_string());
        }
        let missing: Vec<&str> =
            [("Credential", &credential), ("Signature", &signature), ("SignedHeaders", &signed_headers)]
                .iter()
                .filter(|(_, v)| v.as_deref().is_none_or(str::is_empty))
                .map(|(name, _)| *name)
                .collect();
        if !missing.is_empty() {
            let required: String =
                missing.iter().map(|name| format!("Authorization header requires '{name}' parameter. ")).collect();
            return Err(Refusal::incomplete(format!("{required}Authorization={value}")));
        }
        let (credential, signed_headers, signature) =
            (credential.unwrap_or_default(), signed_headers.unwrap_or_default(), signature.unwrap_or_default());
        let scope: Vec<&str> = credential.split('/').collect();
        let [access_key, date, region, service, terminator] = scope.as_slice() else {
            return Err(Refusal::incomplete(format!(
                "Credential should be of the form '<access key>/<date>/<region>/<service>/aws4_request': '{credential}'."
            )));
        };
        Ok(Authorization {
            access_key: access_key.to_string(),
            date: date.to_string(),
            region: region.to_string(),
            service: service.to_string(),
            terminator: terminator.to_string(),
            signed_headers: signed_headers.split(';').map(str::to_string).collect(),
            signature: signature.to_ascii_lowercase(),
        })
    }
}

fn first_word(value: &str) -> &str {
    value.split_whitespace().next().unwrap_or_default()
}

/// The access key id of an `Authorization: AWS4-HMAC-SHA256 Credential=<id>/...` header.
pub fn access_key_of(authorization: &str) -> Option<String> {
    let at = authorization.find("Credential=")? + "Credential=".len();
    let id = authorization.get(at..)?.split(['/', ',', ' ']).next()?;
    (!id.is_empty()).then(|| id.to_string())
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim)
}

/// The region a Bedrock host names (`bedrock-runtime.us-east-1.amazonaws.com`).
fn host_region(host: &str) -> Option<&str> {
    let host = host.split(':').next().unwrap_or_default();
    let rest = host.strip_prefix("bedrock-runtime.").or_else(|| host.strip_prefix("bedrock-runtime-fips."))?;
    rest.strip_suffix(".amazonaws.com").filter(|r| !r.is_empty() && !r.contains('.'))
}

/// Verifies a Bedrock request (`service` [`SERVICE`]) against [`CREDENTIALS`] at `now` (Unix
/// seconds).
pub fn verify(request: &Signable<'_>, now: u64) -> Verification {
    verify_with(request, &CREDENTIALS, SERVICE, now)
}

/// Verifies a request signed for `service` by one of `credentials` at `now`.
pub fn verify_with(request: &Signable<'_>, credentials: &[Credential<'_>], service: &str, now: u64) -> Verification {
    let mut verification =
        Verification { access_key: None, canonical_request: None, string_to_sign: None, result: Ok(()) };
    verification.result = check(request, credentials, service, now, &mut verification);
    verification
}

fn check(
    request: &Signable<'_>,
    credentials: &[Credential<'_>],
    service: &str,
    now: u64,
    out: &mut Verification,
) -> Result<(), Refusal> {
    let value = header(request.headers, "authorization").unwrap_or_default();
    out.access_key = access_key_of(value);
    let authorization = Authorization::parse(value)?;
    let Some(amz_date) = header(request.headers, "x-amz-date") else {
        return Err(Refusal::incomplete(format!(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization={value}"
        )));
    };
    let Some(signed_at) = parse_amz_date(amz_date) else {
        return Err(Refusal::incomplete(format!(
            "Date must be in ISO-8601 'basic format'. Got '{amz_date}'. See http://en.wikipedia.org/wiki/ISO_8601"
        )));
    };
    let credential =
        credentials.iter().find(|c| c.access_key == authorization.access_key).ok_or_else(Refusal::unrecognized)?;
    let token = header(request.headers, "x-amz-security-token");
    if token != credential.session_token {
        return Err(Refusal::unrecognized());
    }
    let day = amz_date.get(..8).unwrap_or_default();
    if authorization.date != day {
        return Err(Refusal::signature(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{day}', from '{amz_date}'.",
            authorization.date
        )));
    }
    if authorization.service != service {
        return Err(Refusal::signature(format!("Credential should be scoped to correct service: '{service}'. ")));
    }
    if authorization.terminator != "aws4_request" {
        return Err(Refusal::signature(format!(
            "Credential should be scoped with a valid terminator: 'aws4_request', not '{}'. ",
            authorization.terminator
        )));
    }
    let host = header(request.headers, "host").unwrap_or_default();
    if host_region(host).is_some_and(|region| region != authorization.region) {
        return Err(Refusal::signature("Credential should be scoped to a valid region. "));
    }
    if signed_at + MAX_SKEW < now {
        return Err(Refusal::signature(format!(
            "Signature expired: {amz_date} is now earlier than {} ({} - 5 min.)",
            amz_date_of(now - MAX_SKEW),
            amz_date_of(now)
        )));
    }
    if signed_at > now + MAX_SKEW {
        return Err(Refusal::signature(format!(
            "Signature not yet current: {amz_date} is still later than {} ({} + 5 min.)",
            amz_date_of(now + MAX_SKEW),
            amz_date_of(now)
        )));
    }
    let signed = |name: &str| authorization.signed_headers.iter().any(|h| h.eq_ignore_ascii_case(name));
    if !signed("host") {
        return Err(Refusal::signature("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."));
    }
    if !signed("x-amz-date") {
        return Err(Refusal::signature("'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization."));
    }
    if token.is_some() && !signed("x-amz-security-token") {
        return Err(Refusal::signature("'X-Amz-Security-Token' must be a 'SignedHeader' in the AWS Authorization."));
    }
    let canonical = canonical_request(request, &authorization.signed_headers);
    let scope = format!("{day}/{}/{service}/aws4_request", authorization.region);
    let to_sign = string_to_sign(amz_date, &scope, &canonical);
    let expected = signature(credential.secret_key, day, &authorization.region, service, &to_sign);
    out.canonical_request = Some(canonical.clone());
    out.string_to_sign = Some(to_sign.clone());
    if expected != authorization.signature {
        return Err(Refusal::signature(format!(
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.\n\nThe Canonical String for this request should have been\n'{canonical}'\n\nThe String-to-Sign should have been\n'{to_sign}'\n"
        )));
    }
    Ok(())
}

/// The canonical request of `request` signing the headers `signed` (in any case and order:
/// they are lowercased and sorted).
pub fn canonical_request(request: &Signable<'_>, signed: &[String]) -> String {
    let mut names: Vec<String> =
        signed.iter().map(|n| n.trim().to_ascii_lowercase()).filter(|n| !n.is_empty()).collect();
    names.sort();
    names.dedup();
    let mut out = format!("{}\n{}\n{}\n", request.method, canonical_uri(request.path), canonical_query(request.query));
    for name in &names {
        let values: Vec<String> = request
            .headers
            .get_all(name.as_str())
            .iter()
            .map(|v| collapse_spaces(&String::from_utf8_lossy(v.as_bytes())))
            .collect();
        out.push_str(&format!("{name}:{}\n", values.join(",")));
    }
    out.push_str(&format!("\n{}\n{}", names.join(";"), sha256_hex(request.body)));
    out
}

/// `AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{hex sha256 of the canonical request}`.
pub fn string_to_sign(amz_date: &str, scope: &str, canonical: &str) -> String {
    format!("{ALGORITHM}\n{amz_date}\n{scope}\n{}", sha256_hex(canonical.as_bytes()))
}

/// The signature of `to_sign` by `secret` for `day` (`YYYYMMDD`), `region` and `service`.
pub fn signature(secret: &str, day: &str, region: &str, service: &str, to_sign: &str) -> String {
    let mut key = hmac(format!("AWS4{secret}").as_bytes(), day.as_bytes());
    for part in [region, service, "aws4_request"] {
        key = hmac(&key, part.as_bytes());
    }
    hex(&hmac(&key, to_sign.as_bytes()))
}

/// What a client signs besides the headers.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    pub method: &'a str,
    /// The path as it will be sent (percent-encoded).
    pub path: &'a str,
    /// The query, without `?`.
    pub query: &'a str,
    pub body: &'a [u8],
}

impl<'a> Target<'a> {
    /// A `POST` of `body` to `path`, without a query (Bedrock's calls).
    pub fn post(path: &'a str, body: &'a [u8]) -> Target<'a> {
        Target { method: "POST", path, query: "", body }
    }
}

/// Signs a request as a client would (for tests): sets `x-amz-date`, `x-amz-security-token`
/// (temporary credentials) and `authorization` in `headers`, which must hold `host`; signs
/// `host`, `x-amz-date` and the token.
pub fn sign(target: &Target<'_>, headers: &mut HeaderMap, credential: &Credential<'_>, region: &str, now: u64) {
    let amz_date = amz_date_of(now);
    let day = amz_date.get(..8).unwrap_or_default().to_string();
    insert(headers, "x-amz-date", &amz_date);
    let mut names = vec!["host".to_string(), "x-amz-date".to_string()];
    if let Some(token) = credential.session_token {
        insert(headers, "x-amz-security-token", token);
        names.push("x-amz-security-token".into());
    }
    let Target { method, path, query, body } = *target;
    let request = Signable { method, path, query, headers, body };
    let canonical = canonical_request(&request, &names);
    let scope = format!("{day}/{region}/{SERVICE}/aws4_request");
    let signature =
        signature(credential.secret_key, &day, region, SERVICE, &string_to_sign(&amz_date, &scope, &canonical));
    names.sort();
    let value = format!(
        "{ALGORITHM} Credential={}/{scope}, SignedHeaders={}, Signature={signature}",
        credential.access_key,
        names.join(";")
    );
    insert(headers, "authorization", &value);
}

fn insert(headers: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(value) = hyper::header::HeaderValue::from_str(value) {
        headers.insert(name, value);
    }
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(data);
            mac.finalize().into_bytes().to_vec()
        }
        // HMAC takes keys of any length.
        Err(_) => Vec::new(),
    }
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// A header value as signed: trimmed, each run of spaces one space.
fn collapse_spaces(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.trim().chars() {
        if c == ' ' && out.ends_with(' ') {
            continue;
        }
        out.push(c);
    }
    out
}

/// URI-encodes `bytes` as SigV4 does: all but `A-Za-z0-9-_.~` as `%XX` (uppercase hex).
fn aws_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The canonical URI of a path as received: every segment encoded again.
pub fn canonical_uri(path: &str) -> String {
    if path.is_empty() {
        return "/".into();
    }
    path.split('/').map(|segment| aws_encode(segment.as_bytes())).collect::<Vec<_>>().join("/")
}

/// `%XX` escapes decoded (a stray `%` kept as it is).
pub fn percent_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match escaped {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    out
}

/// The canonical query: names and values decoded then encoded, sorted by name then value.
pub fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (aws_encode(&percent_decode(name)), aws_encode(&percent_decode(value)))
        })
        .collect();
    pairs.sort();
    pairs.into_iter().map(|(n, v)| format!("{n}={v}")).collect::<Vec<_>>().join("&")
}

/// Days since 1970-01-01 of a proleptic Gregorian date (years from March, so that the leap
/// day ends a year; 400-year cycles of 146097 days).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date `days` after 1970-01-01 (the inverse of [`days_from_civil`]).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 { month_from_march + 3 } else { month_from_march - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Unix seconds of an `x-amz-date` (`20150830T123600Z`).
pub fn parse_amz_date(text: &str) -> Option<u64> {
    let bytes = text.as_bytes();
    if bytes.len() != 16 || bytes[8] != b'T' || bytes[15] != b'Z' {
        return None;
    }
    let digits = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(range)?;
        part.bytes().all(|b| b.is_ascii_digit()).then(|| part.parse().ok()).flatten()
    };
    let (year, month, day) = (digits(0..4)?, digits(4..6)?, digits(6..8)?);
    let (hour, minute, second) = (digits(9..11)?, digits(11..13)?, digits(13..15)?);
    let valid = (1..=12).contains(&month) && (1..=31).contains(&day) && hour < 24 && minute < 60 && second < 61;
    if !valid || civil_from_days(days_from_civil(year, month, day)) != (year, month, day) {
        return None;
    }
    let seconds = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second;
    u64::try_from(seconds).ok()
}

/// The `x-amz-date` of a time (Unix seconds).
pub fn amz_date_of(unix: u64) -> String {
    let unix = i64::try_from(unix).unwrap_or(i64::MAX / 2);
    let (days, seconds) = (unix.div_euclid(86_400), unix.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    format!("{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z", seconds / 3600, seconds / 60 % 60, seconds % 60)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    /// AWS's SigV4 test suite: credentials, time and scope of every vector.
    const SUITE_KEY: Credential<'static> = Credential {
        access_key: "AKIDEXAMPLE",
        secret_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        session_token: None,
    };
    const SUITE_TIME: u64 = 1_440_938_160; // 20150830T123600Z
    const SUITE_TOKEN: &str = "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==";

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    fn suite_authorization(service: &str, signed: &str, signature: &str) -> String {
        format!("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/{service}/aws4_request, SignedHeaders={signed}, Signature={signature}")
    }

    /// Verifies a request of the suite (host `example.amazonaws.com`, no body).
    fn verify_suite(
        method: &str,
        path: &str,
        query: &str,
        extra: &[(&'static str, &str)],
        authorization: &str,
        credential: Credential<'_>,
        service: &str,
    ) -> Verification {
        let mut pairs = vec![("host", "example.amazonaws.com"), ("x-amz-date", "20150830T123600Z")];
        pairs.extend_from_slice(extra);
        pairs.push(("authorization", authorization));
        let map = headers(&pairs);
        let request = Signable { method, path, query, headers: &map, body: b"" };
        verify_with(&request, &[credential], service, SUITE_TIME)
    }

    #[test]
    fn dates() {
        assert_eq!(amz_date_of(SUITE_TIME), "20150830T123600Z");
        assert_eq!(parse_amz_date("20150830T123600Z"), Some(SUITE_TIME));
        assert_eq!(amz_date_of(0), "19700101T000000Z");
        assert_eq!(parse_amz_date("20000229T000000Z"), Some(951_782_400));
        assert_eq!(parse_amz_date("21000229T000000Z"), None, "2100 has no 29 February");
        assert_eq!(amz_date_of(4_107_542_400), "21000301T000000Z");
        for bad in
            ["2015-08-30T12:36:00Z", "20150830T123600", "20151330T123600Z", "20150830T243600Z", "2015083OT123600Z"]
        {
            assert_eq!(parse_amz_date(bad), None, "{bad}");
        }
        for t in [0, 59, 86_399, 951_868_799, 1_700_000_000, 4_102_444_800] {
            assert_eq!(parse_amz_date(&amz_date_of(t)), Some(t));
        }
    }

    #[test]
    fn canonical_pieces() {
        assert_eq!(
            canonical_uri("/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse"),
            "/model/anthropic.claude-3-5-sonnet-20240620-v1%253A0/converse"
        );
        assert_eq!(canonical_uri(""), "/");
        assert_eq!(canonical_uri("/"), "/");
        assert_eq!(canonical_query("Param2=value2&Param1=value1"), "Param1=value1&Param2=value2");
        assert_eq!(canonical_query("b=%7e&a=x y&a=A&c"), "a=A&a=x%20y&b=~&c=");
        assert_eq!(collapse_spaces("  one   two  "), "one two");
        assert_eq!(
            access_key_of(
                "AWS4-HMAC-SHA256 Credential=AKID/20150830/r/bedrock/aws4_request, SignedHeaders=host, Signature=x"
            )
            .as_deref(),
            Some("AKID")
        );
        assert_eq!(access_key_of("Bearer x"), None);
        assert_eq!(host_region("bedrock-runtime.eu-west-1.amazonaws.com"), Some("eu-west-1"));
        assert_eq!(host_region("llm-mock:8080"), None);
    }

    #[test]
    fn aws_test_suite_vectors() {
        // get-vanilla, get-vanilla-query-order-key-case, post-vanilla and post-sts-header-before,
        // with the signatures AWS published (service `service`).
        let get = suite_authorization(
            "service",
            "host;x-amz-date",
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
        );
        let verified = verify_suite("GET", "/", "", &[], &get, SUITE_KEY, "service");
        assert_eq!(verified.result, Ok(()));
        assert_eq!(
            verified.canonical_request.as_deref(),
            Some("GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        );
        assert_eq!(
            verified.string_to_sign.as_deref(),
            Some("AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nbb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63")
        );
        let query = suite_authorization(
            "service",
            "host;x-amz-date",
            "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500",
        );
        assert_eq!(
            verify_suite("GET", "/", "Param2=value2&Param1=value1", &[], &query, SUITE_KEY, "service").result,
            Ok(())
        );
        let post = suite_authorization(
            "service",
            "host;x-amz-date",
            "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
        );
        assert_eq!(verify_suite("POST", "/", "", &[], &post, SUITE_KEY, "service").result, Ok(()));
        let temporary = Credential { session_token: Some(SUITE_TOKEN), ..SUITE_KEY };
        let sts = suite_authorization(
            "service",
            "host;x-amz-date;x-amz-security-token",
            "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead",
        );
        let verified =
            verify_suite("POST", "/", "", &[("x-amz-security-token", SUITE_TOKEN)], &sts, temporary, "service");
        assert_eq!(verified.result, Ok(()));
        // The same vector with a wrong signature is refused.
        let wrong = suite_authorization(
            "service",
            "host;x-amz-date",
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf30",
        );
        assert_eq!(
            verify_suite("GET", "/", "", &[], &wrong, SUITE_KEY, "service").result.unwrap_err().kind,
            "InvalidSignatureException"
        );
    }

    #[test]
    fn aws_vector_adapted_to_bedrock() {
        // get-vanilla and post-vanilla scoped to `bedrock`; signatures recomputed with Python's
        // hmac and hashlib (a scratch script, not this code).
        let get = suite_authorization("bedrock", "host;x-amz-date", GET_VANILLA_BEDROCK);
        assert_eq!(verify_suite("GET", "/", "", &[], &get, SUITE_KEY, "bedrock").result, Ok(()));
        let post = suite_authorization("bedrock", "host;x-amz-date", POST_VANILLA_BEDROCK);
        assert_eq!(verify_suite("POST", "/", "", &[], &post, SUITE_KEY, "bedrock").result, Ok(()));
        // The suite's signature for `service` does not pass as `bedrock`'s.
        let foreign = suite_authorization(
            "bedrock",
            "host;x-amz-date",
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
        );
        assert!(verify_suite("GET", "/", "", &[], &foreign, SUITE_KEY, "bedrock").result.is_err());
    }

    const GET_VANILLA_BEDROCK: &str = "66c7d5b3687aef1c9a331ab971fd692447d8ab862097f335ebe9a90f6a9bac11";
    const POST_VANILLA_BEDROCK: &str = "9d54b859ab48c638bdf1874643b06ac1058218fa7d31904fbfb9771bdf0b5ed9";

    /// 20250115T093000Z.
    const E2E_TIME: u64 = 1_736_933_400;
    const E2E_PATH: &str = "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse";
    const E2E_BODY: &[u8] = br#"{"messages":[{"role":"user","content":[{"text":"hi"}]}]}"#;
    const E2E_HOST: &str = "bedrock-runtime.us-east-1.amazonaws.com";

    /// A converse request with `authorization` and the other headers given.
    fn converse(path: &str, pairs: &[(&'static str, &str)], now: u64) -> Verification {
        let map = headers(pairs);
        verify(&Signable { method: "POST", path, query: "", headers: &map, body: E2E_BODY }, now)
    }

    fn e2e_authorization(access_key: &str, signed: &str, signature: &str) -> String {
        format!("AWS4-HMAC-SHA256 Credential={access_key}/20250115/us-east-1/bedrock/aws4_request, SignedHeaders={signed}, Signature={signature}")
    }

    #[test]
    fn e2e_credentials_cross_checked_with_python() {
        // Signatures computed by the scratch script (Python's hmac and hashlib) for the e2e keys.
        let long_term = e2e_authorization(
            ACCESS_KEY,
            "content-type;host;x-amz-date",
            "10b80d9b0617f2fb49bad0647e597620c3525ea30c9e6bc110fdb9d057d75ecd",
        );
        let pairs = [
            ("host", E2E_HOST),
            ("x-amz-date", "20250115T093000Z"),
            ("content-type", "application/json"),
            ("authorization", long_term.as_str()),
        ];
        let verified = converse(E2E_PATH, &pairs, E2E_TIME + 60);
        assert_eq!(verified.result, Ok(()));
        assert_eq!(verified.access_key.as_deref(), Some(ACCESS_KEY));
        assert_eq!(
            verified.canonical_request.as_deref(),
            Some("POST\n/model/anthropic.claude-3-5-sonnet-20240620-v1%253A0/converse\n\ncontent-type:application/json\nhost:bedrock-runtime.us-east-1.amazonaws.com\nx-amz-date:20250115T093000Z\n\ncontent-type;host;x-amz-date\nc3335e07d6e89650bf94cb98664be69f8774dbc3198df221f113db0a59ea14f0"),
            "the model id's %3A is signed as %253A"
        );
        let temporary = e2e_authorization(
            TEMP_ACCESS_KEY,
            "host;x-amz-date;x-amz-security-token",
            "e4a054947cc966ad8aa0d85ff4c34d9106bdad72b716fedb62bd57a12e72cbb0",
        );
        let stream = "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse-stream";
        let pairs = [
            ("host", E2E_HOST),
            ("x-amz-date", "20250115T093000Z"),
            ("x-amz-security-token", SESSION_TOKEN),
            ("authorization", temporary.as_str()),
        ];
        assert_eq!(converse(stream, &pairs, E2E_TIME - 60).result, Ok(()));
        // The path as decoded (`:`) is not what was signed.
        let decoded = "/model/anthropic.claude-3-5-sonnet-20240620-v1:0/converse-stream";
        assert_eq!(converse(decoded, &pairs, E2E_TIME).result.unwrap_err().kind, "InvalidSignatureException");
    }

    #[test]
    fn the_mock_signer_passes_its_verifier() {
        for credential in CREDENTIALS {
            let mut map = headers(&[("host", E2E_HOST)]);
            sign(&Target::post(E2E_PATH, E2E_BODY), &mut map, &credential, "us-east-1", E2E_TIME);
            let request = Signable { method: "POST", path: E2E_PATH, query: "", headers: &map, body: E2E_BODY };
            assert_eq!(verify(&request, E2E_TIME).result, Ok(()), "{}", credential.access_key);
            let tampered = Signable { body: b"{}", ..request };
            let refusal = verify(&tampered, E2E_TIME).result.unwrap_err();
            assert_eq!((refusal.status, refusal.kind), (403, "InvalidSignatureException"));
            assert!(
                refusal
                    .message
                    .starts_with("The request signature we calculated does not match the signature you provided."),
                "{}",
                refusal.message
            );
            assert!(refusal.message.contains("The Canonical String for this request should have been"));
        }
    }

    #[test]
    fn refusals() {
        let refusal = |pairs: &[(&'static str, &str)], now: u64| converse(E2E_PATH, pairs, now).result.unwrap_err();
        let signed = |credential: &Credential<'_>, region: &str, at: u64| {
            let mut map = headers(&[("host", E2E_HOST)]);
            sign(&Target::post(E2E_PATH, E2E_BODY), &mut map, credential, region, at);
            map
        };
        let pairs_of = |map: &HeaderMap| -> Vec<(&'static str, String)> {
            ["host", "x-amz-date", "x-amz-security-token", "authorization"]
                .into_iter()
                .filter_map(|name| map.get(name).map(|v| (name, v.to_str().unwrap().to_string())))
                .collect()
        };
        let check = |pairs: Vec<(&'static str, String)>, now: u64| {
            let pairs: Vec<(&'static str, &str)> = pairs.iter().map(|(n, v)| (*n, v.as_str())).collect();
            refusal(&pairs, now)
        };
        let good = pairs_of(&signed(&CREDENTIALS[0], "us-east-1", E2E_TIME));
        // Expired, and not yet current.
        let expired = check(good.clone(), E2E_TIME + MAX_SKEW + 1);
        assert_eq!((expired.status, expired.kind), (403, "InvalidSignatureException"));
        assert!(
            expired.message.starts_with(
                "Signature expired: 20250115T093000Z is now earlier than 20250115T093001Z (20250115T093501Z - 5 min.)"
            ),
            "{}",
            expired.message
        );
        assert_eq!(
            converse(E2E_PATH, &good.iter().map(|(n, v)| (*n, v.as_str())).collect::<Vec<_>>(), E2E_TIME + MAX_SKEW)
                .result,
            Ok(())
        );
        assert!(check(good.clone(), E2E_TIME - MAX_SKEW - 1).message.starts_with("Signature not yet current"));
        // An unknown key.
        let stranger = Credential { access_key: "AKIASTRANGER", secret_key: SECRET_KEY, session_token: None };
        let unknown = check(pairs_of(&signed(&stranger, "us-east-1", E2E_TIME)), E2E_TIME);
        assert_eq!(
            (unknown.status, unknown.kind, unknown.message.as_str()),
            (403, "UnrecognizedClientException", "The security token included in the request is invalid.")
        );
        // Temporary credentials without their token, with another one, and not signing it.
        let temporary = pairs_of(&signed(&CREDENTIALS[1], "us-east-1", E2E_TIME));
        let without: Vec<_> = temporary.iter().filter(|(n, _)| *n != "x-amz-security-token").cloned().collect();
        assert_eq!(check(without, E2E_TIME).kind, "UnrecognizedClientException");
        let other: Vec<_> = temporary
            .iter()
            .map(|(n, v)| (*n, if *n == "x-amz-security-token" { "forged".to_string() } else { v.clone() }))
            .collect();
        assert_eq!(check(other, E2E_TIME).kind, "UnrecognizedClientException");
        let temp_unsigned = {
            let mut map = headers(&[("host", E2E_HOST)]);
            let tokenless = Credential { session_token: None, ..CREDENTIALS[1] };
            sign(&Target::post(E2E_PATH, E2E_BODY), &mut map, &tokenless, "us-east-1", E2E_TIME);
            let mut pairs = pairs_of(&map);
            pairs.push(("x-amz-security-token", SESSION_TOKEN.to_string()));
            pairs
        };
        let refused = check(temp_unsigned, E2E_TIME);
        assert_eq!(
            (refused.kind, refused.message.as_str()),
            ("InvalidSignatureException", "'X-Amz-Security-Token' must be a 'SignedHeader' in the AWS Authorization.")
        );
        // Another region than the host's; another service.
        assert_eq!(
            check(pairs_of(&signed(&CREDENTIALS[0], "eu-west-1", E2E_TIME)), E2E_TIME).message,
            "Credential should be scoped to a valid region. "
        );
        let wrong_service: Vec<_> = good.iter().map(|(n, v)| (*n, v.replace("/bedrock/", "/s3/"))).collect();
        assert!(check(wrong_service, E2E_TIME)
            .message
            .starts_with("Credential should be scoped to correct service: 'bedrock'."));
        // No x-amz-date; an incomplete header; another algorithm.
        let undated: Vec<_> = good.iter().filter(|(n, _)| *n != "x-amz-date").cloned().collect();
        let incomplete = check(undated, E2E_TIME);
        assert_eq!((incomplete.status, incomplete.kind), (400, "IncompleteSignatureException"));
        let no_signature = e2e_authorization(ACCESS_KEY, "host;x-amz-date", "");
        let refused = refusal(
            &[("host", E2E_HOST), ("x-amz-date", "20250115T093000Z"), ("authorization", no_signature.as_str())],
            E2E_TIME,
        );
        assert!(
            refused.message.starts_with("Authorization header requires 'Signature' parameter."),
            "{}",
            refused.message
        );
        let v2 = refusal(
            &[("host", E2E_HOST), ("x-amz-date", "20250115T093000Z"), ("authorization", "AWS4-HMAC-SHA1 Credential=x")],
            E2E_TIME,
        );
        assert_eq!(v2.kind, "IncompleteSignatureException");
        // Host not signed.
        let mut map = headers(&[("host", E2E_HOST)]);
        sign(&Target::post(E2E_PATH, E2E_BODY), &mut map, &CREDENTIALS[0], "us-east-1", E2E_TIME);
        let value = map
            .get("authorization")
            .unwrap()
            .to_str()
            .unwrap()
            .replace("SignedHeaders=host;x-amz-date", "SignedHeaders=x-amz-date");
        let refused = refusal(
            &[("host", E2E_HOST), ("x-amz-date", "20250115T093000Z"), ("authorization", value.as_str())],
            E2E_TIME,
        );
        assert_eq!(refused.message, "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
    }
}
