//! The cache key of a request: the question (per `cacheKeyStrategy`), the model and, when
//! configured, the consumer, hashed so that keys are bounded and never cross models or
//! tenants: `<cacheKeyPrefix><sha256 hex>`.

use crate::config::{Config, Strategy};
use higress_ai::path::{node_string, truthy, Node, Scratch};
use sha2::{Digest, Sha256};

/// What a request body says for the cache.
#[derive(Debug, PartialEq, Eq)]
pub struct Lookup {
    /// The Redis key.
    pub key: String,
    /// `stream: true`: a hit answers with the stream template.
    pub stream: bool,
}

/// The cache lookup of a request body, or why there is none.
pub fn lookup(body: &[u8], config: &Config, consumer: Option<&str>) -> Result<Lookup, &'static str> {
    let mut scratch = Scratch::default();
    let root = scratch.read(body).ok_or("the request body is not JSON")?;
    let stream = truthy(root.member(|k| k == "stream"));
    let question = match config.strategy {
        Strategy::LastQuestion => config.key_from.string(root).unwrap_or_default(),
        Strategy::AllQuestions => {
            // Go: every message whose role is "user", its content as gjson's String() gives it.
            let messages = root.member(|k| k == "messages").map(Node::elements).unwrap_or_default();
            let user: Vec<String> = messages
                .into_iter()
                .filter(|m| m.member(|k| k == "role").and_then(Node::string).as_deref() == Some("user"))
                .map(|m| m.member(|k| k == "content").and_then(node_string).unwrap_or_default())
                .collect();
            user.join("\n")
        }
        Strategy::Disabled => return Err("cacheKeyStrategy is disabled"),
    };
    if question.is_empty() {
        return Err("no question in the request body");
    }
    let model = root.member(|k| k == "model").and_then(node_string).unwrap_or_default();
    Ok(Lookup { key: redis_key(&config.cache.prefix, &model, consumer.unwrap_or_default(), &question), stream })
}

/// `prefix` + the hex SHA-256 of the model and the consumer (each length-prefixed, so no
/// two pairs run together alike) and the question.
pub fn redis_key(prefix: &str, model: &str, consumer: &str, question: &str) -> String {
    let mut hash = Sha256::new();
    for part in [model, consumer] {
        hash.update(part.len().to_string().as_bytes());
        hash.update(b":");
        hash.update(part.as_bytes());
    }
    hash.update(question.as_bytes());
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut key = String::with_capacity(prefix.len() + 64);
    key.push_str(prefix);
    for byte in hash.finalize() {
        for nibble in [byte >> 4, byte & 0xf] {
            key.push(char::from(HEX.get(usize::from(nibble)).copied().unwrap_or(b'0')));
        }
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_prefixed_hashes_that_keep_models_and_consumers_apart() {
        let a = redis_key("p:", "gpt-4o", "", "hello");
        assert_eq!(a.len(), 2 + 64);
        assert!(a.starts_with("p:"));
        assert_ne!(a, redis_key("p:", "gpt-4o-mini", "", "hello"));
        assert_ne!(a, redis_key("p:", "gpt-4o", "alice", "hello"));
        // Parts do not run together: ("ab", "c") and ("a", "bc") differ.
        assert_ne!(redis_key("", "ab", "c", "q"), redis_key("", "a", "bc", "q"));
        assert_eq!(a, redis_key("p:", "gpt-4o", "", "hello"));
    }
}
