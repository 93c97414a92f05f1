//! A worker thread: its own VMs (one per plugin, as Envoy runs one per worker), its own
//! event loop, callouts served asynchronously, and ticks. A VM that trapped, or whose plugin
//! set `wasm_need_rebuild`, is replaced before the next request (`VmSlot`), as on Higress.

use crate::access_log::Entry;
use crate::callouts::Callouts;
use crate::client::Client;
use crate::config::{FailStrategy, GatewayConfig, PluginSpec};
use crate::stats::Stats;
use higress_host::{Env, Filter, LogLevel, Plugin, Rebuild, RebuildCause, Vm, VmSlot};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

/// How often VMs are polled for due ticks, queue notifications and callout timeouts.
const POLL_EVERY: Duration = Duration::from_millis(10);

/// One plugin of the chain on this worker.
pub enum Slot {
    /// A plugin that started: its VM, rebuilt when needed.
    Running {
        /// The VM.
        vm: Rc<VmSlot>,
        /// Its fail strategy.
        fail_open: bool,
        /// The plugin's resource name.
        name: String,
    },
    /// A plugin that failed to start.
    Failed {
        /// The plugin's resource name.
        name: String,
        /// Why.
        reason: String,
        /// FAIL_OPEN: skipped; FAIL_CLOSE: every request is answered 503.
        fail_open: bool,
    },
}

/// Everything a worker thread owns.
pub struct Worker {
    /// The configuration.
    pub config: Arc<GatewayConfig>,
    /// The chain, in order.
    pub slots: Vec<Slot>,
    /// HTTP client for upstreams and callouts.
    pub client: Client,
    /// Serves the VMs' HTTP and Redis callouts.
    callouts: Rc<Callouts>,
    /// Where access-log lines go.
    pub access_log: crate::access_log::AccessLog,
    /// The request statistics the admin listener shows (when it is on).
    stats: Option<Arc<Stats>>,
    /// The worker's number, for log lines about its own VMs.
    id: usize,
}

impl Worker {
    /// Whether a request's end is recorded at all (access log or statistics).
    pub fn records_requests(&self) -> bool {
        !matches!(self.access_log, crate::access_log::AccessLog::Off) || self.stats.is_some()
    }

    /// A request ended: its access-log line, and its count when statistics are kept.
    pub fn finish(&self, entry: &Entry<'_>) {
        self.access_log.write(entry);
        if let Some(stats) = &self.stats {
            stats.record(entry.route, entry.cluster, entry.status, entry.duration);
        }
    }

    /// Starts one VM per plugin. A plugin that fails to start is logged and kept as failed.
    pub fn new(
        id: usize,
        config: Arc<GatewayConfig>,
        plugins: &[(PluginSpec, Plugin)],
        env: &Env,
        level: LogLevel,
        access_log: crate::access_log::AccessLog,
        stats: Option<Arc<Stats>>,
    ) -> Worker {
        let slots: Vec<Slot> = plugins
            .iter()
            .map(|(spec, plugin)| {
                let fail_open = spec.fail_strategy == FailStrategy::FailOpen;
                let builder = Vm::builder(plugin).env(env).name(&spec.name).vm_id(&spec.name).log_level(level);
                let builder = match &spec.config {
                    Some(config) => builder.config_json(config),
                    None => builder,
                };
                match VmSlot::start(builder) {
                    Ok(vm) => Slot::Running { vm: Rc::new(vm), fail_open, name: spec.name.clone() },
                    Err(e) => {
                        if id == 0 {
                            let action =
                                if fail_open { "skipped (FAIL_OPEN)" } else { "requests answered 503 (FAIL_CLOSE)" };
                            eprintln!("hgw: plugin {} failed to start, {action}: {e}", spec.name);
                        }
                        Slot::Failed { name: spec.name.clone(), reason: e.to_string(), fail_open }
                    }
                }
            })
            .collect();
        let client = Client::default();
        let running = slots
            .iter()
            .enumerate()
            .filter_map(|(i, slot)| match slot {
                Slot::Running { vm, .. } => Some((i, vm.clone())),
                Slot::Failed { .. } => None,
            })
            .collect();
        let callouts = Rc::new(Callouts::new(config.clone(), running, client.clone()));
        Worker { id, config, slots, client, callouts, access_log, stats }
    }

