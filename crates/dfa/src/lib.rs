//! Whether a regular expression matches somewhere in a text, by a DFA built once at config
//! time: one table load per byte, however the text is made.
//!
//! `regex-lite` (what the plugins compile their patterns with, for its small size) runs a
//! PikeVM: thousands of wasm instructions per byte of text, hundreds of millions for a
//! 60 KiB path. Most patterns a gateway is given (`\.php$`, `^/admin/.*`,
//! `(?i)select.+from`) are a few literals, classes and repetitions: for those, [`Dfa::new`]
//! builds the whole DFA up front, and [`Dfa::is_match`] costs a few instructions per byte.
//! Where the caller needs the matches and their groups ([`Pattern::captures_all`], built by
//! [`Pattern::with_groups`]), the `groups` module finds them in two passes over the text.
//! Anything outside that subset (see [`Dfa::new`]) is left to `regex-lite`, whose meaning
//! the DFA keeps exactly: the tests compare the two on random patterns and texts, groups
//! included.

mod build;
mod groups;
mod nfa;
mod parse;
mod pattern;
mod replace;
mod set;

pub use pattern::{Groups, Matches, Pattern};
pub use replace::Replacement;

/// A pattern compiled to a DFA over bytes, for unanchored `is_match` on UTF-8 text.
#[derive(Debug, Clone)]
pub struct Dfa {
    /// Each byte's class: bytes no pattern element tells apart share one.
    classes: [u8; 256],
    /// How many classes: the width of a row of `table`.
    stride: usize,
    /// `table[row + class]`: the next state, as the offset of its row (no multiplication per
    /// byte). Row 0 is [`DEAD`] (no match can start or go on), row `stride` is [`MATCH`]:
    /// both end the scan.
    table: Vec<u32>,
    /// Whether the text matches if it ends in this state (a `$` pending), by state number.
    at_end: Vec<bool>,
    /// The start state's row.
    start: u32,
    /// By state: the row after U+FFFD, which stands for each bad sequence of text that is
    /// not UTF-8 (one load per bad sequence instead of three steps).
    replaced: Vec<u32>,
}

/// No match can start or go on from here (state number).
const DEAD: u32 = 0;
/// A match has been seen (state number).
const MATCH: u32 = 1;

impl Dfa {
    /// The DFA of `pattern`, if it is in the supported subset and its DFA is small enough;
    /// `None` otherwise (the caller keeps its `regex-lite` expression for it).
    ///
    /// The subset: literals (non-ASCII too), `.`, classes (`[a-z]`, `[^/]`, `\d`, `\w`,
    /// `\s` and their negations; non-ASCII members only as single characters of a class that
    /// is not negated), groups of any kind, alternation, every repetition (`*`, `+`, `?`,
    /// `{n,m}`, lazy or not: the same for whether there is a match), `^`, `$`, `\A`, `\z`,
    /// and the flags `i` (ASCII letters only), `s` and `U`. Not in it: `m`, `x`, `\b`,
    /// `\B`, Unicode classes, POSIX classes, set operations in classes.
    pub fn new(pattern: &str) -> Option<Dfa> {
        build::build(&Self::nfa(pattern)?)
    }

    /// The NFA of `pattern`, if it is in the subset.
    fn nfa(pattern: &str) -> Option<nfa::Nfa> {
        nfa::Nfa::compile(&parse::parse(pattern)?)
    }

    /// The DFA of `pattern` and the tables that find its matches' groups.
    fn with_groups(pattern: &str) -> Option<(Dfa, Option<groups::Finder>)> {
        let nfa = Self::nfa(pattern)?;
        let dfa = build::build(&nfa)?;
        let finder = groups::Finder::new(&nfa, dfa.classes, dfa.stride);
        Some((dfa, finder))
    }

