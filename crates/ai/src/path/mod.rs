//! The part of GJSON's path syntax Higress's ai-cache README documents, compiled once at
//! config time and evaluated on any JSON tree that implements [`Node`]: dotted keys (with
//! `*` / `?` wildcards and `\` escapes), array indexes, `#` (length, or every element when
//! more follows), queries `#(path op value)` (first match) and `#(...)#` (every match) with
//! `==`, `=`, `!=`, `<`, `<=`, `>`, `>=`, `%` and `!%`, the modifiers `@reverse` and `@this`,
//! and pipes (`|`).
//!
//! The value a path yields is read as Go's `gjson.Result.String()` reads it: a string's text,
//! a number's digits, `true` / `false`, nothing for `null` or a missing value, the JSON text
//! of an object or an array (a query with `#` yields a new array of its matches).

mod tree;

pub use tree::{truthy, Any, Scratch};

/// What a JSON value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Object,
    Array,
    String,
    Number,
    True,
    False,
    Null,
}

/// A value of a JSON tree a path can walk.
pub trait Node: Copy {
    /// What it is.
    fn kind(self) -> Kind;
    /// The first member whose key `matches`.
    fn member(self, matches: impl Fn(&str) -> bool) -> Option<Self>;
    /// The elements of an array; empty for anything else.
    fn elements(self) -> Vec<Self>;
    /// A string's text.
    fn string(self) -> Option<String>;
    /// A number's value.
    fn number(self) -> Option<f64>;
    /// The value's JSON text.
    fn write_json(self, out: &mut String);
}

/// A compiled path.
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq)]
struct Step {
    /// A `|` came before it: a list of results is one array from here on.
    piped: bool,
    op: Op,
}

#[derive(Debug, Clone, PartialEq)]
enum Op {
    /// A key (an index, on an array), with wildcards when `glob`.
    Key {
        key: String,
        glob: bool,
    },
    /// `#`: the length of an array, or (with more steps after it) each of its elements.
    Each,
    /// `#(...)` / `#(...)#`.
    Query {
        query: Box<Query>,
        all: bool,
    },
    Reverse,
    This,
}

#[derive(Debug, Clone, PartialEq)]
struct Query {
    /// The value compared, from each element (empty: the element itself).
    left: Path,
    /// `None`: the left value only has to exist.
    test: Option<(Cmp, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Like,
    NotLike,
}

/// The outcome of a path (or of its first steps).
#[derive(Debug, Clone)]
enum Found<N> {
    Nothing,
    One(N),
    Count(usize),
    /// Values gathered by `#` or a `#(...)#` query (`spread`: the next steps apply to each),
    /// or an array made by a modifier.
    List {
        items: Vec<Found<N>>,
        spread: bool,
    },
}

impl Path {
    /// Compiles `text`; the error says what is not supported or malformed.
    pub fn compile(text: &str) -> Result<Path, String> {
        let mut steps = Vec::new();
        let mut rest = text;
        let mut piped = false;
        if rest.is_empty() {
            return Err("the path is empty".into());
        }
        loop {
            let (component, separator, tail) = split_component(rest)?;
            let op = compile_component(component)?;
            steps.push(Step { piped, op });
            match tail {
                Some(tail) => {
                    piped = separator == Some('|');
                    rest = tail;
                }
                None => break,
            }
        }
        Ok(Path { steps })
    }

    /// A path with no steps: the value itself.
    fn this() -> Path {
        Path { steps: Vec::new() }
    }

    /// The value at this path in `root`, as gjson's `String()` gives it; `None` when there is
    /// none (missing, or `null`).
    pub fn string<N: Node>(&self, root: N) -> Option<String> {
        found_string(&self.eval(root))
    }

    /// The JSON text of the value at this path in `root` (a string quoted, a list of results
    /// as an array); `None` when there is none (missing, or `null`).
    pub fn json<N: Node>(&self, root: N) -> Option<String> {
        let found = self.eval(root);
        match &found {
            Found::Nothing => None,
            Found::One(node) if node.kind() == Kind::Null => None,
            _ => {
                let mut out = String::new();
                write_found(&found, &mut out);
                Some(out)
            }
        }
    }

