//! A config compiled for requests: per target (headers, query, body) the operations of the
//! rules that name it, in config order, with keys parsed and values ready to render.

use crate::json::{Node, Path};
use crate::run::Subject;
use crate::strategy::Strategy;
use higress_dfa::{Pattern, Replacement};
use std::borrow::Cow;

/// Where a `map` reads its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The target itself (no `mapSource`, or the target's own kind): it as earlier rules left it.
    Own,
    /// The request or response headers.
    Headers,
    /// The request's query parameters.
    Querys,
    /// The body (JSON, form or multipart fields).
    Body,
}

/// A key of a target: its text (lower-cased for headers) and, read as a JSON path, its path.
#[derive(Debug, Clone)]
pub struct Key {
    pub text: String,
    pub path: Path,
}

impl Key {
    pub fn new(text: String) -> Key {
        let path = Path::parse(&text);
        Key { text, path }
    }

    pub fn bytes(&self) -> &[u8] {
        self.text.as_bytes()
    }
}

/// A value to write: a literal, a `host_pattern` / `path_pattern` template, or (in a JSON
/// body with a `value_type` other than `string`) a JSON value parsed once at config time.
#[derive(Debug, Clone)]
pub struct Value {
    pub text: String,
    pub template: Option<Template>,
    pub json: Option<Node<'static>>,
}

impl Value {
    /// The text to write: the template applied to the request's host or path when its
    /// pattern matches them (`$1`, `${name}` expand), else the configured text.
    pub fn render(&self, subject: &Subject<'_>) -> Cow<'_, str> {
        match &self.template {
            Some(template) => template.apply(&self.text, subject),
            None => Cow::Borrowed(&self.text),
        }
    }

    /// The value as a JSON node: the typed value, else the rendered text as a string.
    pub fn node(&self, subject: &Subject<'_>) -> Node<'static> {
        match &self.json {
            Some(node) => node.clone(),
            None => Node::string(&self.render(subject)),
        }
    }
}

/// A `host_pattern` (or, without one, `path_pattern`), what it is matched against, and the
/// value as a replacement template for its matches.
#[derive(Debug, Clone)]
pub struct Template {
    pub regex: Pattern,
    pub on_host: bool,
    pub replacement: Replacement,
}

impl Template {
    /// Go's `regexp.ReplaceAllString(subject, value)` when the pattern matches the subject.
    /// The matches come from the request's [`Subject`], found once per pattern: items that
    /// share a pattern (a rule's `add`s usually do) do not search the path again each.
    fn apply<'a>(&self, value: &'a str, subject: &Subject<'_>) -> Cow<'a, str> {
        let text = if self.on_host { subject.host } else { subject.path };
        subject.with_matches(&self.regex, self.on_host, |matches| {
            if matches.is_empty() {
                return Cow::Borrowed(value);
            }
            // As `Regex::replace_all` builds it: the text between matches, and each match's
            // expansion of `value` (`$1`, `${name}`).
            let mut out = String::with_capacity(text.len());
            let mut last = 0;
            for groups in matches.iter() {
                let Some(whole) = groups.get(0) else { continue };
                out.push_str(text.get(last..whole.start).unwrap_or_default());
                self.replacement.expand(text, groups, &mut out);
                last = whole.end;
            }
            out.push_str(text.get(last..).unwrap_or_default());
            Cow::Owned(out)
        })
    }
}

/// One rule's operation on one target, with that target's items.
#[derive(Debug, Clone)]
pub enum Op {
    Remove(Vec<Key>),
    Rename(Vec<(Key, Key)>),
    Replace(Vec<(Key, Value)>),
    Add(Vec<(Key, Value)>),
    Append(Vec<(Key, Value)>),
    Map(Source, Vec<(Key, Key)>),
    Dedupe(Vec<(Key, Strategy)>),
}

impl Op {
    fn maps_from(&self, source: Source) -> bool {
        matches!(self, Op::Map(s, _) if *s == source)
    }

    fn templated(&self) -> bool {
        match self {
            Op::Replace(items) | Op::Add(items) | Op::Append(items) => items.iter().any(|(_, v)| v.template.is_some()),
            _ => false,
        }
    }
}

/// The operations of one direction (`reqRules` or `respRules`) per target, and what a
/// request needs read for them.
#[derive(Debug, Clone, Default)]
pub struct Direction {
    pub headers: Vec<Op>,
    pub query: Vec<Op>,
    pub body: Vec<Op>,
}

impl Direction {
    /// Whether the body is needed: body rules, or a `map` from it.
    pub fn reads_body(&self) -> bool {
        !self.body.is_empty() || self.headers.iter().chain(&self.query).any(|op| op.maps_from(Source::Body))
    }

    /// Whether a query or body rule maps from the headers (which it then reads whole, as the
    /// header rules left them).
    pub fn others_read_headers(&self) -> bool {
        self.query.iter().chain(&self.body).any(|op| op.maps_from(Source::Headers))
    }

    /// Whether a body rule maps from the headers.
    pub fn body_reads_headers(&self) -> bool {
        self.body.iter().any(|op| op.maps_from(Source::Headers))
    }

    /// Whether a value is a template (reads the request's host or path).
    pub fn templated(&self) -> bool {
        self.headers.iter().chain(&self.query).chain(&self.body).any(Op::templated)
    }

    /// Whether the query is read: query rules, or a `map` from it.
    pub fn reads_query(&self) -> bool {
        !self.query.is_empty() || self.headers.iter().chain(&self.body).any(|op| op.maps_from(Source::Querys))
    }
}
