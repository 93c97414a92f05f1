//! A header map with Envoy's semantics: names are lower-cased on insert, values are bytes,
//! order is kept and a name may repeat.
//!
//! Every name and value lives in one byte buffer, each entry being four offsets into it: a
//! map of n headers is two allocations, not 2n + 1, and cloning or dropping one (a stream
//! does both for every request) costs as little. A replaced value is appended and the old
//! bytes stay unused until the map is dropped; maps live for one request.

use std::fmt;
use std::ops::Range;

/// One entry: where its name and its value are in the buffer.
#[derive(Clone, Copy, Debug)]
struct Entry {
    name: (u32, u32),
    value: (u32, u32),
}

/// An ordered multimap of headers (or trailers).
#[derive(Clone, Default)]
pub struct HeaderMap {
    bytes: Vec<u8>,
    entries: Vec<Entry>,
    /// Unchanged since [`HeaderMap::mark_pristine`]: see there.
    pristine: bool,
}

fn range((start, len): (u32, u32)) -> Range<usize> {
    start as usize..start as usize + len as usize
}

impl HeaderMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty map with room for `entries` headers of `bytes` bytes of names and values in
    /// all: a proxy converting a message knows both, and growing the buffer copies it.
    pub fn with_capacity(entries: usize, bytes: usize) -> Self {
        HeaderMap { bytes: Vec::with_capacity(bytes), entries: Vec::with_capacity(entries), pristine: false }
    }

    /// Builds a map from pairs (names lower-cased).
    pub fn from_pairs<K: AsRef<[u8]>, V: AsRef<[u8]>>(pairs: &[(K, V)]) -> Self {
        let size = pairs.iter().map(|(k, v)| k.as_ref().len() + v.as_ref().len()).sum();
        let mut map = HeaderMap::with_capacity(pairs.len(), size);
        for (k, v) in pairs {
            map.add(k.as_ref(), v.as_ref());
        }
        map
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn name_of(&self, entry: &Entry) -> &[u8] {
        self.bytes.get(range(entry.name)).unwrap_or_default()
    }

    fn value_of(&self, entry: &Entry) -> &[u8] {
        self.bytes.get(range(entry.value)).unwrap_or_default()
    }

    /// First value of `name` as UTF-8 (`None` when absent or not UTF-8).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.get_bytes(name.as_bytes()).and_then(|v| std::str::from_utf8(v).ok())
    }

    /// First value of `name`, as bytes.
    pub fn get_bytes(&self, name: &[u8]) -> Option<&[u8]> {
        self.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v)
    }

    /// Every value of `name`, in order.
    pub fn get_all(&self, name: &str) -> Vec<&str> {
        self.iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name.as_bytes()))
            .filter_map(|(_, v)| std::str::from_utf8(v).ok())
            .collect()
    }

    /// Whether `name` is present.
    pub fn contains(&self, name: &str) -> bool {
        self.get_bytes(name.as_bytes()).is_some()
    }

    /// Appends `bytes` to the buffer; where they are. Header blocks are far below 4 GiB
    /// (Envoy caps them at 60 KiB); a map past that keeps its entries empty, not wrong.
    fn push(&mut self, bytes: &[u8], lower: bool) -> (u32, u32) {
        let (Ok(start), Ok(len)) = (u32::try_from(self.bytes.len()), u32::try_from(bytes.len())) else {
            return (0, 0);
        };
        if start.checked_add(len).is_none() {
            return (0, 0);
        }
        self.bytes.extend_from_slice(bytes);
        if lower {
            if let Some(added) = self.bytes.get_mut(range((start, len))) {
                added.make_ascii_lowercase();
            }
        }
        (start, len)
    }

    /// Marks the map as a faithful copy of a message its maker still holds. Every change
    /// (add, set, remove) clears the mark, so while [`HeaderMap::is_pristine`] holds, that
    /// message's own headers can be sent on instead of converting the map back: a gateway
    /// whose plugins only read a request's headers skips the conversion both ways.
    pub fn mark_pristine(&mut self) {
        self.pristine = true;
    }

    /// Whether nothing changed the map since [`HeaderMap::mark_pristine`] (a map that was
    /// never marked is not pristine).
    pub fn is_pristine(&self) -> bool {
        self.pristine
    }

    /// Appends a value, keeping existing ones.
    pub fn add(&mut self, name: &[u8], value: &[u8]) {
        self.pristine = false;
        let name = self.push(name, true);
        let value = self.push(value, false);
        self.entries.push(Entry { name, value });
    }

    /// Sets `name` to one value: the first entry is replaced in place, the others removed.
    pub fn set(&mut self, name: &[u8], value: &[u8]) {
        self.pristine = false;
        let first = self.entries.iter().position(|e| self.name_of(e).eq_ignore_ascii_case(name));
        let Some(first) = first else {
            self.add(name, value);
            return;
        };
        let value = self.push(value, false);
        if let Some(entry) = self.entries.get_mut(first) {
            entry.value = value;
        }
        let (bytes, mut index) = (&self.bytes, 0);
        self.entries.retain(|e| {
            let keep = index <= first || !bytes.get(range(e.name)).unwrap_or_default().eq_ignore_ascii_case(name);
            index += 1;
            keep
        });
    }

    /// Removes every value of `name`.
    pub fn remove(&mut self, name: &[u8]) {
        self.pristine = false;
        let bytes = &self.bytes;
        self.entries.retain(|e| !bytes.get(range(e.name)).unwrap_or_default().eq_ignore_ascii_case(name));
    }

    /// The entries, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.entries.iter().map(|e| (self.name_of(e), self.value_of(e)))
    }

    /// The entries as UTF-8 strings (invalid sequences replaced).
    pub fn to_pairs(&self) -> Vec<(String, String)> {
        self.iter()
            .map(|(k, v)| (String::from_utf8_lossy(k).into_owned(), String::from_utf8_lossy(v).into_owned()))
            .collect()
    }

    /// The proxy-wasm encoding of the map.
    pub(crate) fn encode(&self) -> Vec<u8> {
        higress_abi::header_map::encode(&self.iter().collect::<Vec<_>>())
    }
}