    /// Whether the path leads to a value that carries something: not missing, not `null`,
    /// not an empty array, object or string, not `false`.
    pub fn has_content<N: Node>(&self, root: N) -> bool {
        match self.eval(root) {
            Found::Nothing => false,
            Found::Count(_) => true,
            Found::List { items, .. } => !items.is_empty(),
            Found::One(node) => match node.kind() {
                Kind::Null | Kind::False => false,
                Kind::Array => !node.elements().is_empty(),
                Kind::Object => node.member(|_| true).is_some(),
                Kind::String => node.string().is_some_and(|s| !s.is_empty()),
                Kind::Number | Kind::True => true,
            },
        }
    }

    fn eval<N: Node>(&self, root: N) -> Found<N> {
        let mut found = Found::One(root);
        for (i, step) in self.steps.iter().enumerate() {
            if step.piped {
                if let Found::List { spread, .. } = &mut found {
                    *spread = false;
                }
            }
            found =
                if step.op == Op::Each && i + 1 == self.steps.len() { count(found) } else { apply(found, &step.op) };
            if matches!(found, Found::Nothing) {
                break;
            }
        }
        found
    }
}

/// Splits off the first component: (component, the separator after it, the rest after the
/// separator). A component is cut at an unescaped `.` or `|` outside a query's parentheses
/// and quotes.
fn split_component(text: &str) -> Result<(&str, Option<char>, Option<&str>), String> {
    let mut depth = 0usize;
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '"' if depth > 0 => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth = depth.saturating_sub(1),
            '.' | '|' if depth == 0 && !quoted => {
                let tail = text.get(i + 1..).unwrap_or_default();
                if tail.is_empty() {
                    return Err(format!("the path ends with `{c}`"));
                }
                return Ok((text.get(..i).unwrap_or_default(), Some(c), Some(tail)));
            }
            _ => {}
        }
    }
    if depth > 0 || quoted {
        return Err("a query `#(` is not closed".into());
    }
    Ok((text, None, None))
}

fn compile_component(component: &str) -> Result<Op, String> {
    if component.is_empty() {
        return Err("the path has an empty component (`..`)".into());
    }
    if let Some(modifier) = component.strip_prefix('@') {
        let name = modifier.split(':').next().unwrap_or_default();
        return match name {
            "reverse" => Ok(Op::Reverse),
            "this" => Ok(Op::This),
            _ => Err(format!("the modifier `@{name}` is not supported (only @reverse and @this)")),
        };
    }
    if component == "#" {
        // `#` last yields the length; followed by more, each element.
        return Ok(Op::Each);
    }
    if let Some(inner) = component.strip_prefix("#(") {
        let (inner, all) = match inner.strip_suffix(")#") {
            Some(inner) => (inner, true),
            None => (inner.strip_suffix(')').ok_or_else(|| format!("`{component}` is not a query"))?, false),
        };
        return Ok(Op::Query { query: Box::new(compile_query(inner)?), all });
    }
    if component.starts_with('!') {
        return Err("literals (`!`) are not supported".into());
    }
    let mut key = String::with_capacity(component.len());
    let mut glob = false;
    let mut chars = component.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(next) = chars.next() {
                    // A wildcard escaped is a literal one: kept escaped for the matcher.
                    if matches!(next, '*' | '?') {
                        key.push('\\');
                    }
                    key.push(next);
                }
            }
            '*' | '?' => {
                glob = true;
                key.push(c);
            }
            _ => key.push(c),
        }
    }
    if !glob {
        key = key.replace("\\*", "*").replace("\\?", "?");
    }
    Ok(Op::Key { key, glob })
}

/// `left op value` (or `left` alone) of a query.
fn compile_query(inner: &str) -> Result<Query, String> {
    let inner = inner.trim();
    let mut escaped = false;
    let mut at = None;
    for (i, c) in inner.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '=' | '!' | '<' | '>' | '%' => {
                at = Some(i);
                break;
            }
            _ => {}
        }
    }
    let Some(at) = at else {
        let left = if inner.is_empty() { Path::this() } else { Path::compile(inner)? };
        return Ok(Query { left, test: None });
    };
    let (left, rest) = inner.split_at(at);
    let (cmp, len) = match rest.as_bytes() {
        [b'=', b'=', ..] => (Cmp::Eq, 2),
        [b'!', b'=', ..] => (Cmp::Ne, 2),
        [b'<', b'=', ..] => (Cmp::Le, 2),
        [b'>', b'=', ..] => (Cmp::Ge, 2),
        [b'!', b'%', ..] => (Cmp::NotLike, 2),
        [b'=', ..] => (Cmp::Eq, 1),
        [b'<', ..] => (Cmp::Lt, 1),
        [b'>', ..] => (Cmp::Gt, 1),
        [b'%', ..] => (Cmp::Like, 1),
        _ => return Err(format!("`{rest}`: unknown query operator")),
    };
    let value = rest.get(len..).unwrap_or_default().trim();
    if value.starts_with('~') {
        return Err(format!("`{value}`: `~` comparisons are not supported"));
    }
    let value = if value.starts_with('"') {
        serde_json::from_str::<String>(value).map_err(|_| format!("`{value}`: malformed quoted string"))?
    } else {
        value.to_string()
    };
    let left = left.trim();
    let left = if left.is_empty() { Path::this() } else { Path::compile(left)? };
    Ok(Query { left, test: Some((cmp, value)) })
}

