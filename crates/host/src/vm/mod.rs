//! A plugin VM: one wasm instance with its root context, as Envoy runs one per worker.
//!
//! `builder` starts one; `callbacks` runs the plugin's callbacks (stream callbacks through
//! the stream layer's `FilterVm` port, root callbacks for ticks and queues); `callouts`
//! answers the HTTP and Redis calls it makes; `slot` replaces a VM that trapped or asked to
//! be rebuilt, as Higress does.

mod builder;
mod callbacks;
mod callouts;
mod slot;

pub use builder::VmBuilder;
pub use callouts::calls_made;
pub(crate) use callouts::count_call;
pub use slot::{Rebuild, RebuildCause, VmSlot};

use crate::env::Env;
use crate::error::{HostError, LogRecord};
use crate::plugin::Plugin;
use crate::state::HostState;
use crate::stream::state::{Action, Called};
pub use crate::stream::CallStats;
use crate::stream::{Filter, Stream};
use higress_abi::LogLevel;
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;
use wasmtime::{Store, TypedFunc, WasmParams, WasmResults};

/// Fuel given to each callback: enough for any sane plugin, finite so a runaway loop traps.
const DEFAULT_FUEL: u64 = 20_000_000_000;
/// Log lines attached to a trap or start failure.
const ERROR_LOG_LINES: usize = 30;

/// The reply to a Redis call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedisReply {
    /// Raw RESP bytes of one reply.
    Data(Vec<u8>),
    /// Connection refused, timeout or closed socket (status 1, as Envoy reports it).
    NetworkError,
}

type F<P, R> = Option<TypedFunc<P, R>>;

struct Exports {
    initialize: F<(), ()>,
    context_create: F<(i32, i32), ()>,
    vm_start: F<(i32, i32), i32>,
    configure: F<(i32, i32), i32>,
    request_headers: F<(i32, i32, i32), i32>,
    request_body: F<(i32, i32, i32), i32>,
    request_trailers: F<(i32, i32), i32>,
    response_headers: F<(i32, i32, i32), i32>,
    response_body: F<(i32, i32, i32), i32>,
    response_trailers: F<(i32, i32), i32>,
    log: F<i32, ()>,
    done: F<i32, i32>,
    delete: F<i32, ()>,
    tick: F<i32, ()>,
    queue_ready: F<(i32, i32), ()>,
    http_call_response: F<(i32, i32, i32, i32, i32), ()>,
    redis_call_response: F<(i32, i32, i32, i32), ()>,
}

fn typed<P: WasmParams, R: WasmResults>(
    instance: &wasmtime::Instance,
    store: &mut Store<HostState>,
    name: &str,
) -> Result<F<P, R>, HostError> {
    match instance.get_func(&mut *store, name) {
        None => Ok(None),
        Some(func) => func
            .typed::<P, R>(&*store)
            .map(Some)
            .map_err(|e| HostError::Load(format!("export {name} has the wrong signature: {e}"))),
    }
}

struct Core {
    store: Store<HostState>,
    exports: Exports,
    failed: Option<String>,
    next_context: u32,
    last: Option<CallStats>,
    /// Instructions of every callback so far (stream and root callbacks alike).
    instructions: u64,
}

struct VmInner {
    core: RefCell<Core>,
    plugin: Plugin,
    env: Env,
    /// Fuel per callback; `None` when the plugin is not metered.
    fuel: std::cell::Cell<Option<u64>>,
    redis: RefCell<crate::forward::RedisConnections>,
}

/// A running plugin VM. Cheap to clone (a handle); not `Send`: a VM belongs to one thread.
#[derive(Clone)]
pub struct Vm {
    inner: Rc<VmInner>,
}

impl Vm {
    /// Wasm instructions this VM executed so far, in every callback: stream callbacks, and
    /// root ones such as a callout's response (which [`crate::Stream::instructions`] leaves
    /// out). Always 0 for a plugin loaded with [`crate::Metering::Off`].
    pub fn instructions(&self) -> u64 {
        self.inner.core.borrow().instructions
    }

    /// Options for starting a VM of `plugin`.
    pub fn builder(plugin: &Plugin) -> VmBuilder {
        VmBuilder::new(plugin)
    }

    /// Changes the instructions each later callback may execute before it traps (a metered
    /// plugin only): a profiler starts the plugin with the default, then stops a request's
    /// callback at a chosen instruction.
    pub fn set_fuel_per_call(&self, fuel: u64) {
        if self.inner.fuel.get().is_some() {
            self.inner.fuel.set(Some(fuel));
        }
    }

    /// A new HTTP stream through this VM alone.
    pub fn stream(&self) -> Stream {
        Stream::new([Filter::new(self)])
    }

    /// The plugin this VM runs.
    pub fn plugin(&self) -> &Plugin {
        &self.inner.plugin
    }

    /// The environment it shares with other VMs.
    pub fn env(&self) -> &Env {
        &self.inner.env
    }

    /// The root context id.
    pub fn root_context_id(&self) -> u32 {
        self.inner.root_context_id()
    }

    /// The plugin's name (its `plugin_name` property), for messages about it.
    pub fn name(&self) -> String {
        self.inner.name()
    }

