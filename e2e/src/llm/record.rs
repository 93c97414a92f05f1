//! What the mock received: the last [`CAPACITY`] requests, for `GET /__mock/requests`.
//!
//! Each entry is `{seq, method, path, headers: {name: [values]}, body, body_is_json, body_text, protocol,
//! key, tag, status}`: `path` has the query, `body` is the JSON value when the body parses,
//! else its text (`body_text`: always the text, as it came) (bodies over [`MAX_BODY`] bytes are cut), `key` the API key of the
//! protocol's header, `tag` the `x-mock-tag` header, `status` the answer's status (`null`
//! until the head is sent: a delayed answer's request is already listed). What the mock
//! computed of a request is added to its entry ([`Journal::note`]): a Bedrock request signed
//! with SigV4 has `sigv4_canonical`, the canonical request of the mock's check.

use serde_json::{json, Map, Value};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// How many requests are kept (the oldest go first).
pub const CAPACITY: usize = 200;
/// Longest body kept whole in an entry.
pub const MAX_BODY: usize = 1 << 20;

/// The requests the mock received, newest last.
#[derive(Clone, Default)]
pub struct Journal {
    entries: Arc<Mutex<(u64, VecDeque<Value>)>>,
}

/// A request as recorded.
pub struct Received<'a> {
    pub parts: &'a hyper::http::request::Parts,
    pub body: &'a [u8],
    pub protocol: &'a str,
    pub key: Option<&'a str>,
    pub tag: Option<&'a str>,
}

/// The headers as `{name: [values]}` (names lower-case, values in order).
pub fn headers_json(headers: &hyper::HeaderMap) -> Value {
    let mut map = Map::new();
    for (name, value) in headers {
        let entry = map.entry(name.as_str()).or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(values) = entry {
            values.push(Value::String(String::from_utf8_lossy(value.as_bytes()).into_owned()));
        }
    }
    Value::Object(map)
}

impl Journal {
    fn lock(&self) -> std::sync::MutexGuard<'_, (u64, VecDeque<Value>)> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records a request; returns its sequence number (for [`Journal::answered`]).
    pub fn record(&self, received: &Received<'_>) -> u64 {
        let (body, body_is_json) = match serde_json::from_slice::<Value>(received.body) {
            Ok(value) if received.body.len() <= MAX_BODY => (value, true),
            _ => {
                let kept = received.body.get(..MAX_BODY).unwrap_or(received.body);
                (Value::String(String::from_utf8_lossy(kept).into_owned()), false)
            }
        };
        let mut entries = self.lock();
        entries.0 += 1;
        let seq = entries.0;
        entries.1.push_back(json!({
            "seq": seq,
            "method": received.parts.method.as_str(),
            "path": received.parts.uri.path_and_query().map_or("/", |p| p.as_str()),
            "headers": headers_json(&received.parts.headers),
            "body": body,
            "body_is_json": body_is_json,
            "body_length": received.body.len(),
            // The bytes as they came (a signature covers them, not their JSON value).
            "body_text": String::from_utf8_lossy(received.body.get(..MAX_BODY).unwrap_or(received.body)),
            "protocol": received.protocol,
            "key": received.key,
            "tag": received.tag,
            "status": null,
        }));
        while entries.1.len() > CAPACITY {
            entries.1.pop_front();
        }
        seq
    }

    /// Notes the status request `seq` was answered with.
    pub fn answered(&self, seq: u64, status: u16) {
        let mut entries = self.lock();
        if let Some(entry) = entries.1.iter_mut().rev().find(|e| e["seq"] == seq) {
            entry["status"] = json!(status);
        }
    }

    /// Adds `name: value` to the entry of request `seq` (what the mock computed of it, such as
    /// a signed request's canonical form, `sigv4_canonical`).
    pub fn note(&self, seq: u64, name: &str, value: Value) {
        let mut entries = self.lock();
        if let Some(entry) = entries.1.iter_mut().rev().find(|e| e["seq"] == seq) {
            entry[name] = value;
        }
    }