impl PartialEq for HeaderMap {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for HeaderMap {}

impl fmt::Debug for HeaderMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.iter().map(|(k, v)| (String::from_utf8_lossy(k), String::from_utf8_lossy(v))))
            .finish()
    }
}

impl<K: AsRef<[u8]>, V: AsRef<[u8]>> From<&[(K, V)]> for HeaderMap {
    fn from(pairs: &[(K, V)]) -> Self {
        HeaderMap::from_pairs(pairs)
    }
}

impl<K: AsRef<[u8]>, V: AsRef<[u8]>, const N: usize> From<[(K, V); N]> for HeaderMap {
    fn from(pairs: [(K, V); N]) -> Self {
        HeaderMap::from_pairs(&pairs)
    }
}

impl<K: AsRef<[u8]>, V: AsRef<[u8]>> From<Vec<(K, V)>> for HeaderMap {
    fn from(pairs: Vec<(K, V)>) -> Self {
        HeaderMap::from_pairs(&pairs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_change_ends_pristine() {
        let changes: [fn(&mut HeaderMap); 4] =
            [|m| m.add(b"b", b"2"), |m| m.set(b"a", b"1"), |m| m.remove(b"zz"), |m| m.set(b"new", b"v")];
        for change in changes {
            let mut map = HeaderMap::from([("a", "1")]);
            assert!(!map.is_pristine(), "a map is not pristine until marked");
            map.mark_pristine();
            assert!(map.is_pristine() && map.clone().is_pristine());
            let _ = (map.get("a"), map.get_all("a"), map.iter().count(), map.encode());
            assert!(map.is_pristine(), "reading leaves it pristine");
            change(&mut map);
            assert!(!map.is_pristine(), "{map:?}");
        }
        assert!(!HeaderMap::new().is_pristine() && !HeaderMap::default().is_pristine());
    }

    #[test]
    fn set_add_remove() {
        let mut h = HeaderMap::from([("A", "1"), ("b", "2"), ("a", "3")]);
        assert_eq!(h.get("a"), Some("1"));
        assert_eq!(h.get_all("A"), vec!["1", "3"]);
        h.set(b"a", b"9");
        assert_eq!(h.get_all("a"), vec!["9"]);
        assert_eq!(h.to_pairs()[0], ("a".to_string(), "9".to_string()));
        h.add(b"B", b"4");
        assert_eq!(h.get_all("b"), vec!["2", "4"]);
        h.remove(b"B");
        assert!(!h.contains("b"));
        h.set(b"new", b"x");
        assert_eq!(h.len(), 2);
    }

    #[test]
    fn replaced_values_do_not_show() {
        let mut h = HeaderMap::from([("X-A", "first"), ("b", "2"), ("x-a", "second")]);
        h.set(b"x-A", b"third");
        h.set(b"b", b"22");
        assert_eq!(h.to_pairs(), [("x-a".to_string(), "third".to_string()), ("b".to_string(), "22".to_string())]);
        // Equal to a map built afresh, though its buffer still holds the replaced values.
        assert_eq!(h, HeaderMap::from([("x-a", "third"), ("b", "22")]));
        assert_ne!(h, HeaderMap::from([("x-a", "third")]));
        let copy = h.clone();
        h.remove(b"X-A");
        assert_eq!(h.iter().collect::<Vec<_>>(), [(b"b".as_slice(), b"22".as_slice())]);
        assert_eq!(copy.get("x-a"), Some("third"));
        assert_eq!(format!("{copy:?}"), r#"[("x-a", "third"), ("b", "22")]"#);
    }

    #[test]
    fn empty_names_and_values() {
        let mut h = HeaderMap::new();
        h.add(b"", b"");
        h.add(b"k", b"");
        assert_eq!(h.len(), 2);
        assert_eq!(h.get("k"), Some(""));
        assert_eq!(h.get(""), Some(""));
        assert_eq!(h.encode(), higress_abi::header_map::encode(&[("", ""), ("k", "")]));
    }
}
