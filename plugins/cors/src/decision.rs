//! What a request is to CORS, and what the policy allows it: the checks of Higress's
//! `CorsConfig.Process`, in its order (origin, method, then a preflight's headers).

use crate::config::{each_item, Names, Policy};
use higress_sdk::ascii::eq_ignore_case;
use std::borrow::Cow;

/// The request as CORS sees it.
pub struct Request<'a> {
    /// `Origin`, trimmed, one trailing `/` dropped.
    pub origin: &'a str,
    /// Whether it is a preflight (`OPTIONS` with `Access-Control-Request-Method`).
    pub preflight: bool,
    /// The method asked for: `Access-Control-Request-Method` for a preflight, else `:method`.
    pub method: &'a str,
    /// `Access-Control-Request-Headers` of a preflight (empty otherwise).
    pub headers: &'a str,
}

/// The values of the allowing reply headers.
#[derive(Debug, PartialEq, Eq)]
pub struct Allowed<'a> {
    /// `Access-Control-Allow-Origin`: the request's origin.
    pub origin: &'a str,
    /// Preflight only: `Access-Control-Allow-Methods`.
    pub methods: &'a str,
    /// Preflight only: `Access-Control-Allow-Headers` (empty: no header).
    pub headers: Cow<'a, str>,
}

impl Policy {
    /// What the policy allows a CORS request; `None` when it does not allow it.
    pub fn allow<'a>(&'a self, request: &Request<'a>) -> Option<Allowed<'a>> {
        if !self.allows_origin(request.origin) || !is_token(request.method) || !self.methods.contains(request.method) {
            return None;
        }
        if !request.preflight {
            return Some(Allowed { origin: request.origin, methods: "", headers: Cow::Borrowed("") });
        }
        let methods = match &self.methods {
            Names::Any => request.method,
            Names::Listed { joined, .. } => joined.as_str(),
        };
        let headers = match &self.headers {
            // `*` echoes the names asked for, comma-joined (none: no header).
            Names::Any => match crate::items::joined_tokens(request.headers) {
                Some(Some(joined)) => Cow::Owned(joined),
                Some(None) => return None,
                None => {
                    let mut names = String::with_capacity(request.headers.len());
                    let tokens = each_item(request.headers, |name| {
                        if !names.is_empty() {
                            names.push(',');
                        }
                        names.push_str(name);
                        is_token(name)
                    });
                    if !tokens {
                        return None;
                    }
                    Cow::Owned(names)
                }
            },
            Names::Listed { joined, .. } => {
                if !each_item(request.headers, |name| self.headers.contains(name)) {
                    return None;
                }
                Cow::Borrowed(joined.as_str())
            }
        };
        Some(Allowed { origin: request.origin, methods, headers })
    }

    /// `*`, an exact origin, or a pattern; case-insensitive.
    fn allows_origin(&self, origin: &str) -> bool {
        if self.any_origin {
            return true;
        }
        if self.origins.iter().any(|o| eq_ignore_case(o.as_bytes(), origin.as_bytes())) {
            return true;
        }
        if self.patterns.is_empty() {
            return false;
        }
        let origin = higress_sdk::ascii::to_lower(origin.as_bytes());
        let split = crate::pattern::port_split(&origin);
        self.patterns.iter().any(|p| p.matches_lowercase(&origin, split))
    }
}

/// An HTTP token (a method or header name): what may be echoed into a reply header.
fn is_token(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(is_tchar)
}

/// The bytes of tokens (RFC 9110 `tchar`), one bit per byte value: a lookup per byte.
pub(crate) const TCHARS: [u64; 2] = [tchar_bits(0), tchar_bits(64)];

/// Bit `i` set when byte `from + i` is a `tchar`.
const fn tchar_bits(from: u8) -> u64 {
    let mut bits = 0;
    let mut i = 0;
    while i < 64 {
        let b = from + i;
        let tchar = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+' | b'-' | b'.' | b'^' | b'_' | b'`' | b'|' | b'~'
            );
        if tchar {
            bits |= 1 << i;
        }
        i += 1;
    }
    bits
}

pub(crate) fn is_tchar(b: u8) -> bool {
    TCHARS.get(usize::from(b >> 6)).is_some_and(|bits| bits >> (b & 63) & 1 == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_table_is_rfc_9110s() {
        for b in 0..=255u8 {
            let tchar = b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
            assert_eq!(is_tchar(b), tchar, "{b:#x}");
        }
    }
}
