//! The URL lists: `block_exact_urls`, `block_urls` (substrings) and `block_regexp_urls`,
//! checked against `:path` with its query, in Go's order.

use crate::fold;
use crate::keywords::Keywords;
use higress_dfa::Pattern;
use higress_sdk::scan;
use std::borrow::Cow;

/// Details of the replies, by the list that matched.
pub const EXACT: &str = "request-block.url_blocked.exact";
/// A `block_urls` substring matched.
pub const KEYWORD: &str = "request-block.url_blocked.keyword";
/// A `block_regexp_urls` expression matched.
pub const REGEXP: &str = "request-block.url_blocked.regexp";

/// The compiled URL lists.
#[derive(Debug, Default)]
pub struct UrlRules {
    /// Sorted, for a binary search.
    exact: Vec<Vec<u8>>,
    keywords: Option<Keywords>,
    /// One alternation of every expression when it compiles, else each one; each a DFA
    /// where it can be (a byte step per byte of the path, not a PikeVM's thousands).
    regexes: Vec<Pattern>,
    /// Lowercase the path first (`case_sensitive: false`).
    fold: bool,
    /// The longest exact URL: a longer path cannot be one, lowered or not (for ASCII).
    longest_exact: usize,
    /// Every expression's DFA reads ASCII capitals as small letters (when `fold`): an
    /// ASCII path needs no lowered copy for them.
    regexes_fold: bool,
}

impl UrlRules {
    /// The lists, already lowercased when `fold`; `regexes` already checked one by one.
    pub fn new(mut exact: Vec<Vec<u8>>, keywords: Option<Keywords>, regexes: Vec<Pattern>, fold: bool) -> Self {
        exact.sort_unstable();
        exact.dedup();
        let longest_exact = exact.iter().map(Vec::len).max().unwrap_or(0);
        let mut regexes = combine(regexes);
        // Their patterns are lowercased already: folding capitals in the DFA is lowering.
        let mut regexes_fold = fold;
        if fold {
            // Every one folded, whether or not the others can be.
            regexes.iter_mut().for_each(|r| regexes_fold &= r.fold_ascii_capitals());
        }
        UrlRules { exact, keywords, regexes, fold, longest_exact, regexes_fold }
    }

    /// Whether there is nothing to check.
    pub fn is_empty(&self) -> bool {
        self.exact.is_empty() && self.keywords.is_none() && self.regexes.is_empty()
    }

    /// Whether `path` is short enough to be an exact URL (lowering an ASCII path keeps its
    /// length; another may change it, and is lowered anyway).
    fn may_be_exact(&self, path: &[u8]) -> bool {
        !self.exact.is_empty() && path.len() <= self.longest_exact
    }

    /// The details of the first list `path` hits: exact, then substring, then regexp.
    /// `lowered`: the path already lowercased, when the caller has it.
    pub fn check(&self, path: &[u8], lowered: Option<&[u8]>) -> Option<&'static str> {
        // An ASCII path needs no lowercased copy where every list folds ASCII capitals
        // itself: the substrings' automaton and the expressions' DFAs do, and an exact URL
        // is only looked for in a path no longer than the longest.
        let lists_fold = self.regexes.is_empty() || self.regexes_fold;
        let path: Cow<'_, [u8]> = match lowered {
            Some(lowered) if self.fold => Cow::Borrowed(lowered),
            _ if self.fold && (self.may_be_exact(path) || !lists_fold || !scan::is_ascii(path)) => {
                Cow::Owned(fold::lower(path))
            }
            _ => Cow::Borrowed(path),
        };
        // (An ASCII path that took no copy is longer than every exact URL.)
        if self.may_be_exact(&path) && self.exact.binary_search_by(|e| e.as_slice().cmp(&path)).is_ok() {
            return Some(EXACT);
        }
        if self.keywords.as_ref().is_some_and(|k| k.find_in(&path)) {
            return Some(KEYWORD);
        }
        if !self.regexes.is_empty() {
            // Bytes that are not UTF-8 count as U+FFFD, as `from_utf8_lossy` has them.
            if self.regexes.iter().any(|r| r.is_match_lossy(&path)) {
                return Some(REGEXP);
            }
        }
        None
    }
}

