//! The configuration, with Higress's keys and defaults, compiled once into a [`Policy`]:
//! origins lowercased, patterns split, method and header lists split at commas, and every
//! reply header value written out, so a request only compares and copies.

use crate::pattern::Pattern;
use higress_sdk::ascii::{self, eq_ignore_case};
use higress_sdk::prelude::*;
use higress_sdk::scan;

const MATCH_ALL: &str = "*";
const DEFAULT_METHODS: &str = "GET, PUT, POST, DELETE, PATCH, OPTIONS";
const DEFAULT_HEADERS: &str =
    "DNT,X-CustomHeader,Keep-Alive,User-Agent,X-Requested-With,If-Modified-Since,Cache-Control,Content-Type,Authorization";
const DEFAULT_MAX_AGE: i64 = 86_400;

/// cors's config: which origins, methods and headers cross-origin requests may use.
/// Nothing configured allows every origin (unless `allow_credentials`).
#[derive(Deserialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
pub struct Config {
    /// Origins allowed, `scheme://host[:port]`, case-insensitive, a trailing `/` ignored; `*`
    /// allows every origin (the default when `allow_origin_patterns` is empty and
    /// `allow_credentials` false).
    #[serde(default)]
    allow_origins: Vec<String>,
    /// Origin patterns: `*` matches any characters, an optional port list ends the pattern
    /// (`http://*.example.org:[8080,9090]`, `http://*.example.net:[*]`); `*` alone matches
    /// every origin. A pattern matches the whole origin.
    #[serde(default)]
    allow_origin_patterns: Vec<String>,
    /// Methods allowed (case-insensitive); an entry may list several, comma-separated; `*`
    /// allows any. Default `GET, PUT, POST, DELETE, PATCH, OPTIONS`.
    #[serde(default)]
    allow_methods: Vec<String>,
    /// Request headers a preflight may ask for; comma-separated entries allowed; `*` allows
    /// any. Default `DNT, X-CustomHeader, Keep-Alive, User-Agent, X-Requested-With,
    /// If-Modified-Since, Cache-Control, Content-Type, Authorization`.
    #[serde(default)]
    allow_headers: Vec<String>,
    /// Response headers the page may read (`Access-Control-Expose-Headers`); `*` as is.
    #[serde(default)]
    expose_headers: Vec<String>,
    /// Allow cookies and credentials (`Access-Control-Allow-Credentials: true`); ignored when
    /// `allow_origins` contains `*` (use `allow_origin_patterns: ["*"]`).
    #[serde(default)]
    allow_credentials: bool,
    /// Seconds a browser may cache a preflight answer; 0 or less means the default, 86400.
    #[serde(default)]
    max_age: i64,
    #[serde(skip)]
    pub policy: Policy,
}

/// What cross-origin requests may do, and the header values that say so.
#[derive(Default)]
pub struct Policy {
    /// `*` in `allow_origins`: every origin.
    pub any_origin: bool,
    /// `allow_origins`, lowercase, without a trailing `/`.
    pub origins: Vec<String>,
    pub patterns: Vec<Pattern>,
    pub methods: Names,
    pub headers: Names,
    /// `Access-Control-Expose-Headers`, when configured.
    pub expose: Option<String>,
    pub credentials: bool,
    /// `Access-Control-Max-Age`.
    pub max_age: String,
    /// An allowed preflight's reply headers after the origin, encoded, when they are the
    /// same for every request (see [`crate::preflight_tail`]).
    pub preflight_tail: Option<Vec<u8>>,
}

/// An allow list of methods or header names.
#[derive(Default)]
pub enum Names {
    /// `*`: any; replies echo what the preflight asked for.
    #[default]
    Any,
    /// These (compared case-insensitively); replies list them all, comma-joined.
    Listed {
        names: Vec<String>,
        joined: String,
        /// A bit per name length (from 63 on, the last bit): a preflight may ask for
        /// 60 KiB of names, most of a length no listed name has.
        lengths: u64,
    },
}

impl Names {
    /// The entries of a list, each split at commas and trimmed (`["GET, POST"]` is two
    /// methods), `default` when there are none; `*` anywhere means any.
    fn parse(entries: &[String], default: &str, upper: bool) -> Names {
        let mut names: Vec<String> = split(entries.iter().map(String::as_str))
            .map(|n| if upper { n.to_ascii_uppercase() } else { n.to_string() })
            .collect();
        if names.is_empty() {
            names = split([default].into_iter()).map(str::to_string).collect();
        }
        if names.iter().any(|n| n == MATCH_ALL) {
            return Names::Any;
        }
        let joined = names.join(",");
        let lengths = names.iter().fold(0, |bits, n| bits | length_bit(n.len()));
        Names::Listed { names, joined, lengths }
    }

    pub fn contains(&self, name: &str) -> bool {
        match self {
            Names::Any => true,
            Names::Listed { names, lengths, .. } => {
                lengths & length_bit(name.len()) != 0
                    && names.iter().any(|n| n.len() == name.len() && eq_ignore_case(n.as_bytes(), name.as_bytes()))
            }
        }
    }
}

/// A length's bit in [`Names::Listed`]'s `lengths`.
fn length_bit(len: usize) -> u64 {
    1 << len.min(63)
}

