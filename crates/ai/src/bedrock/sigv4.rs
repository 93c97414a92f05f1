//! AWS Signature Version 4, as Bedrock's requests are signed when the provider is given an
//! access key rather than an API key (Bedrock's API keys are a Bearer token instead).
//!
//! The canonical request is the method, the path with each segment URI-encoded again (AWS
//! does so for every service but S3: a model id `a:0`, sent as `a%3A0`, is signed as
//! `a%253A0`), the query's parameters encoded and sorted, the signed headers (always `host`
//! and `x-amz-date`; `x-amz-security-token` with temporary credentials, which Go could not
//! send at all) and the payload's SHA-256. Bedrock does not need `x-amz-content-sha256`.
//! The time is the caller's (the host clock's seconds), formatted here without a date crate.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// What is signed of a request.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// `POST`.
    pub method: &'a str,
    /// `bedrock-runtime.us-east-1.amazonaws.com`.
    pub host: &'a str,
    /// The path as sent (`/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse`).
    pub path: &'a str,
    /// The query as sent, without `?` (empty for Bedrock's calls).
    pub query: &'a str,
    /// Headers to sign besides `host`, `x-amz-date` and `x-amz-security-token` (which are
    /// always signed, and ignored here).
    pub headers: &'a [(&'a str, &'a str)],
    /// The body's SHA-256, in lowercase hex ([`payload_hash`]).
    pub payload_sha256: &'a str,
}

/// Who signs.
#[derive(Debug, Clone, Copy)]
pub struct Credentials<'a> {
    pub access_key: &'a str,
    pub secret_key: &'a str,
    /// The session token of temporary credentials (STS, an assumed role).
    pub session_token: Option<&'a str>,
}

/// A signature, with what it was computed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    /// The `authorization` header.
    pub authorization: String,
    /// The `x-amz-date` header.
    pub amz_date: String,
    /// The `x-amz-security-token` header, with temporary credentials.
    pub security_token: Option<String>,
    /// The canonical request (for a failed signature's diagnosis).
    pub canonical_request: String,
    /// The string to sign.
    pub string_to_sign: String,
}

impl Signed {
    /// The headers to set on the request.
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        let mut headers = vec![("authorization", self.authorization.clone()), ("x-amz-date", self.amz_date.clone())];
        if let Some(token) = &self.security_token {
            headers.push(("x-amz-security-token", token.clone()));
        }
        headers
    }
}

/// Signs `request` for `service` (`bedrock`) in `region` at `unix_seconds`.
pub fn sign(request: &Request, credentials: &Credentials, region: &str, service: &str, unix_seconds: u64) -> Signed {
    let amz_date = amz_date(unix_seconds);
    let date = amz_date.get(..8).unwrap_or_default();
    let mut headers: Vec<(String, String)> =
        vec![("host".into(), canonical_value(request.host)), ("x-amz-date".into(), amz_date.clone())];
    if let Some(token) = credentials.session_token {
        headers.push(("x-amz-security-token".into(), canonical_value(token)));
    }
    for (name, value) in request.headers {
        let name = name.trim().to_ascii_lowercase();
        if matches!(name.as_str(), "host" | "x-amz-date" | "x-amz-security-token") {
            continue;
        }
        let value = canonical_value(value);
        match headers.iter_mut().find(|(n, _)| *n == name) {
            // A header given twice is signed as its values joined by commas.
            Some((_, joined)) => {
                joined.push(',');
                joined.push_str(&value);
            }
            None => headers.push((name, value)),
        }
    }
    headers.sort_by(|a, b| a.0.cmp(&b.0));
    let signed_headers = headers.iter().map(|(name, _)| name.as_str()).collect::<Vec<_>>().join(";");
    let mut canonical_request =
        format!("{}\n{}\n{}\n", request.method, canonical_path(request.path), canonical_query(request.query));
    for (name, value) in &headers {
        canonical_request.push_str(&format!("{name}:{value}\n"));
    }
    canonical_request.push_str(&format!("\n{signed_headers}\n{}", request.payload_sha256));
    let scope = format!("{date}/{region}/{service}/aws4_request");
    let string_to_sign =
        format!("AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}", payload_hash(canonical_request.as_bytes()));
    let mut key = hmac(format!("AWS4{}", credentials.secret_key).as_bytes(), date.as_bytes());
    for part in [region, service, "aws4_request"] {
        key = hmac(&key, part.as_bytes());
    }
    let signature = hex(&hmac(&key, string_to_sign.as_bytes()));
    let authorization = format!(
        "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
        credentials.access_key
    );
    Signed {
        authorization,
        amz_date,
        security_token: credentials.session_token.map(str::to_string),
        canonical_request,
        string_to_sign,
    }
}

