//! The order of `modelMapping`'s keys as the configuration lists them.
//!
//! The SDK hands a config over as parsed JSON, whose objects keep their keys sorted; the
//! regular expressions of a model mapping are tried in the order the user wrote them, so
//! that order is read again from the configuration's text (the host still holds it while the
//! plugin starts) and the mapping's place in it found the way the config was resolved: the
//! rule's own `provider`/`providers` when it has them, else the global ones.

use higress_sdk::abi::BufferType;
use higress_sdk::config::Scope;
use higress_sdk::hostcalls;
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// Which provider object of a config holds the mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `provider`.
    Provider,
    /// `providers[i]`.
    Providers(usize),
}

/// JSON with the order of object keys kept (only what finding a mapping needs).
#[derive(Debug, PartialEq)]
enum Ordered {
    Object(Vec<(String, Ordered)>),
    Array(Vec<Ordered>),
    Other,
}

impl Ordered {
    fn get(&self, key: &str) -> Option<&Ordered> {
        match self {
            Ordered::Object(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn at(&self, index: usize) -> Option<&Ordered> {
        match self {
            Ordered::Array(items) => items.get(index),
            _ => None,
        }
    }

    fn keys(&self) -> Option<Vec<String>> {
        match self {
            Ordered::Object(members) => Some(members.iter().map(|(k, _)| k.clone()).collect()),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for Ordered {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(OrderedVisitor)
    }
}

struct OrderedVisitor;

impl<'de> Visitor<'de> for OrderedVisitor {
    type Value = Ordered;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("JSON")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Ordered, E> {
        Ok(Ordered::Other)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Ordered, E> {
        Ok(Ordered::Other)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Ordered, E> {
        Ok(Ordered::Other)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Ordered, E> {
        Ok(Ordered::Other)
    }
    fn visit_str<E>(self, _: &str) -> Result<Ordered, E> {
        Ok(Ordered::Other)
    }
    fn visit_unit<E>(self) -> Result<Ordered, E> {
        Ok(Ordered::Other)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Ordered, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Ordered::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Ordered, A::Error> {
        let mut members: Vec<(String, Ordered)> = Vec::new();
        while let Some((key, value)) = map.next_entry::<String, Ordered>()? {
            // A repeated key: the last one wins, as in the parsed config.
            members.retain(|(k, _)| *k != key);
            members.push((key, value));
        }
        Ok(Ordered::Object(members))
    }
}

/// The keys of the `modelMapping` of the provider at `source`, for the config at `scope`, in
/// the configuration's order; `None` when the configuration's text cannot be read.
pub fn mapping_keys(scope: Scope, source: Source) -> Option<Vec<String>> {
    let text = hostcalls::get_buffer(BufferType::PluginConfiguration, 0, i32::MAX as usize).ok().flatten()?;
    keys_in(&text, scope, source)
}

fn keys_in(text: &[u8], scope: Scope, source: Source) -> Option<Vec<String>> {
    let root: Ordered = serde_json::from_slice(text).ok()?;
    let key = match source {
        Source::Provider => "provider",
        Source::Providers(_) => "providers",
    };
    let base = match scope {
        Scope::Global => &root,
        Scope::Rule(i) => {
            let rule = root.get("_rules_")?.at(i)?;
            if rule.get(key).is_some() {
                rule
            } else {
                &root
            }
        }
    };
    let provider = match source {
        Source::Provider => base.get("provider")?,
        Source::Providers(i) => base.get("providers")?.at(i)?,
    };
    provider.get("modelMapping")?.keys()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn keys_come_in_the_order_written() {
        let text = br#"{"provider": {"modelMapping": {"z": "1", "~a": "2", "m*": "3"}},
            "_rules_": [{"_match_domain_": ["x"], "providers": [{"id": "a"}, {"modelMapping": {"b": "", "a": ""}}]},
                        {"_match_domain_": ["y"], "activeProviderId": "q"}]}"#;
        assert_eq!(keys_in(text, Scope::Global, Source::Provider).unwrap(), ["z", "~a", "m*"]);
        assert_eq!(keys_in(text, Scope::Rule(0), Source::Providers(1)).unwrap(), ["b", "a"]);
        assert_eq!(keys_in(text, Scope::Rule(1), Source::Provider).unwrap(), ["z", "~a", "m*"]);
        assert_eq!(keys_in(text, Scope::Rule(0), Source::Providers(0)), None);
        assert_eq!(keys_in(b"not json", Scope::Global, Source::Provider), None);
    }
}
