//! `allow_origin_patterns`: origins with `*` wildcards and an optional port list,
//! `https://*.example.com`, `http://*.example.org:[8080,9090]`, `http://*.example.net:[*]`.
//! Compiled at config time into literal pieces; a pattern matches a whole origin (anchored,
//! as Higress since 2.0.1: `http://*.example.com` does not match
//! `http://a.example.com.evil.com`). Case-insensitive.

use higress_sdk::scan;

/// A compiled origin pattern.
#[derive(Debug)]
pub struct Pattern {
    /// The pattern (without its port list) split at each `*`, lowercase.
    pieces: Vec<String>,
    ports: Ports,
}

#[derive(Debug)]
enum Ports {
    /// No port list: the pattern covers the port part itself (literally or by `*`).
    Unlisted,
    /// `:[*]`: any port, or none.
    Any,
    /// `:[8080,9090]`: one of these.
    Listed(Vec<String>),
}

impl Pattern {
    /// Compiles a pattern (trimmed, one trailing `/` dropped). A port list that is not `*`
    /// or comma-separated decimal ports is an error.
    pub fn parse(text: &str) -> Result<Pattern, String> {
        let text = text.trim();
        let text = text.strip_suffix('/').unwrap_or(text).to_ascii_lowercase();
        let (base, ports) = match text.strip_suffix(']').and_then(|t| t.rsplit_once(":[")) {
            Some((base, "*")) => (base, Ports::Any),
            Some((base, list)) => {
                let ports: Vec<String> = list.split(',').map(|p| p.trim().to_string()).collect();
                if ports.iter().any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit())) {
                    return Err(format!("bad port list `[{list}]`: use `[*]` or decimal ports like `[8080,9090]`"));
                }
                (base, Ports::Listed(ports))
            }
            None => (text.as_str(), Ports::Unlisted),
        };
        Ok(Pattern { pieces: base.split('*').map(str::to_string).collect(), ports })
    }

    /// Whether `origin` matches (ASCII case-insensitively).
    #[cfg(test)]
    pub fn matches(&self, origin: &str) -> bool {
        let origin = higress_sdk::ascii::to_lower(origin.as_bytes());
        self.matches_lowercase(&origin, port_split(&origin))
    }

    /// [`Pattern::matches`] for an origin already lowercase and split at its port
    /// ([`port_split`]): a policy folds and splits the origin once for all its patterns,
    /// and the pieces (lowercase) are then compared byte for byte.
    pub fn matches_lowercase(&self, origin: &[u8], split: Option<(&[u8], &[u8])>) -> bool {
        match &self.ports {
            Ports::Unlisted => self.glob(origin),
            Ports::Any => self.glob(origin) || split.is_some_and(|(base, _)| self.glob(base)),
            Ports::Listed(ports) => {
                split.is_some_and(|(base, port)| ports.iter().any(|p| p.as_bytes() == port) && self.glob(base))
            }
        }
    }

    /// Whether the pieces, with anything between them, make up the whole of `text`.
    /// The first and last pieces are checked before any search: an origin that does not
    /// start and end as the pattern does costs no scan of its middle.
    fn glob(&self, text: &[u8]) -> bool {
        let Some((first, rest)) = self.pieces.split_first() else { return text.is_empty() };
        let Some(text) = text.strip_prefix(first.as_bytes()) else { return false };
        let Some((last, middle)) = rest.split_last() else { return text.is_empty() };
        let Some(mut text) = text.strip_suffix(last.as_bytes()) else { return false };
        for piece in middle {
            // The leftmost occurrence leaves the most room for what follows.
            let Some(at) = find(text, piece.as_bytes()) else { return false };
            text = text.get(at + piece.len()..).unwrap_or_default();
        }
        true
    }
}

/// Where `needle` first occurs in `text` (patterns with two or more `*` only). An origin
/// reaches 60 KiB and may be made of the needle's first bytes: eight starting places are
/// tested at once, by the needle's first, second and last bytes (three word comparisons),
/// and only a place with all three is compared whole. `.x.x.x` holds no candidate for
/// `.a.`, and a text made to have them (`-dxx.` for `-dev.`) has one per needle length.
fn find(text: &[u8], needle: &[u8]) -> Option<usize> {
    let (Some(&first), Some(&last)) = (needle.first(), needle.last()) else { return Some(0) };
    let n = needle.len();
    let lastmost = text.len().checked_sub(n)?;
    if n == 1 {
        let mut found = None;
        scan::each(text, first, |at| {
            found = Some(at);
            false
        });
        return found;
    }
    let second = needle.get(1).copied().unwrap_or(first);
    let check = |base: usize, mut hits: u64| {
        while hits != 0 {
            let at = base + (hits.trailing_zeros() / 8) as usize;
            if text.get(at..at + n).is_some_and(|window| scan::equal(window, needle)) {
                return Some(at);
            }
            hits &= hits - 1;
        }
        None
    };
    let mut base = 0;
    // Eight starts whose three words are all inside the text: one load each.
    while let (Some(a), Some(b), Some(c)) =
        (text.get(base..base + 8), text.get(base + 1..base + 9), text.get(base + n - 1..base + n + 7))
    {
        let hits = scan::matches(scan::word(a), first)
            & scan::matches(scan::word(b), second)
            & scan::matches(scan::word(c), last);
        if let Some(at) = check(base, hits) {
            return Some(at);
        }
        base += 8;
    }
    // The last starts, zero-padded: starts past `lastmost` are masked off.
    let word_at = |at: usize| scan::word(text.get(at..).unwrap_or_default());
    while base <= lastmost {
        let valid = u64::MAX >> (64 - 8 * (lastmost - base + 1).min(8));
        let hits = scan::matches(word_at(base), first)
            & scan::matches(word_at(base + 1), second)
            & scan::matches(word_at(base + n - 1), last)
            & valid;
        if let Some(at) = check(base, hits) {
            return Some(at);
        }
        base += 8;
    }
    None
}

