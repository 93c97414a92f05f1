//! Dotted paths into a [`Node`], with the gjson/sjson features Higress's README documents:
//! `a.b` nests, `a\.b` is one key holding a dot, `list.0` is an element, `list.-1` (when
//! setting) appends, `list.#` is the length and `list.#.k` every element's `k`.
//!
//! gjson's wildcards (`*`, `?`), queries (`#(...)`), modifiers (`@...`) and pipes are not
//! supported: those characters are taken literally.

use super::node::{key_is, quote, Node};
use std::borrow::Cow;

/// How far past the end of an array a set may reach (sjson pads with `null`): an index from
/// the config can never make the plugin allocate without bound.
const MAX_PADDING: usize = 1024;

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    /// An object key, or an array index when it is a number.
    Key(String),
    /// `#`: every element of an array (or, last, the array's length).
    Each,
}

/// A parsed path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Path {
    steps: Vec<Step>,
}

impl Path {
    /// Parses `text`: `.` separates keys, `\` takes the next character literally.
    pub fn parse(text: &str) -> Path {
        let mut steps = Vec::new();
        let mut key = String::new();
        let mut escaped = false;
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    escaped = true;
                    key.push(chars.next().unwrap_or('\\'));
                }
                '.' => steps.push(finish(&mut key, &mut escaped)),
                _ => key.push(c),
            }
        }
        steps.push(finish(&mut key, &mut escaped));
        Path { steps }
    }

    /// Whether the path walks every element of an array (`#`).
    pub fn has_each(&self) -> bool {
        self.steps.contains(&Step::Each)
    }
}

/// The step a finished key makes (`#` unless escaped is every element); resets the key.
fn finish(key: &mut String, escaped: &mut bool) -> Step {
    let step = if key == "#" && !*escaped { Step::Each } else { Step::Key(std::mem::take(key)) };
    key.clear();
    *escaped = false;
    step
}

/// An array index: digits only.
fn index(key: &str) -> Option<usize> {
    if key.is_empty() || !key.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    key.parse().ok()
}

/// The child `key` of a node split into nodes (an unread one has none: unfold it first).
fn child<'n, 'a>(node: &'n Node<'a>, key: &str) -> Option<&'n Node<'a>> {
    match node {
        Node::Object(entries) => entries.iter().find(|(k, _)| key_is(k, key)).map(|(_, v)| v),
        Node::Array(items) => items.get(index(key)?),
        Node::Scalar(_) | Node::Unread { .. } => None,
    }
}

/// The child `key` of a node, which is split into nodes first when unread.
fn child_mut<'n, 'a>(node: &'n mut Node<'a>, key: &str) -> Option<&'n mut Node<'a>> {
    node.unfold();
    match node {
        Node::Object(entries) => entries.iter_mut().find(|(k, _)| key_is(k, key)).map(|(_, v)| v),
        Node::Array(items) => items.get_mut(index(key)?),
        Node::Scalar(_) | Node::Unread { .. } => None,
    }
}

/// The value at `path` (gjson's `Get`): the first of duplicate keys; with `#`, a new array
/// of what each element holds, or the length when `#` ends the path.
pub fn get<'a>(node: &Node<'a>, path: &Path) -> Option<Node<'a>> {
    get_steps(node, &path.steps).map(|found| found.unwrap_or_else(|| node.clone()))
}

/// `Some(None)` means "`node` itself" (saves a copy on the way down).
fn get_steps<'a>(node: &Node<'a>, steps: &[Step]) -> Option<Option<Node<'a>>> {
    let Some((first, rest)) = steps.split_first() else { return Some(None) };
    if let Some(unfolded) = node.unfolded() {
        // Read a copy: the document stays as it is (the copy borrows its text).
        return get_steps(&unfolded, steps);
    }
    match first {
        Step::Key(key) => {
            let next = child(node, key)?;
            Some(Some(get_steps(next, rest)?.unwrap_or_else(|| next.clone())))
        }
        Step::Each => {
            let Node::Array(items) = node else { return None };
            if rest.is_empty() {
                return Some(Some(Node::Scalar(Cow::Owned(items.len().to_string()))));
            }
            let found = items.iter().filter_map(|item| Some(get_steps(item, rest)?.unwrap_or_else(|| item.clone())));
            Some(Some(Node::Array(found.collect())))
        }
    }
}

