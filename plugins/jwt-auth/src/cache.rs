//! Verified tokens, remembered per consumer. A client reuses its token until it expires,
//! and an RS256/ES256 signature costs tens of millions of wasm instructions to verify, so
//! each VM verifies a given token once. Entries are keyed by the SHA-256 of the exact token
//! bytes (so a hit is the same signed bytes), hold the verified claims, and are bounded;
//! time claims are checked again on every use.

use serde_json::Value;
use sha2::{Digest, Sha256};
use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;

/// Tokens remembered per consumer (the oldest is forgotten first).
const CAPACITY: usize = 512;

#[derive(Default)]
pub(crate) struct VerifiedTokens {
    inner: RefCell<Inner>,
}

#[derive(Default)]
struct Inner {
    claims: HashMap<[u8; 32], Rc<Value>>,
    order: VecDeque<[u8; 32]>,
}

pub(crate) fn key(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl VerifiedTokens {
    pub(crate) fn get(&self, key: &[u8; 32]) -> Option<Rc<Value>> {
        self.inner.try_borrow().ok()?.claims.get(key).cloned()
    }

    pub(crate) fn insert(&self, key: [u8; 32], claims: Rc<Value>) {
        let Ok(mut inner) = self.inner.try_borrow_mut() else { return };
        if inner.claims.insert(key, claims).is_none() {
            inner.order.push_back(key);
        }
        while inner.order.len() > CAPACITY {
            if let Some(old) = inner.order.pop_front() {
                inner.claims.remove(&old);
            }
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.inner.borrow().claims.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_fifo() {
        let cache = VerifiedTokens::default();
        for i in 0..CAPACITY + 10 {
            cache.insert(key(&i.to_string()), Rc::new(Value::Null));
        }
        assert_eq!(cache.len(), CAPACITY);
        assert!(cache.get(&key("0")).is_none(), "the oldest went first");
        assert!(cache.get(&key(&(CAPACITY + 9).to_string())).is_some());
    }
}
