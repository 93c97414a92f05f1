//! The pattern's syntax (regex-lite's, which is RE2's) to a tree, for the subset the DFA
//! supports: anything else is `None`. Patterns come here only once `regex-lite` has
//! accepted them, so an error is never reported from here, only "not supported".

use crate::set::ByteSet;

/// A parsed pattern: what it matches, byte by byte.
#[derive(Debug, Clone)]
pub enum Ast {
    Empty,
    /// One byte of the set.
    Set(ByteSet),
    /// One whole non-ASCII character.
    NonAscii,
    Concat(Vec<Ast>),
    Alt(Vec<Ast>),
    /// `min` to `max` (no bound: `None`) times; greedy (more first) or lazy (fewer first):
    /// which only changes the groups a match reports, not whether there is one.
    Repeat(Box<Ast>, u32, Option<u32>, bool),
    /// A capturing group and its index (opening parentheses counted from 1).
    Group(Box<Ast>, u32),
    /// The start of the text (`^` without `m`, `\A`).
    Start,
    /// The end of the text (`$` without `m`, `\z`).
    End,
}

/// The flags in the subset.
#[derive(Debug, Clone, Copy, Default)]
struct Flags {
    /// `i`: ASCII letters match either case.
    fold: bool,
    /// `s`: `.` matches `\n` too.
    dot_nl: bool,
    /// `U`: repetitions are lazy unless followed by `?`.
    swap_greed: bool,
}

/// Repetition counts past this are left to `regex-lite` (they would make a large NFA).
const MAX_COUNT: u32 = 1000;
/// Groups nested deeper than this are left to `regex-lite`.
const MAX_DEPTH: usize = 64;

pub fn parse(pattern: &str) -> Option<Ast> {
    let mut p = Parser { chars: pattern.chars().collect(), pos: 0, depth: 0, groups: 0 };
    let ast = p.group(Flags::default())?;
    // A `)` with no `(`: not a pattern regex-lite accepts.
    (p.pos == p.chars.len()).then_some(ast)
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    depth: usize,
    /// Capturing groups opened so far.
    groups: u32,
}

/// A class's members: ASCII bytes, every non-ASCII character, or some of them.
#[derive(Default)]
struct Members {
    ascii: ByteSet,
    non_ascii: bool,
    chars: Vec<char>,
}

impl Members {
    /// `\d`, `\w`, `\s` (ASCII, as regex-lite has them) or their negations.
    fn perl(c: char) -> Option<Members> {
        let mut ascii = ByteSet::empty();
        let bytes: &[u8] = match c.to_ascii_lowercase() {
            'd' => b"0123456789",
            'w' => b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz",
            's' => b"\t\n\x0B\x0C\r ",
            _ => return None,
        };
        for &b in bytes {
            ascii.insert(b);
        }
        Some(if c.is_ascii_uppercase() {
            Members { ascii: ascii.ascii_complement(), non_ascii: true, chars: Vec::new() }
        } else {
            Members { ascii, non_ascii: false, chars: Vec::new() }
        })
    }

    fn add(&mut self, other: Members) {
        self.ascii.union(&other.ascii);
        self.non_ascii |= other.non_ascii;
        self.chars.extend(other.chars);
    }

    fn ast(self) -> Ast {
        let mut alts = vec![Ast::Set(self.ascii)];
        if self.non_ascii {
            alts.push(Ast::NonAscii);
        } else {
            alts.extend(self.chars.into_iter().map(utf8));
        }
        if alts.len() == 1 {
            alts.pop().unwrap_or(Ast::Empty)
        } else {
            Ast::Alt(alts)
        }
    }
}

/// A character's UTF-8 bytes, one after another.
fn utf8(c: char) -> Ast {
    let mut buf = [0; 4];
    Ast::Concat(
        c.encode_utf8(&mut buf)
            .bytes()
            .map(|b| {
                let mut s = ByteSet::empty();
                s.insert(b);
                Ast::Set(s)
            })
            .collect(),
    )
}

