//! Keys with lists of values - headers, query parameters, form fields - and the seven
//! operations on them, as Higress's Go plugin defines them.
//!
//! Keys keep the order they first appeared in (a new key goes last) and every value keeps
//! the bytes it arrived with: what no rule touched is written back as it came. Keys and
//! values borrow from what they were read from (the header map, `:path`, the body) until a
//! rule changes them.

use crate::strategy::{self, Strategy};
use std::borrow::Cow;
use std::collections::{hash_map, HashMap, HashSet};

/// Bytes read from a request or response, or made by a rule.
pub type Bytes<'a> = Cow<'a, [u8]>;

/// One value of a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Val<'a> {
    /// The value (decoded, for query parameters and form fields).
    pub bytes: Bytes<'a>,
    /// How the client sent this key-value pair (a query pair still encoded, a multipart
    /// part's headers): written back as it was while the pair stays under its key.
    pub raw: Option<Bytes<'a>>,
}

impl<'a> Val<'a> {
    /// A value without a wire form of its own.
    pub fn new(bytes: impl Into<Bytes<'a>>) -> Val<'a> {
        Val { bytes: bytes.into(), raw: None }
    }

    fn made(bytes: &[u8]) -> Val<'a> {
        Val::new(bytes.to_vec())
    }

    fn into_owned(self) -> Val<'static> {
        Val { bytes: Cow::Owned(self.bytes.into_owned()), raw: self.raw.map(|r| Cow::Owned(r.into_owned())) }
    }
}

/// A key and its values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry<'a> {
    pub key: Bytes<'a>,
    pub values: Vec<Val<'a>>,
}

/// Keys with values, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pairs<'a> {
    entries: Vec<Entry<'a>>,
}

/// Keys grouped by a scan of those before; past this many, by a hash index (a form of a
/// million fields then costs no more than its size).
const SCAN_KEYS: usize = 32;

/// Groups pairs by key in one pass.
impl<'a> FromIterator<(Bytes<'a>, Val<'a>)> for Pairs<'a> {
    fn from_iter<I: IntoIterator<Item = (Bytes<'a>, Val<'a>)>>(pairs: I) -> Pairs<'a> {
        Pairs::grouped(pairs, 0)
    }
}

impl<'a> Pairs<'a> {
    /// Groups pairs by key in one pass; `expected` (at most the number of pairs) sizes the
    /// hash index up front, so a query of thousands of pairs does not rehash it as it grows.
    pub fn grouped<I: IntoIterator<Item = (Bytes<'a>, Val<'a>)>>(pairs: I, expected: usize) -> Pairs<'a> {
        let mut index: HashMap<Bytes<'a>, usize> = HashMap::new();
        let mut entries: Vec<Entry<'a>> = Vec::new();
        for (key, val) in pairs {
            if entries.len() <= SCAN_KEYS {
                match entries.iter_mut().find(|e| e.key == key) {
                    Some(entry) => entry.values.push(val),
                    None => entries.push(Entry { key, values: vec![val] }),
                }
                continue;
            }
            if index.is_empty() {
                index.reserve(expected.max(2 * SCAN_KEYS));
                index.extend(entries.iter().enumerate().map(|(i, e)| (e.key.clone(), i)));
            }
            // One hash per pair: found, or added where it was looked for.
            match index.entry(key) {
                hash_map::Entry::Occupied(at) => {
                    if let Some(entry) = entries.get_mut(*at.get()) {
                        entry.values.push(val);
                    }
                }
                hash_map::Entry::Vacant(slot) => {
                    let key = slot.key().clone();
                    slot.insert(entries.len());
                    entries.push(Entry { key, values: vec![val] });
                }
            }
        }
        Pairs { entries }
    }
}

impl<'a> Pairs<'a> {
    /// Adds a value to `key` (after its other values; a new key goes last).
    fn push(&mut self, key: &[u8], val: Val<'a>) {
        match self.entry_mut(key) {
            Some(entry) => entry.values.push(val),
            None => self.entries.push(Entry { key: Cow::Owned(key.to_vec()), values: vec![val] }),
        }
    }

    fn position(&self, key: &[u8]) -> Option<usize> {
        self.entries.iter().position(|e| *e.key == *key)
    }

