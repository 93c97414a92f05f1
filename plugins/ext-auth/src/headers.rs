//! Header lists passed between the client, the authorization service and the upstream.

/// Headers that frame a message on its connection: never copied between messages, each
/// hop sets its own.
pub fn is_framing(name: &str) -> bool {
    ["content-length", "transfer-encoding", "connection", "keep-alive"].iter().any(|f| f.eq_ignore_ascii_case(name))
}

/// An ordered header list with set (replace every value) and add.
#[derive(Default)]
pub struct HeaderList(Vec<(String, String)>);

impl HeaderList {
    /// Adds a value, keeping the others of the name.
    pub fn add(&mut self, name: String, value: String) {
        self.0.push((name, value));
    }

    /// Replaces every value of `name` with `value`.
    pub fn set(&mut self, name: &str, value: &str) {
        self.0.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.0.push((name.to_string(), value.to_string()));
    }

    /// The headers, in order.
    pub fn as_slice(&self) -> &[(String, String)] {
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
