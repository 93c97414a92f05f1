//! Metrics: define once (by name), then record by id. Names are global to the proxy, so the
//! VMs of every worker add to the same counter.

use crate::hostcalls;
use higress_abi::{MetricType, Status};
use std::cell::RefCell;
use std::collections::HashMap;

thread_local! {
    static DEFINED: RefCell<HashMap<(String, u32), u32>> = RefCell::new(HashMap::new());
}

fn define(kind: MetricType, name: &str) -> Result<u32, Status> {
    let key = (name.to_string(), kind.wire());
    if let Some(id) = DEFINED.with(|d| d.try_borrow().ok()?.get(&key).copied()) {
        return Ok(id);
    }
    let id = hostcalls::define_metric(kind, name)?;
    DEFINED.with(|d| {
        if let Ok(mut d) = d.try_borrow_mut() {
            d.insert(key, id);
        }
    });
    Ok(id)
}

/// A counter (only goes up).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counter(u32);

impl Counter {
    /// Defines (or finds) the counter `name`.
    pub fn new(name: &str) -> Result<Counter, Status> {
        define(MetricType::Counter, name).map(Counter)
    }

    /// Adds `by`.
    pub fn increment(&self, by: u64) {
        let _ = hostcalls::increment_metric(self.0, i64::try_from(by).unwrap_or(i64::MAX));
    }

    /// Current value.
    pub fn value(&self) -> Result<u64, Status> {
        hostcalls::get_metric(self.0)
    }
}

/// A gauge (goes up and down).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gauge(u32);

impl Gauge {
    /// Defines (or finds) the gauge `name`.
    pub fn new(name: &str) -> Result<Gauge, Status> {
        define(MetricType::Gauge, name).map(Gauge)
    }

    /// Sets the value.
    pub fn set(&self, value: u64) {
        let _ = hostcalls::record_metric(self.0, value);
    }

    /// Adds `delta` (may be negative).
    pub fn add(&self, delta: i64) {
        let _ = hostcalls::increment_metric(self.0, delta);
    }

    /// Current value.
    pub fn value(&self) -> Result<u64, Status> {
        hostcalls::get_metric(self.0)
    }
}

/// A histogram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Histogram(u32);

impl Histogram {
    /// Defines (or finds) the histogram `name`.
    pub fn new(name: &str) -> Result<Histogram, Status> {
        define(MetricType::Histogram, name).map(Histogram)
    }

    /// Records one value.
    pub fn record(&self, value: u64) {
        let _ = hostcalls::record_metric(self.0, value);
    }
}
