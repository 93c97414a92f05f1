//! Finding any of many keywords in one pass over the input.
//!
//! An Aho-Corasick automaton, compiled to a DFA over byte classes when the config is parsed:
//! each input byte costs one class lookup and one table lookup, whatever the number of
//! keywords (a config with 100 `block_urls` scans a path once, not 100 times). Its state is
//! one integer, so a body scanned chunk by chunk carries only that between chunks: a keyword
//! split across two chunks is found without keeping any bytes.

/// Set on a transition that completes a keyword.
const FOUND: u32 = 1 << 31;
/// Not yet set while the trie is built.
const NONE: u32 = u32::MAX;
/// At most this many table cells (4 bytes each): bounds the memory a config can ask for.
const MAX_CELLS: usize = 1 << 22;

/// A set of keywords, compiled.
#[derive(Debug)]
pub struct Keywords {
    /// The class of each byte: bytes no keyword contains share class 0. An array: a byte
    /// indexes it without a bounds check, a few instructions less per byte scanned.
    classes: [u8; 256],
    /// Number of classes: the width of a state's row.
    stride: usize,
    /// `row + class` -> the next state's row (its number times `stride`); a transition that
    /// ends a keyword leads to [`Keywords::found`].
    table: Vec<u32>,
    /// The row of the state after a keyword: the last, leading only to itself, so a scan asks
    /// whether it got there once per eight bytes, not per byte.
    found: u32,
}

/// Where a scan is between two pieces of input: a state's row (the start is 0).
pub type State = u32;

/// The configuration asks for an automaton larger than [`MAX_CELLS`].
#[derive(Debug, PartialEq, Eq)]
pub struct TooLarge {
    /// States × classes the keywords need.
    pub cells: usize,
}

impl Keywords {
    /// Compiles `words` (none empty); `None` when there are none. With `fold_ascii`, ASCII
    /// capitals in the input match the (lowercase) keywords: pure ASCII input needs no
    /// lowercased copy.
    pub fn new<W: AsRef<[u8]>>(words: &[W], fold_ascii: bool) -> Result<Option<Keywords>, TooLarge> {
        if words.is_empty() {
            return Ok(None);
        }
        let (mut classes, stride) = byte_classes(words);
        if fold_ascii {
            for upper in b'A'..=b'Z' {
                let lower = classes.get(usize::from(upper.to_ascii_lowercase())).copied().unwrap_or(0);
                if let Some(class) = classes.get_mut(usize::from(upper)) {
                    *class = lower;
                }
            }
        }
        let states = words.iter().map(|w| w.as_ref().len()).sum::<usize>() + 1;
        let cells = states.saturating_mul(stride);
        if cells > MAX_CELLS {
            return Err(TooLarge { cells });
        }
        let mut keywords = Keywords { classes, stride, table: Vec::with_capacity(cells + stride), found: 0 };
        let ends = keywords.build_trie(words);
        keywords.link(ends);
        // States become the offsets of their rows (no multiplication per byte scanned), and
        // every transition that ends a keyword goes to the found row, added last.
        let found = keywords.table.len() as u32;
        for next in &mut keywords.table {
            *next = if *next & FOUND != 0 { found } else { *next * stride as u32 };
        }
        keywords.table.resize(keywords.table.len() + stride, found);
        keywords.found = found;
        Ok(Some(keywords))
    }

    /// The trie of the keywords, transitions not yet filled in set to [`NONE`]; returns which
    /// states end a keyword.
    fn build_trie<W: AsRef<[u8]>>(&mut self, words: &[W]) -> Vec<bool> {
        self.table.resize(self.stride, NONE);
        let mut ends = vec![false];
        for word in words {
            let mut state = 0usize;
            for &b in word.as_ref() {
                let at = self.cell(state, b);
                let next = match self.table.get(at).copied() {
                    Some(next) if next != NONE => next as usize,
                    _ => {
                        let next = ends.len();
                        ends.push(false);
                        self.table.resize(self.table.len() + self.stride, NONE);
                        if let Some(slot) = self.table.get_mut(at) {
                            *slot = next as u32;
                        }
                        next
                    }
                };
                state = next;
            }
            if let Some(end) = ends.get_mut(state) {
                *end = true;
            }
        }
        ends
    }