    fn entry_mut(&mut self, key: &[u8]) -> Option<&mut Entry<'a>> {
        self.entries.iter_mut().find(|e| *e.key == *key)
    }

    /// The values of `key`.
    pub fn get(&self, key: &[u8]) -> Option<&[Val<'a>]> {
        self.entries.iter().find(|e| *e.key == *key).map(|e| e.values.as_slice())
    }

    /// Every key with its values, in order.
    pub fn entries(&self) -> &[Entry<'a>] {
        &self.entries
    }

    /// The same pairs, owning their bytes (to keep them past the buffer they were read from).
    pub fn into_owned(self) -> Pairs<'static> {
        let entries = self.entries.into_iter().map(|e| Entry {
            key: Cow::Owned(e.key.into_owned()),
            values: e.values.into_iter().map(Val::into_owned).collect(),
        });
        Pairs { entries: entries.collect() }
    }

    /// `remove`: drops `key`.
    pub fn remove(&mut self, key: &[u8]) -> bool {
        let before = self.entries.len();
        self.entries.retain(|e| e.key != key);
        self.entries.len() != before
    }

    /// `rename`: `old`'s values go to `new` (after the values `new` already has, else in
    /// `old`'s place); nothing when `old` is absent.
    pub fn rename(&mut self, old: &[u8], new: &[u8]) -> bool {
        if old == new {
            return false;
        }
        let Some(i) = self.position(old) else { return false };
        let moved = match self.position(new) {
            Some(_) => self.entries.remove(i).values,
            None => {
                if let Some(entry) = self.entries.get_mut(i) {
                    entry.key = Cow::Owned(new.to_vec());
                    entry.values.iter_mut().for_each(|v| v.raw = None);
                }
                return true;
            }
        };
        if let Some(entry) = self.entry_mut(new) {
            entry.values.extend(moved.into_iter().map(|v| Val::new(v.bytes)));
        }
        true
    }

    /// `replace`: `key` gets the one value `value` (added when absent).
    pub fn replace(&mut self, key: &[u8], value: &[u8]) -> bool {
        self.set(key, vec![Cow::Owned(value.to_vec())])
    }

    /// `add`: `key` with `value`, unless `key` is present.
    pub fn add(&mut self, key: &[u8], value: &[u8]) -> bool {
        if self.position(key).is_some() {
            return false;
        }
        self.push(key, Val::made(value));
        true
    }

    /// `append`: one more value for `key` (added when absent).
    pub fn append(&mut self, key: &[u8], value: &[u8]) -> bool {
        self.push(key, Val::made(value));
        true
    }

    /// `map` (and `replace`): `key`'s values become `values` (added when absent).
    pub fn set(&mut self, key: &[u8], values: Vec<Bytes<'a>>) -> bool {
        match self.entry_mut(key) {
            Some(entry) => {
                if entry.values.iter().map(|v| &v.bytes).eq(values.iter()) {
                    return false;
                }
                entry.values = values.into_iter().map(Val::new).collect();
            }
            None => self
                .entries
                .push(Entry { key: Cow::Owned(key.to_vec()), values: values.into_iter().map(Val::new).collect() }),
        }
        true
    }

    /// `dedupe`: keeps the values of `key` that `strategy` selects.
    pub fn dedupe(&mut self, key: &[u8], strategy: Strategy) -> bool {
        let Some(entry) = self.entry_mut(key) else { return false };
        let before = entry.values.len();
        match strategy {
            Strategy::RetainFirst => entry.values.truncate(1),
            Strategy::RetainLast => {
                let skip = before.saturating_sub(1);
                entry.values.drain(..skip);
            }
            Strategy::RetainUnique => {
                let mut seen = HashSet::with_capacity(before);
                entry.values.retain(|v| seen.insert(v.bytes.clone()));
            }
            Strategy::SplitRetainFirst | Strategy::SplitRetainLast => {
                let Some(first) = entry.values.first() else { return false };
                let piece = strategy::piece(&first.bytes, strategy);
                if before == 1 && piece == &*first.bytes {
                    return false;
                }
                entry.values = vec![Val::made(piece)];
                return true;
            }
        }
        entry.values.len() != before
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn pairs(items: &[(&'static str, &'static str)]) -> Pairs<'static> {
        let raw = |v: &'static str| Val { bytes: Cow::Borrowed(v.as_bytes()), raw: Some(Cow::Borrowed(b"raw")) };
        items.iter().map(|(k, v)| (Cow::Borrowed(k.as_bytes()), raw(v))).collect()
    }

    fn values(p: &Pairs, key: &str) -> Vec<String> {
        p.get(key.as_bytes()).unwrap_or_default().iter().map(|v| String::from_utf8(v.bytes.to_vec()).unwrap()).collect()
    }

    #[test]
    fn many_keys_group_through_the_index() {
        let items: Vec<(Bytes, Val)> =
            (0..100).chain(0..100).map(|i| (Cow::Owned(format!("k{i}").into_bytes()), Val::new(vec![b'v']))).collect();
        let p: Pairs = items.into_iter().collect();
        assert_eq!(p.entries().len(), 100);
        assert!(p.entries().iter().all(|e| e.values.len() == 2));
        assert_eq!(p.entries()[99].key.as_ref(), b"k99");
    }

    #[test]
    fn operations() {
        let mut p = pairs(&[("a", "1"), ("b", "2"), ("a", "3")]);
        assert_eq!(p.entries().len(), 2);
        assert!(p.rename(b"a", b"c"));
        assert_eq!(p.entries()[0].key.as_ref(), b"c");
        assert!(p.entries()[0].values.iter().all(|v| v.raw.is_none()));
        assert!(!p.rename(b"missing", b"x"));
        assert!(!p.rename(b"c", b"c"));
        assert!(p.rename(b"b", b"c"));
        assert_eq!(values(&p, "c"), ["1", "3", "2"]);
        assert!(!p.add(b"c", b"x"));
        assert!(p.add(b"d", b"x"));
        assert!(p.append(b"d", b"y"));
        assert_eq!(values(&p, "d"), ["x", "y"]);
        assert!(p.replace(b"d", b"z"));
        assert!(!p.replace(b"d", b"z"));
        assert!(p.replace(b"e", b"new"));
        assert!(p.remove(b"e"));
        assert!(!p.remove(b"e"));
    }

    #[test]
    fn dedupe_strategies() {
        let mut p = pairs(&[("u", "1"), ("u", "2"), ("u", "1"), ("u", "3"), ("u", "2")]);
        assert!(p.dedupe(b"u", Strategy::RetainUnique));
        assert_eq!(values(&p, "u"), ["1", "2", "3"]);
        assert!(!p.dedupe(b"u", Strategy::RetainUnique));
        assert!(p.dedupe(b"u", Strategy::RetainLast));
        assert_eq!(values(&p, "u"), ["3"]);
        let mut p = pairs(&[("s", "a, b,c"), ("s", "x")]);
        assert!(p.dedupe(b"s", Strategy::SplitRetainLast));
        assert_eq!(values(&p, "s"), ["c"]);
        assert!(!p.dedupe(b"s", Strategy::SplitRetainFirst));
        assert!(!p.dedupe(b"missing", Strategy::RetainFirst));
    }
}
