use super::Dfa;
use regex_lite::Regex;

/// Checks the DFA of `pattern` against regex-lite on `texts`; whether it has one.
fn agrees(pattern: &str, texts: &[&str]) -> bool {
    let Ok(re) = Regex::new(pattern) else { return false };
    let Some(dfa) = Dfa::new(pattern) else { return false };
    for text in texts {
        assert_eq!(dfa.is_match(text.as_bytes()), re.is_match(text), "{pattern:?} on {text:?}");
    }
    true
}

const TEXTS: &[&str] = &[
    "",
    "/",
    "/index.php",
    "/index.php/x",
    "/admin/x",
    "/x/admin/",
    "/api/v12/internal/x",
    "/api/v/internal/",
    "/q?id=1 SELECT * FROM t",
    "/q?SeLeCt from",
    "/q?selectfrom",
    "/backup.bak",
    "/backup.bak\n",
    "/a?debug=true",
    "/a?x&debug=1",
    "/é/ü.php",
    "\u{212A}",
    "\u{17F}",
    "a\nb",
    "aaa",
    "AbC_123",
];

#[test]
fn gateway_patterns() {
    for pattern in [
        r"\.php$",
        r"^/admin/.*",
        r"(?i)select.+from",
        r"/v\d+/internal/",
        r".*\.(bak|old|swp)$",
        r"[?&]debug=(1|true)",
        r"(?:\.php$)|(?:^/admin/.*)|(?:(?i)select.+from)|(?:/v\d+/internal/)|(?:.*\.(bak|old|swp)$)|(?:[?&]debug=(1|true))",
        r"^/api/(\w+)/(.*)\.json$",
        r"(a+)",
        r"^$",
        r"",
        r"a*",
        r"\Aa",
        r"b\z",
        r"(?s)a.b",
        r"a.b",
        r"[^/]+\.php",
        r"é|ü",
        r"[éa]",
        r"[^a-z]",
        r"\W",
        r"(?i)K",
        r"(?i)[k-l]",
        r"(?i:S)x|y",
        r"x{2,3}",
        r"a{2}",
        r"a{1,}b",
        r"(?P<name>a)(?<other>b)",
        r"a+?b*?",
        r"[]a]",
        r"[a-]",
        r"\x41\x{42}",
        r"\s",
        r"\S\D",
        r"^a|b$",
        r"(^a)*b",
        r"(?U)a+",
    ] {
        assert!(agrees(pattern, TEXTS), "{pattern:?} has no DFA");
    }
}

#[test]
fn outside_the_subset() {
    for pattern in [r"\bword", r"(?m)^a$", r"(?x) a", r"[[:alpha:]]", r"(?i)é", r"[^é]", r"[α-ω]", r"a{1001}"] {
        assert!(Regex::new(pattern).is_ok(), "{pattern:?}");
        assert!(Dfa::new(pattern).is_none(), "{pattern:?}");
    }
}

#[test]
fn large_texts() {
    let Some(dfa) = Dfa::new(r"(?i)select.+from") else { panic!("no dfa") };
    let long = "select ".repeat(10_000);
    assert!(!dfa.is_match(long.as_bytes()));
    assert!(dfa.is_match(format!("{long}x from").as_bytes()));
}

/// Random patterns from pieces of the syntax, on random texts: wherever the DFA is built, it
/// agrees with regex-lite, and it is built for most of them.
#[test]
fn agrees_on_random_patterns() {
    const PIECES: &[&str] = &[
        "a", "b", "A", ".", "/", "é", "\\.", "\\d", "\\w", "\\s", "\\W", "\\S", "[a-c]", "[^a]", "[^/]", "[é/]",
        "[\\d_]", "[^\\s]", "(", ")", "(?:", "(?i)", "(?s)", "(?i:", "|", "*", "+", "?", "{2}", "{1,3}", "{0,}", "*?",
        "^", "$", "\\z", "\\A", "\n", "k",
    ];
    const ALPHABET: &[&str] =
        &["a", "b", "A", "B", "/", ".", "\n", "é", "\u{212A}", "\u{17F}", "K", "0", "_", " ", "\x0B", "s"];
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = move |n: usize| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % n as u64) as usize
    };
    let (mut built, mut valid) = (0, 0);
    for _ in 0..20_000 {
        let mut pattern = String::new();
        for _ in 0..next(12) + 1 {
            pattern.push_str(PIECES[next(PIECES.len())]);
        }
        let Ok(re) = Regex::new(&pattern) else { continue };
        valid += 1;
        let Some(dfa) = Dfa::new(&pattern) else { continue };
        built += 1;
        for _ in 0..40 {
            let mut text = String::new();
            for _ in 0..next(10) {
                text.push_str(ALPHABET[next(ALPHABET.len())]);
            }
            assert_eq!(dfa.is_match(text.as_bytes()), re.is_match(&text), "{pattern:?} on {text:?}");
            // Bytes that are not UTF-8, as `from_utf8_lossy` makes them text.
            let mut bytes = text.clone().into_bytes();
            bytes.insert(next(bytes.len() + 1), [0xFF, 0xC3, 0x80, 0xE2][next(4)]);
            let lossy = String::from_utf8_lossy(&bytes);
            assert_eq!(dfa.is_match_lossy(&bytes), re.is_match(&lossy), "{pattern:?} on {bytes:?}");
        }
    }
    assert!(valid > 5_000 && built * 10 > valid * 8, "{built} of {valid} valid patterns built");
}
