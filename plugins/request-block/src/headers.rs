//! `block_headers`: keywords searched in the request headers as Go sees them, every
//! `name\nvalue` pair joined with `\n` (pseudo-headers included), without building that text.

use crate::fold;
use crate::keywords::{Keywords, State};
use higress_sdk::abi::{header_map, MapType};
use higress_sdk::{hostcalls, scan};

/// Details of the reply.
pub const DETAILS: &str = "request-block.header_blocked";

/// Whether a keyword occurs in the request headers (lowercased first when `fold`);
/// `lowered_path`: `:path` already lowercased, when the caller has it.
pub fn blocked(words: &Keywords, fold: bool, lowered_path: Option<&[u8]>) -> bool {
    let Ok(map) = hostcalls::get_map_encoded(MapType::HttpRequestHeaders) else {
        return false;
    };
    let mut state: State = 0;
    let mut found = false;
    let mut first = true;
    let mut scratch = Vec::new();
    // A malformed map from the host: what was read before the error is all there is.
    let _ = header_map::for_each(&map, |name, value| {
        if found {
            return;
        }
        let value = match lowered_path {
            Some(lowered) if fold && name == b":path" => {
                // Lowercase already: no second copy of a long path.
                found = (!first && words.scan_byte(&mut state, b'\n'))
                    || words.scan(&mut state, name)
                    || words.scan_byte(&mut state, b'\n')
                    || words.scan(&mut state, lowered);
                first = false;
                return;
            }
            _ => value,
        };
        found = (!first && words.scan_byte(&mut state, b'\n'))
            || scan_text(words, &mut state, name, fold, &mut scratch)
            || words.scan_byte(&mut state, b'\n')
            || scan_text(words, &mut state, value, fold, &mut scratch);
        first = false;
    });
    found
}

/// Feeds one piece of the text, lowercased when `fold` (ASCII needs no copy: the
/// automaton folds ASCII capitals).
fn scan_text(words: &Keywords, state: &mut State, text: &[u8], fold: bool, scratch: &mut Vec<u8>) -> bool {
    if !fold || scan::is_ascii(text) {
        return words.scan(state, text);
    }
    scratch.clear();
    fold::lower_into(text, false, scratch);
    words.scan(state, scratch)
}
