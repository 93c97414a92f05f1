//! A worker thread: its own VMs (one per plugin, as Envoy runs one per worker), its own
//! event loop, callouts served asynchronously, and ticks.

use crate::access_log::Entry;
use crate::body::GwBody;
use crate::callouts::Callouts;
use crate::config::{FailStrategy, GatewayConfig, PluginSpec};
use crate::stats::Stats;
use higress_host::{Env, Filter, LogLevel, Plugin, Vm};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

/// How often VMs are polled for due ticks, queue notifications and callout timeouts.
const POLL_EVERY: Duration = Duration::from_millis(10);

/// One plugin of the chain on this worker.
pub enum Slot {
    /// A running VM.
    Running {
        /// The VM.
        vm: Vm,
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
    pub client: Client<HttpConnector, GwBody>,
    /// Serves the VMs' HTTP and Redis callouts.
    callouts: Rc<Callouts>,
    /// Where access-log lines go.
    pub access_log: crate::access_log::AccessLog,
    /// The request statistics the admin listener shows (when it is on).
    stats: Option<Arc<Stats>>,
}

impl Worker {
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
                let started = builder.start();
                match started {
                    Ok(vm) => Slot::Running { vm, fail_open, name: spec.name.clone() },
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
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .set_host(false)
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        let running = slots
            .iter()
            .enumerate()
            .filter_map(|(i, slot)| match slot {
                Slot::Running { vm, .. } => Some((i, vm.clone())),
                Slot::Failed { .. } => None,
            })
            .collect();
        let callouts = Rc::new(Callouts::new(config.clone(), running, client.clone()));
        Worker { config, slots, client, callouts, access_log, stats }
    }

    /// Starts serving every callout the VMs made since the last pump, each once.
    pub fn pump(&self) {
        self.callouts.pump();
    }

    /// The filters of a new stream (failed FAIL_OPEN plugins left out).
    pub fn filters(&self) -> Vec<Filter> {
        self.slots
            .iter()
            .filter_map(|slot| match slot {
                Slot::Running { vm, fail_open, .. } => Some(Filter::new(vm).fail_open(*fail_open)),
                Slot::Failed { .. } => None,
            })
            .collect()
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

    /// A FAIL_CLOSE plugin that failed to start (every request is refused while it is there).
    pub fn failed_closed(&self) -> Option<(&str, &str)> {
        self.slots.iter().find_map(|slot| match slot {
            Slot::Failed { name, reason, fail_open: false } => Some((name.as_str(), reason.as_str())),
            _ => None,
        })
    }

    /// Polls every VM forever (ticks, queues, callout timeouts), then serves new callouts.
    pub async fn tick_forever(self: Rc<Self>) {
        let mut interval = tokio::time::interval(POLL_EVERY);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            interval.tick().await;
            for slot in &self.slots {
                if let Slot::Running { vm, name, .. } = slot {
                    if let Err(e) = vm.poll() {
                        eprintln!("hgw: plugin {name}: {e}");
                    }
                }
            }
            self.pump();
        }
    }
}
