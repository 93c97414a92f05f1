//! What the VMs of one proxy share, as Envoy's worker threads do: a clock, shared data and
//! shared queues (per VM id), metrics, and the cluster table callouts resolve against.
//!
//! An [`Env`] is cheap to clone and `Send + Sync`, so a gateway can give one to the VMs of
//! every worker thread.

use higress_abi::{MetricType, Status};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The host clock: the real one, or a manual one tests advance.
#[derive(Debug)]
pub struct Clock {
    manual: Option<AtomicU64>,
    start: Instant,
    start_wall: u64,
}

impl Clock {
    fn system() -> Self {
        let start_wall = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0);
        Clock { manual: None, start: Instant::now(), start_wall }
    }

    fn manual(start_nanos: u64) -> Self {
        Clock { manual: Some(AtomicU64::new(start_nanos)), start: Instant::now(), start_wall: start_nanos }
    }

    /// Wall-clock time, nanoseconds since the Unix epoch.
    pub fn now_nanos(&self) -> u64 {
        match &self.manual {
            Some(t) => t.load(Ordering::SeqCst),
            None => self.start_wall.saturating_add(self.start.elapsed().as_nanos() as u64),
        }
    }

    /// Monotonic time in nanoseconds (equal to wall time on a manual clock).
    pub fn monotonic_nanos(&self) -> u64 {
        match &self.manual {
            Some(t) => t.load(Ordering::SeqCst),
            None => self.start.elapsed().as_nanos() as u64,
        }
    }

    /// Whether this clock only moves when [`Env::advance`] is called.
    pub fn is_manual(&self) -> bool {
        self.manual.is_some()
    }

    fn advance(&self, by: Duration) {
        if let Some(t) = &self.manual {
            t.fetch_add(by.as_nanos() as u64, Ordering::SeqCst);
        }
    }
}

/// Where callouts to a cluster go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Upstream {
    /// The test (or the gateway) answers calls by hand.
    Manual,
    /// A real server at this address (`127.0.0.1:6379`, `localhost:8080`).
    Address(String),
}

#[derive(Default)]
struct SharedData {
    values: HashMap<(String, String), (Vec<u8>, u32)>,
    next_cas: u32,
}

#[derive(Default)]
struct Queues {
    ids: HashMap<(String, String), u32>,
    items: HashMap<u32, VecDeque<Vec<u8>>>,
    owners: HashMap<u32, u64>,
    ready: Vec<(u64, u32)>,
    next_id: u32,
}

/// One metric's state.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    /// Its name.
    pub name: String,
    /// Counter, gauge or histogram.
    pub kind: MetricType,
    /// Counter or gauge value.
    pub value: i64,
    /// Values recorded into a histogram.
    pub samples: Vec<u64>,
}

#[derive(Default)]
struct Metrics {
    by_name: HashMap<String, u32>,
    list: Vec<Metric>,
}

/// Where plugin log lines go when not kept in memory: `(plugin name, level, message)`.
pub type LogSink = Arc<dyn Fn(&str, higress_abi::LogLevel, &str) + Send + Sync>;

struct Inner {
    log_sink: Mutex<Option<LogSink>>,
    clock: Clock,
    shared: Mutex<SharedData>,
    queues: Mutex<Queues>,
    metrics: Mutex<Metrics>,
    clusters: Mutex<HashMap<String, Upstream>>,
    accept_unknown_clusters: std::sync::atomic::AtomicBool,
    next_vm: AtomicU64,
}

/// State shared by the VMs of one proxy.
#[derive(Clone)]
pub struct Env {
    inner: Arc<Inner>,
}

