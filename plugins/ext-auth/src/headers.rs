//! Header lists passed between the client, the authorization service and the upstream.

use higress_sdk::ascii::eq_ignore_case;

/// Headers that frame a message on its connection: never copied between messages, each
/// hop sets its own.
pub fn is_framing(name: &str) -> bool {
    ["content-length", "transfer-encoding", "connection", "keep-alive"]
        .iter()
        .any(|f| eq_ignore_case(f.as_bytes(), name.as_bytes()))
}

/// An ordered header list with set (replace every value) and add. The authorization
/// request's list holds `Cow`s: names and values that outlive it (the config's, the
/// request's method and path) are borrowed, only what was read from the host is owned.
#[derive(Default)]
pub struct HeaderList<S = String>(Vec<(S, S)>);

impl<S: AsRef<str>> HeaderList<S> {
    /// An empty list with room for `n` headers (a first push grows a vector through a slow
    /// path of several calls; an allocation of the right size is one).
    pub fn with_capacity(n: usize) -> Self {
        HeaderList(Vec::with_capacity(n))
    }

    /// Adds a value, keeping the others of the name.
    pub fn add(&mut self, name: S, value: S) {
        self.0.push((name, value));
    }

    /// Replaces every value of `name` with `value`.
    pub fn set(&mut self, name: impl Into<S>, value: impl Into<S>) {
        let name = name.into();
        self.0.retain(|(n, _)| !eq_ignore_case(n.as_ref().as_bytes(), name.as_ref().as_bytes()));
        self.0.push((name, value.into()));
    }

    /// The headers, in order.
    pub fn as_slice(&self) -> &[(S, S)] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_replaces_every_value_and_add_keeps_them() {
        let mut list = HeaderList::default();
        list.add("x-a".into(), "1".into());
        list.add("x-a".into(), "2".into());
        list.add("x-b".into(), "3".into());
        list.set("X-A", "9");
        assert_eq!(list.as_slice(), [("x-b".to_string(), "3".to_string()), ("X-A".to_string(), "9".to_string())]);
        assert!(is_framing("Content-Length"));
        assert!(!is_framing("content-type"));
    }
}
