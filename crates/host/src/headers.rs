//! A header map with Envoy's semantics: names are lower-cased on insert, values are bytes,
//! order is kept and a name may repeat.

use std::fmt;

/// An ordered multimap of headers (or trailers).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct HeaderMap {
    entries: Vec<(Vec<u8>, Vec<u8>)>,
}

impl HeaderMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds a map from pairs (names lower-cased).
    pub fn from_pairs<K: AsRef<[u8]>, V: AsRef<[u8]>>(pairs: &[(K, V)]) -> Self {
        let mut map = HeaderMap::new();
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

    /// First value of `name` as UTF-8 (`None` when absent or not UTF-8).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.get_bytes(name.as_bytes()).and_then(|v| std::str::from_utf8(v).ok())
    }

    /// First value of `name`, as bytes.
    pub fn get_bytes(&self, name: &[u8]) -> Option<&[u8]> {
        self.entries.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_slice())
    }

    /// Every value of `name`, in order.
    pub fn get_all(&self, name: &str) -> Vec<&str> {
        self.entries
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name.as_bytes()))
            .filter_map(|(_, v)| std::str::from_utf8(v).ok())
            .collect()
    }

    /// Whether `name` is present.
    pub fn contains(&self, name: &str) -> bool {
        self.get_bytes(name.as_bytes()).is_some()
    }

    /// Appends a value, keeping existing ones.
    pub fn add(&mut self, name: &[u8], value: &[u8]) {
        self.entries.push((name.to_ascii_lowercase(), value.to_vec()));
    }

    /// Sets `name` to one value: the first entry is replaced in place, the others removed.
    pub fn set(&mut self, name: &[u8], value: &[u8]) {
        let lower = name.to_ascii_lowercase();
        match self.entries.iter().position(|(k, _)| *k == lower) {
            Some(first) => {
                if let Some(entry) = self.entries.get_mut(first) {
                    entry.1 = value.to_vec();
                }
                let mut index = 0;
                self.entries.retain(|(k, _)| {
                    let keep = index <= first || *k != lower;
                    index += 1;
                    keep
                });
            }
            None => self.entries.push((lower, value.to_vec())),
        }
    }

    /// Removes every value of `name`.
    pub fn remove(&mut self, name: &[u8]) {
        self.entries.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
    }

    /// The entries, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.entries.iter().map(|(k, v)| (k.as_slice(), v.as_slice()))
    }

    /// The entries as UTF-8 strings (invalid sequences replaced).
    pub fn to_pairs(&self) -> Vec<(String, String)> {
        self.entries
            .iter()
            .map(|(k, v)| (String::from_utf8_lossy(k).into_owned(), String::from_utf8_lossy(v).into_owned()))
            .collect()
    }

    /// The proxy-wasm encoding of the map.
    pub(crate) fn encode(&self) -> Vec<u8> {
        higress_abi::header_map::encode(&self.entries)
    }
}

impl fmt::Debug for HeaderMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.entries.iter().map(|(k, v)| (String::from_utf8_lossy(k), String::from_utf8_lossy(v))))
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
}