impl Default for Env {
    fn default() -> Self {
        Env::new()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Env {
    /// An environment on the real clock.
    pub fn new() -> Self {
        Self::with_clock(Clock::system())
    }

    /// An environment on a manual clock starting at `start` since the epoch; time moves only
    /// with [`Env::advance`], so ticks and timeouts are deterministic.
    pub fn with_manual_clock(start: Duration) -> Self {
        Self::with_clock(Clock::manual(start.as_nanos() as u64))
    }

    fn with_clock(clock: Clock) -> Self {
        Env {
            inner: Arc::new(Inner {
                log_sink: Mutex::new(None),
                clock,
                shared: Mutex::default(),
                queues: Mutex::default(),
                metrics: Mutex::default(),
                clusters: Mutex::default(),
                accept_unknown_clusters: std::sync::atomic::AtomicBool::new(true),
                next_vm: AtomicU64::new(1),
            }),
        }
    }

    /// Sends every VM's log lines to `sink` instead of keeping them (a long-running proxy).
    pub fn set_log_sink(&self, sink: LogSink) {
        *lock(&self.inner.log_sink) = Some(sink);
    }

    pub(crate) fn log_sink(&self) -> Option<LogSink> {
        lock(&self.inner.log_sink).clone()
    }

    /// The clock.
    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    /// Moves a manual clock forward (no effect on the real clock). Ticks and callout
    /// timeouts that fall due run when each VM is next polled.
    pub fn advance(&self, by: Duration) {
        self.inner.clock.advance(by);
    }

    /// Declares a cluster callouts may target.
    pub fn add_cluster(&self, name: &str, upstream: Upstream) {
        lock(&self.inner.clusters).insert(name.to_string(), upstream);
    }

    /// Whether callouts to clusters that were never declared are accepted (held for a manual
    /// answer, the default) or refused with `BadArgument`, as Envoy refuses unknown clusters.
    pub fn set_accept_unknown_clusters(&self, accept: bool) {
        self.inner.accept_unknown_clusters.store(accept, Ordering::SeqCst);
    }

    /// How callouts to `name` are served; `None` when the cluster is unknown and refused.
    pub fn upstream(&self, name: &str) -> Option<Upstream> {
        match lock(&self.inner.clusters).get(name) {
            Some(u) => Some(u.clone()),
            None if self.inner.accept_unknown_clusters.load(Ordering::SeqCst) => Some(Upstream::Manual),
            None => None,
        }
    }

    pub(crate) fn next_vm_key(&self) -> u64 {
        self.inner.next_vm.fetch_add(1, Ordering::SeqCst)
    }

    // ----- shared data -----

    /// Reads shared data of VM id `vm_id`: the value and its CAS.
    pub fn shared_data(&self, vm_id: &str, key: &str) -> Option<(Vec<u8>, u32)> {
        lock(&self.inner.shared).values.get(&(vm_id.to_string(), key.to_string())).cloned()
    }

    pub(crate) fn set_shared_data(&self, vm_id: &str, key: &str, value: &[u8], cas: u32) -> Result<(), Status> {
        let mut shared = lock(&self.inner.shared);
        let slot = (vm_id.to_string(), key.to_string());
        if cas != 0 {
            if let Some((_, current)) = shared.values.get(&slot) {
                if *current != cas {
                    return Err(Status::CasMismatch);
                }
            }
        }
        shared.next_cas = shared.next_cas.wrapping_add(1).max(1);
        let next = shared.next_cas;
        shared.values.insert(slot, (value.to_vec(), next));
        Ok(())
    }

    // ----- shared queues -----

    pub(crate) fn register_queue(&self, vm_id: &str, name: &str, owner: u64) -> u32 {
        let mut q = lock(&self.inner.queues);
        let key = (vm_id.to_string(), name.to_string());
        if let Some(id) = q.ids.get(&key) {
            let id = *id;
            q.owners.insert(id, owner);
            return id;
        }
        q.next_id += 1;
        let id = q.next_id;
        q.ids.insert(key, id);
        q.items.insert(id, VecDeque::new());
        q.owners.insert(id, owner);
        id
    }

    pub(crate) fn resolve_queue(&self, vm_id: &str, name: &str) -> Option<u32> {
        lock(&self.inner.queues).ids.get(&(vm_id.to_string(), name.to_string())).copied()
    }

    pub(crate) fn enqueue(&self, id: u32, value: &[u8]) -> Result<(), Status> {
        let mut q = lock(&self.inner.queues);
        let owner = q.owners.get(&id).copied().ok_or(Status::NotFound)?;
        q.items.get_mut(&id).ok_or(Status::NotFound)?.push_back(value.to_vec());
        q.ready.push((owner, id));
        Ok(())
    }

    pub(crate) fn dequeue(&self, id: u32) -> Result<Vec<u8>, Status> {
        let mut q = lock(&self.inner.queues);
        q.items.get_mut(&id).ok_or(Status::NotFound)?.pop_front().ok_or(Status::Empty)
    }

    /// Queue ids with new items for the VM `owner`, taken.
    pub(crate) fn take_ready_queues(&self, owner: u64) -> Vec<u32> {
        let mut q = lock(&self.inner.queues);
        let mut mine = Vec::new();
        q.ready.retain(|(o, id)| {
            if *o == owner {
                if !mine.contains(id) {
                    mine.push(*id);
                }
                false
            } else {
                true
            }
        });
        mine
    }

    // ----- metrics -----

    pub(crate) fn define_metric(&self, kind: MetricType, name: &str) -> Result<u32, Status> {
        let mut m = lock(&self.inner.metrics);
        if let Some(id) = m.by_name.get(name).copied() {
            return match m.list.get(id as usize) {
                Some(existing) if existing.kind == kind => Ok(id),
                _ => Err(Status::BadArgument),
            };
        }
        let id = m.list.len() as u32;
        m.list.push(Metric { name: name.to_string(), kind, value: 0, samples: Vec::new() });
        m.by_name.insert(name.to_string(), id);
        Ok(id)
    }

    pub(crate) fn with_metric<R>(
        &self,
        id: u32,
        f: impl FnOnce(&mut Metric) -> Result<R, Status>,
    ) -> Result<R, Status> {
        let mut m = lock(&self.inner.metrics);
        f(m.list.get_mut(id as usize).ok_or(Status::NotFound)?)
    }

    /// A metric by name.
    pub fn metric(&self, name: &str) -> Option<Metric> {
        let m = lock(&self.inner.metrics);
        m.by_name.get(name).and_then(|id| m.list.get(*id as usize)).cloned()
    }

    /// Every metric, in definition order.
    pub fn metrics(&self) -> Vec<Metric> {
        lock(&self.inner.metrics).list.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cas_semantics() {
        let env = Env::new();
        env.set_shared_data("vm", "k", b"1", 0).unwrap();
        let (_, cas) = env.shared_data("vm", "k").unwrap();
        assert_eq!(env.set_shared_data("vm", "k", b"2", cas + 7), Err(Status::CasMismatch));
        env.set_shared_data("vm", "k", b"2", cas).unwrap();
        assert_eq!(env.shared_data("vm", "k").unwrap().0, b"2");
        assert!(env.shared_data("other", "k").is_none());
    }

    #[test]
    fn manual_clock() {
        let env = Env::with_manual_clock(Duration::from_secs(10));
        assert_eq!(env.clock().now_nanos(), 10_000_000_000);
        env.advance(Duration::from_millis(5));
        assert_eq!(env.clock().now_nanos(), 10_005_000_000);
    }
}