    /// Turns the trie into a DFA: breadth first, every missing transition of a state is its
    /// failure state's (computed before it), and a state ends a keyword when its failure
    /// state does. Transitions into such states are then marked [`FOUND`].
    fn link(&mut self, mut ends: Vec<bool>) {
        let stride = self.stride;
        let mut fail = vec![0u32; ends.len()];
        let mut queue = std::collections::VecDeque::new();
        for class in 0..stride {
            match self.table.get(class).copied() {
                Some(NONE) | None => self.set(0, class, 0),
                Some(child) => queue.push_back(child),
            }
        }
        while let Some(state) = queue.pop_front() {
            let state = state as usize;
            let state_fail = fail.get(state).copied().unwrap_or(0) as usize;
            for class in 0..stride {
                let fallback = self.get(state_fail, class);
                match self.get(state, class) {
                    NONE => self.set(state, class, fallback),
                    child => {
                        if let Some(f) = fail.get_mut(child as usize) {
                            *f = fallback;
                        }
                        if ends.get(fallback as usize).copied().unwrap_or(false) {
                            if let Some(end) = ends.get_mut(child as usize) {
                                *end = true;
                            }
                        }
                        queue.push_back(child);
                    }
                }
            }
        }
        for next in &mut self.table {
            if ends.get(*next as usize).copied().unwrap_or(false) {
                *next |= FOUND;
            }
        }
    }

    fn cell(&self, state: usize, byte: u8) -> usize {
        let class = self.classes.get(usize::from(byte)).copied().unwrap_or(0);
        state * self.stride + usize::from(class)
    }

    fn get(&self, state: usize, class: usize) -> u32 {
        self.table.get(state * self.stride + class).copied().unwrap_or(0)
    }

    fn set(&mut self, state: usize, class: usize, next: u32) {
        if let Some(slot) = self.table.get_mut(state * self.stride + class) {
            *slot = next;
        }
    }

    /// Feeds `bytes` from `state`: true as soon as a keyword ends in them (the state is then
    /// meaningless), else `state` is where the next piece of input starts.
    #[inline]
    pub fn scan(&self, state: &mut State, bytes: &[u8]) -> bool {
        if bytes.len() >= 16 {
            return self.scan_long(state, bytes);
        }
        // Headers come in short pieces (a name, a value): a byte loop, inlined, on locals
        // (`state` could be `found` for all the compiler knows: it would load it per byte).
        let (mut s, found) = (*state, self.found);
        for &b in bytes {
            s = self.step(s, b);
            if s == found {
                return true;
            }
        }
        *state = s;
        false
    }

    /// The row after byte `b` from row `s`.
    #[inline(always)]
    fn step(&self, s: u32, b: u8) -> u32 {
        let class = u32::from(self.classes.get(usize::from(b)).copied().unwrap_or(0));
        self.table.get((s + class) as usize).copied().unwrap_or(0)
    }

    /// [`Keywords::scan`] eight bytes between checks.
    #[inline(never)]
    fn scan_long(&self, state: &mut State, bytes: &[u8]) -> bool {
        let step = |s, b| self.step(s, b);
        let mut s = *state;
        let mut eights = bytes.chunks_exact(8);
        for eight in &mut eights {
            // Written out: at opt-level `s` a loop of eight keeps its counter and pointer
            // arithmetic, a third of a step's instructions.
            if let Ok(&[a, b, c, d, e, f, g, h]) = <&[u8; 8]>::try_from(eight) {
                s = step(step(step(step(step(step(step(step(s, a), b), c), d), e), f), g), h);
            }
            if s == self.found {
                return true;
            }
        }
        *state = s;
        self.scan(state, eights.remainder())
    }

    /// [`Keywords::scan`] of one byte (the `\n` between a header's name and value).
    #[inline]
    pub fn scan_byte(&self, state: &mut State, b: u8) -> bool {
        *state = self.step(*state, b);
        *state == self.found
    }

    /// Whether a keyword occurs in `bytes`.
    pub fn find_in(&self, bytes: &[u8]) -> bool {
        self.scan(&mut 0, bytes)
    }
}