fn apply<N: Node>(found: Found<N>, op: &Op) -> Found<N> {
    match found {
        Found::Nothing => Found::Nothing,
        Found::Count(n) => match op {
            Op::Reverse | Op::This => Found::Count(n),
            _ => Found::Nothing,
        },
        Found::List { items, spread: true } => {
            let items: Vec<Found<N>> =
                items.into_iter().map(|item| apply(item, op)).filter(|item| !matches!(item, Found::Nothing)).collect();
            Found::List { items, spread: true }
        }
        Found::List { items, spread: false } => on_array(items, op),
        Found::One(node) => match (node.kind(), op) {
            (Kind::Object, Op::Key { key, glob }) => {
                node.member(|k| key_matches(k, key, *glob)).map_or(Found::Nothing, Found::One)
            }
            (Kind::Array, _) => on_array(node.elements().into_iter().map(Found::One).collect(), op),
            (_, Op::Reverse | Op::This) => Found::One(node),
            _ => Found::Nothing,
        },
    }
}

/// A step applied to an array's elements.
fn on_array<N: Node>(mut items: Vec<Found<N>>, op: &Op) -> Found<N> {
    match op {
        Op::Key { key, glob: false } => match key.parse::<usize>() {
            Ok(index) if key.bytes().all(|b| b.is_ascii_digit()) && index < items.len() => {
                items.into_iter().nth(index).unwrap_or(Found::Nothing)
            }
            _ => Found::Nothing,
        },
        Op::Key { .. } => Found::Nothing,
        Op::Each => Found::List { items, spread: true },
        Op::Query { query, all } => {
            if *all {
                let items = items.into_iter().filter(|item| query.matches(item)).collect();
                Found::List { items, spread: true }
            } else {
                items.into_iter().find(|item| query.matches(item)).unwrap_or(Found::Nothing)
            }
        }
        Op::Reverse => {
            items.reverse();
            Found::List { items, spread: false }
        }
        Op::This => Found::List { items, spread: false },
    }
}

/// `#` as the last step: the length of an array (of each, after a spreading step).
fn count<N: Node>(found: Found<N>) -> Found<N> {
    match found {
        Found::One(node) if node.kind() == Kind::Array => Found::Count(node.elements().len()),
        Found::List { items, spread: false } => Found::Count(items.len()),
        Found::List { items, spread: true } => {
            let items = items.into_iter().map(count).filter(|item| !matches!(item, Found::Nothing)).collect();
            Found::List { items, spread: true }
        }
        _ => Found::Nothing,
    }
}

/// What gjson's `String()` makes of a result.
fn found_string<N: Node>(found: &Found<N>) -> Option<String> {
    match found {
        Found::Nothing => None,
        Found::Count(n) => Some(n.to_string()),
        Found::One(node) => match node.kind() {
            Kind::Null => None,
            Kind::String => node.string(),
            Kind::True => Some("true".into()),
            Kind::False => Some("false".into()),
            Kind::Number | Kind::Object | Kind::Array => {
                let mut out = String::new();
                node.write_json(&mut out);
                Some(out)
            }
        },
        Found::List { .. } => {
            let mut out = String::new();
            write_found(found, &mut out);
            Some(out)
        }
    }
}

fn write_found<N: Node>(found: &Found<N>, out: &mut String) {
    match found {
        Found::Nothing => out.push_str("null"),
        Found::Count(n) => out.push_str(&n.to_string()),
        Found::One(node) => node.write_json(out),
        Found::List { items, .. } => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_found(item, out);
            }
            out.push(']');
        }
    }
}

