//! `enable_on_status`: exact codes (`404`) and patterns (`4xx`, `40x`, `x04`), and the table
//! that answers "which rule replaces this status" with one lookup.

use higress_sdk::prelude::ConfigError;

/// Every three-digit status: `000` to `999`.
const CODES: usize = 1000;

/// One `enable_on_status` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    /// Three digits or `x` (lowercase), as written once normalised: the duplicate key.
    text: [u8; 3],
}

impl Pattern {
    /// Parses an entry (a number or a string): three digits, or three characters of digits
    /// and `x`/`X` with at least one of each (Go's rules for patterns).
    pub fn parse(entry: &str) -> Result<Pattern, String> {
        let lower = entry.to_ascii_lowercase();
        let text: [u8; 3] = lower.as_bytes().try_into().map_err(|_| {
            format!("`{entry}` is neither a status code (3 digits) nor a pattern like 4xx (3 characters)")
        })?;
        if text.iter().any(|b| !b.is_ascii_digit() && *b != b'x') {
            return Err(format!("`{entry}` must contain only digits and x/X"));
        }
        if !text.iter().any(u8::is_ascii_digit) {
            return Err(format!("`{entry}` must contain at least one digit"));
        }
        Ok(Pattern { text })
    }

    /// The normalised text (`4xx`), for messages.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.text).unwrap_or_default()
    }

    /// Number of `x`: 0 for an exact code; fewer is more specific.
    fn wildcards(&self) -> usize {
        self.text.iter().filter(|b| **b == b'x').count()
    }

    fn matches(&self, code: [u8; 3]) -> bool {
        self.text.iter().zip(code).all(|(p, c)| *p == b'x' || *p == c)
    }
}

/// Which reply each status gets.
#[derive(Debug, Clone, Default)]
pub struct StatusTable {
    /// `code` -> reply index + 1 (0: none).
    slots: Vec<u16>,
}

impl StatusTable {
    /// Builds the table from `(pattern, reply index)` in config order: an exact code first,
    /// then the pattern with the fewest `x`, then the one written first.
    pub fn new(patterns: &[(Pattern, usize)]) -> Result<StatusTable, ConfigError> {
        let mut ordered: Vec<&(Pattern, usize)> = patterns.iter().collect();
        // Stable: equally specific patterns keep their config order.
        ordered.sort_by_key(|(p, _)| p.wildcards());
        let mut slots = vec![0u16; CODES];
        for (code, slot) in slots.iter_mut().enumerate() {
            let digits = [(code / 100) as u8 + b'0', (code / 10 % 10) as u8 + b'0', (code % 10) as u8 + b'0'];
            if let Some((_, reply)) = ordered.iter().find(|(p, _)| p.matches(digits)) {
                *slot = u16::try_from(reply + 1).map_err(|_| ConfigError::at("rules", "too many rules"))?;
            }
        }
        Ok(StatusTable { slots })
    }

    /// The reply index for a response's `:status` (three ASCII digits; anything else has none).
    pub fn lookup(&self, status: &[u8]) -> Option<usize> {
        let [a, b, c] = <[u8; 3]>::try_from(status).ok()?;
        if ![a, b, c].iter().all(u8::is_ascii_digit) {
            return None;
        }
        let code = usize::from(a - b'0') * 100 + usize::from(b - b'0') * 10 + usize::from(c - b'0');
        match self.slots.get(code).copied() {
            Some(0) | None => None,
            Some(slot) => Some(usize::from(slot) - 1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_pattern_validation() {
        for (input, expected) in
            [("x1x", "x1x"), ("X2X", "x2x"), ("xx1", "xx1"), ("x12", "x12"), ("1x2", "1x2"), ("12x", "12x")]
        {
            assert_eq!(Pattern::parse(input).unwrap().as_str(), expected);
        }
        assert_eq!(Pattern::parse("404").unwrap().as_str(), "404");
        for bad in ["xxx", "xYx", "x1", "x123", "", "4044", "-12", "+40", "4 4"] {
            assert!(Pattern::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn go_fuzzy_match_cases() {
        let patterns: Vec<(Pattern, usize)> =
            ["x01", "2x3", "45x", "6xx", "x7x", "xx8"].iter().map(|p| (Pattern::parse(p).unwrap(), 0)).collect();
        let table = StatusTable::new(&patterns).unwrap();
        for (code, hit) in [
            ("101", true),
            ("201", true),
            ("111", false),
            ("203", true),
            ("213", true),
            ("450", true),
            ("451", true),
            ("600", true),
            ("611", true),
            ("612", true),
            ("171", true),
            ("161", false),
            ("228", true),
            ("229", false),
            ("123", false),
        ] {
            assert_eq!(table.lookup(code.as_bytes()).is_some(), hit, "{code}");
        }
    }

    #[test]
    fn exact_then_fewest_wildcards_then_config_order() {
        let p = |s: &str, i| (Pattern::parse(s).unwrap(), i);
        let table = StatusTable::new(&[p("4xx", 0), p("40x", 1), p("404", 2), p("x04", 3), p("4x4", 4)]).unwrap();
        assert_eq!(table.lookup(b"404"), Some(2));
        assert_eq!(table.lookup(b"401"), Some(1));
        assert_eq!(table.lookup(b"414"), Some(4));
        assert_eq!(table.lookup(b"504"), Some(3));
        assert_eq!(table.lookup(b"499"), Some(0));
        assert_eq!(table.lookup(b"200"), None);
        for bad in [&b""[..], b"40", b"4044", b"40a", b" 404"] {
            assert_eq!(table.lookup(bad), None);
        }
    }
}
