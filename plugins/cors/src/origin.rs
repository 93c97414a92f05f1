//! The `Origin` request header, and whether it names another origin than the request's own
//! (`:scheme` + `:authority`): only then is a request a CORS request.

use higress_sdk::ascii::eq_ignore_case;
use higress_sdk::scan;

/// The origin a request comes from.
#[derive(Debug, PartialEq, Eq)]
pub enum Origin<'a> {
    /// `null`: a sandboxed frame, a `file:` page, a redirect across origins. Never the
    /// request's own origin.
    Opaque,
    /// `scheme://host[:port]`.
    Tuple { scheme: &'a str, host: &'a str, port: Option<&'a str> },
}

impl<'a> Origin<'a> {
    /// Parses a serialized origin. Browsers send `scheme://host[:port]` or `null`; anything
    /// else (a path, credentials, spaces, non-ASCII, a bad port) is not an origin.
    pub fn parse(text: &'a str) -> Option<Origin<'a>> {
        if eq_ignore_case(text.as_bytes(), b"null") {
            return Some(Origin::Opaque);
        }
        // `://` follows the scheme's first `:`.
        let colon = scan::find(text.as_bytes(), b':')?;
        let (scheme, authority) = (text.get(..colon)?, text.get(colon + 1..)?.strip_prefix("//")?);
        let mut scheme_bytes = scheme.bytes();
        let scheme_ok = scheme_bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
            && scheme_bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
        if !scheme_ok {
            return None;
        }
        let colons = authority_colons(authority.as_bytes())?;
        let (host, port) = split_authority(authority)?;
        // Other colons than the port's belong in a bracketed IPv6 address only.
        if !host.starts_with('[') && colons > usize::from(port.is_some()) {
            return None;
        }
        Some(Origin::Tuple { scheme, host, port })
    }

    /// Whether this origin differs from the request's: scheme, host and port are compared
    /// case-insensitively, with the scheme's default port (80, 443) when none is written.
    pub fn is_cross_origin(&self, scheme: &str, authority: &str) -> bool {
        let Origin::Tuple { scheme: origin_scheme, host, port } = self else { return true };
        if !eq_ignore_case(origin_scheme.as_bytes(), scheme.as_bytes()) {
            return true;
        }
        let Some((request_host, request_port)) = split_authority(authority) else { return true };
        if !eq_ignore_case(host.as_bytes(), request_host.as_bytes()) {
            return true;
        }
        // The default port is looked up only when one side has no port.
        match (*port, request_port) {
            (Some(a), Some(b)) => a != b,
            (None, None) => false,
            (a, b) => {
                let default = default_port(scheme);
                a.or(default) != b.or(default)
            }
        }
    }
}

/// `host[:port]`, where host may be a bracketed IPv6 address (`[::1]:8080`). The port is
/// found from the end (at most 5 digits), without a pass over the host. An empty host, a
/// bracket left open or an empty or too long port is `None`.
fn split_authority(authority: &str) -> Option<(&str, Option<&str>)> {
    let digits = authority.bytes().rev().take_while(u8::is_ascii_digit).take(6).count();
    let separator = authority.len().checked_sub(digits + 1);
    let (host, port) = match separator.filter(|&i| authority.as_bytes().get(i) == Some(&b':')) {
        Some(i) => (authority.get(..i)?, Some(authority.get(i + 1..)?)),
        None => (authority, None),
    };
    let bracket_ok = !host.starts_with('[') || (host.ends_with(']') && scan::count(host.as_bytes(), b']') == 1);
    let port_ok = port.is_none_or(|p| (1..=5).contains(&p.len()));
    (!host.is_empty() && bracket_ok && port_ok).then_some((host, port))
}

/// How many `:` the authority has, if it has allowed bytes only: no space, control or
/// non-ASCII byte, nothing that would start a path, query, fragment, credentials or another
/// origin. One pass, eight bytes a step (a byte loop costs about thirty instructions a
/// byte, and an origin reaches 60 KiB).
fn authority_colons(authority: &[u8]) -> Option<usize> {
    const EXCEPT: &[u8] = b"/?#@,";
    let mut chunks = authority.chunks_exact(8);
    let mut colons = 0;
    for chunk in &mut chunks {
        let word = scan::word(chunk);
        if scan::not_graphic_except(word, EXCEPT) != 0 {
            return None;
        }
        colons += scan::matches(word, b':').count_ones() as usize;
    }
    // The tail, zero-padded: the padding bytes are bad, and only they are masked off.
    let tail = chunks.remainder();
    if !tail.is_empty() {
        let (word, valid) = (scan::word(tail), u64::MAX >> (64 - 8 * tail.len()));
        if scan::not_graphic_except(word, EXCEPT) & valid != 0 {
            return None;
        }
        colons += (scan::matches(word, b':') & valid).count_ones() as usize;
    }
    Some(colons)
}

fn default_port(scheme: &str) -> Option<&'static str> {
    if eq_ignore_case(scheme.as_bytes(), b"http") {
        Some("80")
    } else if eq_ignore_case(scheme.as_bytes(), b"https") {
        Some("443")
    } else {
        None
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn cross(scheme: &str, host: &str, origin: &str) -> bool {
        Origin::parse(origin).unwrap().is_cross_origin(scheme, host)
    }

    /// Go's TestCorsConfig_isCorsRequest and getHostAndPort cases.
    #[test]
    fn same_and_cross_origin() {
        assert!(!cross("http", "httpbin.example.com", "http://hTTPbin.Example.com"));
        assert!(cross("http", "httpbin.example.com", "http://httpbin.example.com:8080"));
        assert!(cross("http", "httpbin.example.com", "https://HTTPpbin.Example.com"));
        assert!(cross("http", "httpbin.example.com", "http://HTTPpbin.Example.org"));
        assert!(!cross("http", "a.com:80", "http://a.com"));
        assert!(!cross("https", "a.com", "https://a.com:443"));
        assert!(!cross("hTTps", "hTTp.Example.com:8080", "https://http.example.com:8080"));
        assert!(!cross("wss", "a.com", "wss://a.com"));
        assert!(cross("wss", "a.com", "wss://a.com:80"));
        assert!(!cross("http", "[::1]:8080", "http://[::1]:8080"));
        assert!(cross("http", "[::1]:8080", "http://[::1]:8081"));
        assert!(cross("http", "a.com", "null"));
        // A request without a usable authority is never the origin's.
        assert!(cross("http", "", "http://a.com"));
    }

    #[test]
    fn not_origins() {
        for text in [
            "",
            "a.com",
            "http://",
            "http://a.com/path",
            "http://user@a.com",
            "http://a.com:port",
            "http://a.com:",
            "http://a.com:123456",
            "http://a b.com",
            "1http://a.com",
            "http://[::1",
            "http://[::1]x",
            "http://a.com,http://b.com",
            "http://é.com",
        ] {
            assert_eq!(Origin::parse(text), None, "{text:?}");
        }
        assert_eq!(Origin::parse("NULL"), Some(Origin::Opaque));
    }
}
