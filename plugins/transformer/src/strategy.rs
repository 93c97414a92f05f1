//! `dedupe` strategies: which of a key's values to keep.

/// A `dedupe` item's `strategy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// The first value (the default).
    RetainFirst,
    /// The last value.
    RetainLast,
    /// Every distinct value, in order.
    RetainUnique,
    /// The first comma-separated piece of the first value.
    SplitRetainFirst,
    /// The last comma-separated piece of the first value.
    SplitRetainLast,
}

impl Strategy {
    /// Parses a strategy name (any case; empty is the default, `RETAIN_FIRST`).
    pub fn parse(name: &str) -> Option<Strategy> {
        let strategies = [
            ("", Strategy::RetainFirst),
            ("RETAIN_FIRST", Strategy::RetainFirst),
            ("RETAIN_LAST", Strategy::RetainLast),
            ("RETAIN_UNIQUE", Strategy::RetainUnique),
            ("SPLIT_AND_RETAIN_FIRST", Strategy::SplitRetainFirst),
            ("SPLIT_AND_RETAIN_LAST", Strategy::SplitRetainLast),
        ];
        strategies.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, s)| *s)
    }

    /// Whether the strategy cuts the first value at commas.
    pub fn splits(self) -> bool {
        matches!(self, Strategy::SplitRetainFirst | Strategy::SplitRetainLast)
    }
}

/// The first or last comma-separated piece of `value`, without the optional whitespace of
/// HTTP list syntax around it (`a, b, c` -> `c`, not ` c`).
pub fn piece(value: &[u8], strategy: Strategy) -> &[u8] {
    let mut pieces = value.split(|&b| b == b',');
    let piece = if strategy == Strategy::SplitRetainLast { pieces.next_back() } else { pieces.next() };
    piece.unwrap_or_default().trim_ascii()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_pieces() {
        assert_eq!(Strategy::parse("retain_unique"), Some(Strategy::RetainUnique));
        assert_eq!(Strategy::parse(""), Some(Strategy::RetainFirst));
        assert_eq!(Strategy::parse("KEEP"), None);
        assert_eq!(piece(b"a, b ,c ", Strategy::SplitRetainLast), b"c");
        assert_eq!(piece(b" a, b", Strategy::SplitRetainFirst), b"a");
        assert_eq!(piece(b"", Strategy::SplitRetainFirst), b"");
    }
}