    /// Starts serving every callout the VMs made since the last pump, each once.
    pub fn pump(&self) {
        self.callouts.pump();
    }

    /// The filters of a new stream, each plugin's VM rebuilt first if it trapped or asked
    /// for it. Plugins without a VM (failed to start, or to rebuild) are left out when
    /// FAIL_OPEN; a FAIL_CLOSE one is `Err((name, why))`: the request is refused.
    pub fn filters(&self) -> Result<Vec<Filter>, (String, String)> {
        let mut filters = Vec::with_capacity(self.slots.len());
        for slot in &self.slots {
            let (vm, fail_open, name) = match slot {
                Slot::Running { vm, fail_open, name } => {
                    self.rebuild_if_needed(vm, name, *fail_open);
                    (vm.vm(), *fail_open, name)
                }
                Slot::Failed { name, fail_open, .. } => (None, *fail_open, name),
            };
            match vm {
                Some(vm) => filters.push(Filter::new(&vm).fail_open(fail_open)),
                None if fail_open => {}
                None => return Err((name.clone(), unavailable(slot))),
            }
        }
        Ok(filters)
    }

    /// Replaces the VM of plugin `name` if it must be (see `VmSlot::prepare`); logs it and
    /// counts it.
    fn rebuild_if_needed(&self, vm: &VmSlot, name: &str, fail_open: bool) {
        match vm.prepare() {
            None => {}
            Some(Rebuild::Done(cause)) => {
                eprintln!("hgw: plugin {name}: VM rebuilt {cause} (worker {})", self.id);
                if let Some(stats) = &self.stats {
                    stats.record_rebuild(name, cause.label());
                }
            }
            Some(Rebuild::Failed(cause, e)) => {
                let action = match (cause, fail_open) {
                    (RebuildCause::Requested, _) => "the old VM serves on",
                    (RebuildCause::Trap, true) => "skipped (FAIL_OPEN)",
                    (RebuildCause::Trap, false) => "requests answered 503 (FAIL_CLOSE)",
                };
                eprintln!(
                    "hgw: plugin {name}: VM rebuild {cause} failed (worker {}), {action} until a retry (at most one a second) works: {e}",
                    self.id
                );
            }
        }
    }

    /// Whether plugin `name` is FAIL_OPEN.
    pub fn fails_open(&self, name: &str) -> bool {
        self.slots.iter().any(|slot| matches!(slot, Slot::Running { name: n, fail_open: true, .. } if n == name))
    }

    /// `name: reason` of every plugin that failed to start.
    pub fn failures(&self) -> Vec<String> {
        self.slots
            .iter()
            .filter_map(|slot| match slot {
                Slot::Failed { name, reason, .. } => Some(format!("{name}: {reason}")),
                Slot::Running { .. } => None,
            })
            .collect()
    }

    /// Polls every VM forever (ticks, queues, callout timeouts), then serves new callouts.
    pub async fn tick_forever(self: Rc<Self>) {
        let mut interval = tokio::time::interval(POLL_EVERY);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            interval.tick().await;
            for slot in &self.slots {
                if let Slot::Running { vm, name, .. } = slot {
                    vm.for_each_live_vm(|vm| {
                        if let Err(e) = vm.poll() {
                            eprintln!("hgw: plugin {name}: {e}");
                        }
                    });
                }
            }
            self.pump();
            self.client.sweep();
        }
    }
}

/// Why a FAIL_CLOSE plugin without a VM refuses requests.
fn unavailable(slot: &Slot) -> String {
    match slot {
        Slot::Failed { reason, .. } => format!("failed to start (FAIL_CLOSE): {reason}"),
        Slot::Running { vm, .. } => format!("{} (FAIL_CLOSE)", vm.failure().unwrap_or_default()),
    }
}