/// The SHA-256 of `body` in lowercase hex, as the canonical request names the payload.
pub fn payload_hash(body: &[u8]) -> String {
    hex(&Sha256::digest(body))
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC takes a key of any length: this cannot fail.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else { return [0; 32] };
    mac.update(data);
    mac.finalize().into_bytes().into()
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        for nibble in [byte >> 4, byte & 0xf] {
            out.push(char::from(DIGITS.get(usize::from(nibble)).copied().unwrap_or(b'0')));
        }
    }
    out
}

/// A header value as signed: trimmed, inner runs of spaces made one.
fn canonical_value(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `bytes` URI-encoded as AWS encodes: everything but `A-Z a-z 0-9 - _ . ~` as `%XX`.
fn uri_encode(bytes: &[u8], out: &mut String) {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    for &byte in bytes {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push('%');
            for nibble in [byte >> 4, byte & 0xf] {
                out.push(char::from(DIGITS.get(usize::from(nibble)).copied().unwrap_or(b'0')));
            }
        }
    }
}

/// The canonical URI: each segment of the path as sent, encoded again.
fn canonical_path(path: &str) -> String {
    let path = path.split(['?', '#']).next().unwrap_or_default();
    if path.is_empty() {
        return "/".into();
    }
    let mut out = String::with_capacity(path.len() + 16);
    for (index, segment) in path.split('/').enumerate() {
        if index > 0 {
            out.push('/');
        }
        uri_encode(segment.as_bytes(), &mut out);
    }
    out
}

/// `%XX` escapes of `text` decoded (anything else, a stray `%` included, as it is).
fn percent_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while let Some(&byte) = bytes.get(at) {
        let escaped = match (byte, bytes.get(at + 1..at + 3)) {
            (b'%', Some(hex)) => std::str::from_utf8(hex).ok().and_then(|h| u8::from_str_radix(h, 16).ok()),
            _ => None,
        };
        match escaped {
            Some(decoded) => {
                out.push(decoded);
                at += 3;
            }
            None => {
                out.push(byte);
                at += 1;
            }
        }
    }
    out
}

/// The canonical query: each name and value encoded (once, whatever encoding it was sent
/// with), sorted by name then value.
fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let (mut n, mut v) = (String::new(), String::new());
            uri_encode(&percent_decode(name), &mut n);
            uri_encode(&percent_decode(value), &mut v);
            (n, v)
        })
        .collect();
    pairs.sort();
    pairs.iter().map(|(n, v)| format!("{n}={v}")).collect::<Vec<_>>().join("&")
}

/// `YYYYMMDDTHHMMSSZ` of a time in seconds since the epoch (UTC).
pub fn amz_date(unix_seconds: u64) -> String {
    let (days, seconds) = (unix_seconds / 86_400, unix_seconds % 86_400);
    let (year, month, day) = civil_from_days(days);
    format!("{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z", seconds / 3600, seconds / 60 % 60, seconds % 60)
}

/// The Gregorian date `days` after 1970-01-01: the days are counted in eras of 400 years
/// (146097 days) from 0000-03-01, so that leap days fall at the end of a year.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 { month_from_march + 3 } else { month_from_march - 9 };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(amz_date(0), "19700101T000000Z");
        assert_eq!(amz_date(1_440_938_160), "20150830T123600Z");
        assert_eq!(amz_date(951_782_400), "20000229T000000Z", "a leap day of a year divisible by 400");
        assert_eq!(amz_date(4_107_542_399), "21000228T235959Z", "2100 is not a leap year");
        assert_eq!(amz_date(4_107_542_400), "21000301T000000Z");
        assert_eq!(amz_date(1_735_689_599), "20241231T235959Z");
    }

    #[test]
    fn paths_and_queries() {
        assert_eq!(canonical_path(""), "/");
        assert_eq!(canonical_path("/"), "/");
        assert_eq!(canonical_path("/model/a%3A0/converse"), "/model/a%253A0/converse");
        assert_eq!(canonical_path("/model/a b/x?y=1"), "/model/a%20b/x");
        assert_eq!(canonical_query("b=2&a=1&a=0&c"), "a=0&a=1&b=2&c=");
        assert_eq!(canonical_query("x=%7e%2F&y=a b+"), "x=~%2F&y=a%20b%2B");
        assert_eq!(percent_decode("100%"), b"100%");
        assert_eq!(hex(&[0, 0xab, 0xff]), "00abff");
    }
}