/// The value at `path` to change in place, split into nodes; `None` when absent (or the
/// path has `#`).
pub fn get_mut<'n, 'a>(node: &'n mut Node<'a>, path: &Path) -> Option<&'n mut Node<'a>> {
    let found = path.steps.iter().try_fold(node, |node, step| match step {
        Step::Key(key) => child_mut(node, key),
        Step::Each => None,
    })?;
    found.unfold();
    Some(found)
}

/// Sets the value at `path` to `value` as sjson's `Set` does: what is missing on the way is
/// made (an array when the next key is a number or `-1`, else an object), a scalar on the way
/// is replaced, duplicates of the final key are dropped (so no parser can read an old one);
/// with `#`, every element that is an array or an object gets it. Returns whether the
/// document changed: `false` when it already held `value`, or the path cannot be set (a key
/// that is not a number on an array).
pub fn set(node: &mut Node<'_>, path: &Path, value: &Node<'_>) -> bool {
    set_steps(node, &path.steps, value)
}

fn set_steps(node: &mut Node<'_>, steps: &[Step], value: &Node<'_>) -> bool {
    let Some((first, rest)) = steps.split_first() else {
        if node == value {
            return false;
        }
        // A copy that owns its text: `value` may come from another document.
        *node = value.clone().into_owned();
        return true;
    };
    node.unfold();
    let key = match first {
        Step::Each => {
            let Node::Array(items) = node else { return false };
            let containers = items.iter_mut().filter(|item| !matches!(item, Node::Scalar(_)));
            return !rest.is_empty() && containers.fold(false, |changed, item| set_steps(item, rest, value) | changed);
        }
        Step::Key(key) => key,
    };
    if let Node::Scalar(_) = node {
        *node = container_for(key);
    }
    match node {
        Node::Object(entries) => {
            let Some(at) = entries.iter().position(|(k, _)| key_is(k, key)) else {
                if rest.contains(&Step::Each) {
                    // As sjson: `#` only reaches elements that exist.
                    return false;
                }
                let mut made = container_for_rest(rest);
                set_steps(&mut made, rest, value);
                entries.push((Cow::Owned(quote(key)), made));
                return true;
            };
            let changed = entries.get_mut(at).is_some_and(|(_, v)| set_steps(v, rest, value));
            if !rest.is_empty() {
                return changed;
            }
            let before = entries.len();
            let mut index = 0;
            entries.retain(|(k, _)| {
                let keep = index <= at || !key_is(k, key);
                index += 1;
                keep
            });
            changed || entries.len() != before
        }
        Node::Array(items) => {
            let at = if key == "-1" { items.len() } else { index(key).unwrap_or(usize::MAX) };
            if at > items.len().saturating_add(MAX_PADDING) {
                return false;
            }
            if at < items.len() {
                return items.get_mut(at).is_some_and(|item| set_steps(item, rest, value));
            }
            if rest.contains(&Step::Each) {
                return false;
            }
            items.resize(at, Node::null());
            let mut made = container_for_rest(rest);
            set_steps(&mut made, rest, value);
            items.push(made);
            true
        }
        Node::Scalar(_) | Node::Unread { .. } => false,
    }
}

/// What sjson makes for a missing container whose first key is `key`.
fn container_for(key: &str) -> Node<'static> {
    if key == "-1" || index(key).is_some() {
        Node::Array(Vec::new())
    } else {
        Node::Object(Vec::new())
    }
}

