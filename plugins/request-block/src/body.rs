//! `block_bodies`: the request body scanned chunk by chunk as it streams through.
//!
//! Between chunks only the automaton's state is kept (plus at most 3 bytes of a character a
//! chunk boundary cut, when lowercasing): a keyword split across chunks is found, and a
//! large upload is never held whole.

use crate::fold;
use crate::keywords::{Keywords, State};
use higress_sdk::scan;

/// Details of the reply.
pub const DETAILS: &str = "request-block.body_blocked";

/// The scan of one request's body.
#[derive(Debug, Default)]
pub struct BodyScan {
    state: State,
    /// The start of a UTF-8 character the last chunk ended in (lowercasing only).
    pending: Vec<u8>,
    /// The lowercased chunk (reused from chunk to chunk).
    scratch: Vec<u8>,
}

impl BodyScan {
    /// Whether a keyword ends in `chunk` (or began in an earlier one); `end` when it is the
    /// last. With `fold` the body is lowercased first.
    pub fn found(&mut self, words: &Keywords, fold: bool, chunk: &[u8], end: bool) -> bool {
        if !fold || (self.pending.is_empty() && scan::is_ascii(chunk)) {
            // The automaton folds ASCII capitals itself.
            return words.scan(&mut self.state, chunk);
        }
        self.scratch.clear();
        if self.pending.is_empty() {
            let used = fold::lower_into(chunk, !end, &mut self.scratch);
            self.pending.extend_from_slice(chunk.get(used..).unwrap_or_default());
        } else {
            let mut input = std::mem::take(&mut self.pending);
            input.extend_from_slice(chunk);
            let used = fold::lower_into(&input, !end, &mut self.scratch);
            self.pending.extend_from_slice(input.get(used..).unwrap_or_default());
        }
        words.scan(&mut self.state, &self.scratch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_word_cut_anywhere_is_found() {
        let words = Keywords::new(&["größe", "hello world"], true).unwrap().unwrap();
        for text in ["xx GRÖSSE GRÖßE yy", "-- Hello World --"] {
            let bytes = text.as_bytes();
            for a in 0..=bytes.len() {
                for b in a..=bytes.len() {
                    let mut scan = BodyScan::default();
                    let found = scan.found(&words, true, &bytes[..a], false)
                        || scan.found(&words, true, &bytes[a..b], false)
                        || scan.found(&words, true, &bytes[b..], true);
                    assert!(found, "{text:?} cut at {a} and {b}");
                }
            }
        }
        let mut scan = BodyScan::default();
        assert!(!scan.found(&words, true, "GRÖSSE".as_bytes(), true));
    }

    #[test]
    fn case_sensitive_scans_raw_bytes() {
        let words = Keywords::new(&["BLOCKED"], false).unwrap().unwrap();
        let mut scan = BodyScan::default();
        assert!(!scan.found(&words, false, b"blocked BLOCK", false));
        assert!(scan.found(&words, false, b"ED", true));
    }
}