/// One literal character; `None` for a non-ASCII one under `i` (Unicode case folding).
fn literal(c: char, flags: Flags) -> Option<Ast> {
    if !c.is_ascii() {
        return (!flags.fold).then(|| utf8(c));
    }
    let mut s = ByteSet::empty();
    s.insert(c as u8);
    Some(Ast::Set(if flags.fold { s.fold_ascii_case() } else { s }))
}

fn dot(flags: Flags) -> Ast {
    let mut ascii = ByteSet::range(0, 0x7F);
    if !flags.dot_nl {
        ascii = {
            let mut nl = ByteSet::empty();
            nl.insert(b'\n');
            nl.ascii_complement()
        };
    }
    Members { ascii, non_ascii: true, chars: Vec::new() }.ast()
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek2(&self) -> Option<char> {
        self.chars.get(self.pos + 1).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        Some(c)
    }

    fn eat(&mut self, c: char) -> bool {
        let yes = self.peek() == Some(c);
        if yes {
            self.pos += 1;
        }
        yes
    }

    /// Alternatives up to a `)` (left for the caller) or the end. A flag group `(?i)`
    /// changes the flags for the rest of the group, later alternatives too.
    fn group(&mut self, mut flags: Flags) -> Option<Ast> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        let mut branches = Vec::new();
        let mut items = Vec::new();
        loop {
            match self.peek() {
                None | Some(')') => break,
                Some('|') => {
                    self.pos += 1;
                    branches.push(Ast::Concat(std::mem::take(&mut items)));
                }
                Some(_) => {
                    if let Some(atom) = self.atom(&mut flags)? {
                        items.push(self.repeats(atom, flags)?);
                    }
                }
            }
        }
        self.depth -= 1;
        branches.push(Ast::Concat(items));
        Some(if branches.len() == 1 { branches.pop().unwrap_or(Ast::Empty) } else { Ast::Alt(branches) })
    }

    /// One atom; `Some(None)` for a flag group, which matches nothing itself.
    fn atom(&mut self, flags: &mut Flags) -> Option<Option<Ast>> {
        let ast = match self.bump()? {
            '(' => {
                let mut index = None;
                let inner = if self.eat('?') {
                    let named = if self.eat('P') { self.eat('<') || return None } else { self.eat('<') };
                    if named {
                        // A named group: its name up to `>`.
                        while self.bump()? != '>' {}
                        self.groups += 1;
                        index = Some(self.groups);
                        *flags
                    } else {
                        let mut f = *flags;
                        let mut negated = false;
                        loop {
                            match self.bump()? {
                                'i' => f.fold = !negated,
                                's' => f.dot_nl = !negated,
                                'U' => f.swap_greed = !negated,
                                // Turning `m` or `x` off changes nothing here.
                                'm' | 'x' if negated => {}
                                '-' => negated = true,
                                ':' => break f,
                                ')' => {
                                    *flags = f;
                                    return Some(None);
                                }
                                _ => return None,
                            }
                        }
                    }
                } else {
                    self.groups += 1;
                    index = Some(self.groups);
                    *flags
                };
                let ast = self.group(inner)?;
                if !self.eat(')') {
                    return None;
                }
                match index {
                    Some(index) => Ast::Group(Box::new(ast), index),
                    None => ast,
                }
            }
            '[' => self.class(*flags)?,
            '.' => dot(*flags),
            '^' => Ast::Start,
            '$' => Ast::End,
            '\\' => self.escape(*flags)?,
            '*' | '+' | '?' | '{' | ')' | '|' => return None,
            c => literal(c, *flags)?,
        };
        Some(Some(ast))
    }

    /// The repetitions after an atom.
    fn repeats(&mut self, mut ast: Ast, flags: Flags) -> Option<Ast> {
        loop {
            let (min, max) = match self.peek() {
                Some('*') => (0, None),
                Some('+') => (1, None),
                Some('?') => (0, Some(1)),
                Some('{') => (u32::MAX, None),
                _ => return Some(ast),
            };
            self.pos += 1;
            let (min, max) = if min == u32::MAX { self.counts()? } else { (min, max) };
            let greedy = self.eat('?') == flags.swap_greed;
            if matches!(ast, Ast::Start | Ast::End) {
                return None;
            }
            ast = Ast::Repeat(Box::new(ast), min, max, greedy);
        }
    }

    /// `n}`, `n,}` or `n,m}` after a `{`.
    fn counts(&mut self) -> Option<(u32, Option<u32>)> {
        let min = self.number()?;
        let max = if self.eat(',') {
            if self.peek() == Some('}') {
                None
            } else {
                Some(self.number()?)
            }
        } else {
            Some(min)
        };
        if !self.eat('}') || max.is_some_and(|m| m < min) {
            return None;
        }
        Some((min, max))
    }

    fn number(&mut self) -> Option<u32> {
        let mut n: u32 = 0;
        let mut digits = 0;
        while let Some(d) = self.peek().and_then(|c| c.to_digit(10)) {
            n = n.checked_mul(10)?.checked_add(d)?;
            digits += 1;
            self.pos += 1;
        }
        (digits > 0 && n <= MAX_COUNT).then_some(n)
    }

    /// After a `\` outside a class.
    fn escape(&mut self, flags: Flags) -> Option<Ast> {
        let c = self.bump()?;
        match c {
            'd' | 'D' | 'w' | 'W' | 's' | 'S' => Some(Members::perl(c)?.ast()),
            'A' => Some(Ast::Start),
            'z' => Some(Ast::End),
            c => literal(self.escaped(c)?, flags),
        }
    }

    /// The character an escape `\c` stands for (`c` already read), when it is one.
    fn escaped(&mut self, c: char) -> Option<char> {
        Some(match c {
            'n' => '\n',
            't' => '\t',
            'r' => '\r',
            'f' => '\x0C',
            'v' => '\x0B',
            'a' => '\x07',
            'x' => {
                // `\xHH` or `\x{H...}`.
                let braced = self.eat('{');
                let mut value: u32 = 0;
                let mut digits = 0;
                loop {
                    if braced && self.eat('}') {
                        break;
                    }
                    value = value.checked_mul(16)?.checked_add(self.bump()?.to_digit(16)?)?;
                    digits += 1;
                    if !braced && digits == 2 {
                        break;
                    }
                }
                char::from_u32(value)?
            }
            // `\<` and `\>` are word boundaries.
            '<' | '>' => return None,
            c if c.is_ascii_punctuation() => c,
            _ => return None,
        })
    }

    /// After a `[`.
    fn class(&mut self, flags: Flags) -> Option<Ast> {
        let negated = self.eat('^');
        let mut members = Members::default();
        let mut first = true;
        loop {
            let c = self.bump()?;
            match c {
                ']' if !first => break,
                '[' => return None,
                // Set operations (`&&`, `--`, `~~`).
                '&' | '-' | '~' if self.peek() == Some(c) => return None,
                '\\' => {
                    let e = self.bump()?;
                    match e {
                        'd' | 'D' | 'w' | 'W' | 's' | 'S' => members.add(Members::perl(e)?),
                        e => {
                            let lo = self.escaped(e)?;
                            self.range_from(lo, &mut members)?;
                        }
                    }
                }
                c => self.range_from(c, &mut members)?,
            }
            first = false;
        }
        if flags.fold {
            if !members.chars.is_empty() {
                return None;
            }
            members.ascii = members.ascii.fold_ascii_case();
        }
        if negated {
            if !members.chars.is_empty() {
                return None;
            }
            members.ascii = members.ascii.ascii_complement();
            members.non_ascii = !members.non_ascii;
        }
        Some(members.ast())
    }

    /// A class member starting with `lo`: a range `lo-hi` (ASCII only) or `lo` alone.
    fn range_from(&mut self, lo: char, members: &mut Members) -> Option<()> {
        if self.peek() == Some('-') && !matches!(self.peek2(), Some(']') | None) {
            self.pos += 1;
            let hi = match self.bump()? {
                '\\' => {
                    let e = self.bump()?;
                    self.escaped(e)?
                }
                '[' => return None,
                c => c,
            };
            if !lo.is_ascii() || !hi.is_ascii() || hi < lo {
                return None;
            }
            members.ascii.union(&ByteSet::range(lo as u8, hi as u8));
        } else if lo.is_ascii() {
            members.ascii.insert(lo as u8);
        } else {
            members.chars.push(lo);
        }
        Some(())
    }
}