/// What is made for the rest of a path (a placeholder when nothing is left).
fn container_for_rest(rest: &[Step]) -> Node<'static> {
    match rest.first() {
        Some(Step::Key(key)) => container_for(key),
        Some(Step::Each) => Node::Array(Vec::new()),
        None => Node::null(),
    }
}

/// Deletes the value at `path`: every occurrence of a duplicated final key; `-1` is the last
/// element; with `#`, from every element. Returns whether something was deleted.
pub fn delete(node: &mut Node<'_>, path: &Path) -> bool {
    delete_steps(node, &path.steps)
}

fn delete_steps(node: &mut Node<'_>, steps: &[Step]) -> bool {
    let Some((first, rest)) = steps.split_first() else { return false };
    node.unfold();
    match (first, rest.is_empty()) {
        (Step::Each, _) => {
            let Node::Array(items) = node else { return false };
            !rest.is_empty() && items.iter_mut().fold(false, |deleted, item| delete_steps(item, rest) | deleted)
        }
        (Step::Key(key), false) => child_mut(node, key).is_some_and(|next| delete_steps(next, rest)),
        (Step::Key(key), true) => match node {
            Node::Object(entries) => {
                let before = entries.len();
                entries.retain(|(k, _)| !key_is(k, key));
                entries.len() != before
            }
            Node::Array(items) => {
                let at = if key == "-1" { items.len().checked_sub(1) } else { index(key) };
                match at {
                    Some(at) if at < items.len() => {
                        items.remove(at);
                        true
                    }
                    _ => false,
                }
            }
            Node::Scalar(_) | Node::Unread { .. } => false,
        },
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::node::parse;
    use super::*;

    const README: &str = r#"{
  "name": {"first": "Tom", "last": "Anderson"},
  "age": 37,
  "children": ["Sara","Alex","Jack"],
  "fav.movie": "Deer Hunter",
  "friends": [
    {"first": "Dale", "last": "Murphy", "age": 44, "nets": ["ig", "fb", "tw"]},
    {"first": "Roger", "last": "Craig", "age": 68, "nets": ["fb", "tw"]},
    {"first": "Jane", "last": "Murphy", "age": 47, "nets": ["ig", "tw"]}
  ]
}"#;

    fn at(doc: &Node, path: &str) -> Option<String> {
        get(doc, &Path::parse(path)).map(|n| n.to_json())
    }

    #[test]
    fn gets_as_higress_readme_documents() {
        let doc = parse(README).unwrap();
        assert_eq!(at(&doc, "name.last").as_deref(), Some(r#""Anderson""#));
        assert_eq!(at(&doc, "age").as_deref(), Some("37"));
        assert_eq!(at(&doc, "children").as_deref(), Some(r#"["Sara","Alex","Jack"]"#));
        assert_eq!(at(&doc, "children.1").as_deref(), Some(r#""Alex""#));
        assert_eq!(at(&doc, "children.#").as_deref(), Some("3"));
        assert_eq!(at(&doc, "friends.1.first").as_deref(), Some(r#""Roger""#));
        assert_eq!(at(&doc, "fav\\.movie").as_deref(), Some(r#""Deer Hunter""#));
        assert_eq!(at(&doc, "friends.#.first").as_deref(), Some(r#"["Dale","Roger","Jane"]"#));
        assert_eq!(at(&doc, "friends.#.nets.0").as_deref(), Some(r#"["ig","fb","ig"]"#));
        assert_eq!(at(&doc, "fav.movie"), None);
        assert_eq!(at(&doc, "children.3"), None);
        assert_eq!(at(&doc, "children.-1"), None);
        assert_eq!(at(&doc, "age.x"), None);
    }

    fn edited(doc: &str, f: impl FnOnce(&mut Node) -> bool) -> (bool, String) {
        let mut node = parse(doc).unwrap();
        let changed = f(&mut node);
        (changed, node.to_json())
    }

    fn value(json: &str) -> Node<'_> {
        parse(json).unwrap()
    }

    #[test]
    fn sets_as_sjson_does() {
        let set_at = |doc: &str, path: &str, v: &str| edited(doc, |n| set(n, &Path::parse(path), &value(v)));
        assert_eq!(set_at(r#"{"a":1,"b":2}"#, "a", "3"), (true, r#"{"a":3,"b":2}"#.into()));
        assert_eq!(set_at(r#"{"a":1,"b":2}"#, "a", "1"), (false, r#"{"a":1,"b":2}"#.into()));
        assert_eq!(set_at(r#"{"b":2}"#, "x.y", r#""v""#), (true, r#"{"b":2,"x":{"y":"v"}}"#.into()));
        assert_eq!(set_at(r#"{}"#, "l.1", "true"), (true, r#"{"l":[null,true]}"#.into()));
        assert_eq!(set_at(r#"{"l":[1]}"#, "l.-1", "2"), (true, r#"{"l":[1,2]}"#.into()));
        assert_eq!(set_at(r#"{"l":[1]}"#, "l.x", "2"), (false, r#"{"l":[1]}"#.into()));
        assert_eq!(set_at(r#"{"a":"s"}"#, "a.b", "1"), (true, r#"{"a":{"b":1}}"#.into()));
        assert_eq!(set_at(r#"{"a":1,"a":2,"c":0}"#, "a", "5"), (true, r#"{"a":5,"c":0}"#.into()));
        assert_eq!(set_at(r#"{"a.b":1}"#, "a\\.b", "2"), (true, r#"{"a.b":2}"#.into()));
        assert_eq!(
            set_at(r#"{"u":[{"age":1},{"n":2},3]}"#, "u.#.age", "20"),
            (true, r#"{"u":[{"age":20},{"n":2,"age":20},3]}"#.into())
        );
        assert_eq!(set_at(r#"{"u":[1]}"#, "u.#", "20"), (false, r#"{"u":[1]}"#.into()));
        assert_eq!(set_at(r#"{"a":1}"#, "l.#.v", "20"), (false, r#"{"a":1}"#.into()));
        assert_eq!(set_at(r#"{"l":[]}"#, "l.99999", "1"), (false, r#"{"l":[]}"#.into()));
        assert_eq!(set_at(r#"[{"a":1}]"#, "0.a", "2"), (true, r#"[{"a":2}]"#.into()));
    }

    #[test]
    fn deletes() {
        let del = |doc: &str, path: &str| edited(doc, |n| delete(n, &Path::parse(path)));
        assert_eq!(del(r#"{"a":1,"b":2,"a":3}"#, "a"), (true, r#"{"b":2}"#.into()));
        assert_eq!(del(r#"{"a":1}"#, "x"), (false, r#"{"a":1}"#.into()));
        assert_eq!(del(r#"{"u":[{"1":{}},{"2":{}}]}"#, "u.0"), (true, r#"{"u":[{"2":{}}]}"#.into()));
        assert_eq!(del(r#"{"u":[1,2]}"#, "u.-1"), (true, r#"{"u":[1]}"#.into()));
        assert_eq!(del(r#"{"u":[{"a":1,"b":1},{"b":2}]}"#, "u.#.b"), (true, r#"{"u":[{"a":1},{}]}"#.into()));
        assert_eq!(del(r#"{"a":{"b":1}}"#, "a.b"), (true, r#"{"a":{}}"#.into()));
    }

    #[test]
    fn parses_paths() {
        assert!(Path::parse("a.#.b").has_each());
        assert!(!Path::parse("a.\\#.b").has_each());
        assert_eq!(Path::parse("a\\.b.c").steps, [Step::Key("a.b".into()), Step::Key("c".into())]);
        assert_eq!(Path::parse("trailing\\").steps, [Step::Key("trailing\\".into())]);
    }
}
