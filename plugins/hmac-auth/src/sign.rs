//! The signature scheme: string to sign, HMAC, Content-MD5, request time.

use base64::Engine;
use higress_sdk::{scan, url, Http};
use hmac::{Hmac, Mac};
use std::borrow::Cow;

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
        let (path, query) = url::split_path(&self.path);
        let query = query.unwrap_or_default();
        // Names and values borrowed from the path unless they carry escapes: a 60 KiB query
        // of 7,000 parameters is not 14,000 allocations (nor 14,000 searches for `%` when the
        // query has none).
        let escapes = scan::find(query.as_bytes(), b'%').is_some();
        let mut params: Vec<Param<'_>> = Vec::new();
        url::for_each_param(query, |k, v| params.push(Param::new(decoded(k, escapes), decoded(v, escapes))));
        params.extend(body_params.iter().map(|(k, v)| Param::new(Cow::Borrowed(k), Cow::Borrowed(v))));
        // The first value of a name counts: a stable sort keeps each name's values in request
        // order, then the later ones go (n log n, where a lookup per parameter was quadratic).
        // Names are told apart by their first eight bytes as one number nearly always.
        params.sort_by(|a, b| a.head.cmp(&b.head).then_with(|| a.name.cmp(&b.name)));
        params.dedup_by(|later, first| later.head == first.head && later.name == first.name);
        let mut out = String::with_capacity(self.headers_part.len() + self.path.len() + 1);
        out.push_str(&self.headers_part);
        out.push_str(path);
        for (i, Param { name, value, .. }) in params.iter().enumerate() {
            out.push(if i == 0 { '?' } else { '&' });
            out.push_str(name);
            if !value.is_empty() {
                out.push('=');
                out.push_str(value);
            }
        }
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

/// A parameter of the string to sign.
struct Param<'a> {
    /// The name's first eight bytes, big-endian and zero-padded: ordered as the names are,
    /// except that names equal there need a full comparison.
    head: u64,
    name: Cow<'a, str>,
    value: Cow<'a, str>,
}

impl<'a> Param<'a> {
    fn new(name: Cow<'a, str>, value: Cow<'a, str>) -> Self {
        Param { head: scan::word(name.as_bytes()).swap_bytes(), name, value }
    }
}

/// A query name or value decoded (`+` stays: the scheme signs it as sent), borrowed when it
/// has no escape (`escapes`: whether its query has any at all).
// Inlined: called twice per parameter, the common case (no `%` in the query) is one test.
#[inline(always)]
fn decoded(text: &str, escapes: bool) -> Cow<'_, str> {
    if escapes && text.contains('%') {
        Cow::Owned(url::percent_decode(text, false))
    } else {
        Cow::Borrowed(text)
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
