use super::{Dfa, Pattern, Replacement};
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
    let mut next = xorshift(0x2545_F491_4F6C_DD1D);
    let (mut built, mut valid) = (0, 0);
    for _ in 0..20_000 {
        let pattern = joined(&mut next, PIECES, 1, 13);
        let Ok(re) = Regex::new(&pattern) else { continue };
        valid += 1;
        let Some(dfa) = Dfa::new(&pattern) else { continue };
        built += 1;
        for _ in 0..40 {
            let text = joined(&mut next, ALPHABET, 0, 10);
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

/// A DFA that folds ASCII capitals answers for any text as the DFA answers for that text
/// with its ASCII capitals lowered, texts long enough for the steps eight at a time.
#[test]
fn folded_capitals_read_as_small_letters() {
    const PIECES: &[&str] =
        &["a", "b", "A", ".", "[a-c]", "[A-C]", "[^a]", "\\w", "(?i)", "k", "|", "*", "+", "$", "^"];
    const ALPHABET: &[&str] = &["a", "b", "A", "B", "C", "c", "K", "k", "\u{212A}", "/", ".", "Z"];
    let mut next = xorshift(0x9E37_79B9_7F4A_7C15);
    let mut checked = 0;
    for _ in 0..3_000 {
        let pattern = joined(&mut next, PIECES, 1, 8);
        let Ok(mut folded) = Pattern::new(&pattern) else { continue };
        let Some(dfa) = Dfa::new(&pattern) else { continue };
        assert!(folded.fold_ascii_capitals());
        checked += 1;
        for _ in 0..20 {
            let text = joined(&mut next, ALPHABET, 0, 40);
            let lowered = text.to_ascii_lowercase();
            assert_eq!(folded.is_match(&text), dfa.is_match(lowered.as_bytes()), "{pattern:?} on {text:?}");
        }
    }
    assert!(checked > 1_000, "{checked}");
}

/// regex-lite's matches of `re` in `text`, as [`crate::Groups`] hold them.
fn regex_lite_groups(re: &Regex, text: &str) -> Vec<Vec<Option<std::ops::Range<usize>>>> {
    re.captures_iter(text).map(|c| (0..c.len()).map(|i| c.get(i).map(|m| m.range())).collect()).collect()
}

/// `pattern`'s matches and groups in `text` as its finder finds them (never falling back to
/// regex-lite, which [`Pattern::captures_all`] would do if the finder were wrong).
fn our_groups(pattern: &Pattern, groups: usize, text: &str) -> Vec<Vec<Option<std::ops::Range<usize>>>> {
    let Some(finder) = pattern.finder.as_ref() else { panic!("{:?} has no finder", pattern.as_str()) };
    let Ok(slots) = finder.find_all(text) else { panic!("{:?} broke on {text:?}", pattern.as_str()) };
    let all = pattern.captures_all(text);
    if !slots.is_empty() {
        assert_eq!(all, crate::Matches { width: finder.width(), slots });
    }
    all.iter().map(|g| (0..groups).map(|i| g.get(i)).collect()).collect()
}

#[test]
fn groups_as_regex_lite_reports_them() {
    let cases: &[(&str, &[&str])] = &[
        (r"^/api/(\w+)/(.*)\.json$", &["/api/users/1/2.json", "/api/x.json", "/api/a/b.json.json"]),
        (r"(a+)(a*)", &["aaaa", "baab", ""]),
        (r"(a+?)(a*)", &["aaaa"]),
        (r"(?U)(a+)(a*)", &["aaaa"]),
        (r"(?U)(a+?)(a*)", &["aaaa"]),
        (r"(a*)*", &["b", "", "aab"]),
        (r"(a|)*", &["aa", "b"]),
        (r"(a?){2,}", &["aaa", ""]),
        (r"(a|ab)(c|bcd)(d*)", &["abcd"]),
        (r"x*", &["axxb", "é", "xéx"]),
        (r"", &["abc", "é"]),
        (r"(?P<first>\w+)-(?<second>\d+)", &["ab-12 cd-34"]),
        (r"(é+)(.)", &["ééé", "aéb"]),
        (r"(^a)|(b$)", &["ab", "ba"]),
        (r"(a)|b", &["ab"]),
        (r"(?:(a)|b)*", &["ab", "ba"]),
        (r"(a{2,3}?)(a*)", &["aaaaa"]),
        (r"([^/]+)\.php", &["/a/index.php?x=b.php"]),
    ];
    for (pattern, texts) in cases {
        let re = Regex::new(pattern).unwrap_or_else(|e| panic!("{pattern}: {e}"));
        let ours = Pattern::with_groups(pattern).unwrap_or_else(|e| panic!("{pattern}: {e}"));
        assert!(ours.has_finder(), "{pattern:?} has no finder");
        for text in *texts {
            assert_eq!(
                our_groups(&ours, re.captures_len(), text),
                regex_lite_groups(&re, text),
                "{pattern:?} on {text:?}"
            );
        }
    }
}

#[test]
fn replacements_as_regex_lite_expands_them() {
    let re = Regex::new(r"(?P<a>\w)(\d)?-(?<long_name>x*)").unwrap_or_else(|e| panic!("{e}"));
    let ours = Pattern::with_groups(re.as_str()).unwrap_or_else(|e| panic!("{e}"));
    let templates = [
        "$1",
        "${1}",
        "$2",
        "$a",
        "${a}",
        "$long_name",
        "${long_name}x",
        "$long_namex",
        "$$",
        "$",
        "a$",
        "${",
        "${1",
        "$-",
        "${}",
        "$99",
        "${+1}",
        "$0",
        "<$a|$2|$3>",
        "é$1é",
        "$$1",
        "$$$1",
    ];
    for text in ["k7-xx", "k-", "q7-x z-"] {
        let all = ours.captures_all(text);
        let matches: Vec<_> = all.iter().collect();
        let theirs: Vec<_> = re.captures_iter(text).collect();
        assert_eq!(matches.len(), theirs.len(), "{text:?}");
        for template in templates {
            let replacement = Replacement::new(template, &ours);
            for (m, c) in matches.iter().zip(&theirs) {
                let (mut a, mut b) = (String::new(), String::new());
                replacement.expand(text, *m, &mut a);
                c.expand(template, &mut b);
                assert_eq!(a, b, "{template:?} on {text:?}");
            }
        }
    }
}

/// Random patterns with groups and lazy repetitions: where the finder is built, every match
/// and group agrees with regex-lite's.
#[test]
fn groups_agree_on_random_patterns() {
    const PIECES: &[&str] = &[
        "a", "b", ".", "/", "é", "\\.", "\\w", "[a-c]", "[^a]", "(", "(", ")", "(?:", "(?P<n>", "(?U)", "|", "*", "+",
        "?", "*?", "+?", "??", "{2}", "{1,3}", "{0,}", "{1,2}?", "^", "$", "(?i)", "\\z", "\\A", "(?s)", "\n",
    ];
    const ALPHABET: &[&str] = &["a", "b", "A", "/", ".", "é", "c", "_", "\n"];
    let seed = std::env::var("DFA_SEED").ok().and_then(|s| s.parse().ok());
    let mut next = xorshift(seed.unwrap_or(0x9E37_79B9_7F4A_7C15));
    let (mut built, mut valid) = (0, 0);
    for _ in 0..20_000 {
        let pattern = joined(&mut next, PIECES, 1, 11);
        let Ok(re) = Regex::new(&pattern) else { continue };
        valid += 1;
        let Ok(ours) = Pattern::with_groups(&pattern) else { panic!("{pattern:?}") };
        if !ours.has_finder() {
            continue;
        }
        built += 1;
        for _ in 0..30 {
            let text = joined(&mut next, ALPHABET, 0, 9);
            assert_eq!(
                our_groups(&ours, re.captures_len(), &text),
                regex_lite_groups(&re, &text),
                "{pattern:?} on {text:?}"
            );
        }
    }
    eprintln!("{built} of {valid} valid patterns built");
    assert!(valid > 3_000 && built * 10 > valid * 7, "{built} of {valid} valid patterns built");
}

/// A xorshift generator: `next(n)` is in `0..n`.
fn xorshift(mut x: u64) -> impl FnMut(usize) -> usize {
    move |n: usize| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % n as u64) as usize
    }
}

/// `min` to `max - 1` pieces picked at random, one after another.
fn joined(next: &mut impl FnMut(usize) -> usize, pieces: &[&str], min: usize, max: usize) -> String {
    let count = min + next(max - min);
    (0..count).map(|_| pieces[next(pieces.len())]).collect()
}