    /// Every line logged so far (the most recent 10 000 at most).
    pub fn logs(&self) -> Vec<LogRecord> {
        self.inner.core.borrow().store.data().logs.clone()
    }

    /// Takes the log lines logged so far.
    pub fn take_logs(&self) -> Vec<LogRecord> {
        std::mem::take(&mut self.inner.core.borrow_mut().store.data_mut().logs)
    }

    /// Whether some log line contains `needle`.
    pub fn logged(&self, needle: &str) -> bool {
        self.inner.core.borrow().store.data().logs.iter().any(|l| l.message.contains(needle))
    }

    /// Changes the host's log level (what `proxy_get_log_level` reports and what is kept).
    pub fn set_log_level(&self, level: LogLevel) {
        self.inner.core.borrow_mut().store.data_mut().log_level = level;
    }

    /// The linear memory size, in bytes.
    pub fn memory_bytes(&self) -> usize {
        self.inner.memory_bytes()
    }

    /// Cost of the last callback.
    pub fn last_call(&self) -> Option<CallStats> {
        self.inner.core.borrow().last.clone()
    }

    /// Why the VM failed, if it trapped.
    pub fn failure(&self) -> Option<String> {
        self.inner.core.borrow().failed.clone()
    }

    /// Whether the VM trapped and is no longer called.
    pub fn is_failed(&self) -> bool {
        self.inner.is_failed()
    }

    /// Whether the plugin set `wasm_need_rebuild` to `true` (Higress): it asks for a fresh
    /// VM, which [`crate::VmSlot`] starts for the next stream.
    pub fn needs_rebuild(&self) -> bool {
        self.inner.core.borrow().store.data().need_rebuild
    }

    /// Whether something besides this handle holds the VM: a stream, a pending callout,
    /// another clone.
    pub(crate) fn is_shared(&self) -> bool {
        Rc::strong_count(&self.inner) > 1
    }

    /// The tick period the plugin asked for.
    pub fn tick_period(&self) -> Option<Duration> {
        self.inner.core.borrow().store.data().tick_period
    }

    /// Foreign functions the plugin called, with their arguments.
    pub fn foreign_calls(&self) -> Vec<(String, Vec<u8>)> {
        self.inner.core.borrow().store.data().foreign_calls.clone()
    }
}

/// Handles are equal when they are handles of the same VM.
impl PartialEq for Vm {
    fn eq(&self, other: &Vm) -> bool {
        Rc::ptr_eq(&self.inner, &other.inner)
    }
}

impl Eq for Vm {}

impl VmInner {
    fn name(&self) -> String {
        self.core.borrow().store.data().plugin_name.clone()
    }

    fn is_failed(&self) -> bool {
        self.core.borrow().failed.is_some()
    }

    fn root_context_id(&self) -> u32 {
        self.core.borrow().store.data().root_id
    }

    fn memory_bytes(&self) -> usize {
        self.core.borrow().store.data().memory_size.bytes
    }

    fn tail_logs(&self) -> Vec<LogRecord> {
        let core = self.core.borrow();
        let logs = &core.store.data().logs;
        logs.get(logs.len().saturating_sub(ERROR_LOG_LINES)..).unwrap_or_default().to_vec()
    }

    /// Calls an export of this VM (with fuel metering when its plugin is metered); `None`
    /// when the export is absent.
    fn invoke<P: WasmParams, R: WasmResults>(
        &self,
        callback: &'static str,
        context: u32,
        func: impl FnOnce(&Exports) -> &F<P, R>,
        params: P,
    ) -> Result<Option<(R, Called)>, HostError> {
        let mut guard =
            self.core.try_borrow_mut().map_err(|_| HostError::Usage(format!("{callback}: VM re-entered")))?;
        let core = &mut *guard;
        if let Some(failure) = &core.failed {
            return Err(HostError::Failed(failure.clone()));
        }
        // Borrowed, not cloned: cloning a typed function registers its type again (an atomic
        // reference count in wasmtime's type registry), on every callback.
        let Some(f) = func(&core.exports) else {
            return Ok(None);
        };
        {
            let state = core.store.data_mut();
            state.current_context = context;
            state.effective_context = context;
            state.stop_next_iteration = false;
            state.touched.clear();
        }
        let fuel = self.fuel.get();
        if let Some(fuel) = fuel {
            core.store.set_fuel(fuel).map_err(|e| HostError::Usage(e.to_string()))?;
        }
        let result = f.call(&mut core.store, params);
        let used = fuel.map_or(0, |fuel| fuel.saturating_sub(core.store.get_fuel().unwrap_or(0)));
        let memory_bytes = core.store.data().memory_size.bytes;
        let stats = CallStats { callback, context_id: context, instructions: used, memory_bytes };
        core.last = Some(stats.clone());
        core.instructions = core.instructions.saturating_add(used);
        let state = core.store.data_mut();
        let stop_next = std::mem::take(&mut state.stop_next_iteration);
        let touched = std::mem::take(&mut state.touched);
        state.effective_context = state.root_id;
        match result {
            Ok(value) => Ok(Some((value, Called { action: Action::Continue, stats, touched, stop_next }))),
            Err(trap) => {
                let message = format!("{trap:?}");
                core.failed = Some(message.clone());
                drop(guard);
                Err(HostError::Trap { callback, message, logs: self.tail_logs() })
            }
        }
    }
}
