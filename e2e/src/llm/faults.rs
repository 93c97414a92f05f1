//! Faults armed ahead of time, for failover and retry tests: `POST /__mock/faults` with
//! `{"count": N, "status": S, "key": K, "stall_ms": D, "close_mid_stream": true}` makes the
//! next N requests (those with API key K, when given) answer status S, wait D ms before
//! answering, or close their stream after the first event - whatever the fault names. Faults
//! are used oldest first; `DELETE /__mock/faults` disarms them all; `GET` lists them.

use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One armed fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    /// Requests it still applies to.
    pub count: u64,
    /// Only requests with this API key.
    pub key: Option<String>,
    /// Answer this status (with the protocol's error body).
    pub status: Option<u16>,
    /// Wait this long before answering.
    pub stall: Option<Duration>,
    /// Close a stream after its first event (a whole reply after half its body).
    pub close_mid_stream: bool,
}

impl Fault {
    /// A fault from its JSON; the error says what is wrong.
    pub fn parse(value: &Value) -> Result<Fault, String> {
        let count = value["count"].as_u64().filter(|n| *n > 0).ok_or("count: a positive integer")?;
        let status = match &value["status"] {
            Value::Null => None,
            s => Some(
                s.as_u64()
                    .and_then(|s| u16::try_from(s).ok())
                    .filter(|s| (400..=599).contains(s))
                    .ok_or("status: 400..=599")?,
            ),
        };
        let stall = match &value["stall_ms"] {
            Value::Null => None,
            ms => Some(Duration::from_millis(ms.as_u64().ok_or("stall_ms: milliseconds")?)),
        };
        let close_mid_stream = value["close_mid_stream"].as_bool().unwrap_or(false);
        if status.is_none() && stall.is_none() && !close_mid_stream {
            return Err("a fault needs status, stall_ms or close_mid_stream".into());
        }
        let key = value["key"].as_str().map(str::to_string);
        Ok(Fault { count, key, status, stall, close_mid_stream })
    }

    fn json(&self) -> Value {
        json!({"count": self.count, "key": self.key, "status": self.status,
            "stall_ms": self.stall.map(|d| d.as_millis() as u64), "close_mid_stream": self.close_mid_stream})
    }
}

/// The armed faults, shared by the mock's connections.
#[derive(Clone, Default)]
pub struct Faults(Arc<Mutex<Vec<Fault>>>);

impl Faults {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Fault>> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Arms `fault`.
    pub fn arm(&self, fault: Fault) {
        self.lock().push(fault);
    }

    /// Disarms every fault.
    pub fn clear(&self) {
        self.lock().clear();
    }

    /// The armed faults, as JSON.
    pub fn list(&self) -> Value {
        Value::Array(self.lock().iter().map(Fault::json).collect())
    }

    /// The fault a request with API key `key` meets (used up by one), if any.
    pub fn take(&self, key: Option<&str>) -> Option<Fault> {
        let mut faults = self.lock();
        let index = faults.iter().position(|f| f.key.as_deref().is_none_or(|k| Some(k) == key))?;
        let fault = faults.get_mut(index)?;
        fault.count -= 1;
        let taken = fault.clone();
        if fault.count == 0 {
            faults.remove(index);
        }
        Some(taken)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_are_used_up_in_order_and_by_key() {
        let faults = Faults::default();
        faults.arm(Fault::parse(&json!({"count": 2, "status": 503, "key": "k1"})).unwrap());
        faults.arm(Fault::parse(&json!({"count": 1, "stall_ms": 50})).unwrap());
        assert_eq!(faults.take(Some("k1")).and_then(|f| f.status), Some(503));
        assert_eq!(faults.take(Some("k2")).and_then(|f| f.stall), Some(Duration::from_millis(50)));
        assert_eq!(faults.take(Some("k2")), None);
        assert_eq!(faults.take(Some("k1")).and_then(|f| f.status), Some(503));
        assert_eq!(faults.take(Some("k1")), None);
        assert!(Fault::parse(&json!({"count": 1})).is_err());
        assert!(Fault::parse(&json!({"count": 0, "status": 500})).is_err());
        assert!(Fault::parse(&json!({"count": 1, "status": 200})).is_err());
    }
}
