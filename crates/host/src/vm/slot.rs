//! A plugin's place on one worker: its VM, replaced by a fresh one (same plugin, same
//! configuration) when it trapped or asked for it, as Higress's Envoy does.
//!
//! A VM that trapped is not dead forever: the request that was in it follows its fail
//! strategy, and the next request gets a new VM (Envoy's `FAIL_RELOAD`, which Higress runs
//! with). A plugin that sets the property `wasm_need_rebuild` to `true` (Higress's Go SDK
//! does when its memory grew too big) is replaced before the next request; the streams
//! already in the old VM finish there, and the old VM goes when the last of them does.
//! Rebuilds are lazy, on the next stream: an idle worker starts nothing.
//!
//! A rebuild after a trap that fails leaves the slot without a VM (requests follow the fail
//! strategy); a requested one that fails leaves the old VM serving, since it still works.
//! Either is tried again at most once per [`RETRY_EVERY`] of the environment's clock, so a
//! plugin that cannot start does not cost every request a module instantiation. A first
//! rebuild after a trap is not delayed: that request already paid for the failure.

use super::{Vm, VmBuilder};
use crate::error::HostError;
use std::cell::{Cell, RefCell};
use std::fmt;
use std::time::Duration;

/// Shortest time between two attempts to rebuild a VM after a failed one.
pub const RETRY_EVERY: Duration = Duration::from_secs(1);

/// Why a VM was replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RebuildCause {
    /// It trapped.
    Trap,
    /// The plugin set `wasm_need_rebuild` to `true`.
    Requested,
}

impl RebuildCause {
    /// A label for metrics: `trap`, `requested`.
    pub fn label(self) -> &'static str {
        match self {
            RebuildCause::Trap => "trap",
            RebuildCause::Requested => "requested",
        }
    }
}

impl fmt::Display for RebuildCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RebuildCause::Trap => "after trap",
            RebuildCause::Requested => "on request (wasm_need_rebuild)",
        })
    }
}

/// What [`VmSlot::prepare`] did.
#[derive(Debug)]
pub enum Rebuild {
    /// A fresh VM serves new streams.
    Done(RebuildCause),
    /// The new VM did not start. After a trap: no VM until the next attempt; when requested:
    /// the old VM serves on until then.
    Failed(RebuildCause, HostError),
}

enum Current {
    Running(Vm),
    /// A rebuild failed; the next attempt is due at `retry_at` (monotonic nanoseconds).
    Failed {
        cause: RebuildCause,
        reason: String,
        retry_at: u64,
    },
}

/// A plugin's VM on one worker, rebuilt as Higress rebuilds it (see the module docs).
pub struct VmSlot {
    builder: VmBuilder,
    current: RefCell<Current>,
    /// Replaced VMs that streams or callouts still use.
    retired: RefCell<Vec<Vm>>,
    rebuilds: Cell<u64>,
    /// When a requested rebuild failed: no new attempt before this (monotonic nanoseconds).
    requested_retry_at: Cell<u64>,
}

impl VmSlot {
    /// Starts the first VM. A plugin that does not start at all is an error, as before: a
    /// configuration it refuses will not get better by retrying.
    pub fn start(builder: VmBuilder) -> Result<VmSlot, HostError> {
        let builder = builder.with_fixed_env();
        let vm = builder.clone().start()?;
        Ok(VmSlot {
            builder,
            current: RefCell::new(Current::Running(vm)),
            retired: RefCell::default(),
            rebuilds: Cell::new(0),
            requested_retry_at: Cell::new(0),
        })
    }

    /// Call before a new stream: replaces the VM when it trapped or asked to be rebuilt, or
    /// retries a failed rebuild once [`RETRY_EVERY`] passed. Says what it did, for the log.
    pub fn prepare(&self) -> Option<Rebuild> {
        let cause = match &*self.current.borrow() {
            Current::Running(vm) if vm.is_failed() => RebuildCause::Trap,
            Current::Running(vm) if vm.needs_rebuild() && self.now() >= self.requested_retry_at.get() => {
                RebuildCause::Requested
            }
            Current::Running(_) => return None,
            Current::Failed { cause, retry_at, .. } => {
                if self.now() < *retry_at {
                    return None;
                }
                *cause
            }
        };
        let started = self.builder.clone().start();
        let previous = match started {
            Ok(vm) => {
                self.rebuilds.set(self.rebuilds.get().saturating_add(1));
                std::mem::replace(&mut *self.current.borrow_mut(), Current::Running(vm))
            }
            Err(e) => {
                let retry_at = self.now().saturating_add(RETRY_EVERY.as_nanos() as u64);
                if cause == RebuildCause::Requested && self.vm().is_some() {
                    self.requested_retry_at.set(retry_at);
                    return Some(Rebuild::Failed(cause, e));
                }
                let failed = Current::Failed { cause, reason: e.to_string(), retry_at };
                let previous = std::mem::replace(&mut *self.current.borrow_mut(), failed);
                self.retire(previous);
                return Some(Rebuild::Failed(cause, e));
            }
        };
        self.retire(previous);
        Some(Rebuild::Done(cause))
    }

    /// The VM new streams run on; `None` while a failed rebuild waits for its retry.
    pub fn vm(&self) -> Option<Vm> {
        match &*self.current.borrow() {
            Current::Running(vm) => Some(vm.clone()),
            Current::Failed { .. } => None,
        }
    }

    /// Why there is no VM (a failed rebuild), if there is none.
    pub fn failure(&self) -> Option<String> {
        match &*self.current.borrow() {
            Current::Running(_) => None,
            Current::Failed { cause, reason, .. } => Some(format!("VM rebuild {cause} failed: {reason}")),
        }
    }

    /// Every VM with work left: the current one and replaced ones that streams or callouts
    /// still use (for ticks, callout timeouts and callouts to serve), none that trapped (a
    /// failed VM is never called again). Replaced VMs nothing uses any more are dropped here.
    pub fn live_vms(&self) -> Vec<Vm> {
        let mut vms = Vec::new();
        self.for_each_live_vm(|vm| vms.push(vm.clone()));
        vms
    }

    /// Calls `f` with each of [`VmSlot::live_vms`], without building the list: the gateway
    /// does this after every request callback, and there is almost always one VM.
    pub fn for_each_live_vm(&self, mut f: impl FnMut(&Vm)) {
        let current = match &*self.current.borrow() {
            Current::Running(vm) if !vm.is_failed() => Some(vm.clone()),
            _ => None,
        };
        if let Some(vm) = current {
            f(&vm);
        }
        if self.retired.borrow().is_empty() {
            return;
        }
        // Cloned out of the cell: `f` may run plugin code.
        let retired: Vec<Vm> = {
            let mut retired = self.retired.borrow_mut();
            retired.retain(|vm| vm.is_shared() && !vm.is_failed());
            retired.clone()
        };
        for vm in &retired {
            f(vm);
        }
    }

    /// VMs started to replace another (not counting the first one).
    pub fn rebuilds(&self) -> u64 {
        self.rebuilds.get()
    }

    fn retire(&self, previous: Current) {
        // A VM that trapped is never called again: nothing to keep it for.
        if let Current::Running(vm) = previous {
            if !vm.is_failed() {
                self.retired.borrow_mut().push(vm);
            }
        }
    }

    fn now(&self) -> u64 {
        self.builder.env_clock_nanos()
    }
}