impl Query {
    /// Whether an element passes, as gjson's `queryMatches` decides.
    fn matches<N: Node>(&self, item: &Found<N>) -> bool {
        let Found::One(element) = item else { return false };
        let value = self.left.eval(*element);
        let Some((cmp, right)) = &self.test else { return !matches!(value, Found::Nothing) };
        let Found::One(value) = value else { return false };
        match value.kind() {
            Kind::String => {
                let Some(text) = value.string() else { return false };
                let text = text.as_str();
                let right = right.as_str();
                match cmp {
                    Cmp::Eq => text == right,
                    Cmp::Ne => text != right,
                    Cmp::Lt => text < right,
                    Cmp::Le => text <= right,
                    Cmp::Gt => text > right,
                    Cmp::Ge => text >= right,
                    Cmp::Like => glob(text, right),
                    Cmp::NotLike => !glob(text, right),
                }
            }
            Kind::Number => {
                let (Some(n), Ok(r)) = (value.number(), right.parse::<f64>()) else { return false };
                match cmp {
                    Cmp::Eq => n == r,
                    Cmp::Ne => n != r,
                    Cmp::Lt => n < r,
                    Cmp::Le => n <= r,
                    Cmp::Gt => n > r,
                    Cmp::Ge => n >= r,
                    Cmp::Like | Cmp::NotLike => false,
                }
            }
            Kind::True => match cmp {
                Cmp::Eq => right == "true",
                Cmp::Ne => right != "true",
                Cmp::Gt => right == "false",
                Cmp::Ge => true,
                _ => false,
            },
            Kind::False => match cmp {
                Cmp::Eq => right == "false",
                Cmp::Ne => right != "false",
                Cmp::Lt => right == "true",
                Cmp::Le => true,
                _ => false,
            },
            _ => false,
        }
    }
}

fn key_matches(key: &str, pattern: &str, glob_pattern: bool) -> bool {
    if glob_pattern {
        glob(key, pattern)
    } else {
        key == pattern
    }
}

/// One piece of a wildcard pattern.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Glob {
    Char(char),
    /// `?`: any one character.
    One,
    /// `*`: any run of characters.
    Run,
}

/// `*` any run of characters, `?` one character, `\\x` the character x (gjson's `match`).
fn glob(text: &str, pattern: &str) -> bool {
    let mut tokens = Vec::with_capacity(pattern.len());
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        tokens.push(match c {
            '\\' => Glob::Char(chars.next().unwrap_or('\\')),
            '*' => Glob::Run,
            '?' => Glob::One,
            _ => Glob::Char(c),
        });
    }
    let text: Vec<char> = text.chars().collect();
    // Greedy with one backtrack point, the last `*`: linear in practice, never exponential.
    let (mut t, mut p) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match tokens.get(p) {
            Some(Glob::One) => {
                t += 1;
                p += 1;
            }
            Some(Glob::Char(c)) if text.get(t) == Some(c) => {
                t += 1;
                p += 1;
            }
            Some(Glob::Run) => {
                star = Some((p, t));
                p += 1;
            }
            _ => match star {
                Some((s, mark)) => {
                    star = Some((s, mark + 1));
                    p = s + 1;
                    t = mark + 1;
                }
                None => return false,
            },
        }
    }
    while tokens.get(p) == Some(&Glob::Run) {
        p += 1;
    }
    p == tokens.len()
}

