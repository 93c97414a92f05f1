//! A `regex-lite` expression with its DFA when it has one: the DFA answers whether it
//! matches, the expression finds where (and its groups).

use crate::Dfa;
use regex_lite::Regex;

/// A compiled pattern. Equal to the `regex-lite` expression in every answer; cheaper when
/// the pattern is in the DFA's subset (the usual case).
#[derive(Debug, Clone)]
pub struct Pattern {
    regex: Regex,
    /// Boxed: the DFA's byte classes alone are 256 bytes, and patterns sit in enums.
    dfa: Option<Box<Dfa>>,
}

impl Pattern {
    /// Compiles `pattern` with `regex-lite` (its errors are the pattern's errors) and, when
    /// it is in the subset, to a DFA too.
    pub fn new(pattern: &str) -> Result<Pattern, regex_lite::Error> {
        let regex = Regex::new(pattern)?;
        Ok(Pattern { dfa: Dfa::new(pattern).map(Box::new), regex })
    }

    /// Whether it matches anywhere in `text`.
    pub fn is_match(&self, text: &str) -> bool {
        match &self.dfa {
            Some(dfa) => dfa.is_match(text.as_bytes()),
            None => self.regex.is_match(text),
        }
    }

    /// Whether it matches anywhere in `bytes` taken as `String::from_utf8_lossy` makes them
    /// text (the DFA needs no such copy).
    pub fn is_match_lossy(&self, bytes: &[u8]) -> bool {
        match &self.dfa {
            Some(dfa) => dfa.is_match_lossy(bytes),
            None => self.regex.is_match(&String::from_utf8_lossy(bytes)),
        }
    }

    /// The `regex-lite` expression, for where and what it matched.
    pub fn regex(&self) -> &Regex {
        &self.regex
    }

    /// The pattern's text.
    pub fn as_str(&self) -> &str {
        self.regex.as_str()
    }

    /// Whether the DFA answers [`Pattern::is_match`].
    pub fn has_dfa(&self) -> bool {
        self.dfa.is_some()
    }
}
