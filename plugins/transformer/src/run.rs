//! Runs a target's operations in config order, with the semantics of Higress's Go plugin
//! (`kvHandler` for headers, query parameters and form fields; `jsonHandler` for JSON).

use crate::body::Body;
use crate::json::{self, Node, Path};
use crate::kv::{Bytes, Pairs};
use crate::ops::{Key, Op, Source};
use crate::strategy::{self, Strategy};
use higress_dfa::{Matches as Found, Pattern};
use std::cell::RefCell;

/// The request's host and path, which `host_pattern` / `path_pattern` templates read.
pub struct Subject<'a> {
    pub host: &'a str,
    pub path: &'a str,
    /// Each pattern's matches in the host or path, found the first time a value needs them:
    /// a regex search of a 60 KiB path is the costliest thing a request can ask for.
    matches: RefCell<Vec<Matches>>,
}

/// A pattern's (non-overlapping) matches in the host or the path.
struct Matches {
    pattern: String,
    on_host: bool,
    found: Found,
}

impl<'a> Subject<'a> {
    pub fn new(host: &'a str, path: &'a str) -> Self {
        Subject { host, path, matches: RefCell::new(Vec::new()) }
    }

    /// Calls `f` with the matches of `regex` in the host (`on_host`) or the path, searching
    /// only the first time a pattern is asked for (two passes over the text for a pattern
    /// in the DFA's subset, none when the DFA finds no match).
    pub fn with_matches<R>(&self, regex: &Pattern, on_host: bool, f: impl FnOnce(&Found) -> R) -> R {
        let mut cache = self.matches.borrow_mut();
        let at = match cache.iter().position(|m| m.on_host == on_host && m.pattern == regex.as_str()) {
            Some(at) => at,
            None => {
                let text = if on_host { self.host } else { self.path };
                let found = regex.captures_all(text);
                cache.push(Matches { pattern: regex.as_str().to_string(), on_host, found });
                cache.len() - 1
            }
        };
        match cache.get(at) {
            Some(m) => f(&m.found),
            None => f(&Found::default()),
        }
    }
}

/// What a `map` can read besides its own target (`None`: not read, or not there).
#[derive(Default)]
pub struct Sources<'a> {
    pub headers: Option<&'a Pairs<'a>>,
    pub query: Option<&'a Pairs<'a>>,
    pub body: Option<&'a Body<'a>>,
}

impl Sources<'_> {
    /// The values under `key` in `source` (not [`Source::Own`]), as text; a JSON value
    /// counts when its text is not empty (as Go maps it).
    fn values(&self, source: Source, key: &Key) -> Option<Vec<Bytes<'static>>> {
        let pairs = match source {
            Source::Own => None,
            Source::Headers => self.headers,
            Source::Querys => self.query,
            Source::Body => match self.body? {
                Body::Json(node) => {
                    let text = json::get(node, &key.path)?.text();
                    return (!text.is_empty()).then(|| vec![Bytes::Owned(text.into_bytes())]);
                }
                body => body.fields(),
            },
        }?;
        Some(pairs.get(key.bytes())?.iter().map(|v| Bytes::Owned(v.bytes.to_vec())).collect())
    }
}

/// Runs `ops` on keys with values; whether anything changed.
pub fn pairs<'a>(ops: &[Op], target: &mut Pairs<'a>, sources: &Sources<'_>, subject: &Subject<'_>) -> bool {
    let mut changed = false;
    let render = |value: &crate::ops::Value| value.render(subject).into_owned().into_bytes();
    for op in ops {
        match op {
            Op::Remove(keys) => keys.iter().for_each(|k| changed |= target.remove(k.bytes())),
            Op::Rename(keys) => keys.iter().for_each(|(old, new)| changed |= target.rename(old.bytes(), new.bytes())),
            Op::Replace(items) => items.iter().for_each(|(k, v)| changed |= target.replace(k.bytes(), &render(v))),
            Op::Add(items) => items.iter().for_each(|(k, v)| {
                if target.get(k.bytes()).is_none() {
                    changed |= target.add(k.bytes(), &render(v));
                }
            }),
            Op::Append(items) => items.iter().for_each(|(k, v)| changed |= target.append(k.bytes(), &render(v))),
            Op::Map(source, keys) => {
                for (from, to) in keys {
                    let values: Option<Vec<Bytes<'a>>> = match source {
                        Source::Own => target.get(from.bytes()).map(|vs| vs.iter().map(|v| v.bytes.clone()).collect()),
                        other => sources.values(*other, from),
                    };
                    if let Some(values) = values {
                        changed |= target.set(to.bytes(), values);
                    }
                }
            }
            Op::Dedupe(keys) => keys.iter().for_each(|(k, strategy)| changed |= target.dedupe(k.bytes(), *strategy)),
        }
    }
    changed
}

