//! The signature scheme: string to sign, HMAC, Content-MD5, request time.

use crate::params;
use base64::Engine;
use higress_sdk::{url, Http};
use hmac::{Hmac, Mac};

/// Headers that always take part, in this order (one line each, empty when absent).
const FIXED_HEADERS: [&str; 5] = [":method", "accept", "content-md5", "content-type", "date"];
/// Header-name list not signed even when listed in `x-ca-signature-headers`.
const NEVER_SIGNED: [&str; 2] = ["x-ca-signature", "x-ca-signature-headers"];
/// A timestamp with fewer digits is in seconds, not milliseconds.
const MILLIS_DIGITS: usize = 13;

/// What the signature covers, read at request-header time (Envoy exposes the headers only
/// then, and the form body may come later).
pub(crate) struct SigningRequest {
    /// Value of `x-ca-signature-method`.
    pub method: String,
    /// Value of `x-ca-signature`.
    pub signature: String,
    /// Fixed and listed header lines.
    headers_part: String,
    path: String,
    /// `Date`, else `x-ca-timestamp`.
    date: String,
    date_is_timestamp: bool,
}

impl SigningRequest {
    pub(crate) fn from_headers(http: &Http) -> Self {
        let get = |name: &str| http.request_header(name).unwrap_or_default();
        let mut headers_part = String::new();
        for name in FIXED_HEADERS {
            headers_part.push_str(&get(name));
            headers_part.push('\n');
        }
        let listed = get("x-ca-signature-headers");
        let mut names: Vec<String> = listed
            .split(',')
            .map(|n| n.trim().to_ascii_lowercase())
            .filter(|n| !n.is_empty() && !NEVER_SIGNED.contains(&n.as_str()) && !FIXED_HEADERS.contains(&n.as_str()))
            .collect();
        names.sort();
        for name in names {
            let value = get(&name);
            headers_part.push_str(&name);
            headers_part.push(':');
            headers_part.push_str(&value);
            headers_part.push('\n');
        }
        let date = get("date");
        let (date, date_is_timestamp) = if date.is_empty() { (get("x-ca-timestamp"), true) } else { (date, false) };
        SigningRequest {
            method: get("x-ca-signature-method"),
            signature: get("x-ca-signature"),
            headers_part,
            path: get(":path"),
            date,
            date_is_timestamp,
        }
    }

    /// The string to sign: header lines, then the path with query (and form) parameters
    /// sorted by name, the first value of a repeated name, `name` alone for an empty value.
    pub(crate) fn string_to_sign(&self, body_params: &[(String, String)]) -> String {
        // `write_sorted` finds the query's fragment, if any, in its own scan.
        let (path, query) = url::split_path_keep_fragment(&self.path);
        let mut out = String::with_capacity(self.headers_part.len() + self.path.len() + 1);
        out.push_str(&self.headers_part);
        out.push_str(path);
        params::write_sorted(&mut out, query.unwrap_or_default(), body_params);
        out
    }

    /// When the request says it was sent (nanoseconds since the epoch).
    pub(crate) fn time_nanos(&self) -> Option<u64> {
        if self.date_is_timestamp {
            let digits = self.date.trim();
            let value: u64 = digits.parse().ok()?;
            let millis = if digits.len() < MILLIS_DIGITS { value.checked_mul(1000)? } else { value };
            return millis.checked_mul(1_000_000);
        }
        http_date_nanos(&self.date)
    }
}

/// Parses an HTTP date (IMF-fixdate, RFC 850, asctime; also `GMT+00:00`, as clients send).
fn http_date_nanos(date: &str) -> Option<u64> {
    let date = date.trim();
    let date = date.strip_suffix("+00:00").unwrap_or(date);
    let time = httpdate::parse_http_date(date).ok()?;
    u64::try_from(time.duration_since(std::time::UNIX_EPOCH).ok()?.as_nanos()).ok()
}

/// Checks `signature` (base64) over `string_to_sign`: HmacSHA1 when asked, HmacSHA256 otherwise.
pub(crate) fn verify(method: &str, secret: &[u8], string_to_sign: &str, signature: &str) -> bool {
    let Ok(presented) = base64::engine::general_purpose::STANDARD.decode(signature.trim()) else { return false };
    if method == "HmacSHA1" {
        let Ok(mut mac) = Hmac::<sha1::Sha1>::new_from_slice(secret) else { return false };
        mac.update(string_to_sign.as_bytes());
        mac.verify_slice(&presented).is_ok()
    } else {
        let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(secret) else { return false };
        mac.update(string_to_sign.as_bytes());
        mac.verify_slice(&presented).is_ok()
    }
}

/// Base64 of the MD5 of the body.
pub(crate) fn content_md5(body: &[u8]) -> String {
    use md5::Digest;
    base64::engine::general_purpose::STANDARD.encode(md5::Md5::digest(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(http_date_nanos("Wed, 09 May 2018 13:30:29 GMT"), Some(1_525_872_629_000_000_000));
        assert_eq!(http_date_nanos("Wed, 09 May 2018 13:30:29 GMT+00:00"), Some(1_525_872_629_000_000_000));
        assert_eq!(http_date_nanos("Wednesday, 09-May-18 13:30:29 GMT"), Some(1_525_872_629_000_000_000));
        assert_eq!(http_date_nanos("Wed May  9 13:30:29 2018"), Some(1_525_872_629_000_000_000));
        assert_eq!(http_date_nanos("yesterday"), None);
        assert_eq!(http_date_nanos(""), None);
    }

    #[test]
    fn md5() {
        assert_eq!(content_md5(b"hello"), "XUFAKrxLKna5cZ2REBfFkg==");
    }
}