/// The class of every byte, and how many classes: each byte some keyword contains has its
/// own class, the others share class 0 (when all 256 occur, a byte is its own class).
fn byte_classes<W: AsRef<[u8]>>(words: &[W]) -> ([u8; 256], usize) {
    let mut seen = [false; 256];
    for word in words {
        for &b in word.as_ref() {
            if let Some(s) = seen.get_mut(usize::from(b)) {
                *s = true;
            }
        }
    }
    let mut classes = [0u8; 256];
    if seen.iter().all(|&s| s) {
        for (b, class) in classes.iter_mut().enumerate() {
            *class = b as u8;
        }
        return (classes, 256);
    }
    let mut stride = 1usize;
    for (class, _) in classes.iter_mut().zip(seen).filter(|(_, s)| *s) {
        // At most 255 bytes get here (not all 256 occur): classes 1..=255.
        *class = u8::try_from(stride).unwrap_or(u8::MAX);
        stride += 1;
    }
    (classes, stride)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keywords(words: &[&str]) -> Keywords {
        Keywords::new(words, false).unwrap().unwrap()
    }

    #[test]
    fn finds_any_keyword_anywhere() {
        let k = keywords(&["he", "she", "his", "hers", "swagger.html"]);
        for hit in ["he", "ahe", "ushers", "this", "/api/swagger.html?x", "sswagger.htmll"] {
            assert!(k.find_in(hit.as_bytes()), "{hit}");
        }
        for miss in ["", "h", "s", "hi", "swagger.htm", "SHE", "e h"] {
            assert!(!k.find_in(miss.as_bytes()), "{miss}");
        }
    }

    #[test]
    fn keyword_inside_a_failed_prefix() {
        // "abcd" fails at 'x'; "bcx" must still be found through the failure links.
        let k = keywords(&["abcd", "bcx"]);
        assert!(k.find_in(b"abcx"));
        assert!(k.find_in(b"aabcd"));
        assert!(!k.find_in(b"abc"));
    }

    #[test]
    fn state_carries_a_keyword_across_pieces() {
        let k = keywords(&["hello world"]);
        let text = b"xx hello world yy";
        for split in 0..=text.len() {
            let (a, b) = text.split_at(split);
            let mut state = 0;
            let found = k.scan(&mut state, a) || k.scan(&mut state, b);
            assert!(found, "split at {split}");
        }
        let mut state = 0;
        assert!(!k.scan(&mut state, b"hello wor"));
        assert!(!k.scan(&mut state, b"l"));
        assert!(k.scan(&mut state, b"d"));
    }

    #[test]
    fn binary_bytes_and_every_byte_value() {
        let k = Keywords::new(&[vec![0u8, 255, 10], vec![128]], false).unwrap().unwrap();
        assert!(k.find_in(&[1, 0, 255, 10]));
        assert!(k.find_in(&[128]));
        assert!(!k.find_in(&[0, 255, 11]));
        let all: Vec<Vec<u8>> = (0..=255u8).map(|b| vec![b, b]).collect();
        let k = Keywords::new(&all, false).unwrap().unwrap();
        assert!(k.find_in(&[7, 255, 255]));
        assert!(!k.find_in(&(0..=255u8).collect::<Vec<_>>()));
        // 255 distinct bytes: classes 1..=255 and one shared class.
        let most: Vec<Vec<u8>> = (1..=255u8).map(|b| vec![b, b]).collect();
        let k = Keywords::new(&most, false).unwrap().unwrap();
        assert!(k.find_in(&[0, 255, 255]));
        assert!(k.find_in(&[0, 1, 1]));
        assert!(!k.find_in(&[0, 0, 1, 0, 255, 0]));
    }

    #[test]
    fn matches_a_naive_search() {
        let words = ["ab", "bab", "abba", "b a", "aaa"];
        let k = keywords(&words);
        let alphabet = [b'a', b'b', b' '];
        for n in 0..7u32 {
            for i in 0..alphabet.len().pow(n) {
                let mut text = Vec::new();
                let mut x = i;
                for _ in 0..n {
                    text.push(alphabet[x % 3]);
                    x /= 3;
                }
                let naive = words.iter().any(|w| text.windows(w.len()).any(|win| win == w.as_bytes()));
                assert_eq!(k.find_in(&text), naive, "{:?}", String::from_utf8_lossy(&text));
            }
        }
    }

    #[test]
    fn ascii_capitals_fold_when_asked() {
        let k = Keywords::new(&["hello world", "ä"], true).unwrap().unwrap();
        assert!(k.find_in(b"say HeLLo WORLD"));
        assert!(k.find_in("ä".as_bytes()));
        assert!(!k.find_in("Ä".as_bytes()), "non-ASCII needs the lowercased copy");
        assert!(!keywords(&["hello"]).find_in(b"HELLO"));
    }

    #[test]
    fn none_and_too_large() {
        assert!(Keywords::new::<&str>(&[], false).unwrap().is_none());
        let huge: Vec<Vec<u8>> = (0..=255u8).map(|b| vec![b; 20_000]).collect();
        assert!(Keywords::new(&huge, false).is_err());
    }
}