    /// Whether the pattern matches anywhere in `text` (UTF-8, as the pattern's own `str`
    /// search would see it).
    pub fn is_match(&self, text: &[u8]) -> bool {
        match self.feed(self.start, text) {
            Ok(row) => self.ends_matched(row),
            Err(matched) => matched,
        }
    }

    /// [`Dfa::is_match`] on `bytes` as `String::from_utf8_lossy` would make them text (each
    /// bad sequence a U+FFFD), without making that copy.
    pub fn is_match_lossy(&self, bytes: &[u8]) -> bool {
        // Valid UTF-8 (nearly every path) is its own text: checked a word at a time, where
        // going through it chunk by chunk costs more than the DFA's own steps.
        if std::str::from_utf8(bytes).is_ok() {
            return self.is_match(bytes);
        }
        let mut row = self.start;
        let last_special = self.stride as u32 * MATCH;
        if row <= last_special {
            return row == last_special;
        }
        for chunk in bytes.utf8_chunks() {
            if !chunk.valid().is_empty() {
                match self.feed(row, chunk.valid().as_bytes()) {
                    Ok(next) => row = next,
                    Err(matched) => return matched,
                }
            }
            if !chunk.invalid().is_empty() {
                row = self.replaced.get(row as usize / self.stride.max(1)).copied().unwrap_or(DEAD);
                if row <= last_special {
                    return row == last_special;
                }
            }
        }
        self.ends_matched(row)
    }

    /// The row after `text` from `row`, a step at a time (the special rows lead only to
    /// themselves), for the tables built from the DFA's own.
    fn steps_through(&self, row: u32, text: &[u8]) -> u32 {
        text.iter().fold(row, |row, &b| self.step(row, b))
    }

    /// The row after byte `b` from `row`.
    #[inline]
    fn step(&self, row: u32, b: u8) -> u32 {
        let class = u32::from(self.classes.get(usize::from(b)).copied().unwrap_or(0));
        // A row past the table (never built) is as good as no match.
        self.table.get((row + class) as usize).copied().unwrap_or(DEAD)
    }

    /// The row after `text` from `row`, or `Err(matched)` once the answer is known.
    ///
    /// [`DEAD`] and [`MATCH`] lead only to themselves, so whether the scan reached one is
    /// asked once per eight bytes, not per byte: a step is then a class and a table load.
    #[inline]
    fn feed(&self, mut row: u32, text: &[u8]) -> Result<u32, bool> {
        let last_special = self.stride as u32 * MATCH;
        let ended = |row: u32| if row <= last_special { Err(row == last_special) } else { Ok(row) };
        row = ended(row)?;
        let step = |row, b| self.step(row, b);
        let mut eights = text.chunks_exact(8);
        for eight in &mut eights {
            // Written out: at opt-level `s` a loop of eight keeps its counter and pointer
            // arithmetic, a third of a step's instructions.
            if let Ok(&[a, b, c, d, e, f, g, h]) = <&[u8; 8]>::try_from(eight) {
                row = step(step(step(step(step(step(step(step(row, a), b), c), d), e), f), g), h);
            }
            row = ended(row)?;
        }
        ended(eights.remainder().iter().fold(row, |row, &b| step(row, b)))
    }

    /// Whether a text that ends in `row` matches (a `$` pending).
    fn ends_matched(&self, row: u32) -> bool {
        self.at_end.get(row as usize / self.stride.max(1)).copied().unwrap_or(false)
    }

    /// Reads each ASCII capital as its small letter (see [`Pattern::fold_ascii_capitals`]).
    fn fold_ascii_capitals(&mut self) {
        for capital in b'A'..=b'Z' {
            let small = self.classes.get(usize::from(capital.to_ascii_lowercase())).copied().unwrap_or(0);
            if let Some(class) = self.classes.get_mut(usize::from(capital)) {
                *class = small;
            }
        }
    }

    /// How many states the DFA has (for tests and benches).
    pub fn states(&self) -> usize {
        self.at_end.len()
    }
}

#[cfg(test)]
mod tests;