/// Calls `f` with each comma-separated item of `value`, trimmed, empty ones passed over (the
/// items of [`split`]), in order while `f` returns true; whether it saw them all. One pass
/// over the commas, eight bytes at a time: a preflight's or a `Vary` header's 60 KiB of
/// items cost a few instructions each, not a searcher and a Unicode trim.
pub fn each_item<'a>(value: &'a str, mut f: impl FnMut(&'a str) -> bool) -> bool {
    let bytes = value.as_bytes();
    let mut item = |from: usize, to: usize| {
        // ASCII white space is trimmed by offsets, eight bytes a step on a long run; the cuts
        // then fall next to ASCII bytes or at the commas, so on character boundaries.
        let start = ascii::skip_spaces(bytes, from, to);
        let end = ascii::skip_spaces_back(bytes, start, to);
        if start == end {
            return true;
        }
        let item = value.get(start..end).unwrap_or_default();
        // Unicode white space (U+3000) at an end is trimmed too, as `str::trim` does.
        let unicode = |at: usize| bytes.get(at).is_some_and(|b| !b.is_ascii());
        let item = if unicode(start) || unicode(end - 1) { item.trim() } else { item };
        item.is_empty() || f(item)
    };
    let (mut start, mut all) = (0, true);
    scan::each(value.as_bytes(), b',', |at| {
        all = item(start, at);
        start = at + 1;
        all
    });
    all && item(start, value.len())
}

/// The comma-separated items of `values`, trimmed, empty ones dropped.
pub fn split<'a>(values: impl Iterator<Item = &'a str>) -> impl Iterator<Item = &'a str> {
    values.flat_map(commas).map(str::trim).filter(|v| !v.is_empty())
}

impl Config {
    pub fn compile(&mut self) -> Result<(), ConfigError> {
        let origins: Vec<&str> = self.allow_origins.iter().map(|o| o.trim()).filter(|o| !o.is_empty()).collect();
        let any_origin = origins.contains(&MATCH_ALL);
        let mut patterns = Vec::new();
        for (i, text) in self.allow_origin_patterns.iter().enumerate() {
            if text.trim().is_empty() {
                continue;
            }
            let pattern =
                Pattern::parse(text).map_err(|e| ConfigError::at(format!("allow_origin_patterns[{i}]"), e))?;
            patterns.push(pattern);
        }
        let mut credentials = self.allow_credentials;
        if credentials && any_origin {
            // As Higress: the `*` wins, credentials stay off.
            log_warn!(
                "allow_credentials: ignored, allow_origins has `*` (list the origins or use allow_origin_patterns)"
            );
            credentials = false;
        }
        // Nothing configured allows every origin, unless credentials are asked for.
        let any_origin = any_origin || (origins.is_empty() && patterns.is_empty() && !credentials);
        if !any_origin && origins.is_empty() && patterns.is_empty() {
            log_warn!("allow_credentials without allow_origins or allow_origin_patterns: no origin is allowed");
        }
        let expose: Vec<&str> = split(self.expose_headers.iter().map(String::as_str)).collect();
        let expose = match expose.as_slice() {
            [] => None,
            names if names.contains(&MATCH_ALL) => Some(MATCH_ALL.to_string()),
            names => Some(names.join(",")),
        };
        let max_age = if self.max_age > 0 { self.max_age } else { DEFAULT_MAX_AGE };
        self.policy = Policy {
            any_origin,
            origins: origins
                .iter()
                .filter(|o| **o != MATCH_ALL)
                .map(|o| o.strip_suffix('/').unwrap_or(o).to_ascii_lowercase())
                .collect(),
            patterns,
            methods: Names::parse(&self.allow_methods, DEFAULT_METHODS, true),
            headers: Names::parse(&self.allow_headers, DEFAULT_HEADERS, false),
            expose,
            credentials,
            max_age: max_age.to_string(),
            preflight_tail: None,
        };
        self.policy.preflight_tail = crate::preflight_tail(&self.policy);
        Ok(())
    }
}

/// The pieces of `value` between commas, as `str::split(',')` cuts them, found eight bytes
/// at a time: the searcher of `str::split` costs a few hundred instructions per value.
fn commas(value: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(value);
    std::iter::from_fn(move || {
        let current = rest?;
        match scan::find(current.as_bytes(), b',') {
            Some(at) => {
                rest = current.get(at + 1..);
                current.get(..at)
            }
            None => {
                rest = None;
                Some(current)
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn each_item_sees_what_split_yields(value in "[a, \u{e9}\t\u{3000}]{0,16}", stop in 0usize..6) {
            let all: Vec<&str> = split([value.as_str()].into_iter()).collect();
            let mut seen = Vec::new();
            let finished = each_item(&value, |item| {
                seen.push(item);
                seen.len() != stop
            });
            // `f` says stop at the `stop`th item (never when there are fewer, or at 0).
            let stopped = (1..=all.len()).contains(&stop);
            prop_assert_eq!(&seen[..], &all[..if stopped { stop } else { all.len() }]);
            prop_assert_eq!(finished, !stopped);
        }

        #[test]
        fn commas_cut_like_str_split(value in "[a, é\t]{0,12}") {
            prop_assert_eq!(commas(&value).collect::<Vec<_>>(), value.split(',').collect::<Vec<_>>());
        }
    }
}