/// Runs `ops` on a JSON document; whether it changed.
pub fn json(ops: &[Op], doc: &mut Node<'_>, sources: &Sources<'_>, subject: &Subject<'_>) -> bool {
    let mut changed = false;
    let node = |value: &crate::ops::Value| value.node(subject);
    for op in ops {
        match op {
            Op::Remove(keys) => keys.iter().for_each(|k| changed |= json::delete(doc, &k.path)),
            Op::Rename(keys) => {
                for (old, new) in keys.iter().filter(|(old, new)| old.text != new.text) {
                    if let Some(value) = json::get(doc, &old.path) {
                        changed |= json::set(doc, &new.path, &value);
                        changed |= json::delete(doc, &old.path);
                    }
                }
            }
            Op::Replace(items) => items.iter().for_each(|(k, v)| changed |= json::set(doc, &k.path, &node(v))),
            Op::Add(items) => items.iter().for_each(|(k, v)| {
                if json::get(doc, &k.path).is_none() {
                    changed |= json::set(doc, &k.path, &node(v));
                }
            }),
            Op::Append(items) => items.iter().for_each(|(k, v)| changed |= append(doc, &k.path, node(v))),
            Op::Map(source, keys) => {
                for (from, to) in keys {
                    let value = match source {
                        Source::Own => json::get(doc, &from.path),
                        other => sources.values(*other, from).map(strings),
                    };
                    if let Some(value) = value {
                        changed |= json::set(doc, &to.path, &value);
                    }
                }
            }
            Op::Dedupe(keys) => keys.iter().for_each(|(k, strategy)| changed |= dedupe(doc, &k.path, *strategy)),
        }
    }
    changed
}

/// Text values as a JSON array of strings (how Go maps headers and query parameters into a
/// JSON body).
fn strings(values: Vec<Bytes<'_>>) -> Node<'static> {
    Node::Array(values.iter().map(|v| Node::string(&String::from_utf8_lossy(v))).collect())
}

/// JSON `append`: absent -> the value; an array -> one more element; else `[old, value]`.
fn append<'a>(doc: &mut Node<'a>, path: &Path, value: Node<'a>) -> bool {
    match json::get_mut(doc, path) {
        None => json::set(doc, path, &value),
        Some(Node::Array(items)) => {
            items.push(value);
            true
        }
        Some(old) => {
            let previous = std::mem::replace(old, Node::null());
            *old = Node::Array(vec![previous, value]);
            true
        }
    }
}

/// JSON `dedupe` of an array (a single value becomes the value itself, as in Go); the split
/// strategies also cut a string value.
fn dedupe(doc: &mut Node<'_>, path: &Path, strategy: Strategy) -> bool {
    let Some(target) = json::get_mut(doc, path) else { return false };
    let kept = match &*target {
        Node::Scalar(raw) if strategy.splits() && raw.starts_with('"') => split(target, strategy),
        Node::Array(items) => {
            let (Some(first), Some(last)) = (items.first(), items.last()) else { return false };
            match strategy {
                Strategy::RetainFirst => first.clone(),
                Strategy::RetainLast => last.clone(),
                Strategy::SplitRetainFirst | Strategy::SplitRetainLast => split(first, strategy),
                Strategy::RetainUnique => {
                    let mut seen = std::collections::HashSet::with_capacity(items.len());
                    let unique: Vec<Node> = items.iter().filter(|item| seen.insert(item.text())).cloned().collect();
                    match <[Node; 1]>::try_from(unique) {
                        Ok([one]) => one,
                        Err(many) => Node::Array(many),
                    }
                }
            }
        }
        _ => return false,
    };
    if *target == kept {
        return false;
    }
    *target = kept;
    true
}

fn split(value: &Node<'_>, strategy: Strategy) -> Node<'static> {
    let text = value.text();
    Node::string(&String::from_utf8_lossy(strategy::piece(text.as_bytes(), strategy)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn doc(text: &str) -> Node<'_> {
        json::parse(text).unwrap()
    }

    fn deduped(text: &str, strategy: Strategy) -> (bool, String) {
        let mut d = doc(text);
        let changed = dedupe(&mut d, &Path::parse("k"), strategy);
        (changed, d.to_json())
    }

    #[test]
    fn json_dedupe() {
        assert_eq!(deduped(r#"{"k":[1,2,1,"1",3]}"#, Strategy::RetainUnique), (true, r#"{"k":[1,2,3]}"#.into()));
        assert_eq!(deduped(r#"{"k":["a","a"]}"#, Strategy::RetainUnique), (true, r#"{"k":"a"}"#.into()));
        assert_eq!(deduped(r#"{"k":["a","b"]}"#, Strategy::RetainLast), (true, r#"{"k":"b"}"#.into()));
        assert_eq!(deduped(r#"{"k":["a","b"]}"#, Strategy::RetainFirst), (true, r#"{"k":"a"}"#.into()));
        assert_eq!(deduped(r#"{"k":["a, b","c"]}"#, Strategy::SplitRetainLast), (true, r#"{"k":"b"}"#.into()));
        assert_eq!(deduped(r#"{"k":"x,y,z"}"#, Strategy::SplitRetainFirst), (true, r#"{"k":"x"}"#.into()));
        assert_eq!(deduped(r#"{"k":"x"}"#, Strategy::RetainFirst), (false, r#"{"k":"x"}"#.into()));
        assert_eq!(deduped(r#"{"k":[]}"#, Strategy::RetainFirst), (false, r#"{"k":[]}"#.into()));
        assert_eq!(deduped(r#"{}"#, Strategy::RetainFirst), (false, r#"{}"#.into()));
    }

    #[test]
    fn json_append() {
        let appended = |text: &str| {
            let mut d = doc(text);
            append(&mut d, &Path::parse("k"), Node::string("v"));
            d.to_json()
        };
        assert_eq!(appended(r#"{}"#), r#"{"k":"v"}"#);
        assert_eq!(appended(r#"{"k":[]}"#), r#"{"k":["v"]}"#);
        assert_eq!(appended(r#"{"k":[1]}"#), r#"{"k":[1,"v"]}"#);
        assert_eq!(appended(r#"{"k":{"a":1}}"#), r#"{"k":[{"a":1},"v"]}"#);
    }
}