/// A value as gjson's `String()` reads it (`None` for `null`).
pub fn node_string<N: Node>(node: N) -> Option<String> {
    found_string(&Found::One(node))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::tree::{Any, Scratch};
    use super::*;
    use serde_json::Value;

    const BODY: &str = r#"{"model":"m","stream":true,"messages":[
        {"role":"system","content":"s"},{"role":"user","content":"q1"},
        {"role":"assistant","content":"a1"},{"role":"user","content":[{"type":"text","text":"q2"}]}],
        "n":1.5,"arr":[1,2,3],"o":{"a.b":1,"x":{"y":"z"},"nil":null},"e":"a\"b\u00e9"}"#;

    /// The path read through the token scanner and through serde_json: both must agree.
    fn get(path: &str) -> Option<String> {
        let path = Path::compile(path).unwrap();
        let mut scratch = Scratch::default();
        let tokens = path.string(scratch.read(BODY.as_bytes()).unwrap());
        assert!(matches!(scratch.read(BODY.as_bytes()), Some(Any::Tokens(..))));
        let value: Value = serde_json::from_str(BODY).unwrap();
        let values = path.string(Any::Value(&value));
        // serde_json writes the JSON of a value again (keys sorted, no spaces): compare
        // JSON as values.
        let json = |s: &Option<String>| s.as_deref().and_then(|s| serde_json::from_str::<Value>(s).ok());
        match (json(&tokens), json(&values)) {
            (Some(a), Some(b)) => assert_eq!(a, b, "{path:?}"),
            _ => assert_eq!(tokens, values, "{path:?}"),
        }
        tokens
    }

    #[test]
    fn paths_read_as_gjson_reads_them() {
        assert_eq!(get("messages.@reverse.0.content").as_deref(), Some(r#"[{"type":"text","text":"q2"}]"#));
        assert_eq!(get("messages.@reverse.0.content.0.text").as_deref(), Some("q2"));
        assert_eq!(get(r#"messages.@reverse.#(role=="assistant").content"#).as_deref(), Some("a1"));
        assert_eq!(get(r#"messages.#(role=="user")#.role"#).as_deref(), Some(r#"["user","user"]"#));
        assert_eq!(get(r#"messages.#(role=="user")#.content|0"#).as_deref(), Some("q1"));
        assert_eq!(get(r#"messages.@reverse.#(role=="user")#.content|1"#).as_deref(), Some("q1"));
        assert_eq!(get("messages.#").as_deref(), Some("4"));
        assert_eq!(get("messages.#.role").as_deref(), Some(r#"["system","user","assistant","user"]"#));
        assert_eq!(get(r#"messages.#(role!="user")#.content"#).as_deref(), Some(r#"["s","a1"]"#));
        assert_eq!(get(r#"messages.#(content%"q*")#.content"#).as_deref(), Some(r#"["q1"]"#));
        assert_eq!(get(r#"messages.#(role)#.role|#"#).as_deref(), Some("4"));
        assert_eq!(get("arr.#(>1)#").as_deref(), Some("[2,3]"));
        assert_eq!(get("arr.#(==2)").as_deref(), Some("2"));
        assert_eq!(get("arr.1").as_deref(), Some("2"));
        assert_eq!(get("arr.3"), None);
        assert_eq!(get("arr.x"), None);
        assert_eq!(get(r"o.a\.b").as_deref(), Some("1"));
        assert_eq!(get("o.x").as_deref(), Some(r#"{"y":"z"}"#));
        assert_eq!(get("o.x*.y").as_deref(), Some("z"));
        assert_eq!(get("o.?.y").as_deref(), Some("z"));
        assert_eq!(get("o.nil"), None);
        assert_eq!(get("o.missing"), None);
        assert_eq!(get("n").as_deref(), Some("1.5"));
        assert_eq!(get("stream").as_deref(), Some("true"));
        assert_eq!(get("e").as_deref(), Some("a\"bé"));
        assert_eq!(get("model.x"), None);
        assert_eq!(get("@this.model").as_deref(), Some("m"));
    }

    #[test]
    fn content_means_something_is_there() {
        let value: Value =
            serde_json::from_str(r#"{"a":[],"b":[1],"c":null,"d":"","e":"x","f":{},"g":{"h":1},"i":false,"j":0}"#)
                .unwrap();
        let has = |p: &str| Path::compile(p).unwrap().has_content(Any::Value(&value));
        assert_eq!(
            ["a", "b", "c", "d", "e", "f", "g", "i", "j", "missing"].map(has),
            [false, true, false, false, true, false, true, false, true, false]
        );
    }

    #[test]
    fn unsupported_or_malformed_paths_are_refused() {
        for (path, why) in [
            ("messages.@flatten", "the modifier `@flatten` is not supported"),
            ("a..b", "empty component"),
            ("a.", "ends with `.`"),
            ("", "empty"),
            ("#(role==\"user\"", "not closed"),
            ("!true", "literals"),
            ("#(a=~true)", "`~` comparisons are not supported"),
            ("#(a==\"x)", "not closed"),
        ] {
            let error = Path::compile(path).map(|_| ()).unwrap_err();
            assert!(error.contains(why), "{path}: {error}");
        }
    }

    #[test]
    fn wildcards_match_like_gjson() {
        for (text, pattern, expected) in [
            ("hello", "h*o", true),
            ("hello", "h?llo", true),
            ("hello", "*", true),
            ("", "*", true),
            ("hello", "h*x", false),
            ("a*b", r"a\*b", true),
            ("axb", r"a\*b", false),
            ("abcabc", "*abc", true),
            ("héllo", "h?llo", true),
        ] {
            assert_eq!(glob(text, pattern), expected, "{text} {pattern}");
        }
    }
}
