//! One parameter name compared with a query's pairs by their raw bytes: for a plugin with
//! a few names (key-auth's `keys`), most pairs differ from each in their first eight bytes,
//! which one XOR tells.

use crate::scan;

/// What a pair's raw bytes tell of one name.
pub(super) enum Is {
    /// The pair has the name; its value (perhaps empty) starts here.
    Name(usize),
    Not,
    /// Only the decoded name can tell.
    Escaped,
}

/// A parameter name to compare pairs with, its first eight bytes as a word: nearly every
/// pair differs from it there, which one XOR tells.
pub(super) struct Name<'a> {
    pub(super) bytes: &'a [u8],
    head: u64,
    mask: u64,
    /// The name holds `%` or `+`: raw bytes never tell, every pair is decoded to compare.
    pub(super) escaped: bool,
    /// The name's length where a pair that long is the name exactly when its bytes are (a
    /// name of fewer than eight bytes, no escape nor space in it), else `usize::MAX`.
    exact: usize,
}

impl<'a> Name<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Self {
        let n = bytes.len().min(8);
        let mask = if n == 8 { u64::MAX } else { (1u64 << (8 * n)) - 1 };
        let escaped = bytes.iter().any(|&b| b == b'%' || b == b'+');
        let exact = if bytes.len() < 8 && !escaped && !bytes.contains(&b' ') { bytes.len() } else { usize::MAX };
        Name { bytes, head: scan::word(bytes), mask, escaped, exact }
    }

    /// Whether `pair` (still encoded; `head` its first eight bytes, zero-padded) has this
    /// name, and where its value starts. Inlined into the scan: the common cases are a few
    /// word operations with no call.
    #[inline(always)]
    pub(super) fn value_at(&self, pair: &[u8], head: u64) -> Is {
        if pair.len() == self.exact {
            // No escape makes a pair as long as the name into it: `%XX` is longer than the
            // byte it stands for, and `+` stands for a space the name does not have.
            return if (head ^ self.head) & self.mask == 0 { Is::Name(self.exact) } else { Is::Not };
        }
        if self.escaped {
            return Is::Escaped;
        }
        let diff = (head ^ self.head) & self.mask;
        if diff != 0 {
            // Nearly every pair: raw bytes differ in the first eight, so the names differ,
            // unless an escape is where they do (the byte comes from `head`; past the pair's
            // end it is its `&`, `#` or padding, never an escape).
            let b = (head >> (diff.trailing_zeros() & !7)) as u8;
            return if b == b'%' || b == b'+' { Is::Escaped } else { Is::Not };
        }
        let len = self.bytes.len();
        if len >= 8 {
            return self.value_after_head(pair);
        }
        // A short name is all in `head`: the pair is the name, or the name and `=`.
        match pair.len() {
            n if n == len => Is::Name(len),
            n if n > len && (head >> (8 * len)) as u8 == b'=' => Is::Name(len + 1),
            // Shorter (decoding never lengthens) or the name goes on.
            _ => Is::Not,
        }
    }

    /// [`Name::value_at`] for a name of eight bytes or more whose first eight match.
    #[inline(never)]
    fn value_after_head(&self, pair: &[u8]) -> Is {
        let len = self.bytes.len();
        if pair.len() < len {
            // Decoding never lengthens.
            return Is::Not;
        }
        if len > 8 {
            let same = 8 + common_prefix(pair.get(8..).unwrap_or_default(), self.bytes.get(8..).unwrap_or_default());
            if same < len {
                return match pair.get(same) {
                    Some(b'%' | b'+') => Is::Escaped,
                    _ => Is::Not,
                };
            }
        }
        match pair.get(len) {
            None => Is::Name(len),
            Some(b'=') => Is::Name(len + 1),
            // The name goes on: longer, however it decodes.
            Some(_) => Is::Not,
        }
    }
}

/// How many leading bytes `a` and `b` share, eight at a time.
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let mut i = 0;
    while let (Some(x), Some(y)) = (a.get(i..i + 8), b.get(i..i + 8)) {
        let diff = scan::word(x) ^ scan::word(y);
        if diff != 0 {
            return i + (diff.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < n && a.get(i) == b.get(i) {
        i += 1;
    }
    i
}
