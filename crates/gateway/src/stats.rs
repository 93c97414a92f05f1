//! The gateway's own request statistics, for the admin listener's Prometheus page: requests
//! by route, upstream cluster and status, their duration by route, and plugin VMs rebuilt. Kept only when the
//! admin listener is on (a lock per request otherwise saved).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Upper bounds of the duration histogram's buckets, in seconds (Prometheus's defaults with
/// finer steps at the bottom: a local gateway answers in milliseconds).
pub const BUCKETS: [f64; 14] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// Requests by (route, cluster, status), and durations by route.
#[derive(Default)]
pub struct Stats {
    inner: Mutex<Inner>,
}

#[derive(Default, Clone)]
struct Inner {
    requests: BTreeMap<(String, String, u16), u64>,
    durations: BTreeMap<String, Histogram>,
    rebuilds: BTreeMap<(String, String), u64>,
}

/// A histogram: counts per bucket (not cumulative), the sum and the count.
#[derive(Default, Clone, Debug, PartialEq)]
pub struct Histogram {
    pub buckets: [u64; BUCKETS.len()],
    pub sum: f64,
    pub count: u64,
}

impl Histogram {
    /// Adds one observation.
    pub fn observe(&mut self, value: f64) {
        if let Some(i) = BUCKETS.iter().position(|bound| value <= *bound) {
            if let Some(bucket) = self.buckets.get_mut(i) {
                *bucket += 1;
            }
        }
        self.sum += value;
        self.count += 1;
    }
}

/// What the statistics say at one moment.
pub struct Snapshot {
    /// Requests by (route, cluster, status).
    pub requests: Vec<((String, String, u16), u64)>,
    /// Durations by route.
    pub durations: Vec<(String, Histogram)>,
    /// VMs rebuilt, by (plugin, cause: `trap` or `requested`).
    pub rebuilds: Vec<((String, String), u64)>,
}

impl Stats {
    /// Shared statistics.
    pub fn shared() -> Arc<Stats> {
        Arc::new(Stats::default())
    }

    /// Counts one finished request.
    pub fn record(&self, route: &str, cluster: &str, status: u16, duration: Duration) {
        let Ok(mut inner) = self.inner.lock() else { return };
        *inner.requests.entry((route.to_string(), cluster.to_string(), status)).or_default() += 1;
        inner.durations.entry(route.to_string()).or_default().observe(duration.as_secs_f64());
    }

    /// Counts one VM of `plugin` replaced by a fresh one, for `cause`.
    pub fn record_rebuild(&self, plugin: &str, cause: &str) {
        let Ok(mut inner) = self.inner.lock() else { return };
        *inner.rebuilds.entry((plugin.to_string(), cause.to_string())).or_default() += 1;
    }

    /// The statistics now.
    pub fn snapshot(&self) -> Snapshot {
        let inner = self.inner.lock().map(|i| i.clone()).unwrap_or_default();
        Snapshot {
            requests: inner.requests.into_iter().collect(),
            durations: inner.durations.into_iter().collect(),
            rebuilds: inner.rebuilds.into_iter().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_counted_by_route_cluster_and_status() {
        let stats = Stats::default();
        stats.record("r", "c", 200, Duration::from_millis(3));
        stats.record("r", "c", 200, Duration::from_millis(30));
        stats.record("r", "c", 404, Duration::from_secs(20));
        let snapshot = stats.snapshot();
        assert_eq!(snapshot.requests, [(("r".into(), "c".into(), 200), 2), (("r".into(), "c".into(), 404), 1)]);
        let (route, histogram) = &snapshot.durations[0];
        assert_eq!(route, "r");
        assert_eq!(histogram.count, 3);
        assert_eq!(histogram.buckets.iter().sum::<u64>(), 2, "20 s is above the last bound: only +Inf has it");
        assert_eq!(histogram.buckets[BUCKETS.iter().position(|b| *b == 0.005).unwrap()], 1);
    }
}
