//! A `regex-lite` expression with its DFA when it has one: the DFA answers whether it
//! matches, and the DFA's [`Finder`] where and with which groups (the expression, for a
//! pattern outside the subset).

use crate::groups::Finder;
use crate::Dfa;
use regex_lite::Regex;
use std::ops::Range;

/// A compiled pattern. Equal to the `regex-lite` expression in every answer; cheaper when
/// the pattern is in the DFA's subset (the usual case).
#[derive(Debug, Clone)]
pub struct Pattern {
    regex: Regex,
    /// Boxed: the DFA's byte classes alone are 256 bytes, and patterns sit in enums.
    dfa: Option<Box<Dfa>>,
    pub(crate) finder: Option<Box<Finder>>,
}

/// Every match of a pattern in a text, with its groups: `width` slots per match (`2 * i`
/// where group `i` starts, `2 * i + 1` where it ends), in one vector.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Matches {
    pub(crate) width: usize,
    pub(crate) slots: Vec<Option<usize>>,
}

impl Matches {
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Each match's groups, in order.
    pub fn iter(&self) -> impl Iterator<Item = Groups<'_>> {
        self.slots.chunks_exact(self.width.max(1)).map(Groups)
    }
}

/// One match's groups (0: the whole match), as byte ranges of the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Groups<'a>(&'a [Option<usize>]);

impl Groups<'_> {
    /// Where group `i` matched; `None` when it took no part in the match.
    pub fn get(&self, i: usize) -> Option<Range<usize>> {
        let start = self.0.get(i.checked_mul(2)?).copied()??;
        let end = self.0.get(i.checked_mul(2)?.checked_add(1)?).copied()??;
        Some(start..end)
    }
}

impl Pattern {
    /// Compiles `pattern` with `regex-lite` (its errors are the pattern's errors) and, when
    /// it is in the subset, to a DFA too.
    pub fn new(pattern: &str) -> Result<Pattern, regex_lite::Error> {
        let regex = Regex::new(pattern)?;
        Ok(Pattern { regex, dfa: Dfa::new(pattern).map(Box::new), finder: None })
    }

    /// [`Pattern::new`], with the tables that find its matches' groups without a PikeVM,
    /// for a caller of [`Pattern::captures_all`] (others need not build them, nor carry
    /// their code).
    pub fn with_groups(pattern: &str) -> Result<Pattern, regex_lite::Error> {
        let regex = Regex::new(pattern)?;
        let (dfa, finder) = match Dfa::with_groups(pattern) {
            Some((dfa, finder)) => (Some(Box::new(dfa)), finder.map(Box::new)),
            None => (None, None),
        };
        Ok(Pattern { regex, dfa, finder })
    }

    /// Every match in `text`, with its groups, as `regex-lite`'s `captures_iter` finds them
    /// (non-overlapping, leftmost-first).
    pub fn captures_all(&self, text: &str) -> Matches {
        // The finder's backward pass also tells whether there is a match: no forward pass.
        if let Some(finder) = &self.finder {
            if let Ok(slots) = finder.find_all(text) {
                return Matches { width: finder.width(), slots };
            }
        }
        if !self.is_match(text) {
            return Matches::default();
        }
        let width = 2 * self.regex.captures_len();
        let mut slots = Vec::new();
        for c in self.regex.captures_iter(text) {
            slots
                .extend((0..c.len()).flat_map(|i| c.get(i).map_or([None, None], |m| [Some(m.start()), Some(m.end())])));
        }
        Matches { width, slots }
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

    /// Has the DFA read ASCII capitals as their small letters, for a caller that matches
    /// lowercased text against a pattern in small letters (`case_sensitive: false`): text
    /// that is ASCII then needs no lowered copy, as the answer is the same. Whether there is
    /// a DFA to do it; without one, [`Pattern::is_match`] still needs the lowered text.
    /// (Where groups are found is not changed: this is for callers of `is_match` alone.)
    pub fn fold_ascii_capitals(&mut self) -> bool {
        match &mut self.dfa {
            Some(dfa) => {
                dfa.fold_ascii_capitals();
                true
            }
            None => false,
        }
    }

    /// Whether the DFA answers [`Pattern::is_match`].
    pub fn has_dfa(&self) -> bool {
        self.dfa.is_some()
    }

    /// Whether [`Pattern::captures_all`] needs no PikeVM.
    pub fn has_finder(&self) -> bool {
        self.finder.is_some()
    }
}