    /// The recorded requests with tag `tag` and key `key` (each when given), oldest first.
    pub fn find(&self, tag: Option<&str>, key: Option<&str>) -> Vec<Value> {
        self.find_by(&Filter { tag, key, protocol: None })
    }

    /// The recorded requests `filter` lets through, oldest first.
    pub fn find_by(&self, filter: &Filter<'_>) -> Vec<Value> {
        let matches = |entry: &Value, field: &str, wanted: Option<&str>| wanted.is_none_or(|w| entry[field] == w);
        self.lock()
            .1
            .iter()
            .filter(|e| {
                matches(e, "tag", filter.tag)
                    && matches(e, "key", filter.key)
                    && matches(e, "protocol", filter.protocol)
            })
            .cloned()
            .collect()
    }
}

/// Which requests `GET /__mock/requests` lists: those with each field given.
#[derive(Debug, Clone, Copy, Default)]
pub struct Filter<'a> {
    /// The `x-mock-tag`.
    pub tag: Option<&'a str>,
    /// The key recorded.
    pub key: Option<&'a str>,
    /// The protocol (`openai`, `vertex`, `google-oauth`, ...).
    pub protocol: Option<&'a str>,
}

/// The value of `name` in a query string (`a=1&b=x%20y`), percent-decoded.
pub fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (percent_decode(k) == name).then(|| percent_decode(v))
    })
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = bytes
            .get(i + 1..i + 3)
            .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b, hex) {
            (b'%', Some(decoded)) => {
                out.push(decoded);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_last_requests_and_finds_them_by_tag() {
        let journal = Journal::default();
        let (parts, ()) = hyper::Request::post("/v1/x?y=1").header("x-mock-tag", "t").body(()).unwrap().into_parts();
        for i in 0..CAPACITY + 5 {
            let tag = if i % 2 == 0 { "even" } else { "odd" };
            let body = format!("{{\"i\": {i}}}");
            let received =
                Received { parts: &parts, body: body.as_bytes(), protocol: "openai", key: Some("k"), tag: Some(tag) };
            let seq = journal.record(&received);
            journal.answered(seq, 200);
        }
        let all = journal.find(None, None);
        assert_eq!(all.len(), CAPACITY);
        assert_eq!(all[0]["body"]["i"], 5);
        assert_eq!(all[0]["path"], "/v1/x?y=1");
        assert_eq!(all[0]["headers"]["x-mock-tag"][0], "t");
        assert_eq!(journal.find(Some("even"), Some("k")).len(), CAPACITY / 2);
        assert_eq!(journal.find(Some("even"), Some("other")).len(), 0);
        assert_eq!(journal.find_by(&Filter { protocol: Some("openai"), ..Filter::default() }).len(), CAPACITY);
        assert_eq!(journal.find_by(&Filter { protocol: Some("vertex"), ..Filter::default() }).len(), 0);
        let text = Received { parts: &parts, body: b"not json", protocol: "openai", key: None, tag: None };
        let seq = journal.record(&text);
        journal.note(seq, "sigv4_canonical", json!("POST\n/"));
        assert_eq!(journal.find(None, None).pop().unwrap()["sigv4_canonical"], "POST\n/");
        let last = journal.find(None, None).pop().unwrap();
        assert_eq!(
            (last["body"].clone(), last["body_is_json"].clone(), last["status"].clone()),
            (json!("not json"), json!(false), Value::Null)
        );
    }

    #[test]
    fn query_parameters_are_decoded() {
        assert_eq!(query_param("a=1&tag=x%20y+z&b", "tag").as_deref(), Some("x y z"));
        assert_eq!(query_param("b", "b").as_deref(), Some(""));
        assert_eq!(query_param("tag=%zz%+4%4", "tag").as_deref(), Some("%zz% 4%4"));
        assert_eq!(query_param("", "tag"), None);
    }
}
