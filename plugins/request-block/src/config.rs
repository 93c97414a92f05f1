//! The configuration: Higress's keys and defaults, compiled into matchers at plugin start.

use crate::fold;
use crate::keywords::{Keywords, TooLarge};
use crate::url::{self, UrlRules};
use higress_dfa::Pattern;
use higress_sdk::prelude::*;
use serde::{Deserialize, Deserializer};

/// The reply status when `blocked_code` is absent or out of range.
const DEFAULT_CODE: u32 = 403;

/// `request-block`'s configuration (global or one rule): at least one of the lists needs a
/// non-empty entry (empty entries are skipped; a list may be `null`).
#[derive(Deserialize)]
#[cfg_attr(
    test,
    derive(schemars::JsonSchema),
    schemars(extend("anyOf" = [
        {"required": ["block_urls"], "properties": {"block_urls": {"type": "array", "contains": {"type": "string", "minLength": 1}}}},
        {"required": ["block_exact_urls"], "properties": {"block_exact_urls": {"type": "array", "contains": {"type": "string", "minLength": 1}}}},
        {"required": ["block_regexp_urls"], "properties": {"block_regexp_urls": {"type": "array", "contains": {"type": "string", "minLength": 1}}}},
        {"required": ["block_headers"], "properties": {"block_headers": {"type": "array", "contains": {"type": "string", "minLength": 1}}}},
        {"required": ["block_bodies"], "properties": {"block_bodies": {"type": "array", "contains": {"type": "string", "minLength": 1}}}},
    ]))
)]
pub struct Config {
    /// Substrings of `:path` (with query) to block.
    #[serde(default, deserialize_with = "list")]
    #[cfg_attr(test, schemars(with = "Option<Vec<String>>"))]
    block_urls: Vec<String>,
    /// Whole `:path` values (with query) to block.
    #[serde(default, deserialize_with = "list")]
    #[cfg_attr(test, schemars(with = "Option<Vec<String>>"))]
    block_exact_urls: Vec<String>,
    /// Regular expressions (Rust `regex-lite` syntax, RE2-like) searched in `:path` (with
    /// query).
    #[serde(default, deserialize_with = "list")]
    #[cfg_attr(test, schemars(with = "Option<Vec<String>>"))]
    block_regexp_urls: Vec<String>,
    /// Substrings of the request headers (`name\nvalue\n...`) to block.
    #[serde(default, deserialize_with = "list")]
    #[cfg_attr(test, schemars(with = "Option<Vec<String>>"))]
    block_headers: Vec<String>,
    /// Substrings of the request body to block.
    #[serde(default, deserialize_with = "list")]
    #[cfg_attr(test, schemars(with = "Option<Vec<String>>"))]
    block_bodies: Vec<String>,
    /// Reply status, used when 100 < code < 600 (else 403, as in Go, with a warning).
    #[serde(default)]
    blocked_code: Option<i64>,
    /// Reply body.
    #[serde(default)]
    pub blocked_message: String,
    /// `false` (Go's code's default; its README says `true`): entries and request are
    /// lowercased (Unicode) before matching.
    #[serde(default)]
    case_sensitive: bool,
    /// What the lists compile to.
    #[serde(skip)]
    pub rules: Rules,
}

/// The compiled lists.
#[derive(Debug, Default)]
pub struct Rules {
    /// The reply status.
    pub code: u32,
    /// Lowercase before matching (`case_sensitive: false`).
    pub fold: bool,
    pub url: UrlRules,
    pub headers: Option<Keywords>,
    pub bodies: Option<Keywords>,
}

/// A list that may be `null` (as Go's gjson reads it: empty).
fn list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Option::<Vec<String>>::deserialize(d).map(Option::unwrap_or_default)
}

impl Config {
    /// Compiles the lists: empty entries skipped (as Go does), entries lowercased unless
    /// `case_sensitive`. A bad regular expression or a list too large names its field.
    pub fn compile(&mut self) -> Result<(), ConfigError> {
        let fold = !self.case_sensitive;
        let code = match self.blocked_code {
            None => DEFAULT_CODE,
            Some(code) if code > 100 && code < 600 => code as u32,
            Some(code) => {
                log_warn!("blocked_code: {code} is not between 101 and 599; replies use 403");
                DEFAULT_CODE
            }
        };
        let prepare = |list: &[String]| -> Vec<Vec<u8>> {
            list.iter()
                .filter(|s| !s.is_empty())
                .map(|s| if fold { fold::lower(s.as_bytes()) } else { s.as_bytes().to_vec() })
                .collect()
        };
        let keywords = |field: &str, list: &[String]| {
            Keywords::new(&prepare(list), fold).map_err(|TooLarge { cells }| {
                ConfigError::at(
                    field,
                    format!("too many or too long entries: {cells} automaton cells (at most 4194304)"),
                )
            })
        };
        let mut regexes = Vec::new();
        for (i, pattern) in self.block_regexp_urls.iter().enumerate().filter(|(_, p)| !p.is_empty()) {
            let pattern = if fold { url::lower_pattern(pattern) } else { pattern.clone() };
            let regex = Pattern::new(&pattern)
                .map_err(|e| ConfigError::at(format!("block_regexp_urls[{i}]"), e.to_string()))?;
            regexes.push(regex);
        }
        let url =
            UrlRules::new(prepare(&self.block_exact_urls), keywords("block_urls", &self.block_urls)?, regexes, fold);
        let headers = keywords("block_headers", &self.block_headers)?;
        let bodies = keywords("block_bodies", &self.block_bodies)?;
        if url.is_empty() && headers.is_none() && bodies.is_none() {
            return Err(ConfigError::new(
                "no block rules: block_urls, block_exact_urls, block_regexp_urls, block_headers or block_bodies needs a non-empty entry",
            ));
        }
        self.rules = Rules { code, fold, url, headers, bodies };
        // Compiled: the text is no longer needed.
        for list in [
            &mut self.block_urls,
            &mut self.block_exact_urls,
            &mut self.block_regexp_urls,
            &mut self.block_headers,
            &mut self.block_bodies,
        ] {
            *list = Vec::new();
        }
        Ok(())
    }
}