/// One expression that matches where any of `regexes` does: one pass over the path instead
/// of one per expression. Each is wrapped in a group so its flags stay its own; when the
/// alternation does not compile (an `(?x)` comment would swallow the rest), or has no DFA
/// (too many states together), they stay apart.
fn combine(regexes: Vec<Pattern>) -> Vec<Pattern> {
    if regexes.len() < 2 {
        return regexes;
    }
    let alternation = regexes.iter().map(|r| format!("(?:{})", r.as_str())).collect::<Vec<_>>().join("|");
    match Pattern::new(&alternation) {
        Ok(one) if one.has_dfa() => vec![one],
        // Apart, as many as can be are DFAs; with none, the one alternation is cheaper.
        Ok(one) if !regexes.iter().any(Pattern::has_dfa) => vec![one],
        _ => regexes,
    }
}

/// A `block_regexp_urls` entry lowercased as Go does (`strings.ToLower` on the pattern), except
/// that the character after a `\` keeps its case: Go turns `\D`, `\S`, `\W` into `\d`, `\s`,
/// `\w`, the opposite classes.
pub fn lower_pattern(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len());
    let mut escaped = false;
    for c in pattern.chars() {
        out.push(if escaped { c } else { fold::lower_char(c) });
        escaped = !escaped && c == '\\';
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(exact: &[&str], words: &[&str], regexes: &[&str], fold: bool) -> UrlRules {
        let exact = exact.iter().map(|e| e.as_bytes().to_vec()).collect();
        let keywords = Keywords::new(words, fold).unwrap();
        let regexes = regexes.iter().map(|r| Pattern::new(r).unwrap()).collect();
        UrlRules::new(exact, keywords, regexes, fold)
    }

    #[test]
    fn go_order_exact_keyword_regexp() {
        let r = rules(&["/web/info"], &["info"], &["/web.*"], true);
        assert_eq!(r.check(b"/web/info", None), Some(EXACT));
        assert_eq!(r.check(b"/WEB/INFO", None), Some(EXACT));
        assert_eq!(r.check(b"/x/info", None), Some(KEYWORD));
        assert_eq!(r.check(b"/web/x", None), Some(REGEXP));
        assert_eq!(r.check(b"/other", None), None);
        // ASCII capitals, matched without a lowered copy past the longest exact URL.
        assert_eq!(r.check(b"/WEB/X", None), Some(REGEXP));
        assert_eq!(r.check(format!("/WEB/{}", "X".repeat(100)).as_bytes(), None), Some(REGEXP));
        assert_eq!(r.check(format!("/X/{}", "Y".repeat(100)).as_bytes(), None), None);
        let capitals = rules(&[], &[], &["^/[a-c]+$"], true);
        assert_eq!(capitals.check(format!("/{}", "ABC".repeat(40)).as_bytes(), None), Some(REGEXP));
        assert_eq!(capitals.check(format!("/{}D", "ABC".repeat(40)).as_bytes(), None), None);
        let sensitive = rules(&[], &[], &["^/[a-c]+$"], false);
        assert_eq!(sensitive.check(format!("/{}", "ABC".repeat(40)).as_bytes(), None), None);
        // A path the caller lowercased already is taken as it is.
        assert_eq!(r.check("/WEB/ÄX".as_bytes(), Some("/web/äx".as_bytes())), Some(REGEXP));
        assert_eq!(r.check("/Ä/INFO".as_bytes(), Some("/ä/info".as_bytes())), Some(KEYWORD));
    }

    #[test]
    fn regexes_are_combined_and_keep_their_flags() {
        let r = rules(&[], &[], &["^/a$", "(?i)B", r"/v\d+/x"], false);
        assert_eq!(r.regexes.len(), 1);
        assert!(r.regexes.iter().all(Pattern::has_dfa));
        assert_eq!(r.check(b"/a", None), Some(REGEXP));
        assert_eq!(r.check(b"/ab", None), Some(REGEXP), "(?i)B matches b");
        assert_eq!(r.check(b"/a/", None), None);
        assert_eq!(r.check(b"/v12/x", None), Some(REGEXP));
        assert_eq!(r.check(b"/A", None), None, "the flag of the second expression does not leak into the first");
        let commented = rules(&[], &[], &["(?x)a # comment", "zz"], false);
        assert_eq!(commented.check(b"zz", None), Some(REGEXP));
        assert_eq!(commented.check(b"a", None), Some(REGEXP));
    }

    #[test]
    fn patterns_lowercase_outside_escapes() {
        assert_eq!(lower_pattern(r"/API/V\d+/\D\S\W/[A-Z]"), r"/api/v\d+/\D\S\W/[a-z]");
        assert_eq!(lower_pattern(r"\\A"), r"\\a");
        assert_eq!(lower_pattern("ÄÖ"), "äö");
    }
}