/// `origin` split at its port, when it ends in `:` and digits: the text before the colon and
/// the digits. Read from the end, no further than the port: the last colon of an origin
/// that has a port is the one before it.
pub fn port_split(origin: &[u8]) -> Option<(&[u8], &[u8])> {
    let digits = origin.iter().rev().take_while(|b| b.is_ascii_digit()).count();
    let colon = origin.len().checked_sub(digits + 1)?;
    if digits == 0 || origin.get(colon) != Some(&b':') {
        return None;
    }
    Some((origin.get(..colon)?, origin.get(colon + 1..)?))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn matches(pattern: &str, origin: &str) -> bool {
        Pattern::parse(pattern).unwrap().matches(origin)
    }

    /// Go's TestCorsConfig_checkOrigin pattern cases and the 2.0.1 anchoring cases.
    #[test]
    fn go_cases() {
        assert!(matches("*", "http://HTTPBin.EXample.COM"));
        assert!(matches("http://*.example.com:[*]", "http://HTTPBin.EXample.COM"));
        assert!(matches("http://*.example.com:[*]", "http://HTTPBin.EXample.COM:10000"));
        assert!(!matches("http://*.example.com:[8080,9090]", "http://HTTPBin.EXample.COM:10000"));
        assert!(matches("http://*.example.com:[8080,9090]", "http://HTTPBin.EXample.COM:9090"));
        assert!(!matches("http://*.example.com:[8080,9090]", "http://HTTPBin.EXample.org:9090"));
        assert!(matches("http://*.example.com", "http://api.example.com"));
        assert!(!matches("http://*.example.com", "http://api.example.com.evil.com"));
        assert!(matches("http://*.example.com:[8080,9090]", "http://api.example.com:8080"));
        assert!(!matches("http://*.example.com:[8080,9090]", "http://api.example.com:8080.evil.com"));
    }

    #[test]
    fn wildcards_anywhere() {
        assert!(matches("https://*.*.example.com", "https://a.b.example.com"));
        assert!(!matches("https://*.*.example.com", "https://a.example.com"));
        assert!(matches("*://example.com", "wss://example.com"));
        assert!(matches("http://example.com:*", "http://example.com:1"));
        assert!(!matches("http://example.com:*", "http://example.com"));
        assert!(matches("HTTP://Example.COM/", "http://example.com"));
        assert!(!matches("http://*.example.com", "http://example.com"));
        assert!(matches("http://a*a", "http://aa"));
        assert!(!matches("http://a*a", "http://a"));
        assert!(!matches("http://*.example.com:[*]", "http://a.example.com:"));
        assert!(!matches("http://*.example.com:[*]", "http://a.example.com:x1"));
        assert!(matches("http://[::1]:[ 8080 , 9090 ]", "http://[::1]:9090"));
        assert!(matches("http://[::1]", "http://[::1]"));
    }

    /// An origin is folded once and searched byte for byte: case, and long origins full of
    /// near matches of a middle piece.
    #[test]
    fn case_and_long_origins() {
        assert!(matches("https://*-DEV.*.example.cn", "HTTPS://A-dev.B.EXAMPLE.CN"));
        assert!(!matches("https://*-dev.*.example.cn", "https://a-de.b.example.cn"));
        let near = ".a.".repeat(20_000);
        assert!(!matches("http://*.a.*.b.*.c", &format!("http://{near}")));
        assert!(matches("http://*.a.*.b.*.c", &format!("http://{near}x.B.y.C")));
        assert!(!matches("http://*.a.*.b.*.c", &format!("http://{near}x.B.y.Cd")));
    }

    /// Whether `pattern` (`*` for any run) matches the whole of `text`, the textbook way.
    fn wildcard(pattern: &[u8], text: &[u8]) -> bool {
        match pattern.split_first() {
            None => text.is_empty(),
            Some((b'*', rest)) => (0..=text.len()).any(|i| wildcard(rest, &text[i..])),
            Some((p, rest)) => text.split_first().is_some_and(|(t, more)| t == p && wildcard(rest, more)),
        }
    }

    proptest::proptest! {
        /// A pattern's pieces match as `*` wildcards do.
        #[test]
        fn glob_is_a_wildcard_match(text in "[.ab-]{0,14}", pattern in "[.ab*-]{0,8}") {
            let compiled = Pattern::parse(&format!("o{pattern}")).unwrap();
            let expected = wildcard(format!("o{pattern}").as_bytes(), format!("o{text}").as_bytes());
            proptest::prop_assert_eq!(compiled.glob(format!("o{text}").as_bytes()), expected);
        }

        /// [`find`] is the leftmost occurrence, as a search window by window finds it.
        #[test]
        fn find_is_the_leftmost_window(text in "[.ab-]{0,40}", needle in "[.ab-]{0,12}") {
            let expected = (0..=text.len().saturating_sub(needle.len()))
                .find(|&i| text.as_bytes().get(i..i + needle.len()) == Some(needle.as_bytes()));
            proptest::prop_assert_eq!(find(text.as_bytes(), needle.as_bytes()), expected);
        }
    }

    #[test]
    fn bad_port_lists() {
        for pattern in
            ["http://a.com:[x]", "http://a.com:[]", "http://a.com:[80,]", "http://a.com:[80;90]", "http://a.com:[*,80]"]
        {
            assert!(Pattern::parse(pattern).is_err(), "{pattern}");
        }
    }
}
